package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/mdns"
	"github.com/svcreg/svcreg/proxy"
	"github.com/svcreg/svcreg/registry"
	"github.com/svcreg/svcreg/resolver"
)

// idleSource is a packet source that delivers nothing: the benchmark
// hands the monitor its packets itself.
type idleSource struct{}

func (idleSource) Serve(ctx context.Context, _ mdns.PacketHandler) error {
	<-ctx.Done()
	return nil
}

// announcement is one instance's mDNS response: PTR, SRV, TXT and its
// host's A record.
func announcement(tb testing.TB, i int, txt string) []byte {
	typ := fmt.Sprintf("_t%d._tcp.local.", i%20)
	name := fmt.Sprintf("Device\\ %d.", i) + typ
	host := fmt.Sprintf("host%d.local.", i)
	m := &dns.Msg{MsgHdr: dns.MsgHdr{Response: true, Authoritative: true}}
	for _, s := range []string{
		typ + " 4500 IN PTR " + name,
		name + " 120 IN SRV 0 0 8080 " + host,
		name + ` 4500 IN TXT "txtvers=1" "` + txt + `"`,
		fmt.Sprintf("%s 120 IN A 198.18.%d.%d", host, i>>8&255, i&255),
	} {
		rr, err := dns.NewRR(s)
		require.NoError(tb, err)
		m.Answer = append(m.Answer, rr)
	}
	b, err := m.Pack()
	require.NoError(tb, err)
	return b
}

// BenchmarkPublishLatency is the discovery proxy end to end at 10,000
// instances on one link: announcements go into the monitor as the
// listener hands them over, the monitor flushes every 50 ms
// (mdns.flush_interval: 50ms), the publisher rebuilds the link and
// applies the difference to the DNS server, and a unicast question for
// the changed instance's TXT (Server.Answer, the query path) is asked
// every millisecond until it shows the change. Changes arrive at 1,000 a
// second; b.N is the number of changes. It reports the p50 and p99 of
// the time from a change's packet to its answer, and the heap in use.
func BenchmarkPublishLatency(b *testing.B) {
	const n = 10000
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	snap, err := registry.Build(registry.Builtin())
	require.NoError(b, err)
	store := registry.NewStore(snap)
	m, err := mdns.NewMonitor(mdns.MonitorConfig{Source: idleSource{}, FlushInterval: 50 * time.Millisecond,
		MaxInstances: 2 * n}, store, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	require.NoError(b, err)
	s, err := resolver.New(resolver.Config{}, nil, prometheus.NewRegistry())
	require.NoError(b, err)
	require.NoError(b, s.SetSnapshot(ctx, snap))
	link := proxy.Link{Interface: "lab0", Zone: "lab0.lan.services.internal.", Policy: proxy.PolicyValid}
	p := &publisher{links: []proxy.Link{link}, notify: [][]string{nil}, dns: s, monitor: m, store: store,
		logger: slog.New(slog.DiscardHandler), misses: make(chan string, 64)}
	p.publish(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() { _ = m.Run(ctx) })
	changes := m.Subscribe(ctx)
	wg.Go(func() { p.run(ctx, changes) })

	meta := func(i int) mdns.PacketMeta {
		return mdns.PacketMeta{Source: netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}), 5353),
			Interface: "lab0", HopLimit: 255, Received: time.Now()}
	}
	for i := range n {
		m.HandlePacket(announcement(b, i, "v=0"), meta(i))
	}
	txtOf := func(i int) string {
		name := fmt.Sprintf("device\\ %d._t%d._tcp.%s", i, i%20, link.Zone)
		rrs, _, _ := s.Answer(name, dns.TypeTXT)
		if len(rrs) == 0 {
			return ""
		}
		return strings.Join(rrs[0].(*dns.TXT).Txt, " ")
	}
	deadline := time.Now().Add(30 * time.Second)
	for txtOf(n-1) == "" {
		require.True(b, time.Now().Before(deadline), "the 10,000 instances were not published")
		time.Sleep(10 * time.Millisecond)
	}
	require.LessOrEqual(b, b.N, n, "one change per instance: -benchtime at most 10000x")
	pkts := make([][]byte, b.N)
	for k := range pkts {
		pkts[k] = announcement(b, k*7919%n, fmt.Sprintf("v=%d", k+1))
	}
	sent := make([]time.Time, b.N)
	var sentMu sync.Mutex
	b.ResetTimer()
	wg.Go(func() {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for k := range pkts {
			<-t.C
			sentMu.Lock()
			sent[k] = time.Now()
			sentMu.Unlock()
			m.HandlePacket(pkts[k], meta(k*7919%n))
		}
	})
	lat := make([]time.Duration, 0, b.N)
	stop := time.Now().Add(time.Duration(b.N)*time.Millisecond + 30*time.Second)
	for k := 0; k < b.N; {
		sentMu.Lock()
		at := sent[k]
		sentMu.Unlock()
		// Change k is instance k*7919 mod n's only one (7919 is prime to
		// n, b.N at most n): its TXT says v=k+1.
		if !at.IsZero() && seenAtLeast(txtOf(k*7919%n), k+1) {
			lat = append(lat, time.Since(at))
			k++
			continue
		}
		if time.Now().After(stop) {
			b.Fatalf("change %d never became visible", k)
		}
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// seenAtLeast reports whether a TXT "txtvers=1 v=K" carries K >= want.
func seenAtLeast(txt string, want int) bool {
	var k int
	if _, err := fmt.Sscanf(strings.TrimPrefix(txt, "txtvers=1 "), "v=%d", &k); err != nil {
		return false
	}
	return k >= want
}
