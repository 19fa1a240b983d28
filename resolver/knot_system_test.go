package resolver_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/internal/testutil"
	"github.com/svcreg/svcreg/registry"
	"github.com/svcreg/svcreg/resolver"
)

// knotAddedCSV is a registry addition that the second snapshot of the
// secondary test carries and the first does not.
const knotAddedCSV = "Service Name,Port Number,Transport Protocol,Description,Assignee,Contact,Registration Date,Modification Date,Reference,Service Code,Unauthorized Use Reported,Assignment Notes\n" +
	"svcreg-knot-added,39999,tcp,Added between two snapshots,[x],[x],2030-01-01,,,,,\n"

// TestSystemKnotSecondary runs knotd as a secondary of an in-process
// svcreg: Knot pulls the zone by AXFR and answers like svcreg for a
// sample of names; after SetSnapshot with a changed registry svcreg sends
// NOTIFY, Knot transfers the new serial and answers the new names too.
func TestSystemKnotSecondary(t *testing.T) {
	knotd := testutil.RequireTool(t, "knotd", "knot")
	all := make([]string, len(zoneSeeds))
	for i := range zoneSeeds {
		all[i] = seedPath(i)
	}
	snap1 := zoneSnapshot(t, all[:4]...)
	var srcs []*registry.Source
	for _, p := range all {
		src, err := registry.LoadFile(context.Background(), p, "")
		require.NoError(t, err)
		srcs = append(srcs, src)
	}
	added, err := registry.Parse(strings.NewReader(knotAddedCSV), "added.csv", registry.FormatCSV)
	require.NoError(t, err)
	snap2, err := registry.Build(append(srcs, added)...)
	require.NoError(t, err)

	knotPort := testutil.FreePort(t)
	knotAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(knotPort))
	cfg := resolver.Config{Notify: []string{knotAddr}}
	srv, svcAddr := sysStartServer(t, snap1, cfg)
	_, svcPort, err := net.SplitHostPort(svcAddr)
	require.NoError(t, err)

	z := resolver.DefaultZone
	conf := knotSecondaryConf(t, t.TempDir(), knotPort, svcPort, "", "", "")
	sysStartProcess(t, "knotd", knotd, "-c", conf)

	// Knot refreshes at start-up: AXFR of the first snapshot.
	want1, err := resolver.ZoneRRs(snap1, cfg)
	require.NoError(t, err)
	serial1 := srv.Serial()
	require.Equal(t, want1[0].(*dns.SOA).Serial, serial1, "Serial is the SOA serial of ZoneRRs")
	sysWaitSerial(t, knotAddr, serial1, 30*time.Second)
	sysCompareSample(t, knotAddr, svcAddr, sysSample(want1, 150, 1))

	// A changed registry: new serial, NOTIFY, and Knot transfers it. The
	// SOA refresh timer is far longer than the wait, so only NOTIFY can
	// bring the new serial in time.
	refresh := want1[0].(*dns.SOA).Refresh
	require.Greater(t, refresh, uint32(60), "the refresh timer would make this test pass without NOTIFY")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, srv.SetSnapshot(ctx, snap2))
	serial2 := srv.Serial()
	require.NotEqual(t, serial1, serial2, "a changed registry changes the serial")
	sysWaitSerial(t, knotAddr, serial2, 20*time.Second)

	want2, err := resolver.ZoneRRs(snap2, cfg)
	require.NoError(t, err)
	qs := sysSample(want2, 150, 2)
	newName := "_svcreg-knot-added._tcp." + z
	qs = append(qs, sysQuestion{newName, dns.TypeSRV}, sysQuestion{newName, dns.TypeTXT}, sysQuestion{"_39999._tcp." + z, dns.TypePTR})
	sysCompareSample(t, knotAddr, svcAddr, qs)
	r, err := sysExchange("tcp", knotAddr, newName, dns.TypeSRV)
	require.NoError(t, err)
	require.Len(t, r.Answer, 1, "Knot serves the added name after NOTIFY")
	assert.Equal(t, uint16(39999), r.Answer[0].(*dns.SRV).Port)
}

