// Package capture reads packet captures: the classic pcap format
// (microsecond and nanosecond, either byte order) and pcapng (section,
// interface, enhanced, simple and obsolete packet blocks, per-interface
// link types and time resolutions), as tcpdump, Wireshark and dumpcap
// write them. It reads a stream, one packet at a time, so a capture of any
// size (or a live `tcpdump -w -` on a pipe) is read in bounded memory.
//
// Decode takes a captured frame apart down to UDP: Ethernet (with
// 802.1Q/802.1ad tags), Linux cooked capture (SLL and SLL2), raw IP and
// BSD loopback link types, IPv4 and IPv6 (with extension headers).
package capture

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"net"
	"net/netip"
	"time"
)

// Sentinels a caller branches on; every error from Next wraps one.
var (
	// ErrFormat: the input is neither pcap nor pcapng.
	ErrFormat = errors.New("not a pcap or pcapng capture")
	// ErrTruncated: the input ends inside a header or a packet.
	ErrTruncated = errors.New("truncated capture")
	// ErrCorrupt: a length or field that no writer produces.
	ErrCorrupt = errors.New("corrupt capture")
)

// Error locates a problem in a capture: the packet number (1-based, as
// Wireshark numbers frames; the packet being read when it failed, 0 for
// the file header) and the byte offset of the header that failed.
type Error struct {
	Packet int
	Offset int64
	Msg    string
	Err    error
}

