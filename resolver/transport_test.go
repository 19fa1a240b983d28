package resolver_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/registry"
	"github.com/svcreg/svcreg/resolver"
)

// rcStart runs a server on 127.0.0.1:0 and returns it with its address.
func rcStart(t testing.TB, cfg resolver.Config, snap *registry.Snapshot, reg prometheus.Registerer) (*resolver.Server, string) {
	t.Helper()
	cfg.Listen = []string{"127.0.0.1:0"}
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	s, err := resolver.New(cfg, nil, reg)
	require.NoError(t, err)
	require.NoError(t, s.SetSnapshot(context.Background(), snap))
	require.NoError(t, s.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		assert.NoError(t, s.Shutdown(ctx))
	})
	return s, s.Addrs()[0].String()
}

// rcRawUDP sends pkt and collects every datagram that comes back within
// wait.
func rcRawUDP(t testing.TB, addr string, pkt []byte, wait time.Duration) [][]byte {
	t.Helper()
	c, err := net.Dial("udp", addr)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write(pkt)
	require.NoError(t, err)
	var out [][]byte
	buf := make([]byte, 65535)
	c.SetReadDeadline(time.Now().Add(wait))
	for {
		n, err := c.Read(buf)
		if err != nil {
			return out
		}
		out = append(out, append([]byte(nil), buf[:n]...))
	}
}

func rcMsg(name string, qtype uint16, edns uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	if edns > 0 {
		m.SetEdns0(edns, false)
	}
	return m
}

