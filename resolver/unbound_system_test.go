package resolver_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/internal/testutil"
	"github.com/svcreg/svcreg/resolver"
)

// TestSystemUnboundStubZone runs Unbound as a recursive resolver with a
// stub-zone for the zone pointing at an in-process svcreg, and checks
// that queries through Unbound get svcreg's answers: SRV, TXT, PTR at a
// port label, the apex, empty non-terminals, NODATA and NXDOMAIN.
//
// Not asked: the 50 KB DNS-SD enumeration PTR set. Unbound 1.17 fetches
// it from svcreg over TCP after the truncated UDP answer, but cannot
// re-encode 1,706 PTR records within its 64 KB message buffer and answers
// TC=1 with an empty answer section even over TCP (docs/zone-secondaries.md).
func TestSystemUnboundStubZone(t *testing.T) {
	unbound := testutil.RequireTool(t, "unbound", "unbound")
	snap := ianaSnapshot(t)
	_, svcAddr := sysStartServer(t, snap, resolver.Config{})
	svcHost, svcPort, err := net.SplitHostPort(svcAddr)
	require.NoError(t, err)

	dir := t.TempDir()
	port := testutil.FreePort(t)
	conf := filepath.Join(dir, "unbound.conf")
	// Unbound as the current user, in the foreground (-d), without chroot,
	// remote control, DNSSEC validation or root priming needs: only the
	// stub zone is asked.
	require.NoError(t, os.WriteFile(conf, []byte(fmt.Sprintf(`server:
    interface: 127.0.0.1
    port: %d
    do-ip6: no
    do-daemonize: no
    chroot: ""
    username: ""
    directory: %q
    pidfile: %q
    use-syslog: no
    logfile: ""
    verbosity: 1
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no
    module-config: "iterator"
    num-threads: 1
remote-control:
    control-enable: no
stub-zone:
    name: %q
    stub-addr: %s@%s
`, port, dir, filepath.Join(dir, "unbound.pid"), resolver.DefaultZone, svcHost, svcPort)), 0o644))
	sysStartProcess(t, "unbound", unbound, "-d", "-c", conf)
	ubAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))

	// Wait until Unbound answers at all (it needs a moment to bind).
	deadline := time.Now().Add(20 * time.Second)
	for {
		r, err := sysExchange("udp", ubAddr, resolver.DefaultZone, dns.TypeSOA)
		if err == nil && r.Rcode == dns.RcodeSuccess {
			break
		}
		require.Truef(t, time.Now().Before(deadline), "Unbound on %s did not answer the apex SOA: %v %v", ubAddr, err, r)
		time.Sleep(100 * time.Millisecond)
	}

	z := resolver.DefaultZone
	cases := []struct {
		name   string
		qtype  uint16
		rcode  int
		answer bool // the answer section is non-empty
	}{
		{z, dns.TypeSOA, dns.RcodeSuccess, true},
		{z, dns.TypeNS, dns.RcodeSuccess, true},
		{z, dns.TypeTXT, dns.RcodeSuccess, true},
		{"_http._tcp." + z, dns.TypeSRV, dns.RcodeSuccess, true},
		{"_HTTP._Tcp." + z, dns.TypeTXT, dns.RcodeSuccess, true},
		{"_domain._udp." + z, dns.TypeSRV, dns.RcodeSuccess, true},
		{"_80._tcp." + z, dns.TypePTR, dns.RcodeSuccess, true},
		{"_443._tcp." + z, dns.TypeTXT, dns.RcodeSuccess, true},
		{"_printer._sub._http._tcp." + z, dns.TypePTR, dns.RcodeSuccess, false},
		{"_tcp." + z, dns.TypeTXT, dns.RcodeSuccess, false},
		{"_http._tcp." + z, dns.TypeAAAA, dns.RcodeSuccess, false},
		{"_no-such-service-xyz._tcp." + z, dns.TypeSRV, dns.RcodeNameError, false},
	}
	for _, tc := range cases {
		what := tc.name + " " + dns.TypeToString[tc.qtype]
		t.Run(what, func(t *testing.T) {
			want, err := sysExchange("tcp", svcAddr, tc.name, tc.qtype)
			require.NoError(t, err)
			got, err := sysExchange("tcp", ubAddr, tc.name, tc.qtype)
			require.NoError(t, err)
			assert.Equal(t, dns.RcodeToString[tc.rcode], dns.RcodeToString[want.Rcode], "svcreg")
			assert.Equal(t, dns.RcodeToString[tc.rcode], dns.RcodeToString[got.Rcode], "through Unbound")
			assert.Equal(t, tc.answer, len(got.Answer) > 0, "answer through Unbound: %v", got.Answer)
			assert.True(t, got.RecursionAvailable, "Unbound answers as a recursive resolver")
			// Unbound counts TTLs down; compare the data only.
			sysAssertSame(t, sysRRData(want.Answer), sysRRData(got.Answer), "answer")
			if tc.rcode == dns.RcodeNameError {
				require.NotEmpty(t, got.Ns, "NXDOMAIN through Unbound carries the SOA")
				assert.Equal(t, dns.TypeSOA, got.Ns[0].Header().Rrtype)
			}
		})
	}
}

// sysRRData renders RRs sorted with TTL 0 and lowercased owners, for
// comparing answers that went through a cache.
func sysRRData(rrs []dns.RR) []string {
	cp := make([]dns.RR, 0, len(rrs))
	for _, rr := range rrs {
		c := dns.Copy(rr)
		c.Header().Ttl = 0
		cp = append(cp, c)
	}
	return sysRRStrings(cp)
}
