package resolver

import (
	"context"
	"net/netip"
	"testing"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/registry"
)

// TestQueryPathAllocatesNothing: answering a query from the pre-packed
// tables allocates nothing, whatever the answer (a stored answer, a
// synthesised port, NXDOMAIN, NODATA, REFUSED, a SetZone zone's miss
// that calls its OnMiss hook). An allocation per query is garbage the
// collector then spends CPU on at 100,000 queries a second.
func TestQueryPathAllocatesNothing(t *testing.T) {
	src, err := registry.LoadFile(context.Background(), "testdata/mini.csv", "")
	require.NoError(t, err)
	snap, err := registry.Build(src)
	require.NoError(t, err)
	s, err := New(Config{}, nil, prometheus.NewRegistry())
	require.NoError(t, err)
	require.NoError(t, s.SetSnapshot(context.Background(), snap))
	const lan = "lab0.lan.services.internal."
	misses := 0
	rr, err := dns.NewRR("printer." + lan + " 10 IN A 198.18.0.7")
	require.NoError(t, err)
	require.NoError(t, s.SetZone(context.Background(), ZoneConfig{Zone: lan, TTL: 10, NegTTL: 10,
		OnMiss: func([]byte) { misses++ }}, []dns.RR{rr}))
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	out := make([]byte, 0, 4096)
	src4 := netip.MustParseAddr("127.0.0.1")
	for _, q := range []struct {
		name  string
		qtype uint16
	}{
		{"_http._tcp.services.internal.", dns.TypeTXT},
		{"_443._tcp.services.internal.", dns.TypeTXT},
		{"_50123._udp.services.internal.", dns.TypeTXT},
		{"_no-such-thing._tcp.services.internal.", dns.TypeTXT},
		{"_tcp.services.internal.", dns.TypeA},
		{"www.example.com.", dns.TypeA},
		{"printer." + lan, dns.TypeA},
	} {
		m := new(dns.Msg)
		m.SetQuestion(q.name, q.qtype)
		m.SetEdns0(1232, false)
		b, err := m.Pack()
		require.NoError(t, err)
		allocs := testing.AllocsPerRun(200, func() {
			resp, _ := s.respond(s.tab.Load(), b, out[:0], false, src4)
			if len(resp) < hdrLen {
				t.Fatal("no answer")
			}
		})
		require.Zero(t, allocs, "%s %s", q.name, dns.TypeToString[q.qtype])
	}
	// A miss in the LAN zone calls the hook; copying the name for it is
	// the one allocation allowed, and only then.
	m := new(dns.Msg)
	m.SetQuestion("_ipp._tcp."+lan, dns.TypePTR)
	b, err := m.Pack()
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(200, func() { s.respond(s.tab.Load(), b, out[:0], false, src4) })
	require.LessOrEqual(t, allocs, 1.0)
	require.Positive(t, misses)
}
