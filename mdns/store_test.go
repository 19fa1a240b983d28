package mdns

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)

// part builds what one packet says about "Good Printer" _ipp._tcp.local.
func part(instance string, ttls map[uint16]uint32, mod func(*Advertisement)) *Advertisement {
	a := &Advertisement{Instance: instance, Service: "_ipp", Proto: "_tcp", Domain: "local"}
	for k, v := range ttls {
		a.TTL.Set(k, v)
	}
	if _, ok := ttls[dns.TypeSRV]; ok {
		a.Host, a.Port = "printer.local.", 631
	}
	if _, ok := ttls[dns.TypeTXT]; ok {
		a.TXT, a.HasTXT = []string{"txtvers=1", "rp=ipp/print"}, true
	}
	if mod != nil {
		mod(a)
	}
	return a
}

func TestStoreMerge(t *testing.T) {
	ptr := map[uint16]uint32{dns.TypePTR: 4500}
	srvtxt := map[uint16]uint32{dns.TypeSRV: 120, dns.TypeTXT: 4500}
	type step struct {
		at  time.Duration
		ad  *Advertisement
		chg bool
	}
	tests := []struct {
		name  string
		steps []step
		flush time.Duration // when to look
		want  []string      // instances left
		check func(t *testing.T, ads []Advertisement)
	}{
		{
			name: "partial records from two packets merge",
			steps: []step{
				{0, part("Good Printer", ptr, nil), true},
				{time.Second, part("Good Printer", srvtxt, nil), true},
			},
			flush: 2 * time.Second,
			want:  []string{"Good Printer"},
			check: func(t *testing.T, ads []Advertisement) {
				a := ads[0]
				assert.Equal(t, t0, a.FirstSeen)
				assert.Equal(t, t0.Add(time.Second), a.LastSeen)
				assert.Equal(t, "printer.local.", a.Host)
				assert.Equal(t, uint16(631), a.Port)
				assert.Equal(t, []string{"txtvers=1", "rp=ipp/print"}, a.TXT)
				assert.Equal(t, map[uint16]uint32{dns.TypePTR: 4500, dns.TypeSRV: 120, dns.TypeTXT: 4500}, a.TTL.Map())
				assert.Equal(t, t0.Add(time.Second+4500*time.Second), a.Expires)
			},
		},
		{
			name: "names compare case-insensitively",
			steps: []step{
				{0, part("Good Printer", ptr, nil), true},
				{0, part("GOOD PRINTER", srvtxt, func(a *Advertisement) { a.Service, a.Domain = "_IPP", "LOCAL" }), true},
			},
			want: []string{"Good Printer"},
		},
		{
			name: "PTR goodbye removes",
			steps: []step{
				{0, part("Good Printer", ptr, nil), true},
				{0, part("Good Printer", srvtxt, nil), true},
				{time.Second, part("Good Printer", map[uint16]uint32{dns.TypePTR: 0}, nil), true},
			},
			want: []string{},
		},
		{
			name: "SRV goodbye removes",
			steps: []step{
				{0, part("Good Printer", ptr, nil), true},
				{time.Second, part("Good Printer", map[uint16]uint32{dns.TypeSRV: 0}, nil), true},
			},
			want: []string{},
		},
		{
			name: "goodbye for an unknown instance changes nothing",
			steps: []step{
				{0, part("Other", map[uint16]uint32{dns.TypePTR: 0}, nil), false},
			},
			want: []string{},
		},
		{
			name: "TXT goodbye drops only the TXT",
			steps: []step{
				{0, part("Good Printer", ptr, nil), true},
				{0, part("Good Printer", srvtxt, nil), true},
				{time.Second, part("Good Printer", map[uint16]uint32{dns.TypeTXT: 0}, nil), true},
			},
			want: []string{"Good Printer"},
			check: func(t *testing.T, ads []Advertisement) {
				assert.False(t, ads[0].HasTXT)
				assert.Nil(t, ads[0].TXT)
				assert.False(t, ads[0].TTL.Has(dns.TypeTXT))
				assert.Equal(t, "printer.local.", ads[0].Host)
			},
		},
		{
			name: "SRV expires before the PTR; the instance stays",
			steps: []step{
				{0, part("Good Printer", ptr, nil), true},
				{0, part("Good Printer", srvtxt, nil), true},
			},
			flush: 121 * time.Second,
			want:  []string{"Good Printer"},
			check: func(t *testing.T, ads []Advertisement) {
				assert.Equal(t, map[uint16]uint32{dns.TypePTR: 4500, dns.TypeTXT: 4500}, ads[0].TTL.Map())
			},
		},
		{
			name: "everything expired",
			steps: []step{
				{0, part("Good Printer", ptr, nil), true},
				{0, part("Good Printer", srvtxt, nil), true},
			},
			flush: 4500 * time.Second,
			want:  []string{},
		},
		{
			name: "TXT first, SRV later: the entry waits for it",
			steps: []step{
				{0, part("Good Printer", map[uint16]uint32{dns.TypeTXT: 4500}, nil), true},
				{time.Second, part("Good Printer", map[uint16]uint32{dns.TypeSRV: 120}, nil), true},
			},
			flush: 2 * time.Second,
			want:  []string{"Good Printer"},
			check: func(t *testing.T, ads []Advertisement) {
				assert.True(t, ads[0].HasTXT)
				assert.Equal(t, uint16(631), ads[0].Port)
			},
		},
		{
			name: "a packet without live records starts no entry",
			steps: []step{
				{0, part("Ghost", map[uint16]uint32{dns.TypeA: 120}, nil), false},
				{0, part("Ghost", map[uint16]uint32{}, func(a *Advertisement) { a.Subtypes = []string{"_x"} }), false},
			},
			want: []string{},
		},
		{
			name: "subtypes accumulate",
			steps: []step{
				{0, part("Good Printer", ptr, func(a *Advertisement) { a.Subtypes = []string{"_printer"} }), true},
				{0, part("Good Printer", ptr, func(a *Advertisement) { a.Subtypes = []string{"_color", "_printer"} }), true},
			},
			want: []string{"Good Printer"},
			check: func(t *testing.T, ads []Advertisement) {
				assert.Equal(t, []string{"_color", "_printer"}, ads[0].Subtypes)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewStore(StoreConfig{})
			for i, st := range tt.steps {
				assert.Equal(t, st.chg, s.Merge(st.ad, t0.Add(st.at)), "step %d", i)
			}
			ads := s.Advertisements(t0.Add(tt.flush))
			got := []string{}
			for _, a := range ads {
				got = append(got, a.Instance)
			}
			assert.Equal(t, tt.want, got)
			if tt.check != nil && len(ads) > 0 {
				tt.check(t, ads)
			}
		})
	}
}

