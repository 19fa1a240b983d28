package config

import (
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/registry"
	"github.com/svcreg/svcreg/resolver"
)

func parseFile(t *testing.T, name string) (*Loaded, error) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	require.NoError(t, err)
	defer f.Close()
	return Parse(f, name)
}

// TestInvalidFixtures pairs every testdata/invalid-*.yml with its exact
// error, and checks that no fixture lacks a row.
func TestInvalidFixtures(t *testing.T) {
	cases := []struct{ file, err string }{
		{"invalid-addresses.yml", "invalid-addresses.yml:2: dns.addresses[1]: \"fe80::1%eth0\": want an IPv4 or IPv6 address without a zone, not unspecified"},
		{"invalid-notify-retries.yml", "invalid-notify-retries.yml:2: dns.notify_retries: 0: want 1-10"},
		{"invalid-rrl-prefix.yml", "invalid-rrl-prefix.yml:2: dns.rrl_ipv4_prefix: 33: want 1-32"},
		{"invalid-rrl-rate.yml", "invalid-rrl-rate.yml:2: dns.rrl_rate: 5000000: want 0-1000000"},
		{"invalid-rrl-slip.yml", "invalid-rrl-slip.yml:3: dns.rrl_slip: 101: want 0-100"},
		{"invalid-tcp-idle-timeout.yml", "invalid-tcp-idle-timeout.yml:2: dns.tcp_idle_timeout: 0: want 100ms to 1h"},
		{"invalid-tcp-max-conns.yml", "invalid-tcp-max-conns.yml:2: dns.tcp_max_conns: 0: want 1-65536"},
		{"invalid-udp-batch.yml", "invalid-udp-batch.yml:2: dns.udp_batch: 1000: want 1-256"},
		{"invalid-alias2.yml", "invalid-alias2.yml:4: http.listen: YAML aliases are not supported"},
		{"invalid-axfr.yml", "invalid-axfr.yml:2: dns.axfr_allow[0]: \"10.0.0.0/33\": prefix length out of range"},
		{"invalid-duplicate-key.yml", "invalid-duplicate-key.yml:3: log.level: duplicate key"},
		{"invalid-duration.yml", "invalid-duration.yml:2: registry.refresh_interval: \"daily\" is not a duration (e.g. 90s, 15m, 24h)"},
		{"invalid-listen-port.yml", "invalid-listen-port.yml:4: dns.listen[1]: \"127.0.0.1:65536\": the port must be 0-65535"},
		{"invalid-listen-scalar.yml", "invalid-listen-scalar.yml:2: http.listen: want a list, got \"127.0.0.1:8053\""},
		{"invalid-local-duplicate.yml", "invalid-local-duplicate.yml:5: registry.local[1].name: acme/tcp is already defined by registry.local[0]"},
		{"invalid-local-name.yml", "invalid-local-name.yml:3: registry.local[0].name: \"my_service\" is not a valid service name (RFC 6335 section 5.1: 1-15 letters, digits and inner hyphens, at least one letter)"},
		{"invalid-local-port.yml", "invalid-local-port.yml:4: registry.local[0].port: \"9010-9000\": range ends before it starts"},
		{"invalid-local-protocol.yml", "invalid-local-protocol.yml:4: registry.local[0].protocols[1]: \"quic\": want tcp, udp, sctp or dccp"},
		{"invalid-local-subtype.yml", "invalid-local-subtype.yml:4: registry.local[0].subtypes[0]: \"printer\": want _ and a label of 1-63 bytes (RFC 6763 section 7.1)"},
		{"invalid-local-txt-key.yml", "invalid-local-txt-key.yml:4: registry.local[0].txt_keys[0]: \"=value\": empty key (RFC 6763 section 6.4)"},
		{"invalid-log-format.yml", "invalid-log-format.yml:2: log.format: \"xml\": want text or json"},
		{"invalid-log-level.yml", "invalid-log-level.yml:2: log.level: \"verbose\": want debug, info, warn or error"},
		{"invalid-mdns-rename-window.yml", "invalid-mdns-rename-window.yml:2: mdns.rename_window: 10s: want 1m to 24h"},
		{"invalid-mdns-flush-interval.yml", "invalid-mdns-flush-interval.yml:2: mdns.flush_interval: 1ms: want 10ms to 10s"},
		{"invalid-mdns-rate.yml", "invalid-mdns-rate.yml:2: mdns.rate_packets: 0: want 1-1000000"},
		{"invalid-mdns-family.yml", "invalid-mdns-family.yml:2: mdns.family: unknown address family \"ipx\" (want both, ipv4 or ipv6)"},
		{"invalid-ns-addresses.yml", "invalid-ns-addresses.yml:4: dns.ns[0].addresses: ns.example.com. is not a name inside the zone services.internal.; only in-zone name servers get addresses"},
		{"invalid-notify.yml", "invalid-notify.yml:2: dns.notify[0]: \"ns2.example.com\": want an IP address with an optional :port"},
		{"invalid-publish-interface.yml", "invalid-publish-interface.yml:4: mdns.publish[0].interface: \"eth1\" is not one of mdns.interfaces"},
		{"invalid-publish-policy.yml", "invalid-publish-policy.yml:5: mdns.publish[0].policy: \"everything\": want valid, registered or all"},
		{"invalid-refresh-short.yml", "invalid-refresh-short.yml:2: registry.refresh_interval: 5s: want 0 (off) or at least 1m0s"},
		{"invalid-rule-severity.yml", "invalid-rule-severity.yml:4: mdns.rules.txt-unknown-key: \"fatal\": want info, warning, error or off"},
		{"invalid-soa-retry.yml", "invalid-soa-retry.yml:3: dns.soa_retry: 3600: less than dns.soa_refresh (3600), or secondaries retry slower than they refresh"},
		{"invalid-source-url.yml", "invalid-source-url.yml:2: registry.sources[0]: \"ftp://ftp.example.com/registry.xml\": a URL source must be http:// or https:// with a host"},
		{"invalid-syntax.yml", "invalid-syntax.yml:1: did not find expected ',' or ']'"},
		{"invalid-tcp-reserved.yml", "invalid-tcp-reserved.yml:3: dns.tcp_reserved_conns: 10: want 0 to dns.tcp_max_conns - 1 (9)"},
		{"invalid-ttl.yml", "invalid-ttl.yml:2: dns.ttl: \"one hour\" is not an integer"},
		{"invalid-two-documents.yml", "invalid-two-documents.yml:3: more than one YAML document"},
		{"invalid-udp-size.yml", "invalid-udp-size.yml:2: dns.udp_size: 100: want 512-4096 (RFC 6891 section 6.2.5)"},
		{"invalid-unknown-key.yml", "invalid-unknown-key.yml:3: dns.listne: unknown key (known: addresses, axfr_allow, axfr_keys, catalog, cookie_secret, cookie_secret_previous, enumerate, enumerate_max_records, id_server, ixfr_journal_max_bytes, listen, mbox, negative_ttl, notify, notify_key, notify_retries, notify_source, notify_timeout, ns, nsid, query_log, require_cookies, rrl_ipv4_prefix, rrl_ipv6_prefix, rrl_rate, rrl_slip, serial_file, serial_policy, soa_expire, soa_refresh, soa_retry, target, tcp_idle_timeout, tcp_max_conns, tcp_max_conns_per_source, tcp_read_timeout, tcp_reserved_conns, tsig_keys, ttl, udp_batch, udp_size, udp_workers, version_bind, zone)"},
		{"invalid-unknown-section.yml", "invalid-unknown-section.yml:1: logging: unknown key (known: dns, http, log, mdns, registry)"},
		{"invalid-zone.yml", "invalid-zone.yml:2: dns.zone: \"bad..zone\" is not a domain name"},
	}
	files, err := filepath.Glob("testdata/invalid-*.yml")
	require.NoError(t, err)
	require.Len(t, cases, len(files), "every invalid fixture needs a row here")
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			_, err := parseFile(t, tc.file)
			require.Error(t, err)
			assert.Equal(t, tc.err, err.Error())
			assert.True(t, errors.Is(err, ErrInvalid), "wraps ErrInvalid")
		})
	}
}

