package resolver

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

const inplaceZone = "lan.example."

// inplaceNames are the owners the random changes draw from: instances
// sharing one PTR owner, hosts their SRV records point at, and names
// three labels deep, whose empty non-terminals come and go.
func inplaceNames() []string {
	var out []string
	for i := range 6 {
		out = append(out, fmt.Sprintf("i%d._ipp._tcp.%s", i, inplaceZone), fmt.Sprintf("h%d.%s", i, inplaceZone))
	}
	return append(out, "_ipp._tcp."+inplaceZone, "a.b.c."+inplaceZone, "b.c."+inplaceZone, "x.y."+inplaceZone, inplaceZone)
}

// inplaceRecords is a random set of records for owner (none at times).
func inplaceRecords(t *testing.T, r *rand.Rand, owner string) []dns.RR {
	t.Helper()
	if r.IntN(4) == 0 {
		return nil
	}
	var texts []string
	switch {
	case owner == "_ipp._tcp."+inplaceZone:
		for i := range 6 {
			if r.IntN(2) == 0 {
				texts = append(texts, fmt.Sprintf("%s 10 IN PTR i%d._ipp._tcp.%s", owner, i, inplaceZone))
			}
		}
	case owner[0] == 'i':
		texts = append(texts, fmt.Sprintf("%s 10 IN SRV 0 0 %d h%d.%s", owner, 600+r.IntN(3), r.IntN(6), inplaceZone),
			fmt.Sprintf("%s 10 IN TXT \"rp=%d\"", owner, r.IntN(3)))
	case owner[0] == 'h':
		texts = append(texts, fmt.Sprintf("%s 10 IN A 192.0.2.%d", owner, r.IntN(4)))
		if r.IntN(2) == 0 {
			texts = append(texts, fmt.Sprintf("%s 10 IN AAAA 2001:db8::%d", owner, r.IntN(4)))
		}
	default:
		texts = append(texts, fmt.Sprintf("%s 10 IN TXT \"v=%d\"", owner, r.IntN(3)))
	}
	var rrs []dns.RR
	for _, s := range texts {
		rr, err := dns.NewRR(s)
		require.NoError(t, err, s)
		rrs = append(rrs, rr)
	}
	return rrs
}

// inplaceAnswer is the answer of t to (name, qtype) with every SOA serial
// zeroed, as text: two zones built differently compare equal when they
// hold the same records.
func inplaceAnswer(t *testing.T, s *Server, tab *table, name string, qtype uint16) string {
	t.Helper()
	q := new(dns.Msg)
	q.SetQuestion(name, qtype)
	q.Id = 1
	b, err := q.Pack()
	require.NoError(t, err)
	resp, _ := s.respond(tab, b, nil, true, netip.MustParseAddr("127.0.0.1"))
	m := new(dns.Msg)
	require.NoError(t, m.Unpack(resp), "%s %s", name, dns.TypeToString[qtype])
	for _, sec := range [][]dns.RR{m.Answer, m.Ns} {
		for _, rr := range sec {
			if soa, ok := rr.(*dns.SOA); ok {
				soa.Serial = 0
			}
		}
	}
	slices.SortFunc(m.Extra, func(a, b dns.RR) int { return compareStrings(a.String(), b.String()) })
	return m.String()
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestZoneInPlaceProperty: after every random change set applied in place
// (UpdateZone, and SetZone's own difference), the zone answers every name
// and type exactly as the same records built whole answer, its AXFR holds
// the same records, and its IXFR journal leads from every earlier serial
// to it.
func TestZoneInPlaceProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 23))
	live, err := New(Config{}, nil, prometheus.NewRegistry())
	require.NoError(t, err)
	zc := ZoneConfig{Zone: inplaceZone}
	names := inplaceNames()
	state := map[string][]dns.RR{}
	all := func() []dns.RR {
		var out []dns.RR
		for _, n := range names {
			out = append(out, state[n]...)
		}
		return out
	}
	require.NoError(t, live.SetZone(context.Background(), zc, all()))
	history := map[uint32]map[string]bool{live.dyn.zones[inplaceZone].tab.serial: zoneRecordSet(live.dyn.zones[inplaceZone])}
	qtypes := []uint16{dns.TypePTR, dns.TypeSRV, dns.TypeTXT, dns.TypeA, dns.TypeAAAA, dns.TypeANY, dns.TypeNS}
	for step := range 60 {
		changes := map[string][]dns.RR{}
		for range 1 + r.IntN(4) {
			n := names[r.IntN(len(names))]
			if n == inplaceZone {
				continue
			}
			changes[n] = inplaceRecords(t, r, n)
			state[n] = changes[n]
		}
		if step%5 == 4 {
			require.NoError(t, live.SetZone(context.Background(), zc, all()), "step %d", step)
		} else {
			require.NoError(t, live.UpdateZone(context.Background(), inplaceZone, changes), "step %d", step)
		}
		whole, err := New(Config{}, nil, prometheus.NewRegistry())
		require.NoError(t, err)
		require.NoError(t, whole.SetZone(context.Background(), zc, all()))
		lt, wt := live.dyn.zones[inplaceZone].tab, whole.dyn.zones[inplaceZone].tab
		for _, n := range append(names, "c."+inplaceZone, "y."+inplaceZone, "nothing."+inplaceZone, "_tcp."+inplaceZone) {
			for _, qt := range qtypes {
				require.Equal(t, inplaceAnswer(t, whole, wt, n, qt), inplaceAnswer(t, live, lt, n, qt),
					"step %d: %s %s", step, n, dns.TypeToString[qt])
			}
		}
		require.Equal(t, wt.index.len(), lt.index.len(), "step %d: names, empty non-terminals included", step)
		require.Equal(t, wt.records, lt.records, "step %d", step)
		lm, _, err := live.dynAXFR(lt)
		require.NoError(t, err)
		wm, _, err := whole.dynAXFR(wt)
		require.NoError(t, err)
		require.Equal(t, axfrTexts(t, wm), axfrTexts(t, lm), "step %d: AXFR", step)
		// The journal: from every serial served before, the condensed
		// difference turns the records of then into those of now.
		cur := zoneRecordSet(live.dyn.zones[inplaceZone])
		for from, then := range history {
			if from == lt.serial {
				require.Equal(t, then, cur, "step %d: no change, no new serial", step)
				continue
			}
			_, removed, added, ok := lt.journal.since(from)
			require.True(t, ok, "step %d: the journal reaches back to %d", step, from)
			got := maps.Clone(then)
			for _, w := range removed {
				require.True(t, got[w], "step %d, from %d: removing a record not there", step, from)
				delete(got, w)
			}
			for _, w := range added {
				require.False(t, got[w], "step %d, from %d: adding a record already there", step, from)
				got[w] = true
			}
			require.Equal(t, cur, got, "step %d, from %d", step, from)
		}
		history[lt.serial] = cur
	}
}

