package mdns

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/registry"
)

// fakeSource is the in-memory PacketSource: tests push datagrams and
// wait until the monitor has handled them.
type fakeSource struct{ pkts chan fakePkt }

type fakePkt struct {
	data []byte
	meta PacketMeta
	done chan struct{}
}

func newFakeSource() *fakeSource { return &fakeSource{pkts: make(chan fakePkt)} }

func (f *fakeSource) Serve(ctx context.Context, h PacketHandler) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case p := <-f.pkts:
			h(p.data, p.meta)
			close(p.done)
		}
	}
}

func (f *fakeSource) send(t *testing.T, m *dns.Msg, meta PacketMeta) {
	t.Helper()
	b, err := m.Pack()
	require.NoError(t, err)
	f.sendRaw(t, b, meta)
}

func (f *fakeSource) sendRaw(t *testing.T, b []byte, meta PacketMeta) {
	t.Helper()
	p := fakePkt{data: b, meta: meta, done: make(chan struct{})}
	select {
	case f.pkts <- p:
	case <-time.After(5 * time.Second):
		t.Fatal("monitor did not take the packet")
	}
	<-p.done
}

func rr(t *testing.T, s string) dns.RR {
	t.Helper()
	r, err := dns.NewRR(s)
	require.NoError(t, err)
	return r
}

// response builds an mDNS response as a well-behaved responder sends it
// (ID 0, AA, cache-flush on unique records).
func response(t *testing.T, answers, extra []string) *dns.Msg {
	t.Helper()
	m := &dns.Msg{MsgHdr: dns.MsgHdr{Response: true, Authoritative: true}}
	for _, s := range answers {
		m.Answer = append(m.Answer, rr(t, s))
	}
	for _, s := range extra {
		m.Extra = append(m.Extra, rr(t, s))
	}
	for _, r := range append(m.Answer, m.Extra...) {
		if _, shared := r.(*dns.PTR); !shared {
			r.Header().Class |= 0x8000
		}
	}
	return m
}

var goodMeta = PacketMeta{
	Source: netip.MustParseAddrPort("198.18.0.1:5353"), Interface: "lab0", HopLimit: 255,
}

func newTestMonitor(t *testing.T, src PacketSource, reg prometheus.Registerer, mod func(*MonitorConfig)) *Monitor {
	t.Helper()
	snap, err := registry.Build(registry.Builtin())
	require.NoError(t, err)
	cfg := MonitorConfig{Source: src, FlushInterval: 10 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	m, err := NewMonitor(cfg, registry.NewStore(snap), nil, reg)
	require.NoError(t, err)
	return m
}

func runMonitor(t *testing.T, m *Monitor) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err)
		case <-time.After(5 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
}

func instances(ads []Advertisement) []string {
	out := []string{}
	for _, a := range ads {
		out = append(out, a.Instance+" "+a.ServiceType())
	}
	return out
}

func findingKeys(fs []Finding) []string {
	out := []string{}
	for _, f := range fs {
		out = append(out, f.Rule+"/"+f.Instance+"/"+f.Evidence)
	}
	return out
}

