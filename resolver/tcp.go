package resolver

// The TCP listener: a connection limit, idle and read timeouts, and
// pipelined queries answered in order.

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"time"
)

// serveTCP accepts connections on l until it closes, refusing (closing)
// those past dns.tcp_max_conns.
func (s *Server) serveTCP(l *net.TCPListener) {
	defer s.wg.Done()
	for {
		c, err := l.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off briefly.
			select {
			case <-s.ctx.Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
			continue
		}
		select {
		case s.tcpSlot <- struct{}{}:
		default:
			s.metrics.drops[dropTCPLimit].Inc()
			c.Close()
			continue
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			<-s.tcpSlot
			continue
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serveConn(c)
	}
}

// serveConn answers queries on one TCP connection in order (RFC 7766
// section 6.2.1.1 allows pipelining; we answer sequentially).
func (s *Server) serveConn(c *net.TCPConn) {
	defer func() {
		c.Close()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		<-s.tcpSlot
		s.wg.Done()
	}()
	src, _ := netip.ParseAddrPort(c.RemoteAddr().String())
	buf := make([]byte, 65535)
	out := make([]byte, 2, 65537)
	var lenb [2]byte
	for {
		if s.ctx.Err() != nil {
			return
		}
		c.SetReadDeadline(time.Now().Add(s.cfg.TCPIdleTimeout))
		if _, err := io.ReadFull(c, lenb[:]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint16(lenb[:]))
		c.SetReadDeadline(time.Now().Add(s.cfg.TCPReadTimeout))
		if _, err := io.ReadFull(c, buf[:n]); err != nil {
			return
		}
		start := time.Now()
		t := s.tab.Load()
		resp, res := s.respond(t, buf[:n], out[2:2], true, src.Addr())
		c.SetWriteDeadline(time.Now().Add(s.cfg.TCPReadTimeout + s.cfg.TCPIdleTimeout))
		switch {
		case res.axfr:
			err := s.writeAXFR(t, buf[:n], func(m []byte) error {
				// Each message gets its own deadline: a whole zone may
				// take a slow secondary longer than one answer.
				c.SetWriteDeadline(time.Now().Add(s.cfg.TCPIdleTimeout))
				binary.BigEndian.PutUint16(out, uint16(len(m)))
				_, err := c.Write(append(out[:2], m...))
				return err
			})
			s.account(res, true, start, src, buf[:n])
			if err != nil {
				return
			}
		case resp != nil:
			if &resp[0] != &out[2:3][0] { // respond outgrew the buffer
				out = append(out[:2], resp...)
			}
			binary.BigEndian.PutUint16(out, uint16(len(resp)))
			_, err := c.Write(out[:2+len(resp)])
			s.account(res, true, start, src, buf[:n])
			if err != nil {
				return
			}
		default:
			s.account(res, true, start, src, buf[:n])
			return // unparseable: close (RFC 7766 section 7)
		}
	}
}
