package resolver_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/internal/testutil"
	"github.com/svcreg/svcreg/resolver"
)

// TestSystemNSDSecondary runs NSD as a secondary of an in-process svcreg:
// it pulls the zone by AXFR, answers like svcreg for a sample of names,
// and follows a changed registry after svcreg's NOTIFY; without TSIG, and
// with a key svcreg requires for transfers and NSD for NOTIFY.
func TestSystemNSDSecondary(t *testing.T) {
	nsd := testutil.RequireTool(t, "nsd", "nsd")
	t.Run("no key", func(t *testing.T) { nsdSecondary(t, nsd, false) })
	t.Run("TSIG", func(t *testing.T) { nsdSecondary(t, nsd, true) })
}

func nsdSecondary(t *testing.T, nsd string, tsig bool) {
	snap1 := zoneSnapshot(t, seedPath(0), seedPath(1), seedPath(2))
	snap2 := zoneSnapshot(t, seedPath(0), seedPath(1), seedPath(2), seedPath(3), seedPath(4))

	nsdPort := testutil.FreePort(t)
	nsdAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(nsdPort))
	cfg := resolver.Config{Notify: []string{nsdAddr}}
	const key, secret = "transfer.services.internal.", "c3ZjcmVnLXRlc3Qtc2VjcmV0LTMyLWJ5dGVzLWxvbmc="
	keyConf, keyRef := "", "NOKEY"
	if tsig {
		cfg.TSIGKeys = []resolver.TSIGKey{{Name: key, Algorithm: "hmac-sha256", Secret: secret}}
		cfg.AXFRKeys, cfg.NotifyKey = []string{key}, key
		keyConf = fmt.Sprintf("key:\n    name: %q\n    algorithm: hmac-sha256\n    secret: %q\n", key, secret)
		keyRef = key
	}
	srv, svcAddr := sysStartServer(t, snap1, cfg)
	_, svcPort, err := net.SplitHostPort(svcAddr)
	require.NoError(t, err)

	dir := t.TempDir()
	conf := nsdSecondaryConf(t, dir, nsdPort, "AXFR 127.0.0.1@"+svcPort+" "+keyRef, keyConf, keyRef)
	sysStartProcess(t, "nsd", nsd, "-d", "-c", conf)
	t.Cleanup(func() {
		if t.Failed() {
			if b, err := os.ReadFile(filepath.Join(dir, "nsd.log")); err == nil {
				t.Logf("nsd.log:\n%s", b)
			}
		}
	})

	want1, err := resolver.ZoneRRs(snap1, cfg)
	require.NoError(t, err)
	sysWaitSerial(t, nsdAddr, srv.Serial(), 30*time.Second)
	sysCompareSample(t, nsdAddr, svcAddr, sysSample(want1, 100, 1))

	require.Greater(t, want1[0].(*dns.SOA).Refresh, uint32(60), "the refresh timer would make this test pass without NOTIFY")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	serial1 := srv.Serial()
	require.NoError(t, srv.SetSnapshot(ctx, snap2))
	require.NotEqual(t, serial1, srv.Serial())
	sysWaitSerial(t, nsdAddr, srv.Serial(), 20*time.Second)
	want2, err := resolver.ZoneRRs(snap2, cfg)
	require.NoError(t, err)
	sysCompareSample(t, nsdAddr, svcAddr, sysSample(want2, 100, 2))
}

// nsdSecondaryConf writes an nsd.conf in dir for a secondary of the
// registry zone on nsdPort: requestXFR is its request-xfr line (which
// primary, AXFR or IXFR, which key), keyConf a "key:" section or "", and
// NOTIFY is taken from 127.0.0.1 with keyRef (NOKEY for none).
func nsdSecondaryConf(t *testing.T, dir string, nsdPort int, requestXFR, keyConf, keyRef string) string {
	t.Helper()
	conf := filepath.Join(dir, "nsd.conf")
	require.NoError(t, os.WriteFile(conf, []byte(fmt.Sprintf(`server:
    ip-address: 127.0.0.1
    port: %d
    do-ip6: no
    username: ""
    chroot: ""
    zonesdir: %q
    pidfile: %q
    xfrdfile: %q
    zonelistfile: %q
    database: ""
    logfile: %q
    server-count: 1
    minimal-responses: yes
    verbosity: 2
remote-control:
    control-enable: no
%szone:
    name: %q
    zonefile: "secondary.zone"
    request-xfr: %s
    allow-notify: 127.0.0.1 %s
`, nsdPort, dir, filepath.Join(dir, "nsd.pid"), filepath.Join(dir, "xfrd.state"), filepath.Join(dir, "zone.list"),
		filepath.Join(dir, "nsd.log"), keyConf, resolver.DefaultZone, requestXFR, keyRef)), 0o644))
	return conf
}
