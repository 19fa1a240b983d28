package resolver

// The TCP listener: connection limits (in total, per source, and a reserve
// for transfer clients), idle and read timeouts, and pipelined queries
// answered in order.

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"
)

// serveTCP accepts connections on l until it closes, refusing (closing)
// those past the limits (admit).
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
		src, _ := netip.ParseAddrPort(c.RemoteAddr().String())
		key := tcpSourceKey(src.Addr())
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			continue
		}
		if reason, ok := s.admit(key, src.Addr()); !ok {
			s.mu.Unlock()
			c.Close()
			s.refuse(reason, src.Addr())
			continue
		}
		s.tcpTotal++
		s.tcpSource[key]++
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serveConn(c, key)
	}
}

// tcpSourceKey is the unit of the per-source limit: an IPv4 address, an
// IPv6 /64 (one host's or one LAN's addresses).
func tcpSourceKey(a netip.Addr) netip.Prefix {
	a = a.Unmap()
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p
}

// admit decides, with s.mu held, whether a new connection from src may
// be served; the reason indexes the drop counters when not.
func (s *Server) admit(key netip.Prefix, src netip.Addr) (int, bool) {
	switch {
	case s.tcpTotal >= s.cfg.TCPMaxConns:
		return dropTCPLimit, false
	case s.tcpSource[key] >= s.cfg.TCPMaxConnsPerSource:
		return dropTCPSourceLimit, false
	case s.tcpTotal >= s.cfg.TCPMaxConns-s.cfg.TCPReservedConns && !s.axfrAllowed(src):
		return dropTCPReserved, false
	}
	return 0, true
}

// release gives back a connection's place.
func (s *Server) release(c net.Conn, key netip.Prefix) {
	s.mu.Lock()
	delete(s.conns, c)
	s.tcpTotal--
	if s.tcpSource[key]--; s.tcpSource[key] <= 0 {
		delete(s.tcpSource, key)
	}
	s.mu.Unlock()
}

// refuse counts a refused or dropped connection and logs it, at most
// once per reason every refusalLogEvery (with how many were not logged).
func (s *Server) refuse(reason int, src netip.Addr) {
	s.metrics.drops[reason].Inc()
	if n, ok := s.refusals.due(reason, time.Now()); ok {
		s.logger.Warn("dns: TCP connection refused", "reason", dropLabels[reason], "src", src,
			"suppressed", n, "max_conns", s.cfg.TCPMaxConns, "per_source", s.cfg.TCPMaxConnsPerSource,
			"reserved", s.cfg.TCPReservedConns)
	}
}

// refusalLogEvery spaces the log lines of one refusal reason.
const refusalLogEvery = 10 * time.Second

// refusalLog rate-limits the refusal log per reason.
type refusalLog struct {
	mu         sync.Mutex
	last       [len(dropLabels)]time.Time
	suppressed [len(dropLabels)]int
}

// due reports whether a line for reason may be logged now, and how many
// were suppressed since the last one.
func (r *refusalLog) due(reason int, now time.Time) (int, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.last[reason].IsZero() && now.Sub(r.last[reason]) < refusalLogEvery {
		r.suppressed[reason]++
		return 0, false
	}
	n := r.suppressed[reason]
	r.last[reason], r.suppressed[reason] = now, 0
	return n, true
}

// timedOut counts a connection dropped in the middle of a query that did
// not arrive within TCPReadTimeout.
func (s *Server) timedOut(err error, src netip.Addr) {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		s.refuse(dropTCPReadTimeout, src)
	}
}

// serveConn answers queries on one TCP connection in order (RFC 7766
// section 6.2.1.1 allows pipelining; we answer sequentially).
func (s *Server) serveConn(c *net.TCPConn, key netip.Prefix) {
	defer func() {
		c.Close()
		s.release(c, key)
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
		// Idle until the first byte of the next query; from there the
		// whole query, length prefix included, has TCPReadTimeout, so a
		// client cannot hold the connection by sending one byte.
		c.SetReadDeadline(time.Now().Add(s.cfg.TCPIdleTimeout))
		if _, err := io.ReadFull(c, lenb[:1]); err != nil {
			return
		}
		c.SetReadDeadline(time.Now().Add(s.cfg.TCPReadTimeout))
		if _, err := io.ReadFull(c, lenb[1:]); err != nil {
			s.timedOut(err, src.Addr())
			return
		}
		n := int(binary.BigEndian.Uint16(lenb[:]))
		if _, err := io.ReadFull(c, buf[:n]); err != nil {
			s.timedOut(err, src.Addr())
			return
		}
		start := time.Now()
		t := s.tab.Load()
		resp, res := s.respond(t, buf[:n], out[2:2], true, src.Addr())
		c.SetWriteDeadline(time.Now().Add(s.cfg.TCPReadTimeout + s.cfg.TCPIdleTimeout))
		switch {
		case res.axfr:
			err := s.writeAXFR(res.xfr, buf[:n], res.signed, src.Addr(), func(m []byte) error {
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
