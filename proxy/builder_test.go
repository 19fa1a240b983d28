package proxy

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/mdns"
)

// byOwner groups records as the zone serves them: by lower-cased owner,
// each owner's records as text in their order.
func byOwner(rrs []dns.RR) map[string][]string {
	out := map[string][]string{}
	for _, rr := range rrs {
		o := strings.ToLower(rr.Header().Name)
		out[o] = append(out[o], strings.ReplaceAll(rr.String(), "\t", " "))
	}
	return out
}

// builderHarness plays a store for a Builder: it holds advertisements by
// key, hands the builder what changed since the last Apply, and keeps
// the zone as the builder's changes say it is.
type builderHarness struct {
	t       *testing.T
	b       Builder
	ads     map[string]mdns.Advertisement
	changed map[string]bool
	gone    map[string]bool
	zone    map[string][]string
}

func newBuilderHarness(t *testing.T) *builderHarness {
	return &builderHarness{t: t, ads: map[string]mdns.Advertisement{}, changed: map[string]bool{},
		gone: map[string]bool{}, zone: map[string][]string{}}
}

func (h *builderHarness) put(a mdns.Advertisement) {
	h.ads[a.Key()] = a
	h.changed[a.Key()] = true
}

func (h *builderHarness) remove(k string) {
	delete(h.ads, k)
	delete(h.changed, k)
	h.gone[k] = true
}

func (h *builderHarness) sorted() []mdns.Advertisement {
	ads := slices.Collect(maps.Values(h.ads))
	slices.SortFunc(ads, func(x, y mdns.Advertisement) int { return mdns.CompareAdvertisements(&x, &y) })
	return ads
}

// apply hands the builder the changes (all advertisements when
// complete) and checks that the zone then equals a fresh Build's, as
// do the builder's own records and summary.
func (h *builderHarness) apply(link Link, complete bool, step int) {
	t := h.t
	ch := mdns.Changes{Complete: complete}
	if complete {
		ch.Changed = h.sorted()
	} else {
		for k := range h.gone {
			ch.Gone = append(ch.Gone, k)
		}
		for k := range h.changed {
			ch.Changed = append(ch.Changed, h.ads[k])
		}
	}
	clear(h.changed)
	clear(h.gone)
	for o, rrs := range h.b.Apply(link, ch, nil) {
		if len(rrs) == 0 {
			delete(h.zone, o)
			continue
		}
		for _, rr := range rrs {
			require.True(t, strings.EqualFold(rr.Header().Name, o), "step %d: %s under owner %s", step, rr.Header().Name, o)
		}
		h.zone[o] = byOwner(rrs)[o]
	}
	want := Build(link, h.sorted(), nil)
	require.Equal(t, byOwner(want.Records), h.zone, "step %d: the zone as changed", step)
	require.Equal(t, byOwner(want.Records), byOwner(h.b.Records()), "step %d: Records", step)
	published, records, excl, drop := h.b.Summary()
	require.Equal(t, want.Published, published, "step %d", step)
	require.Len(t, want.Records, records, "step %d", step)
	require.Equal(t, want.Excluded, excl, "step %d", step)
	require.Equal(t, want.Dropped, drop, "step %d", step)
}

// TestBuilderMatchesBuild: a Builder fed a random sequence of changes
// (instances arriving, leaving, moving to another link, changing TXT,
// port, host, subtypes, TTLs, addresses, findings; several at once;
// sometimes everything again; the link's prefixes changing) serves after
// each Apply exactly the zone a fresh Build makes.
func TestBuilderMatchesBuild(t *testing.T) {
	for seed := range uint64(8) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 11))
			prefixes := []netip.Prefix{netip.MustParsePrefix("198.18.0.0/24"), netip.MustParsePrefix("fd42::/64")}
			link := Link{Interface: "lab0", Zone: zone, Policy: PolicyValid, Prefixes: prefixes}
			mk := func(i int) mdns.Advertisement {
				a := printer()
				a.Instance = fmt.Sprintf("Printer %d", i)
				if i%5 == 0 {
					a.Service = "_pdl-datastream"
				}
				a.Host = fmt.Sprintf("host%d.local.", i%7) // hosts shared by several instances
				a.Addrs = []netip.Addr{netip.AddrFrom4([4]byte{198, 18, 0, byte(i % 7)}), netip.MustParseAddr("fd42::1")}
				return a
			}
			h := newBuilderHarness(t)
			for i := range 40 {
				h.put(mk(i))
			}
			h.apply(link, false, -1)
			for step := range 300 {
				keys := slices.Sorted(maps.Keys(h.ads))
				a := h.ads[keys[rng.IntN(len(keys))]]
				switch rng.IntN(13) {
				case 0:
					a.TXT = []string{"txtvers=1", fmt.Sprintf("note=%d", step)}
				case 1:
					a.Port++
				case 2:
					a.Host = fmt.Sprintf("other%d.local.", step%3)
				case 3:
					a.Subtypes = []string{"_print"}
				case 4:
					a.TTL.Set(dns.TypeSRV, uint32(rng.IntN(20)))
					a.TTL.Set(dns.TypeA, uint32(rng.IntN(20)))
				case 5:
					a.Addrs = []netip.Addr{netip.AddrFrom4([4]byte{198, 18, 0, byte(step)}), netip.MustParseAddr("203.0.113.9")}
				case 6:
					a.Findings = []mdns.Finding{{Rule: "txt-format", Severity: mdns.SeverityError, Message: "bad"}}
				case 7:
					a.Findings = nil
				case 8:
					a.Interface = []string{"lab0", "lab1"}[rng.IntN(2)]
				case 9:
					a.Instance = strings.Repeat("x", 40+rng.IntN(30)) // too long for a label, or an owner too long
				case 10:
					h.remove(a.Key())
					continue
				default:
					a = mk(1000 + step)
				}
				h.put(a)
				if rng.IntN(3) == 0 {
					continue // several changes in one Apply
				}
				if rng.IntN(40) == 0 {
					link.Prefixes = prefixes[:1+rng.IntN(2)]
				}
				h.apply(link, rng.IntN(30) == 0, step)
			}
		})
	}
}

