package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/registry"
)

// The tests in this file hold every command to the same contract: help
// on request with exit 0, one line naming the flag for a bad flag or
// value with exit 2, -q/--quiet, and --registry URL read through the
// cache svcreg fetch and svcreg serve use.

// commandNames lists every command main dispatches, sorted.
func commandNames() []string {
	var names []string
	for n := range commands() {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func TestEveryCommandHelp(t *testing.T) {
	for _, name := range commandNames() {
		t.Run(name, func(t *testing.T) {
			for _, args := range [][]string{{name, "--help"}, {name, "-h"}, {"help", name}} {
				code, out, errOut := runCmd(t, args...)
				assert.Equal(t, exitOK, code, "%v", args)
				help := out + errOut
				assert.Contains(t, help, "usage: svcreg "+name, "%v", args)
				if name != "config" {
					assert.Contains(t, help, "-quiet", "%v: every command takes -q/--quiet", args)
				}
			}
		})
	}
	code, _, errOut := runCmd(t, "help", "no-such-command")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, `"no-such-command"`)

	code, out, errOut := runCmd(t, "config", "check", "-h")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, out+errOut, "-quiet", "config check takes -q/--quiet")
}

func TestVersionFlag(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"-version"}, {"version"}} {
		code, out, errOut := runCmd(t, args...)
		require.Equal(t, exitOK, code, errOut)
		assert.Contains(t, out, "svcreg ", "%v", args)
		assert.Contains(t, out, "go1.", "%v: the Go version", args)
	}
	code, out, _ := runCmd(t, "version", "-q")
	require.Equal(t, exitOK, code)
	assert.Equal(t, 1, strings.Count(out, "\n"), "-q prints the version alone: %q", out)
}

// TestBadFlagsOneLine: a bad flag or value is reported in one line on
// stderr that names the command and the flag, and exits 2 with nothing on
// stdout, for every command.
func TestBadFlagsOneLine(t *testing.T) {
	badValue := map[string]struct {
		args []string // after the command's name
		flag string   // the flag the error must name
	}{
		"lookup":      {[]string{"--format", "bogus", "http"}, "--format"},
		"stats":       {[]string{"--format", "bogus"}, "--format"},
		"serve":       {[]string{"--format", "bogus"}, "--format"},
		"zone":        {[]string{"--ttl", "soon"}, "--ttl"},
		"export":      {[]string{"--registry-format", "bogus"}, "--registry-format"},
		"validate":    {[]string{"--fail-on", "fatal", "_http._tcp", "--instance", "x"}, "--fail-on"},
		"scan":        {[]string{"--fail-on", "fatal"}, "--fail-on"},
		"rules":       {[]string{"--json=maybe"}, "--json"},
		"fetch":       {[]string{"--timeout", "soon"}, "--timeout"},
		"config":      {[]string{"check", "--format", "bogus"}, "--format"},
		"healthcheck": {[]string{"--timeout", "soon"}, "--timeout"},
		"version":     {[]string{"--json=maybe"}, "--json"},
		"tsig-keygen": {[]string{"--algorithm", "hmac-md5", "k.example"}, "--algorithm"},
	}
	for _, name := range commandNames() {
		bad, ok := badValue[name]
		require.True(t, ok, "command %s has no bad-value case", name)
		cmd := []string{name}
		if name == "config" {
			cmd = []string{"config", "check"}
		}
		prefix := "svcreg " + strings.Join(cmd, " ") + ": "
		t.Run(name+" bad value", func(t *testing.T) {
			code, out, errOut := runCmd(t, append([]string{name}, bad.args...)...)
			assert.Equal(t, exitUsage, code)
			assert.Empty(t, out)
			assert.Equal(t, 1, strings.Count(errOut, "\n"), "one line: %q", errOut)
			assert.True(t, strings.HasPrefix(errOut, prefix), errOut)
			assert.Contains(t, errOut, bad.flag)
		})
		t.Run(name+" unknown flag", func(t *testing.T) {
			code, out, errOut := runCmd(t, append(cmd, "--no-such-flag")...)
			assert.Equal(t, exitUsage, code)
			assert.Empty(t, out)
			assert.Equal(t, 1, strings.Count(errOut, "\n"), "one line: %q", errOut)
			assert.True(t, strings.HasPrefix(errOut, prefix), errOut)
			assert.Contains(t, errOut, "--no-such-flag")
		})
	}
}

