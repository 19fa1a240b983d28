package resolver_test

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/internal/testutil"
	"github.com/svcreg/svcreg/registry"
	"github.com/svcreg/svcreg/resolver"
)

// rcCase is one query and the response it must get: RCODE, and the
// answer, authority and additional sections as RR literals (compared
// sorted, owner names case-folded). NoAA marks answers that must not
// claim authority (REFUSED).
type rcCase struct {
	Qname  string
	Qtype  uint16
	Qclass uint16 // 0: IN
	Rcode  int
	Answer []string
	Ns     []string
	Extra  []string
	NoAA   bool
}

// rcRecorder is a dns.ResponseWriter that keeps every message written.
type rcRecorder struct {
	tcp    bool
	remote string
	msgs   []*dns.Msg
	raw    [][]byte
}

func (r *rcRecorder) LocalAddr() net.Addr { return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53} }
func (r *rcRecorder) RemoteAddr() net.Addr {
	ip := net.ParseIP(r.remote)
	if ip == nil {
		ip = net.IPv4(127, 0, 0, 1)
	}
	if r.tcp {
		return &net.TCPAddr{IP: ip, Port: 40000}
	}
	return &net.UDPAddr{IP: ip, Port: 40000}
}
func (r *rcRecorder) WriteMsg(m *dns.Msg) error {
	b, err := m.Pack()
	if err != nil {
		return err
	}
	_, err = r.Write(b)
	return err
}
func (r *rcRecorder) Write(b []byte) (int, error) {
	m := new(dns.Msg)
	if err := m.Unpack(b); err != nil {
		return 0, err
	}
	r.raw = append(r.raw, append([]byte(nil), b...))
	r.msgs = append(r.msgs, m)
	return len(b), nil
}
func (r *rcRecorder) Close() error        { return nil }
func (r *rcRecorder) TsigStatus() error   { return nil }
func (r *rcRecorder) TsigTimersOnly(bool) {}
func (r *rcRecorder) Hijack()             {}

// rcSnap builds a snapshot from registry files.
func rcSnap(t testing.TB, paths ...string) *registry.Snapshot {
	t.Helper()
	var srcs []*registry.Source
	for _, p := range paths {
		src, err := registry.LoadFile(context.Background(), p, "")
		require.NoError(t, err)
		srcs = append(srcs, src)
	}
	snap, err := registry.Build(srcs...)
	require.NoError(t, err)
	return snap
}

var (
	rcIANAOnce sync.Once
	rcIANASnap *registry.Snapshot
)

// rcIANA is the full current IANA registry (shared data, parsed once).
func rcIANA(t testing.TB) *registry.Snapshot {
	t.Helper()
	p := testutil.SharedFile(t, "iana", "service-names-port-numbers.xml")
	rcIANAOnce.Do(func() { rcIANASnap = rcSnap(t, p) })
	require.NotNil(t, rcIANASnap)
	return rcIANASnap
}

// rcMini is a 60-row extract of the CSV in testdata with the documented
// examples: http and its duplicates, whois++/whoispp, sql*net/sql-net, x11's
// range, adisk (DNS-SD only), reserved and unassigned rows.
func rcMini(t testing.TB) *registry.Snapshot { return rcSnap(t, "testdata/mini.csv") }

// rcServer returns a loaded server that is not listening.
func rcServer(t testing.TB, cfg resolver.Config, snap *registry.Snapshot) *resolver.Server {
	t.Helper()
	s, err := resolver.New(cfg, nil, prometheus.NewRegistry())
	require.NoError(t, err)
	require.NoError(t, s.SetSnapshot(context.Background(), snap))
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return s
}

// rcQuery sends one query through ServeDNS and returns every message
// written (the caller checks there is exactly one).
func rcQuery(s *resolver.Server, q *dns.Msg, tcp bool, remote string) *rcRecorder {
	rec := &rcRecorder{tcp: tcp, remote: remote}
	s.ServeDNS(rec, q)
	return rec
}

func rcNorm(rrs []dns.RR) []string {
	out := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		if rr.Header().Rrtype == dns.TypeOPT {
			continue
		}
		rr = dns.Copy(rr)
		rr.Header().Name = strings.ToLower(rr.Header().Name)
		out = append(out, rr.String())
	}
	slices.Sort(out)
	return out
}