func TestStoreHostAddressesLater(t *testing.T) {
	validations := 0
	s := NewStore(StoreConfig{Validate: func(a *Advertisement) []Finding {
		validations++
		if len(a.Addrs) == 0 {
			return []Finding{{Rule: "srv-target", Instance: a.Instance}}
		}
		return nil
	}})
	s.Merge(part("Good Printer", map[uint16]uint32{dns.TypeSRV: 120, dns.TypePTR: 4500}, nil), t0)
	ads := s.Advertisements(t0)
	require.Len(t, ads, 1)
	assert.Empty(t, ads[0].Addrs)
	assert.Len(t, ads[0].Findings, 1)
	assert.Equal(t, 1, validations)

	// A different case of the host name still matches (RFC 6762 section 16).
	s.AddHostAddr("PRINTER.local.", netip.MustParseAddr("198.18.0.1"), 120, t0.Add(time.Second), netip.Addr{})
	s.AddHostAddr("printer.local.", netip.MustParseAddr("fd42::1"), 60, t0.Add(time.Second), netip.Addr{})
	s.AddHostAddr("unrelated.local.", netip.MustParseAddr("198.18.0.9"), 120, t0.Add(time.Second), netip.Addr{})
	ads = s.Advertisements(t0.Add(time.Second))
	require.Len(t, ads, 1)
	assert.Equal(t, []netip.Addr{netip.MustParseAddr("198.18.0.1"), netip.MustParseAddr("fd42::1")}, ads[0].Addrs)
	assert.Equal(t, uint32(120), ads[0].TTL.Of(dns.TypeA))
	assert.Equal(t, uint32(60), ads[0].TTL.Of(dns.TypeAAAA))
	assert.Empty(t, ads[0].Findings)
	assert.Equal(t, 2, validations)

	// Nothing changed: no revalidation.
	s.Advertisements(t0.Add(2 * time.Second))
	assert.Equal(t, 2, validations)

	// The AAAA expires, then the A says goodbye.
	ads = s.Advertisements(t0.Add(62 * time.Second))
	assert.Equal(t, []netip.Addr{netip.MustParseAddr("198.18.0.1")}, ads[0].Addrs)
	s.AddHostAddr("printer.local.", netip.MustParseAddr("198.18.0.1"), 0, t0.Add(63*time.Second), netip.Addr{})
	ads = s.Advertisements(t0.Add(63 * time.Second))
	assert.Empty(t, ads[0].Addrs)
	assert.Len(t, ads[0].Findings, 1)
}

