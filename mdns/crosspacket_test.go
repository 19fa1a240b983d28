package mdns

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// announce builds an announcement of instance "Office Printer" with the
// SRV port and host address given.
func announce(t *testing.T, port int, addr string) []byte {
	t.Helper()
	return announceAs(t, "Office Printer", port, addr)
}

func announceAs(t *testing.T, instance string, port int, addr string) []byte {
	t.Helper()
	m := &dns.Msg{MsgHdr: dns.MsgHdr{Response: true, Authoritative: true}}
	name := escapeLabel(instance) + "._ipp._tcp.local."
	typ := "A"
	if strings.Contains(addr, ":") {
		typ = "AAAA"
	}
	for _, s := range []string{
		"_ipp._tcp.local. 4500 IN PTR " + name,
		name + " 120 IN SRV 0 0 " + strconv.Itoa(port) + " printer.local.",
		name + ` 4500 IN TXT "txtvers=1" "rp=ipp/print" "pdl=application/pdf" "qtotal=1"`,
		"printer.local. 120 IN " + typ + " " + addr,
	} {
		r, err := dns.NewRR(s)
		require.NoError(t, err)
		m.Answer = append(m.Answer, r)
	}
	b, err := m.Pack()
	require.NoError(t, err)
	return b
}

func ruleMap(fs []Finding) map[string]Finding {
	out := map[string]Finding{}
	for _, f := range fs {
		out[f.Rule] = f
	}
	return out
}

func meta(src string, at time.Time) PacketMeta {
	return PacketMeta{Source: netip.MustParseAddrPort(src), Interface: "lab0", HopLimit: 255, Received: at}
}