func (e *Error) Error() string {
	if e.Packet == 0 {
		return fmt.Sprintf("capture: byte %d: %s: %v", e.Offset, e.Msg, e.Err)
	}
	return fmt.Sprintf("capture: packet %d (byte %d): %s: %v", e.Packet, e.Offset, e.Msg, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Bounds on what a capture may claim, so a corrupt length cannot make the
// reader allocate without limit. tcpdump's largest snap length is 262144;
// pcapng blocks also carry options.
const (
	maxPacket = 256 << 10
	maxBlock  = 1 << 20
)

// Link types (https://www.tcpdump.org/linktypes.html).
const (
	LinkNull     uint16 = 0   // BSD loopback: a 4-byte address family in host order
	LinkEthernet uint16 = 1   // Ethernet II
	LinkRaw      uint16 = 101 // raw IPv4 or IPv6
	LinkLoop     uint16 = 108 // OpenBSD loopback: the family in network order
	LinkSLL      uint16 = 113 // Linux cooked capture v1 (tcpdump -i any, older)
	LinkIPv4     uint16 = 228
	LinkIPv6     uint16 = 229
	LinkSLL2     uint16 = 276 // Linux cooked capture v2 (tcpdump -i any)
)

// Packet is one captured frame.
type Packet struct {
	// Number counts the packets of the capture from 1.
	Number int
	Time   time.Time
	// LinkType says how Data starts (LinkEthernet, ...).
	LinkType uint16
	// Interface is the pcapng interface name (if_name), "" when the
	// capture has none.
	Interface string
	// Data is the frame as captured, valid until the next call to Next;
	// OrigLen is its length on the wire (more when the snap length cut it).
	Data    []byte
	OrigLen int
}

// iface is a pcapng interface description.
type iface struct {
	link uint16
	name string
	// perSec is the number of timestamp ticks per second (if_tsresol;
	// a million by default).
	perSec uint64
}

// Reader reads packets from a pcap or pcapng stream.
type Reader struct {
	r     *bufio.Reader
	ng    bool
	order binary.ByteOrder
	off   int64 // bytes consumed
	n     int   // packets returned
	buf   []byte
	pkt   Packet // returned by Next, reused
	// started is set once the file header is read: errors before it
	// name no packet.
	started bool
	// pcap
	link  uint16
	nanos bool
	// pcapng
	ifaces []iface
}

// NewReader reads the file header (pcap) or first section header
// (pcapng) from r.
func NewReader(r io.Reader) (*Reader, error) {
	rd := &Reader{r: bufio.NewReaderSize(r, 64<<10)}
	magic, err := rd.r.Peek(4)
	if err != nil {
		return nil, &Error{Packet: 0, Offset: 0, Msg: "reading the file header", Err: eofTruncated(err, ErrFormat)}
	}
	switch {
	case binary.BigEndian.Uint32(magic) == 0x0A0D0D0A:
		rd.ng = true
		err = rd.readSection()
	default:
		err = rd.readPcapHeader()
	}
	if err != nil {
		return nil, err
	}
	rd.started = true
	return rd, nil
}

// eofTruncated turns an io.EOF or io.ErrUnexpectedEOF into want
// (ErrTruncated, or ErrFormat for an empty input).
func eofTruncated(err, want error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return want
	}
	return err
}

// read fills b from the stream, advancing the offset.
func (r *Reader) read(b []byte) error {
	n, err := io.ReadFull(r.r, b)
	r.off += int64(n)
	return err
}

func (r *Reader) fail(at int64, msg string, err error) error {
	e := &Error{Packet: r.n + 1, Offset: at, Msg: msg, Err: err}
	if !r.started {
		e.Packet = 0
	}
	return e
}

func (r *Reader) readPcapHeader() error {
	var h [24]byte
	if err := r.read(h[:]); err != nil {
		return r.fail(0, "reading the pcap file header", eofTruncated(err, ErrFormat))
	}
	switch m := binary.LittleEndian.Uint32(h[:4]); m {
	case 0xa1b2c3d4:
		r.order = binary.LittleEndian
	case 0xa1b23c4d:
		r.order, r.nanos = binary.LittleEndian, true
	case 0xd4c3b2a1:
		r.order = binary.BigEndian
	case 0x4d3cb2a1:
		r.order, r.nanos = binary.BigEndian, true
	default:
		return r.fail(0, fmt.Sprintf("magic number %#08x", m), ErrFormat)
	}
	if major := r.order.Uint16(h[4:6]); major != 2 {
		return r.fail(4, fmt.Sprintf("pcap version %d (want 2)", major), ErrFormat)
	}
	// The link type is the low 16 bits; the high ones may hold FCS flags.
	r.link = uint16(r.order.Uint32(h[20:24]))
	return nil
}

// Next returns the next packet, io.EOF after the last one, or an *Error.
// The packet and its Data are valid until the next call.
func (r *Reader) Next() (*Packet, error) {
	if r.ng {
		return r.nextBlock()
	}
	return r.nextPcap()
}

func (r *Reader) nextPcap() (*Packet, error) {
	at := r.off
	var h [16]byte
	n, err := io.ReadFull(r.r, h[:])
	r.off += int64(n)
	if errors.Is(err, io.EOF) { // io.ReadFull: nothing read
		return nil, io.EOF
	}
	if err != nil {
		return nil, r.fail(at, "reading a packet header", eofTruncated(err, ErrTruncated))
	}
	sec, frac := r.order.Uint32(h[0:4]), r.order.Uint32(h[4:8])
	caplen, origlen := r.order.Uint32(h[8:12]), r.order.Uint32(h[12:16])
	if caplen > maxPacket {
		return nil, r.fail(at, fmt.Sprintf("captured length %d over %d", caplen, maxPacket), ErrCorrupt)
	}
	nsec := int64(frac) * 1000
	if r.nanos {
		nsec = int64(frac)
	}
	if nsec >= 1e9 {
		return nil, r.fail(at, fmt.Sprintf("sub-second time %d", frac), ErrCorrupt)
	}
	data, err := r.payload(int(caplen))
	if err != nil {
		return nil, r.fail(at, fmt.Sprintf("reading %d bytes of packet data", caplen), eofTruncated(err, ErrTruncated))
	}
	r.n++
	r.pkt = Packet{Number: r.n, Time: time.Unix(int64(sec), nsec).UTC(), LinkType: r.link, Data: data,
		OrigLen: int(max(origlen, caplen))}
	return &r.pkt, nil
}

// payload reads n bytes into the reader's buffer.
func (r *Reader) payload(n int) ([]byte, error) {
	if cap(r.buf) < n {
		r.buf = make([]byte, n)
	}
	b := r.buf[:n]
	return b, r.read(b)
}

// pcapng block types.
const (
	blockSection   = 0x0A0D0D0A
	blockInterface = 1
	blockPacketOld = 2
	blockSimple    = 3
	blockEnhanced  = 6
)

// readSection reads a section header block, which sets the byte order of
// the blocks after it and forgets the interfaces of the section before.
func (r *Reader) readSection() error {
	at := r.off
	var h [12]byte
	if err := r.read(h[:]); err != nil {
		return r.fail(at, "reading a section header", eofTruncated(err, ErrTruncated))
	}
	switch binary.LittleEndian.Uint32(h[8:12]) {
	case 0x1A2B3C4D:
		r.order = binary.LittleEndian
	case 0x4D3C2B1A:
		r.order = binary.BigEndian
	default:
		return r.fail(at, "section header byte-order magic", ErrFormat)
	}
	total := r.order.Uint32(h[4:8])
	if total < 28 || total%4 != 0 || total > maxBlock {
		return r.fail(at, fmt.Sprintf("section header length %d", total), ErrCorrupt)
	}
	body, err := r.payload(int(total) - 12)
	if err != nil {
		return r.fail(at, "reading a section header", eofTruncated(err, ErrTruncated))
	}
	if major := r.order.Uint16(body[0:2]); major != 1 {
		return r.fail(at, fmt.Sprintf("pcapng version %d (want 1)", major), ErrFormat)
	}
	if r.order.Uint32(body[len(body)-4:]) != total {
		return r.fail(at, "section header trailing length differs", ErrCorrupt)
	}
	r.ifaces = r.ifaces[:0]
	return nil
}

func (r *Reader) nextBlock() (*Packet, error) {
	for {
		at := r.off
		head, err := r.r.Peek(8)
		if len(head) == 0 && errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		if err != nil {
			return nil, r.fail(at, "reading a block header", eofTruncated(err, ErrTruncated))
		}
		if binary.BigEndian.Uint32(head[:4]) == blockSection {
			if err := r.readSection(); err != nil {
				return nil, err
			}
			continue
		}
		typ, total := r.order.Uint32(head[:4]), r.order.Uint32(head[4:8])
		if total < 12 || total%4 != 0 || total > maxBlock {
			return nil, r.fail(at, fmt.Sprintf("block type %#x length %d", typ, total), ErrCorrupt)
		}
		if _, err := r.r.Discard(8); err != nil {
			return nil, r.fail(at, "reading a block header", eofTruncated(err, ErrTruncated))
		}
		r.off += 8
		body, err := r.payload(int(total) - 8)
		if err != nil {
			return nil, r.fail(at, fmt.Sprintf("reading block type %#x of %d bytes", typ, total), eofTruncated(err, ErrTruncated))
		}
		if r.order.Uint32(body[len(body)-4:]) != total {
			return nil, r.fail(at, fmt.Sprintf("block type %#x trailing length differs", typ), ErrCorrupt)
		}
		body = body[:len(body)-4]
		switch typ {
		case blockInterface:
			if err := r.addInterface(body); err != nil {
				return nil, r.fail(at, "interface description", err)
			}
		case blockEnhanced, blockPacketOld, blockSimple:
			p, err := r.packetBlock(typ, body)
			if err != nil {
				return nil, r.fail(at, fmt.Sprintf("packet block type %d", typ), err)
			}
			r.n++
			p.Number = r.n
			return p, nil
		}
		// Name resolution, statistics, custom and unknown blocks carry no
		// packets.
	}
}

func (r *Reader) addInterface(body []byte) error {
	if len(body) < 8 {
		return fmt.Errorf("%w: %d bytes", ErrCorrupt, len(body))
	}
	ifc := iface{link: r.order.Uint16(body[0:2]), perSec: 1_000_000}
	err := r.options(body[8:], func(code uint16, v []byte) error {
		switch code {
		case 2: // if_name
			ifc.name = string(v)
		case 9: // if_tsresol
			if len(v) < 1 {
				return fmt.Errorf("%w: empty if_tsresol", ErrCorrupt)
			}
			res := v[0]
			if res&0x80 != 0 { // a power of two
				exp := res & 0x7f
				if exp > 63 {
					return fmt.Errorf("%w: if_tsresol 2^-%d", ErrCorrupt, exp)
				}
				ifc.perSec = 1 << exp
				return nil
			}
			if res > 19 {
				return fmt.Errorf("%w: if_tsresol 10^-%d", ErrCorrupt, res)
			}
			ifc.perSec = 1
			for range res {
				ifc.perSec *= 10
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(r.ifaces) >= 1<<16 {
		return fmt.Errorf("%w: more than 65536 interfaces", ErrCorrupt)
	}
	r.ifaces = append(r.ifaces, ifc)
	return nil
}

// options walks a pcapng option list.
func (r *Reader) options(b []byte, fn func(code uint16, v []byte) error) error {
	for len(b) >= 4 {
		code, n := r.order.Uint16(b[0:2]), int(r.order.Uint16(b[2:4]))
		if code == 0 {
			return nil
		}
		padded := (n + 3) &^ 3
		if 4+padded > len(b) {
			return fmt.Errorf("%w: option %d of %d bytes runs past its block", ErrCorrupt, code, n)
		}
		if err := fn(code, b[4:4+n]); err != nil {
			return err
		}
		b = b[4+padded:]
	}
	return nil
}

func (r *Reader) packetBlock(typ uint32, body []byte) (*Packet, error) {
	var id, caplen, origlen uint32
	var ts uint64
	var data []byte
	switch typ {
	case blockEnhanced, blockPacketOld:
		if len(body) < 20 {
			return nil, fmt.Errorf("%w: %d bytes", ErrCorrupt, len(body))
		}
		if typ == blockEnhanced {
			id = r.order.Uint32(body[0:4])
		} else {
			id = uint32(r.order.Uint16(body[0:2]))
		}
		ts = uint64(r.order.Uint32(body[4:8]))<<32 | uint64(r.order.Uint32(body[8:12]))
		caplen, origlen = r.order.Uint32(body[12:16]), r.order.Uint32(body[16:20])
		if uint64(caplen) > uint64(len(body)-20) {
			return nil, fmt.Errorf("%w: captured length %d in a block of %d bytes", ErrCorrupt, caplen, len(body))
		}
		data = body[20 : 20+caplen]
	case blockSimple:
		if len(body) < 4 {
			return nil, fmt.Errorf("%w: %d bytes", ErrCorrupt, len(body))
		}
		origlen = r.order.Uint32(body[0:4])
		caplen = min(origlen, uint32(len(body)-4))
		data = body[4 : 4+caplen]
	}
	if int(id) >= len(r.ifaces) {
		return nil, fmt.Errorf("%w: interface %d not described (the section has %d)", ErrCorrupt, id, len(r.ifaces))
	}
	ifc := &r.ifaces[id]
	r.pkt = Packet{LinkType: ifc.link, Interface: ifc.name, Data: data, OrigLen: int(max(origlen, caplen))}
	if typ != blockSimple {
		r.pkt.Time = ifc.time(ts)
	}
	return &r.pkt, nil
}

// time converts a timestamp in the interface's ticks.
func (ifc *iface) time(ticks uint64) time.Time {
	sec, frac := ticks/ifc.perSec, ticks%ifc.perSec
	// frac * 1e9 / perSec without overflow: frac < perSec, so the
	// quotient is below 1e9.
	hi, lo := bits.Mul64(frac, 1e9)
	nsec, _ := bits.Div64(hi, lo, ifc.perSec)
	if sec > 1<<62 {
		return time.Time{}
	}
	return time.Unix(int64(sec), int64(nsec)).UTC()
}

// Writer writes a classic pcap file (microsecond timestamps, the host's
// byte order as tcpdump writes it: little-endian here), for tools and
// tests that save traffic for Wireshark or for svcreg scan --pcap.
type Writer struct {
	w    io.Writer
	hdr  [16]byte
	link uint16
}

// NewWriter writes the file header for frames of the given link type.
func NewWriter(w io.Writer, link uint16) (*Writer, error) {
	var h [24]byte
	binary.LittleEndian.PutUint32(h[0:4], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(h[4:6], 2)
	binary.LittleEndian.PutUint16(h[6:8], 4)
	binary.LittleEndian.PutUint32(h[16:20], maxPacket)
	binary.LittleEndian.PutUint32(h[20:24], uint32(link))
	if _, err := w.Write(h[:]); err != nil {
		return nil, fmt.Errorf("capture: writing the file header: %w", err)
	}
	return &Writer{w: w, link: link}, nil
}

// WritePacket writes one frame captured at t.
func (w *Writer) WritePacket(t time.Time, frame []byte) error {
	if len(frame) > maxPacket {
		return fmt.Errorf("capture: %w: frame of %d bytes over %d", ErrCorrupt, len(frame), maxPacket)
	}
	binary.LittleEndian.PutUint32(w.hdr[0:4], uint32(t.Unix()))
	binary.LittleEndian.PutUint32(w.hdr[4:8], uint32(t.Nanosecond()/1000))
	binary.LittleEndian.PutUint32(w.hdr[8:12], uint32(len(frame)))
	binary.LittleEndian.PutUint32(w.hdr[12:16], uint32(len(frame)))
	if _, err := w.w.Write(w.hdr[:]); err != nil {
		return fmt.Errorf("capture: writing a packet header: %w", err)
	}
	if _, err := w.w.Write(frame); err != nil {
		return fmt.Errorf("capture: writing a packet: %w", err)
	}
	return nil
}

// UDPFrame builds an Ethernet frame carrying one UDP datagram from src to
// dst (IPv4 or IPv6, both of one family) sent by srcMAC with the given
// hop limit: what a test or a generator writes with a Writer.
func UDPFrame(srcMAC net.HardwareAddr, src, dst netip.AddrPort, hopLimit uint8, payload []byte) []byte {
	udp := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint16(udp[0:2], src.Port())
	binary.BigEndian.PutUint16(udp[2:4], dst.Port())
	binary.BigEndian.PutUint16(udp[4:6], uint16(8+len(payload)))
	udp = append(udp, payload...)
	frame := make([]byte, 0, 14+40+len(udp))
	if dst.Addr().Is6() {
		frame = append(frame, 0x33, 0x33, 0x00, 0x00, 0x00, 0xfb)
	} else {
		frame = append(frame, 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb)
	}
	frame = append(frame, srcMAC...)
	if src.Addr().Is4() {
		frame = binary.BigEndian.AppendUint16(frame, etherIPv4)
		ip := []byte{0x45, 0, 0, 0, 0, 0, 0x40, 0, hopLimit, 17, 0, 0}
		binary.BigEndian.PutUint16(ip[2:4], uint16(20+len(udp)))
		s, d := src.Addr().As4(), dst.Addr().As4()
		ip = append(append(ip, s[:]...), d[:]...)
		return append(append(frame, ip...), udp...)
	}
	frame = binary.BigEndian.AppendUint16(frame, etherIPv6)
	ip := []byte{0x60, 0, 0, 0, 0, 0, 17, hopLimit}
	binary.BigEndian.PutUint16(ip[4:6], uint16(len(udp)))
	s, d := src.Addr().As16(), dst.Addr().As16()
	ip = append(append(ip, s[:]...), d[:]...)
	return append(append(frame, ip...), udp...)
}