func TestServerTruncationAndEDNS(t *testing.T) {
	snap := rcIANA(t)
	// The whole enumeration, 41 KB: the largest answer there is.
	_, addr := rcStart(t, resolver.Config{EnumerateMaxRecords: -1}, snap, nil)
	udp := &dns.Client{Net: "udp", Timeout: 2 * time.Second}
	tcp := &dns.Client{Net: "tcp", Timeout: 5 * time.Second}
	sd := "_services._dns-sd._udp." + rcZ

	full, _, err := tcp.Exchange(rcMsg(sd, dns.TypePTR, 0), addr)
	require.NoError(t, err)
	assert.False(t, full.Truncated)
	assert.Greater(t, len(full.Answer), 1500, "DNS-SD types")
	assert.Less(t, len(full.Answer), 2000)
	full.Compress = true
	assert.LessOrEqual(t, full.Len(), dns.MaxMsgSize)

	for _, tc := range []struct {
		name  string
		edns  uint16
		limit int
	}{{"no EDNS", 0, 512}, {"EDNS 4096 capped at 1232", 4096, 1232}, {"EDNS 65535 capped", 65535, 1232}, {"EDNS 100 floored", 100, 512}} {
		t.Run(tc.name, func(t *testing.T) {
			q := rcMsg(sd, dns.TypePTR, tc.edns)
			b, err := q.Pack()
			require.NoError(t, err)
			replies := rcRawUDP(t, addr, b, 500*time.Millisecond)
			require.Len(t, replies, 1)
			assert.LessOrEqual(t, len(replies[0]), tc.limit)
			m := new(dns.Msg)
			require.NoError(t, m.Unpack(replies[0]))
			assert.True(t, m.Truncated)
			assert.Empty(t, m.Answer)
			assert.Equal(t, tc.edns > 0, m.IsEdns0() != nil)
		})
	}

	// An answer between 512 and 1232 bytes: truncated without EDNS,
	// whole with it. No IANA RRset is that size, so a registry with one.
	csv := "Service Name,Port Number,Transport Protocol,Description,Assignee,Contact,Registration Date,Modification Date,Reference,Service Code,Unauthorized Use Reported,Assignment Notes\n"
	for port := 7001; port <= 7004; port++ {
		csv += fmt.Sprintf("big,%d,tcp,%s,,,,,,,,\n", port, strings.Repeat("d", 180))
	}
	src, err := registry.ParseCSV(strings.NewReader(csv), "big.csv")
	require.NoError(t, err)
	bigSnap, err := registry.Build(src)
	require.NoError(t, err)
	_, addr2 := rcStart(t, resolver.Config{}, bigSnap, nil)
	mid := "_big._tcp." + rcZ
	r, _, err := tcp.Exchange(rcMsg(mid, dns.TypeTXT, 0), addr2)
	require.NoError(t, err)
	require.Len(t, r.Answer, 4)
	r, _, err = udp.Exchange(rcMsg(mid, dns.TypeTXT, 0), addr2)
	require.NoError(t, err)
	assert.True(t, r.Truncated, mid)
	r, _, err = udp.Exchange(rcMsg(mid, dns.TypeTXT, 1232), addr2)
	require.NoError(t, err)
	assert.False(t, r.Truncated, mid)
	assert.NotEmpty(t, r.Answer)
	require.NotNil(t, r.IsEdns0())
	assert.Equal(t, uint16(1232), r.IsEdns0().UDPSize())

	// BADVERS for EDNS version 1 (RFC 6891 section 6.1.3); unknown
	// options ignored; DO echoed.
	q := rcMsg("_http._tcp."+rcZ, dns.TypeSRV, 1232)
	q.IsEdns0().SetVersion(1)
	r, _, err = udp.Exchange(q, addr)
	require.NoError(t, err)
	assert.Equal(t, dns.RcodeBadVers, r.Rcode)
	assert.Equal(t, uint8(0), r.IsEdns0().Version())
	q = rcMsg("_http._tcp."+rcZ, dns.TypeSRV, 1232)
	q.IsEdns0().SetDo()
	q.IsEdns0().Option = append(q.IsEdns0().Option, &dns.EDNS0_LOCAL{Code: 65001, Data: []byte("junk")}, &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: "0102030405060708"})
	r, _, err = udp.Exchange(q, addr)
	require.NoError(t, err)
	assert.Equal(t, dns.RcodeSuccess, r.Rcode)
	assert.Len(t, r.Answer, 1)
	assert.True(t, r.IsEdns0().Do())
	// The unknown option is ignored; the cookie is answered with the
	// client's and a server cookie (RFC 7873).
	require.Len(t, r.IsEdns0().Option, 1)
	c, ok := r.IsEdns0().Option[0].(*dns.EDNS0_COOKIE)
	require.True(t, ok)
	assert.True(t, strings.HasPrefix(c.Cookie, "0102030405060708"))
	assert.Len(t, c.Cookie, 48)
}