func TestValidFixture(t *testing.T) {
	l, err := parseFile(t, "valid.yml")
	require.NoError(t, err)
	c := l.Config
	assert.Equal(t, "services.example.", c.DNS.Zone, "zone made absolute and lower case")
	assert.Equal(t, []string{"127.0.0.1:5300", "[::1]:5300"}, c.DNS.Listen)
	assert.Equal(t, 7200, c.DNS.TTL)
	assert.Equal(t, 600, c.DNS.NegTTL)
	assert.Equal(t, "svcreg.example.", c.DNS.Target)
	assert.Equal(t, []NSEntry{{Name: "ns1.services.example."}, {Name: "ns2.services.example.",
		Addresses: []netip.Addr{netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("2001:db8::2")}}}, c.DNS.NS)
	rc := c.Resolver()
	assert.Equal(t, map[string][]netip.Addr{"ns2.services.example.": c.DNS.NS[1].Addresses}, rc.NSAddresses)
	assert.Equal(t, [3]uint32{7200, 1800, 604800}, [3]uint32{rc.SOARefresh, rc.SOARetry, rc.SOAExpire})
	assert.Equal(t, "127.0.0.1", rc.NotifySource)
	assert.Equal(t, []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128"),
		netip.MustParsePrefix("192.0.2.0/24")}, c.DNS.AXFRAllow)
	assert.Equal(t, []string{"192.0.2.53:53", "[2001:db8::53]:5353"}, c.DNS.Notify)
	assert.Equal(t, 1400, c.DNS.UDPSize)
	assert.True(t, c.DNS.QueryLog)
	assert.Equal(t, []netip.Addr{netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("2001:db8::10")}, c.DNS.Addresses)
	assert.Equal(t, 3, c.DNS.NotifyRetries)
	assert.Equal(t, 1500*time.Millisecond, c.DNS.NotifyTimeout)
	assert.Equal(t, 2, c.DNS.UDPWorkers)
	assert.Equal(t, 16, c.DNS.UDPBatch)
	assert.Equal(t, 64, c.DNS.TCPMaxConns)
	assert.Equal(t, 5*time.Second, c.DNS.TCPIdleTimeout)
	assert.Equal(t, time.Second, c.DNS.TCPReadTimeout)
	assert.Equal(t, 20, c.DNS.RRLRate)
	assert.Equal(t, 3, c.DNS.RRLSlip)
	assert.Equal(t, 28, c.DNS.RRLIPv4Prefix)
	assert.Equal(t, 64, c.DNS.RRLIPv6Prefix)
	assert.Equal(t, "/var/lib/svcreg/zone.serial", c.DNS.SerialFile)
	assert.Equal(t, 24*time.Hour, c.Registry.RefreshInterval)
	assert.Equal(t, int64(16<<20), c.Registry.MaxDownloadBytes)
	assert.Equal(t, []string{"eth0"}, c.MDNS.Interfaces)
	assert.Equal(t, 2*time.Minute, c.MDNS.BrowseInterval)
	assert.False(t, c.MDNS.Browse, "valid.yml turns off the default browsing")
	assert.True(t, Default().MDNS.Browse, "browsing is on by default when mDNS is on")
	assert.Equal(t, map[string]string{"txt-unknown-key": "info", "port-mismatch": "off"}, c.MDNS.Rules)
	assert.Equal(t, Log{Level: "debug", Format: "json"}, c.Log)
	assert.Equal(t, "valid.yml:23", l.Origin("dns.zone"))
	assert.Equal(t, "valid.yml:24", l.Origin("dns.listen[1]"))
	assert.Equal(t, "default", (&Loaded{origins: map[string]string{}}).Origin("dns.zone"))
}

