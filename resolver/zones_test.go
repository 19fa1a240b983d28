package resolver_test

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/resolver"
)

// rcLANZone is the records of a small LAN zone under the registry zone.
func rcLANZone(t *testing.T, instances ...string) []dns.RR {
	t.Helper()
	var rrs []dns.RR
	for _, s := range append([]string{
		"printer.eth0.lan.services.internal. 10 IN A 192.0.2.7",
	}, instances...) {
		rr, err := dns.NewRR(s)
		require.NoError(t, err, s)
		rrs = append(rrs, rr)
	}
	return rrs
}

const rcLAN = "eth0.lan.services.internal."

// TestSetZoneServes: a zone of SetZone below the registry zone answers
// the names under it (longest apex wins), with its own SOA in negative
// answers, its own transfer allow-list and serial; the registry zone
// answers the rest; removing it gives its names back.
func TestSetZoneServes(t *testing.T) {
	s, addr := rcStart(t, resolver.Config{}, rcMini(t), nil)
	ptr := "_ipp._tcp." + rcLAN + " 10 IN PTR Office\\032Printer._ipp._tcp." + rcLAN
	srv := "Office\\032Printer._ipp._tcp." + rcLAN + " 10 IN SRV 0 0 631 printer." + rcLAN
	require.NoError(t, s.SetZone(context.Background(), resolver.ZoneConfig{Zone: "ETH0.lan.services.internal", TTL: 10,
		AXFRAllow: []netip.Prefix{}}, rcLANZone(t, ptr, srv)))
	assert.Equal(t, []string{"services.internal.", rcLAN}, s.Zones())
	serial, ok := s.ZoneSerial(rcLAN)
	require.True(t, ok)
	assert.InDelta(t, float64(time.Now().Unix()), float64(serial), 5, "a SetZone zone's serial is the time of the change")

	ask := func(name string, qtype uint16) *dns.Msg {
		t.Helper()
		r, _, err := (&dns.Client{Timeout: 2 * time.Second}).Exchange(rcMsg(name, qtype, 0), addr)
		require.NoError(t, err)
		return r
	}
	r := ask("_ipp._tcp."+rcLAN, dns.TypePTR)
	require.Equal(t, dns.RcodeSuccess, r.Rcode)
	require.True(t, r.Authoritative)
	require.Len(t, r.Answer, 1)
	assert.Equal(t, "Office\\ Printer._ipp._tcp."+rcLAN, r.Answer[0].(*dns.PTR).Ptr, "the instance name with its space")
	r = ask("Office\\032Printer._ipp._tcp."+rcLAN, dns.TypeSRV)
	require.Len(t, r.Answer, 1)
	assert.Equal(t, uint16(631), r.Answer[0].(*dns.SRV).Port)
	require.Len(t, r.Extra, 1, "the in-zone target's address rides along")

	r = ask(rcLAN, dns.TypeSOA)
	require.Len(t, r.Answer, 1)
	assert.Equal(t, serial, r.Answer[0].(*dns.SOA).Serial)
	assert.Equal(t, "hostmaster."+rcLAN, r.Answer[0].(*dns.SOA).Mbox)
	r = ask("nothing."+rcLAN, dns.TypeA)
	assert.Equal(t, dns.RcodeNameError, r.Rcode)
	require.Len(t, r.Ns, 1)
	assert.Equal(t, rcLAN, r.Ns[0].Header().Name, "the negative answer carries the LAN zone's SOA")
	// The registry zone still answers its own names.
	r = ask("_http._tcp.services.internal.", dns.TypeSRV)
	require.Len(t, r.Answer, 1)
	// Its allow-list is the zone's: none may transfer it, while the
	// registry zone transfers to loopback.
	axfr := new(dns.Msg)
	axfr.SetAxfr(rcLAN)
	env, err := (&dns.Transfer{}).In(axfr, addr)
	if err == nil {
		for e := range env {
			if e.Error != nil {
				err = e.Error
			}
		}
	}
	assert.Error(t, err, "AXFR of the LAN zone is refused")
	rrs := rcTransfer(t, addr, dns.TypeAXFR, 0)
	assert.Equal(t, "services.internal.", rrs[0].Header().Name)

	// The same records again: nothing changes.
	require.NoError(t, s.SetZone(context.Background(), resolver.ZoneConfig{Zone: rcLAN, TTL: 10, AXFRAllow: []netip.Prefix{}}, rcLANZone(t, srv, ptr)))
	again, _ := s.ZoneSerial(rcLAN)
	assert.Equal(t, serial, again)

	require.True(t, s.RemoveZone(rcLAN))
	assert.False(t, s.RemoveZone(rcLAN))
	r = ask("_ipp._tcp."+rcLAN, dns.TypePTR)
	assert.Equal(t, dns.RcodeNameError, r.Rcode, "back to the registry zone, which has no such name")
	assert.Equal(t, "services.internal.", r.Ns[0].Header().Name)
}