func rcValid(n string) bool {
	for _, c := range n {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return n != ""
}

// TestIANAAnswersMatchZone queries every RRset of the full registry's zone
// and checks the server answers exactly that RRset: the answer table and
// the zone content cannot drift apart.
func TestIANAAnswersMatchZone(t *testing.T) {
	snap := rcIANA(t)
	s := rcServer(t, resolver.Config{}, snap)
	rrs, err := resolver.ZoneRRs(snap, resolver.Config{})
	require.NoError(t, err)
	require.Equal(t, dns.TypeSOA, rrs[0].Header().Rrtype)
	assert.Equal(t, rrs[0].(*dns.SOA).Serial, s.Serial())
	type key struct {
		name string
		t    uint16
	}
	sets := map[key][]dns.RR{}
	var order []key
	for _, rr := range rrs {
		k := key{rr.Header().Name, rr.Header().Rrtype}
		if sets[k] == nil {
			order = append(order, k)
		}
		sets[k] = append(sets[k], rr)
	}
	for _, k := range order {
		rec := rcQuery(s, rcMsg(k.name, k.t, 0), true, "")
		require.Len(t, rec.msgs, 1)
		m := rec.msgs[0]
		require.Equal(t, dns.RcodeSuccess, m.Rcode, "%s %s", k.name, dns.TypeToString[k.t])
		require.Equal(t, rcNorm(sets[k]), rcNorm(m.Answer), "%s %s", k.name, dns.TypeToString[k.t])
	}
	// Port answers agree with the registry for a spread of ports.
	for port := 0; port <= 65535; port += 997 {
		for _, p := range []registry.Protocol{registry.ProtoTCP, registry.ProtoUDP} {
			name := fmt.Sprintf("_%d._%s.%s", port, p, rcZ)
			rec := rcQuery(s, rcMsg(name, dns.TypeTXT, 0), true, "")
			require.Len(t, rec.msgs[0].Answer, 1, name)
			txt := rec.msgs[0].Answer[0].(*dns.TXT).Txt
			assert.Equal(t, []string{fmt.Sprintf("port=%d", port), "proto=" + string(p), "status=" + snap.PortStatus(port, p).String()}, txt[:3], name)
		}
	}
}

func TestAXFR(t *testing.T) {
	snap := rcMini(t)
	_, addr := rcStart(t, resolver.Config{}, snap, nil)
	want, err := resolver.ZoneRRs(snap, resolver.Config{})
	require.NoError(t, err)

	tr := &dns.Transfer{}
	q := new(dns.Msg)
	q.SetAxfr("SERVICES.internal.")
	env, err := tr.In(q, addr)
	require.NoError(t, err)
	var got []dns.RR
	for e := range env {
		require.NoError(t, e.Error)
		got = append(got, e.RR...)
	}
	require.Equal(t, len(want)+1, len(got), "zone plus closing SOA")
	assert.Equal(t, rcNorm(append(want, want[0])), rcNorm(got))
	assert.Equal(t, dns.TypeSOA, got[len(got)-1].Header().Rrtype)

	// AXFR over UDP is refused (RFC 5936 section 4.2).
	r, _, err := (&dns.Client{Net: "udp"}).Exchange(q, addr)
	require.NoError(t, err)
	assert.Equal(t, dns.RcodeRefused, r.Rcode)
	// A transfer of another zone is refused.
	q2 := new(dns.Msg)
	q2.SetAxfr("_tcp." + rcZ)
	env, err = (&dns.Transfer{}).In(q2, addr)
	require.NoError(t, err)
	for e := range env {
		assert.Error(t, e.Error)
	}
}

func TestAXFRAllowList(t *testing.T) {
	_, addr := rcStart(t, resolver.Config{AXFRAllow: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}}, rcMini(t), nil)
	q := new(dns.Msg)
	q.SetAxfr(rcZ)
	r, _, err := (&dns.Client{Net: "tcp"}).Exchange(q, addr)
	require.NoError(t, err)
	assert.Equal(t, dns.RcodeRefused, r.Rcode)
	assert.Empty(t, r.Answer)
}

// rcSecondary is a fake secondary that records NOTIFYs; it ignores the
// first `ignore` of them to exercise retries.
type rcSecondary struct {
	mu      sync.Mutex
	serials []uint32
	ignore  int32
	seen    atomic.Int32
}

func (f *rcSecondary) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	if r.Opcode != dns.OpcodeNotify {
		return
	}
	if f.seen.Add(1) <= f.ignore {
		return
	}
	var serial uint32
	if len(r.Answer) == 1 {
		if soa, ok := r.Answer[0].(*dns.SOA); ok {
			serial = soa.Serial
		}
	}
	f.mu.Lock()
	f.serials = append(f.serials, serial)
	f.mu.Unlock()
	m := new(dns.Msg)
	m.SetReply(r)
	_ = w.WriteMsg(m) // a lost reply is what the retry tests exercise
}

func (f *rcSecondary) got() []uint32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]uint32(nil), f.serials...)
}

func rcRunSecondary(t *testing.T, h *rcSecondary) string {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &dns.Server{PacketConn: pc, Handler: h}
	go func() { _ = srv.ActivateAndServe() }() // returns when Shutdown closes pc
	t.Cleanup(func() { _ = srv.Shutdown() })
	return pc.LocalAddr().String()
}

