//go:build !linux

package resolver

import (
	"errors"
	"net"
	"net/netip"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// batchConn reads and writes several datagrams per system call
// (recvmmsg/sendmmsg on Linux; one at a time elsewhere). ipv4 and ipv6
// PacketConns share the Message type.
type batchConn interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

// serveUDPBatch is serveUDP reading up to n queries per system call and
// sending their answers in one: under load most of a UDP server's time is
// system calls, and batching shares their fixed cost (Knot does the same).
func (s *Server) serveUDPBatch(c *net.UDPConn, n int) {
	defer s.wg.Done()
	var pc batchConn
	if a, ok := c.LocalAddr().(*net.UDPAddr); ok && a.IP.To4() != nil {
		pc = ipv4.NewPacketConn(c)
	} else {
		pc = ipv6.NewPacketConn(c)
	}
	in := make([]ipv4.Message, n)
	out := make([]ipv4.Message, n)
	outBufs := make([][]byte, n)
	for i := range in {
		in[i].Buffers = [][]byte{make([]byte, 65535)}
		out[i].Buffers = make([][]byte, 1)
		outBufs[i] = make([]byte, 0, int(s.cfg.UDPSize)+512)
	}
	for {
		k, err := pc.ReadBatch(in, 0)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		t := s.tab.Load()
		w := 0
		for i := 0; i < k; i++ {
			m := &in[i]
			var src netip.AddrPort
			if ua, ok := m.Addr.(*net.UDPAddr); ok {
				src = unmap(ua.AddrPort())
			}
			q := m.Buffers[0][:m.N]
			start := time.Now()
			resp, res := s.respond(t, q, outBufs[i][:0], false, src.Addr())
			if resp != nil && s.rrl != nil {
				if resp = s.rateLimit(resp, &res, src.Addr(), start); resp == nil {
					continue
				}
			}
			if resp != nil {
				out[w].Buffers[0] = resp
				out[w].Addr = m.Addr
				w++
			}
			s.account(res, false, start, src, q)
		}
		for sent := 0; sent < w; {
			n, err := pc.WriteBatch(out[sent:w], 0)
			if err != nil || n == 0 {
				n++ // skip the datagram the kernel refused
			}
			sent += n
		}
	}
}