// TestSystemKnotRefreshUnderTCPFlood: one address holds every connection
// it can get, each with one byte of a query, and keeps renewing them,
// while a Knot secondary (from another address, listed in axfr_allow)
// follows a NOTIFY and dig-like TCP queries come from a third: every query
// is answered and the refresh succeeds.
func TestSystemKnotRefreshUnderTCPFlood(t *testing.T) {
	knotd := testutil.RequireTool(t, "knotd", "knot")
	snap1, snap2 := knotSeedSnapshots(t)

	knotPort := testutil.FreePort(t)
	knotAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(knotPort))
	cfg := resolver.Config{Notify: []string{knotAddr},
		AXFRAllow: []netip.Prefix{netip.MustParsePrefix("127.0.0.3/32")}}
	srv, svcAddr := sysStartServer(t, snap1, cfg)
	_, svcPort, err := net.SplitHostPort(svcAddr)
	require.NoError(t, err)

	// The flood: 300 half-open connections from 127.0.0.1, each renewed
	// when the server closes it, for as long as the test runs (bounded).
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	var attempts atomic.Int64
	for range 300 {
		wg.Go(func() {
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.1")}, Timeout: time.Second}
			for ctx.Err() == nil && attempts.Add(1) < 200000 {
				c, err := d.DialContext(ctx, "tcp", svcAddr)
				if err != nil {
					time.Sleep(50 * time.Millisecond)
					continue
				}
				_, _ = c.Write([]byte{0}) // one byte of a length prefix
				buf := make([]byte, 1)
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				_, _ = c.Read(buf) // until the server closes it
				c.Close()
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	defer func() {
		cancel()
		wg.Wait()
	}()
	time.Sleep(500 * time.Millisecond) // the flood is on

	z := resolver.DefaultZone
	conf := knotSecondaryConf(t, t.TempDir(), knotPort, svcPort, "127.0.0.3", "", "")
	sysStartProcess(t, "knotd", knotd, "-c", conf)
	sysWaitSerial(t, knotAddr, srv.Serial(), 30*time.Second)

	// A NOTIFY-driven refresh while the flood goes on.
	sctx, scancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer scancel()
	require.NoError(t, srv.SetSnapshot(sctx, snap2))
	sysWaitSerial(t, knotAddr, srv.Serial(), 20*time.Second)

	// Queries over TCP from a third address are all answered.
	client := dns.Client{Net: "tcp", Timeout: 2 * time.Second,
		Dialer: &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.4")}, Timeout: 2 * time.Second}}
	for i := range 20 {
		q := new(dns.Msg)
		q.SetQuestion("_http._tcp."+z, dns.TypeSRV)
		r, _, err := client.Exchange(q, svcAddr)
		require.NoError(t, err, "query %d over TCP during the flood", i)
		assert.Len(t, r.Answer, 1)
	}
	assert.Greater(t, attempts.Load(), int64(300), "the flood kept renewing its connections")
}

// TestSystemKnotSecondaryTSIG: Knot pulls the zone with a TSIG key that
// svcreg requires (AXFRKeys), and accepts NOTIFY only when signed with
// it: the first transfer and the NOTIFY-driven second both succeed.
func TestSystemKnotSecondaryTSIG(t *testing.T) {
	knotd := testutil.RequireTool(t, "knotd", "knot")
	snap1, snap2 := knotSeedSnapshots(t)
	const key, secret = "transfer.services.internal.", "c3ZjcmVnLXRlc3Qtc2VjcmV0LTMyLWJ5dGVzLWxvbmc="

	knotPort := testutil.FreePort(t)
	knotAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(knotPort))
	cfg := resolver.Config{Notify: []string{knotAddr},
		TSIGKeys: []resolver.TSIGKey{{Name: key, Algorithm: "hmac-sha256", Secret: secret}},
		AXFRKeys: []string{key}, NotifyKey: key}
	srv, svcAddr := sysStartServer(t, snap1, cfg)
	_, svcPort, err := net.SplitHostPort(svcAddr)
	require.NoError(t, err)

	z := resolver.DefaultZone
	keyConf := fmt.Sprintf("key:\n  - id: %s\n    algorithm: hmac-sha256\n    secret: %s\n", key, secret)
	conf := knotSecondaryConf(t, t.TempDir(), knotPort, svcPort, "", keyConf, key)
	sysStartProcess(t, "knotd", knotd, "-c", conf)
	sysWaitSerial(t, knotAddr, srv.Serial(), 30*time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, srv.SetSnapshot(ctx, snap2))
	sysWaitSerial(t, knotAddr, srv.Serial(), 20*time.Second)

	// Without the key, svcreg refuses the transfer.
	q := new(dns.Msg)
	q.SetAxfr(z)
	env, err := (&dns.Transfer{}).In(q, svcAddr)
	require.NoError(t, err)
	for e := range env {
		assert.Error(t, e.Error, "an unsigned transfer is refused")
	}
}

// knotSeedSnapshots are the two registries of the Knot secondary tests:
// the first four seeds, then all of them.
func knotSeedSnapshots(t *testing.T) (first, all *registry.Snapshot) {
	t.Helper()
	paths := make([]string, len(zoneSeeds))
	for i := range zoneSeeds {
		paths[i] = seedPath(i)
	}
	return zoneSnapshot(t, paths[:4]...), zoneSnapshot(t, paths...)
}

// knotSecondaryConf is a knotd configuration in dir that follows the
// zone from svcreg at svcPort, taking NOTIFY from 127.0.0.1. via is the
// address Knot transfers from ("": the kernel's choice); keyConf (a "key:"
// section) and key ("" for none) make transfers and NOTIFY use TSIG.
func knotSecondaryConf(t *testing.T, dir string, knotPort int, svcPort, via, keyConf, key string) string {
	t.Helper()
	var remoteExtra, aclExtra string
	if via != "" {
		remoteExtra += "\n    via: " + via
	}
	if key != "" {
		remoteExtra += "\n    key: " + key
		aclExtra = "\n    key: " + key
	}
	return sysKnotConf(t, dir, knotPort, fmt.Sprintf(`%sremote:
  - id: svcreg
    address: 127.0.0.1@%s%s
acl:
  - id: notify-from-svcreg
    address: 127.0.0.1%s
    action: notify
zone:
  - domain: %q
    file: %q
    master: svcreg
    acl: notify-from-svcreg
    zonefile-sync: -1
    zonefile-load: none
    journal-content: none
`, keyConf, svcPort, remoteExtra, aclExtra, resolver.DefaultZone, filepath.Join(dir, "secondary.zone")))
}
