package mdns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// maxQuery bounds a query packet with its known answers: an Ethernet
// frame without fragmentation (RFC 6762 section 17 asks for this much
// headroom). Known answers that do not fit are left out, so the
// responders answer those again.
const maxQuery = 1440

// Querier is the ServiceBrowser that sends the PTR queries itself, from
// the listener's own port 5353 sockets, so that every answer comes back by
// multicast to the passive listener. Each query lists the answers the
// store already holds with more than half their TTL left (known-answer
// suppression, RFC 6762 section 7.1), so responders stay silent about
// them and repeated rounds stay small. Queries repeat within a browse
// window after 1, 2, 4, ... seconds (section 5.2). SRV and TXT lookups of
// unresolved instances go to Resolve (the zeroconf browser).
type Querier struct {
	// Send transmits one packed query; NewQuerier sets it to the
	// listener's multicast send.
	Send func(ctx context.Context, pkt []byte) error
	// Known returns the PTR records known for a type ("_ipp._tcp.local.")
	// with their remaining TTLs; nil means none are listed.
	Known func(name string, now time.Time) []dns.RR
	// Types returns the service types learnt so far ("_ipp._tcp"); an
	// enumeration Browse reports new ones as they arrive.
	Types func() []string
	// Resolve, when set, answers Lookup.
	Resolve ServiceBrowser
	// Now replaces the clock (tests).
	Now func() time.Time
}

// NewQuerier sends through l.
func NewQuerier(l *Listener) *Querier {
	return &Querier{Send: l.sendQuery, Now: time.Now}
}

// ErrNotSent is returned when a query could not go out on any socket.
var ErrNotSent = errors.New("mdns: query not sent")

// query packs a PTR query for name with as many known answers as fit.
func (q *Querier) query(name string) ([]byte, int, error) {
	m := new(dns.Msg)
	m.Question = []dns.Question{{Name: name, Qtype: dns.TypePTR, Qclass: dns.ClassINET}}
	var known []dns.RR
	if q.Known != nil {
		known = q.Known(name, q.now())
	}
	pack := func(n int) ([]byte, error) {
		m.Answer = known[:n]
		return m.Pack()
	}
	pkt, err := pack(len(known))
	if err != nil || len(pkt) <= maxQuery {
		return pkt, len(known), err
	}
	// The most answers that fit: lo fits, hi does not.
	lo, hi := 0, len(known)
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		p, err := pack(mid)
		if err != nil {
			return nil, 0, err
		}
		if len(p) <= maxQuery {
			lo = mid
		} else {
			hi = mid
		}
	}
	pkt, err = pack(lo)
	return pkt, lo, err
}

func (q *Querier) now() time.Time {
	if q.Now == nil {
		return time.Now()
	}
	return q.Now()
}

// Browse implements ServiceBrowser: it queries service.domain until ctx
// ends. For EnumerationType, found is called for every type Types
// reports while the window is open.
func (q *Querier) Browse(ctx context.Context, service, domain string, found func(string)) error {
	name := dns.Fqdn(service + "." + domain)
	enum := strings.EqualFold(service, EnumerationType)
	seen := map[string]bool{}
	report := func() {
		if !enum || q.Types == nil {
			return
		}
		for _, t := range q.Types() {
			if !seen[t] {
				seen[t] = true
				found(t)
			}
		}
	}
	wait := time.Second
	next := time.NewTimer(0)
	defer next.Stop()
	poll := time.NewTicker(250 * time.Millisecond)
	defer poll.Stop()
	var sendErr error
	for sent := 0; ; {
		select {
		case <-ctx.Done():
			report()
			if sent == 0 && sendErr != nil {
				return sendErr
			}
			return nil
		case <-poll.C:
			report()
		case <-next.C:
			pkt, _, err := q.query(name)
			if err == nil {
				err = q.Send(ctx, pkt)
			}
			if err != nil {
				sendErr = fmt.Errorf("querying %s: %w", name, err)
			} else {
				sent++
			}
			next.Reset(wait)
			wait *= 2
		}
	}
}

// Lookup implements ServiceBrowser through Resolve.
func (q *Querier) Lookup(ctx context.Context, instance, service, domain string) error {
	if q.Resolve == nil {
		return nil
	}
	return q.Resolve.Lookup(ctx, instance, service, domain)
}

// sendQuery multicasts pkt from the listener's sockets on every
// interface, with TTL and hop limit 255 (RFC 6762 section 11).
func (l *Listener) sendQuery(_ context.Context, pkt []byte) error {
	var errs []error
	sent := 0
	for idx := range l.ifaces {
		if l.v4 != nil {
			dst := &net.UDPAddr{IP: groupIPv4.AsSlice(), Port: l.port}
			if _, err := l.v4.WriteTo(pkt, &ipv4.ControlMessage{IfIndex: idx, TTL: 255}, dst); err != nil {
				errs = append(errs, err)
			} else {
				sent++
			}
		}
		if l.v6 != nil {
			dst := &net.UDPAddr{IP: groupIPv6.AsSlice(), Port: l.port}
			if _, err := l.v6.WriteTo(pkt, &ipv6.ControlMessage{IfIndex: idx, HopLimit: 255}, dst); err != nil {
				errs = append(errs, err)
			} else {
				sent++
			}
		}
	}
	if sent == 0 {
		return fmt.Errorf("%w: %w", ErrNotSent, errors.Join(errs...))
	}
	return nil
}