func TestMonitorAnnouncementThenGoodbye(t *testing.T) {
	src := newFakeSource()
	reg := prometheus.NewRegistry()
	m := newTestMonitor(t, src, reg, nil)
	runMonitor(t, m)
	sub := m.Subscribe(t.Context())

	// The PTR arrives alone, then SRV+TXT, then the address: partial
	// records in three packets.
	src.send(t, response(t, []string{`_ipp._tcp.local. 4500 IN PTR Good\ Printer._ipp._tcp.local.`}, nil), goodMeta)
	src.send(t, response(t, []string{
		`Good\ Printer._ipp._tcp.local. 120 IN SRV 0 0 631 printer.local.`,
		`Good\ Printer._ipp._tcp.local. 4500 IN TXT "txtvers=1" "rp=ipp/print"`,
	}, nil), goodMeta)
	src.send(t, response(t, []string{`printer.local. 120 IN A 198.18.0.1`}, nil), goodMeta)
	// a query is counted, not stored
	q := new(dns.Msg)
	q.SetQuestion("_ipp._tcp.local.", dns.TypePTR)
	q.Id = 0
	src.send(t, q, goodMeta)
	src.sendRaw(t, []byte{1, 2, 3}, goodMeta)

	waitSignal(t, sub)
	ads := m.Advertisements()
	require.Equal(t, []string{"Good Printer _ipp._tcp"}, instances(ads))
	a := ads[0]
	assert.Equal(t, "printer.local.", a.Host)
	assert.Equal(t, uint16(631), a.Port)
	assert.Equal(t, []string{"txtvers=1", "rp=ipp/print"}, a.TXT)
	assert.Equal(t, []netip.Addr{netip.MustParseAddr("198.18.0.1")}, a.Addrs)
	assert.Equal(t, "lab0", a.Interface)
	assert.Empty(t, m.Findings(), "a registered, well-formed advertisement has no findings")

	assert.Equal(t, 3.0, testutil.ToFloat64(m.packets.WithLabelValues("response")))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.packets.WithLabelValues("query")))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.packets.WithLabelValues("malformed")))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.adsGauge))

	// RFC 6762 section 10.1: goodbye.
	src.send(t, response(t, []string{`_ipp._tcp.local. 0 IN PTR Good\ Printer._ipp._tcp.local.`}, nil), goodMeta)
	waitSignal(t, sub)
	assert.Empty(t, m.Advertisements())
	assert.Equal(t, 0.0, testutil.ToFloat64(m.adsGauge))
}

func waitSignal(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("no change signalled")
	}
}

func TestMonitorFindings(t *testing.T) {
	src := newFakeSource()
	reg := prometheus.NewRegistry()
	m := newTestMonitor(t, src, reg, nil)
	runMonitor(t, m)
	sub := m.Subscribe(t.Context())

	// An unregistered 16-character type, announced in one packet, with a
	// non-zero ID (mdns-packet) and a hop limit of 64 (mdns-packet).
	msg := response(t, []string{
		`_androidtvremote2._tcp.local. 4500 IN PTR tv._androidtvremote2._tcp.local.`,
		`tv._androidtvremote2._tcp.local. 120 IN SRV 0 0 6466 tv.local.`,
		`tv._androidtvremote2._tcp.local. 4500 IN TXT "bt=AA:BB"`,
	}, []string{`tv.local. 120 IN A 198.18.0.7`})
	msg.Id = 7
	meta := goodMeta
	meta.HopLimit = 64
	src.send(t, msg, meta)
	src.send(t, msg, meta) // repeated: packet findings are kept once
	waitSignal(t, sub)

	fs := m.Findings()
	rules := map[string]int{}
	for _, f := range fs {
		rules[f.Rule]++
		if f.Rule != "mdns-packet" {
			assert.Equal(t, "tv", f.Instance)
			assert.Equal(t, "_androidtvremote2._tcp", f.ServiceType)
		}
	}
	assert.Equal(t, 1, rules["name-syntax"], "findings: %v", findingKeys(fs))
	assert.Equal(t, 1, rules["unregistered"], "findings: %v", findingKeys(fs))
	assert.Equal(t, 2, rules["mdns-packet"], "ID and hop limit, once each: %v", findingKeys(fs))
	assert.Equal(t, 1.0, testutil.ToFloat64(m.findings.WithLabelValues("name-syntax", "error")))
	assert.Equal(t, 2.0, testutil.ToFloat64(m.findings.WithLabelValues("mdns-packet", "warning")))

	// the metric names are the contract's
	n, err := testutil.GatherAndCount(reg, "svcreg_mdns_packets_total", "svcreg_mdns_advertisements",
		"svcreg_mdns_findings_total", "svcreg_mdns_evictions_total")
	require.NoError(t, err)
	assert.GreaterOrEqual(t, n, 4)
}

