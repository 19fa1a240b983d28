package resolver

import (
	"context"
	"net"
	"net/netip"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/internal/testutil"
	"github.com/svcreg/svcreg/registry"
)

func benchSnap(b *testing.B) *registry.Snapshot {
	b.Helper()
	src, err := registry.LoadFile(context.Background(), testutil.SharedFile(b, "iana", "service-names-port-numbers.xml"), "")
	require.NoError(b, err)
	snap, err := registry.Build(src)
	require.NoError(b, err)
	return snap
}

// BenchmarkServeDNS measures the query path the listeners run (wire bytes
// in, wire bytes out, metrics excluded) per kind of query over the full
// IANA registry.
func BenchmarkServeDNS(b *testing.B) {
	snap := benchSnap(b)
	s, err := New(Config{}, nil, prometheus.NewRegistry())
	require.NoError(b, err)
	require.NoError(b, s.SetSnapshot(context.Background(), snap))
	t := s.tab.Load()
	for _, bc := range []struct {
		name  string
		qname string
		qtype uint16
		edns  bool
	}{
		{"TXT_name", "_HTTP._tcp.services.internal.", dns.TypeTXT, true},
		{"SRV_name", "_ipp._tcp.services.internal.", dns.TypeSRV, true},
		{"TXT_port_zone", "_443._tcp.services.internal.", dns.TypeTXT, true},
		{"TXT_port_synth", "_50123._udp.services.internal.", dns.TypeTXT, true},
		{"PTR_port", "_80._tcp.services.internal.", dns.TypePTR, false},
		{"NXDOMAIN", "_no-such-thing._tcp.services.internal.", dns.TypeTXT, true},
		{"NODATA", "_tcp.services.internal.", dns.TypeA, false},
		{"REFUSED", "www.example.com.", dns.TypeA, false},
		{"DNSSD_truncated", "_services._dns-sd._udp.services.internal.", dns.TypePTR, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			m := new(dns.Msg)
			m.SetQuestion(bc.qname, bc.qtype)
			if bc.edns {
				m.SetEdns0(1232, false)
			}
			q, err := m.Pack()
			require.NoError(b, err)
			out := make([]byte, 0, 65535)
			src := netip.MustParseAddr("127.0.0.1")
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				resp, _ := s.respond(t, q, out, false, src)
				if len(resp) < hdrLen {
					b.Fatal("no response")
				}
			}
		})
	}
}

// BenchmarkSetSnapshot is a reload of the full registry whose zone comes
// out as the one served (a new snapshot of the same data, alternating
// between two built from the same source): as a difference, the records
// are compared and the owners that depend on none of them left alone;
// built whole, the zone is built, put in wire form and digested, and
// found equal to the one served. Either way the table in service is
// kept.
func BenchmarkSetSnapshot(b *testing.B) {
	src, err := registry.LoadFile(context.Background(), testutil.SharedFile(b, "iana", "service-names-port-numbers.xml"), "")
	require.NoError(b, err)
	var snaps [2]*registry.Snapshot
	for i := range snaps {
		snaps[i], err = registry.Build(src)
		require.NoError(b, err)
	}
	for _, whole := range []bool{false, true} {
		name := "difference"
		if whole {
			name = "whole"
		}
		b.Run(name, func(b *testing.B) {
			s, err := New(Config{}, nil, prometheus.NewRegistry())
			require.NoError(b, err)
			require.NoError(b, s.SetSnapshot(context.Background(), snaps[0]))
			serial := s.Serial()
			b.ReportAllocs()
			i := 1
			for b.Loop() {
				if whole {
					s.reg = nil // nothing to take a difference from
				}
				require.NoError(b, s.SetSnapshot(context.Background(), snaps[i%2]))
				if s.Serial() != serial {
					b.Fatal("the serial changed")
				}
				i++
			}
		})
	}
}