func rcParse(t testing.TB, lits []string) []string {
	t.Helper()
	rrs := make([]dns.RR, 0, len(lits))
	for _, l := range lits {
		rr, err := dns.NewRR(l)
		require.NoError(t, err, l)
		rrs = append(rrs, rr)
	}
	return rcNorm(rrs)
}

// rcCheck runs c against s over a TCP-like recorder (no truncation) and
// compares every section.
func rcCheck(t *testing.T, s *resolver.Server, c rcCase) {
	t.Helper()
	rcCheckWith(t, c, func(q *dns.Msg) *dns.Msg {
		rec := rcQuery(s, q, true, "")
		require.Len(t, rec.msgs, 1, "%s %s: one reply", c.Qname, dns.TypeToString[c.Qtype])
		return rec.msgs[0]
	})
}

// rcCheckNet runs c against a listening server with a miekg/dns client
// (netw "udp" with an EDNS buffer of 4096, or "tcp").
func rcCheckNet(t *testing.T, netw, addr string, c rcCase) {
	t.Helper()
	rcCheckWith(t, c, func(q *dns.Msg) *dns.Msg {
		if netw == "udp" {
			q.SetEdns0(4096, false)
		}
		r, _, err := (&dns.Client{Net: netw, Timeout: 5 * time.Second}).Exchange(q, addr)
		require.NoError(t, err)
		if netw == "udp" && c.Rcode != dns.RcodeFormatError {
			require.NotNil(t, r.IsEdns0(), "OPT echoed")
		}
		return r
	})
}

func rcCheckWith(t *testing.T, c rcCase, exchange func(*dns.Msg) *dns.Msg) {
	t.Helper()
	q := new(dns.Msg)
	q.SetQuestion(c.Qname, c.Qtype)
	if c.Qclass != 0 {
		q.Question[0].Qclass = c.Qclass
	}
	m := exchange(q)
	q.Extra = nil
	assert.Equal(t, q.Id, m.Id)
	assert.True(t, m.Response)
	assert.Equal(t, dns.RcodeToString[c.Rcode], dns.RcodeToString[m.Rcode], "%s %s rcode", c.Qname, dns.TypeToString[c.Qtype])
	assert.Equal(t, !c.NoAA, m.Authoritative, "AA")
	require.Len(t, m.Question, 1)
	assert.Equal(t, q.Question[0], m.Question[0], "question echoed as sent")
	assert.Equal(t, rcParse(t, c.Answer), rcNorm(m.Answer), "%s %s answer", c.Qname, dns.TypeToString[c.Qtype])
	assert.Equal(t, rcParse(t, c.Ns), rcNorm(m.Ns), "%s %s authority", c.Qname, dns.TypeToString[c.Qtype])
	assert.Equal(t, rcParse(t, c.Extra), rcNorm(m.Extra), "%s %s additional", c.Qname, dns.TypeToString[c.Qtype])
}

const (
	rcZ   = "services.internal."
	rcSOA = "services.internal. 300 IN SOA ns1.services.internal. hostmaster.services.internal. 2022020749 14400 3600 1209600 300"
	rcA   = "services.internal. 3600 IN A 127.0.0.1"
)