// RFC 6762 section 10.2: a host that moves announces its new address with
// the cache-flush bit, and the old one goes.
func TestMonitorCacheFlushReplacesAddress(t *testing.T) {
	src := newFakeSource()
	m := newTestMonitor(t, src, nil, nil)
	runMonitor(t, m)
	meta := goodMeta
	meta.Received = time.Now()
	src.send(t, response(t, []string{
		`_ipp._tcp.local. 4500 IN PTR p._ipp._tcp.local.`,
		`p._ipp._tcp.local. 120 IN SRV 0 0 631 p.local.`,
		`p._ipp._tcp.local. 4500 IN TXT "txtvers=1"`,
	}, []string{`p.local. 120 IN A 198.18.0.1`}), meta)
	meta.Received = meta.Received.Add(2 * time.Second)
	src.send(t, response(t, []string{`p.local. 120 IN A 198.18.0.5`}, nil), meta)
	ads := m.Advertisements()
	require.Len(t, ads, 1)
	assert.Equal(t, []netip.Addr{netip.MustParseAddr("198.18.0.5")}, ads[0].Addrs)

	// without the bit (a shared record) the addresses accumulate
	msg := response(t, []string{`p.local. 120 IN A 198.18.0.6`}, nil)
	msg.Answer[0].Header().Class = dns.ClassINET
	meta.Received = meta.Received.Add(2 * time.Second)
	src.send(t, msg, meta)
	assert.Equal(t, []netip.Addr{netip.MustParseAddr("198.18.0.5"), netip.MustParseAddr("198.18.0.6")}, m.Advertisements()[0].Addrs)
}

// RFC 6763 section 7.1: a subtype's PTR may say goodbye alone; the
// instance stays. A goodbye of the main PTR removes the instance whatever
// subtype PTRs the packet also carries.
func TestMonitorSubtypeGoodbye(t *testing.T) {
	src := newFakeSource()
	m := newTestMonitor(t, src, nil, nil)
	runMonitor(t, m)
	src.send(t, response(t, []string{
		`_ipp._tcp.local. 4500 IN PTR p._ipp._tcp.local.`,
		`_printer._sub._ipp._tcp.local. 4500 IN PTR p._ipp._tcp.local.`,
		`_color._sub._ipp._tcp.local. 4500 IN PTR p._ipp._tcp.local.`,
		`p._ipp._tcp.local. 120 IN SRV 0 0 631 p.local.`,
	}, nil), goodMeta)
	require.Len(t, m.Advertisements(), 1)
	assert.Equal(t, []string{"_color", "_printer"}, m.Advertisements()[0].Subtypes)

	src.send(t, response(t, []string{`_color._sub._ipp._tcp.local. 0 IN PTR p._ipp._tcp.local.`}, nil), goodMeta)
	ads := m.Advertisements()
	require.Len(t, ads, 1, "a subtype goodbye keeps the instance")
	assert.Equal(t, []string{"_printer"}, ads[0].Subtypes)
	assert.Equal(t, uint32(4500), ads[0].TTL.Of(dns.TypePTR))

	src.send(t, response(t, []string{
		`_ipp._tcp.local. 0 IN PTR p._ipp._tcp.local.`,
		`_printer._sub._ipp._tcp.local. 4500 IN PTR p._ipp._tcp.local.`,
	}, nil), goodMeta)
	assert.Empty(t, m.Advertisements(), "the main PTR's goodbye removes the instance")

	// a subtype goodbye for an instance never seen creates nothing
	src.send(t, response(t, []string{`_x._sub._ipp._tcp.local. 0 IN PTR q._ipp._tcp.local.`}, nil), goodMeta)
	assert.Empty(t, m.Advertisements())
}

func TestMonitorBoundAndEvictionMetric(t *testing.T) {
	src := newFakeSource()
	reg := prometheus.NewRegistry()
	m := newTestMonitor(t, src, reg, func(c *MonitorConfig) { c.MaxInstances = 2 })
	runMonitor(t, m)
	for _, n := range []string{"a", "b", "c", "d"} {
		src.send(t, response(t, []string{`_http._tcp.local. 4500 IN PTR ` + n + `._http._tcp.local.`}, nil), goodMeta)
	}
	assert.Equal(t, []string{"c _http._tcp", "d _http._tcp"}, instances(m.Advertisements()))
	assert.Equal(t, 2.0, testutil.ToFloat64(m.evictions))
}

