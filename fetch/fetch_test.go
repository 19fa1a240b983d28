package fetch_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/fetch"
	"github.com/svcreg/svcreg/internal/testutil"
	"github.com/svcreg/svcreg/registry"
)

// ianaServer serves the shared IANA files with an ETag and Last-Modified,
// answering conditional requests with 304, as www.iana.org does. mode
// switches it to failure behaviours.
type ianaServer struct {
	dir   string
	mode  atomic.Value // "", "500", "truncated", "oversize"
	hits  atomic.Int64
	conds atomic.Int64 // requests that carried If-None-Match
}

func newIANAServer(t *testing.T) (*ianaServer, *httptest.Server) {
	t.Helper()
	xml := testutil.SharedFile(t, "iana", "service-names-port-numbers.xml")
	s := &ianaServer{dir: filepath.Dir(xml)}
	s.mode.Store("")
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts
}

func (s *ianaServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.hits.Add(1)
	if r.Header.Get("If-None-Match") != "" {
		s.conds.Add(1)
	}
	b, err := os.ReadFile(filepath.Join(s.dir, filepath.Base(r.URL.Path)))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	etag := `"` + strconv.Itoa(len(b)) + `"`
	switch s.mode.Load().(string) {
	case "500":
		http.Error(w, "boom", http.StatusInternalServerError)
		return
	case "truncated":
		// Announce the whole file, send half, and hang up.
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(b[:len(b)/2])
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
			}
		}
		return
	case "oversize":
		// No Content-Length: the cap must hold while reading.
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusOK)
		for range 3 {
			_, _ = w.Write(b)
		}
		return
	}
	w.Header().Set("ETag", etag)
	w.Header().Set("Last-Modified", "Mon, 17 Aug 2026 00:00:00 GMT")
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}

func validateRegistry(p string) error {
	_, err := registry.LoadFile(context.Background(), p, "")
	return err
}

func TestFetch(t *testing.T) {
	srv, ts := newIANAServer(t)
	dir := t.TempDir()
	dest := filepath.Join(dir, "cache", "registry.xml")
	opts := fetch.Options{URL: ts.URL + "/service-names-port-numbers.xml", Path: dest, Validate: validateRegistry}
	want, err := os.ReadFile(filepath.Join(srv.dir, "service-names-port-numbers.xml"))
	require.NoError(t, err)

	// First download: written whole, validators stored.
	var progressed int64
	opts.Progress = func(done, total int64) { progressed = done; assert.Equal(t, int64(len(want)), total) }
	res, err := fetch.Fetch(context.Background(), opts)
	require.NoError(t, err)
	assert.True(t, res.Changed)
	assert.Equal(t, int64(len(want)), res.Size)
	assert.Equal(t, int64(len(want)), progressed)
	assert.Equal(t, `"`+strconv.Itoa(len(want))+`"`, res.ETag)
	got, err := os.ReadFile(dest)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	opts.Progress = nil

	// Second: conditional, 304, nothing rewritten.
	st1, err := os.Stat(dest)
	require.NoError(t, err)
	res, err = fetch.Fetch(context.Background(), opts)
	require.NoError(t, err)
	assert.False(t, res.Changed)
	assert.Equal(t, int64(1), srv.conds.Load(), "second request carried If-None-Match")
	st2, err := os.Stat(dest)
	require.NoError(t, err)
	assert.Equal(t, st1.ModTime(), st2.ModTime())

	// Failures leave the cached copy untouched and leave no temp files.
	tests := []struct {
		mode     string
		maxBytes int64
		is       error
	}{
		{"500", 0, fetch.ErrStatus},
		{"truncated", 0, fetch.ErrTruncated},
		{"oversize", int64(len(want)) + 10, fetch.ErrTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.mode, func(t *testing.T) {
			srv.mode.Store(tc.mode)
			defer srv.mode.Store("")
			o := opts
			o.MaxBytes = tc.maxBytes
			_, err := fetch.Fetch(context.Background(), o)
			require.Error(t, err)
			assert.True(t, errors.Is(err, tc.is), "got %v", err)
			got, err := os.ReadFile(dest)
			require.NoError(t, err)
			assert.Equal(t, want, got, "cached copy kept")
			entries, err := os.ReadDir(filepath.Dir(dest))
			require.NoError(t, err)
			assert.Len(t, entries, 2, "only the file and its metadata remain")
		})
	}
}

func TestFetchAnnouncedOversize(t *testing.T) {
	_, ts := newIANAServer(t)
	dest := filepath.Join(t.TempDir(), "r.xml")
	_, err := fetch.Fetch(context.Background(), fetch.Options{URL: ts.URL + "/service-names-port-numbers.xml", Path: dest, MaxBytes: 1000})
	require.ErrorIs(t, err, fetch.ErrTooLarge)
	_, err = os.Stat(dest)
	assert.True(t, errors.Is(err, os.ErrNotExist), "nothing written")
}

func TestFetchRejectsInvalid(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("<html>captive portal</html>"))
	}))
	defer ts.Close()
	dest := filepath.Join(t.TempDir(), "r.xml")
	_, err := fetch.Fetch(context.Background(), fetch.Options{URL: ts.URL + "/r.xml", Path: dest, Validate: validateRegistry})
	require.ErrorIs(t, err, fetch.ErrInvalid)
	_, err = os.Stat(dest)
	assert.True(t, errors.Is(err, os.ErrNotExist))
}

func TestFetchNetworkError(t *testing.T) {
	ts := httptest.NewServer(http.NotFoundHandler())
	url := ts.URL + "/r.xml"
	ts.Close() // nothing listens any more
	_, err := fetch.Fetch(context.Background(), fetch.Options{URL: url, Path: filepath.Join(t.TempDir(), "r.xml")})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "connection refused")
}

func TestDefaultCacheDir(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	assert.Equal(t, "/var/cache/svcreg", fetch.DefaultCacheDir(env(nil)))
	assert.Equal(t, "/home/u/.cache/svcreg", fetch.DefaultCacheDir(env(map[string]string{"XDG_CACHE_HOME": "/home/u/.cache"})))
	assert.Equal(t, "/var/cache/svcreg-a", fetch.DefaultCacheDir(env(map[string]string{
		"CACHE_DIRECTORY": "/var/cache/svcreg-a:/var/cache/b", "XDG_CACHE_HOME": "/x"})))
}

func TestCacheName(t *testing.T) {
	a := fetch.CacheName("https://www.iana.org/assignments/service-names-port-numbers/service-names-port-numbers.xml")
	b := fetch.CacheName("https://mirror.example/service-names-port-numbers.xml")
	assert.Regexp(t, `^[0-9a-f]{8}-service-names-port-numbers\.xml$`, a)
	assert.NotEqual(t, a, b)
	assert.Regexp(t, `^[0-9a-f]{8}-registry$`, fetch.CacheName("https://example.com/"))
}
