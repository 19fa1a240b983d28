package resolver_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/internal/testutil"
	"github.com/svcreg/svcreg/registry"
	"github.com/svcreg/svcreg/resolver"
)

// rcTool runs dig or kdig against addr and returns its output.
func rcTool(t *testing.T, tool, addr string, args ...string) string {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	var full []string
	switch tool {
	case "kdig":
		full = append([]string{"@" + host, "-p", port, "+norec", "+time=3", "+retry=0"}, args...)
	default:
		full = append([]string{"@" + host, "-p", port, "+norec", "+time=3", "+tries=1"}, args...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, tool, full...).CombinedOutput()
	require.NoError(t, err, "%s %s\n%s", tool, strings.Join(full, " "), out)
	return string(out)
}

var rcStatusRE = regexp.MustCompile(`status: ([A-Z]+)`)

func rcStatus(t *testing.T, out string) string {
	t.Helper()
	m := rcStatusRE.FindStringSubmatch(out)
	require.NotNil(t, m, out)
	return m[1]
}

// rcFlags returns the header flags dig or kdig printed ("qr aa tc").
func rcFlags(t *testing.T, out string) []string {
	t.Helper()
	m := regexp.MustCompile(`(?i)flags: ([a-z ]*);`).FindStringSubmatch(out)
	require.NotNil(t, m, out)
	return strings.Fields(m[1])
}

func rcLines(out string) []string {
	var l []string
	for _, s := range strings.Split(strings.TrimSpace(out), "\n") {
		if s = strings.TrimSpace(s); s != "" && !strings.HasPrefix(s, ";") {
			l = append(l, s)
		}
	}
	return l
}

// TestDigAndKdigIANA asks dig and kdig the documented examples against a
// server loaded with the full IANA registry; expected values come from the
// registry snapshot.
func TestDigAndKdigIANA(t *testing.T) {
	snap := rcIANA(t)
	_, addr := rcStart(t, resolver.Config{VersionBind: "svcreg-test", EnumerateMaxRecords: -1}, snap, nil)
	rrs, err := resolver.ZoneRRs(snap, resolver.Config{EnumerateMaxRecords: -1})
	require.NoError(t, err)
	httpPort := snap.ByType("http", registry.ProtoTCP)[0].PortLow
	for _, tool := range []string{"dig", "kdig"} {
		t.Run(tool, func(t *testing.T) {
			testutil.RequireTool(t, tool, map[string]string{"dig": "bind9-dnsutils", "kdig": "knot-dnsutils"}[tool])
			z := "services.internal"
			out := rcTool(t, tool, addr, "_http._tcp."+z, "SRV")
			assert.Equal(t, "NOERROR", rcStatus(t, out))
			assert.Contains(t, rcFlags(t, out), "aa")
			assert.Equal(t, []string{fmt.Sprintf("0 0 %d services.internal.", httpPort)},
				rcLines(rcTool(t, tool, addr, "+short", "_HTTP._TCP."+z, "SRV")))
			txt := rcTool(t, tool, addr, "+short", "_http._tcp."+z, "TXT")
			assert.Contains(t, txt, `"name=http"`)
			assert.Contains(t, txt, fmt.Sprintf(`"port=%d"`, httpPort))
			assert.Contains(t, txt, `"txtkeys=u,p,path"`)
			assert.Contains(t, rcLines(rcTool(t, tool, addr, "+short", "_80._tcp."+z, "PTR")), "_http._tcp.services.internal.")
			assert.Contains(t, rcTool(t, tool, addr, "+short", "_80._tcp."+z, "TXT"), `"services=http,`)
			assert.Contains(t, rcTool(t, tool, addr, "+short", "_whoispp._tcp."+z, "TXT"), `"name=whois++"`)
			assert.Contains(t, rcTool(t, tool, addr, "+short", "_50000._udp."+z, "TXT"), `"status=dynamic"`)
			assert.Equal(t, "NOERROR", rcStatus(t, rcTool(t, tool, addr, "_printer._sub._http._tcp."+z, "TXT")))
			assert.Equal(t, "NOERROR", rcStatus(t, rcTool(t, tool, addr, "_tcp."+z, "A")))

			// _services._dns-sd._udp: TC over UDP, whole over TCP.
			udp := rcTool(t, tool, addr, "+ignore", "+bufsize=1232", "_services._dns-sd._udp."+z, "PTR")
			assert.Contains(t, rcFlags(t, udp), "tc")
			tcp := rcLines(rcTool(t, tool, addr, "+tcp", "+short", "_services._dns-sd._udp."+z, "PTR"))
			assert.Greater(t, len(tcp), 1500)

			nx := rcTool(t, tool, addr, "_no-such-service._tcp."+z, "SRV")
			assert.Equal(t, "NXDOMAIN", rcStatus(t, nx))
			assert.Regexp(t, `(?m)^services\.internal\.\s+300\s+IN\s+SOA\s`, nx)
			assert.Equal(t, "REFUSED", rcStatus(t, rcTool(t, tool, addr, "example.com", "A")))
			assert.Equal(t, []string{`"svcreg-test"`}, rcLines(rcTool(t, tool, addr, "+short", "version.bind", "CH", "TXT")))
			assert.Equal(t, "REFUSED", rcStatus(t, rcTool(t, tool, addr, "id.server", "CH", "TXT")))

			soa := strings.Fields(rcLines(rcTool(t, tool, addr, "+short", z, "SOA"))[0])
			serial, err := strconv.Atoi(soa[2])
			require.NoError(t, err)
			// The content policy: the registry date, then two digits of
			// the content digest, the serial ZoneRRs gives.
			assert.Equal(t, strings.ReplaceAll(snap.Updated(), "-", ""), strconv.Itoa(serial/100))
			assert.Equal(t, rrs[0].(*dns.SOA).Serial, uint32(serial))

			axfr := rcLines(rcTool(t, tool, addr, "AXFR", z))
			assert.Len(t, axfr, len(rrs)+1, "zone plus closing SOA")
		})
	}
	t.Run("dig BADVERS", func(t *testing.T) {
		testutil.RequireTool(t, "dig", "bind9-dnsutils")
		out := rcTool(t, "dig", addr, "+edns=1", "+noednsnegotiation", "_http._tcp.services.internal", "SRV")
		assert.Equal(t, "BADVERS", rcStatus(t, out))
	})
}

// TestDigSeeds loads each seed rendering in testdata/seeds and checks
// dig sees its date in the serial and, for the seed holding http, its SRV.
func TestDigSeeds(t *testing.T) {
	testutil.RequireTool(t, "dig", "bind9-dnsutils")
	seeds := []string{"000_405dc4897ff35f03.txt", "001_880d677b6a70875c.txt", "002_0411c9ada570d720.txt", "003_595dab137627a1b7.txt", "004_57b5c43415911c67.txt"}
	for _, seed := range seeds {
		t.Run(seed, func(t *testing.T) {
			snap := rcSnap(t, testutil.Testdata("seeds", seed))
			_, addr := rcStart(t, resolver.Config{}, snap, nil)
			soa := strings.Fields(rcLines(rcTool(t, "dig", addr, "+short", "services.internal", "SOA"))[0])
			assert.Equal(t, strings.ReplaceAll(snap.Updated(), "-", ""), soa[2][:8], "the registry date starts the serial")
			rrs, err := resolver.ZoneRRs(snap, resolver.Config{})
			require.NoError(t, err)
			assert.Equal(t, strconv.Itoa(int(rrs[0].(*dns.SOA).Serial)), soa[2])
			apex := rcTool(t, "dig", addr, "+short", "services.internal", "TXT")
			assert.Contains(t, apex, fmt.Sprintf(`"records=%d"`, snap.Stats().Records))
			for _, rec := range snap.Records() {
				if rec.Name == "" || !rcValid(strings.ToLower(rec.Name)) || !rec.HasPort() || rec.Protocol == "" {
					continue
				}
				name := fmt.Sprintf("_%s._%s.services.internal", strings.ToLower(rec.Name), rec.Protocol)
				assert.Contains(t, rcLines(rcTool(t, "dig", addr, "+short", name, "SRV")),
					fmt.Sprintf("0 0 %d services.internal.", rec.PortLow), name)
				break
			}
		})
	}
}

// TestEDNSCompleteness: NSID when asked (RFC 5001), Extended DNS Errors
// on REFUSED and NOTIMP (RFC 8914), and NOTIMP answers that carry the
// question and an OPT (RFC 6891 section 6.1.1), checked with miekg/dns
// byte for byte and with dig and kdig as operators see them.
func TestEDNSCompleteness(t *testing.T) {
	_, addr := rcStart(t, resolver.Config{NSID: "ns1.svcreg", AXFRAllow: []netip.Prefix{}}, rcMini(t), nil)
	ask := func(netw string, q *dns.Msg) *dns.Msg {
		t.Helper()
		c := dns.Client{Net: netw, Timeout: 2 * time.Second}
		r, _, err := c.Exchange(q, addr)
		require.NoError(t, err)
		return r
	}
	withOPT := func(q *dns.Msg, opts ...dns.EDNS0) *dns.Msg {
		q.SetEdns0(1232, false)
		o := q.IsEdns0()
		o.Option = append(o.Option, opts...)
		return q
	}
	ede := func(r *dns.Msg) (uint16, bool) {
		if o := r.IsEdns0(); o != nil {
			for _, op := range o.Option {
				if e, ok := op.(*dns.EDNS0_EDE); ok {
					return e.InfoCode, true
				}
			}
		}
		return 0, false
	}

	// NSID only when asked.
	q := withOPT(new(dns.Msg).SetQuestion("services.internal.", dns.TypeSOA), &dns.EDNS0_NSID{Code: dns.EDNS0NSID})
	r := ask("udp", q)
	require.NotNil(t, r.IsEdns0())
	require.Len(t, r.IsEdns0().Option, 1)
	nsid := r.IsEdns0().Option[0].(*dns.EDNS0_NSID)
	assert.Equal(t, hex.EncodeToString([]byte("ns1.svcreg")), nsid.Nsid)
	r = ask("udp", withOPT(new(dns.Msg).SetQuestion("services.internal.", dns.TypeSOA)))
	assert.Empty(t, r.IsEdns0().Option)

	// REFUSED: a name outside the zone, a transfer not allowed.
	r = ask("udp", withOPT(new(dns.Msg).SetQuestion("example.com.", dns.TypeA)))
	assert.Equal(t, dns.RcodeRefused, r.Rcode)
	code, ok := ede(r)
	assert.True(t, ok)
	assert.Equal(t, uint16(dns.ExtendedErrorCodeNotAuthoritative), code)
	r = ask("tcp", withOPT(new(dns.Msg).SetQuestion("services.internal.", dns.TypeAXFR)))
	assert.Equal(t, dns.RcodeRefused, r.Rcode)
	code, _ = ede(r)
	assert.Equal(t, uint16(dns.ExtendedErrorCodeProhibited), code)
	// Without an OPT there is nowhere to put one.
	r = ask("udp", new(dns.Msg).SetQuestion("example.com.", dns.TypeA))
	assert.Nil(t, r.IsEdns0())

	// NOTIMP: the question and an OPT with "Not Supported".
	for _, opcode := range []int{dns.OpcodeStatus, dns.OpcodeNotify, dns.OpcodeUpdate} {
		q := withOPT(new(dns.Msg).SetQuestion("services.internal.", dns.TypeSOA))
		q.Opcode = opcode
		r := ask("udp", q)
		assert.Equal(t, dns.RcodeNotImplemented, r.Rcode, dns.OpcodeToString[opcode])
		assert.Equal(t, opcode, r.Opcode)
		require.Len(t, r.Question, 1, dns.OpcodeToString[opcode])
		assert.Equal(t, q.Question[0], r.Question[0])
		code, ok := ede(r)
		assert.True(t, ok, dns.OpcodeToString[opcode])
		assert.Equal(t, uint16(dns.ExtendedErrorCodeNotSupported), code)
	}

	testutil.RequireTool(t, "dig", "bind9-dnsutils")
	out := rcTool(t, "dig", addr, "+opcode=status", "services.internal", "SOA")
	assert.Equal(t, "NOTIMP", rcStatus(t, out))
	assert.Contains(t, out, "EDE: 21 (Not Supported)")
	assert.NotContains(t, out, "EDNS query returned status NOTIMP")
	assert.Contains(t, out, ";services.internal.\t\tIN\tSOA", "the question is echoed")
	out = rcTool(t, "dig", addr, "example.com", "A")
	assert.Equal(t, "REFUSED", rcStatus(t, out))
	assert.Contains(t, out, "EDE: 20 (Not Authoritative)")
	testutil.RequireTool(t, "kdig", "knot-dnsutils")
	out = rcTool(t, "kdig", addr, "+nsid", "services.internal", "SOA")
	assert.Contains(t, out, `NSID: 6E73312E737663726567 "ns1.svcreg"`)
}

// TestCookies: a client cookie gets a server cookie back (RFC 7873,
// RFC 9018 layout); a valid one exempts the client from rate limiting; a
// malformed option is FORMERR; with RequireCookies a query without a
// valid server cookie is BADCOOKIE, and the retry with the cookie works.
// kdig's +cookie sees the same.
func TestCookies(t *testing.T) {
	_, addr := rcStart(t, resolver.Config{RRLRate: 1, CookieSecret: "000102030405060708090a0b0c0d0e0f"}, rcMini(t), nil)
	ask := func(addr string, opt *dns.EDNS0_COOKIE) *dns.Msg {
		t.Helper()
		q := new(dns.Msg).SetQuestion("services.internal.", dns.TypeSOA)
		q.SetEdns0(1232, false)
		if opt != nil {
			q.IsEdns0().Option = append(q.IsEdns0().Option, opt)
		}
		r, _, err := (&dns.Client{Net: "udp", Timeout: 200 * time.Millisecond}).Exchange(q, addr)
		if err != nil {
			return nil
		}
		return r
	}
	cookieOf := func(r *dns.Msg) string {
		for _, o := range r.IsEdns0().Option {
			if c, ok := o.(*dns.EDNS0_COOKIE); ok {
				return c.Cookie
			}
		}
		return ""
	}
	const cc = "0102030405060708"
	r := ask(addr, &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: cc})
	require.NotNil(t, r)
	got := cookieOf(r)
	require.Len(t, got, 2*(8+16), "client cookie and a 16-byte server cookie")
	assert.Equal(t, cc, got[:16])
	assert.Equal(t, "01000000", got[16:24], "version 1, reserved zero")

	// With the server cookie, 30 queries at once: none is rate limited.
	answered := 0
	for range 30 {
		if ask(addr, &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: got}) != nil {
			answered++
		}
	}
	assert.Equal(t, 30, answered, "a valid server cookie exempts from RRL")
	answered = 0
	for range 30 {
		if ask(addr, nil) != nil {
			answered++
		}
	}
	assert.Less(t, answered, 30, "without a cookie the rate limit applies")

	// A malformed cookie option (10 bytes) is FORMERR.
	bad := new(dns.Msg).SetQuestion("services.internal.", dns.TypeSOA)
	bad.SetEdns0(1232, false)
	bad.IsEdns0().Option = append(bad.IsEdns0().Option, &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: "01020304050607080910"})
	b, err := bad.Pack()
	require.NoError(t, err)
	time.Sleep(1100 * time.Millisecond) // the rate limit's bucket refills
	replies := rcRawUDP(t, addr, b, 500*time.Millisecond)
	require.Len(t, replies, 1)
	m := new(dns.Msg)
	require.NoError(t, m.Unpack(replies[0]))
	assert.Equal(t, dns.RcodeFormatError, m.Rcode)

	// Required: BADCOOKIE first, then the retry with the cookie.
	_, req := rcStart(t, resolver.Config{RequireCookies: true}, rcMini(t), nil)
	r = ask(req, &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: cc})
	require.NotNil(t, r)
	assert.Equal(t, dns.RcodeBadCookie, r.Rcode)
	fresh := cookieOf(r)
	require.Len(t, fresh, 48)
	r = ask(req, &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: fresh})
	require.NotNil(t, r)
	assert.Equal(t, dns.RcodeSuccess, r.Rcode)
	assert.Len(t, r.Answer, 1)

	testutil.RequireTool(t, "kdig", "knot-dnsutils")
	out := rcTool(t, "kdig", req, "+cookie", "+badcookie", "services.internal", "SOA")
	assert.Contains(t, out, "bad cookie from 127.0.0.1", "kdig hears BADCOOKIE")
	assert.Contains(t, out, "status: NOERROR", "and retries with the server cookie")
	assert.Regexp(t, `COOKIE: [0-9A-F]{48}`, out)
}