// TestBuilderPerTypeBound: past MaxInstancesPerType instances of a type
// the first ones in the monitor's order are published; when one of them
// goes the next one takes its place, as Build decides it.
func TestBuilderPerTypeBound(t *testing.T) {
	link := Link{Interface: "lab0", Zone: zone, Policy: PolicyAll}
	h := newBuilderHarness(t)
	for i := range MaxInstancesPerType + 5 {
		a := printer()
		a.Instance = fmt.Sprintf("Printer %04d", i)
		h.put(a)
	}
	h.apply(link, false, 0)
	_, _, excl, _ := h.b.Summary()
	require.Len(t, excl, 5)
	for step, i := range []int{3, 1002, 0, 500} {
		a := printer()
		a.Instance = fmt.Sprintf("Printer %04d", i)
		h.remove(a.Key())
		h.apply(link, false, step+1)
	}
	_, _, excl, _ = h.b.Summary()
	require.Equal(t, []Exclusion{{Instance: "Printer 1004", ServiceType: "_ipp._tcp",
		Reason: "more than 1000 instances of the type on the link"}}, excl, "1001 left: the last one waits")
	a := printer()
	a.Instance = "Printer 0000"
	h.put(a) // back, ahead of all: the last published one is bounded out
	h.apply(link, false, 9)
	_, _, excl, _ = h.b.Summary()
	require.Len(t, excl, 2)
	require.Equal(t, "Printer 1003", excl[0].Instance)
}

// BenchmarkBuilderApply is one changed TXT at 1k, 10k and 100k
// advertisements on the link (500 of each type): the cost follows the
// change.
func BenchmarkBuilderApply(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			link := Link{Interface: "lab0", Zone: zone, Policy: PolicyValid}
			ads := make([]mdns.Advertisement, n)
			for i := range ads {
				a := printer()
				a.Instance = fmt.Sprintf("Device %d", i)
				a.Service = fmt.Sprintf("_t%d", i%(n/500))
				a.Host = fmt.Sprintf("host%d.local.", i)
				a.Addrs = []netip.Addr{netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)})}
				ads[i] = a
			}
			var bld Builder
			bld.Apply(link, mdns.Changes{Changed: ads, Complete: true}, nil)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				a := ads[i%n]
				a.TXT = []string{"txtvers=1", fmt.Sprintf("v=%d", i)}
				if len(bld.Apply(link, mdns.Changes{Changed: []mdns.Advertisement{a}}, nil)) != 1 {
					b.Fatal("one TXT changed: one owner")
				}
			}
		})
	}
}

// TestBuilderChanges: the first Apply gives every owner; later ones only
// the owners whose records changed, a gone owner mapping to nil.
func TestBuilderChanges(t *testing.T) {
	var bld Builder
	link := Link{Interface: "lab0", Zone: zone, Policy: PolicyAll}
	a, b := printer(), printer()
	b.Instance, b.Host = "Second", "second.local."
	first := bld.Apply(link, mdns.Changes{Changed: []mdns.Advertisement{a, b}, Complete: true}, nil)
	require.Len(t, first, 7, "type PTR, subtype PTR, enumeration, two instances, two hosts")
	require.Empty(t, bld.Apply(link, mdns.Changes{Changed: []mdns.Advertisement{b}}, nil), "nothing changed")

	b.TXT = []string{"txtvers=2"}
	got := bld.Apply(link, mdns.Changes{Changed: []mdns.Advertisement{b}}, nil)
	require.Len(t, got, 1)
	inst := `second._ipp._tcp.` + zone
	require.Contains(t, got, inst)

	got = bld.Apply(link, mdns.Changes{Gone: []string{b.Key()}}, nil)
	require.Contains(t, got, inst)
	require.Nil(t, got[inst], "gone")
	require.Contains(t, got, "second."+zone)
	require.Nil(t, got["second."+zone])
	require.Len(t, got["_ipp._tcp."+zone], 1, "the type's PTRs, now one")
	require.Len(t, got, 4, "the instance, its host, the type's and the subtype's PTRs")
}
