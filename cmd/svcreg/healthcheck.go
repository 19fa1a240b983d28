package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/svcreg/svcreg/httpapi"
)

// defaultHealthURL is the daemon's liveness probe on its default listener.
const defaultHealthURL = "http://127.0.0.1:8053/healthz"

// runHealthcheck probes a running daemon, for container HEALTHCHECKs and
// scripts: exit 0 when the URL answers 200 within the timeout, else 1.
// It needs no shell or curl in the image.
func runHealthcheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("svcreg healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", defaultHealthURL, "probe `URL` (use /readyz to test readiness)")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after `DURATION`")
	quiet := fs.Bool("quiet", false, "print nothing; the exit status says it all")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: svcreg healthcheck [--url URL] [--timeout D] [--quiet]\n\nExit 0 when a running svcreg answers 200 at URL, 1 otherwise.")
		fs.PrintDefaults()
	}
	if code, ok := parseFlagsOnly(fs, args, "healthcheck", stderr); !ok {
		return code
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if err := httpapi.Probe(ctx, &http.Client{}, *url); err != nil {
		if !*quiet {
			fmt.Fprintf(stderr, "svcreg healthcheck: %v\n", err)
		}
		return 1
	}
	if !*quiet {
		fmt.Fprintf(stdout, "ok %s\n", *url)
	}
	return exitOK
}
