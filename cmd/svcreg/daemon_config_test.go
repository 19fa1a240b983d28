package main

import (
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/config"
	"github.com/svcreg/svcreg/resolver"
)

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
		{"none", "svc.test.", "/srv/cache", config.SerialFileNone, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.DNS.Zone, cfg.Registry.CacheDir, cfg.DNS.SerialFile = tc.zone, tc.cacheDir, tc.serialFile
			assert.Equal(t, filepath.FromSlash(tc.want), serialFilePath(&cfg))
		})
	}
}

// TestResolverConfigFollowsZone: NS and SOA mailbox left unset follow the
// zone served, not the default zone.
func TestResolverConfigFollowsZone(t *testing.T) {
	c := config.Default().DNS
	c.Zone = "svc.example."
	rc := resolverConfig(c)
	rc.Listen = []string{"127.0.0.1:0"}
	srv, err := resolver.New(rc, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	require.NoError(t, err)
	got := srv.Config()
	assert.Equal(t, []string{"ns1.svc.example."}, got.NS)
	assert.Equal(t, "hostmaster.svc.example.", got.Mbox)
	assert.Equal(t, "svc.example.", got.Target)
	assert.Equal(t, config.DefaultRRLSlip, got.RRLSlip)

	// rrl_slip 0 (never slip) reaches the resolver as 0.
	c.RRLSlip = 0
	rc = resolverConfig(c)
	rc.Listen = []string{"127.0.0.1:0"}
	srv, err = resolver.New(rc, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	require.NoError(t, err)
	assert.Zero(t, srv.Config().RRLSlip)
}