func TestSerialAndNotify(t *testing.T) {
	sec := &rcSecondary{ignore: 2}
	target := rcRunSecondary(t, sec)
	reg := prometheus.NewRegistry()
	s, err := resolver.New(resolver.Config{Notify: []string{target}, NotifyTimeout: 50 * time.Millisecond}, nil, reg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	ctx := context.Background()
	wait := func(n int) {
		t.Helper()
		require.Eventually(t, func() bool { return len(sec.got()) >= n }, 5*time.Second, 10*time.Millisecond)
	}

	// Under the default content policy each serial is the one ZoneRRs
	// gives the data, unless that would not be newer than the last.
	contentSerial := func(snap *registry.Snapshot) uint32 {
		rrs, err := resolver.ZoneRRs(snap, resolver.Config{})
		require.NoError(t, err)
		return rrs[0].(*dns.SOA).Serial
	}
	mini := rcMini(t)
	require.NoError(t, s.SetSnapshot(ctx, mini))
	first := s.Serial()
	assert.Equal(t, contentSerial(mini), first)
	wait(1) // after two ignored attempts
	assert.Equal(t, []uint32{first}, sec.got())
	// The secondary records the NOTIFY before it answers: the count
	// follows the answer.
	require.Eventually(t, func() bool {
		return promtest.ToFloat64(rcCounter(t, reg, "svcreg_dns_notify_total", "result", "ok")) == 1
	}, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, 2.0, promtest.ToFloat64(rcCounter(t, reg, "svcreg_dns_notify_total", "result", "error")))

	// Same data again: serial kept, no NOTIFY.
	require.NoError(t, s.SetSnapshot(ctx, rcMini(t)))
	assert.Equal(t, first, s.Serial())

	// A newer registry date: the serial is its content serial.
	iana := rcIANA(t)
	require.NoError(t, s.SetSnapshot(ctx, iana))
	base := s.Serial()
	assert.Equal(t, contentSerial(iana), base)
	assert.Equal(t, uint32(20260817), base/100, "YYYYMMDDnn from the registry date")
	wait(2)
	// Back to the older extract: its content serial is older, so the
	// serial served is the last one + 1.
	require.NoError(t, s.SetSnapshot(ctx, mini))
	assert.Equal(t, base+1, s.Serial())
	wait(3)
	assert.Equal(t, []uint32{first, base, base + 1}, sec.got())
}

// rcCounter finds one labelled series of a metric family through the
// registry's Gather.
func rcCounter(t *testing.T, reg *prometheus.Registry, name, label, value string) prometheus.Collector {
	t.Helper()
	return &rcGathered{reg: reg, name: name, label: label, value: value}
}

type rcGathered struct {
	reg                *prometheus.Registry
	name, label, value string
}

func (g *rcGathered) Describe(chan<- *prometheus.Desc) {}
func (g *rcGathered) Collect(ch chan<- prometheus.Metric) {
	mfs, _ := g.reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() != g.name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == g.label && lp.GetValue() == g.value {
					ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(g.name, "", nil, nil), prometheus.CounterValue, m.GetCounter().GetValue())
				}
			}
		}
	}
}

// TestReloadSwapsSynthesisedPorts: a reload whose only difference is an
// unassigned range (not zone content) still changes the synthesised
// answers.
func TestReloadSwapsSynthesisedPorts(t *testing.T) {
	head := "Service Name,Port Number,Transport Protocol,Description,Assignee,Contact,Registration Date,Modification Date,Reference,Service Code,Unauthorized Use Reported,Assignment Notes\n" +
		"http,80,tcp,World Wide Web HTTP,,,,,,,,\n"
	build := func(csv string) *registry.Snapshot {
		src, err := registry.ParseCSV(strings.NewReader(csv), "r.csv")
		require.NoError(t, err)
		snap, err := registry.Build(src)
		require.NoError(t, err)
		return snap
	}
	s := rcServer(t, resolver.Config{}, build(head))
	ask := func() []string {
		rec := rcQuery(s, rcMsg("_273._tcp."+rcZ, dns.TypeTXT, 0), true, "")
		require.Len(t, rec.msgs[0].Answer, 1)
		return rec.msgs[0].Answer[0].(*dns.TXT).Txt
	}
	assert.Equal(t, []string{"port=273", "proto=tcp", "status=unassigned"}, ask())
	require.NoError(t, s.SetSnapshot(context.Background(), build(head+",272-279,tcp,Unassigned,,,,,,,,\n")))
	assert.Equal(t, []string{"port=273", "proto=tcp", "status=unassigned", "range=272-279"}, ask())
}

