package main

import (
	"context"
	"fmt"
	"io"
)

// TODO(helper): implement svcreg healthcheck.
func runHealthcheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "svcreg healthcheck: not implemented yet")
	return exitUsage
}