func TestServeDNSMini(t *testing.T) {
	s := rcServer(t, resolver.Config{}, rcMini(t))
	neg := []string{rcSOA}
	cases := []rcCase{
		// _name._proto SRV and TXT.
		{Qname: "_http._tcp." + rcZ, Qtype: dns.TypeSRV,
			Answer: []string{"_http._tcp.services.internal. 3600 IN SRV 0 0 80 services.internal."}, Extra: []string{rcA}},
		{Qname: "_HTTP._Tcp.Services.INTERNAL.", Qtype: dns.TypeTXT, Answer: []string{
			`_http._tcp.services.internal. 3600 IN TXT "name=http" "proto=tcp" "port=80" "status=assigned" "desc=World Wide Web HTTP" "txtkeys=u,p,path" "ref=RFC9110" "updated=2021-10-01"`}},
		{Qname: "_http._sctp." + rcZ, Qtype: dns.TypeSRV,
			Answer: []string{"_http._sctp.services.internal. 3600 IN SRV 0 0 80 services.internal."}, Extra: []string{rcA}},
		{Qname: "_www._udp." + rcZ, Qtype: dns.TypeTXT, Answer: []string{
			`_www._udp.services.internal. 3600 IN TXT "name=www" "proto=udp" "port=80" "status=duplicate" "desc=World Wide Web HTTP" "ref=RFC9110" "updated=2021-10-01" "alias-of=http"`}},
		// whois++ is not a DNS label: it answers through whoispp.
		{Qname: "_whoispp._tcp." + rcZ, Qtype: dns.TypeTXT, Answer: []string{
			`_whoispp._tcp.services.internal. 3600 IN TXT "name=whoispp" "proto=tcp" "port=63" "status=assigned" "desc=whois++ IANA assigned this well-formed service name as a replacement for \"whois++\"."`,
			`_whoispp._tcp.services.internal. 3600 IN TXT "name=whois++" "proto=tcp" "port=63" "status=alias" "desc=whois++" "alias-of=whoispp"`}},
		{Qname: "_whoispp._udp." + rcZ, Qtype: dns.TypeSRV,
			Answer: []string{"_whoispp._udp.services.internal. 3600 IN SRV 0 0 63 services.internal."}, Extra: []string{rcA}},
		{Qname: "_sql-net._tcp." + rcZ, Qtype: dns.TypeSRV, Answer: []string{
			"_sql-net._tcp.services.internal. 3600 IN SRV 0 0 66 services.internal.",
			"_sql-net._tcp.services.internal. 3600 IN SRV 0 0 150 services.internal."}, Extra: []string{rcA}},
		// A range gives its low port; TXT says ports=.
		{Qname: "_x11._tcp." + rcZ, Qtype: dns.TypeSRV,
			Answer: []string{"_x11._tcp.services.internal. 3600 IN SRV 0 0 6000 services.internal."}, Extra: []string{rcA}},
		{Qname: "_x11._udp." + rcZ, Qtype: dns.TypeTXT, Answer: []string{
			`_x11._udp.services.internal. 3600 IN TXT "name=x11" "proto=udp" "ports=6000-6063" "status=assigned" "desc=X Window System"`}},
		// DNS-SD-only: under both _tcp and _udp, NODATA for SRV.
		{Qname: "_adisk._tcp." + rcZ, Qtype: dns.TypeTXT, Answer: []string{
			`_adisk._tcp.services.internal. 3600 IN TXT "name=adisk" "status=assigned" "desc=Automatic Disk Discovery" "txtkeys=sys,dkX"`}},
		{Qname: "_adisk._udp." + rcZ, Qtype: dns.TypeTXT, Answer: []string{
			`_adisk._udp.services.internal. 3600 IN TXT "name=adisk" "status=assigned" "desc=Automatic Disk Discovery" "txtkeys=sys,dkX"`}},
		{Qname: "_adisk._tcp." + rcZ, Qtype: dns.TypeSRV, Ns: neg},
		{Qname: "_adisk._sctp." + rcZ, Qtype: dns.TypeTXT, Rcode: dns.RcodeNameError, Ns: neg},
		{Qname: "_nope._tcp." + rcZ, Qtype: dns.TypeTXT, Rcode: dns.RcodeNameError, Ns: neg},
		{Qname: "www._http._tcp." + rcZ, Qtype: dns.TypeTXT, Rcode: dns.RcodeNameError, Ns: neg},
		// Subtypes and empty non-terminals.
		{Qname: "_printer._sub._http._tcp." + rcZ, Qtype: dns.TypeTXT, Answer: []string{
			`_printer._sub._http._tcp.services.internal. 3600 IN TXT "subtype=printer" "service=http" "proto=tcp"`}},
		{Qname: "_printer._sub._http._tcp." + rcZ, Qtype: dns.TypePTR, Ns: neg},
		{Qname: "_scanner._sub._http._tcp." + rcZ, Qtype: dns.TypePTR, Rcode: dns.RcodeNameError, Ns: neg},
		{Qname: "_sub._http._tcp." + rcZ, Qtype: dns.TypeTXT, Ns: neg},
		{Qname: "_tcp." + rcZ, Qtype: dns.TypeA, Ns: neg},
		{Qname: "_dns-sd._udp." + rcZ, Qtype: dns.TypeTXT, Ns: neg},
		// Port labels: in the zone...
		{Qname: "_80._tcp." + rcZ, Qtype: dns.TypePTR, Answer: []string{
			"_80._tcp.services.internal. 3600 IN PTR _http._tcp.services.internal.",
			"_80._tcp.services.internal. 3600 IN PTR _www._tcp.services.internal.",
			"_80._tcp.services.internal. 3600 IN PTR _www-http._tcp.services.internal."}},
		// Record data keeps the zone's case whatever case the query has.
		{Qname: "_80._TCP.SERVICES.Internal.", Qtype: dns.TypePTR, Answer: []string{
			"_80._tcp.services.internal. 3600 IN PTR _http._tcp.services.internal.",
			"_80._tcp.services.internal. 3600 IN PTR _www._tcp.services.internal.",
			"_80._tcp.services.internal. 3600 IN PTR _www-http._tcp.services.internal."}},
		{Qname: "SERVICES.INTERNAL.", Qtype: dns.TypeNS, Answer: []string{"services.internal. 3600 IN NS ns1.services.internal."},
			Extra: []string{"ns1.services.internal. 3600 IN A 127.0.0.1"}},
		{Qname: "_80._tcp." + rcZ, Qtype: dns.TypeTXT, Answer: []string{
			`_80._tcp.services.internal. 3600 IN TXT "port=80" "proto=tcp" "status=assigned" "services=http,www,www-http"`}},
		{Qname: "_63._udp." + rcZ, Qtype: dns.TypePTR, Answer: []string{
			"_63._udp.services.internal. 3600 IN PTR _whoispp._udp.services.internal."}},
		{Qname: "_6003._tcp." + rcZ, Qtype: dns.TypeTXT, Answer: []string{
			`_6003._tcp.services.internal. 3600 IN TXT "port=6003" "proto=tcp" "status=assigned" "services=x11" "range=6000-6063"`}},
		{Qname: "_6063._udp." + rcZ, Qtype: dns.TypePTR, Answer: []string{
			"_6063._udp.services.internal. 3600 IN PTR _x11._udp.services.internal."}},
		{Qname: "_0._udp." + rcZ, Qtype: dns.TypeTXT, Answer: []string{
			`_0._udp.services.internal. 3600 IN TXT "port=0" "proto=udp" "status=reserved"`}},
		{Qname: "_51._dccp." + rcZ, Qtype: dns.TypeTXT, Answer: []string{
			`_51._dccp.services.internal. 3600 IN TXT "port=51" "proto=dccp" "status=reserved"`}},
		{Qname: "_49000._udp." + rcZ, Qtype: dns.TypeTXT, Answer: []string{
			`_49000._udp.services.internal. 3600 IN TXT "port=49000" "proto=udp" "status=reserved"`}},
		// ... and synthesised for any other port.
		{Qname: "_273._tcp." + rcZ, Qtype: dns.TypeTXT, Answer: []string{
			`_273._tcp.services.internal. 3600 IN TXT "port=273" "proto=tcp" "status=unassigned" "range=272-279"`}},
		{Qname: "_273._tcp." + rcZ, Qtype: dns.TypePTR, Ns: neg},
		{Qname: "_49000._tcp." + rcZ, Qtype: dns.TypeTXT, Answer: []string{
			`_49000._tcp.services.internal. 3600 IN TXT "port=49000" "proto=tcp" "status=unassigned"`}},
		{Qname: "_65535._SCTP." + rcZ, Qtype: dns.TypeANY, Answer: []string{
			`_65535._sctp.services.internal. 3600 IN TXT "port=65535" "proto=sctp" "status=dynamic"`}},
		{Qname: "_50000._udp." + rcZ, Qtype: dns.TypeTXT, Answer: []string{
			`_50000._udp.services.internal. 3600 IN TXT "port=50000" "proto=udp" "status=dynamic"`}},
		{Qname: "_65536._tcp." + rcZ, Qtype: dns.TypeTXT, Rcode: dns.RcodeNameError, Ns: neg},
		{Qname: "_080._tcp." + rcZ, Qtype: dns.TypeTXT, Rcode: dns.RcodeNameError, Ns: neg},
		{Qname: "_80._quic." + rcZ, Qtype: dns.TypeTXT, Rcode: dns.RcodeNameError, Ns: neg},
		{Qname: "x._273._tcp." + rcZ, Qtype: dns.TypeTXT, Rcode: dns.RcodeNameError, Ns: neg},
		// DNS-SD service type enumeration (RFC 6763 section 9).
		{Qname: "_services._dns-sd._udp." + rcZ, Qtype: dns.TypePTR, Answer: []string{
			"_services._dns-sd._udp.services.internal. 3600 IN PTR _http._tcp.services.internal.",
			"_services._dns-sd._udp.services.internal. 3600 IN PTR _http._udp.services.internal.",
			"_services._dns-sd._udp.services.internal. 3600 IN PTR _adisk._tcp.services.internal.",
			"_services._dns-sd._udp.services.internal. 3600 IN PTR _adisk._udp.services.internal."}},
		// Apex.
		{Qname: rcZ, Qtype: dns.TypeSOA, Answer: []string{
			"services.internal. 3600 IN SOA ns1.services.internal. hostmaster.services.internal. 2022020749 14400 3600 1209600 300"}},
		{Qname: rcZ, Qtype: dns.TypeNS, Answer: []string{"services.internal. 3600 IN NS ns1.services.internal."},
			Extra: []string{"ns1.services.internal. 3600 IN A 127.0.0.1"}},
		{Qname: rcZ, Qtype: dns.TypeTXT, Answer: []string{
			`services.internal. 3600 IN TXT "registry-updated=unknown" "records=25" "services=9"`}},
		{Qname: rcZ, Qtype: dns.TypeA, Answer: []string{rcA}},
		{Qname: rcZ, Qtype: dns.TypeAAAA, Ns: neg},
		{Qname: rcZ, Qtype: dns.TypeANY, Answer: []string{ // RFC 8482: one RRset
			"services.internal. 3600 IN SOA ns1.services.internal. hostmaster.services.internal. 2022020749 14400 3600 1209600 300"}},
		{Qname: "_http._tcp." + rcZ, Qtype: dns.TypeANY, Answer: []string{
			`_http._tcp.services.internal. 3600 IN TXT "name=http" "proto=tcp" "port=80" "status=assigned" "desc=World Wide Web HTTP" "txtkeys=u,p,path" "ref=RFC9110" "updated=2021-10-01"`}},
		{Qname: "ns1." + rcZ, Qtype: dns.TypeA, Answer: []string{"ns1.services.internal. 3600 IN A 127.0.0.1"}},
		// Off-zone, other classes.
		{Qname: "example.com.", Qtype: dns.TypeA, Rcode: dns.RcodeRefused, NoAA: true},
		{Qname: "internal.", Qtype: dns.TypeSOA, Rcode: dns.RcodeRefused, NoAA: true},
		{Qname: "services.internal.example.", Qtype: dns.TypeSOA, Rcode: dns.RcodeRefused, NoAA: true},
		{Qname: "xservices.internal.", Qtype: dns.TypeSOA, Rcode: dns.RcodeRefused, NoAA: true},
		{Qname: ".", Qtype: dns.TypeNS, Rcode: dns.RcodeRefused, NoAA: true},
		{Qname: "version.bind.", Qtype: dns.TypeTXT, Qclass: dns.ClassCHAOS, Rcode: dns.RcodeRefused, NoAA: true},
		{Qname: rcZ, Qtype: dns.TypeSOA, Qclass: dns.ClassHESIOD, Rcode: dns.RcodeRefused, NoAA: true},
		{Qname: rcZ, Qtype: dns.TypeSOA, Qclass: dns.ClassANY, Rcode: dns.RcodeRefused, NoAA: true},
		// Zone transfer needs TCP (this recorder is TCP) and the allow-list
		// (loopback): IXFR over UDP is refused in TestServeDNSTransport.
	}
	for _, c := range cases {
		t.Run(c.Qname+"/"+dns.TypeToString[c.Qtype], func(t *testing.T) { rcCheck(t, s, c) })
	}
	// The same table against a listening server, over UDP and TCP.
	_, addr := rcStart(t, resolver.Config{}, rcMini(t), nil)
	for _, netw := range []string{"udp", "tcp"} {
		for _, c := range cases {
			t.Run(netw+"/"+c.Qname+"/"+dns.TypeToString[c.Qtype], func(t *testing.T) { rcCheckNet(t, netw, addr, c) })
		}
	}
}