// TestIXFR: over UDP, or from a client already at our serial, an IXFR
// gets our SOA alone; from an older serial, the whole zone over TCP.
func TestIXFR(t *testing.T) {
	s, addr := rcStart(t, resolver.Config{}, rcMini(t), nil)
	ixfr := func(serial uint32) *dns.Msg {
		q := new(dns.Msg)
		q.SetIxfr(rcZ, serial, "ns1."+rcZ, "hostmaster."+rcZ)
		return q
	}
	r, _, err := (&dns.Client{Net: "udp"}).Exchange(ixfr(0), addr)
	require.NoError(t, err)
	require.Len(t, r.Answer, 1)
	assert.Equal(t, s.Serial(), r.Answer[0].(*dns.SOA).Serial)

	r, _, err = (&dns.Client{Net: "tcp"}).Exchange(ixfr(s.Serial()), addr)
	require.NoError(t, err)
	require.Len(t, r.Answer, 1, "up to date: SOA only")
	assert.Equal(t, dns.TypeIXFR, r.Question[0].Qtype)

	env, err := (&dns.Transfer{}).In(ixfr(s.Serial()-1), addr)
	require.NoError(t, err)
	n := 0
	for e := range env {
		require.NoError(t, e.Error)
		n += len(e.RR)
	}
	want, err := resolver.ZoneRRs(rcMini(t), resolver.Config{})
	require.NoError(t, err)
	assert.Equal(t, len(want)+1, n, "older serial: the full zone")
}

// TestEnumerationPolicy: by default _services._dns-sd._udp lists at most
// 100 types, those a service profile documents first, so resolvers with
// BIND's and PowerDNS's default record limits accept it; dns.enumerate
// all and none change the set.
func TestEnumerationPolicy(t *testing.T) {
	snap := rcIANA(t).WithProfiles(registry.BuiltinProfiles())
	ptrs := func(cfg resolver.Config) []string {
		t.Helper()
		rrs, err := resolver.ZoneRRs(snap, cfg)
		require.NoError(t, err)
		var out []string
		for _, rr := range rrs {
			if p, ok := rr.(*dns.PTR); ok && p.Hdr.Name == "_services._dns-sd._udp."+rcZ {
				out = append(out, p.Ptr)
			}
		}
		return out
	}
	def := ptrs(resolver.Config{})
	assert.Len(t, def, resolver.DefaultEnumerateMaxRecords)
	for _, typ := range []string{"_ipp._tcp.", "_airplay._tcp.", "_googlecast._tcp.", "_matterc._udp.", "_trel._udp.", "_smb._tcp."} {
		assert.Contains(t, def, typ+rcZ, "a profiled type is kept")
	}
	dnssd := ptrs(resolver.Config{EnumerateMaxRecords: -1})
	all := ptrs(resolver.Config{Enumerate: resolver.EnumerateAll, EnumerateMaxRecords: -1})
	assert.Greater(t, len(dnssd), 1500)
	assert.Greater(t, len(all), len(dnssd))
	assert.Empty(t, ptrs(resolver.Config{Enumerate: resolver.EnumerateNone}))
	assert.Len(t, ptrs(resolver.Config{EnumerateMaxRecords: 10}), 10)
	_, err := resolver.New(resolver.Config{Enumerate: "some"}, nil, prometheus.NewRegistry())
	assert.ErrorIs(t, err, resolver.ErrConfig)
}
