package main

import (
	"context"
	"fmt"
	"io"
)

// TODO(helper): implement svcreg fetch.
func runFetch(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "svcreg fetch: not implemented yet")
	return exitUsage
}
