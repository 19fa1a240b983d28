package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// byteOrder is what the writers need of binary.LittleEndian and BigEndian.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

var update = flag.Bool("update", false, "rewrite the capture fixtures in testdata/")

// Frames built by the tests, as a writer of each format lays them out.

var (
	macA = net.HardwareAddr{0x02, 0x42, 0xc6, 0x12, 0x00, 0x02}
	macB = net.HardwareAddr{0x02, 0x42, 0xc6, 0x12, 0x00, 0x03}
	v4A  = netip.MustParseAddr("198.18.0.2")
	v4G  = netip.MustParseAddr("224.0.0.251")
	v6A  = netip.MustParseAddr("fe80::42:c6ff:fe12:2")
	v6G  = netip.MustParseAddr("ff02::fb")
)

func udpHeader(sport, dport uint16, payload []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, sport)
	b = binary.BigEndian.AppendUint16(b, dport)
	b = binary.BigEndian.AppendUint16(b, uint16(8+len(payload)))
	b = append(b, 0, 0) // checksum: not checked
	return append(b, payload...)
}

func ipv4UDP(src, dst netip.Addr, ttl byte, payload []byte) []byte {
	udp := udpHeader(5353, 5353, payload)
	h := []byte{0x45, 0, 0, 0, 0x12, 0x34, 0x40, 0, ttl, 17, 0, 0}
	binary.BigEndian.PutUint16(h[2:4], uint16(20+len(udp)))
	s, d := src.As4(), dst.As4()
	h = append(append(h, s[:]...), d[:]...)
	return append(h, udp...)
}

// ipv6UDP builds an IPv6 datagram; hopByHop puts a hop-by-hop options
// header (as MLD reports carry) before UDP.
func ipv6UDP(src, dst netip.Addr, hops byte, payload []byte, hopByHop bool) []byte {
	udp := udpHeader(5353, 5353, payload)
	next := byte(17)
	var ext []byte
	if hopByHop {
		next = 0
		ext = []byte{17, 0, 5, 2, 0, 0, 1, 0} // next UDP, 8 bytes, router alert, PadN
	}
	h := []byte{0x60, 0, 0, 0, 0, 0, next, hops}
	binary.BigEndian.PutUint16(h[4:6], uint16(len(ext)+len(udp)))
	s, d := src.As16(), dst.As16()
	h = append(append(h, s[:]...), d[:]...)
	return append(append(h, ext...), udp...)
}

func ethernet(src net.HardwareAddr, etherType uint16, vlan bool, ip []byte) []byte {
	b := append([]byte{0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb}, src...)
	if vlan {
		b = binary.BigEndian.AppendUint16(b, etherVLAN)
		b = append(b, 0x00, 0x2a)
	}
	b = binary.BigEndian.AppendUint16(b, etherType)
	return append(b, ip...)
}

func sll(src net.HardwareAddr, etherType uint16, ip []byte) []byte {
	b := []byte{0, 0, 0, 1, 0, 6}
	b = append(append(b, src...), 0, 0)
	b = binary.BigEndian.AppendUint16(b, etherType)
	return append(b, ip...)
}

func sll2(src net.HardwareAddr, etherType uint16, ip []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, etherType)
	b = append(b, 0, 0, 0, 0, 0, 3, 0, 1, 2, 6)
	b = append(append(b, src...), 0, 0)
	return append(b, ip...)
}

type frame struct {
	iface int
	t     time.Time
	data  []byte
	orig  int // 0: len(data)
}

func writePcap(order byteOrder, nanos bool, link uint16, frames []frame) []byte {
	magic := uint32(0xa1b2c3d4)
	if nanos {
		magic = 0xa1b23c4d
	}
	b := order.AppendUint32(nil, magic)
	b = order.AppendUint16(b, 2)
	b = order.AppendUint16(b, 4)
	b = order.AppendUint32(b, 0)
	b = order.AppendUint32(b, 0)
	b = order.AppendUint32(b, 262144)
	b = order.AppendUint32(b, uint32(link))
	for _, f := range frames {
		frac := uint32(f.t.Nanosecond() / 1000)
		if nanos {
			frac = uint32(f.t.Nanosecond())
		}
		orig := max(f.orig, len(f.data))
		b = order.AppendUint32(b, uint32(f.t.Unix()))
		b = order.AppendUint32(b, frac)
		b = order.AppendUint32(b, uint32(len(f.data)))
		b = order.AppendUint32(b, uint32(orig))
		b = append(b, f.data...)
	}
	return b
}

