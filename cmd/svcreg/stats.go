package main

import (
	"context"
	"fmt"
	"io"
)

// TODO(helper): implement svcreg stats.
func runStats(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "svcreg stats: not implemented yet")
	return exitUsage
}