func TestStoreCacheFlushHost(t *testing.T) {
	s := NewStore(StoreConfig{})
	s.Merge(part("P", map[uint16]uint32{dns.TypePTR: 4500, dns.TypeSRV: 120}, nil), t0)
	old4, old6 := netip.MustParseAddr("198.18.0.1"), netip.MustParseAddr("fd42::1")
	s.AddHostAddr("printer.local.", old4, 120, t0, netip.Addr{})
	s.AddHostAddr("printer.local.", old6, 120, t0, netip.Addr{})
	// within a second: a second address of the same set is kept
	new4 := netip.MustParseAddr("198.18.0.5")
	s.AddHostAddr("printer.local.", new4, 120, t0.Add(500*time.Millisecond), netip.Addr{})
	s.CacheFlushHost("printer.local.", false, t0.Add(500*time.Millisecond))
	assert.Equal(t, []netip.Addr{old4, new4, old6}, s.Advertisements(t0.Add(time.Second))[0].Addrs)
	// later: the flush drops the IPv4 address not refreshed, and only IPv4
	s.AddHostAddr("printer.local.", new4, 120, t0.Add(3*time.Second), netip.Addr{})
	s.CacheFlushHost("printer.local.", false, t0.Add(3*time.Second))
	assert.Equal(t, []netip.Addr{new4, old6}, s.Advertisements(t0.Add(3 * time.Second))[0].Addrs)
	s.CacheFlushHost("unknown.local.", true, t0) // no-op
}

func TestStoreOnFindingCountsNewOnes(t *testing.T) {
	var seen []string
	s := NewStore(StoreConfig{
		Validate: func(a *Advertisement) []Finding {
			fs := []Finding{{Rule: "ttl", Evidence: "PTR"}}
			if !a.HasTXT {
				fs = append(fs, Finding{Rule: "txt-format"})
			}
			return fs
		},
		OnFinding: func(f Finding) { seen = append(seen, f.Rule) },
	})
	s.Merge(part("A", map[uint16]uint32{dns.TypePTR: 10}, nil), t0)
	s.Flush(t0)
	s.Merge(part("A", map[uint16]uint32{dns.TypePTR: 10}, nil), t0)
	s.Flush(t0)
	assert.Equal(t, []string{"ttl", "txt-format"}, seen)
	s.Merge(part("A", map[uint16]uint32{dns.TypeTXT: 10}, nil), t0)
	s.Flush(t0)
	assert.Equal(t, []string{"ttl", "txt-format"}, seen, "a finding that went away is not counted")
}

func TestStoreEvictsLeastRecentlySeen(t *testing.T) {
	evicted := 0
	s := NewStore(StoreConfig{MaxInstances: 3, OnEvict: func() { evicted++ }})
	ptr := map[uint16]uint32{dns.TypePTR: 4500}
	for i, n := range []string{"a", "b", "c"} {
		s.Merge(part(n, ptr, nil), t0.Add(time.Duration(i)*time.Second))
	}
	s.Merge(part("a", ptr, nil), t0.Add(4*time.Second)) // a is fresh again
	s.Merge(part("d", ptr, nil), t0.Add(5*time.Second)) // evicts b
	s.Merge(part("e", ptr, nil), t0.Add(6*time.Second)) // evicts c
	var got []string
	for _, a := range s.Advertisements(t0.Add(7 * time.Second)) {
		got = append(got, a.Instance)
	}
	assert.Equal(t, []string{"a", "d", "e"}, got)
	assert.Equal(t, 2, evicted)
	assert.Equal(t, uint64(2), s.Evictions())
}

