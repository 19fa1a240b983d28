package resolver

import (
	"context"
	"net/netip"
	"sync"
	"testing"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/svcreg/svcreg/registry"
)

var (
	fuzzOnce   sync.Once
	fuzzServer *Server
	fuzzErr    error
)

// fuzzSetup serves the registry extract in testdata (small, so each fuzz
// worker starts fast) with CHAOS answers on.
func fuzzSetup(t testing.TB) *Server {
	fuzzOnce.Do(func() {
		var src *registry.Source
		src, fuzzErr = registry.LoadFile(context.Background(), "testdata/mini.csv", "")
		if fuzzErr != nil {
			return
		}
		var snap *registry.Snapshot
		if snap, fuzzErr = registry.Build(src); fuzzErr != nil {
			return
		}
		fuzzServer, fuzzErr = New(Config{VersionBind: "svcreg", IDServer: "fuzz"}, nil, prometheus.NewRegistry())
		if fuzzErr == nil {
			fuzzErr = fuzzServer.SetSnapshot(context.Background(), snap)
		}
	})
	if fuzzErr != nil {
		t.Fatal(fuzzErr)
	}
	return fuzzServer
}

// FuzzRespond feeds arbitrary bytes to the query path as a UDP and as a
// TCP query: it must not panic, and a reply must parse, echo the ID and
// fit the size the query allows (512 without EDNS, the client's size
// capped at 1232 with it, 65535 over TCP).
func FuzzRespond(f *testing.F) {
	for _, q := range []struct {
		name  string
		qtype uint16
		edns  uint16
	}{
		{"_http._tcp.services.internal.", dns.TypeSRV, 0},
		{"_HTTP._tcp.services.internal.", dns.TypeTXT, 1232},
		{"_services._dns-sd._udp.services.internal.", dns.TypePTR, 4096},
		{"_273._tcp.services.internal.", dns.TypeTXT, 0},
		{"_80._udp.services.internal.", dns.TypePTR, 512},
		{"nope.services.internal.", dns.TypeA, 0},
		{"example.com.", dns.TypeA, 0},
		{"services.internal.", dns.TypeAXFR, 0},
		{"services.internal.", dns.TypeANY, 0},
	} {
		m := new(dns.Msg)
		m.SetQuestion(q.name, q.qtype)
		if q.edns > 0 {
			m.SetEdns0(q.edns, true)
		}
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	ix := new(dns.Msg)
	ix.SetIxfr("services.internal.", 1, "ns1.services.internal.", "hostmaster.services.internal.")
	b, _ := ix.Pack()
	f.Add(b)
	ch := new(dns.Msg)
	ch.SetQuestion("version.bind.", dns.TypeTXT)
	ch.Question[0].Qclass = dns.ClassCHAOS
	b, _ = ch.Pack()
	f.Add(b)
	f.Add([]byte{})
	f.Add([]byte{0xbe, 0xef, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1})
	f.Add([]byte{0xbe, 0xef, 0x28, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 6, 0, 1, 0, 0, 41, 0xff, 0xff, 0, 1, 0, 0, 0, 4, 0, 10, 0, 9})

	s := fuzzSetup(f)
	// A zone of SetZone below the registry zone, so that the longest-apex
	// choice runs on every input too.
	lan, err := dns.NewRR("_ipp._tcp.eth0.lan.services.internal. 10 IN PTR a._ipp._tcp.eth0.lan.services.internal.")
	if err != nil {
		f.Fatal(err)
	}
	if err := s.SetZone(context.Background(), ZoneConfig{Zone: "eth0.lan.services.internal."}, []dns.RR{lan}); err != nil {
		f.Fatal(err)
	}
	lq := new(dns.Msg)
	lq.SetQuestion("_ipp._tcp.eth0.lan.services.internal.", dns.TypePTR)
	b, _ = lq.Pack()
	f.Add(b)
	t := s.tab.Load()
	src := netip.MustParseAddr("127.0.0.1")
	f.Fuzz(func(tt *testing.T, q []byte) {
		for _, tcp := range []bool{false, true} {
			resp, res := s.respond(t, q, nil, tcp, src)
			if res.drop || res.axfr {
				if resp != nil {
					tt.Fatalf("drop/axfr with a response")
				}
				continue
			}
			var r request
			r.parse(q)
			limit := 65535
			if !tcp {
				limit = 512
				if r.edns {
					limit = int(min(max(r.bufSize, 512), 1232))
				}
			}
			if len(resp) > limit {
				tt.Fatalf("response %d bytes, limit %d (tcp=%v)", len(resp), limit, tcp)
			}
			m := new(dns.Msg)
			if err := m.Unpack(resp); err != nil {
				tt.Fatalf("response does not parse: %v\nquery %x\nresponse %x", err, q, resp)
			}
			if m.Id != uint16(q[0])<<8|uint16(q[1]) || !m.Response {
				tt.Fatalf("bad header: %v", m.MsgHdr)
			}
		}
	})
}
