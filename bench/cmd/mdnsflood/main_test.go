package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The flood test counts malformed packets exactly, so every packet of the
// corpus must fail to unpack, and each must fail for its own reason.
func TestMalformedCorpusNeverUnpacks(t *testing.T) {
	corpus := malformedCorpus()
	require.NoError(t, checkCorpus(corpus))
	seen := map[string]bool{}
	for _, p := range corpus {
		require.NotEmpty(t, p)
		seen[string(p)] = true
		assert.NotZero(t, p[2]&0x80, "QR set: % x", p)
	}
	assert.Len(t, seen, len(corpus), "no duplicates")
	// A packet that does unpack is caught.
	good, err := newBuilder(options{prefix: "x", service: "_http._tcp", addr: "198.18.0.1", port: 80}).packet(nil, 0, 1)
	require.NoError(t, err)
	assert.Error(t, checkCorpus([][]byte{good}))
}

func TestBuilderPacket(t *testing.T) {
	tests := []struct {
		first, n int
		want     []string
	}{
		{0, 1, []string{"flood-0._http._tcp.local."}},
		{41, 3, []string{"flood-41._http._tcp.local.", "flood-42._http._tcp.local.", "flood-43._http._tcp.local."}},
	}
	b := newBuilder(options{prefix: "flood", service: "_http._tcp", addr: "198.18.0.1", port: 80})
	for _, tt := range tests {
		pkt, err := b.packet(make([]byte, 0, 9000), tt.first, tt.n)
		require.NoError(t, err)
		assert.LessOrEqual(t, len(pkt), 9000, "RFC 6762 section 17")
		var m dns.Msg
		require.NoError(t, m.Unpack(pkt))
		assert.True(t, m.Response)
		assert.True(t, m.Authoritative)
		assert.Zero(t, m.Id)
		require.Len(t, m.Answer, 4*tt.n)
		var ptrs []string
		for _, rr := range m.Answer {
			switch r := rr.(type) {
			case *dns.PTR:
				assert.Equal(t, uint16(dns.ClassINET), r.Hdr.Class, "shared PTR: no cache-flush bit")
				ptrs = append(ptrs, r.Ptr)
			case *dns.SRV:
				assert.Equal(t, uint16(80), r.Port)
			case *dns.A:
				assert.Equal(t, "198.18.0.1", r.A.String())
			}
		}
		assert.Equal(t, tt.want, ptrs)
	}
}

func TestParseMetrics(t *testing.T) {
	body := `# HELP svcreg_mdns_advertisements Advertisements currently held.
svcreg_mdns_advertisements 10000
svcreg_mdns_evictions_total 47700
svcreg_mdns_packets_total{result="malformed"} 614
svcreg_mdns_packets_total{result="query"} 3
svcreg_mdns_packets_total{result="response"} 57702
go_goroutines 19
go_goroutines_other 7
`
	assert.Equal(t, Metrics{Advertisements: 10000, Evictions: 47700, Responses: 57702, Queries: 3, Malformed: 614, Goroutines: 19}, parseMetrics(body))
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{{"-per-packet", "0"}, {"-rate", "-1"}, {"-instances", "-5"}, {"-nosuch"}} {
		var out, errb bytes.Buffer
		assert.Equal(t, 2, run(context.Background(), args, &out, &errb), "%v", args)
		assert.Empty(t, out.String())
		assert.NotEmpty(t, strings.TrimSpace(errb.String()))
	}
}

// -name announces one instance name exactly, escaped for DNS.
func TestBuilderName(t *testing.T) {
	b := newBuilder(options{prefix: "x", name: "Lab Printer #2", service: "_ipp._tcp", addr: "198.18.0.3", port: 631})
	pkt, err := b.packet(nil, 0, 1)
	require.NoError(t, err)
	m := new(dns.Msg)
	require.NoError(t, m.Unpack(pkt))
	assert.Equal(t, `Lab\ Printer\ #2._ipp._tcp.local.`, m.Answer[0].(*dns.PTR).Ptr)
	assert.Equal(t, "flood.local.", m.Answer[1].(*dns.SRV).Target)
}