// TestSetZoneIXFR: each change of a SetZone zone gets a higher serial
// (even within one second), NOTIFY to its own targets (the latest serial
// always arrives), and an IXFR from the previous serial that carries
// only the change.
func TestSetZoneIXFR(t *testing.T) {
	sec := &rcSecondary{}
	target := rcRunSecondary(t, sec)
	reg := prometheus.NewRegistry()
	s, addr := rcStart(t, resolver.Config{}, rcMini(t), reg)
	zc := resolver.ZoneConfig{Zone: rcLAN, Notify: []string{target}}
	ptr := func(name string) string {
		return "_ipp._tcp." + rcLAN + " 10 IN PTR " + name + "._ipp._tcp." + rcLAN
	}
	require.NoError(t, s.SetZone(context.Background(), zc, rcLANZone(t, ptr("a"))))
	first := rcAXFRStateOf(t, addr, rcLAN)
	require.NoError(t, s.SetZone(context.Background(), zc, rcLANZone(t, ptr("a"), ptr("b"))))
	second, _ := s.ZoneSerial(rcLAN)
	assert.Greater(t, second, first.soa.Serial)
	// The secondary hears of the latest serial. A change that follows
	// at once supersedes the NOTIFY of the one before (cancelled if it
	// has not left or been answered), so the first serial may or may not
	// arrive, and nothing else does.
	require.Eventually(t, func() bool { return slices.Contains(sec.got(), second) }, 30*time.Second, 10*time.Millisecond,
		"no NOTIFY of serial %d", second)
	for _, got := range sec.got() {
		assert.Contains(t, []uint32{first.soa.Serial, second}, got)
	}

	rrs := rcTransferZone(t, addr, rcLAN, dns.TypeIXFR, first.soa.Serial)
	require.Len(t, rrs, 5, "SOA, old SOA, new SOA, the added PTR, SOA")
	assert.Equal(t, "b._ipp._tcp."+rcLAN, rrs[3].(*dns.PTR).Ptr)
}

// TestSetZoneBadRecords: a record outside the zone, of another class, or
// one svcreg makes itself is an error naming it, and the zone keeps what
// it served; the registry zone cannot be replaced.
func TestSetZoneBadRecords(t *testing.T) {
	s, _ := rcStart(t, resolver.Config{}, rcMini(t), nil)
	zc := resolver.ZoneConfig{Zone: rcLAN}
	require.NoError(t, s.SetZone(context.Background(), zc, rcLANZone(t)))
	serial, _ := s.ZoneSerial(rcLAN)
	for _, bad := range []string{
		"printer.eth1.lan.services.internal. 10 IN A 192.0.2.8",
		"printer.eth0.lan.services.internal. 10 CH A 192.0.2.8",
		rcLAN + " 10 IN NS ns9.example.",
		rcLAN + " 10 IN SOA a. b. 1 2 3 4 5",
	} {
		err := s.SetZone(context.Background(), zc, rcLANZone(t, bad))
		require.ErrorIs(t, err, resolver.ErrZoneRecord, bad)
		assert.Contains(t, err.Error(), "record 2", bad)
	}
	again, _ := s.ZoneSerial(rcLAN)
	assert.Equal(t, serial, again)
	require.ErrorIs(t, s.SetZone(context.Background(), resolver.ZoneConfig{Zone: "services.internal"}, nil), resolver.ErrConfig)
	require.ErrorIs(t, s.SetZone(context.Background(), resolver.ZoneConfig{Zone: "a..b"}, nil), resolver.ErrConfig)
}

// TestBrowseDomains: the registry zone points DNS-SD clients at the
// browse domains (RFC 6763 section 11), b, db and lb alike.
func TestBrowseDomains(t *testing.T) {
	_, addr := rcStart(t, resolver.Config{BrowseDomains: []string{"Eth0.lan.services.internal", "eth1.lan.services.internal."}}, rcMini(t), nil)
	for _, label := range []string{"b", "db", "lb"} {
		r, _, err := (&dns.Client{Timeout: 2 * time.Second}).Exchange(rcMsg(label+"._dns-sd._udp.services.internal.", dns.TypePTR, 0), addr)
		require.NoError(t, err)
		var got []string
		for _, rr := range r.Answer {
			got = append(got, rr.(*dns.PTR).Ptr)
		}
		assert.ElementsMatch(t, []string{"eth0.lan.services.internal.", "eth1.lan.services.internal."}, got, label)
	}
	_, err := resolver.New(resolver.Config{BrowseDomains: []string{"a..b"}}, nil, prometheus.NewRegistry())
	require.ErrorIs(t, err, resolver.ErrConfig)
}

