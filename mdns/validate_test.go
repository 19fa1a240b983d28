package mdns

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/registry"
)

// testSnapshot is a small hand-written registry: one record per situation
// a rule branches on.
func testSnapshot(t testing.TB) *registry.Snapshot {
	t.Helper()
	keys := func(names ...string) registry.TXTKeys {
		k := registry.TXTKeys{Kind: registry.TXTDefined}
		for _, n := range names {
			k.Keys = append(k.Keys, registry.TXTKey{Name: n})
		}
		return k
	}
	rec := func(name string, proto registry.Protocol, lo, hi int32, st registry.Status) registry.Record {
		return registry.Record{Name: name, Protocol: proto, PortLow: lo, PortHigh: hi, Status: st, Source: "test"}
	}
	ipp := rec("ipp", registry.ProtoTCP, 631, 631, registry.StatusAssigned)
	ipp.TXTKeys = keys("txtvers", "rp", "ty", "qtotal", "pdl", "note", "adminurl", "UUID", "TLS", "URF")
	ipp.Subtypes = []string{"_universal", "_print"}
	ippUDP := rec("ipp", registry.ProtoUDP, 631, 631, registry.StatusAssigned)
	http := rec("http", registry.ProtoTCP, 80, 80, registry.StatusAssigned)
	http.TXTKeys = keys("u", "p", "path")
	http.Subtypes = []string{"_printer"}
	www := rec("www", registry.ProtoTCP, 80, 80, registry.StatusDuplicate)
	www.AliasOf = "http"
	www.Subtypes = []string{"_kiosk"} // a duplicate's subtypes belong to its primary name too
	whoisAlias := rec("whois++", registry.ProtoTCP, 63, 63, registry.StatusAlias)
	whoisAlias.AliasOf = "whoispp"
	whoispp := rec("whoispp", registry.ProtoTCP, 63, 63, registry.StatusAssigned)
	ntp := rec("ntp", registry.ProtoUDP, 123, 123, registry.StatusAssigned)
	rfb := rec("rfb", registry.ProtoTCP, 5900, 5900, registry.StatusAssigned)
	rfb.TXTKeys = registry.TXTKeys{Kind: registry.TXTNone}
	x11 := rec("x11", registry.ProtoTCP, 6000, 6063, registry.StatusAssigned)
	myapp := rec("myapp", registry.ProtoNone, -1, -1, registry.StatusAssigned)
	myapp.TXTKeys = keys("ver")
	relay := rec("relay", registry.ProtoTCP, -1, -1, registry.StatusAssigned)
	relay.TXTKeys = keys("host", "port")
	src := &registry.Source{Name: "test", Format: registry.FormatBuiltin, Records: []registry.Record{
		ipp, ippUDP, http, www, whoisAlias, whoispp, ntp, rfb, x11, myapp, relay}}
	snap, err := registry.Build(src)
	require.NoError(t, err)
	return snap
}

// goodAd is a compliant announcement every case starts from.
func goodAd() *Advertisement {
	return &Advertisement{
		Instance: "Office Printer", Service: "_ipp", Proto: "_tcp", Domain: "local",
		Host: "printer.local.", Port: 631,
		TXT:    []string{"txtvers=1", "rp=ipp/print", "ty=Office", "qtotal=1", "pdl=application/pdf", "note=2nd floor"},
		HasTXT: true,
		Addrs:  []netip.Addr{netip.MustParseAddr("192.0.2.10")},
		TTL:    TTLsOf(map[uint16]uint32{dns.TypePTR: 4500, dns.TypeSRV: 120, dns.TypeTXT: 4500, dns.TypeA: 120}),
	}
}

// want is a finding reduced to what a case asserts.
type want struct {
	Rule     string
	Severity Severity
	Evidence string
}

func reduce(fs []Finding) []want {
	out := []want{}
	for _, f := range fs {
		out = append(out, want{f.Rule, f.Severity, f.Evidence})
	}
	return out
}

