package main

import (
	"context"
	"fmt"
	"io"
)

// TODO(helper): implement svcreg validate.
func runValidate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "svcreg validate: not implemented yet")
	return exitUsage
}