func TestServeDNSChaosAndConfig(t *testing.T) {
	cfg := resolver.Config{Zone: "Svc.Example", VersionBind: `svcreg "test"`, IDServer: "ns-a",
		TTL: 60, NegTTL: 30, Target: "host.example.", NS: []string{"a.ns.example.", "ns1.svc.example."},
		Mbox: "dns.example.", Addresses: []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")}}
	s := rcServer(t, cfg, rcMini(t))
	soaNeg := "svc.example. 30 IN SOA a.ns.example. dns.example. 2022020756 14400 3600 1209600 30"
	for _, c := range []rcCase{
		{Qname: "version.bind.", Qtype: dns.TypeTXT, Qclass: dns.ClassCHAOS, Answer: []string{`version.bind. 0 CH TXT "svcreg \"test\""`}},
		{Qname: "ID.SERVER.", Qtype: dns.TypeTXT, Qclass: dns.ClassCHAOS, Answer: []string{`id.server. 0 CH TXT "ns-a"`}},
		{Qname: "hostname.bind.", Qtype: dns.TypeTXT, Qclass: dns.ClassCHAOS, Rcode: dns.RcodeRefused, NoAA: true},
		{Qname: "version.bind.", Qtype: dns.TypeA, Qclass: dns.ClassCHAOS, Rcode: dns.RcodeRefused, NoAA: true},
		{Qname: "_http._tcp.svc.example.", Qtype: dns.TypeSRV,
			Answer: []string{"_http._tcp.svc.example. 60 IN SRV 0 0 80 host.example."}},
		{Qname: "svc.example.", Qtype: dns.TypeNS,
			Answer: []string{"svc.example. 60 IN NS a.ns.example.", "svc.example. 60 IN NS ns1.svc.example."},
			Extra:  []string{"ns1.svc.example. 60 IN A 192.0.2.1", "ns1.svc.example. 60 IN AAAA 2001:db8::1"}},
		{Qname: "svc.example.", Qtype: dns.TypeAAAA, Answer: []string{"svc.example. 60 IN AAAA 2001:db8::1"}},
		{Qname: "_nope._tcp.svc.example.", Qtype: dns.TypeSRV, Rcode: dns.RcodeNameError, Ns: []string{soaNeg}},
		{Qname: "_http._tcp.services.internal.", Qtype: dns.TypeSRV, Rcode: dns.RcodeRefused, NoAA: true},
	} {
		t.Run(c.Qname+"/"+dns.TypeToString[c.Qtype], func(t *testing.T) { rcCheck(t, s, c) })
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for name, cfg := range map[string]resolver.Config{
		"zone":     {Zone: "bad..zone"},
		"udp size": {UDPSize: 100},
		"notify":   {Notify: []string{"no-port"}},
		"rrl":      {RRLRate: -1},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := resolver.New(cfg, nil, prometheus.NewRegistry())
			require.ErrorIs(t, err, resolver.ErrConfig)
		})
	}
}

