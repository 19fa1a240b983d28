package mdns

import (
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite the packet fixtures in testdata/mdns from their builders")

// fixtureDir holds the packet fixtures; the repository keeps test data at
// the top (testdata/mdns).
var fixtureDir = testutil.Testdata("mdns")

// pktRR parses one record in zone syntax; flush sets the cache-flush bit.
func pktRR(t testing.TB, s string, flush bool) dns.RR {
	t.Helper()
	r, err := dns.NewRR(s)
	require.NoError(t, err, s)
	if flush {
		r.Header().Class |= cacheFlush
	}
	return r
}

// pktResponse is an mDNS response header as RFC 6762 section 18 wants it.
func pktResponse(answer, extra []dns.RR) *dns.Msg {
	m := new(dns.Msg)
	m.Response, m.Authoritative = true, true
	m.Answer, m.Extra = answer, extra
	return m
}

// announcement is the typical announcement of the benchmark: PTR, SRV,
// TXT with six keys, A.
func announcement(t testing.TB) *dns.Msg {
	return pktResponse([]dns.RR{
		pktRR(t, `_ipp._tcp.local. 4500 IN PTR Office\ Printer._ipp._tcp.local.`, false),
		pktRR(t, `Office\ Printer._ipp._tcp.local. 120 IN SRV 0 0 631 printer.local.`, true),
		pktRR(t, `Office\ Printer._ipp._tcp.local. 4500 IN TXT "txtvers=1" "rp=ipp/print" "ty=Office" "qtotal=1" "pdl=application/pdf" "note=2nd floor"`, true),
	}, []dns.RR{
		pktRR(t, `printer.local. 120 IN A 192.0.2.10`, true),
	})
}

type packetCase struct {
	file   string
	build  func(t testing.TB) []byte // wire bytes
	unpack bool                      // false: the fixture is malformed and Unpack must fail
	ads    []adWant
	packet []want // mdns-packet findings (evidence)
}

// adWant is what a case asserts of one advertisement.
type adWant struct {
	Instance, Service, Proto, Host string
	Port                           uint16
	Subtypes                       []string
	TXT                            []string
	Addrs                          []string
	Findings                       []want
}

func pack(t testing.TB, m *dns.Msg) []byte {
	t.Helper()
	b, err := m.Pack()
	require.NoError(t, err)
	return b
}

func packetCases() []packetCase {
	good := adWant{Instance: "Office Printer", Service: "_ipp", Proto: "_tcp", Host: "printer.local.", Port: 631,
		TXT:   []string{"txtvers=1", "rp=ipp/print", "ty=Office", "qtotal=1", "pdl=application/pdf", "note=2nd floor"},
		Addrs: []string{"192.0.2.10"}}
	withFindings := func(a adWant, f ...want) adWant { a.Findings = f; return a }
	return []packetCase{
		{file: "announce.bin", unpack: true, build: func(t testing.TB) []byte { return pack(t, announcement(t)) },
			ads: []adWant{good}},
		{file: "announce-v6-subtype.bin", unpack: true, build: func(t testing.TB) []byte {
			m := announcement(t)
			m.Answer = append(m.Answer, pktRR(t, `_universal._sub._ipp._tcp.local. 4500 IN PTR Office\ Printer._ipp._tcp.local.`, false),
				pktRR(t, `_color._sub._ipp._tcp.local. 4500 IN PTR Office\ Printer._ipp._tcp.local.`, false))
			m.Extra = append(m.Extra, pktRR(t, `printer.local. 120 IN AAAA 2001:db8::10`, true),
				pktRR(t, `other.local. 120 IN A 192.0.2.99`, true))
			return pack(t, m)
		}, ads: []adWant{func() adWant {
			a := withFindings(good, want{RuleSubtype, SeverityInfo, "_color"})
			a.Subtypes = []string{"_universal", "_color"}
			a.Addrs = []string{"192.0.2.10", "2001:db8::10"}
			return a
		}()}},
		{file: "goodbye.bin", unpack: true, build: func(t testing.TB) []byte {
			return pack(t, pktResponse([]dns.RR{pktRR(t, `_ipp._tcp.local. 0 IN PTR Office\ Printer._ipp._tcp.local.`, false)}, nil))
		}, ads: []adWant{{Instance: "Office Printer", Service: "_ipp", Proto: "_tcp"}}},
		{file: "bad-header.bin", unpack: true, build: func(t testing.TB) []byte {
			m := announcement(t)
			m.Id, m.Authoritative, m.Rcode = 0x1234, false, dns.RcodeServerFailure
			m.Opcode, m.Truncated = dns.OpcodeUpdate, true
			return pack(t, m)
		}, ads: []adWant{good}, packet: []want{{RuleMDNSPacket, SeverityWarning, "id=4660"},
			{RuleMDNSPacket, SeverityWarning, "opcode=5"}, {RuleMDNSPacket, SeverityWarning, "aa=0"},
			{RuleMDNSPacket, SeverityWarning, "tc=1"}, {RuleMDNSPacket, SeverityWarning, "rcode=2"}}},
		{file: "cache-flush-ptr.bin", unpack: true, build: func(t testing.TB) []byte {
			m := announcement(t)
			m.Answer[0].Header().Class |= cacheFlush
			// Reverse-mapping PTRs are unique records: cache-flush is right there.
			m.Extra = append(m.Extra, pktRR(t, `10.2.0.192.in-addr.arpa. 120 IN PTR printer.local.`, true))
			return pack(t, m)
		}, ads: []adWant{good}, packet: []want{{RuleMDNSPacket, SeverityWarning, "class 0x8001"}}},
		{file: "escaped-name.bin", unpack: true, build: func(t testing.TB) []byte {
			// A dot, a space and UTF-8 in the instance label, and a TXT
			// value with a quote and a backslash: all raw after assembly.
			return pack(t, pktResponse([]dns.RR{
				pktRR(t, `_http._tcp.local. 4500 IN PTR B\195\188ro\.Drucker\ 2._http._tcp.local.`, false),
				pktRR(t, `B\195\188ro\.Drucker\ 2._http._tcp.local. 120 IN SRV 0 0 80 buero.local.`, true),
				pktRR(t, `B\195\188ro\.Drucker\ 2._http._tcp.local. 4500 IN TXT "path=/a\"b\\c"`, true),
				pktRR(t, `buero.local. 120 IN A 192.0.2.20`, true),
			}, nil))
		}, ads: []adWant{{Instance: "Büro.Drucker 2", Service: "_http", Proto: "_tcp", Host: "buero.local.", Port: 80,
			TXT: []string{`path=/a"b\c`}, Addrs: []string{"192.0.2.20"}}}},
		{file: "bad-txt.bin", unpack: true, build: func(t testing.TB) []byte {
			m := announcement(t)
			m.Answer[2] = pktRR(t, `Office\ Printer._ipp._tcp.local. 4500 IN TXT "rp=ipp/print" "=orphan" "RP=again" "k\001=1" "txtvers=1"`, true)
			return pack(t, m)
		}, ads: []adWant{func() adWant {
			a := withFindings(good, want{RuleTXTUnknownKey, SeverityInfo, "k\x01"},
				want{RuleTXTFormat, SeverityError, "=orphan"}, want{RuleTXTFormat, SeverityWarning, "RP"},
				want{RuleTXTFormat, SeverityError, "k\x01"}, want{RuleTXTFormat, SeverityInfo, "txtvers=1"})
			a.TXT = []string{"rp=ipp/print", "=orphan", "RP=again", "k\x01=1", "txtvers=1"}
			return a
		}()}},
		{file: "empty-txt.bin", unpack: true, build: func(t testing.TB) []byte {
			// A TXT record with zero strings (RDLENGTH 0) is malformed.
			m := announcement(t)
			m.Answer[2] = &dns.TXT{Hdr: dns.RR_Header{Name: `Office\ Printer._ipp._tcp.local.`, Rrtype: dns.TypeTXT,
				Class: dns.ClassINET | cacheFlush, Ttl: 4500}}
			return pack(t, m)
		}, ads: []adWant{func() adWant {
			a := withFindings(good, want{RuleTXTFormat, SeverityError, ""})
			a.TXT = []string{}
			return a
		}()}},
		{file: "enumeration.bin", unpack: true, build: func(t testing.TB) []byte {
			return pack(t, pktResponse([]dns.RR{
				pktRR(t, `_services._dns-sd._udp.local. 4500 IN PTR _ipp._tcp.local.`, false),
				pktRR(t, `_services._dns-sd._udp.local. 4500 IN PTR _http._tcp.local.`, true),
			}, nil))
		}, packet: []want{{RuleMDNSPacket, SeverityWarning, "class 0x8001"}}},
		{file: "two-instances.bin", unpack: true, build: func(t testing.TB) []byte {
			return pack(t, pktResponse([]dns.RR{
				pktRR(t, `_http._tcp.local. 4500 IN PTR cam._http._tcp.local.`, false),
				pktRR(t, `_rtsp._tcp.local. 4500 IN PTR cam._rtsp._tcp.local.`, false),
				pktRR(t, `cam._http._tcp.local. 120 IN SRV 0 0 8080 cam.local.`, true),
				pktRR(t, `cam._rtsp._tcp.local. 4500 IN SRV 0 0 554 CAM.local.`, true),
				pktRR(t, `cam._http._tcp.local. 4500 IN TXT ""`, true),
			}, []dns.RR{pktRR(t, `cam.local. 120 IN A 192.0.2.30`, true)}))
		}, ads: []adWant{
			{Instance: "cam", Service: "_http", Proto: "_tcp", Host: "cam.local.", Port: 8080, TXT: []string{""}, Addrs: []string{"192.0.2.30"},
				Findings: []want{{RulePortMismatch, SeverityInfo, "8080"}}},
			{Instance: "cam", Service: "_rtsp", Proto: "_tcp", Host: "CAM.local.", Port: 554, Addrs: []string{"192.0.2.30"},
				Findings: []want{{RuleUnregistered, SeverityWarning, "_rtsp"}, {RuleTTL, SeverityInfo, "SRV 4500"}}},
		}},
		{file: "srv-no-address.bin", unpack: true, build: func(t testing.TB) []byte {
			// A resolve answer without PTR: the instance comes from the SRV owner.
			return pack(t, pktResponse([]dns.RR{
				pktRR(t, `Office\ Printer._ipp._tcp.local. 120 IN SRV 0 0 631 printer.local.`, true),
			}, nil))
		}, ads: []adWant{{Instance: "Office Printer", Service: "_ipp", Proto: "_tcp", Host: "printer.local.", Port: 631,
			Findings: []want{{RuleSRVTarget, SeverityWarning, "printer.local."}}}}},
		{file: "bad-labels.bin", unpack: true, build: func(t testing.TB) []byte {
			// A service label without underscore and a made-up transport:
			// the PTR owner says where the instance label ends.
			return pack(t, pktResponse([]dns.RR{
				pktRR(t, `ipp.tcp.local. 4500 IN PTR x.ipp.tcp.local.`, false),
				pktRR(t, `x.ipp.tcp.local. 120 IN SRV 0 0 631 printer.local.`, true),
				pktRR(t, `printer.local. 120 IN A 192.0.2.10`, true),
			}, nil))
		}, ads: []adWant{{Instance: "x", Service: "ipp", Proto: "tcp", Host: "printer.local.", Port: 631, Addrs: []string{"192.0.2.10"},
			Findings: []want{{RuleNameSyntax, SeverityError, "ipp"}, {RuleProtoLabel, SeverityError, "tcp"}}}}},
		{file: "query.bin", unpack: true, build: func(t testing.TB) []byte {
			m := new(dns.Msg)
			m.SetQuestion("_ipp._tcp.local.", dns.TypePTR)
			m.Id = 0
			m.Answer = []dns.RR{pktRR(t, `_ipp._tcp.local. 4500 IN PTR Office\ Printer._ipp._tcp.local.`, false)}
			return pack(t, m)
		}},
		{file: "truncated.bin", build: func(t testing.TB) []byte {
			b := pack(t, announcement(t))
			return b[:len(b)-7]
		}},
		{file: "pointer-loop.bin", build: func(t testing.TB) []byte {
			// One answer whose owner name is a compression pointer to itself.
			b := pack(t, pktResponse(nil, nil))
			b[7] = 1 // ANCOUNT
			return append(b, 0xc0, 12, 0, 12, 0, 1, 0, 0, 0, 120, 0, 0)
		}},
		{file: "bad-rdlength.bin", build: func(t testing.TB) []byte {
			b := pack(t, pktResponse([]dns.RR{pktRR(t, `printer.local. 120 IN A 192.0.2.10`, true)}, nil))
			b[len(b)-5] = 200 // RDLENGTH low byte: runs past the end
			return b
		}},
	}
}

func TestPacketFixtures(t *testing.T) {
	v := NewValidator(testSnapshot(t), Policy{})
	for _, tc := range packetCases() {
		t.Run(tc.file, func(t *testing.T) {
			built := tc.build(t)
			path := filepath.Join(fixtureDir, tc.file)
			if *update {
				require.NoError(t, os.WriteFile(path, built, 0o644))
			}
			raw, err := os.ReadFile(path)
			require.NoError(t, err, "run go test ./mdns -run TestPacketFixtures -update")
			// The fixture is what its builder makes; a change to one
			// without the other fails here.
			require.Equal(t, built, raw, "fixture differs from its builder; rerun with -update")

			msg := new(dns.Msg)
			err = msg.Unpack(raw)
			if !tc.unpack {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			meta := PacketMeta{Source: netip.MustParseAddrPort("192.0.2.10:5353"), HopLimit: 255, Size: len(raw),
				Received: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
			ads, pf := v.ValidatePacket(msg, meta)
			if tc.packet == nil {
				tc.packet = []want{}
			}
			assert.Equal(t, tc.packet, reduce(pf))
			for _, f := range pf {
				assert.Equal(t, "192.0.2.10:5353", f.Origin)
			}
			require.Len(t, ads, len(tc.ads))
			for i, w := range tc.ads {
				a := ads[i]
				var addrs []string
				for _, x := range a.Addrs {
					addrs = append(addrs, x.String())
				}
				if w.Findings == nil {
					w.Findings = []want{}
				}
				got := adWant{Instance: a.Instance, Service: a.Service, Proto: a.Proto, Host: a.Host, Port: a.Port,
					Subtypes: a.Subtypes, TXT: a.TXT, Addrs: addrs, Findings: reduce(a.Findings)}
				assert.Equal(t, w, got)
				assert.Equal(t, "local", a.Domain)
				assert.Equal(t, meta.Source, a.Source)
				assert.Equal(t, meta.Received, a.FirstSeen)
			}
		})
	}
}

func TestPacketMeta(t *testing.T) {
	v := NewValidator(testSnapshot(t), Policy{})
	msg := announcement(t)
	src := netip.MustParseAddrPort("192.0.2.10:5353")
	cases := []struct {
		name string
		meta PacketMeta
		want []want
	}{
		{"good", PacketMeta{Source: src, HopLimit: 255, Size: 200}, nil},
		{"unknown", PacketMeta{HopLimit: -1}, nil},
		{"source port", PacketMeta{Source: netip.MustParseAddrPort("192.0.2.10:40000"), HopLimit: 255},
			[]want{{RuleMDNSPacket, SeverityWarning, "port=40000"}}},
		{"hop limit", PacketMeta{Source: src, HopLimit: 64}, []want{{RuleMDNSPacket, SeverityWarning, "hoplimit=64"}}},
		{"size 9000", PacketMeta{Source: src, HopLimit: 255, Size: 9000}, nil},
		{"size 9001", PacketMeta{Source: src, HopLimit: 255, Size: 9001}, []want{{RuleMDNSPacket, SeverityWarning, "size=9001"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ads, pf := v.ValidatePacket(msg, tc.meta)
			require.Len(t, ads, 1)
			if tc.want == nil {
				tc.want = []want{}
			}
			assert.Equal(t, tc.want, reduce(pf))
		})
	}
	// Disabled or re-graded through the policy.
	meta := PacketMeta{Source: src, HopLimit: 1}
	_, pf := NewValidator(nil, Policy{Disabled: map[string]bool{RuleMDNSPacket: true}}).ValidatePacket(msg, meta)
	assert.Empty(t, pf)
	_, pf = NewValidator(nil, Policy{Severity: map[string]Severity{RuleMDNSPacket: SeverityError}}).ValidatePacket(msg, meta)
	assert.Equal(t, []want{{RuleMDNSPacket, SeverityError, "hoplimit=1"}}, reduce(pf))

	ads, pf := v.ValidatePacket(nil, meta)
	assert.Nil(t, ads)
	assert.Nil(t, pf)
}

func TestUnescape(t *testing.T) {
	cases := map[string]string{
		``:                    ``,
		`plain`:               `plain`,
		`Office\ Printer`:     `Office Printer`,
		`a\.b`:                `a.b`,
		`B\195\188ro`:         "B\xc3\xbcro",
		`\\\"`:                `\"`,
		`x\000y`:              "x\x00y",
		`trailing\`:           `trailing\`,
		`\999`:                `999`,
		`\12`:                 `12`,
		`Good\ Printer\032 2`: `Good Printer  2`,
	}
	for in, out := range cases {
		assert.Equal(t, out, Unescape(in), in)
	}
}

func TestNextLabel(t *testing.T) {
	l, rest := nextLabel(`a\.b.c.`)
	assert.Equal(t, `a\.b`, l)
	assert.Equal(t, "c.", rest)
	l, rest = nextLabel(`a\\.b`)
	assert.Equal(t, `a\\`, l)
	assert.Equal(t, "b", rest)
}

func TestSplitPTROwner(t *testing.T) {
	cases := []struct {
		owner, typeName, sub string
		ok                   bool
	}{
		{"_ipp._tcp.local.", "_ipp._tcp.local.", "", true},
		{"_universal._sub._ipp._tcp.local.", "_ipp._tcp.local.", "_universal", true},
		{"_Printer._SUB._http._tcp.local.", "_http._tcp.local.", "_Printer", true},
		{"_services._dns-sd._udp.local.", "_services._dns-sd._udp.local.", "", true},
		{"ipp.tcp.local.", "ipp.tcp.local.", "", true},
		{"10.2.0.192.in-addr.arpa.", "", "", false},
		{"0.1.0.0.ip6.ARPA.", "", "", false},
		{"_ipp._tcp.", "", "", false},
		{"local.", "", "", false},
	}
	for _, tc := range cases {
		typeName, sub, ok := splitPTROwner(tc.owner)
		assert.Equal(t, tc.ok, ok, tc.owner)
		assert.Equal(t, tc.typeName, typeName, tc.owner)
		assert.Equal(t, tc.sub, sub, tc.owner)
	}
}

func TestInstanceOf(t *testing.T) {
	cases := []struct {
		fqdn, typeName, inst string
		ok                   bool
	}{
		{`Office\ Printer._ipp._tcp.local.`, "_ipp._tcp.local.", `Office\ Printer`, true},
		{`a\.b._ipp._tcp.local.`, "_IPP._tcp.local.", `a\.b`, true},
		{`a.b._ipp._tcp.local.`, "_ipp._tcp.local.", "", false},
		{`_ipp._tcp.local.`, "_ipp._tcp.local.", "", false},
		{`x._http._tcp.local.`, "_ipp._tcp.local.", "", false},
		{`x_ipp._tcp.local.`, "_ipp._tcp.local.", "", false},
	}
	for _, tc := range cases {
		inst, ok := instanceOf(tc.fqdn, tc.typeName)
		assert.Equal(t, tc.ok, ok, tc.fqdn)
		assert.Equal(t, tc.inst, inst, tc.fqdn)
	}
}