func TestMonitorRegistryReloadRevalidates(t *testing.T) {
	src := newFakeSource()
	empty, err := registry.Build(&registry.Source{Name: "empty"})
	require.NoError(t, err)
	snaps := registry.NewStore(empty)
	m, err := NewMonitor(MonitorConfig{Source: src, FlushInterval: 10 * time.Millisecond}, snaps, nil, nil)
	require.NoError(t, err)
	runMonitor(t, m)
	src.send(t, response(t, []string{
		`_ipp._tcp.local. 4500 IN PTR p._ipp._tcp.local.`,
		`p._ipp._tcp.local. 120 IN SRV 0 0 631 p.local.`,
		`p._ipp._tcp.local. 4500 IN TXT "txtvers=1"`,
	}, []string{`p.local. 120 IN A 198.18.0.1`}), goodMeta)
	assert.Contains(t, findingKeys(m.Findings()), "unregistered/p/_ipp")

	full, err := registry.Build(registry.Builtin())
	require.NoError(t, err)
	snaps.Swap(full)
	// the next packet picks the new snapshot up
	src.send(t, response(t, []string{`other.local. 120 IN A 198.18.0.9`}, nil), goodMeta)
	assert.NotContains(t, findingKeys(m.Findings()), "unregistered/p/_ipp")
}

func TestMonitorLearnsEnumeratedTypes(t *testing.T) {
	src := newFakeSource()
	m := newTestMonitor(t, src, nil, nil)
	runMonitor(t, m)
	src.send(t, response(t, []string{
		`_services._dns-sd._udp.local. 4500 IN PTR _ipp._tcp.local.`,
		`_services._dns-sd._udp.local. 4500 IN PTR _Weird.local.`,
		`_http._tcp.local. 4500 IN PTR x._http._tcp.local.`,
	}, nil), goodMeta)
	assert.Equal(t, []string{"_http._tcp", "_ipp._tcp"}, m.knownTypes())
}

func TestNewMonitorErrors(t *testing.T) {
	snaps := registry.NewStore(nil)
	_, err := NewMonitor(MonitorConfig{}, snaps, nil, nil)
	assert.ErrorIs(t, err, ErrNoInterface)
	_, err = NewMonitor(MonitorConfig{Interfaces: []string{"x"}}, nil, nil, nil)
	assert.Error(t, err)
	reg := prometheus.NewRegistry()
	_, err = NewMonitor(MonitorConfig{Interfaces: []string{"x"}}, snaps, nil, reg)
	require.NoError(t, err)
	_, err = NewMonitor(MonitorConfig{Interfaces: []string{"x"}}, snaps, nil, reg)
	assert.ErrorContains(t, err, "registering metrics", "a second monitor on one registry is refused")
	// Run with an interface that does not exist fails at once.
	m, err := NewMonitor(MonitorConfig{Interfaces: []string{"nonexistent0"}}, snaps, nil, nil)
	require.NoError(t, err)
	err = m.Run(t.Context())
	assert.ErrorIs(t, err, ErrNoInterface)
}

// fakeBrowser records what the Browser asks zeroconf for and answers the
// enumeration with types.
type fakeBrowser struct {
	mu      sync.Mutex
	browsed []string
	lookups []string
	types   []string
}

func (f *fakeBrowser) Browse(ctx context.Context, service, domain string, found func(string)) error {
	f.mu.Lock()
	f.browsed = append(f.browsed, service+"."+domain)
	f.mu.Unlock()
	if service == EnumerationType {
		for _, t := range f.types {
			found(t)
		}
	}
	<-ctx.Done()
	return nil
}

func (f *fakeBrowser) Lookup(_ context.Context, instance, service, domain string) error {
	f.mu.Lock()
	f.lookups = append(f.lookups, instance+"|"+service+"|"+domain)
	f.mu.Unlock()
	return nil
}