// Answer gives what a client gets, for displays, and does not count as a
// query.
func TestAnswer(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, err := resolver.New(resolver.Config{}, nil, reg)
	require.NoError(t, err)
	_, _, err = s.Answer("_http._tcp.services.internal.", dns.TypeSRV)
	require.ErrorIs(t, err, resolver.ErrNoData)
	require.NoError(t, s.SetSnapshot(context.Background(), rcMini(t)))

	rrs, rcode, err := s.Answer("_http._tcp.services.internal", dns.TypeSRV)
	require.NoError(t, err)
	assert.Equal(t, dns.RcodeSuccess, rcode)
	require.NotEmpty(t, rrs)
	srv, ok := rrs[0].(*dns.SRV)
	require.True(t, ok, "%v", rrs[0])
	assert.Equal(t, uint16(80), srv.Port)
	n, _ := rcMetric(t, reg, "svcreg_dns_requests_total", nil)
	assert.Zero(t, n, "Answer is not a query")

	// The same as a query through ServeDNS says.
	q := new(dns.Msg)
	q.SetQuestion("_http._tcp.services.internal.", dns.TypeSRV)
	rec := rcQuery(s, q, true, "127.0.0.1:5353")
	require.Len(t, rec.msgs, 1)
	assert.Equal(t, rec.msgs[0].Answer[0].String(), rrs[0].String())

	_, rcode, err = s.Answer("_nosuch._tcp.services.internal.", dns.TypeSRV)
	require.NoError(t, err)
	assert.Equal(t, dns.RcodeNameError, rcode)
	_, _, err = s.Answer("bad..name", dns.TypeSRV)
	assert.Error(t, err)
}