func TestValidateRules(t *testing.T) {
	snap := testSnapshot(t)
	v := NewValidator(snap, Policy{})
	long := strings.Repeat("x", 64)
	cases := []struct {
		name string
		mod  func(a *Advertisement)
		want []want
	}{
		{"good", func(*Advertisement) {}, nil},

		// name-syntax
		{"name 15 chars ok", func(a *Advertisement) { a.Service = "_abcdefghijklmno" }, []want{{RuleUnregistered, SeverityWarning, "_abcdefghijklmno"}}},
		{"name 16 chars", func(a *Advertisement) { a.Service = "_androidtvremote2" },
			[]want{{RuleNameSyntax, SeverityError, "_androidtvremote2"}, {RuleUnregistered, SeverityWarning, "_androidtvremote2"}}},
		{"name no underscore", func(a *Advertisement) { a.Service = "ipp" }, []want{{RuleNameSyntax, SeverityError, "ipp"}}},
		{"name double hyphen", func(a *Advertisement) { a.Service = "_a--b" },
			[]want{{RuleNameSyntax, SeverityError, "_a--b"}, {RuleUnregistered, SeverityWarning, "_a--b"}}},
		{"name leading hyphen", func(a *Advertisement) { a.Service = "_-ab" },
			[]want{{RuleNameSyntax, SeverityError, "_-ab"}, {RuleUnregistered, SeverityWarning, "_-ab"}}},
		{"name digits only", func(a *Advertisement) { a.Service = "_123" },
			[]want{{RuleNameSyntax, SeverityError, "_123"}, {RuleUnregistered, SeverityWarning, "_123"}}},
		{"name bad char", func(a *Advertisement) { a.Service = "_whois++" },
			[]want{{RuleNameSyntax, SeverityError, "_whois++"}, {RuleAliasName, SeverityWarning, "_whois++"}, {RulePortMismatch, SeverityInfo, "631"}}},

		// proto-label
		{"proto _udp ok", func(a *Advertisement) { a.Proto = "_udp" }, nil},
		{"proto upper case ok", func(a *Advertisement) { a.Proto = "_TCP" }, nil},
		{"proto sctp", func(a *Advertisement) { a.Proto = "_sctp" }, []want{{RuleProtoLabel, SeverityError, "_sctp"}}},
		{"proto missing", func(a *Advertisement) { a.Proto = "" }, []want{{RuleProtoLabel, SeverityError, ""}}},

		// unregistered, alias, duplicate, proto-mismatch
		{"unregistered", func(a *Advertisement) { a.Service = "_nosuchthing"; a.TXT = []string{""} },
			[]want{{RuleUnregistered, SeverityWarning, "_nosuchthing"}}},
		{"dns-sd only name ok on tcp", func(a *Advertisement) { a.Service = "_myapp"; a.TXT = []string{"ver=2"} }, nil},
		{"dns-sd only name ok on udp", func(a *Advertisement) { a.Service = "_myapp"; a.Proto = "_udp"; a.TXT = []string{"ver=2"} }, nil},
		{"duplicate www", func(a *Advertisement) { a.Service = "_www"; a.Port = 80; a.TXT = []string{"path=/"} },
			[]want{{RuleDuplicateName, SeverityWarning, "_www"}}},
		{"alias whois++ registered name ok", func(a *Advertisement) { a.Service = "_whoispp"; a.Port = 63; a.TXT = nil; a.HasTXT = false }, nil},
		{"proto mismatch", func(a *Advertisement) { a.Service = "_ntp"; a.Port = 123; a.TXT = []string{""} },
			[]want{{RuleProtoMismatch, SeverityWarning, "_tcp"}}},
		{"proto matches", func(a *Advertisement) { a.Service = "_ntp"; a.Proto = "_udp"; a.Port = 123; a.TXT = []string{""} }, nil},

		// port-mismatch
		{"port mismatch", func(a *Advertisement) { a.Port = 8631 }, []want{{RulePortMismatch, SeverityInfo, "8631"}}},
		{"port in range", func(a *Advertisement) { a.Service = "_x11"; a.Port = 6001; a.TXT = []string{""} }, nil},
		{"port outside range", func(a *Advertisement) { a.Service = "_x11"; a.Port = 7000; a.TXT = []string{""} },
			[]want{{RulePortMismatch, SeverityInfo, "7000"}}},
		{"no registered port", func(a *Advertisement) { a.Service = "_myapp"; a.Port = 1234; a.TXT = []string{""} }, nil},
		{"no SRV seen", func(a *Advertisement) { a.Host, a.Port, a.Addrs = "", 0, nil }, nil},

		// txt-unknown-key, txt-keys-none
		{"txt unknown key", func(a *Advertisement) { a.TXT = append(a.TXT, "color=T") },
			[]want{{RuleTXTUnknownKey, SeverityInfo, "color"}}},
		{"txt key case-insensitive", func(a *Advertisement) { a.TXT = append(a.TXT, "uuid=1234") }, nil},
		{"txt keys none", func(a *Advertisement) { a.Service = "_rfb"; a.Port = 5900; a.TXT = []string{"a=1", "b=2", "a=3"} },
			[]want{{RuleTXTKeysNone, SeverityInfo, "a,b"}, {RuleTXTFormat, SeverityWarning, "a"}}},
		{"txt keys none empty txt ok", func(a *Advertisement) { a.Service = "_rfb"; a.Port = 5900; a.TXT = []string{""} }, nil},
		{"txt kind unknown", func(a *Advertisement) { a.Service = "_ntp"; a.Proto = "_udp"; a.Port = 123; a.TXT = []string{"zzz=1"} }, nil},

		// txt-format
		{"txt zero strings", func(a *Advertisement) { a.TXT = []string{} }, []want{{RuleTXTFormat, SeverityError, ""}}},
		{"no txt record", func(a *Advertisement) { a.TXT, a.HasTXT = nil, false }, nil},
		{"txt starts with =", func(a *Advertisement) { a.TXT = append(a.TXT, "=x") }, []want{{RuleTXTFormat, SeverityError, "=x"}}},
		{"txt key control byte", func(a *Advertisement) { a.TXT = append(a.TXT, "no\x01te=x") },
			[]want{{RuleTXTUnknownKey, SeverityInfo, "no\x01te"}, {RuleTXTFormat, SeverityError, "no\x01te"}}},
		{"txt key high byte", func(a *Advertisement) { a.TXT = append(a.TXT, "nöte=x") },
			[]want{{RuleTXTUnknownKey, SeverityInfo, "nöte"}, {RuleTXTFormat, SeverityError, "nöte"}}},
		{"txt value may be binary", func(a *Advertisement) { a.TXT = append(a.TXT, "UUID=\x00\xff") }, nil},
		{"txt repeated key", func(a *Advertisement) { a.TXT = append(a.TXT, "RP=other") }, []want{{RuleTXTFormat, SeverityWarning, "RP"}}},
		{"txt long key", func(a *Advertisement) { a.Service = "_nosuch"; a.TXT = []string{"abcdefghij=1", "abcdefghi=1"} },
			[]want{{RuleUnregistered, SeverityWarning, "_nosuch"}, {RuleTXTFormat, SeverityWarning, "abcdefghij"}}},
		{"txt host key", func(a *Advertisement) {
			a.Service = "_myapp"
			a.TXT = []string{"ver=1", "Host=printer.local", "port=631"}
		},
			[]want{{RuleTXTUnknownKey, SeverityInfo, "Host"}, {RuleTXTUnknownKey, SeverityInfo, "port"},
				{RuleTXTFormat, SeverityWarning, "Host=printer.local"}, {RuleTXTFormat, SeverityWarning, "port=631"}}},
		{"txt host key defined", func(a *Advertisement) { a.Service = "_relay"; a.TXT = []string{"host=x", "port=1"} }, nil},
		{"txt 401 bytes", func(a *Advertisement) { a.TXT = txtOfSize(401) }, []want{{RuleTXTFormat, SeverityInfo, "401"}}},
		{"txt 400 bytes", func(a *Advertisement) { a.TXT = txtOfSize(400) }, nil},
		{"txt 1300 bytes", func(a *Advertisement) { a.TXT = txtOfSize(1300) }, []want{{RuleTXTFormat, SeverityInfo, "1300"}}},
		{"txt 1301 bytes", func(a *Advertisement) { a.TXT = txtOfSize(1301) }, []want{{RuleTXTFormat, SeverityWarning, "1301"}}},
		{"txtvers not first", func(a *Advertisement) { a.TXT = []string{"rp=x", "txtvers=1"} }, []want{{RuleTXTFormat, SeverityInfo, "txtvers=1"}}},

		// instance-name
		{"instance utf8 ok", func(a *Advertisement) { a.Instance = "Drucker Büro.2" }, nil},
		{"instance 63 bytes ok", func(a *Advertisement) { a.Instance = long[:63] }, nil},
		{"instance 64 bytes", func(a *Advertisement) { a.Instance = long }, []want{{RuleInstanceName, SeverityError, long}}},
		{"instance empty", func(a *Advertisement) { a.Instance = "" }, []want{{RuleInstanceName, SeverityError, ""}}},
		{"instance bad utf8", func(a *Advertisement) { a.Instance = "Bad\xff" }, []want{{RuleInstanceName, SeverityError, `"Bad\xff"`}}},
		{"instance control", func(a *Advertisement) { a.Instance = "Bad\nName" }, []want{{RuleInstanceName, SeverityError, `"Bad\nName"`}}},
		{"instance DEL", func(a *Advertisement) { a.Instance = "Bad\x7f" }, []want{{RuleInstanceName, SeverityError, `"Bad\x7f"`}}},

		// subtype
		{"subtype registered", func(a *Advertisement) { a.Subtypes = []string{"_universal"} }, nil},
		{"subtype unknown", func(a *Advertisement) { a.Subtypes = []string{"_universal", "_color"} }, []want{{RuleSubtype, SeverityInfo, "_color"}}},
		{"subtype without underscore", func(a *Advertisement) { a.Subtypes = []string{"print"} }, []want{{RuleSubtype, SeverityInfo, "print"}}},
		{"subtype of the duplicate name", func(a *Advertisement) {
			a.Service, a.Port, a.TXT, a.Subtypes = "_http", 80, []string{"path=/"}, []string{"_kiosk", "_printer"}
		}, nil},
		{"subtype none registered", func(a *Advertisement) { a.Service = "_myapp"; a.TXT = []string{""}; a.Subtypes = []string{"_x"} },
			[]want{{RuleSubtype, SeverityInfo, "_x"}}},

		// ttl
		{"ttl goodbye", func(a *Advertisement) { a.TTL.Set(dns.TypeSRV, 0); a.TTL.Set(dns.TypePTR, 0) }, nil},
		{"ttl srv long", func(a *Advertisement) { a.TTL.Set(dns.TypeSRV, 4500) }, []want{{RuleTTL, SeverityInfo, "SRV 4500"}}},
		{"ttl ptr and aaaa", func(a *Advertisement) { a.TTL.Set(dns.TypePTR, 120); a.TTL.Set(dns.TypeAAAA, 10) },
			[]want{{RuleTTL, SeverityInfo, "PTR 120"}, {RuleTTL, SeverityInfo, "AAAA 10"}}},
		{"ttl offline", func(a *Advertisement) { a.TTL = TTLs{} }, nil},

		// srv-target
		{"srv target no address", func(a *Advertisement) { a.Addrs = nil }, []want{{RuleSRVTarget, SeverityWarning, "printer.local."}}},
		{"srv target offline", func(a *Advertisement) { a.Addrs = nil; a.Origin = "command line"; a.TTL = TTLs{} }, nil},
		{"srv target dot", func(a *Advertisement) { a.Addrs = nil; a.Host = "." }, nil},
		{"srv target goodbye", func(a *Advertisement) { a.Addrs = nil; a.TTL.Set(dns.TypeSRV, 0) }, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := goodAd()
			tc.mod(a)
			got := v.Validate(a)
			if tc.want == nil {
				tc.want = []want{}
			}
			assert.Equal(t, tc.want, reduce(got))
			for _, f := range got {
				assert.Equal(t, a.Instance, f.Instance)
				assert.Equal(t, a.ServiceType(), f.ServiceType)
				assert.NotEmpty(t, f.Message)
				assert.True(t, strings.HasPrefix(f.RFC, "RFC "), f.RFC)
			}
		})
	}
}

