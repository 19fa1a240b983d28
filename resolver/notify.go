package resolver

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/miekg/dns"
)

// notify tells every configured secondary that the registry zone
// changed to serial (RFC 1996); see notifyZone.
func (s *Server) notify(serial uint32) {
	var soa *dns.SOA
	if t := s.tab.Load(); t != nil && t.soa != nil {
		soa = dns.Copy(t.soa).(*dns.SOA)
		soa.Serial = serial
	}
	s.notifyMu.Lock()
	defer s.notifyMu.Unlock()
	s.notifyZone(s.cfg.Zone, soa, s.cfg.Notify, &s.notifyCx)
}

// notifyZone sends NOTIFY for zone to targets in the background, its
// new SOA riding in the answer section: each target is retried with a
// doubling timeout until it answers or NotifyRetries attempts fail. The
// NOTIFYs still running for the zone's previous serial (their cancel
// func in *slot, guarded by the caller) stop; Shutdown stops all.
func (s *Server) notifyZone(zone string, soa *dns.SOA, targets []string, slot *context.CancelFunc) {
	if len(targets) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if *slot != nil {
		(*slot)()
	}
	ctx, cancel := context.WithCancel(s.ctx)
	*slot = cancel
	for _, target := range targets {
		s.nwg.Add(1)
		go s.notifyOne(ctx, zone, target, soa)
	}
}

func (s *Server) notifyOne(ctx context.Context, zone, target string, soa *dns.SOA) {
	defer s.nwg.Done()
	m := new(dns.Msg)
	m.SetNotify(zone)
	var serial uint32
	if soa != nil {
		// RFC 1996 section 3.7: the SOA may ride in the answer section as
		// a hint of the new serial.
		m.Answer = []dns.RR{soa}
		serial = soa.Serial
	}
	c := &dns.Client{Net: "udp"}
	if key, ok := s.tsigKeys[s.cfg.NotifyKey]; ok {
		m.SetTsig(key.Name, key.Algorithm, tsigFudge, time.Now().Unix())
		c.TsigSecret = map[string]string{key.Name: key.Secret}
	}
	if s.cfg.NotifySource != "" {
		src, _ := notifySourceAddr(s.cfg.NotifySource) // checked by withDefaults
		c.Dialer = &net.Dialer{LocalAddr: src}
	}
	wait := s.cfg.NotifyTimeout
	for attempt := 1; attempt <= s.cfg.NotifyRetries; attempt++ {
		if ctx.Err() != nil {
			return // a newer serial's NOTIFY took over before this one left
		}
		actx, cancel := context.WithTimeout(ctx, wait)
		r, _, err := c.ExchangeContext(actx, m, target)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err == nil && r.Rcode == dns.RcodeSuccess && r.Opcode == dns.OpcodeNotify {
			s.metrics.notifies.WithLabelValues("ok").Inc()
			s.logger.Info("NOTIFY acknowledged", "target", target, "zone", zone, "serial", serial, "attempt", attempt)
			return
		}
		s.metrics.notifies.WithLabelValues("error").Inc()
		if err == nil {
			// A secondary that refuses (allow-notify for another address,
			// a zone it does not have) will not follow: say so.
			s.logger.Warn("NOTIFY refused", "target", target, "zone", zone, "rcode", dns.RcodeToString[r.Rcode],
				"source", s.cfg.NotifySource, "attempt", attempt)
		} else {
			s.logger.Debug("NOTIFY failed", "target", target, "error", err, "attempt", attempt)
		}
		// A fast failure (ICMP unreachable) still waits before the retry.
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait / 2):
		}
		wait *= 2
	}
	s.metrics.notifies.WithLabelValues("gave_up").Inc()
	s.logger.Warn("NOTIFY gave up", "target", target, "zone", zone, "serial", serial, "attempts", s.cfg.NotifyRetries)
}

// notifySourceAddr reads "addr" or "addr:port" (port 0: any).
func notifySourceAddr(s string) (*net.UDPAddr, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return net.UDPAddrFromAddrPort(ap), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return nil, fmt.Errorf("want an IP address with an optional :port")
	}
	return net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, 0)), nil
}