func TestLocalSource(t *testing.T) {
	l, err := parseFile(t, "valid.yml")
	require.NoError(t, err)
	src := l.LocalSource()
	require.NotNil(t, src)
	assert.Equal(t, LocalSourceName, src.Name)
	require.Len(t, src.Records, 3, "acme-sync on tcp and udp, acme-ui on tcp")
	r := src.Records[0]
	assert.Equal(t, "acme-sync", r.Name)
	assert.Equal(t, registry.ProtoTCP, r.Protocol)
	assert.Equal(t, int32(7420), r.PortLow)
	assert.Equal(t, registry.TXTDefined, r.TXTKeys.Kind)
	assert.Equal(t, []registry.TXTKey{{Name: "txtvers", Hint: "1"}, {Name: "path"}, {Name: "u", Hint: "<username>"}}, r.TXTKeys.Keys)
	assert.Equal(t, 13, r.Line)
	assert.Equal(t, registry.ProtoUDP, src.Records[1].Protocol)
	ui := src.Records[2]
	assert.Equal(t, int32(-1), ui.PortLow, "no port given: DNS-SD type without a fixed port")
	assert.Equal(t, registry.TXTUnknown, ui.TXTKeys.Kind)

	// The registry accepts the source and answers for it.
	snap, err := registry.Build(src)
	require.NoError(t, err)
	assert.Len(t, snap.ByType("acme-sync", registry.ProtoUDP), 1)
	assert.Len(t, snap.ByPort(7420, registry.ProtoTCP), 1)

	assert.Nil(t, (&Config{}).LocalSource())
}