type ngIface struct {
	link    uint16
	name    string
	tsresol byte // 0: the default (microseconds)
}

func ngBlock(order byteOrder, typ uint32, body []byte) []byte {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	total := uint32(12 + len(body))
	b := order.AppendUint32(nil, typ)
	b = order.AppendUint32(b, total)
	b = append(b, body...)
	return order.AppendUint32(b, total)
}

func ngOption(order byteOrder, code uint16, v []byte) []byte {
	b := order.AppendUint16(nil, code)
	b = order.AppendUint16(b, uint16(len(v)))
	b = append(b, v...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// writePcapng writes one section with the interfaces, the frames as
// enhanced packet blocks, one simple packet block for frames with iface
// -1, and a name resolution block the reader must skip.
func writePcapng(order byteOrder, ifaces []ngIface, frames []frame) []byte {
	shb := order.AppendUint32(nil, 0x1A2B3C4D)
	shb = order.AppendUint16(shb, 1)
	shb = order.AppendUint16(shb, 0)
	shb = order.AppendUint64(shb, ^uint64(0))
	b := ngBlock(order, blockSection, shb)
	for _, ifc := range ifaces {
		body := order.AppendUint16(nil, ifc.link)
		body = order.AppendUint16(body, 0)
		body = order.AppendUint32(body, 262144)
		if ifc.name != "" {
			body = append(body, ngOption(order, 2, []byte(ifc.name))...)
		}
		if ifc.tsresol != 0 {
			body = append(body, ngOption(order, 9, []byte{ifc.tsresol})...)
		}
		body = append(body, 0, 0, 0, 0) // opt_endofopt
		b = append(b, ngBlock(order, blockInterface, body)...)
	}
	b = append(b, ngBlock(order, 4, []byte{0, 0, 0, 0})...) // name resolution: skipped
	for _, f := range frames {
		if f.iface < 0 {
			body := order.AppendUint32(nil, uint32(len(f.data)))
			b = append(b, ngBlock(order, blockSimple, append(body, f.data...))...)
			continue
		}
		perSec := uint64(1_000_000)
		if r := ifaces[f.iface].tsresol; r != 0 {
			perSec = 1
			for range r {
				perSec *= 10
			}
		}
		ticks := uint64(f.t.Unix())*perSec + uint64(f.t.Nanosecond())*perSec/1e9
		body := order.AppendUint32(nil, uint32(f.iface))
		body = order.AppendUint32(body, uint32(ticks>>32))
		body = order.AppendUint32(body, uint32(ticks))
		body = order.AppendUint32(body, uint32(len(f.data)))
		body = order.AppendUint32(body, uint32(max(f.orig, len(f.data))))
		b = append(b, ngBlock(order, blockEnhanced, append(body, f.data...))...)
	}
	return b
}

var (
	t0       = time.Date(2026, 12, 3, 9, 0, 0, 123456000, time.UTC)
	payloadA = []byte("mdns answer A")
	payloadB = []byte("mdns answer B, a bit longer")
)

// want is what each fixture decodes to.
type want struct {
	t        time.Time
	src      netip.AddrPort
	mac      net.HardwareAddr
	hops     int
	payload  []byte
	iface    string
	trunc    bool
	fragment bool
}

type fixture struct {
	file string
	data []byte
	want []want
}

func fixtures() []fixture {
	v4 := ipv4UDP(v4A, v4G, 255, payloadA)
	v6 := ipv6UDP(v6A, v6G, 255, payloadB, true)
	frag := ipv4UDP(v4A, v4G, 255, payloadA)
	frag[6] = 0x20 // more fragments
	wv4 := want{t: t0, src: netip.AddrPortFrom(v4A, 5353), mac: macA, hops: 255, payload: payloadA}
	wv6 := want{t: t0.Add(time.Second), src: netip.AddrPortFrom(v6A, 5353), mac: macB, hops: 255, payload: payloadB}
	noMAC := func(w want) want { w.mac = nil; return w }
	withIface := func(w want, name string) want { w.iface = name; return w }
	cut := ethernet(macA, etherIPv4, false, v4)
	return []fixture{
		{"ethernet-le.pcap", writePcap(binary.LittleEndian, false, LinkEthernet, []frame{
			{t: t0, data: ethernet(macA, etherIPv4, false, v4)},
			{t: t0.Add(time.Second), data: ethernet(macB, etherIPv6, true, v6)},
			{t: t0.Add(2 * time.Second), data: ethernet(macA, etherIPv4, false, frag)},
			{t: t0.Add(3 * time.Second), data: cut[:len(cut)-4], orig: len(cut)},
		}), []want{wv4, wv6, {fragment: true}, {t: t0.Add(3 * time.Second), src: wv4.src, mac: macA, hops: 255,
			payload: payloadA[:len(payloadA)-4], trunc: true}}},
		{"ethernet-be-ns.pcap", writePcap(binary.BigEndian, true, LinkEthernet, []frame{
			{t: t0.Add(789), data: ethernet(macA, etherIPv4, false, v4)},
		}), []want{{t: t0.Add(789), src: wv4.src, mac: macA, hops: 255, payload: payloadA}}},
		{"sll.pcap", writePcap(binary.LittleEndian, false, LinkSLL, []frame{
			{t: t0, data: sll(macA, etherIPv4, v4)}, {t: t0.Add(time.Second), data: sll(macB, etherIPv6, v6)},
		}), []want{wv4, wv6}},
		{"sll2.pcap", writePcap(binary.LittleEndian, false, LinkSLL2, []frame{
			{t: t0, data: sll2(macA, etherIPv4, v4)}, {t: t0.Add(time.Second), data: sll2(macB, etherIPv6, v6)},
		}), []want{wv4, wv6}},
		{"raw.pcap", writePcap(binary.LittleEndian, false, LinkRaw, []frame{
			{t: t0, data: v4}, {t: t0.Add(time.Second), data: v6},
		}), []want{noMAC(wv4), noMAC(wv6)}},
		{"two-interfaces.pcapng", writePcapng(binary.LittleEndian, []ngIface{{link: LinkEthernet, name: "lab0"}, {link: LinkRaw, name: "tun0", tsresol: 9}}, []frame{
			{iface: 0, t: t0, data: ethernet(macA, etherIPv4, false, v4)},
			{iface: 1, t: t0.Add(time.Second + 321), data: v6},
			{iface: -1, data: ethernet(macA, etherIPv4, false, v4)},
		}), []want{withIface(wv4, "lab0"), withIface(noMAC(want{t: t0.Add(time.Second + 321), src: wv6.src, hops: 255, payload: payloadB}), "tun0"),
			{src: wv4.src, mac: macA, hops: 255, payload: payloadA, iface: "lab0"}}},
		{"big-endian.pcapng", writePcapng(binary.BigEndian, []ngIface{{link: LinkSLL2}}, []frame{
			{iface: 0, t: t0, data: sll2(macA, etherIPv4, v4)},
		}), []want{wv4}},
	}
}

func readAll(t *testing.T, data []byte) ([]*Packet, []Datagram, []error, error) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, nil, nil, err
	}
	var pkts []*Packet
	var dgs []Datagram
	var decErrs []error
	for {
		p, err := r.Next()
		if errors.Is(err, io.EOF) {
			return pkts, dgs, decErrs, nil
		}
		if err != nil {
			return pkts, dgs, decErrs, err
		}
		cp := *p
		cp.Data = bytes.Clone(p.Data)
		pkts = append(pkts, &cp)
		d, err := Decode(cp.LinkType, cp.Data)
		dgs, decErrs = append(dgs, d), append(decErrs, err)
	}
}

