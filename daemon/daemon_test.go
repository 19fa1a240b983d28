package daemon

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/config"
	"github.com/svcreg/svcreg/internal/testutil"
	"github.com/svcreg/svcreg/mdns"
	"github.com/svcreg/svcreg/registry"
)

const servicesV1 = `# test registry, version 1
svcone		1111/tcp		# first service
svcshared	3333/tcp		# in every version
`

const servicesV2 = servicesV1 + `svctwo		2222/tcp		# added in version 2
`

// syncBuffer is a log sink the daemon's goroutines and the test share.
type syncBuffer = testutil.SyncBuffer

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

// writeConfig writes a config file serving on loopback ports the kernel
// picks, with the given registry section, and loads it as serve would.
func writeConfig(t *testing.T, dir, registrySection string) *config.Loaded {
	t.Helper()
	path := filepath.Join(dir, "svcreg.yml")
	body := "registry:\n" + registrySection + "  cache_dir: " + filepath.Join(dir, "cache") + "\n" +
		"dns:\n  listen: [\"127.0.0.1:0\"]\n  serial_file: none\nhttp:\n  listen: [\"127.0.0.1:0\"]\n"
	require.NoError(t, os.WriteFile(path, []byte(body), 0o644))
	cfg, err := config.Load(config.Options{Path: path})
	require.NoError(t, err)
	return cfg
}

func newTestDaemon(t *testing.T, cfg *config.Loaded) (*Daemon, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d, err := New(context.Background(), cfg, logger, nil, WithVersion("test"),
		WithHTTPClient(&http.Client{Timeout: 5 * time.Second}))
	require.NoError(t, err)
	return d, logs
}

// TestRunAndReload drives the library as serve does: New, Run, Reload
// after the registry file changes, a failed reload that keeps the
// previous registry, and a clean stop when the context ends.
func TestRunAndReload(t *testing.T) {
	dir := t.TempDir()
	reg := filepath.Join(dir, "services")
	require.NoError(t, os.WriteFile(reg, []byte(servicesV1), 0o644))
	cfg := writeConfig(t, dir, "  sources: [services]\n  format: services\n")
	d, logs := newTestDaemon(t, cfg)
	require.Error(t, d.Ready(), "not ready before Run")

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for d.Ready() != nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	require.NoError(t, d.Ready(), "ready once the listeners are up")
	require.NotEmpty(t, d.DNS().Addrs())
	assert.Empty(t, d.Store().Load().ByType("svctwo", registry.ProtoTCP))

	require.NoError(t, os.WriteFile(reg, []byte(servicesV2), 0o644))
	require.NoError(t, d.Reload(ctx))
	assert.Len(t, d.Store().Load().ByType("svctwo", registry.ProtoTCP), 1, "the reload serves the new file")

	require.NoError(t, os.WriteFile(reg, []byte("nothing here\n"), 0o644))
	require.Error(t, d.Reload(ctx), "a broken registry fails the reload")
	assert.Len(t, d.Store().Load().ByType("svctwo", registry.ProtoTCP), 1, "the previous registry keeps serving")
	assert.Contains(t, logs.String(), "still serving the previous registry")

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the context ended")
	}
	assert.Error(t, d.Ready(), "not ready after the stop")
}

// TestNewFailsOnBadRegistry: a registry that cannot be read is an error
// from New naming the file, before anything listens.
func TestNewFailsOnBadRegistry(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, dir, "  sources: [/nonexistent/registry.xml]\n")
	_, err := New(context.Background(), cfg, nil, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "/nonexistent/registry.xml")
}

// TestNewFailsOnUnusableInterface: an mDNS interface that is missing or
// cannot do multicast stops the start, naming it, instead of a monitor
// that silently sees nothing.
func TestNewFailsOnUnusableInterface(t *testing.T) {
	for _, iface := range []string{"nonexist0", "lo"} { // Linux's lo has no MULTICAST flag
		t.Run(iface, func(t *testing.T) {
			cfg := writeConfig(t, t.TempDir(), "  sources: [builtin]\n")
			cfg.MDNS.Interfaces = []string{iface}
			_, err := New(context.Background(), cfg, nil, nil)
			require.ErrorIs(t, err, mdns.ErrNoInterface)
			assert.Contains(t, err.Error(), `"`+iface+`"`)
			assert.Contains(t, err.Error(), "mdns.interfaces")
		})
	}
}