func TestBrowserRound(t *testing.T) {
	fb := &fakeBrowser{types: []string{"_ipp._tcp.local", "_http._tcp.local.", "_ipp._tcp.local", "not-a-type.local", "_x._udp"}}
	b := NewBrowser(fb, BrowserConfig{
		Window:     50 * time.Millisecond,
		KnownTypes: func() []string { return []string{"_airplay._tcp", "_http._tcp"} },
		Unresolved: func() []InstanceRef { return []InstanceRef{{"Good Printer", "_ipp._tcp", "local"}} },
	}, nil)
	got := b.Round(t.Context())
	assert.Equal(t, []string{"_airplay._tcp", "_http._tcp", "_ipp._tcp", "_x._udp"}, got)
	fb.mu.Lock()
	defer fb.mu.Unlock()
	assert.ElementsMatch(t, []string{"_services._dns-sd._udp.local", "_airplay._tcp.local", "_http._tcp.local",
		"_ipp._tcp.local", "_x._udp.local"}, fb.browsed, "each type once per round")
	assert.Equal(t, []string{"Good Printer|_ipp._tcp|local"}, fb.lookups)
}

func TestBrowserMaxTypes(t *testing.T) {
	fb := &fakeBrowser{types: []string{"_a._tcp", "_b._tcp", "_c._tcp"}}
	b := NewBrowser(fb, BrowserConfig{Window: 20 * time.Millisecond, MaxTypes: 2}, nil)
	assert.Len(t, b.Round(t.Context()), 2)
}

