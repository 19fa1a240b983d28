package proxy

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/capture"
	"github.com/svcreg/svcreg/mdns"
	"github.com/svcreg/svcreg/registry"
)

// announcement packs what a responder sends for "Office Printer" on the
// port given.
func announcement(t *testing.T, port int, addr string) []byte {
	t.Helper()
	m := &dns.Msg{MsgHdr: dns.MsgHdr{Response: true, Authoritative: true}}
	name := "Office\\ Printer._ipp._tcp.local."
	for _, s := range []string{
		"_ipp._tcp.local. 4500 IN PTR " + name,
		name + " 120 IN SRV 0 0 " + strconv.Itoa(port) + " printer.local.",
		name + ` 4500 IN TXT "txtvers=1" "rp=ipp/print" "pdl=application/pdf" "qtotal=1"`,
		"printer.local. 120 IN A " + addr,
	} {
		rr, err := dns.NewRR(s)
		require.NoError(t, err)
		m.Answer = append(m.Answer, rr)
	}
	b, err := m.Pack()
	require.NoError(t, err)
	return b
}

// Two hosts claim one instance name with other data: the monitor holds
// one instance with a name-conflict finding, and the proxy publishes it
// once (the last claim), not twice. The traffic goes through the monitor
// as a capture would.
func TestConflictingNamePublishedOnce(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	w, err := capture.NewWriter(&buf, capture.LinkEthernet)
	require.NoError(t, err)
	group := netip.MustParseAddrPort("224.0.0.251:5353")
	for i, s := range []struct {
		from string
		mac  net.HardwareAddr
		port int
	}{
		{"198.18.0.3", net.HardwareAddr{2, 0, 0xc6, 0x12, 0, 3}, 631},
		{"198.18.0.4", net.HardwareAddr{2, 0, 0xc6, 0x12, 0, 4}, 8631},
	} {
		frame := capture.UDPFrame(s.mac, netip.AddrPortFrom(netip.MustParseAddr(s.from), 5353), group, 255,
			announcement(t, s.port, s.from))
		require.NoError(t, w.WritePacket(t0.Add(time.Duration(i)*time.Second), frame))
	}
	src, err := mdns.NewCaptureSource(&buf, "lab0")
	require.NoError(t, err)
	snap, err := registry.Build(registry.Builtin())
	require.NoError(t, err)
	m, err := mdns.NewMonitor(mdns.MonitorConfig{Source: src, Now: src.Now}, registry.NewStore(snap), nil, nil)
	require.NoError(t, err)
	require.NoError(t, m.Run(context.Background()))

	ads := m.Advertisements()
	require.Len(t, ads, 1, "one instance name, one advertisement")
	var rules []string
	for _, f := range ads[0].Findings {
		rules = append(rules, f.Rule)
	}
	assert.Contains(t, rules, mdns.RuleNameConflict)

	link := Link{Interface: "lab0", Zone: zone, Policy: PolicyValid,
		Prefixes: []netip.Prefix{netip.MustParsePrefix("198.18.0.0/24")}}
	res := Build(link, ads, nil)
	assert.Equal(t, 1, res.Published, "a warning does not keep it out under the valid policy")
	var srvs []*dns.SRV
	for _, rr := range res.Records {
		if s, ok := rr.(*dns.SRV); ok {
			srvs = append(srvs, s)
		}
	}
	require.Len(t, srvs, 1, "published once")
	assert.Equal(t, uint16(8631), srvs[0].Port, "the last claim")
}
