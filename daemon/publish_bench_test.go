package daemon

import (
	"context"
	"fmt"
	"net/netip"
	"testing"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/mdns"
	"github.com/svcreg/svcreg/proxy"
	"github.com/svcreg/svcreg/resolver"
)

// BenchmarkPublishChange is what one flush costs the discovery proxy on
// a link of 10,000 instances when one of them changed: bringing the
// link's builder up to date with the change (proxy.Builder.Apply, which
// gives the owners whose records changed) and applying those in place
// (resolver.UpdateZone), as the publisher does. A change is visible to
// unicast queries within one flush of the monitor plus this.
func BenchmarkPublishChange(b *testing.B) {
	const n = 10000
	link := proxy.Link{Interface: "lab0", Zone: "lab0.lan.services.internal.", Policy: proxy.PolicyValid}
	ads := make([]mdns.Advertisement, n)
	for i := range ads {
		ads[i] = mdns.Advertisement{
			Instance: fmt.Sprintf("Device %d", i), Service: fmt.Sprintf("_t%d", i%50), Proto: "_tcp", Domain: "local",
			Host: fmt.Sprintf("host%d.local.", i), Port: uint16(1000 + i%50), TXT: []string{"txtvers=1", fmt.Sprintf("id=%d", i)}, HasTXT: true,
			Addrs:     []netip.Addr{netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)})},
			TTL:       mdns.TTLsOf(map[uint16]uint32{dns.TypePTR: 4500, dns.TypeSRV: 120, dns.TypeTXT: 4500, dns.TypeA: 120}),
			Interface: "lab0",
		}
	}
	s, err := resolver.New(resolver.Config{}, nil, prometheus.NewRegistry())
	require.NoError(b, err)
	zc := resolver.ZoneConfig{Zone: link.Zone, TTL: 10, NegTTL: 10}
	var bld proxy.Builder
	bld.Apply(link, mdns.Changes{Changed: ads, Complete: true}, nil)
	require.NoError(b, s.SetZone(context.Background(), zc, bld.Records()))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		a := ads[7]
		a.TXT = []string{"txtvers=1", fmt.Sprintf("id=%d", i)} // one instance changed its TXT
		i++
		changes := bld.Apply(link, mdns.Changes{Changed: []mdns.Advertisement{a}}, nil)
		if len(changes) != 1 {
			b.Fatalf("%d owners changed", len(changes))
		}
		if err := s.UpdateZone(context.Background(), link.Zone, changes); err != nil {
			b.Fatal(err)
		}
	}
}
