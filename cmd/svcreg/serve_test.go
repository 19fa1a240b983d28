package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/config"
	"github.com/svcreg/svcreg/internal/testutil"
	"github.com/svcreg/svcreg/registry"
)

func TestServeFlags(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var cf configFlags
	cf.register(fs)
	require.NoError(t, fs.Parse([]string{"--dns-listen", "127.0.0.1:1", "--zone", "a.example", "--dns-listen", "[::1]:1",
		"--registry", "/r1", "--registry", "https://example.com/r.xml", "--http-listen", "127.0.0.1:2",
		"--mdns-interface", "eth0", "--log-level", "debug", "--log-format", "json", "--zone", "b.example", "--query-log", "--rrl-rate", "40"}))
	l, err := cf.load([]string{"SVCREG_DNS_ZONE=env.example", "SVCREG_LOG_LEVEL=error", "SVCREG_DNS_TTL=60"})
	require.NoError(t, err)
	assert.Equal(t, []string{"127.0.0.1:1", "[::1]:1"}, l.DNS.Listen, "repeated flags accumulate")
	assert.Equal(t, "b.example.", l.DNS.Zone, "last --zone wins over the env")
	assert.Equal(t, 60, l.DNS.TTL, "env applies where no flag is given")
	assert.Equal(t, []string{"/r1", "https://example.com/r.xml"}, l.Registry.Sources)
	assert.Equal(t, []string{"127.0.0.1:2"}, l.HTTP.Listen)
	assert.Equal(t, []string{"eth0"}, l.MDNS.Interfaces)
	assert.Equal(t, config.Log{Level: "debug", Format: "json"}, l.Log)
	assert.Equal(t, "--dns-listen", l.Origin("dns.listen[1]"))
	assert.True(t, l.DNS.QueryLog, "--query-log without a value")
	assert.Equal(t, 40, l.DNS.RRLRate)
	assert.Equal(t, "--rrl-rate", l.Origin("dns.rrl_rate"))
}

func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestConfigCheckCommand(t *testing.T) {
	valid := filepath.Join("..", "..", "config", "testdata", "valid.yml")
	// valid.yml names sources that do not exist here; --registry replaces
	// them, as it does for serve.
	code, out, errOut := runCmd(t, "config", "check", "--config", valid, "--zone", "Example", "--registry", "builtin")
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "zone: example. # --zone\n")
	assert.Contains(t, out, "ttl: 7200 # "+valid+":25\n")
	assert.Contains(t, out, "http:\n  listen: ['127.0.0.1:8053'] # "+valid+":71\n")

	// The printed config is itself a valid config.
	code, out, _ = runCmd(t, "config", "check", "--bare", "--config", valid, "--registry", "builtin")
	require.Equal(t, exitOK, code)
	printed := filepath.Join(t.TempDir(), "printed.yml")
	require.NoError(t, os.WriteFile(printed, []byte(out), 0o644))
	code, _, errOut = runCmd(t, "config", "check", "--config", printed)
	assert.Equal(t, exitOK, code, errOut)

	bad := filepath.Join("..", "..", "config", "testdata", "invalid-unknown-key.yml")
	code, out, errOut = runCmd(t, "config", "check", "--config", bad)
	assert.Equal(t, exitUsage, code)
	assert.Empty(t, out)
	assert.Equal(t, "svcreg config check: "+bad+":3: dns.listne: unknown key (known: addresses, axfr_allow, axfr_keys, catalog, cookie_secret, cookie_secret_previous, enumerate, enumerate_max_records, id_server, ixfr_journal_max_bytes, listen, mbox, negative_ttl, notify, notify_key, notify_retries, notify_source, notify_timeout, ns, nsid, query_log, require_cookies, rrl_ipv4_prefix, rrl_ipv6_prefix, rrl_rate, rrl_slip, serial_file, serial_policy, soa_expire, soa_refresh, soa_retry, target, tcp_idle_timeout, tcp_max_conns, tcp_max_conns_per_source, tcp_read_timeout, tcp_reserved_conns, tsig_keys, ttl, udp_batch, udp_size, udp_workers, version_bind, zone)\n", errOut)

	// An unreadable source fails the check as it would fail serve.
	code, out, errOut = runCmd(t, "config", "check", "--config", valid)
	assert.Equal(t, exitUsage, code)
	assert.Empty(t, out)
	assert.Contains(t, errOut, "/var/lib/svcreg/service-names-port-numbers.xml")

	code, out, errOut = runCmd(t, "config", "check", "--json", "--config", valid, "--registry", "builtin")
	require.Equal(t, exitOK, code, errOut)
	var doc struct {
		File    string            `json:"file"`
		Origins map[string]string `json:"origins"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &doc), out)
	assert.Equal(t, valid, doc.File)
	assert.Equal(t, valid+":25", doc.Origins["dns.ttl"])
	assert.Equal(t, "--registry", doc.Origins["registry.sources"])

	code, out, errOut = runCmd(t, "config", "check", "-q", "--registry", "builtin")
	assert.Equal(t, exitOK, code, errOut)
	assert.Empty(t, out)
	assert.Empty(t, errOut)

	code, _, _ = runCmd(t, "config")
	assert.Equal(t, exitUsage, code)
}

func TestHealthcheckCommand(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"error":"not ready: starting","status":503}`)
			return
		}
		_, _ = io.WriteString(w, `{"status":"ok"}`)
	}))
	defer ts.Close()
	code, out, _ := runCmd(t, "healthcheck", "--url", ts.URL+"/healthz")
	assert.Equal(t, exitOK, code)
	assert.Equal(t, "ok "+ts.URL+"/healthz\n", out)
	code, _, errOut := runCmd(t, "healthcheck", "--url", ts.URL+"/readyz")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "503 not ready: starting")
	code, out, errOut = runCmd(t, "healthcheck", "--quiet", "--url", ts.URL+"/readyz")
	assert.Equal(t, 1, code)
	assert.Empty(t, out+errOut)

	for path, ok := range map[string]bool{"/healthz": true, "/readyz": false} {
		code, out, _ = runCmd(t, "healthcheck", "--json", "--url", ts.URL+path)
		var res struct {
			URL   string `json:"url"`
			OK    bool   `json:"ok"`
			Error string `json:"error"`
		}
		require.NoError(t, json.Unmarshal([]byte(out), &res), out)
		assert.Equal(t, ts.URL+path, res.URL)
		assert.Equal(t, ok, res.OK, path)
		assert.Equal(t, ok, res.Error == "", path)
		assert.Equal(t, map[bool]int{true: exitOK, false: 1}[ok], code, path)
	}

	code, _, errOut = runCmd(t, "healthcheck", "--url", "not-a-url")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, `--url "not-a-url"`)
}

