package fetch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// Sentinel errors callers branch on.
var (
	ErrStatus    = errors.New("unexpected HTTP status")
	ErrTooLarge  = errors.New("download larger than the size cap")
	ErrTruncated = errors.New("download truncated")
	ErrInvalid   = errors.New("downloaded file rejected")
)

// DefaultMaxBytes bounds a download when Options.MaxBytes is 0.
const DefaultMaxBytes = 64 << 20

// Options describe one download.
type Options struct {
	URL string
	// Path is the destination file; its directory is created.
	Path string
	// MaxBytes caps the body (0 = DefaultMaxBytes).
	MaxBytes int64
	// Client does the request (nil = a client with a 2-minute timeout).
	Client *http.Client
	// UserAgent is sent when set.
	UserAgent string
	// Validate checks the downloaded temporary file before it replaces
	// Path (e.g. that it parses as a registry); nil accepts anything.
	Validate func(path string) error
	// Progress is called as the body arrives with the bytes so far and
	// the announced length (-1 when unknown); nil for none.
	Progress func(done, total int64)
}

// Result says what a download did.
type Result struct {
	Path    string
	Changed bool // false: 304, the cached copy is current
	Size    int64
	// ETag and LastModified are the validators stored for the next
	// conditional request.
	ETag         string
	LastModified string
}

// meta is stored beside the file as <file>.meta.json.
type meta struct {
	URL          string    `json:"url"`
	ETag         string    `json:"etag,omitempty"`
	LastModified string    `json:"last_modified,omitempty"`
	Fetched      time.Time `json:"fetched"`
	Size         int64     `json:"size"`
}

func metaPath(p string) string { return p + ".meta.json" }

func readMeta(p string) (meta, bool) {
	var m meta
	b, err := os.ReadFile(metaPath(p))
	if err != nil || json.Unmarshal(b, &m) != nil {
		return meta{}, false
	}
	if _, err := os.Stat(p); err != nil {
		return meta{}, false // validators without the file are worthless
	}
	return m, true
}

// Fetch downloads opts.URL into opts.Path. A 304 leaves the file alone
// (Changed false). Any error (network, status, size, truncation,
// validation) leaves the previous file in place.
func Fetch(ctx context.Context, opts Options) (Result, error) {
	res := Result{Path: opts.Path}
	limit := opts.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxBytes
	}
	client := opts.Client
	if client == nil {
		client = &http.Client{Timeout: 2 * time.Minute}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, opts.URL, nil)
	if err != nil {
		return res, fmt.Errorf("fetching %s: %w", opts.URL, err)
	}
	if opts.UserAgent != "" {
		req.Header.Set("User-Agent", opts.UserAgent)
	}
	if m, ok := readMeta(opts.Path); ok && m.URL == opts.URL {
		if m.ETag != "" {
			req.Header.Set("If-None-Match", m.ETag)
		}
		if m.LastModified != "" {
			req.Header.Set("If-Modified-Since", m.LastModified)
		}
		res.ETag, res.LastModified, res.Size = m.ETag, m.LastModified, m.Size
	}
	resp, err := client.Do(req)
	if err != nil {
		return res, fmt.Errorf("fetching %s: %w", opts.URL, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified:
		return res, nil
	case resp.StatusCode != http.StatusOK:
		return res, fmt.Errorf("fetching %s: %w: %s", opts.URL, ErrStatus, resp.Status)
	case resp.ContentLength > limit:
		return res, fmt.Errorf("fetching %s: %w: announced %d bytes, cap %d", opts.URL, ErrTooLarge, resp.ContentLength, limit)
	}
	if err := os.MkdirAll(filepath.Dir(opts.Path), 0o755); err != nil {
		return res, fmt.Errorf("fetching %s: %w", opts.URL, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(opts.Path), "."+filepath.Base(opts.Path)+".*.tmp")
	if err != nil {
		return res, fmt.Errorf("fetching %s: %w", opts.URL, err)
	}
	defer os.Remove(tmp.Name()) // after the rename this fails harmlessly
	n, err := copyBody(tmp, resp.Body, limit, resp.ContentLength, opts.Progress)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return res, fmt.Errorf("fetching %s: %w", opts.URL, err)
	}
	if opts.Validate != nil {
		if err := opts.Validate(tmp.Name()); err != nil {
			return res, fmt.Errorf("fetching %s: %w: %w", opts.URL, ErrInvalid, err)
		}
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return res, fmt.Errorf("fetching %s: %w", opts.URL, err)
	}
	if err := os.Rename(tmp.Name(), opts.Path); err != nil {
		return res, fmt.Errorf("fetching %s: %w", opts.URL, err)
	}
	m := meta{URL: opts.URL, ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified"), Fetched: time.Now().UTC(), Size: n}
	if err := writeMeta(opts.Path, m); err != nil {
		return res, fmt.Errorf("fetching %s: %w", opts.URL, err)
	}
	return Result{Path: opts.Path, Changed: true, Size: n, ETag: m.ETag, LastModified: m.LastModified}, nil
}

// copyBody copies at most limit bytes, failing on more, and on fewer than
// an announced Content-Length.
func copyBody(w io.Writer, r io.Reader, limit, total int64, progress func(done, total int64)) (int64, error) {
	var n int64
	buf := make([]byte, 64<<10)
	for {
		k, err := r.Read(buf)
		if k > 0 {
			n += int64(k)
			if n > limit {
				return n, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
			}
			if _, werr := w.Write(buf[:k]); werr != nil {
				return n, werr
			}
			if progress != nil {
				progress(n, total)
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return n, fmt.Errorf("%w after %d bytes: %w", ErrTruncated, n, err)
			}
			return n, err
		}
	}
	if total >= 0 && n != total {
		return n, fmt.Errorf("%w: %d of %d bytes", ErrTruncated, n, total)
	}
	return n, nil
}

func writeMeta(p string, m meta) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tmp := metaPath(p) + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, metaPath(p))
}

// DefaultCacheDir is where downloads go: $CACHE_DIRECTORY (set by
// systemd's CacheDirectory=), else $XDG_CACHE_HOME/svcreg, else
// /var/cache/svcreg. getenv is os.Getenv outside tests.
func DefaultCacheDir(getenv func(string) string) string {
	if d := getenv("CACHE_DIRECTORY"); d != "" {
		// systemd may list several, separated by colons.
		d, _, _ = strings.Cut(d, ":")
		return d
	}
	if d := getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "svcreg")
	}
	return "/var/cache/svcreg"
}

// CacheName is the file name a URL is cached under: its last path
// element, prefixed with a short hash of the URL so that two URLs ending
// in the same name do not share a file.
func CacheName(rawURL string) string {
	base := "registry"
	if u, err := url.Parse(rawURL); err == nil {
		if b := path.Base(u.Path); b != "." && b != "/" && b != "" {
			base = b
		}
	}
	base = strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r < 0x20 {
			return '_'
		}
		return r
	}, base)
	sum := sha256.Sum256([]byte(rawURL))
	return hex.EncodeToString(sum[:4]) + "-" + base
}
