package registry

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const sourcesXML = `<?xml version='1.0'?>
<registry xmlns="http://www.iana.org/assignments" id="service-names-port-numbers">
  <updated>2026-01-02</updated>
  <record><name>ipp</name><protocol>tcp</protocol><number>631</number><description>IPP</description></record>
</registry>
`

const sourcesServices = "acme-a\t7001/tcp\t# A\nacme-b\t7002/udp\t# B\n"

// urlServer serves sourcesServices while up is set and counts requests.
func urlServer(t *testing.T) (*httptest.Server, *atomic.Bool, *atomic.Int64) {
	t.Helper()
	var up atomic.Bool
	var hits atomic.Int64
	up.Store(true)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		if !up.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(sourcesServices))
	}))
	t.Cleanup(ts.Close)
	return ts, &up, &hits
}

func sourceNames(l *Loaded) []string {
	var out []string
	for _, s := range l.Sources {
		out = append(out, s.Source.Name)
	}
	return out
}

func TestLoadSources(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "extra.services")
	require.NoError(t, os.WriteFile(file, []byte(sourcesServices), 0o644))
	noServices := filepath.Join(dir, "absent")
	local := &Source{Name: "local", Format: FormatBuiltin, Records: []Record{{
		Name: "acme-sync", Protocol: ProtoTCP, PortLow: 9443, PortHigh: 9443, Status: StatusAssigned, Source: "local", Line: 3,
	}}}
	cases := []struct {
		name    string
		specs   []string
		opts    SourceOptions
		sources []string // Source.Name in merge order
		watched []string
		def     bool
		has     string // a name the snapshot must know
		err     error
		errMsg  string
	}{
		{name: "a file", specs: []string{file}, sources: []string{"extra.services"}, watched: []string{file}, has: "acme-a"},
		{name: "builtin keyword", specs: []string{SpecBuiltin}, sources: []string{BuiltinName}, has: "ipp"},
		{name: "file then builtin", specs: []string{file, SpecBuiltin}, sources: []string{"extra.services", BuiltinName}, watched: []string{file}, has: "airplay"},
		{name: "embedded keyword", specs: []string{SpecEmbedded}, opts: SourceOptions{Embedded: []byte(sourcesXML)}, sources: []string{EmbeddedName}, has: "ipp"},
		{name: "embedded missing", specs: []string{SpecEmbedded}, err: ErrNoEmbedded},
		{name: "default without services file", opts: SourceOptions{ServicesFile: noServices}, sources: []string{BuiltinName}, watched: []string{noServices}, def: true},
		{name: "default with services file", opts: SourceOptions{ServicesFile: file}, sources: []string{"extra.services", BuiltinName}, watched: []string{file}, def: true, has: "acme-b"},
		{name: "default of an embedding build", opts: SourceOptions{Embedded: []byte(sourcesXML), ServicesFile: file}, sources: []string{EmbeddedName, BuiltinName}, def: true},
		{name: "local additions last", specs: []string{file}, opts: SourceOptions{Local: local}, sources: []string{"extra.services", "local"}, watched: []string{file}, has: "acme-sync"},
		{name: "missing file", specs: []string{filepath.Join(dir, "nope.xml")}, err: os.ErrNotExist, errMsg: "nope.xml"},
		{name: "forced format", specs: []string{file}, opts: SourceOptions{Format: FormatXML}, errMsg: "extra.services"},
		{name: "empty spec", specs: []string{""}, errMsg: "empty source"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := LoadSources(context.Background(), tc.specs, tc.opts)
			if tc.err != nil || tc.errMsg != "" {
				require.Error(t, err)
				if tc.err != nil {
					assert.ErrorIs(t, err, tc.err)
				}
				assert.Contains(t, err.Error(), tc.errMsg)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.sources, sourceNames(got))
			assert.Equal(t, tc.watched, got.Watched)
			assert.Equal(t, tc.def, got.Default)
			if tc.has != "" {
				assert.NotEmpty(t, got.Snapshot.ByName(tc.has), "snapshot lacks %s", tc.has)
			}
		})
	}
}

// TestLoadSourcesURL: a URL is downloaded into the cache once, then read
// from it (also while the server is down); an unavailable uncached URL is
// an error, or skipped for the default when SkipUnavailable is set.
func TestLoadSourcesURL(t *testing.T) {
	ts, up, hits := urlServer(t)
	cache := t.TempDir()
	url := ts.URL + "/reg/services"
	var logs bytes.Buffer
	opts := SourceOptions{CacheDir: cache, Logger: slog.New(slog.NewTextHandler(&logs, nil)), ServicesFile: filepath.Join(cache, "absent")}
	ctx := context.Background()

	got, err := LoadSources(ctx, []string{url}, opts)
	require.NoError(t, err)
	assert.EqualValues(t, 1, hits.Load(), "downloaded once")
	path := CachePath(cache, url)
	assert.Equal(t, []string{path}, got.Watched, "the cache file is watched")
	assert.Equal(t, path, got.Sources[0].Path)
	assert.NotEmpty(t, got.Snapshot.ByName("acme-a"))
	assert.Contains(t, logs.String(), "registry: fetched")

	up.Store(false)
	got, err = LoadSources(ctx, []string{url}, opts)
	require.NoError(t, err, "a cached URL needs no server")
	assert.EqualValues(t, 1, hits.Load(), "the cache answers without a request")
	assert.NotEmpty(t, got.Snapshot.ByName("acme-b"))

	other := ts.URL + "/other/services"
	_, err = LoadSources(ctx, []string{other}, opts)
	require.Error(t, err, "not cached and the server is down")
	assert.Contains(t, err.Error(), other)

	skip := opts
	skip.SkipUnavailable = true
	got, err = LoadSources(ctx, []string{other}, skip)
	require.NoError(t, err)
	assert.True(t, got.Default, "nothing available: the default is served")
	assert.Contains(t, got.Skipped, other)
	assert.Equal(t, []string{BuiltinName}, sourceNames(got))

	got, err = LoadSources(ctx, []string{other, url}, skip)
	require.NoError(t, err)
	assert.False(t, got.Default)
	assert.Equal(t, []string{filepath.Base(path)}, sourceNames(got), "the cached URL is served, the other skipped")

	// Offline: the server is up again, but nothing is downloaded.
	up.Store(true)
	before := hits.Load()
	offline := opts
	offline.Offline = true
	_, err = LoadSources(ctx, []string{other}, offline)
	require.ErrorIs(t, err, ErrNotCached)
	assert.Equal(t, before, hits.Load(), "offline sends no request")
	got, err = LoadSources(ctx, []string{url}, offline)
	require.NoError(t, err, "offline still reads the cache")
	assert.NotEmpty(t, got.Snapshot.ByName("acme-b"))
}

func TestKeywordSpecs(t *testing.T) {
	for spec, want := range map[string]bool{"builtin": true, "embedded": true, "./builtin": false, "/etc/services": false, "https://x/y": false} {
		assert.Equal(t, want, IsKeywordSpec(spec), spec)
	}
	assert.True(t, IsURL("https://www.iana.org/x.xml"))
	assert.False(t, IsURL("/var/lib/x.xml"))
}