func TestFetchCommand(t *testing.T) {
	xml := testutil.SharedFile(t, "iana", "service-names-port-numbers.xml")
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/service-names-port-numbers.xml" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		http.ServeFile(w, r, xml)
	}))
	defer ts.Close()
	out := filepath.Join(t.TempDir(), "registry.xml")
	type result struct {
		Path    string `json:"path"`
		Changed bool   `json:"changed"`
		Bytes   int64  `json:"bytes"`
	}
	for i, wantChanged := range []bool{true, false} {
		code, stdout, stderr := runCmd(t, "fetch", "--url", ts.URL+"/service-names-port-numbers.xml", "--out", out, "--json")
		require.Equal(t, exitOK, code, stderr)
		assert.Empty(t, stderr, "no progress when stderr is not a terminal")
		var r result
		require.NoError(t, json.Unmarshal([]byte(stdout), &r), stdout)
		assert.Equal(t, wantChanged, r.Changed, "run %d", i)
		assert.Equal(t, out, r.Path)
	}
	st, err := os.Stat(out)
	require.NoError(t, err)
	want, err := os.Stat(xml)
	require.NoError(t, err)
	assert.Equal(t, want.Size(), st.Size())

	code, _, stderr := runCmd(t, "fetch", "--url", ts.URL+"/nothing.xml", "--out", out)
	assert.Equal(t, exitUsage, code, "an unreadable URL is unreadable input")
	assert.Contains(t, stderr, "404 Not Found")

	// Without --url, fetch fills the cache the config names with the
	// config's URL sources; lookup then reads the URL from that cache.
	cache := t.TempDir()
	conf := filepath.Join(t.TempDir(), "svcreg.yml")
	url := ts.URL + "/service-names-port-numbers.xml"
	require.NoError(t, os.WriteFile(conf, []byte("registry:\n  sources: ["+url+"]\n  cache_dir: "+cache+"\n"), 0o644))
	code, stdout, stderr := runCmd(t, "fetch", "--config", conf, "-q")
	require.Equal(t, exitOK, code, stderr)
	assert.Empty(t, stdout+stderr)
	assert.FileExists(t, registry.CachePath(cache, url))
	ts.Close()
	code, stdout, stderr = runCmd(t, "lookup", "--config", conf, "-q", "5353/udp")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "mdns")
}