func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "svcreg.yml")
	require.NoError(t, os.WriteFile(path, []byte("dns:\n  zone: file.example.\n  ttl: 60\nlog:\n  level: warn\n  format: json\n"), 0o600))
	// Relative paths in the file are relative to the file.
	relPath := filepath.Join(dir, "rel.yml")
	require.NoError(t, os.WriteFile(relPath, []byte("registry:\n  sources: [iana.xml, /abs/x.xml, \"https://example.com/r.xml\"]\n  services_file: services\n  cache_dir: cache\ndns:\n  serial_file: state/zone.serial\n"), 0o600))
	l, err := Load(Options{Path: relPath})
	require.NoError(t, err)
	assert.Equal(t, []string{filepath.Join(dir, "iana.xml"), "/abs/x.xml", "https://example.com/r.xml"}, l.Registry.Sources)
	assert.Equal(t, filepath.Join(dir, "services"), l.Registry.ServicesFile)
	assert.Equal(t, filepath.Join(dir, "cache"), l.Registry.CacheDir)
	assert.Equal(t, filepath.Join(dir, "state", "zone.serial"), l.DNS.SerialFile)
	l, err = Load(Options{Path: relPath, Environ: []string{"SVCREG_DNS_SERIAL_FILE=none"}})
	require.NoError(t, err)
	assert.Equal(t, SerialFileNone, l.DNS.SerialFile, `"none" is not a path`)
	l, err = Load(Options{Path: relPath, Flags: []Setting{{Key: "registry.sources", Values: []string{"here.xml"}, Origin: "--registry"}}})
	require.NoError(t, err)
	assert.Equal(t, []string{"here.xml"}, l.Registry.Sources, "flag paths stay relative to the working directory")

	tests := []struct {
		name    string
		opts    Options
		zone    string
		ttl     int
		level   string
		listen  []string
		origins map[string]string
	}{
		{name: "defaults", opts: Options{}, zone: DefaultZone, ttl: int(resolver.DefaultConfig().TTL), level: "info", listen: []string{DefaultDNSListen},
			origins: map[string]string{"dns.zone": "default"}},
		{name: "file", opts: Options{Path: path}, zone: "file.example.", ttl: 60, level: "warn", listen: []string{DefaultDNSListen},
			origins: map[string]string{"dns.zone": path + ":2", "dns.ttl": path + ":3"}},
		{name: "file from SVCREG_CONFIG", opts: Options{Environ: []string{EnvConfig + "=" + path}}, zone: "file.example.", ttl: 60,
			level: "warn", listen: []string{DefaultDNSListen}},
		{name: "env over file", opts: Options{Path: path, Environ: []string{"SVCREG_DNS_ZONE=env.example", "SVCREG_DNS_LISTEN=127.0.0.1:1, 127.0.0.1:2", "OTHER=x"}},
			zone: "env.example.", ttl: 60, level: "warn", listen: []string{"127.0.0.1:1", "127.0.0.1:2"},
			origins: map[string]string{"dns.zone": "SVCREG_DNS_ZONE", "dns.listen[1]": "SVCREG_DNS_LISTEN"}},
		{name: "flags over env", opts: Options{Path: path, Environ: []string{"SVCREG_DNS_ZONE=env.example", "SVCREG_LOG_LEVEL=debug"},
			Flags: []Setting{{Key: "dns.zone", Values: []string{"flag.example"}, Origin: "--zone"},
				{Key: "dns.listen", Values: []string{"127.0.0.1:3"}, Origin: "--dns-listen"}}},
			zone: "flag.example.", ttl: 60, level: "debug", listen: []string{"127.0.0.1:3"},
			origins: map[string]string{"dns.zone": "--zone", "log.level": "SVCREG_LOG_LEVEL", "dns.listen[0]": "--dns-listen"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := Load(tc.opts)
			require.NoError(t, err)
			assert.Equal(t, tc.zone, l.DNS.Zone)
			assert.Equal(t, tc.ttl, l.DNS.TTL)
			assert.Equal(t, tc.level, l.Log.Level)
			assert.Equal(t, tc.listen, l.DNS.Listen)
			for k, want := range tc.origins {
				assert.Equal(t, want, l.Origin(k), k)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		err  string
	}{
		{"env bad value", Options{Environ: []string{"SVCREG_DNS_TTL=soon"}}, `SVCREG_DNS_TTL: dns.ttl: "soon" is not an integer`},
		{"env bad list element", Options{Environ: []string{"SVCREG_HTTP_LISTEN=127.0.0.1:8053,nope"}}, `SVCREG_HTTP_LISTEN: http.listen[1]: "nope": want host:port, e.g. 127.0.0.1:5300 or [::1]:5300`},
		{"env empties a list", Options{Environ: []string{"SVCREG_DNS_LISTEN="}}, `SVCREG_DNS_LISTEN: dns.listen: at least one address is needed`},
		{"flag bad value", Options{Flags: []Setting{{Key: "log.format", Values: []string{"yaml"}, Origin: "--log-format"}}}, `--log-format: log.format: "yaml": want text or json`},
		{"flag not a key", Options{Flags: []Setting{{Key: "registry.local", Values: []string{"x"}, Origin: "--local"}}}, `--local: registry.local: not a settable key`},
		{"env rrl prefix", Options{Environ: []string{"SVCREG_DNS_RRL_IPV6_PREFIX=129"}}, `SVCREG_DNS_RRL_IPV6_PREFIX: dns.rrl_ipv6_prefix: 129: want 1-128`},
		{"env negative rate", Options{Environ: []string{"SVCREG_DNS_RRL_RATE=-1"}}, `SVCREG_DNS_RRL_RATE: dns.rrl_rate: -1: want 0-1000000`},
		{"env bad address", Options{Environ: []string{"SVCREG_DNS_ADDRESSES=192.0.2.1,192.0.2"}}, `SVCREG_DNS_ADDRESSES: dns.addresses[1]: "192.0.2": IPv4 address too short`},
		{"flag read timeout", Options{Flags: []Setting{{Key: "dns.tcp_read_timeout", Values: []string{"2m"}, Origin: "--x"}}}, `--x: dns.tcp_read_timeout: 2m: want 100ms to 1m`},
		{"missing file", Options{Path: "/nonexistent/svcreg.yml"}, `reading config: open /nonexistent/svcreg.yml: no such file or directory`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(tc.opts)
			require.Error(t, err)
			assert.Equal(t, tc.err, err.Error())
		})
	}
}

// TestResolverKeys: the RRL, TCP and UDP keys come from the environment
// and flags like any other, and [] empties the address list.
func TestResolverKeys(t *testing.T) {
	l, err := Load(Options{Environ: []string{"SVCREG_DNS_RRL_RATE=50", "SVCREG_DNS_RRL_SLIP=1", "SVCREG_DNS_TCP_IDLE_TIMEOUT=3s",
		"SVCREG_DNS_ADDRESSES=192.0.2.1, 2001:db8::1", "SVCREG_DNS_UDP_WORKERS=0"},
		Flags: []Setting{{Key: "dns.rrl_rate", Values: []string{"70"}, Origin: "--rrl-rate"}}})
	require.NoError(t, err)
	assert.Equal(t, 70, l.DNS.RRLRate, "flag over env")
	assert.Equal(t, "--rrl-rate", l.Origin("dns.rrl_rate"))
	assert.Equal(t, 1, l.DNS.RRLSlip)
	assert.Equal(t, 3*time.Second, l.DNS.TCPIdleTimeout)
	assert.Equal(t, resolver.DefaultConfig().TCPReadTimeout, l.DNS.TCPReadTimeout)
	assert.Equal(t, []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")}, l.DNS.Addresses)
	assert.Equal(t, 0, l.DNS.UDPWorkers)

	def := Default().DNS
	assert.Zero(t, def.RRLRate, "rate limiting is off by default")
	assert.Equal(t, []netip.Addr{netip.MustParseAddr("127.0.0.1")}, def.Addresses)

	l, err = Parse(strings.NewReader("dns:\n  addresses: []\n"), "c.yml")
	require.NoError(t, err)
	assert.Empty(t, l.DNS.Addresses)

	// rrl_slip 0 is BIND's and Knot's "never slip".
	l, err = Parse(strings.NewReader("dns:\n  rrl_rate: 10\n  rrl_slip: 0\n"), "c.yml")
	require.NoError(t, err)
	assert.Zero(t, l.DNS.RRLSlip)
	assert.Equal(t, resolver.DefaultRRLSlip, Default().DNS.RRLSlip)
}

func TestUnknownEnv(t *testing.T) {
	got := UnknownEnv([]string{"SVCREG_DNS_ZONE=x", "SVCREG_DNS_ZONEE=x", "SVCREG_CONFIG=/x", "HOME=/root", "SVCREG_REGISTRY_LOCAL=x"})
	assert.Equal(t, []string{"SVCREG_DNS_ZONEE", "SVCREG_REGISTRY_LOCAL"}, got)
}

// TestWriteYAMLRoundTrip: what config check prints loads back to the same
// configuration.
func TestWriteYAMLRoundTrip(t *testing.T) {
	for _, name := range []string{"valid.yml", "empty.yml"} {
		t.Run(name, func(t *testing.T) {
			l, err := parseFile(t, name)
			require.NoError(t, err)
			var b strings.Builder
			require.NoError(t, l.WriteYAML(&b, true))
			l2, err := Parse(strings.NewReader(b.String()), "printed")
			require.NoError(t, err, b.String())
			for i := range l.Registry.Local {
				l.Registry.Local[i].line, l2.Registry.Local[i].line = 0, 0
			}
			assert.Equal(t, l.Config, l2.Config)
		})
	}
}

// TestWriteJSON: config check --json carries the same values as the YAML
// and an origin for every key.
func TestWriteJSON(t *testing.T) {
	l, err := parseFile(t, "valid.yml")
	require.NoError(t, err)
	var b strings.Builder
	require.NoError(t, l.WriteJSON(&b))
	var got struct {
		File   string `json:"file"`
		Config struct {
			DNS struct {
				TTL  int    `json:"ttl"`
				Zone string `json:"zone"`
			} `json:"dns"`
			Registry struct {
				Sources []string `json:"sources"`
			} `json:"registry"`
		} `json:"config"`
		Origins map[string]string `json:"origins"`
	}
	require.NoError(t, json.Unmarshal([]byte(b.String()), &got), b.String())
	assert.Equal(t, l.DNS.TTL, got.Config.DNS.TTL)
	assert.Equal(t, l.DNS.Zone, got.Config.DNS.Zone)
	assert.Equal(t, l.Registry.Sources, got.Config.Registry.Sources)
	assert.Len(t, got.Origins, len(Keys()))
	assert.Equal(t, l.Origin("dns.ttl"), got.Origins["dns.ttl"])
	assert.NotEqual(t, "default", got.Origins["dns.ttl"])
}

func TestKeysHaveEnvNames(t *testing.T) {
	keys := Keys()
	assert.Contains(t, keys, "registry.sources")
	assert.Contains(t, keys, "dns.zone")
	assert.Contains(t, keys, "mdns.rules")
	assert.Equal(t, "SVCREG_DNS_NEGATIVE_TTL", EnvName("dns.negative_ttl"))
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yml")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := Parse(strings.NewReader(string(b)), "fuzz.yml")
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error not wrapping ErrInvalid: %v", err)
			}
			return
		}
		// A valid config prints and parses back.
		var out strings.Builder
		if err := l.WriteYAML(&out, false); err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(strings.NewReader(out.String()), "printed.yml"); err != nil {
			t.Fatalf("printed config does not parse: %v\n%s", err, out.String())
		}
	})
}

