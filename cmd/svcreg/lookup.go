package main

import (
	"context"
	"fmt"
	"io"
)

// TODO(helper): implement svcreg lookup.
func runLookup(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "svcreg lookup: not implemented yet")
	return exitUsage
}
