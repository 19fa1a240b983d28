package main

import (
	"context"
	"fmt"
	"io"
)

// TODO(helper): implement svcreg rules.
func runRules(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "svcreg rules: not implemented yet")
	return exitUsage
}