// TestCatalogZone: with Config.Catalog the server serves an RFC 9432
// catalog (version 2) listing the registry zone and every SetZone zone,
// each under a label that depends on its name only; adding and removing
// a zone changes it, and it cannot be set or removed by hand.
func TestCatalogZone(t *testing.T) {
	const cat = "catalog.svcreg."
	s, addr := rcStart(t, resolver.Config{Catalog: "Catalog.Svcreg"}, rcMini(t), nil)
	members := func() map[string]string {
		t.Helper()
		m := map[string]string{}
		for _, rr := range rcTransferZone(t, addr, cat, dns.TypeAXFR, 0) {
			switch r := rr.(type) {
			case *dns.PTR:
				m[r.Ptr] = strings.TrimSuffix(r.Hdr.Name, ".zones."+cat)
			case *dns.TXT:
				assert.Equal(t, "version."+cat, r.Hdr.Name)
				assert.Equal(t, []string{"2"}, r.Txt)
			case *dns.NS:
				assert.Equal(t, "invalid.", r.Ns)
			}
		}
		return m
	}
	first := members()
	require.Len(t, first, 1)
	require.Contains(t, first, "services.internal.")
	serial1, ok := s.ZoneSerial(cat)
	require.True(t, ok)

	require.NoError(t, s.SetZone(context.Background(), resolver.ZoneConfig{Zone: rcLAN}, rcLANZone(t)))
	second := members()
	require.Len(t, second, 2)
	assert.Equal(t, first["services.internal."], second["services.internal."], "a member keeps its label")
	assert.Len(t, second[rcLAN], 16)
	serial2, _ := s.ZoneSerial(cat)
	assert.Greater(t, serial2, serial1)
	// A change of a member's records is not a change of the catalog.
	require.NoError(t, s.SetZone(context.Background(), resolver.ZoneConfig{Zone: rcLAN}, rcLANZone(t,
		"x."+rcLAN+" 10 IN TXT \"changed\"")))
	serial3, _ := s.ZoneSerial(cat)
	assert.Equal(t, serial2, serial3)

	require.True(t, s.RemoveZone(rcLAN))
	assert.Equal(t, first, members())
	require.ErrorIs(t, s.SetZone(context.Background(), resolver.ZoneConfig{Zone: cat}, nil), resolver.ErrConfig)
	assert.False(t, s.RemoveZone(cat))
	assert.Contains(t, s.Zones(), cat)
}

// TestSetZoneOnMiss: the hook hears every PTR query of the zone that
// found nothing (NXDOMAIN or NODATA), and nothing else.
func TestSetZoneOnMiss(t *testing.T) {
	s, addr := rcStart(t, resolver.Config{}, rcMini(t), nil)
	missed := make(chan string, 16)
	ptr := "_ipp._tcp." + rcLAN + " 10 IN PTR a._ipp._tcp." + rcLAN
	require.NoError(t, s.SetZone(context.Background(), resolver.ZoneConfig{Zone: rcLAN,
		OnMiss: func(name []byte) { missed <- string(name) }}, rcLANZone(t, ptr)))
	ask := func(name string, qtype uint16) {
		t.Helper()
		_, _, err := (&dns.Client{Timeout: 2 * time.Second}).Exchange(rcMsg(name, qtype, 0), addr)
		require.NoError(t, err)
	}
	ask("_ipp._tcp."+rcLAN, dns.TypePTR)              // an answer
	ask("_scanner._tcp."+rcLAN, dns.TypeSRV)          // not PTR
	ask("_http._tcp.services.internal.", dns.TypePTR) // the registry zone
	ask("_scanner._tcp."+rcLAN, dns.TypePTR)          // NXDOMAIN
	ask("printer."+rcLAN, dns.TypePTR)                // NODATA
	wire := func(name string) string {
		b := make([]byte, 256)
		n, err := dns.PackDomainName(name, b, 0, nil, false)
		require.NoError(t, err)
		return string(b[:n])
	}
	assert.Equal(t, wire("_scanner._tcp."+rcLAN), <-missed)
	assert.Equal(t, wire("printer."+rcLAN), <-missed)
	assert.Empty(t, missed)
}