func TestBrowserRunRepeats(t *testing.T) {
	fb := &fakeBrowser{}
	b := NewBrowser(fb, BrowserConfig{Window: 10 * time.Millisecond, Interval: 20 * time.Millisecond}, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	require.Eventually(t, func() bool {
		fb.mu.Lock()
		defer fb.mu.Unlock()
		return len(fb.browsed) >= 3
	}, 2*time.Second, 5*time.Millisecond, "a Resolver browses once: the browser must start new rounds")
	cancel()
	assert.NoError(t, <-done)
}

func TestEscapeLabel(t *testing.T) {
	for raw, want := range map[string]string{
		"Good Printer": `Good\ Printer`,
		"Web.Thing":    `Web\.Thing`,
		`a\b`:          `a\\b`,
		"caf\xc3\xa9":  `caf\195\169`,
	} {
		got := escapeLabel(raw)
		assert.Equal(t, want, got)
		// miekg/dns packs it back to the raw bytes
		m := new(dns.Msg)
		m.SetQuestion(got+"._ipp._tcp.local.", dns.TypeSRV)
		b, err := m.Pack()
		require.NoError(t, err)
		assert.True(t, strings.Contains(string(b), raw), "%q packs to its raw bytes", raw)
	}
}

func TestNormalizeType(t *testing.T) {
	for in, want := range map[string]string{
		"_ipp._tcp.local": "_ipp._tcp", "_ipp._tcp.local.": "_ipp._tcp", "_ipp._tcp": "_ipp._tcp",
		"_IPP._TCP.LOCAL": "_IPP._TCP", "ipp._tcp.local": "", "_a._b._tcp.local": "", "": "",
	} {
		assert.Equal(t, want, normalizeType(in, "local"), in)
	}
}

func lanAnnouncement(tb testing.TB, instance string) []byte {
	m := &dns.Msg{MsgHdr: dns.MsgHdr{Response: true, Authoritative: true}}
	name := escapeLabel(instance) + "._ipp._tcp.local."
	for _, s := range []string{
		"_ipp._tcp.local. 4500 IN PTR " + name,
		name + " 120 IN SRV 0 0 631 printer.local.",
		name + ` 4500 IN TXT "txtvers=1" "rp=ipp/print" "ty=Office" "note=Hall" "pdl=application/pdf" "qtotal=1"`,
		"printer.local. 120 IN A 198.18.0.1",
	} {
		r, err := dns.NewRR(s)
		if err != nil {
			tb.Fatal(err)
		}
		m.Answer = append(m.Answer, r)
	}
	b, err := m.Pack()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// A repeated announcement is not validated again; a change and a
// registry reload are, once. Packets that share the monitor's reused
// assembly state do not disturb what the store keeps.
func TestMonitorValidatesOncePerChange(t *testing.T) {
	snap, err := registry.Build(registry.Builtin())
	require.NoError(t, err)
	snaps := registry.NewStore(snap)
	m, err := NewMonitor(MonitorConfig{Source: newFakeSource()}, snaps, nil, nil)
	require.NoError(t, err)
	calls := 0
	m.store = NewStore(StoreConfig{Validate: func(a *Advertisement) []Finding {
		calls++
		return m.validate(a)
	}})
	now := time.Now()
	meta := goodMeta
	meta.Received = now
	office := lanAnnouncement(t, "Office Printer")
	for range 10 {
		m.HandlePacket(office, meta)
		m.store.Flush(now)
	}
	assert.Equal(t, 1, calls, "validations of one advertisement announced ten times")

	// Another instance, through the same reused state.
	m.HandlePacket(lanAnnouncement(t, "Hall Printer"), meta)
	m.store.Flush(now)
	assert.Equal(t, 2, calls)
	ads := m.store.Advertisements(now)
	require.Len(t, ads, 2)
	for _, a := range ads {
		assert.Contains(t, []string{"Office Printer", "Hall Printer"}, a.Instance)
		assert.Equal(t, []string{"txtvers=1", "rp=ipp/print", "ty=Office", "note=Hall", "pdl=application/pdf", "qtotal=1"}, a.TXT)
		assert.Equal(t, "_ipp", a.Service)
	}

	// A reload revalidates everything, once.
	snaps.Swap(snap.WithProfiles(registry.BuiltinProfiles()))
	m.Reloaded()
	m.store.Flush(now)
	assert.Equal(t, 4, calls)
	m.HandlePacket(office, meta)
	m.store.Flush(now)
	assert.Equal(t, 4, calls, "no validation after the reload's")
}

// BenchmarkMonitorHandlePacket is the whole per-packet path of the LAN
// monitor: unpack, ValidatePacket, merge into the store and the address
// table (revalidation of the merged advertisement happens on flush, once
// per change, not per packet).
func BenchmarkMonitorHandlePacket(b *testing.B) {
	snap, err := registry.Build(registry.Builtin())
	require.NoError(b, err)
	m, err := NewMonitor(MonitorConfig{Source: newFakeSource()}, registry.NewStore(snap), nil, nil)
	require.NoError(b, err)
	pkt := lanAnnouncement(b, "Office Printer")
	benchRepeated(b, m, func(meta PacketMeta) { m.HandlePacket(pkt, meta) })
}

// benchRepeated measures handle on an announcement the store already
// holds (handled once and flushed before the loop).
func benchRepeated(b *testing.B, m *Monitor, handle func(PacketMeta)) {
	meta := goodMeta
	meta.Received = time.Now()
	handle(meta)
	m.store.Flush(meta.Received)
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		handle(meta)
	}
}

// BenchmarkMonitorRepeated is the path of an unchanged, repeated
// announcement after unpacking (miekg/dns's Unpack allocates on its own):
// assembly and a merge that changes nothing, so no validation. Target:
// under 1 us of CPU and no allocation.
func BenchmarkMonitorRepeated(b *testing.B) {
	m := benchMonitor(b)
	msg := new(dns.Msg)
	require.NoError(b, msg.Unpack(lanAnnouncement(b, "Office Printer")))
	benchRepeated(b, m, func(meta PacketMeta) { m.handleResponse(msg, meta) })
	if ads := m.Advertisements(); len(ads) != 1 {
		b.Fatal(len(ads))
	}
}

// BenchmarkMonitorRepeatedWire is the same repeated announcement from its
// wire bytes, as the listener hands it over: the unpacked message is
// remembered, so Unpack runs once.
func BenchmarkMonitorRepeatedWire(b *testing.B) {
	m := benchMonitor(b)
	pkt := lanAnnouncement(b, "Office Printer")
	benchRepeated(b, m, func(meta PacketMeta) { m.HandlePacket(pkt, meta) })
}

// BenchmarkMonitorNew is a new advertisement each time: assembly, merge
// and its one validation at the flush. One flush follows every 64 new
// advertisements, which then start again in an empty store (both costs
// are part of the figure), as on a LAN where 64 devices appear within one
// flush interval. Target: under 3 us of CPU.
func BenchmarkMonitorNew(b *testing.B) {
	m := benchMonitor(b)
	const distinct = 64
	msgs := make([]*dns.Msg, distinct)
	for i := range msgs {
		msgs[i] = new(dns.Msg)
		require.NoError(b, msgs[i].Unpack(lanAnnouncement(b, "Printer "+strconv.Itoa(i))))
	}
	meta := goodMeta
	meta.Received = time.Now()
	b.ReportAllocs()
	defer reportCPU(b)()
	i := 0
	for b.Loop() {
		m.handleResponse(msgs[i], meta)
		if i++; i == distinct {
			m.store.Flush(meta.Received)
			m.store = NewStore(StoreConfig{MaxInstances: 2 * distinct, Validate: m.validate})
			i = 0
		}
	}
}

// benchMonitor is a monitor on the full IANA registry with the profiles,
// as svcreg serve runs it.
func benchMonitor(b *testing.B) *Monitor {
	b.Helper()
	snap := benchSnapshot(b).WithProfiles(registry.BuiltinProfiles())
	m, err := NewMonitor(MonitorConfig{Source: newFakeSource(), MaxInstances: 10000}, registry.NewStore(snap), nil, nil)
	require.NoError(b, err)
	return m
}

// FuzzMonitorHandlePacket feeds arbitrary datagrams through the monitor:
// it must not panic, and the store must stay within its bound.
func FuzzMonitorHandlePacket(f *testing.F) {
	f.Add(lanAnnouncement(f, "Office Printer"))
	f.Add(lanAnnouncement(f, "Café Dot.Name"))
	f.Add([]byte{0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0})
	f.Add([]byte{})
	snap, err := registry.Build(registry.Builtin())
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, pkt []byte) {
		m, err := NewMonitor(MonitorConfig{Source: newFakeSource(), MaxInstances: 4}, registry.NewStore(snap), nil, nil)
		require.NoError(t, err)
		m.HandlePacket(pkt, goodMeta)
		m.HandlePacket(pkt, goodMeta)
		ads := m.Advertisements()
		require.LessOrEqual(t, len(ads), 4)
		_ = m.Findings()
	})
}

