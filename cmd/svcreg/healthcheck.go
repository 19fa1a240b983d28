package main

import (
	"context"
	"encoding/json"
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
	probe := fs.String("url", defaultHealthURL, "probe `URL` (use /readyz to test readiness)")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after `DURATION`")
	asJSON := fs.Bool("json", false, `print the result as one JSON object: {"url", "ok", "error", "elapsed_ms"}`)
	quiet := quietFlag(fs, "print nothing; the exit status says it all")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: svcreg healthcheck [--url URL] [--timeout D] [--json] [-q]\n\nExit 0 when a running svcreg answers 200 at URL, 1 otherwise, 2 for a bad URL.\n\nflags:")
		fs.PrintDefaults()
	}
	if code, ok := parseFlagsOnly(fs, args, "healthcheck", stderr); !ok {
		return code
	}
	if !validHTTPURL(*probe) {
		fmt.Fprintf(stderr, "svcreg healthcheck: --url %q: want an http:// or https:// URL with a host\n", *probe)
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	start := time.Now()
	err := httpapi.Probe(ctx, &http.Client{}, *probe)
	code := exitOK
	if err != nil {
		code = 1
	}
	switch {
	case *quiet:
	case *asJSON:
		res := struct {
			URL       string  `json:"url"`
			OK        bool    `json:"ok"`
			Error     string  `json:"error,omitempty"`
			ElapsedMS float64 `json:"elapsed_ms"`
		}{URL: *probe, OK: err == nil, ElapsedMS: float64(time.Since(start).Microseconds()) / 1000}
		if err != nil {
			res.Error = err.Error()
		}
		if werr := json.NewEncoder(stdout).Encode(res); werr != nil {
			fmt.Fprintf(stderr, "svcreg healthcheck: writing output: %v\n", werr)
			return exitUsage
		}
	case err != nil:
		fmt.Fprintf(stderr, "svcreg healthcheck: %v\n", err)
	default:
		fmt.Fprintf(stdout, "ok %s\n", *probe)
	}
	return code
}
