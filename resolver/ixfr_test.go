package resolver_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/resolver"
)

// rcZoneState is a zone as a secondary holds it: its SOA and its other
// records, by their text.
type rcZoneState struct {
	soa *dns.SOA
	rrs map[string]bool
}

// rcTransfer runs an AXFR (serial ignored) or an IXFR from serial of
// the registry zone and returns every record of the response in order.
func rcTransfer(t *testing.T, addr string, qtype uint16, serial uint32) []dns.RR {
	t.Helper()
	return rcTransferZone(t, addr, rcZ, qtype, serial)
}

// rcTransferZone is rcTransfer for any zone.
func rcTransferZone(t *testing.T, addr, zone string, qtype uint16, serial uint32) []dns.RR {
	t.Helper()
	m := new(dns.Msg)
	if qtype == dns.TypeIXFR {
		m.SetIxfr(zone, serial, "ns1."+zone, "hostmaster."+zone)
	} else {
		m.SetAxfr(zone)
	}
	env, err := (&dns.Transfer{}).In(m, addr)
	require.NoError(t, err)
	var rrs []dns.RR
	for e := range env {
		require.NoError(t, e.Error)
		rrs = append(rrs, e.RR...)
	}
	return rrs
}

// rcAXFRState is the registry zone as an AXFR gives it.
func rcAXFRState(t *testing.T, addr string) rcZoneState {
	t.Helper()
	return rcAXFRStateOf(t, addr, rcZ)
}

// rcAXFRStateOf is the zone an AXFR of zone gives.
func rcAXFRStateOf(t *testing.T, addr, zone string) rcZoneState {
	t.Helper()
	rrs := rcTransferZone(t, addr, zone, dns.TypeAXFR, 0)
	require.GreaterOrEqual(t, len(rrs), 2)
	st := rcZoneState{soa: rrs[0].(*dns.SOA), rrs: map[string]bool{}}
	for _, rr := range rrs[1 : len(rrs)-1] {
		st.rrs[rr.String()] = true
	}
	return st
}

// rcApplyIXFR applies an IXFR response to from as RFC 1995 section 4
// reads it: an incremental one (our SOA, then sequences of an old SOA,
// the records deleted, a new SOA, the records added, each sequence
// starting from the serial the last ended at) or, when the second record
// is not a SOA, the whole zone; our SOA alone means from is current. It
// reports whether the response was a difference (not the SOA alone, not
// the whole zone).
func rcApplyIXFR(t *testing.T, from rcZoneState, rrs []dns.RR) (rcZoneState, bool) {
	t.Helper()
	require.NotEmpty(t, rrs)
	last, ok := rrs[0].(*dns.SOA)
	require.True(t, ok, "an IXFR response starts with the SOA")
	if len(rrs) == 1 {
		// Our SOA alone: the client is up to date.
		require.Equal(t, from.soa.Serial, last.Serial)
		return from, false
	}
	if _, ok := rrs[1].(*dns.SOA); !ok {
		st := rcZoneState{soa: last, rrs: map[string]bool{}}
		for _, rr := range rrs[1 : len(rrs)-1] {
			st.rrs[rr.String()] = true
		}
		return st, false
	}
	end, ok := rrs[len(rrs)-1].(*dns.SOA)
	require.True(t, ok && end.Serial == last.Serial, "an IXFR response ends with the SOA")
	st := rcZoneState{soa: from.soa, rrs: maps.Clone(from.rrs)}
	adding := true
	for _, rr := range rrs[1 : len(rrs)-1] {
		if soa, ok := rr.(*dns.SOA); ok {
			if adding {
				require.Equal(t, st.soa.Serial, soa.Serial, "a sequence starts at the serial held")
			} else {
				st.soa = soa
			}
			adding = !adding
			continue
		}
		k := rr.String()
		if adding {
			require.False(t, st.rrs[k], "added but already there: %s", k)
			st.rrs[k] = true
		} else {
			require.True(t, st.rrs[k], "deleted but not there: %s", k)
			delete(st.rrs, k)
		}
	}
	require.True(t, adding, "the response ends after an added set")
	require.Equal(t, last.Serial, st.soa.Serial)
	return st, true
}

// rcRandomServices is a services file of a random subset of a pool of
// 24 types, some with a second protocol.
func rcRandomServices(r *rand.Rand) string {
	var b strings.Builder
	for i := range 24 {
		if r.IntN(3) > 0 {
			fmt.Fprintf(&b, "svc%d %d/tcp\n", i, 4000+i)
			if r.IntN(4) == 0 {
				fmt.Fprintf(&b, "svc%d %d/udp\n", i, 4000+i)
			}
		}
	}
	return b.String()
}