func TestFixtures(t *testing.T) {
	for _, fx := range fixtures() {
		t.Run(fx.file, func(t *testing.T) {
			path := filepath.Join("testdata", fx.file)
			if *update {
				require.NoError(t, os.WriteFile(path, fx.data, 0o644))
			}
			onDisk, err := os.ReadFile(path)
			require.NoError(t, err, "run go test ./capture -update to write the fixtures")
			require.Equal(t, fx.data, onDisk, "fixture out of date: go test ./capture -update")

			pkts, dgs, decErrs, err := readAll(t, onDisk)
			require.NoError(t, err)
			require.Len(t, pkts, len(fx.want))
			for i, w := range fx.want {
				assert.Equal(t, i+1, pkts[i].Number)
				assert.Equal(t, w.iface, pkts[i].Interface, "packet %d", i+1)
				if w.fragment {
					assert.ErrorIs(t, decErrs[i], ErrFragment, "packet %d", i+1)
					continue
				}
				require.NoError(t, decErrs[i], "packet %d", i+1)
				if !w.t.IsZero() {
					assert.Equal(t, w.t, pkts[i].Time, "packet %d", i+1)
				}
				assert.Equal(t, w.src, dgs[i].Src, "packet %d", i+1)
				assert.Equal(t, w.mac, dgs[i].SrcMAC, "packet %d", i+1)
				assert.Equal(t, w.hops, dgs[i].HopLimit, "packet %d", i+1)
				assert.Equal(t, w.payload, dgs[i].Payload, "packet %d", i+1)
				assert.Equal(t, w.trunc, dgs[i].Truncated, "packet %d", i+1)
				assert.Equal(t, uint16(5353), dgs[i].Dst.Port())
			}
		})
	}
}

