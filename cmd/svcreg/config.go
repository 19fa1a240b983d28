package main

import (
	"context"
	"fmt"
	"io"
)

// TODO(helper): implement svcreg config.
func runConfig(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "svcreg config: not implemented yet")
	return exitUsage
}