func TestValidatePolicy(t *testing.T) {
	snap := testSnapshot(t)
	a := goodAd()
	a.Service = "_androidtvremote2"
	a.TXT = []string{"=bad", "k=1", "k=2"}
	base := reduce(NewValidator(snap, Policy{}).Validate(a))
	require.Equal(t, []want{{RuleNameSyntax, SeverityError, "_androidtvremote2"}, {RuleUnregistered, SeverityWarning, "_androidtvremote2"},
		{RuleTXTFormat, SeverityError, "=bad"}, {RuleTXTFormat, SeverityWarning, "k"}}, base)

	v := NewValidator(snap, Policy{
		Severity: map[string]Severity{RuleNameSyntax: SeverityInfo, RuleTXTFormat: SeverityWarning},
		Disabled: map[string]bool{RuleUnregistered: true},
	})
	assert.Equal(t, []want{{RuleNameSyntax, SeverityInfo, "_androidtvremote2"},
		{RuleTXTFormat, SeverityWarning, "=bad"}, {RuleTXTFormat, SeverityWarning, "k"}}, reduce(v.Validate(a)))
	assert.False(t, v.Enabled(RuleUnregistered))
	assert.True(t, v.Enabled(RuleNameSyntax))
	assert.False(t, v.Enabled("no-such-rule"))

	// Every registry rule off: no lookups, no registry findings.
	off := Policy{Disabled: map[string]bool{}}
	for _, r := range Rules() {
		off.Disabled[r.ID] = true
	}
	assert.Empty(t, NewValidator(snap, off).Validate(a))
}