// A capture cut anywhere gives the packets before the cut, then an error
// naming the packet it stopped in, never a panic or a wrong packet.
func TestTruncatedEverywhere(t *testing.T) {
	for _, fx := range fixtures() {
		full, _, _, err := readAll(t, fx.data)
		require.NoError(t, err)
		for n := 0; n < len(fx.data); n++ {
			pkts, _, _, err := readAll(t, fx.data[:n])
			if n == 0 {
				require.ErrorIs(t, err, ErrFormat, "%s empty", fx.file)
				continue
			}
			for i, p := range pkts {
				require.Equal(t, full[i].Data, p.Data, "%s cut at %d: packet %d", fx.file, n, i+1)
			}
			if err == nil {
				// A cut between packets is a shorter, valid capture.
				continue
			}
			var ce *Error
			require.ErrorAs(t, err, &ce, "%s cut at %d", fx.file, n)
			require.True(t, errors.Is(err, ErrTruncated) || errors.Is(err, ErrFormat) || errors.Is(err, ErrCorrupt),
				"%s cut at %d: %v", fx.file, n, err)
			if ce.Packet == 0 {
				require.Empty(t, pkts, "%s cut at %d: a header error after packets: %v", fx.file, n, err)
			} else {
				require.Equal(t, len(pkts)+1, ce.Packet, "%s cut at %d: %v", fx.file, n, err)
			}
		}
	}
}

func TestBadCaptures(t *testing.T) {
	good := fixtures()[0].data
	bigLen := bytes.Clone(good)
	binary.LittleEndian.PutUint32(bigLen[24+8:], 1<<30)
	badMagic := bytes.Clone(good)
	copy(badMagic, "GIF8")
	ng := fixtures()[5].data
	badIface := bytes.Clone(ng)
	// The first enhanced packet block names interface 0; make it 7.
	i := bytes.Index(badIface, []byte{6, 0, 0, 0})
	require.Positive(t, i)
	binary.LittleEndian.PutUint32(badIface[i+8:], 7)
	cases := []struct {
		name string
		data []byte
		err  error
		msg  string
	}{
		{"empty", nil, ErrFormat, "capture: byte 0: reading the file header"},
		{"not a capture", []byte("GET / HTTP/1.1\r\n\r\n........"), ErrFormat, "magic number"},
		{"bad magic", badMagic, ErrFormat, "magic number"},
		{"huge captured length", bigLen, ErrCorrupt, "packet 1 (byte 24): captured length 1073741824 over 262144"},
		{"undescribed interface", badIface, ErrCorrupt, "interface 7 not described"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := readAll(t, tc.data)
			require.ErrorIs(t, err, tc.err)
			assert.Contains(t, err.Error(), tc.msg)
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	v4 := ipv4UDP(v4A, v4G, 255, payloadA)
	tcp := bytes.Clone(v4)
	tcp[9] = 6
	v6frag := ipv6UDP(v6A, v6G, 1, payloadA, false)
	v6frag[6] = 44
	cases := []struct {
		name  string
		link  uint16
		frame []byte
		err   error
	}{
		{"arp", LinkEthernet, ethernet(macA, 0x0806, false, make([]byte, 28)), ErrNotUDP},
		{"tcp", LinkRaw, tcp, ErrNotUDP},
		{"ipv6 fragment", LinkRaw, v6frag, ErrFragment},
		{"short ethernet", LinkEthernet, []byte{1, 2, 3}, ErrShort},
		{"short ipv4", LinkRaw, v4[:15], ErrShort},
		{"short udp", LinkRaw, v4[:24], ErrShort},
		{"token ring", 6, v4, ErrLinkType},
		{"ip version 5", LinkRaw, append([]byte{0x50}, v4[1:]...), ErrNotUDP},
	}
	for _, tc := range cases {
		_, err := Decode(tc.link, tc.frame)
		assert.ErrorIs(t, err, tc.err, tc.name)
	}
	// BSD loopback, both family byte orders.
	for _, fam := range [][]byte{{2, 0, 0, 0}, {0, 0, 0, 2}} {
		d, err := Decode(LinkNull, append(bytes.Clone(fam), v4...))
		require.NoError(t, err)
		assert.Equal(t, payloadA, d.Payload)
	}
}

func FuzzReader(f *testing.F) {
	for _, fx := range fixtures() {
		f.Add(fx.data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data))
		if err != nil {
			var ce *Error
			require.ErrorAs(t, err, &ce)
			require.Zero(t, ce.Packet)
			return
		}
		for n := 0; ; n++ {
			p, err := r.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					var ce *Error
					require.ErrorAs(t, err, &ce)
					require.Equal(t, n+1, ce.Packet)
				}
				return
			}
			require.Equal(t, n+1, p.Number)
			require.LessOrEqual(t, len(p.Data), maxBlock)
			_, _ = Decode(p.LinkType, p.Data)
		}
	})
}

