package resolver

// The UDP listener: one read loop per socket, answers from the table.

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/miekg/dns"
)

// rateLimit applies response rate limiting to a UDP answer for src: nil
// when it is dropped, the empty TC=1 reply when it slips (res.tc set),
// else resp unchanged.
func (s *Server) rateLimit(resp []byte, res *result, src netip.Addr, now time.Time) []byte {
	if res.cookieValid {
		return resp // a valid server cookie proves the source address (RFC 7873 section 5.2.5)
	}
	switch s.rrl.check(src, now) {
	case rrlDrop:
		s.metrics.drops[dropRRL].Inc()
		return nil
	case rrlSlip:
		res.tc = true
		s.metrics.slips.Inc()
		resp = slip(resp)
		if res.edns {
			resp = s.appendSlipOPT(resp, res.do)
		}
		return resp
	}
	return resp
}

// slipText is the EXTRA-TEXT of a slipped reply's Extended DNS Error:
// RFC 8914 has no code for rate limiting, so it is 0 (Other) with this.
const slipText = "rate limited: retry over TCP"

// appendSlipOPT gives a slipped reply to an EDNS query an OPT of its own:
// our UDP size, DO echoed, and the Extended DNS Error that says why the
// answer is empty (RFC 8914 section 4.1).
func (s *Server) appendSlipOPT(out []byte, do bool) []byte {
	binary.BigEndian.PutUint16(out[10:], 1)
	var flags byte
	if do {
		flags = 0x80
	}
	const rdlen = 4 + 2 + len(slipText)
	out = append(out, 0, 0, byte(dns.TypeOPT), byte(s.cfg.UDPSize>>8), byte(s.cfg.UDPSize), 0, 0, flags, 0,
		byte(rdlen>>8), byte(rdlen))
	out = binary.BigEndian.AppendUint16(out, dns.EDNS0EDE)
	out = binary.BigEndian.AppendUint16(out, 2+uint16(len(slipText)))
	out = binary.BigEndian.AppendUint16(out, edeOther)
	return append(out, slipText...)
}

// serveUDP answers datagrams on c until it closes.
func (s *Server) serveUDP(c *net.UDPConn) {
	defer s.wg.Done()
	buf := make([]byte, 65535)
	out := make([]byte, 0, 65535)
	for {
		n, src, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // e.g. ICMP-induced errors on some systems
		}
		start := time.Now()
		resp, res := s.respond(s.tab.Load(), buf[:n], out, false, src.Addr())
		if resp == nil {
			s.account(res, false, start, src, buf[:n])
			continue
		}
		if s.rrl != nil {
			if resp = s.rateLimit(resp, &res, src.Addr(), start); resp == nil {
				continue
			}
		}
		c.WriteToUDPAddrPort(resp, src) //nolint:errcheck // UDP: nothing to do about a lost reply
		s.account(res, false, start, src, buf[:n])
	}
}

// slip turns a response into an empty TC=1 reply (header and question
// only) so a rate-limited client that is real retries over TCP.
func slip(resp []byte) []byte {
	if len(resp) < hdrLen {
		return resp
	}
	// Find the end of our own response's question.
	end := hdrLen
	if binary.BigEndian.Uint16(resp[4:]) == 1 {
		for end < len(resp) && resp[end] != 0 {
			end += int(resp[end]) + 1
		}
		end += 5
		if end > len(resp) {
			end = hdrLen
		}
	}
	resp = resp[:end]
	resp[2] |= flagTC
	clear(resp[6:12])
	return resp
}