// BenchmarkSetSnapshotReplace is a reload that replaces the whole
// registry: each iteration serves the other of the 2026-08-17 and the
// 2023-09-12 registries, so the zone, the answer table, the IXFR journal
// entry and a new serial are all made.
func BenchmarkSetSnapshotReplace(b *testing.B) {
	snaps := [2]*registry.Snapshot{benchSnap(b), nil}
	src, err := registry.LoadFile(context.Background(), testutil.SharedFile(b, "iana", "service-names-port-numbers-2023-09-12.xml"), "")
	require.NoError(b, err)
	snaps[1], err = registry.Build(src)
	require.NoError(b, err)
	// The zone's memory in steady state: what the server holds once it
	// serves a registry (the snapshots were made before).
	var m0, m1, m2 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	s, err := New(Config{}, nil, prometheus.NewRegistry())
	require.NoError(b, err)
	require.NoError(b, s.SetSnapshot(context.Background(), snaps[1]))
	runtime.GC()
	runtime.ReadMemStats(&m1)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		serial := s.Serial()
		require.NoError(b, s.SetSnapshot(context.Background(), snaps[i%2]))
		if s.Serial() == serial {
			b.Fatal("the zone did not change")
		}
		i++
	}
	runtime.ReadMemStats(&m2)
	// At most the steady state plus everything a reload allocates (as if
	// none of it were garbage before the reload ends).
	steady := float64(m1.HeapAlloc - m0.HeapAlloc)
	perReload := float64(m2.TotalAlloc-m1.TotalAlloc) / float64(i)
	b.ReportMetric(steady/(1<<20), "steady-MiB")
	b.ReportMetric((steady+perReload)/steady, "peak/steady")
}

// BenchmarkSetSnapshotOneRecord is a reload that changes one record of
// the full registry (a description, alternately changed and changed
// back): applied as a difference, it builds again only the owners that
// depend on the record and packs their answers.
func BenchmarkSetSnapshotOneRecord(b *testing.B) {
	src, err := registry.LoadFile(context.Background(), testutil.SharedFile(b, "iana", "service-names-port-numbers.xml"), "")
	require.NoError(b, err)
	var snaps [2]*registry.Snapshot
	for i := range snaps {
		c := *src
		c.Records = slices.Clone(src.Records)
		if i == 1 {
			r := &c.Records[len(c.Records)/2]
			r.Description += " (changed)"
		}
		snaps[i], err = registry.Build(&c)
		require.NoError(b, err)
	}
	for _, bc := range []struct {
		name string
		cfg  Config
	}{
		{"served", Config{}},
		// As the daemon runs it: the zone and its journal kept on disk.
		{"journal_file", Config{JournalFile: filepath.Join(b.TempDir(), "journal")}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s, err := New(bc.cfg, nil, prometheus.NewRegistry())
			require.NoError(b, err)
			require.NoError(b, s.SetSnapshot(context.Background(), snaps[0]))
			b.ReportAllocs()
			i := 1
			for b.Loop() {
				serial := s.Serial()
				require.NoError(b, s.SetSnapshot(context.Background(), snaps[i%2]))
				if s.Serial() == serial {
					b.Fatal("the zone did not change")
				}
				i++
			}
		})
	}
}

// benchWriter is a dns.ResponseWriter that discards what it is given.
type benchWriter struct{ n int }

func (w *benchWriter) LocalAddr() net.Addr { return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53} }
func (w *benchWriter) RemoteAddr() net.Addr {
	return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
}
func (w *benchWriter) WriteMsg(*dns.Msg) error     { w.n++; return nil }
func (w *benchWriter) Write(b []byte) (int, error) { w.n++; return len(b), nil }
func (w *benchWriter) Close() error                { return nil }
func (w *benchWriter) TsigStatus() error           { return nil }
func (w *benchWriter) TsigTimersOnly(bool)         {}
func (w *benchWriter) Hijack()                     {}

// BenchmarkServeDNSHandler measures the dns.Handler entry point used when
// the server is embedded in a miekg/dns server: it packs the *dns.Msg
// first, which the listeners never do.
func BenchmarkServeDNSHandler(b *testing.B) {
	s, err := New(Config{}, nil, prometheus.NewRegistry())
	require.NoError(b, err)
	require.NoError(b, s.SetSnapshot(context.Background(), benchSnap(b)))
	m := new(dns.Msg)
	m.SetQuestion("_http._tcp.services.internal.", dns.TypeTXT)
	w := &benchWriter{}
	b.ReportAllocs()
	for b.Loop() {
		s.ServeDNS(w, m)
	}
	if w.n == 0 {
		b.Fatal("no response")
	}
}

// BenchmarkAXFRPack is packing the full registry zone for AXFR, which a
// server does when a secondary first asks for the zone at a serial.
func BenchmarkAXFRPack(b *testing.B) {
	s, err := New(Config{}, nil, prometheus.NewRegistry())
	require.NoError(b, err)
	require.NoError(b, s.SetSnapshot(context.Background(), benchSnap(b)))
	b.ReportAllocs()
	for b.Loop() {
		s.reg.axfrDone = false
		msgs, _, err := s.regAXFR()
		require.NoError(b, err)
		require.NotEmpty(b, msgs)
	}
}