func FuzzDecode(f *testing.F) {
	f.Add(LinkEthernet, ethernet(macA, etherIPv4, true, ipv4UDP(v4A, v4G, 255, payloadA)))
	f.Add(LinkRaw, ipv6UDP(v6A, v6G, 255, payloadB, true))
	f.Add(LinkSLL2, sll2(macA, etherIPv4, ipv4UDP(v4A, v4G, 1, nil)))
	f.Fuzz(func(t *testing.T, link uint16, frame []byte) {
		d, err := Decode(link, frame)
		if err == nil {
			require.LessOrEqual(t, len(d.Payload), d.Length)
			require.LessOrEqual(t, len(d.Payload), len(frame))
		}
	})
}

// BenchmarkReadDecode reads and decodes a pcap of 10,000 mDNS packets:
// the capture side of svcreg scan --pcap.
func BenchmarkReadDecode(b *testing.B) {
	payload := bytes.Repeat([]byte{0xab}, 300)
	frames := make([]frame, 10000)
	for i := range frames {
		frames[i] = frame{t: t0.Add(time.Duration(i) * time.Millisecond), data: ethernet(macA, etherIPv4, false, ipv4UDP(v4A, v4G, 255, payload))}
	}
	data := writePcap(binary.LittleEndian, false, LinkEthernet, frames)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := NewReader(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			p, err := r.Next()
			if err != nil {
				break
			}
			if _, err := Decode(p.LinkType, p.Data); err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != len(frames) {
			b.Fatalf("%d packets", n)
		}
	}
	b.ReportMetric(float64(len(frames)*b.N)/b.Elapsed().Seconds(), "packets/s")
}

// What Writer and UDPFrame write, Reader and Decode read back.
func TestWriterRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, LinkEthernet)
	require.NoError(t, err)
	src4, dst4 := netip.AddrPortFrom(v4A, 5353), netip.AddrPortFrom(v4G, 5353)
	src6, dst6 := netip.AddrPortFrom(v6A, 5353), netip.AddrPortFrom(v6G, 5353)
	require.NoError(t, w.WritePacket(t0, UDPFrame(macA, src4, dst4, 255, payloadA)))
	require.NoError(t, w.WritePacket(t0.Add(time.Second), UDPFrame(macB, src6, dst6, 1, payloadB)))
	pkts, dgs, errs, err := readAll(t, buf.Bytes())
	require.NoError(t, err)
	require.Len(t, pkts, 2)
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	assert.Equal(t, t0, pkts[0].Time)
	assert.Equal(t, src4, dgs[0].Src)
	assert.Equal(t, dst6, dgs[1].Dst)
	assert.Equal(t, macB, dgs[1].SrcMAC)
	assert.Equal(t, 1, dgs[1].HopLimit)
	assert.Equal(t, payloadB, dgs[1].Payload)
}
