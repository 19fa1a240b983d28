package resolver_test

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/internal/testutil"
	"github.com/svcreg/svcreg/resolver"
)

// TestSystemKnotCatalog: Knot configured for svcreg's catalog zone alone
// (catalog-role: interpret) serves the registry zone and a LAN zone of
// SetZone by itself; an instance arriving in the LAN zone reaches Knot by
// an IXFR of under 2 KB; a second LAN zone, added at run time, is picked
// up through the catalog without touching Knot's configuration.
func TestSystemKnotCatalog(t *testing.T) {
	knotd := testutil.RequireTool(t, "knotd", "knot")
	knotPort := testutil.FreePort(t)
	knotAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(knotPort))
	const cat, lan, lan2 = "catalog.svcreg.", "lab0.lan.services.internal.", "lab1.lan.services.internal."
	srv, svcAddr := sysStartServer(t, rcMini(t), resolver.Config{Catalog: cat, Notify: []string{knotAddr}})
	_, svcPort, err := net.SplitHostPort(svcAddr)
	require.NoError(t, err)
	instance := func(zone, name string) []dns.RR {
		var rrs []dns.RR
		for _, s := range []string{
			"_ipp._tcp." + zone + " 10 IN PTR " + name + "._ipp._tcp." + zone,
			name + "._ipp._tcp." + zone + " 10 IN SRV 0 0 631 " + name + "." + zone,
			name + "._ipp._tcp." + zone + ` 10 IN TXT "txtvers=1" "rp=ipp/print"`,
			name + "." + zone + " 10 IN A 198.18.0.7",
		} {
			rr, err := dns.NewRR(s)
			require.NoError(t, err)
			rrs = append(rrs, rr)
		}
		return rrs
	}
	zc := resolver.ZoneConfig{Zone: lan, Notify: []string{knotAddr}}
	require.NoError(t, srv.SetZone(context.Background(), zc, instance(lan, "printer")))

	dir := t.TempDir()
	knotLog := sysStartProcess(t, "knotd", knotd, "-c", sysKnotConf(t, dir, knotPort, fmt.Sprintf(`remote:
  - id: svcreg
    address: 127.0.0.1@%s
acl:
  - id: notify-from-svcreg
    address: 127.0.0.1
    action: notify
template:
  - id: default
  - id: member
    master: svcreg
    acl: notify-from-svcreg
    zonefile-sync: -1
    zonefile-load: none
    journal-content: none
zone:
  - domain: %s
    master: svcreg
    acl: notify-from-svcreg
    catalog-role: interpret
    catalog-template: member
    zonefile-sync: -1
    zonefile-load: none
    journal-content: none
`, svcPort, cat)))

	serialOf := func(zone string) (uint32, bool) {
		s, ok := srv.ZoneSerial(zone)
		if zone == resolver.DefaultZone {
			s, ok = srv.Serial(), true
		}
		return s, ok
	}
	waitKnot := func(zone string) {
		t.Helper()
		want, ok := serialOf(zone)
		require.True(t, ok, zone)
		deadline := time.Now().Add(30 * time.Second)
		for {
			r, err := sysExchange("udp", knotAddr, zone, dns.TypeSOA)
			if err == nil && r.Rcode == dns.RcodeSuccess && len(r.Answer) == 1 && r.Answer[0].(*dns.SOA).Serial == want {
				return
			}
			require.True(t, time.Now().Before(deadline), "Knot never served %s at serial %d (last: %v %v)", zone, want, r, err)
			time.Sleep(200 * time.Millisecond)
		}
	}
	waitKnot(resolver.DefaultZone)
	waitKnot(lan)
	r, err := sysExchange("udp", knotAddr, "printer._ipp._tcp."+lan, dns.TypeSRV)
	require.NoError(t, err)
	require.Len(t, r.Answer, 1)

	// One instance arrives: an IXFR carrying only it.
	require.NoError(t, srv.UpdateZone(context.Background(), lan, map[string][]dns.RR{
		"_ipp._tcp." + lan:         append(instance(lan, "printer")[:1], instance(lan, "scanner")[0]),
		"scanner._ipp._tcp." + lan: instance(lan, "scanner")[1:3],
		"scanner." + lan:           instance(lan, "scanner")[3:],
	}))
	waitKnot(lan)
	r, err = sysExchange("udp", knotAddr, "scanner._ipp._tcp."+lan, dns.TypeTXT)
	require.NoError(t, err)
	require.Len(t, r.Answer, 1)
	ixfr := regexp.MustCompile(`\[` + regexp.QuoteMeta(lan) + `\] IXFR, incoming, remote [^,]+, finished, [0-9.]+ seconds, \d+ messages, (\d+) bytes`)
	var m []string
	require.Eventually(t, func() bool { m = ixfr.FindStringSubmatch(knotLog.String()); return m != nil },
		10*time.Second, 100*time.Millisecond, "Knot logs an incoming IXFR of the LAN zone")
	bytes, _ := strconv.Atoi(m[1])
	assert.Less(t, bytes, 2048, "one instance arriving is a transfer of under 2 KB")

	// A new zone at run time: the catalog lists it and Knot follows.
	require.NoError(t, srv.SetZone(context.Background(), resolver.ZoneConfig{Zone: lan2, Notify: []string{knotAddr}}, instance(lan2, "screen")))
	waitKnot(lan2)
	assert.True(t, strings.Contains(knotLog.String(), lan2), "Knot's log names the zone it added")
}