func TestCrossPacketRules(t *testing.T) {
	t0 := time.Now()
	cases := []struct {
		name    string
		packets func(m *Monitor)
		want    []string // rules expected
		notWant []string
	}{
		{"one sender", func(m *Monitor) {
			m.HandlePacket(announce(t, 631, "198.18.0.1"), meta("198.18.0.1:5353", t0))
			m.HandlePacket(announce(t, 631, "198.18.0.1"), meta("198.18.0.1:5353", t0.Add(time.Second)))
		}, nil, []string{RuleNameConflict, RuleReflected, RuleLinkLocalOnly, RuleMDNSRate}},
		{"dual stack is one sender", func(m *Monitor) {
			m.HandlePacket(announce(t, 631, "198.18.0.1"), meta("198.18.0.1:5353", t0))
			m.HandlePacket(announce(t, 631, "198.18.0.1"), meta("[fd42::1]:5353", t0.Add(time.Millisecond)))
		}, nil, []string{RuleNameConflict, RuleReflected}},
		{"two senders, other data", func(m *Monitor) {
			m.HandlePacket(announce(t, 631, "198.18.0.1"), meta("198.18.0.1:5353", t0))
			m.HandlePacket(announce(t, 8631, "198.18.0.1"), meta("198.18.0.7:5353", t0.Add(2*time.Second)))
		}, []string{RuleNameConflict}, []string{RuleReflected}},
		{"two hosts, one host name", func(m *Monitor) {
			m.HandlePacket(announceAs(t, "Office Printer", 631, "198.18.0.3"), meta("198.18.0.3:5353", t0))
			m.HandlePacket(announceAs(t, "Hall Printer", 631, "198.18.0.4"), meta("198.18.0.4:5353", t0.Add(time.Second)))
		}, []string{RuleNameConflict}, []string{RuleReflected}},
		{"a dual-stack host sends its AAAA over IPv6", func(m *Monitor) {
			m.HandlePacket(announceAs(t, "Office Printer", 631, "198.18.0.3"), meta("198.18.0.3:5353", t0))
			m.HandlePacket(announceAs(t, "Hall Printer", 631, "fd42::3"), meta("[fd42::3]:5353", t0.Add(time.Second)))
		}, nil, []string{RuleNameConflict}},
		{"a reflector", func(m *Monitor) {
			m.HandlePacket(announce(t, 631, "198.18.0.1"), meta("198.18.0.1:5353", t0))
			m.HandlePacket(announce(t, 631, "198.18.0.1"), meta("198.18.0.254:5353", t0.Add(20*time.Millisecond)))
		}, []string{RuleReflected}, []string{RuleNameConflict}},
		{"one packet on two links", func(m *Monitor) {
			m.HandlePacket(announce(t, 631, "198.18.0.1"), meta("198.18.0.1:5353", t0))
			other := meta("198.18.0.1:5353", t0.Add(5*time.Millisecond))
			other.Interface = "lab1"
			m.HandlePacket(announce(t, 631, "198.18.0.1"), other)
		}, []string{RuleReflected}, []string{RuleNameConflict}},
		{"the same data later from another address is not a reflection", func(m *Monitor) {
			m.HandlePacket(announce(t, 631, "198.18.0.1"), meta("198.18.0.1:5353", t0))
			m.HandlePacket(announce(t, 631, "198.18.0.1"), meta("198.18.0.9:5353", t0.Add(5*time.Second)))
		}, nil, []string{RuleReflected, RuleNameConflict}},
		{"link-local only", func(m *Monitor) {
			m.HandlePacket(announce(t, 631, "169.254.7.9"), meta("169.254.7.9:5353", t0))
		}, []string{RuleLinkLocalOnly}, nil},
		{"a routable address too", func(m *Monitor) {
			m.HandlePacket(announce(t, 631, "169.254.7.9"), meta("169.254.7.9:5353", t0))
			m.HandlePacket(announce(t, 631, "198.18.0.1"), meta("169.254.7.9:5353", t0.Add(time.Second)))
		}, nil, []string{RuleLinkLocalOnly}},
		{"a flood", func(m *Monitor) {
			pkt := announce(t, 631, "198.18.0.1")
			for i := range 600 {
				m.HandlePacket(pkt, meta("198.18.0.1:5353", t0.Add(time.Duration(i)*10*time.Millisecond)))
			}
		}, []string{RuleMDNSRate}, nil},
		{"renamed again and again", func(m *Monitor) {
			m.HandlePacket(announceAs(t, "Office Printer (2)", 631, "198.18.0.1"), meta("198.18.0.1:5353", t0))
			m.HandlePacket(announceAs(t, "Office Printer (3)", 631, "198.18.0.1"), meta("198.18.0.1:5353", t0.Add(5*time.Second)))
		}, []string{RuleRenameLoop}, nil},
		{"avahi's renames", func(m *Monitor) {
			m.HandlePacket(announceAs(t, "Office Printer #2", 631, "198.18.0.1"), meta("198.18.0.1:5353", t0))
			m.HandlePacket(announceAs(t, "Office Printer #3", 631, "198.18.0.1"), meta("198.18.0.1:5353", t0.Add(5*time.Second)))
		}, []string{RuleRenameLoop}, nil},
		{"one rename is the protocol working", func(m *Monitor) {
			m.HandlePacket(announceAs(t, "Office Printer (2)", 631, "198.18.0.1"), meta("198.18.0.1:5353", t0))
			m.HandlePacket(announceAs(t, "Office Printer (2)", 631, "198.18.0.1"), meta("198.18.0.1:5353", t0.Add(time.Second)))
		}, nil, []string{RuleRenameLoop}},
		{"renames far apart", func(m *Monitor) {
			m.HandlePacket(announceAs(t, "Office Printer (2)", 631, "198.18.0.1"), meta("198.18.0.1:5353", t0))
			m.HandlePacket(announceAs(t, "Office Printer (3)", 631, "198.18.0.1"), meta("198.18.0.1:5353", t0.Add(DefaultRenameWindow+time.Second)))
		}, nil, []string{RuleRenameLoop}},
		{"numbered names are not renames", func(m *Monitor) {
			m.HandlePacket(announceAs(t, "Room 2", 631, "198.18.0.1"), meta("198.18.0.1:5353", t0))
			m.HandlePacket(announceAs(t, "Room 3", 631, "198.18.0.1"), meta("198.18.0.1:5353", t0.Add(time.Second)))
			m.HandlePacket(announceAs(t, "flood-2", 631, "198.18.0.1"), meta("198.18.0.1:5353", t0.Add(time.Second)))
			m.HandlePacket(announceAs(t, "flood-3", 631, "198.18.0.1"), meta("198.18.0.1:5353", t0.Add(time.Second)))
		}, nil, []string{RuleRenameLoop}},
		{"busy but within the rate", func(m *Monitor) {
			pkt := announce(t, 631, "198.18.0.1")
			for i := range 600 {
				m.HandlePacket(pkt, meta("198.18.0.1:5353", t0.Add(time.Duration(i)*25*time.Millisecond)))
			}
		}, nil, []string{RuleMDNSRate}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := newTestMonitor(t, newFakeSource(), nil, nil)
			tc.packets(m)
			m.flush()
			got := ruleMap(m.Findings())
			for _, r := range tc.want {
				assert.Contains(t, got, r)
			}
			for _, r := range tc.notWant {
				assert.NotContains(t, got, r)
			}
		})
	}
}