// zoneRecordSet is the set of a SetZone zone's records, as wire forms.
func zoneRecordSet(dz *dynZone) map[string]bool {
	out := map[string]bool{}
	for _, ws := range dz.wire {
		for _, w := range ws {
			out[w] = true
		}
	}
	return out
}

// axfrTexts are the records of AXFR messages, SOA serials zeroed, sorted.
func axfrTexts(t *testing.T, msgs [][]byte) []string {
	t.Helper()
	var out []string
	for _, b := range msgs {
		m := new(dns.Msg)
		require.NoError(t, m.Unpack(b))
		for _, rr := range m.Answer {
			if soa, ok := rr.(*dns.SOA); ok {
				soa.Serial = 0
			}
			out = append(out, rr.String())
		}
	}
	slices.Sort(out)
	return out
}

// BenchmarkUpdateZoneOneOwner is one owner's records changed in a zone of
// n owners (each instance's SRV and TXT, each host's A), applied in place:
// the cost follows the change (a few owners packed, a few index nodes
// copied), not the zone.
func BenchmarkUpdateZoneOneOwner(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			s, err := New(Config{}, nil, prometheus.NewRegistry())
			require.NoError(b, err)
			rr := func(text string) dns.RR {
				r, err := dns.NewRR(text)
				require.NoError(b, err)
				return r
			}
			rrs := make([]dns.RR, 0, n)
			for i := range n / 2 {
				rrs = append(rrs,
					rr(fmt.Sprintf("i%d._ipp._tcp.%s 10 IN SRV 0 0 631 h%d.%s", i, inplaceZone, i, inplaceZone)),
					rr(fmt.Sprintf("h%d.%s 10 IN A 192.0.2.%d", i, inplaceZone, i%250+1)))
			}
			require.NoError(b, s.SetZone(context.Background(), ZoneConfig{Zone: inplaceZone}, rrs))
			owner := "i7._ipp._tcp." + inplaceZone
			versions := [2][]dns.RR{
				{rr(owner + " 10 IN SRV 0 0 631 h7." + inplaceZone), rr(owner + ` 10 IN TXT "rp=a"`)},
				{rr(owner + " 10 IN SRV 0 0 631 h7." + inplaceZone), rr(owner + ` 10 IN TXT "rp=b"`)},
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := s.UpdateZone(context.Background(), inplaceZone, map[string][]dns.RR{owner: versions[i%2]}); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
