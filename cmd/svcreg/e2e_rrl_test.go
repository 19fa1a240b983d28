package main

import (
	"net"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rrlBurst sends n SRV queries for _name._tcp from one UDP socket as fast
// as it can, then reads answers until every query is accounted for or
// the wait ends, and sorts them into full answers and TC=1 slips; the
// rest were dropped.
func rrlBurst(t *testing.T, p *daemonProc, name string, n int) (full, slipped, dropped int) {
	t.Helper()
	raddr, err := net.ResolveUDPAddr("udp", p.dnsAddr)
	require.NoError(t, err)
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	defer c.Close()
	m := new(dns.Msg)
	m.SetQuestion("_"+name+"._tcp."+p.zone, dns.TypeSRV)
	seen := make(map[uint16]bool, n)
	for i := range n {
		m.Id = uint16(i + 1)
		b, err := m.Pack()
		require.NoError(t, err)
		_, err = c.WriteToUDP(b, raddr)
		require.NoError(t, err)
	}
	buf := make([]byte, 65535)
	// Dropped queries get no answer at all, so the read ends on a
	// deadline: the daemon answers loopback within milliseconds.
	deadline := time.Now().Add(2 * time.Second)
	for len(seen) < n {
		require.NoError(t, c.SetReadDeadline(deadline))
		k, _, err := c.ReadFromUDP(buf)
		if err != nil {
			break
		}
		r := new(dns.Msg)
		require.NoError(t, r.Unpack(buf[:k]), "every answer parses")
		require.False(t, seen[r.Id], "one answer per query (id %d)", r.Id)
		seen[r.Id] = true
		switch {
		case r.Truncated && len(r.Answer) == 0:
			slipped++
		case r.Rcode == dns.RcodeSuccess && len(r.Answer) > 0:
			full++
		default:
			t.Fatalf("unexpected answer: %v", r)
		}
	}
	return full, slipped, n - full - slipped
}

// TestE2EServeRRL: with dns.rrl_rate set in the config file, a burst
// from one source is limited by the real daemon: at most the rate per
// second is answered, every second answer over it slips (TC=1) and the
// rest are dropped; TCP still answers, and the metrics count both.
func TestE2EServeRRL(t *testing.T) {
	dir := t.TempDir()
	reg := filepath.Join(dir, "services")
	writeAtomic(t, reg, servicesV1)
	const rate, burst = 5, 60
	p := startDaemonDNS(t, dir, "registry:\n  sources: ["+`"`+reg+`"`+"]\n  format: services\n  watch: false\n",
		"  rrl_rate: 5\n  rrl_slip: 2\n  rrl_ipv4_prefix: 32\n")

	full, slipped, dropped := rrlBurst(t, p, "svcone", burst)
	t.Logf("burst of %d at rrl_rate %d: full %d, slipped %d, dropped %d", burst, rate, full, slipped, dropped)
	assert.Positive(t, full, "the first queries are answered")
	// The burst may straddle a second boundary: two budgets at most.
	assert.LessOrEqual(t, full, 2*rate)
	assert.Positive(t, slipped, "answers over the rate slip to TC=1")
	assert.Positive(t, dropped, "answers over the rate are dropped")
	over := burst - full
	assert.InDelta(t, over/2, slipped, 2, "slip 2: every second answer over the rate")

	// TCP is never limited: the client a slip sends there gets its answer.
	port, err := p.srvPort(&dns.Client{Net: "tcp", Timeout: 2 * time.Second}, "svcone")
	require.NoError(t, err)
	assert.Equal(t, uint16(1111), port)

	assert.InDelta(t, float64(slipped), p.metric("svcreg_dns_rrl_slipped_total"), 0.5)
	assert.InDelta(t, float64(dropped), p.metric(`svcreg_dns_dropped_total{reason="rrl"}`), 0.5)
	assert.Contains(t, p.log.String(), `"rrl_rate":5`, "the start-up line says RRL is on")
	p.stop(syscall.SIGTERM, 5*time.Second)
}