func TestLoadRegistryURLSource(t *testing.T) {
	srv := &registryServer{}
	srv.set(servicesV1)
	srv.up.Store(true)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	url := ts.URL + "/services"

	dir := t.TempDir()
	cfg := writeConfig(t, dir, "  sources: [\""+url+"\"]\n  format: services\n")
	// Not cached yet: downloaded at start, then read from the cache.
	d, logs := newTestDaemon(t, cfg)
	assert.Len(t, d.Store().Load().ByType("svcone", registry.ProtoTCP), 1)
	cached := registry.CachePath(cfg.Registry.CacheDir, url)
	assert.Equal(t, []string{cached}, d.watched, "the cached file is watched, so svcreg fetch triggers a reload")
	assert.FileExists(t, cached)
	assert.Equal(t, int64(1), srv.hits.Load())

	// Cached: a reload reads the cache without the network, even when the
	// server is down.
	srv.up.Store(false)
	srv.set(servicesV2)
	ctx := context.Background()
	require.NoError(t, d.Reload(ctx))
	assert.Empty(t, d.Store().Load().ByType("svctwo", registry.ProtoTCP), "still the cached version")
	assert.Equal(t, int64(1), srv.hits.Load(), "no request when cached")

	// Neither reachable nor cached: skipped, the default serves.
	c := cfg.Config
	c.Registry.CacheDir = t.TempDir()
	c.Registry.ServicesFile = filepath.Join(t.TempDir(), "none")
	loaded, err := d.loadRegistry(ctx, &c)
	require.NoError(t, err)
	assert.Equal(t, registry.BuiltinName, loaded.Snapshot.Sources()[0].Name)
	assert.Contains(t, logs.String(), "URL source not available and not cached; skipped")

	// A broken file source is an error (the daemon keeps its snapshot).
	bad := filepath.Join(t.TempDir(), "bad")
	require.NoError(t, os.WriteFile(bad, []byte("nothing here\n"), 0o644))
	c.Registry.Sources = []string{bad}
	_, err = d.loadRegistry(ctx, &c)
	require.Error(t, err)
}

func TestRefreshLoop(t *testing.T) {
	srv := &registryServer{}
	srv.set(servicesV1)
	srv.up.Store(true)
	ts := httptest.NewServer(srv)
	defer ts.Close()

	dir := t.TempDir()
	cfg := writeConfig(t, dir, "  sources: [\""+ts.URL+"/services\", \"/not/a/url/source\"]\n  format: services\n")
	cfg.Registry.Sources[1] = filepath.Join(dir, "local.services")
	require.NoError(t, os.WriteFile(cfg.Registry.Sources[1], []byte(servicesV1), 0o644))
	d, logs := newTestDaemon(t, cfg)
	// Below the config minimum: set directly to keep the test fast.
	d.cfg.Registry.RefreshInterval = 20 * time.Millisecond

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.refreshLoop(ctx); close(done) }()
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
	case r := <-d.reloads:
		t.Fatalf("reload requested (%s) without a change", r)
	default:
	}
	srv.up.Store(true)

	// Changed: one reload, and the cache holds the new version.
	srv.set(servicesV2)
	select {
	case r := <-d.reloads:
		assert.Equal(t, "refresh", r)
	case <-time.After(10 * time.Second):
		t.Fatal("no reload after the registry changed")
	}
	b, err := os.ReadFile(registry.CachePath(cfg.Registry.CacheDir, ts.URL+"/services"))
	require.NoError(t, err)
	assert.Equal(t, servicesV2, string(b))
	assert.Contains(t, logs.String(), "refresh failed; keeping the cached copy")
}

// TestReadyReportsStoppedMonitor: once the mDNS monitor has stopped on an
// error, /readyz fails with the reason rather than staying green.
func TestReadyReportsStoppedMonitor(t *testing.T) {
	d, _ := newTestDaemon(t, writeConfig(t, t.TempDir(), "  sources: [builtin]\n"))
	d.ready.Store(true)
	require.NoError(t, d.Ready())
	broken := errors.New("reading lab0: network is down")
	m, err := mdns.NewMonitor(mdns.MonitorConfig{Source: failingSource{broken}}, d.store, nil, nil)
	require.NoError(t, err)
	d.monitor = m
	require.ErrorIs(t, m.Run(context.Background()), broken)
	err = d.Ready()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "mdns monitor stopped: "+broken.Error())
}

// failingSource is a packet source whose listener fails at once.
type failingSource struct{ err error }

func (f failingSource) Serve(context.Context, mdns.PacketHandler) error { return f.err }

// TestMDNSMetricsWithMDNSOff: a daemon without mDNS still exports the
// svcreg_mdns_* families, at zero.
func TestMDNSMetricsWithMDNSOff(t *testing.T) {
	d, _ := newTestDaemon(t, writeConfig(t, t.TempDir(), "  sources: [builtin]\n"))
	mfs, err := d.reg.Gather()
	require.NoError(t, err)
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			got[mf.GetName()] += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
		if strings.HasPrefix(mf.GetName(), "svcreg_mdns_") {
			got[mf.GetName()+" present"] = 1
		}
	}
	for _, name := range []string{"svcreg_mdns_packets_total", "svcreg_mdns_advertisements", "svcreg_mdns_evictions_total"} {
		assert.Equal(t, 1.0, got[name+" present"], name)
		assert.Zero(t, got[name], name)
	}
}
