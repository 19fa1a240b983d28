package proxy

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/mdns"
)

// TestBuilderMatchesBuild: a Builder used over a random sequence of
// changes (instances arriving, leaving, changing TXT, port, host,
// subtypes, TTLs, addresses, findings, a per-type bound crossed) gives
// exactly what a fresh Build gives each time, and hands back the same
// record objects for advertisements that did not change.
func TestBuilderMatchesBuild(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	link := Link{Interface: "lab0", Zone: zone, Policy: PolicyValid,
		Prefixes: []netip.Prefix{netip.MustParsePrefix("198.18.0.0/24"), netip.MustParsePrefix("fd42::/64")}}
	mk := func(i int) mdns.Advertisement {
		a := printer()
		a.Instance = fmt.Sprintf("Printer %d", i)
		a.Host = fmt.Sprintf("host%d.local.", i%7) // hosts shared by several instances
		a.Addrs = []netip.Addr{netip.AddrFrom4([4]byte{198, 18, 0, byte(i % 7)}), netip.MustParseAddr("fd42::1")}
		return a
	}
	ads := make([]mdns.Advertisement, 0, 64)
	for i := range 40 {
		ads = append(ads, mk(i))
	}
	var b Builder
	prev := map[string]dns.RR{}
	for step := range 300 {
		i := rng.IntN(len(ads))
		a := &ads[i]
		switch rng.IntN(10) {
		case 0:
			a.TXT = []string{"txtvers=1", fmt.Sprintf("note=%d", step)}
		case 1:
			a.Port++
		case 2:
			a.Host = fmt.Sprintf("other%d.local.", step%3)
		case 3:
			a.Subtypes = append([]string{}, "_print")
		case 4:
			a.TTL.Set(dns.TypeSRV, uint32(rng.IntN(20)))
		case 5:
			a.Addrs = []netip.Addr{netip.AddrFrom4([4]byte{198, 18, 0, byte(step)}), netip.MustParseAddr("203.0.113.9")}
		case 6:
			a.Findings = []mdns.Finding{{Rule: "txt-format", Severity: mdns.SeverityError, Message: "bad"}}
		case 7:
			a.Findings = nil
		case 8:
			ads = append(ads[:i], ads[i+1:]...)
		default:
			ads = append(ads, mk(1000+step))
		}
		got := b.Build(link, ads, nil)
		want := Build(link, ads, nil)
		require.Equal(t, texts(want.Records), texts(got.Records), "step %d", step)
		require.Equal(t, want.Excluded, got.Excluded, "step %d", step)
		require.Equal(t, want.Dropped, got.Dropped, "step %d", step)
		require.Equal(t, want.Published, got.Published, "step %d", step)
		// Records of the same text as last time are, for the most part,
		// the same objects.
		same, total := 0, 0
		cur := map[string]dns.RR{}
		for _, rr := range got.Records {
			s := rr.String()
			cur[s] = rr
			if p, ok := prev[s]; ok {
				total++
				if p == rr {
					same++
				}
			}
		}
		if total > 20 {
			assert.Greater(t, same, total*3/4, "step %d: %d of %d unchanged records reused", step, same, total)
		}
		prev = cur
	}
}
