package mdns

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	pcap "github.com/svcreg/svcreg/capture"
	"github.com/svcreg/svcreg/registry"
)

var (
	capMAC  = net.HardwareAddr{0x02, 0x00, 0xc6, 0x12, 0x00, 0x09}
	capFrom = netip.MustParseAddrPort("198.18.0.9:5353")
	capTo   = netip.MustParseAddrPort("224.0.0.251:5353")
	capT0   = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
)

// writeCapture writes the mDNS payloads as a pcap, one packet a second,
// plus a non-mDNS datagram first.
func writeCapture(tb testing.TB, payloads ...[]byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	w, err := pcap.NewWriter(&buf, pcap.LinkEthernet)
	require.NoError(tb, err)
	require.NoError(tb, w.WritePacket(capT0, pcap.UDPFrame(capMAC, netip.MustParseAddrPort("198.18.0.9:40000"),
		netip.MustParseAddrPort("198.18.0.1:53"), 64, []byte("not mdns"))))
	for i, p := range payloads {
		require.NoError(tb, w.WritePacket(capT0.Add(time.Duration(i+1)*time.Second), pcap.UDPFrame(capMAC, capFrom, capTo, 255, p)))
	}
	return buf.Bytes()
}

// A capture replays on its own clock: an advertisement from a capture
// taken long ago is current at the capture's end, attributed to the
// sender's MAC and the packets that carried it.
func TestCaptureSource(t *testing.T) {
	data := writeCapture(t, lanAnnouncement(t, "Office Printer"), lanAnnouncement(t, "Office Printer"),
		lanAnnouncement(t, "Hall Printer"))
	src, err := NewCaptureSource(bytes.NewReader(data), "lab0")
	require.NoError(t, err)
	snap := benchSnapshot(t).WithProfiles(registry.BuiltinProfiles())
	m, err := NewMonitor(MonitorConfig{Source: src, Now: src.Now}, registry.NewStore(snap), nil, nil)
	require.NoError(t, err)
	require.NoError(t, m.Run(context.Background()))

	st := src.Stats()
	assert.Equal(t, 4, st.Packets)
	assert.Equal(t, 3, st.MDNS)
	assert.Equal(t, 1, st.Skipped)
	assert.Equal(t, capT0, st.First)
	assert.Equal(t, capT0.Add(3*time.Second), st.Last)
	assert.Equal(t, capT0.Add(3*time.Second), src.Now())

	ads := m.Advertisements()
	require.Len(t, ads, 2, "the capture's time, not today's, decides what expired")
	byName := map[string]Advertisement{}
	for _, a := range ads {
		byName[a.Instance] = a
	}
	office := byName["Office Printer"]
	assert.Equal(t, capMAC.String(), office.MAC)
	assert.Equal(t, 2, office.FirstPacket)
	assert.Equal(t, 3, office.LastPacket)
	assert.Equal(t, capFrom, office.Source)
	assert.Equal(t, "lab0", office.Interface)
	assert.Equal(t, capT0.Add(time.Second), office.FirstSeen)
	assert.Equal(t, 4, byName["Hall Printer"].FirstPacket)
	for _, f := range m.Findings() {
		if f.Instance == "Office Printer" {
			assert.Equal(t, 2, f.FirstPacket, f.Rule)
			assert.Equal(t, 3, f.LastPacket, f.Rule)
			assert.Equal(t, capMAC.String(), f.MAC, f.Rule)
			assert.Equal(t, "lab0", f.Interface, f.Rule)
		}
	}
}

// A cut capture: what came before is delivered, then the error names the
// packet.
func TestCaptureSourceTruncated(t *testing.T) {
	data := writeCapture(t, lanAnnouncement(t, "Office Printer"), lanAnnouncement(t, "Hall Printer"))
	src, err := NewCaptureSource(bytes.NewReader(data[:len(data)-5]), "lab0")
	require.NoError(t, err)
	var got int
	err = src.Serve(context.Background(), func([]byte, PacketMeta) { got++ })
	require.ErrorIs(t, err, pcap.ErrTruncated)
	assert.Contains(t, err.Error(), "packet 3 ")
	assert.Equal(t, 1, got)
}

// BenchmarkCaptureScan replays a capture of 20,000 announcements from 200
// printers through the monitor, as svcreg scan --pcap does: read, decode,
// unpack (remembered for repeats), assemble, merge. Target: 200,000
// packets a second on one core.
func BenchmarkCaptureScan(b *testing.B) {
	const printers, rounds = 200, 100
	payloads := make([][]byte, 0, printers*rounds)
	for r := 0; r < rounds; r++ {
		for p := 0; p < printers; p++ {
			payloads = append(payloads, lanAnnouncement(b, "Printer "+strconv.Itoa(p)))
		}
	}
	data := writeCapture(b, payloads...)
	snap := benchSnapshot(b).WithProfiles(registry.BuiltinProfiles())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		src, err := NewCaptureSource(bytes.NewReader(data), "lab0")
		if err != nil {
			b.Fatal(err)
		}
		m, err := NewMonitor(MonitorConfig{Source: src, Now: src.Now}, registry.NewStore(snap), nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := m.Run(context.Background()); err != nil {
			b.Fatal(err)
		}
		if n := len(m.Advertisements()); n != printers {
			b.Fatalf("%d advertisements", n)
		}
	}
	b.ReportMetric(float64(len(payloads)*b.N)/b.Elapsed().Seconds(), "packets/s")
}
