package resolver

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/registry"
)

func TestCut(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		wire int // bytes on the wire after cutting
	}{
		{"short", "desc=abc", 8},
		{"exactly 255", strings.Repeat("a", 255), 255},
		{"ASCII over", strings.Repeat("a", 300), 255},
		{"UTF-8 at the edge", strings.Repeat("a", 254) + "É", 254},
		{"escape at the edge", strings.Repeat("a", 254) + `\\x`, 255},
		{"escapes count once", strings.Repeat(`\\`, 300), 255},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := cut(tc.in)
			raw := strings.ReplaceAll(out, `\\`, `\`)
			assert.Equal(t, tc.wire, len(raw))
			assert.True(t, utf8.ValidString(out))
			assert.False(t, strings.HasSuffix(strings.ReplaceAll(out, `\\`, ""), `\`), "never ends inside an escape")
		})
	}
}

func TestSerialBase(t *testing.T) {
	for in, want := range map[string]uint32{
		"2026-08-17":  2026081700,
		"2026-08":     2026080100,
		"":            1,
		"unknown":     1,
		"99999-99-99": 1, // overflows uint32 as YYYYMMDD00
	} {
		assert.Equal(t, want, serialBase(in), in)
	}
	assert.True(t, serialLess(1, 2))
	assert.True(t, serialLess(0xffffffff, 1), "RFC 1982 wrap")
	assert.False(t, serialLess(2, 2))
}

func TestCanonicalOrder(t *testing.T) {
	// RFC 4034 section 6.1's example order.
	names := []string{"example.", "a.example.", "yljkjljk.a.example.", "z.a.example.", "zabc.a.example.", "z.example.", "*.z.example."}
	for i := 1; i < len(names); i++ {
		if names[i] == "*.z.example." {
			continue // '*' sorts before letters; checked below
		}
		assert.Less(t, canonicalKey(names[i-1]), canonicalKey(names[i]), "%s < %s", names[i-1], names[i])
	}
	assert.Less(t, canonicalKey("z.example."), canonicalKey("*.z.example."))
	assert.Less(t, canonicalKey("a.example."), canonicalKey("a-b.example."))

	// Escaped dots and backslashes stay inside their label, as
	// dns.SplitDomainName reads them.
	for _, name := range []string{`device\ 5._ipp._tcp.lab0.example.`, `a\.b.example.`, `a\\.b.example.`,
		`a\\\.b.c.`, `x.`, `_631._tcp.services.internal.`} {
		labels := dns.SplitDomainName(name)
		slices.Reverse(labels)
		want := strings.Join(labels, "\x00") + "\x00"
		assert.Equal(t, want, canonicalKey(name), name)
	}
}

func TestParsePortLabel(t *testing.T) {
	for in, want := range map[string]int{"_0": 0, "_80": 80, "_65535": 65535} {
		p, ok := parsePortLabel([]byte(in))
		assert.True(t, ok, in)
		assert.Equal(t, want, p)
	}
	for _, in := range []string{"_", "80", "_080", "_65536", "_99999", "_1a", "_123456"} {
		_, ok := parsePortLabel([]byte(in))
		assert.False(t, ok, in)
	}
}

// TestTXTBytes checks what goes on the wire for awkward registry text:
// a backslash and quotes are single bytes, UTF-8 stays UTF-8, newlines
// collapse to spaces.
func TestTXTBytes(t *testing.T) {
	csv := "Service Name,Port Number,Transport Protocol,Description,Assignee,Contact,Registration Date,Modification Date,Reference,Service Code,Unauthorized Use Reported,Assignment Notes\n" +
		"odd,7001,tcp,\"C:\\path \"\"quoted\"\"\nFORTÉ\",,,,,,,,\n"
	src, err := registry.ParseCSV(strings.NewReader(csv), "odd.csv")
	require.NoError(t, err)
	snap, err := registry.Build(src)
	require.NoError(t, err)
	rrs, err := ZoneRRs(snap, Config{})
	require.NoError(t, err)
	var txt *dns.TXT
	for _, rr := range rrs {
		if rr.Header().Name == "_odd._tcp.services.internal." && rr.Header().Rrtype == dns.TypeTXT {
			txt = rr.(*dns.TXT)
		}
	}
	require.NotNil(t, txt)
	buf := make([]byte, 1024)
	n, err := dns.PackRR(txt, buf, 0, nil, false)
	require.NoError(t, err)
	assert.Contains(t, string(buf[:n]), `desc=C:\path "quoted" FORTÉ`)

	// The answer table serves the same bytes.
	s, err := New(Config{}, nil, nil)
	require.NoError(t, err)
	require.NoError(t, s.SetSnapshot(context.Background(), snap))
	q := new(dns.Msg)
	q.SetQuestion("_odd._tcp.services.internal.", dns.TypeTXT)
	b, _ := q.Pack()
	resp, _ := s.respond(s.tab.Load(), b, nil, true, netipLoopback)
	assert.Contains(t, string(resp), `desc=C:\path "quoted" FORTÉ`)
}

var netipLoopback = netip.MustParseAddr("127.0.0.1")

// TestZoneWireLargeRecord: records larger than the room zoneWire keeps
// free come out whole, byte for byte what packing each alone gives.
func TestZoneWireLargeRecord(t *testing.T) {
	var txt []string
	for range 20 {
		txt = append(txt, strings.Repeat("x", 200))
	}
	big := &dns.TXT{Hdr: dns.RR_Header{Name: "a.example.", Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 60}, Txt: txt}
	small := &dns.A{Hdr: dns.RR_Header{Name: "b.example.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: []byte{198, 18, 0, 1}}
	rrs := []dns.RR{small, big, small, big}
	wire, err := zoneWire(rrs)
	require.NoError(t, err)
	for i, rr := range rrs {
		buf := make([]byte, dns.Len(rr))
		n, err := dns.PackRR(rr, buf, 0, nil, false)
		require.NoError(t, err)
		assert.Equal(t, string(buf[:n]), wire[i], "record %d", i)
	}
}