// TestMonitorUpGauge: svcreg_mdns_up is 0 for each interface before Run,
// 1 while it runs, and 0 again once it has stopped.
func TestMonitorUpGauge(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newTestMonitor(t, newFakeSource(), reg, func(c *MonitorConfig) { c.Interfaces = []string{"lab0"} })
	up := m.up.WithLabelValues("lab0")
	assert.Equal(t, 0.0, testutil.ToFloat64(up), "not running yet")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	require.Eventually(t, func() bool { return testutil.ToFloat64(up) == 1 }, 5*time.Second, 5*time.Millisecond, "running")
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	assert.Equal(t, 0.0, testutil.ToFloat64(up), "stopped")
}

// TestRegisterIdleMetrics: with no monitor the families still exist, at
// zero, so that alerts on them see values rather than an absence.
func TestRegisterIdleMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	require.NoError(t, RegisterIdleMetrics(reg))
	n, err := testutil.GatherAndCount(reg, "svcreg_mdns_packets_total", "svcreg_mdns_advertisements", "svcreg_mdns_evictions_total")
	require.NoError(t, err)
	assert.Equal(t, 5, n, "three packet results, the advertisement gauge and the eviction counter")
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`# HELP svcreg_mdns_advertisements Advertisements currently held.
# TYPE svcreg_mdns_advertisements gauge
svcreg_mdns_advertisements 0
`), "svcreg_mdns_advertisements"))
}

// errSource is a packet source whose listener fails at once.
type errSource struct{ err error }

func (e errSource) Serve(context.Context, PacketHandler) error { return e.err }

