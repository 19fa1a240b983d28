package proxy

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/mdns"
)

const zone = "lab0.lan.services.internal."

func printer() mdns.Advertisement {
	return mdns.Advertisement{
		Instance: "Office Printer.2nd floor", Service: "_ipp", Proto: "_tcp", Domain: "local",
		Subtypes: []string{"_universal"}, Host: "printer.local.", Port: 631,
		TXT: []string{"txtvers=1", `ty=HP "Laser"`, "rp=ipp/print"}, HasTXT: true,
		Addrs:     []netip.Addr{netip.MustParseAddr("198.18.0.7"), netip.MustParseAddr("fe80::1"), netip.MustParseAddr("fd42::7"), netip.MustParseAddr("169.254.3.4")},
		TTL:       mdns.TTLsOf(map[uint16]uint32{dns.TypePTR: 4500, dns.TypeSRV: 120, dns.TypeTXT: 4500, dns.TypeA: 120, dns.TypeAAAA: 120}),
		Interface: "lab0",
	}
}

func texts(rrs []dns.RR) []string {
	var out []string
	for _, rr := range rrs {
		out = append(out, strings.ReplaceAll(rr.String(), "\t", " "))
	}
	return out
}

// TestBuildRecords: the records of one good instance, exactly: PTRs from
// its type and subtype, SRV to the host moved into the zone, TXT as
// advertised, the routable addresses only, every TTL capped, and the
// enumeration of the link's types.
func TestBuildRecords(t *testing.T) {
	res := Build(Link{Interface: "lab0", Zone: zone, Policy: PolicyValid}, []mdns.Advertisement{printer()}, nil)
	assert.Equal(t, 1, res.Published)
	assert.Empty(t, res.Excluded)
	inst := `Office\ Printer\.2nd\ floor._ipp._tcp.` + zone
	assert.Equal(t, sorted(
		"_ipp._tcp."+zone+" 10 IN PTR "+inst,
		"_services._dns-sd._udp."+zone+" 10 IN PTR _ipp._tcp."+zone,
		"_universal._sub._ipp._tcp."+zone+" 10 IN PTR "+inst,
		inst+" 10 IN SRV 0 0 631 printer."+zone,
		inst+` 10 IN TXT "txtvers=1" "ty=HP \"Laser\"" "rp=ipp/print"`,
		"printer."+zone+" 10 IN A 198.18.0.7",
		"printer."+zone+" 10 IN AAAA fd42::7",
	), sortedTexts(res.Records))
	// The TXT strings on the wire are the advertised bytes.
	for _, rr := range res.Records {
		if txt, ok := rr.(*dns.TXT); ok {
			b := make([]byte, 512)
			n, err := dns.PackRR(txt, b, 0, nil, false)
			require.NoError(t, err)
			back, _, err := dns.UnpackRR(b[:n], 0)
			require.NoError(t, err)
			assert.Equal(t, txt.Txt, back.(*dns.TXT).Txt)
			assert.Contains(t, string(b[:n]), `ty=HP "Laser"`)
		}
	}
}

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}

func sortedTexts(rrs []dns.RR) []string {
	out := texts(rrs)
	slices.Sort(out)
	return out
}

// TestBuildPolicies: what each policy publishes of a good advertisement,
// one with an error-level finding of a registered type, one with an
// error of an unregistered type, one with only a warning, and one from
// another interface.
func TestBuildPolicies(t *testing.T) {
	good := printer()
	badTXT := printer()
	badTXT.Instance, badTXT.Findings = "Broken TXT", []mdns.Finding{{Rule: "txt-format", Severity: mdns.SeverityError, Message: "a TXT string starts with '=' (no key)"}}
	badType := printer()
	badType.Instance, badType.Service = "Odd Thing", "_zzqq"
	badType.Findings = []mdns.Finding{{Rule: "txt-format", Severity: mdns.SeverityError, Message: "bad"}}
	warned := printer()
	warned.Instance, warned.Service = "Mystery Box", "_zzqqxx"
	warned.Findings = []mdns.Finding{{Rule: "unregistered", Severity: mdns.SeverityWarning, Message: "not registered"}}
	other := printer()
	other.Instance, other.Interface = "Elsewhere", "eth1"
	ads := []mdns.Advertisement{good, badTXT, badType, warned, other}
	registered := func(name, proto string) bool { return name == "ipp" && proto == "tcp" }
	for _, tc := range []struct {
		policy    Policy
		published []string
		excluded  []string
	}{
		{PolicyValid, []string{"Office Printer.2nd floor", "Mystery Box"}, []string{"Broken TXT", "Odd Thing"}},
		{PolicyRegistered, []string{"Office Printer.2nd floor", "Broken TXT", "Mystery Box"}, []string{"Odd Thing"}},
		{PolicyAll, []string{"Office Printer.2nd floor", "Broken TXT", "Odd Thing", "Mystery Box"}, nil},
	} {
		t.Run(string(tc.policy), func(t *testing.T) {
			res := Build(Link{Interface: "lab0", Zone: zone, Policy: tc.policy}, ads, registered)
			assert.Equal(t, len(tc.published), res.Published)
			var got []string
			for _, e := range res.Excluded {
				got = append(got, e.Instance)
				assert.Contains(t, e.Reason, "policy "+string(tc.policy)+": txt-format: ")
			}
			assert.Equal(t, tc.excluded, got)
			all := strings.Join(texts(res.Records), "\n")
			for _, name := range tc.published {
				assert.Contains(t, all, mdns.EscapeLabel(name)+".", name)
			}
			assert.NotContains(t, all, "Elsewhere", "another interface's advertisement")
		})
	}
}