// TestExitStatuses: 0 ok or found, 1 nothing found, a finding at
// --fail-on, a probe that fails or a daemon that cannot listen, 2 bad
// usage or unreadable input.
func TestExitStatuses(t *testing.T) {
	reg := filepath.Join(t.TempDir(), "services")
	require.NoError(t, os.WriteFile(reg, []byte(servicesV1), 0o644))
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	cases := []struct {
		name string
		args []string
		want int
	}{
		{"lookup found", []string{"lookup", "--registry", reg, "-q", "svcone"}, exitOK},
		{"lookup nothing found", []string{"lookup", "--registry", reg, "-q", "no-such-service"}, exitNotFound},
		{"lookup unreadable registry", []string{"lookup", "--registry", "/nonexistent/services", "http"}, exitUsage},
		{"stats unreadable registry", []string{"stats", "--registry", "/nonexistent/services"}, exitUsage},
		{"zone unreadable registry", []string{"zone", "--registry", "/nonexistent/services"}, exitUsage},
		{"serve unreadable registry", []string{"serve", "--registry", "/nonexistent/services", "--dns-listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0"}, exitUsage},
		{"serve listener in use", []string{"serve", "--registry", reg, "-q", "--dns-listen", "127.0.0.1:0", "--http-listen", busy.Addr().String()}, 1},
		{"serve missing mDNS interface", []string{"serve", "--registry", reg, "-q", "--mdns-interface", "nonexist0", "--dns-listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0"}, exitUsage},
		{"config check missing mDNS interface", []string{"config", "check", "-q", "--registry", reg, "--mdns-interface", "nonexist0"}, exitUsage},
		{"config check unreadable registry", []string{"config", "check", "--registry", "/nonexistent/services"}, exitUsage},
		{"validate clean", []string{"validate", "--registry", reg, "-q", "_svcone._tcp", "--instance", "one", "--port", "1111", "--host", "one.local"}, exitOK},
		{"validate finding at fail-on", []string{"validate", "--registry", reg, "-q", "--fail-on", "warning", "_nosuch._tcp", "--instance", "one", "--port", "1111", "--host", "one.local"}, exitNotFound},
		{"validate no type", []string{"validate", "--registry", reg}, exitUsage},
		{"fetch bad URL", []string{"fetch", "--url", "not-a-url"}, exitUsage},
		{"healthcheck bad URL", []string{"healthcheck", "--url", "not-a-url"}, exitUsage},
		{"healthcheck unreachable", []string{"healthcheck", "-q", "--timeout", "2s", "--url", "http://127.0.0.1:1/healthz"}, exitNotFound},
		{"unknown command", []string{"no-such-command"}, exitUsage},
		{"no command", nil, exitUsage},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runCmd(t, tc.args...)
			assert.Equal(t, tc.want, code, errOut)
		})
	}
}

// registryServer serves servicesV1 at /services and counts requests.
func registryServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/services" {
			http.NotFound(w, r)
			return
		}
		hits.Add(1)
		_, _ = w.Write([]byte(servicesV1))
	}))
	t.Cleanup(ts.Close)
	return ts, &hits
}

// TestRegistryURLEveryCommand: every command that reads the registry
// takes --registry URL, downloads it once into the cache and reads it
// from there afterwards; a URL that cannot be read exits 2 naming it.
func TestRegistryURLEveryCommand(t *testing.T) {
	ts, hits := registryServer(t)
	cache := t.TempDir()
	t.Setenv("SVCREG_REGISTRY_CACHE_DIR", cache)
	url := ts.URL + "/services"
	cached := registry.CachePath(cache, url)

	// config check reads only what is cached: it warns and downloads
	// nothing.
	code, _, errOut := runCmd(t, "config", "check", "-q", "--registry", url)
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, errOut, url)
	assert.Contains(t, errOut, "not cached")
	assert.Zero(t, hits.Load(), "config check downloads nothing")

	cases := []struct {
		name string
		args []string
		want string
	}{
		{"lookup", []string{"lookup", "--registry", url, "svcone"}, "svcone"},
		{"stats", []string{"stats", "--registry", url}, "services"},
		{"zone", []string{"zone", "--registry", url, "--zone", "services.test"}, "_svcone._tcp.services.test."},
		{"validate", []string{"validate", "--registry", url, "_svcone._tcp", "--instance", "one", "--port", "1111", "--host", "one.local"}, ""},
		{"config check", []string{"config", "check", "--registry", url}, url},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, tc.args...)
			require.Equal(t, exitOK, code, errOut)
			assert.Contains(t, out, tc.want)
			assert.FileExists(t, cached)
			assert.EqualValues(t, 1, hits.Load(), "downloaded once, then read from the cache")
		})
	}

	t.Run("serve", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var out, errOut syncBuffer
		done := make(chan int, 1)
		go func() {
			done <- run(ctx, []string{"serve", "--registry", url, "--dns-listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0"}, &out, &errOut)
		}()
		deadline := time.After(30 * time.Second)
		for !strings.Contains(errOut.String(), "svcreg: serving") {
			select {
			case code := <-done:
				t.Fatalf("serve exited %d before serving:\n%s", code, errOut.String())
			case <-deadline:
				t.Fatalf("serve did not start in 30s:\n%s", errOut.String())
			case <-time.After(20 * time.Millisecond):
			}
		}
		assert.Contains(t, errOut.String(), cached, "serve reads the URL from the cache")
		assert.EqualValues(t, 1, hits.Load())
		cancel()
		select {
		case code := <-done:
			assert.Equal(t, exitOK, code, errOut.String())
		case <-time.After(30 * time.Second):
			t.Fatal("serve did not stop")
		}
	})

	missing := ts.URL + "/missing"
	for _, args := range [][]string{
		{"lookup", "--registry", missing, "http"},
		{"stats", "--registry", missing},
		{"zone", "--registry", missing},
		{"validate", "--registry", missing, "_http._tcp", "--instance", "x"},
	} {
		t.Run(args[0]+" unreadable URL", func(t *testing.T) {
			code, out, errOut := runCmd(t, args...)
			assert.Equal(t, exitUsage, code, out)
			assert.Contains(t, errOut, missing)
			assert.Contains(t, errOut, "404")
		})
	}
}
