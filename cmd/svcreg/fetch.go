package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/svcreg/svcreg/config"
	"github.com/svcreg/svcreg/fetch"
	"github.com/svcreg/svcreg/registry"
)

// runFetch downloads the official registry (or --url) into the cache
// directory serve reads URL sources from, conditionally and atomically,
// and checks that it parses before it replaces the cached copy. A running
// daemon that lists the URL (or watches --out) reloads by itself.
func runFetch(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("svcreg fetch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rawURL := fs.String("url", config.DefaultRegistryURL, "download `URL`")
	out := fs.String("out", "", "write to `PATH` (default: the cache file serve uses for the URL, in $XDG_CACHE_HOME/svcreg or /var/cache/svcreg)")
	maxBytes := fs.Int64("max-bytes", config.DefaultMaxDownload, "refuse a body larger than `N` bytes")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after `DURATION`")
	asJSON := fs.Bool("json", false, "print the result as JSON (no progress)")
	quiet := fs.Bool("quiet", false, "print nothing on success")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: svcreg fetch [--url URL] [--out PATH] [--json]\n\nDownload the service-name and port registry into the cache (If-None-Match /\nIf-Modified-Since, size cap, atomic replace). Exit 0 when the cache is current.")
		fs.PrintDefaults()
	}
	if code, ok := parseFlagsOnly(fs, args, "fetch", stderr); !ok {
		return code
	}
	path := *out
	if path == "" {
		path = filepath.Join(fetch.DefaultCacheDir(os.Getenv), fetch.CacheName(*rawURL))
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	opts := fetch.Options{
		URL: *rawURL, Path: path, MaxBytes: *maxBytes, UserAgent: "svcreg/" + buildVersion(),
		Validate: func(p string) error {
			_, err := registry.LoadFile(ctx, p, "")
			return err
		},
	}
	var bar *progressBar
	if !*asJSON && !*quiet && isTerminal(stderr) {
		bar = &progressBar{w: stderr}
		opts.Progress = bar.update
	}
	res, err := fetch.Fetch(ctx, opts)
	bar.finish()
	if err != nil {
		fmt.Fprintf(stderr, "svcreg fetch: %v\n", err)
		return 1
	}
	switch {
	case *asJSON:
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(struct {
			URL          string `json:"url"`
			Path         string `json:"path"`
			Changed      bool   `json:"changed"`
			Bytes        int64  `json:"bytes"`
			ETag         string `json:"etag,omitempty"`
			LastModified string `json:"last_modified,omitempty"`
		}{*rawURL, res.Path, res.Changed, res.Size, res.ETag, res.LastModified})
	case *quiet:
	case res.Changed:
		fmt.Fprintf(stdout, "fetched %s\n  -> %s (%d bytes)\n", *rawURL, res.Path, res.Size)
	default:
		fmt.Fprintf(stdout, "not modified: %s is current\n", res.Path)
	}
	return exitOK
}

// isTerminal reports whether w is a character device (a terminal), where
// progress output helps; pipes and files get none.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progressBar redraws one status line at most ten times a second.
type progressBar struct {
	w     io.Writer
	last  time.Time
	drawn bool
}

func (p *progressBar) update(done, total int64) {
	if now := time.Now(); now.Sub(p.last) >= 100*time.Millisecond || done == total {
		p.last = now
		p.drawn = true
		if total > 0 {
			fmt.Fprintf(p.w, "\r\033[Kdownloading: %.1f of %.1f MB (%d%%)", mb(done), mb(total), done*100/total)
		} else {
			fmt.Fprintf(p.w, "\r\033[Kdownloading: %.1f MB", mb(done))
		}
	}
}

// finish clears the line; nil-safe so callers need not check.
func (p *progressBar) finish() {
	if p != nil && p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

func mb(n int64) float64 { return float64(n) / 1e6 }