// TestBuildUnicastLimits: what cannot be a unicast DNS name is left out
// with the reason, under every policy.
func TestBuildUnicastLimits(t *testing.T) {
	long := printer()
	long.Instance = strings.Repeat("x", 64)
	none := printer()
	none.Instance = ""
	res := Build(Link{Interface: "lab0", Zone: zone, Policy: PolicyAll}, []mdns.Advertisement{long, none}, nil)
	assert.Zero(t, res.Published)
	require.Len(t, res.Excluded, 2)
	assert.Contains(t, res.Excluded[0].Reason, "64 bytes")
	assert.Equal(t, "no instance name", res.Excluded[1].Reason)
	assert.Empty(t, res.Records)
}

func TestRewriteHost(t *testing.T) {
	for in, want := range map[string]string{
		"printer.local.":   "printer." + zone,
		"Printer.LOCAL":    "printer." + zone,
		"a.b.local.":       "a.b." + zone,
		"nas.example.com.": "nas." + zone,
	} {
		assert.Equal(t, want, rewriteHost(in, zone), in)
	}
}

func TestBrowseZones(t *testing.T) {
	link := Link{Zone: zone}
	got := BrowseZones(link, []netip.Prefix{
		netip.MustParsePrefix("198.18.0.2/24"), netip.MustParsePrefix("10.1.2.3/16"),
		netip.MustParsePrefix("fd42::2/64"), netip.MustParsePrefix("169.254.1.1/16"), netip.MustParsePrefix("127.0.0.1/8"),
	})
	require.Len(t, got, 2, "IPv4 subnets only, link-local and loopback aside")
	assert.Equal(t, sorted(
		"b._dns-sd._udp.0.0.18.198.in-addr.arpa. 10 IN PTR "+zone,
		"db._dns-sd._udp.0.0.18.198.in-addr.arpa. 10 IN PTR "+zone,
		"lb._dns-sd._udp.0.0.18.198.in-addr.arpa. 10 IN PTR "+zone,
	), sortedTexts(got["0.0.18.198.in-addr.arpa."]))
	assert.Len(t, got["0.0.1.10.in-addr.arpa."], 3)
}

// TestBuildInstancesPerType: past MaxInstancesPerType instances of one
// type, the rest are left out with the reason, so the type's PTR answer
// still fits in a message and the link's other types are published.
func TestBuildInstancesPerType(t *testing.T) {
	var ads []mdns.Advertisement
	for i := range MaxInstancesPerType + 5 {
		a := printer()
		a.Instance = fmt.Sprintf("Printer %d", i)
		ads = append(ads, a)
	}
	other := printer()
	other.Instance, other.Service = "Screen", "_airplay"
	ads = append(ads, other)
	res := Build(Link{Interface: "lab0", Zone: zone, Policy: PolicyAll}, ads, nil)
	assert.Equal(t, MaxInstancesPerType+1, res.Published)
	require.Len(t, res.Excluded, 5)
	assert.Equal(t, fmt.Sprintf("more than %d instances of the type on the link", MaxInstancesPerType), res.Excluded[0].Reason)
	ptrs := 0
	for _, rr := range res.Records {
		if rr.Header().Name == "_ipp._tcp."+zone && rr.Header().Rrtype == dns.TypePTR {
			ptrs++
		}
	}
	assert.Equal(t, MaxInstancesPerType, ptrs)
	m := new(dns.Msg)
	m.SetQuestion("_ipp._tcp."+zone, dns.TypePTR)
	for _, rr := range res.Records {
		if rr.Header().Name == "_ipp._tcp."+zone && rr.Header().Rrtype == dns.TypePTR {
			m.Answer = append(m.Answer, rr)
		}
	}
	m.Compress = true
	b, err := m.Pack()
	require.NoError(t, err, "the type's answer packs")
	assert.Less(t, len(b), 65535)
}

// TestBuildOffLinkAddresses: with the link's prefixes known, an address
// outside them is not published and is noted; the instance still is.
func TestBuildOffLinkAddresses(t *testing.T) {
	a := printer()
	a.Addrs = append(a.Addrs, netip.MustParseAddr("203.0.113.9"))
	link := Link{Interface: "lab0", Zone: zone, Policy: PolicyValid,
		Prefixes: []netip.Prefix{netip.MustParsePrefix("198.18.0.0/24"), netip.MustParsePrefix("fd42::/64")}}
	res := Build(link, []mdns.Advertisement{a}, nil)
	assert.Equal(t, 1, res.Published)
	all := strings.Join(texts(res.Records), "\n")
	assert.Contains(t, all, "198.18.0.7")
	assert.Contains(t, all, "fd42::7")
	assert.NotContains(t, all, "203.0.113.9")
	require.Len(t, res.Dropped, 1)
	assert.Equal(t, "address 203.0.113.9 is outside the prefixes of lab0: not published", res.Dropped[0].Reason)
}