// TestStoreFloodStaysBounded is the documented flood: 1,000,000 distinct
// instances (100,000 with -short) through a store of the default bound,
// without a flush in between (the worst case for the dirty list).
func TestStoreFloodStaysBounded(t *testing.T) {
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	s := NewStore(StoreConfig{Validate: func(*Advertisement) []Finding { return nil }})
	ttl := map[uint16]uint32{dns.TypePTR: 4500, dns.TypeSRV: 120, dns.TypeTXT: 4500}
	a := part("", ttl, nil)
	for i := range n {
		a.Instance = "flood-" + strconv.Itoa(i)
		a.Host = "h" + strconv.Itoa(i) + ".local."
		s.Merge(a, t0)
		if i%1000 == 0 {
			s.AddHostAddr(a.Host, netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 120, t0, netip.Addr{})
		}
		if i%1000 == 0 && s.Len() > DefaultMaxInstances {
			t.Fatalf("after %d instances the store holds %d", i+1, s.Len())
		}
	}
	assert.Equal(t, DefaultMaxInstances, s.Len())
	assert.Equal(t, uint64(n-DefaultMaxInstances), s.Evictions())
	s.mu.Lock()
	assert.LessOrEqual(t, len(s.dirty), 2*DefaultMaxInstances)
	assert.LessOrEqual(t, len(s.hosts), 2*DefaultMaxInstances)
	s.mu.Unlock()
	ads := s.Advertisements(t0)
	require.Len(t, ads, DefaultMaxInstances)
	// the survivors are the newest
	last := map[string]bool{}
	for _, a := range ads {
		last[a.Instance] = true
	}
	assert.True(t, last[fmt.Sprintf("flood-%d", n-1)])
	assert.False(t, last[fmt.Sprintf("flood-%d", n-DefaultMaxInstances-1)])
}

// BenchmarkStoreMergeFlood merges b.N distinct instances into a store of
// the default bound: the per-packet store cost under a flood.
func BenchmarkStoreMergeFlood(b *testing.B) {
	s := NewStore(StoreConfig{})
	ttl := map[uint16]uint32{dns.TypePTR: 4500, dns.TypeSRV: 120, dns.TypeTXT: 4500}
	ads := make([]*Advertisement, 4096)
	for i := range ads {
		ads[i] = part("", ttl, nil)
	}
	b.ReportAllocs()
	b.ResetTimer()
	done := reportCPU(b)
	for i := 0; i < b.N; i++ {
		a := ads[i%len(ads)]
		a.Instance = "flood-" + strconv.Itoa(i)
		s.Merge(a, t0)
	}
	done()
	b.StopTimer()
	if s.Len() > DefaultMaxInstances {
		b.Fatalf("store holds %d > %d", s.Len(), DefaultMaxInstances)
	}
	b.ReportMetric(float64(s.Evictions()), "evictions")
}

// BenchmarkStoreMergeRepeat re-announces the same 100 instances: the
// steady state of a quiet LAN.
func BenchmarkStoreMergeRepeat(b *testing.B) {
	s := NewStore(StoreConfig{})
	ttl := map[uint16]uint32{dns.TypePTR: 4500, dns.TypeSRV: 120, dns.TypeTXT: 4500}
	ads := make([]*Advertisement, 100)
	for i := range ads {
		ads[i] = part("inst-"+strconv.Itoa(i), ttl, nil)
	}
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b)()
	for i := 0; i < b.N; i++ {
		s.Merge(ads[i%len(ads)], t0)
	}
}

// A TXT-only packet for a new instance survives a flush before its SRV
// arrives (the monitor flushes every 50 ms).
func TestStoreTXTOnlySurvivesFlush(t *testing.T) {
	s := NewStore(StoreConfig{})
	s.Merge(part("Good Printer", map[uint16]uint32{dns.TypeTXT: 4500}, nil), t0)
	s.Flush(t0.Add(250 * time.Millisecond))
	assert.Equal(t, 1, s.Len())
	s.Merge(part("Good Printer", map[uint16]uint32{dns.TypeSRV: 120}, nil), t0.Add(time.Second))
	ads := s.Advertisements(t0.Add(time.Second))
	require.Len(t, ads, 1)
	assert.True(t, ads[0].HasTXT)
	assert.Equal(t, "printer.local.", ads[0].Host)
	// and it expires with its last record
	assert.Empty(t, s.Advertisements(t0.Add(4500*time.Second)))
}

// TestStoreSeenTimesInOrder: a merge whose time predates the last one
// (a packet read before a browser result that was handled first) moves
// neither the last seen time back nor past the first seen.
func TestStoreSeenTimesInOrder(t *testing.T) {
	s := NewStore(StoreConfig{MaxInstances: 10})
	a := part("Printer", map[uint16]uint32{dns.TypePTR: 4500, dns.TypeSRV: 120, dns.TypeTXT: 4500}, nil)
	require.True(t, s.Merge(a, t0))
	s.Merge(a, t0.Add(-time.Second))
	s.Merge(a, t0.Add(2*time.Second))
	s.Merge(a, t0.Add(time.Second))
	got := s.Advertisements(t0.Add(3 * time.Second))
	require.Len(t, got, 1)
	assert.Equal(t, t0.Add(-time.Second), got[0].FirstSeen)
	assert.Equal(t, t0.Add(2*time.Second), got[0].LastSeen)
}

