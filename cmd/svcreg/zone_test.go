package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestZoneGolden(t *testing.T) {
	cases := []struct {
		golden string
		args   []string
	}{
		{"zone_seed000.golden", []string{"--registry", seed(0)}},
		{"zone_seed002_custom.golden", []string{"--registry", seed(2), "--zone", "Svc.Example", "--ttl", "600",
			"--ns", "a.ns.example.", "--ns", "ns1.svc.example", "--target", "host.example", "--addr", "192.0.2.1", "--addr", "2001:db8::1"}},
		{"zone_seed003_noaddr.golden", []string{"--registry", seed(3), "--ns", "ns.example.", "--addr", "none"}},
	}
	for _, tc := range cases {
		t.Run(tc.golden, func(t *testing.T) {
			stdout, stderr, code := cli(t, append([]string{"zone", "-q"}, tc.args...)...)
			require.Equal(t, exitOK, code, stderr)
			golden(t, tc.golden, stdout)
		})
	}
}

// TestZoneFlags parses the output and checks that each flag reached the
// records it shapes.
func TestZoneFlags(t *testing.T) {
	stdout, stderr, code := cli(t, "zone", "-q", "--registry", seed(0), "--zone", "svc.example", "--ttl", "600",
		"--neg-ttl", "120", "--mbox", "dns-admin.example.org", "--ns", "a.ns.example", "--ns", "b.ns.example.", "--target", "host.example")
	require.Equal(t, exitOK, code, stderr)
	zp := dns.NewZoneParser(strings.NewReader(stdout), "", "")
	var rrs []dns.RR
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		rrs = append(rrs, rr)
	}
	require.NoError(t, zp.Err())
	require.NotEmpty(t, rrs)
	soa, ok := rrs[0].(*dns.SOA)
	require.True(t, ok, "first record %s", rrs[0])
	assert.Equal(t, "svc.example.", soa.Hdr.Name)
	assert.Equal(t, uint32(120), soa.Minttl)
	assert.Equal(t, "dns-admin.example.org.", soa.Mbox)
	var ns []string
	srv := 0
	for _, rr := range rrs {
		assert.Equal(t, uint32(600), rr.Header().Ttl, "%s", rr)
		assert.True(t, dns.IsSubDomain("svc.example.", rr.Header().Name), "%s", rr)
		switch v := rr.(type) {
		case *dns.NS:
			ns = append(ns, v.Ns)
		case *dns.SRV:
			srv++
			assert.Equal(t, "host.example.", v.Target)
		}
	}
	assert.ElementsMatch(t, []string{"a.ns.example.", "b.ns.example."}, ns)
	assert.Positive(t, srv, "seed 0 has registered ports, so SRV records")
}

func TestZoneOutputFile(t *testing.T) {
	stdout, stderr, code := cli(t, "zone", "-q", "--registry", seed(1))
	require.Equal(t, exitOK, code, stderr)
	path := filepath.Join(t.TempDir(), "services.internal.zone")
	require.NoError(t, os.WriteFile(path, []byte("old"), 0o600))
	out, stderr, code := cli(t, "zone", "-q", "--registry", seed(1), "-o", path)
	require.Equal(t, exitOK, code, stderr)
	assert.Empty(t, out)
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, stdout, string(got))
	entries, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "no temporary file left behind")

	_, stderr, code = cli(t, "zone", "-q", "--registry", seed(1), "-o", filepath.Join(t.TempDir(), "missing", "x.zone"))
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "svcreg zone: writing ")
}

func TestZoneBadUsage(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"ttl negative", []string{"--ttl", "-1"}, "TTL"},
		{"ttl zero", []string{"--ttl", "0"}, "TTL"},
		{"neg-ttl zero", []string{"--neg-ttl", "0"}, "negative TTL"},
		{"mbox bad", []string{"--mbox", "a..b"}, "not a domain name"},
		{"ttl too big", []string{"--ttl", "2147483648"}, "TTL"},
		{"zone empty label", []string{"--zone", "a..b"}, "not a domain name"},
		{"ns empty", []string{"--ns", ""}, "not a domain name"},
		{"addr bad", []string{"--addr", "ns1"}, "not an IP address"},
		{"positional", []string{"http"}, "unexpected argument"},
		{"missing registry", []string{"--registry", filepath.Join(t.TempDir(), "nope.xml")}, "nope.xml"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := cli(t, append([]string{"zone", "-q"}, tc.args...)...)
			assert.Equal(t, exitUsage, code)
			assert.Empty(t, stdout)
			assert.Contains(t, stderr, tc.want)
		})
	}
}

// TestZoneConfig reads the registry, the local additions and the dns
// section from a serve configuration file, with zone flags on top.
func TestZoneConfig(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "svcreg.yml")
	require.NoError(t, os.WriteFile(conf, []byte(`registry:
  sources: [`+seed(0)+`]
  local:
    - name: acme-billing
      protocols: [tcp]
      port: "18443"
      description: ACME billing API
dns:
  zone: corp.example.
  ttl: 900
  negative_ttl: 60
`), 0o644))
	t.Setenv("SVCREG_CONFIG", "")
	stdout, stderr, code := cli(t, "zone", "-q", "--config", conf)
	require.Equal(t, exitOK, code, stderr)
	rrs := parseZoneOutput(t, stdout)
	soa := rrs[0].(*dns.SOA)
	assert.Equal(t, "corp.example.", soa.Hdr.Name)
	assert.Equal(t, uint32(900), soa.Hdr.Ttl)
	assert.Equal(t, uint32(60), soa.Minttl)
	assert.Equal(t, "ns1.corp.example.", soa.Ns, "NS follows the configured zone")
	assert.Equal(t, "hostmaster.corp.example.", soa.Mbox)
	assert.Contains(t, stdout, "_acme-billing._tcp.corp.example.\t900\tIN\tSRV\t0 0 18443 corp.example.", "local additions are zone content")
	assert.Contains(t, stdout, "_http._sctp.corp.example.", "the configured registry source")

	// Flags override the file; --registry replaces its sources, the local
	// additions stay.
	stdout, stderr, code = cli(t, "zone", "-q", "--config", conf, "--zone", "other.example", "--ttl", "120", "--registry", seed(3))
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "_acme-billing._tcp.other.example.\t120\tIN\tSRV\t0 0 18443 other.example.")
	assert.NotContains(t, stdout, "_http._sctp.")

	_, stderr, code = cli(t, "zone", "-q", "--config", filepath.Join(dir, "missing.yml"))
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "missing.yml")
}

func parseZoneOutput(t *testing.T, text string) []dns.RR {
	t.Helper()
	zp := dns.NewZoneParser(strings.NewReader(text), "", "")
	var rrs []dns.RR
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		rrs = append(rrs, rr)
	}
	require.NoError(t, zp.Err())
	require.NotEmpty(t, rrs)
	return rrs
}