// TestIXFRProperty: after every change of a random sequence, an IXFR
// from each serial served before, applied to the zone as it was at that
// serial, gives exactly the zone an AXFR gives now; a serial the server
// never served gets the whole zone.
func TestIXFRProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	reg := prometheus.NewRegistry()
	s, addr := rcStart(t, resolver.Config{Zone: rcZ}, rcServicesSnap(t, rcRandomServices(r), ""), reg)
	history := map[uint32]rcZoneState{}
	var serials []uint32
	record := func() {
		st := rcAXFRState(t, addr)
		if _, ok := history[st.soa.Serial]; !ok {
			serials = append(serials, st.soa.Serial)
		}
		history[st.soa.Serial] = st
	}
	record()
	incremental := 0
	for step := range 25 {
		text := rcRandomServices(r)
		if step%7 == 3 {
			text = "only 9/tcp\n" // now and then a change that removes nearly everything
		}
		require.NoError(t, s.SetSnapshot(context.Background(), rcServicesSnap(t, text, "")))
		cur := rcAXFRState(t, addr)
		for _, from := range serials {
			got, inc := rcApplyIXFR(t, history[from], rcTransfer(t, addr, dns.TypeIXFR, from))
			require.Equal(t, cur.soa.String(), got.soa.String(), "step %d, from %d", step, from)
			require.Equal(t, slices.Sorted(maps.Keys(cur.rrs)), slices.Sorted(maps.Keys(got.rrs)), "step %d, from %d", step, from)
			if inc {
				incremental++
			}
		}
		record()
	}
	assert.Positive(t, incremental, "some IXFRs were differences")
	v, _ := rcMetric(t, reg, "svcreg_dns_transfers_total", map[string]string{"kind": "ixfr"})
	assert.Equal(t, float64(incremental), v)

	// A serial older than any served: the whole zone, counted as such.
	rrs := rcTransfer(t, addr, dns.TypeIXFR, serials[0]-1)
	_, inc := rcApplyIXFR(t, rcZoneState{}, rrs)
	assert.False(t, inc)
	v, _ = rcMetric(t, reg, "svcreg_dns_transfers_total", map[string]string{"kind": "ixfr_full"})
	assert.GreaterOrEqual(t, v, 1.0)
}

// TestIXFRCondensed: several changes skipped arrive as one difference,
// without the records that came and went in between.
func TestIXFRCondensed(t *testing.T) {
	s, addr := rcStart(t, resolver.Config{Zone: rcZ}, rcServicesSnap(t, rcSvcA, ""), nil)
	first := rcAXFRState(t, addr)
	for _, text := range []string{rcSvcB, rcSvcC, rcSvcA + "delta 4444/tcp\n"} {
		require.NoError(t, s.SetSnapshot(context.Background(), rcServicesSnap(t, text, "")))
	}
	rrs := rcTransfer(t, addr, dns.TypeIXFR, first.soa.Serial)
	var soas int
	for _, rr := range rrs {
		if _, ok := rr.(*dns.SOA); ok {
			soas++
		}
		assert.NotContains(t, rr.String(), "bravo", "bravo came and went: not in the difference")
		assert.NotContains(t, rr.String(), "charlie")
	}
	assert.Equal(t, 4, soas, "one sequence: new, old, new, new")
	got, inc := rcApplyIXFR(t, first, rrs)
	require.True(t, inc)
	assert.Equal(t, rcAXFRState(t, addr).rrs, got.rrs)
}

// TestIXFRJournalBound: a journal smaller than one change keeps
// nothing, so every IXFR gets the whole zone; a negative bound keeps no
// journal at all.
func TestIXFRJournalBound(t *testing.T) {
	for _, max := range []int{64, -1} {
		t.Run(fmt.Sprint(max), func(t *testing.T) {
			reg := prometheus.NewRegistry()
			s, addr := rcStart(t, resolver.Config{Zone: rcZ, JournalMaxBytes: max}, rcServicesSnap(t, rcSvcA, ""), reg)
			first := rcAXFRState(t, addr)
			require.NoError(t, s.SetSnapshot(context.Background(), rcServicesSnap(t, rcSvcB, "")))
			_, inc := rcApplyIXFR(t, first, rcTransfer(t, addr, dns.TypeIXFR, first.soa.Serial))
			assert.False(t, inc)
			v, _ := rcMetric(t, reg, "svcreg_dns_ixfr_journal_changes", nil)
			assert.Zero(t, v)
		})
	}
}

// TestIXFRAcrossRestarts: with a journal file, a second process answers
// IXFR from the first one's serials, on the same data and on data that
// changed while it was stopped.
func TestIXFRAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	cfg := resolver.Config{Zone: rcZ, SerialFile: filepath.Join(dir, "zone.serial"), JournalFile: filepath.Join(dir, "zone.journal")}
	run := func(texts ...string) (*resolver.Server, string) {
		s, addr := rcStart(t, cfg, rcServicesSnap(t, texts[0], ""), nil)
		for _, text := range texts[1:] {
			require.NoError(t, s.SetSnapshot(context.Background(), rcServicesSnap(t, text, "")))
		}
		return s, addr
	}
	s1, addr1 := run(rcSvcA)
	zoneA := rcAXFRState(t, addr1)
	require.NoError(t, s1.SetSnapshot(context.Background(), rcServicesSnap(t, rcSvcB, "")))
	zoneB := rcAXFRState(t, addr1)
	require.NoError(t, s1.Shutdown(context.Background()))

	for _, tc := range []struct {
		name string
		text string
	}{{"same data", rcSvcB}, {"data changed while stopped", rcSvcC}} {
		t.Run(tc.name, func(t *testing.T) {
			_, addr := run(tc.text)
			cur := rcAXFRState(t, addr)
			for _, from := range []rcZoneState{zoneA, zoneB} {
				if from.soa.Serial == cur.soa.Serial {
					continue
				}
				got, inc := rcApplyIXFR(t, from, rcTransfer(t, addr, dns.TypeIXFR, from.soa.Serial))
				assert.True(t, inc, "from %d: a difference, not the whole zone", from.soa.Serial)
				assert.Equal(t, cur.rrs, got.rrs)
				assert.Equal(t, cur.soa.Serial, got.soa.Serial)
			}
		})
	}
}
