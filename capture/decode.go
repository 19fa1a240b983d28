package capture

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
)

// Reasons Decode gives for a frame that is not a whole UDP datagram; a
// capture filtered on a UDP port still holds some (a fragment of a large
// answer, an ICMP error quoting one).
var (
	ErrNotUDP   = errors.New("not an IPv4 or IPv6 UDP datagram")
	ErrFragment = errors.New("IP fragment")
	ErrShort    = errors.New("frame shorter than its headers")
	ErrLinkType = errors.New("link type not supported")
)

// Datagram is a UDP datagram taken out of a frame.
type Datagram struct {
	Src, Dst netip.AddrPort
	// SrcMAC is the sender's link-layer address where the capture has
	// one (Ethernet, Linux cooked captures of Ethernet), else nil. It
	// aliases the frame.
	SrcMAC net.HardwareAddr
	// HopLimit is the IPv4 TTL or IPv6 hop limit.
	HopLimit int
	// Payload is the UDP payload as captured; Truncated reports that the
	// capture's snap length cut it (Length is the length on the wire).
	Payload   []byte
	Length    int
	Truncated bool
}

// Ethernet types.
const (
	etherIPv4  = 0x0800
	etherIPv6  = 0x86DD
	etherVLAN  = 0x8100
	etherQinQ  = 0x88A8
	etherQinQ2 = 0x9100
)

// Decode takes the UDP datagram out of a frame of the given link type.
// Errors wrap ErrNotUDP, ErrFragment, ErrShort or ErrLinkType.
func Decode(link uint16, frame []byte) (Datagram, error) {
	var d Datagram
	var etherType uint16
	var ip []byte
	switch link {
	case LinkEthernet:
		if len(frame) < 14 {
			return d, ErrShort
		}
		d.SrcMAC = net.HardwareAddr(frame[6:12])
		etherType, ip = binary.BigEndian.Uint16(frame[12:14]), frame[14:]
		for i := 0; i < 2 && (etherType == etherVLAN || etherType == etherQinQ || etherType == etherQinQ2); i++ {
			if len(ip) < 4 {
				return d, ErrShort
			}
			etherType, ip = binary.BigEndian.Uint16(ip[2:4]), ip[4:]
		}
	case LinkSLL:
		if len(frame) < 16 {
			return d, ErrShort
		}
		if binary.BigEndian.Uint16(frame[2:4]) == 1 && binary.BigEndian.Uint16(frame[4:6]) == 6 { // ARPHRD_ETHER
			d.SrcMAC = net.HardwareAddr(frame[6:12])
		}
		etherType, ip = binary.BigEndian.Uint16(frame[14:16]), frame[16:]
	case LinkSLL2:
		if len(frame) < 20 {
			return d, ErrShort
		}
		if binary.BigEndian.Uint16(frame[8:10]) == 1 && frame[11] == 6 {
			d.SrcMAC = net.HardwareAddr(frame[12:18])
		}
		etherType, ip = binary.BigEndian.Uint16(frame[0:2]), frame[20:]
	case LinkRaw, LinkIPv4, LinkIPv6:
		ip = frame
	case LinkNull, LinkLoop:
		if len(frame) < 4 {
			return d, ErrShort
		}
		fam := binary.LittleEndian.Uint32(frame[:4])
		if link == LinkLoop || fam > 0xffff {
			fam = binary.BigEndian.Uint32(frame[:4])
		}
		switch fam {
		case 2:
			etherType = etherIPv4
		case 24, 28, 30: // AF_INET6 on NetBSD/OpenBSD, FreeBSD, macOS
			etherType = etherIPv6
		default:
			return d, fmt.Errorf("%w: address family %d", ErrNotUDP, fam)
		}
		ip = frame[4:]
	default:
		return d, fmt.Errorf("%w: %d", ErrLinkType, link)
	}
	if etherType != 0 && etherType != etherIPv4 && etherType != etherIPv6 {
		return d, fmt.Errorf("%w: ethertype %#04x", ErrNotUDP, etherType)
	}
	if len(ip) < 1 {
		return d, ErrShort
	}
	var udp []byte
	var src, dst netip.Addr
	switch ip[0] >> 4 {
	case 4:
		if len(ip) < 20 {
			return d, ErrShort
		}
		ihl := int(ip[0]&0x0f) * 4
		if ihl < 20 || len(ip) < ihl {
			return d, ErrShort
		}
		if frag := binary.BigEndian.Uint16(ip[6:8]); frag&0x3fff != 0 { // MF or an offset
			return d, ErrFragment
		}
		if ip[9] != 17 {
			return d, fmt.Errorf("%w: IP protocol %d", ErrNotUDP, ip[9])
		}
		d.HopLimit = int(ip[8])
		src, dst = netip.AddrFrom4([4]byte(ip[12:16])), netip.AddrFrom4([4]byte(ip[16:20]))
		end := min(len(ip), max(int(binary.BigEndian.Uint16(ip[2:4])), ihl))
		udp = ip[ihl:end]
	case 6:
		if len(ip) < 40 {
			return d, ErrShort
		}
		d.HopLimit = int(ip[7])
		src, dst = netip.AddrFrom16([16]byte(ip[8:24])), netip.AddrFrom16([16]byte(ip[24:40]))
		next, rest := ip[6], ip[40:]
		if plen := int(binary.BigEndian.Uint16(ip[4:6])); plen > 0 && plen < len(rest) {
			rest = rest[:plen] // Ethernet padding
		}
		for hops := 0; next != 17; hops++ {
			switch next {
			case 0, 43, 60: // hop-by-hop, routing, destination options
				if len(rest) < 8 || hops > 8 {
					return d, ErrShort
				}
				n := (int(rest[1]) + 1) * 8
				if len(rest) < n {
					return d, ErrShort
				}
				next, rest = rest[0], rest[n:]
			case 44:
				return d, ErrFragment
			default:
				return d, fmt.Errorf("%w: next header %d", ErrNotUDP, next)
			}
		}
		udp = rest
	default:
		return d, fmt.Errorf("%w: IP version %d", ErrNotUDP, ip[0]>>4)
	}
	if len(udp) < 8 {
		return d, ErrShort
	}
	d.Src = netip.AddrPortFrom(src, binary.BigEndian.Uint16(udp[0:2]))
	d.Dst = netip.AddrPortFrom(dst, binary.BigEndian.Uint16(udp[2:4]))
	ulen := int(binary.BigEndian.Uint16(udp[4:6]))
	if ulen < 8 {
		return d, fmt.Errorf("%w: UDP length %d", ErrShort, ulen)
	}
	d.Length = ulen - 8
	d.Payload = udp[8:]
	if len(d.Payload) > d.Length {
		d.Payload = d.Payload[:d.Length]
	}
	d.Truncated = len(d.Payload) < d.Length
	return d, nil
}