// TestMonitorStopped: Stopped says why Run ended on an error, and stays
// empty after a clean stop.
func TestMonitorStopped(t *testing.T) {
	broken := errors.New("reading lab0: network is down")
	m := newTestMonitor(t, errSource{broken}, nil, nil)
	assert.Empty(t, m.Stopped(), "not started")
	require.ErrorIs(t, m.Run(context.Background()), broken)
	assert.Equal(t, broken.Error(), m.Stopped())

	clean := newTestMonitor(t, newFakeSource(), nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.NoError(t, clean.Run(ctx))
	assert.Empty(t, clean.Stopped(), "a clean stop is no failure")
}

// The path of a repeated announcement neither validates (which would
// build this advertisement's findings) nor allocates.
func TestMonitorRepeatedAllocatesNothing(t *testing.T) {
	snap, err := registry.Build(registry.Builtin())
	require.NoError(t, err)
	m, err := NewMonitor(MonitorConfig{Source: newFakeSource()}, registry.NewStore(snap), nil, nil)
	require.NoError(t, err)
	msg := new(dns.Msg)
	require.NoError(t, msg.Unpack(lanAnnouncement(t, "Bad\\Name")))
	// Findings to build, were it validated: an unknown key and a bad value.
	txt := msg.Answer[2].(*dns.TXT)
	txt.Txt = append(txt.Txt, "colour=1", "txtvers=7")
	meta := goodMeta
	meta.Received = time.Now()
	m.handleResponse(msg, meta)
	m.store.Flush(meta.Received)
	require.NotEmpty(t, m.store.Advertisements(meta.Received)[0].Findings)
	assert.Zero(t, testing.AllocsPerRun(100, func() { m.handleResponse(msg, meta) }))
}

// A response repeated byte for byte is handled from its remembered
// unpacked message, from any sender; the memory of them stays bounded.
func TestMonitorUnpackCache(t *testing.T) {
	m := newTestMonitor(t, newFakeSource(), nil, nil)
	now := time.Now()
	pkt := lanAnnouncement(t, "Office Printer")
	meta := goodMeta
	meta.Received = now
	m.HandlePacket(pkt, meta)
	other := meta
	other.Source = netip.MustParseAddrPort("198.18.0.9:5353")
	m.HandlePacket(pkt, other)
	m.store.Flush(now)
	ads := m.store.Advertisements(now)
	require.Len(t, ads, 1)
	assert.Equal(t, other.Source, ads[0].Source, "the repeat's sender")
	assert.Len(t, m.unpacked.msgs, 1)
	assert.Equal(t, float64(2), testutil.ToFloat64(m.packetsRes[0]))

	for i := range 2 * maxUnpacked {
		m.HandlePacket(lanAnnouncement(t, "Printer "+strconv.Itoa(i)), meta)
	}
	assert.LessOrEqual(t, len(m.unpacked.msgs), maxUnpacked)
	m.HandlePacket([]byte{1, 2, 3}, meta) // malformed: never remembered
	assert.Nil(t, m.unpacked.get([]byte{1, 2, 3}))
}

// TestPacketFindingsAgeAndMakeRoom: a packet-level finding seen again
// stays, one not seen for PacketFindingRetention goes at the next flush,
// and past maxPacketFindings a new finding replaces the one seen least
// recently instead of being dropped.
func TestPacketFindingsAgeAndMakeRoom(t *testing.T) {
	now := t0
	m := newTestMonitor(t, newFakeSource(), prometheus.NewRegistry(), func(c *MonitorConfig) {
		c.Now = func() time.Time { return now }
	})
	finding := func(i int) []Finding {
		return []Finding{{Rule: RuleGoodbye, Severity: SeverityWarning, Instance: fmt.Sprintf("Device %d", i), Message: "expired"}}
	}
	at := func(d time.Duration) PacketMeta {
		return PacketMeta{Source: netip.MustParseAddrPort("198.18.0.9:5353"), Interface: "lab0", Received: t0.Add(d)}
	}
	instances := func() []string {
		var out []string
		for _, f := range m.Findings() {
			out = append(out, f.Instance)
		}
		return out
	}
	require.True(t, m.addPacketFindings(finding(1), at(0)))
	require.True(t, m.addPacketFindings(finding(2), at(0)))
	require.False(t, m.addPacketFindings(finding(2), at(50*time.Minute)), "seen again: not new")

	now = t0.Add(PacketFindingRetention + time.Minute)
	m.flush()
	require.Equal(t, []string{"Device 2"}, instances(), "Device 1 was last seen over an hour ago")

	for i := range maxPacketFindings + 10 {
		m.addPacketFindings(finding(100+i), at(PacketFindingRetention+time.Duration(i)*time.Millisecond))
	}
	got := instances()
	require.Len(t, got, maxPacketFindings)
	require.NotContains(t, got, "Device 2", "the least recently seen made room")
	require.Contains(t, got, fmt.Sprintf("Device %d", 100+maxPacketFindings+9), "the newest is kept")
	require.NotContains(t, got, "Device 100")
}
