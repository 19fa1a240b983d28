package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/config"
	"github.com/svcreg/svcreg/registry"
)

// registryServer serves a services-format registry whose content the test
// switches, with an ETag so that an unchanged body costs a 304.
type registryServer struct {
	mu   sync.Mutex
	body string
	up   atomic.Bool
	hits atomic.Int64
}

func (s *registryServer) set(body string) { s.mu.Lock(); s.body = body; s.mu.Unlock() }

func (s *registryServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.hits.Add(1)
	if !s.up.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	s.mu.Lock()
	body := s.body
	s.mu.Unlock()
	etag := `"` + strconv.Itoa(len(body)) + `"`
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	_, _ = w.Write([]byte(body))
}

func testDaemon(t *testing.T, cfg config.Config) (*daemon, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	d := &daemon{
		logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		level:  new(slog.LevelVar), version: "test", client: &http.Client{Timeout: 5 * time.Second},
		cfg: &config.Loaded{Config: cfg}, rewatch: make(chan struct{}, 1),
	}
	return d, &logs
}

func TestLoadRegistryURLSource(t *testing.T) {
	srv := &registryServer{}
	srv.set(servicesV1)
	srv.up.Store(true)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	url := ts.URL + "/services"

	cfg := config.Default()
	cfg.Registry.Sources = []string{url}
	cfg.Registry.Format = "services"
	cfg.Registry.CacheDir = t.TempDir()
	d, logs := testDaemon(t, cfg)
	ctx := context.Background()

	// Not cached yet: downloaded at load, then read from the cache.
	snap, watched, err := d.loadRegistry(ctx, &cfg)
	require.NoError(t, err)
	assert.Len(t, snap.ByType("svcone", registry.ProtoTCP), 1)
	cached := cachePath(&cfg, url)
	assert.Equal(t, []string{cached}, watched, "the cached file is watched, so svcreg fetch triggers a reload")
	assert.FileExists(t, cached)
	assert.Equal(t, int64(1), srv.hits.Load())

	// Cached: a reload reads the cache without the network, even when the
	// server is down.
	srv.up.Store(false)
	srv.set(servicesV2)
	snap, _, err = d.loadRegistry(ctx, &cfg)
	require.NoError(t, err)
	assert.Empty(t, snap.ByType("svctwo", registry.ProtoTCP), "still the cached version")
	assert.Equal(t, int64(1), srv.hits.Load(), "no request when cached")

	// Neither reachable nor cached: skipped, the default serves.
	cfg.Registry.CacheDir = t.TempDir()
	cfg.Registry.ServicesFile = filepath.Join(t.TempDir(), "none")
	snap, _, err = d.loadRegistry(ctx, &cfg)
	require.NoError(t, err)
	assert.Equal(t, registry.BuiltinName, snap.Sources()[0].Name)
	assert.Contains(t, logs.String(), "URL source not available and not cached; skipped")

	// A broken file source is an error (the daemon keeps its snapshot).
	bad := filepath.Join(t.TempDir(), "bad")
	require.NoError(t, os.WriteFile(bad, []byte("nothing here\n"), 0o644))
	cfg.Registry.Sources = []string{bad}
	_, _, err = d.loadRegistry(ctx, &cfg)
	require.Error(t, err)
}

func TestRefreshLoop(t *testing.T) {
	srv := &registryServer{}
	srv.set(servicesV1)
	srv.up.Store(true)
	ts := httptest.NewServer(srv)
	defer ts.Close()

	cfg := config.Default()
	cfg.Registry.Sources = []string{ts.URL + "/services", "/not/a/url/source"}
	cfg.Registry.Format = "services"
	cfg.Registry.CacheDir = t.TempDir()
	// Below the config minimum: set directly to keep the test fast.
	cfg.Registry.RefreshInterval = 20 * time.Millisecond
	d, logs := testDaemon(t, cfg)
	_, err := d.download(context.Background(), &cfg, ts.URL+"/services")
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	trigger := make(chan string, 1)
	done := make(chan struct{})
	go func() { d.refreshLoop(ctx, trigger); close(done) }()
	defer func() { cancel(); <-done }()

	// Unchanged (304s, and a failing round): no reload asked for.
	hits := srv.hits.Load()
	deadline := time.Now().Add(10 * time.Second)
	for srv.hits.Load() < hits+3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	srv.up.Store(false)
	hits = srv.hits.Load()
	for srv.hits.Load() < hits+2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case r := <-trigger:
		t.Fatalf("reload requested (%s) without a change", r)
	default:
	}
	srv.up.Store(true)

	// Changed: one reload, and the cache holds the new version.
	srv.set(servicesV2)
	select {
	case r := <-trigger:
		assert.Equal(t, "refresh", r)
	case <-time.After(10 * time.Second):
		t.Fatal("no reload after the registry changed")
	}
	b, err := os.ReadFile(cachePath(&cfg, ts.URL+"/services"))
	require.NoError(t, err)
	assert.Equal(t, servicesV2, string(b))
	assert.Contains(t, logs.String(), "refresh failed; keeping the cached copy")
}