// TestStoreFlushSkipsOnlyWhatCannotExpire: a flush before the soonest
// expiry skips the scan, but a record merged later with a shorter TTL
// (an instance's or a host address's) brings the scan forward.
func TestStoreFlushSkipsOnlyWhatCannotExpire(t *testing.T) {
	s := NewStore(StoreConfig{})
	long := map[uint16]uint32{dns.TypePTR: 100, dns.TypeSRV: 100}
	s.Merge(part("Long", long, nil), t0)
	s.Flush(t0.Add(time.Second)) // the soonest expiry is now t0+100s
	s.Merge(part("Short", map[uint16]uint32{dns.TypePTR: 5}, nil), t0.Add(2*time.Second))
	s.Flush(t0.Add(2 * time.Second)) // its first validation
	assert.False(t, s.Flush(t0.Add(3*time.Second)), "nothing expired yet")
	require.Len(t, s.Advertisements(t0.Add(3*time.Second)), 2)
	assert.True(t, s.Flush(t0.Add(8*time.Second)), "Short's PTR expired at t0+7s")
	ads := s.Advertisements(t0.Add(8 * time.Second))
	require.Len(t, ads, 1)
	assert.Equal(t, "Long", ads[0].Instance)

	// A host address with a TTL shorter than every record.
	s.AddHostAddr("printer.local.", netip.MustParseAddr("198.18.0.9"), 3, t0.Add(9*time.Second), netip.Addr{})
	s.Flush(t0.Add(10 * time.Second))
	require.Equal(t, []netip.Addr{netip.MustParseAddr("198.18.0.9")}, s.Advertisements(t0.Add(10 * time.Second))[0].Addrs)
	s.Flush(t0.Add(13 * time.Second))
	assert.Empty(t, s.Advertisements(t0.Add(13 * time.Second))[0].Addrs, "the address expired at t0+12s")
}

// TestStoreChangesSince follows a store through random merges, goodbyes,
// address changes, expiries and evictions with a consumer that applies
// ChangesSince to its own copy, sometimes skipping calls: after every
// call the copy equals the store's advertisements (but for the times
// seen, the expiry and the sender, which are not changes).
func TestStoreChangesSince(t *testing.T) {
	for seed := range int64(20) {
		t.Run(strconv.FormatInt(seed, 10), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(seed), 1))
			s := NewStore(StoreConfig{MaxInstances: 8, Validate: func(a *Advertisement) []Finding {
				if len(a.TXT) > 2 {
					return []Finding{{Rule: "txt", Message: strconv.Itoa(len(a.TXT))}}
				}
				return nil
			}})
			norm := func(a Advertisement) Advertisement {
				a.LastSeen, a.FirstSeen, a.Expires, a.Source = time.Time{}, time.Time{}, time.Time{}, netip.AddrPort{}
				return a
			}
			held := map[string]Advertisement{}
			var since uint64
			now := t0
			completes := 0
			for step := range 400 {
				now = now.Add(time.Duration(rng.IntN(3000)) * time.Millisecond)
				name := fmt.Sprintf("i%d", rng.IntN(12))
				switch rng.IntN(6) {
				case 0:
					s.Merge(part(name, map[uint16]uint32{dns.TypePTR: 0}, nil), now)
				case 1:
					s.AddHostAddr("printer.local.", netip.AddrFrom4([4]byte{198, 18, 0, byte(rng.IntN(4))}), uint32(rng.IntN(5)), now, netip.Addr{})
				default:
					ttl := uint32(1 + rng.IntN(8))
					s.Merge(part(name, map[uint16]uint32{dns.TypePTR: ttl, dns.TypeSRV: ttl, dns.TypeTXT: ttl}, func(a *Advertisement) {
						a.TXT = a.TXT[:rng.IntN(2)+1]
						if rng.IntN(4) == 0 {
							a.TXT = append(a.TXT, "x=1")
						}
						a.Interface = fmt.Sprintf("lab%d", rng.IntN(2))
					}), now)
				}
				if rng.IntN(3) == 0 {
					continue // the consumer lags
				}
				c := s.ChangesSince(since, now)
				if c.Complete {
					completes++
					clear(held)
				}
				for _, k := range c.Gone {
					delete(held, k)
				}
				for _, a := range c.Changed {
					held[a.Key()] = norm(a)
				}
				since = c.Version
				want := map[string]Advertisement{}
				for _, a := range s.Advertisements(now) {
					want[a.Key()] = norm(a)
				}
				require.Equal(t, want, held, "step %d", step)
			}
			assert.Less(t, completes, 10, "only the first call and those the store forgot removals for are complete")
		})
	}
}