// The findings name the senders, and a policy can turn the rules off.
func TestCrossPacketFindingText(t *testing.T) {
	t0 := time.Now()
	m := newTestMonitor(t, newFakeSource(), nil, nil)
	m.HandlePacket(announce(t, 631, "198.18.0.1"), meta("198.18.0.1:5353", t0))
	m.HandlePacket(announce(t, 8631, "198.18.0.1"), meta("198.18.0.7:5353", t0.Add(time.Second)))
	m.flush()
	f := ruleMap(m.Findings())[RuleNameConflict]
	assert.Equal(t, SeverityWarning, f.Severity)
	assert.Contains(t, f.Message, "198.18.0.7:5353 claims it with SRV printer.local.:8631 (was printer.local.:631) after 198.18.0.1:5353")

	for i := range 700 {
		m.HandlePacket(announce(t, 631, "198.18.0.1"), meta("198.18.0.3:5353", t0.Add(time.Duration(i)*time.Millisecond)))
	}
	rate := ruleMap(m.Findings())[RuleMDNSRate]
	assert.Equal(t, "198.18.0.3:5353", rate.Origin)
	assert.Contains(t, rate.Message, "501 packets")
	n := 0
	for _, f := range m.Findings() {
		if f.Rule == RuleMDNSRate {
			n++
		}
	}
	assert.Equal(t, 1, n, "once per sender")

	off := newTestMonitor(t, newFakeSource(), nil, func(c *MonitorConfig) {
		c.Policy = Policy{Disabled: map[string]bool{RuleMDNSRate: true}}
		c.RatePackets = 1
	})
	for i := range 50 {
		off.HandlePacket(announce(t, 631, "198.18.0.1"), meta("198.18.0.3:5353", t0.Add(time.Duration(i)*time.Millisecond)))
	}
	off.flush()
	assert.NotContains(t, ruleMap(off.Findings()), RuleMDNSRate)
}

func TestRenameBase(t *testing.T) {
	for in, want := range map[string]string{
		"Printer (2)": "Printer", "Printer (12)": "Printer", "Printer #2": "Printer", "My (Old) Printer (3)": "My (Old) Printer",
		"Printer (1)": "", "Printer (0)": "", "Printer (02)": "", "Printer ()": "", "Printer (x)": "", "(2)": "",
		"Printer": "", "Printer#2": "", "Printer-2": "", "Printer (99999)": "",
	} {
		got, ok := renameBase(in)
		assert.Equal(t, want != "", ok, in)
		assert.Equal(t, want, got, in)
	}
}

// An instance that expires gets goodbye-missing; one that says goodbye
// does not.
func TestGoodbyeMissing(t *testing.T) {
	t0 := time.Now()
	clock := t0
	m := newTestMonitor(t, newFakeSource(), nil, func(c *MonitorConfig) { c.Now = func() time.Time { return clock } })
	m.HandlePacket(announceAs(t, "Vanishing", 631, "198.18.0.1"), meta("198.18.0.1:5353", t0))
	m.HandlePacket(announceAs(t, "Polite", 631, "198.18.0.1"), meta("198.18.0.1:5353", t0))
	bye := new(dns.Msg)
	require.NoError(t, bye.Unpack(announceAs(t, "Polite", 631, "198.18.0.1")))
	for _, rr := range bye.Answer {
		rr.Header().Ttl = 0
	}
	b, err := bye.Pack()
	require.NoError(t, err)
	m.HandlePacket(b, meta("198.18.0.1:5353", t0.Add(time.Second)))
	m.flush()
	assert.NotContains(t, ruleMap(m.Findings()), RuleGoodbye, "nothing expired yet")

	clock = t0.Add(4501 * time.Second) // past the PTR and TXT TTLs
	m.flush()
	var got []Finding
	for _, f := range m.Findings() {
		if f.Rule == RuleGoodbye {
			got = append(got, f)
		}
	}
	require.Len(t, got, 1)
	assert.Equal(t, "Vanishing", got[0].Instance)
	assert.Equal(t, "_ipp._tcp", got[0].ServiceType)
	assert.Equal(t, "198.18.0.1:5353", got[0].Origin)
	assert.Equal(t, SeverityInfo, got[0].Severity)
	assert.Empty(t, m.Advertisements())
}

// The windows of reflected and rename-loop are the monitor's settings.
func TestCrossPacketWindows(t *testing.T) {
	t0 := time.Now()
	m := newTestMonitor(t, newFakeSource(), nil, func(c *MonitorConfig) {
		c.ReflectWindow = 10 * time.Millisecond
		c.RenameWindow = time.Minute
	})
	m.HandlePacket(announce(t, 631, "198.18.0.1"), meta("198.18.0.1:5353", t0))
	m.HandlePacket(announce(t, 631, "198.18.0.1"), meta("198.18.0.254:5353", t0.Add(20*time.Millisecond)))
	m.HandlePacket(announceAs(t, "Hall Printer (2)", 631, "198.18.0.1"), meta("198.18.0.1:5353", t0))
	m.HandlePacket(announceAs(t, "Hall Printer (3)", 631, "198.18.0.1"), meta("198.18.0.1:5353", t0.Add(2*time.Minute)))
	m.flush()
	got := ruleMap(m.Findings())
	assert.NotContains(t, got, RuleReflected, "20 ms apart is past a 10 ms window")
	assert.NotContains(t, got, RuleRenameLoop, "2 minutes apart is past a 1 minute window")
	_, err := NewMonitor(MonitorConfig{Source: newFakeSource(), RenameWindow: -time.Second}, m.snaps, nil, nil)
	assert.Error(t, err)
}
