package daemon

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/mdns"
	"github.com/svcreg/svcreg/proxy"
	"github.com/svcreg/svcreg/resolver"
)

// TestPublisherOnMiss: only a PTR name of the form _service._proto
// directly under the link's zone queues its type, and a full queue drops
// rather than blocks.
func TestPublisherOnMiss(t *testing.T) {
	p := &publisher{misses: make(chan string, 2)}
	hook := p.onMiss(proxy.Link{Zone: "lab0.lan.services.internal."})
	wire := func(name string) []byte {
		b := make([]byte, 256)
		n, err := dns.PackDomainName(name, b, 0, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		return b[:n]
	}
	for _, name := range []string{
		"x._ipp._tcp.lab0.lan.services.internal.",
		"_ipp._tcp.lab1.lan.services.internal.",
		"ipp._tcp.lab0.lan.services.internal.",
		"_tcp.lab0.lan.services.internal.",
		"lab0.lan.services.internal.",
		"_ipp._tcp.x.lab0.lan.services.internal.",
	} {
		hook(wire(name))
		assert.Empty(t, p.misses, name)
	}
	hook(wire("_ipp._tcp.lab0.lan.services.internal."))
	hook(wire("_airplay._tcp.lab0.lan.services.internal."))
	hook(wire("_http._tcp.lab0.lan.services.internal.")) // the queue is full: dropped, not blocked
	assert.Equal(t, "_ipp._tcp", <-p.misses)
	assert.Equal(t, "_airplay._tcp", <-p.misses)
	assert.Empty(t, p.misses)
}

// TestPublishIncrementalProperty: a link published change by change
// (the store's changes through Builder.Apply and UpdateZone, as the
// publisher does) serves, after every
// step of a random sequence of arrivals, departures and changes, exactly
// the zone a whole SetZone of the same advertisements serves.
func TestPublishIncrementalProperty(t *testing.T) {
	link := proxy.Link{Interface: "lab0", Zone: "lab0.lan.services.internal.", Policy: proxy.PolicyAll}
	start := func() (*resolver.Server, string) {
		s, err := resolver.New(resolver.Config{Listen: []string{"127.0.0.1:0"}}, nil, prometheus.NewRegistry())
		require.NoError(t, err)
		require.NoError(t, s.Start(context.Background()))
		t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
		return s, s.Addrs()[0].String()
	}
	axfr := func(addr string) []string {
		t.Helper()
		m := new(dns.Msg)
		m.SetAxfr(link.Zone)
		env, err := (&dns.Transfer{}).In(m, addr)
		require.NoError(t, err)
		var out []string
		for e := range env {
			require.NoError(t, e.Error)
			for _, rr := range e.RR {
				if soa, ok := rr.(*dns.SOA); ok {
					soa.Serial = 0
				}
				out = append(out, strings.ToLower(rr.String()))
			}
		}
		slices.Sort(out)
		return out
	}
	live, liveAddr := start()
	var bld proxy.Builder
	zc := resolver.ZoneConfig{Zone: link.Zone, TTL: 10, NegTTL: 10}
	r := rand.New(rand.NewPCG(5, 9))
	ads := map[int]mdns.Advertisement{}
	for step := range 40 {
		var ch mdns.Changes // as the store would give it: each instance's last state
		touched := map[int]string{}
		for range 1 + r.IntN(3) {
			i := r.IntN(12)
			if a, ok := ads[i]; ok {
				touched[i] = a.Key()
			}
			if r.IntN(4) == 0 {
				delete(ads, i)
				continue
			}
			a := mdns.Advertisement{Instance: fmt.Sprintf("Device %d", i), Service: []string{"_ipp", "_http", "_airplay"}[i%3], Proto: "_tcp",
				Domain: "local", Host: fmt.Sprintf("host%d.local.", r.IntN(4)), Port: uint16(600 + r.IntN(3)),
				TXT: []string{fmt.Sprintf("v=%d", r.IntN(3))}, HasTXT: true, Interface: "lab0",
				Addrs: []netip.Addr{netip.AddrFrom4([4]byte{198, 18, 0, byte(r.IntN(3) + 1)})},
				TTL:   mdns.TTLsOf(map[uint16]uint32{dns.TypePTR: 4500, dns.TypeSRV: 120, dns.TypeTXT: 4500, dns.TypeA: 120})}
			if r.IntN(3) == 0 {
				a.Subtypes = []string{"_printer"}
			}
			ads[i] = a
			touched[i] = a.Key()
		}
		for i, k := range touched {
			if a, ok := ads[i]; ok {
				ch.Changed = append(ch.Changed, a)
			} else {
				ch.Gone = append(ch.Gone, k)
			}
		}
		var list []mdns.Advertisement
		for _, i := range slices.Sorted(maps.Keys(ads)) {
			list = append(list, ads[i])
		}
		changes := bld.Apply(link, ch, nil)
		if step == 0 {
			require.NoError(t, live.SetZone(context.Background(), zc, bld.Records()))
		} else {
			require.NoError(t, live.UpdateZone(context.Background(), link.Zone, changes), "step %d", step)
		}
		whole, wholeAddr := start()
		require.NoError(t, whole.SetZone(context.Background(), zc, proxy.Build(link, list, nil).Records))
		require.Equal(t, axfr(wholeAddr), axfr(liveAddr), "step %d", step)
	}
}
