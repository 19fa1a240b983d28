package main

import (
	"context"
	"fmt"
	"io"
)

// TODO(helper): implement svcreg scan.
func runScan(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "svcreg scan: not implemented yet")
	return exitUsage
}
