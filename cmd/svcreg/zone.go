package main

import (
	"context"
	"fmt"
	"io"
)

// TODO(helper): implement svcreg zone.
func runZone(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "svcreg zone: not implemented yet")
	return exitUsage
}