// TestValidateNilSnapshot: before the first registry load only the
// rules that need no registry run.
func TestValidateNilSnapshot(t *testing.T) {
	v := NewValidator(nil, Policy{})
	assert.Empty(t, v.Validate(goodAd()))
	a := goodAd()
	a.Service = "_androidtvremote2"
	a.Subtypes = []string{"_x"}
	a.TXT = append(a.TXT, "=x")
	assert.Equal(t, []want{{RuleNameSyntax, SeverityError, "_androidtvremote2"}, {RuleTXTFormat, SeverityError, "=x"}},
		reduce(v.Validate(a)))
}

func TestFindingSource(t *testing.T) {
	v := NewValidator(testSnapshot(t), Policy{})
	a := goodAd()
	a.Port = 1
	a.Source = netip.MustParseAddrPort("192.0.2.10:5353")
	f := v.Validate(a)
	require.Len(t, f, 1)
	assert.Equal(t, "192.0.2.10:5353", f[0].Origin)
	a.Origin = "printer.service:4"
	assert.Equal(t, "printer.service:4", v.Validate(a)[0].Origin)
}

// txtOfSize builds a TXT record of ipp keys that is exactly n bytes on
// the wire (each string plus its length byte).
func txtOfSize(n int) []string {
	out := []string{"txtvers=1"}
	n -= 10
	for _, k := range []string{"note", "ty", "rp", "pdl", "adminurl", "UUID"} {
		if n <= 0 {
			break
		}
		l := min(n-1, 255)
		fill := l - len(k) - 1
		out = append(out, k+"="+strings.Repeat("v", fill))
		n -= l + 1
	}
	return out
}
