package config

import (
	"log/slog"
	"net/netip"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/mdns"
	"github.com/svcreg/svcreg/proxy"
	"github.com/svcreg/svcreg/resolver"
)

func TestResolverConfig(t *testing.T) {
	c := Default()
	rc := c.Resolver()
	assert.Equal(t, DefaultZone, rc.Zone)
	assert.Equal(t, []string{DefaultDNSListen}, rc.Listen)
	assert.Equal(t, c.DNS.AXFRAllow, rc.AXFRAllow)
	assert.Equal(t, resolver.DefaultConfig().UDPSize, rc.UDPSize)
	// The config's defaults for the tuning keys are the resolver's.
	def := resolver.DefaultConfig()
	assert.Equal(t, def.Addresses, rc.Addresses)
	assert.Equal(t, def.NotifyRetries, rc.NotifyRetries)
	assert.Equal(t, def.NotifyTimeout, rc.NotifyTimeout)
	assert.Equal(t, def.UDPWorkers, rc.UDPWorkers)
	assert.Equal(t, def.UDPBatch, rc.UDPBatch)
	assert.Equal(t, def.TCPMaxConns, rc.TCPMaxConns)
	assert.Equal(t, def.TCPIdleTimeout, rc.TCPIdleTimeout)
	assert.Equal(t, def.TCPReadTimeout, rc.TCPReadTimeout)
	assert.Equal(t, def.RRLRate, rc.RRLRate)
	assert.Equal(t, def.RRLSlip, rc.RRLSlip)
	assert.Equal(t, def.RRLIPv4Prefix, rc.RRLIPv4Prefix)
	assert.Equal(t, def.RRLIPv6Prefix, rc.RRLIPv6Prefix)

	c.DNS.AXFRAllow = nil // the config said []
	c.DNS.NS = []NSEntry{{Name: "ns.example."}}
	c.DNS.Mbox = "root.example."
	c.DNS.Notify = []string{"192.0.2.1:53"}
	rc = c.Resolver()
	assert.NotNil(t, rc.AXFRAllow, "an empty allow-list stays empty, not the resolver's loopback default")
	assert.Empty(t, rc.AXFRAllow)
	assert.Equal(t, []string{"ns.example."}, rc.NS)
	assert.Equal(t, "root.example.", rc.Mbox)
	assert.Equal(t, []string{"192.0.2.1:53"}, rc.Notify)

	// Every tuning key reaches the resolver (valid.yml sets each one to a
	// value other than its default).
	l, err := Load(Options{Path: filepath.Join("testdata", "valid.yml")})
	require.NoError(t, err)
	rc = l.Resolver()
	assert.Equal(t, []netip.Addr{netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("2001:db8::10")}, rc.Addresses)
	assert.Equal(t, 3, rc.NotifyRetries)
	assert.Equal(t, 1500*time.Millisecond, rc.NotifyTimeout)
	assert.Equal(t, 2, rc.UDPWorkers)
	assert.Equal(t, 16, rc.UDPBatch)
	assert.Equal(t, 64, rc.TCPMaxConns)
	assert.Equal(t, 5*time.Second, rc.TCPIdleTimeout)
	assert.Equal(t, time.Second, rc.TCPReadTimeout)
	assert.Equal(t, 20, rc.RRLRate)
	assert.Equal(t, 3, rc.RRLSlip)
	assert.Equal(t, 28, rc.RRLIPv4Prefix)
	assert.Equal(t, 64, rc.RRLIPv6Prefix)
	// The resolver accepts the mapped config as it is.
	rc.Listen = []string{"127.0.0.1:0"}
	srv, err := resolver.New(rc, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	require.NoError(t, err)
	got := srv.Config()
	assert.Equal(t, rc.RRLSlip, got.RRLSlip)
	assert.Equal(t, rc.Addresses, got.Addresses)

	// [] in the config: no addresses, not the resolver's 127.0.0.1.
	c.DNS.Addresses = nil
	rc = c.Resolver()
	assert.NotNil(t, rc.Addresses)
	assert.Empty(t, rc.Addresses)
}

// TestResolverConfigFollowsZone: NS and SOA mailbox left unset follow the
// zone served, not the default zone.
func TestResolverConfigFollowsZone(t *testing.T) {
	c := Default()
	c.DNS.Zone = "svc.example."
	rc := c.Resolver()
	rc.Listen = []string{"127.0.0.1:0"}
	srv, err := resolver.New(rc, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	require.NoError(t, err)
	got := srv.Config()
	assert.Equal(t, []string{"ns1.svc.example."}, got.NS)
	assert.Equal(t, "hostmaster.svc.example.", got.Mbox)
	assert.Equal(t, "svc.example.", got.Target)
	assert.Equal(t, resolver.DefaultRRLSlip, got.RRLSlip)

	// rrl_slip 0 (never slip) reaches the resolver as 0.
	c.DNS.RRLSlip = 0
	rc = c.Resolver()
	rc.Listen = []string{"127.0.0.1:0"}
	srv, err = resolver.New(rc, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	require.NoError(t, err)
	assert.Zero(t, srv.Config().RRLSlip)
}

func TestSerialFilePath(t *testing.T) {
	t.Setenv("CACHE_DIRECTORY", "/run/cache/svcreg")
	for _, tc := range []struct {
		name, zone, cacheDir, serialFile, want string
	}{
		{"default in cache_dir", "svc.test.", "/srv/cache", "", "/srv/cache/zone-svc.test.serial"},
		{"default cache dir", "services.internal.", "", "", "/run/cache/svcreg/zone-services.internal.serial"},
		{"odd bytes in the zone", `a\/b\032c.example.`, "/c", "", "/c/zone-a__b_032c.example.serial"},
		{"root zone", ".", "/c", "", "/c/zone-root.serial"},
		{"explicit", "svc.test.", "/srv/cache", "/var/lib/svcreg/serial.json", "/var/lib/svcreg/serial.json"},
		{"none", "svc.test.", "/srv/cache", SerialFileNone, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Default()
			cfg.DNS.Zone, cfg.Registry.CacheDir, cfg.DNS.SerialFile = tc.zone, tc.cacheDir, tc.serialFile
			assert.Equal(t, filepath.FromSlash(tc.want), cfg.SerialFilePath())
			assert.Equal(t, cfg.SerialFilePath(), cfg.Resolver().SerialFile)
		})
	}
}

func TestMDNSPolicy(t *testing.T) {
	rules := mdns.Rules()
	require.NotEmpty(t, rules)
	id := rules[0].ID
	l, err := Parse(strings.NewReader("mdns:\n  rules:\n    "+id+": error\n"), "c.yml")
	require.NoError(t, err)
	p, err := l.MDNSPolicy()
	require.NoError(t, err)
	assert.Equal(t, map[string]mdns.Severity{id: mdns.SeverityError}, p.Severity)

	l, err = Parse(strings.NewReader("mdns:\n  interfaces: [eth0]\n  rules:\n    "+id+": off\n"), "c.yml")
	require.NoError(t, err)
	mc, err := l.Monitor()
	require.NoError(t, err)
	assert.Equal(t, map[string]bool{id: true}, mc.Policy.Disabled)
	assert.Equal(t, []string{"eth0"}, mc.Interfaces)

	// Unknown rule IDs fail the load, every one of them, each with its
	// line, and can be told apart from other problems.
	_, err = Parse(strings.NewReader("mdns:\n  rules:\n    no-such-rule: warning\n    "+id+": loud\n    other-rule: off\n"), "c.yml")
	require.ErrorIs(t, err, mdns.ErrUnknownRule)
	require.ErrorIs(t, err, ErrInvalid)
	assert.Contains(t, err.Error(), "c.yml:3: mdns.rules.no-such-rule: unknown rule")
	assert.Contains(t, err.Error(), "c.yml:5: mdns.rules.other-rule: unknown rule")
	assert.Contains(t, err.Error(), "c.yml:4: mdns.rules."+id+`: "loud"`)
}

// TestEveryResolverSettingHasAKey: valid.yml sets every dns key to a
// value other than its default, so every field of resolver.Config that
// the config can set must differ from the resolver's default after
// Resolver(). A field added to resolver.Config without a config key (or
// a key that no longer reaches the resolver) fails here.
func TestEveryResolverSettingHasAKey(t *testing.T) {
	l, err := Load(Options{Path: filepath.Join("testdata", "valid.yml")})
	require.NoError(t, err)
	got := reflect.ValueOf(l.Resolver())
	def := reflect.ValueOf(resolver.DefaultConfig())
	for i := range got.NumField() {
		name := got.Type().Field(i).Name
		assert.False(t, reflect.DeepEqual(got.Field(i).Interface(), def.Field(i).Interface()),
			"resolver.Config.%s: valid.yml does not change it, so no config key reaches it (or valid.yml lacks the key)", name)
	}
	// And the defaults agree: with nothing set, the resolver runs on its
	// own defaults except where the config fills in from the zone.
	d := Default()
	rc := d.Resolver()
	for i := range reflect.ValueOf(rc).NumField() {
		name := reflect.TypeOf(rc).Field(i).Name
		switch name {
		case "Target", "NS", "Mbox", "SerialFile", "JournalFile":
			continue // derived from the zone served; the serial and journal files from the cache directory
		}
		assert.Equal(t, def.Field(i).Interface(), reflect.ValueOf(rc).Field(i).Interface(), "default of resolver.Config.%s", name)
	}
}

// TestPublishLinks: mdns.publish as the proxy's links, domains made
// absolute and lower case (or defaulted under dns.zone), NOTIFY targets
// given their port.
func TestPublishLinks(t *testing.T) {
	l, err := parseFile(t, "valid.yml")
	require.NoError(t, err)
	links, notify := l.PublishLinks()
	require.Len(t, links, 1)
	assert.Equal(t, proxy.Link{Interface: "eth0", Zone: "office.lan.services.example.", Policy: proxy.PolicyRegistered, MaxTTL: 30, Reverse: true}, links[0])
	assert.Equal(t, [][]string{{"192.0.2.53:53"}}, notify)

	l, err = Parse(strings.NewReader("mdns:\n  interfaces: [lab0]\n  publish:\n    - interface: lab0\n"), "t.yml")
	require.NoError(t, err)
	links, _ = l.PublishLinks()
	require.Len(t, links, 1)
	assert.Equal(t, proxy.Link{Interface: "lab0", Zone: "lab0.lan.services.internal.", Policy: proxy.PolicyValid, MaxTTL: 10}, links[0])
}