// A TSIG secret_file is read relative to the config file, and its
// problems name the key.
func TestTSIGSecretFile(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "transfer.key"), []byte("c3ZjcmVnLXRlc3Qtc2VjcmV0LTMyLWJ5dGVzLWxvbmc=\n"), 0o600))
	cfg := filepath.Join(dir, "svcreg.yml")
	require.NoError(t, os.WriteFile(cfg, []byte("dns:\n  tsig_keys:\n    - {name: Transfer.Example, algorithm: HMAC-SHA256, secret_file: transfer.key}\n  axfr_keys: [transfer.example]\n"), 0o644))
	l, err := Load(Options{Path: cfg})
	require.NoError(t, err)
	rc := l.Resolver()
	require.Len(t, rc.TSIGKeys, 1)
	assert.Equal(t, "transfer.example.", rc.TSIGKeys[0].Name)
	assert.Equal(t, "hmac-sha256", rc.TSIGKeys[0].Algorithm)
	assert.Equal(t, "c3ZjcmVnLXRlc3Qtc2VjcmV0LTMyLWJ5dGVzLWxvbmc=", rc.TSIGKeys[0].Secret)

	for body, want := range map[string]string{
		"dns:\n  tsig_keys:\n    - {name: k.example, algorithm: hmac-sha256, secret_file: missing.key}\n":                          "dns.tsig_keys[0].secret_file: open " + filepath.Join(dir, "missing.key"),
		"dns:\n  tsig_keys:\n    - {name: k.example, algorithm: hmac-md5, secret: c3ZjcmVnLXRlc3Qtc2VjcmV0LTMyLWJ5dGVzLWxvbmc=}\n": "dns.tsig_keys[0].algorithm: \"hmac-md5\"",
		"dns:\n  tsig_keys:\n    - {name: k.example, algorithm: hmac-sha256, secret: c2hvcnQ=}\n":                                  "dns.tsig_keys[0].secret: not base64 of at least 16 bytes",
		"dns:\n  axfr_keys: [nope.example]\n": "dns.axfr_keys[0]: \"nope.example\" is not among dns.tsig_keys",
	} {
		require.NoError(t, os.WriteFile(cfg, []byte(body), 0o644))
		_, err := Load(Options{Path: cfg})
		require.Error(t, err, body)
		assert.Contains(t, err.Error(), want)
	}
}
