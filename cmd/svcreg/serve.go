package main

import (
	"context"
	"fmt"
	"io"
)

// TODO(helper): implement svcreg serve.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "svcreg serve: not implemented yet")
	return exitUsage
}
