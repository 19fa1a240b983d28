package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"time"

	"github.com/svcreg/svcreg/config"
	"github.com/svcreg/svcreg/fetch"
	"github.com/svcreg/svcreg/registry"
)

// runFetch downloads the official registry (or --url, or the URL sources
// the config names) into the cache directory serve reads URL sources
// from, conditionally and atomically, and checks that each parses before
// it replaces the cached copy. A running daemon that lists the URL (or
// watches --out) reloads by itself.
func runFetch(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("svcreg fetch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf configFlags
	fs.StringVar(&cf.path, "config", "", "read the config `FILE` for registry.cache_dir, registry.max_download_bytes and the URL sources (default $"+config.EnvConfig+", else none)")
	rawURL := fs.String("url", "", "download `URL` (default: the URL sources of the config, else "+config.DefaultRegistryURL+")")
	out := fs.String("out", "", "write to `PATH` (default: the cache file serve uses for the URL, in registry.cache_dir, $XDG_CACHE_HOME/svcreg or /var/cache/svcreg)")
	maxBytes := fs.Int64("max-bytes", 0, "refuse a body larger than `N` bytes (default registry.max_download_bytes)")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after `DURATION`")
	asJSON := fs.Bool("json", false, "print each result as one JSON object (no progress)")
	quiet := quietFlag(fs, "print nothing on success")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: svcreg fetch [--config FILE] [--url URL] [--out PATH] [--json] [-q]\n\nDownload the service-name and port registry into the cache (If-None-Match /\nIf-Modified-Since, size cap, atomic replace). Exit 0 when the cache is current,\n2 for a bad URL or a failed download.\n\nflags:")
		fs.PrintDefaults()
	}
	if code, ok := parseFlagsOnly(fs, args, "fetch", stderr); !ok {
		return code
	}
	cfg, err := cf.load(os.Environ())
	if err != nil {
		printErrorLines(stderr, "fetch", err)
		return exitUsage
	}
	urls := fetchURLs(*rawURL, cfg.Registry.Sources)
	for _, u := range urls {
		if !validHTTPURL(u) {
			fmt.Fprintf(stderr, "svcreg fetch: --url %q: want an http:// or https:// URL with a host\n", u)
			return exitUsage
		}
	}
	if *out != "" && len(urls) > 1 {
		fmt.Fprintf(stderr, "svcreg fetch: --out names one file, and the config lists %d URL sources (give --url)\n", len(urls))
		return exitUsage
	}
	if *maxBytes <= 0 {
		*maxBytes = cfg.Registry.MaxDownloadBytes
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	for _, u := range urls {
		path := *out
		if path == "" {
			path = registry.CachePath(cfg.CacheDirectory(), u)
		}
		opts := fetch.Options{
			URL: u, Path: path, MaxBytes: *maxBytes, UserAgent: "svcreg/" + buildVersion(),
			Validate: func(p string) error {
				_, err := registry.LoadFile(ctx, p, registry.Format(cfg.Registry.Format))
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
			return exitUsage
		}
		if err := printFetched(stdout, u, res, *asJSON, *quiet); err != nil {
			fmt.Fprintf(stderr, "svcreg fetch: writing output: %v\n", err)
			return exitUsage
		}
	}
	return exitOK
}

// fetchURLs is what fetch downloads: --url, else the config's URL
// sources, else the official registry.
func fetchURLs(flagURL string, sources []string) []string {
	if flagURL != "" {
		return []string{flagURL}
	}
	var urls []string
	for _, s := range sources {
		if registry.IsURL(s) {
			urls = append(urls, s)
		}
	}
	if len(urls) == 0 {
		urls = []string{config.DefaultRegistryURL}
	}
	return urls
}

// validHTTPURL accepts absolute http and https URLs with a host (fetch
// and healthcheck take nothing else).
func validHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func printFetched(w io.Writer, rawURL string, res fetch.Result, asJSON, quiet bool) error {
	switch {
	case asJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			URL          string `json:"url"`
			Path         string `json:"path"`
			Changed      bool   `json:"changed"`
			Bytes        int64  `json:"bytes"`
			ETag         string `json:"etag,omitempty"`
			LastModified string `json:"last_modified,omitempty"`
		}{rawURL, res.Path, res.Changed, res.Size, res.ETag, res.LastModified})
	case quiet:
		return nil
	case res.Changed:
		_, err := fmt.Fprintf(w, "fetched %s\n  -> %s (%d bytes)\n", rawURL, res.Path, res.Size)
		return err
	default:
		_, err := fmt.Fprintf(w, "not modified: %s is current\n", res.Path)
		return err
	}
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
