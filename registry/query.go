package registry

import (
	"fmt"
	"strconv"
	"strings"
)

// Query is a parsed lookup: a port or port range (with optional
// protocol) or a name (with optional protocol, from the DNS-SD form
// _name._proto).
type Query struct {
	Raw    string
	IsPort bool
	Port   int
	// PortHigh is the last port of a range query (6000-6063); for a
	// single port it equals Port.
	PortHigh int
	Name     string
	Protocol Protocol // "" = any
	// Subtype is the subtype label of a DNS-SD subtype query
	// (_printer._sub._http._tcp), "" otherwise.
	Subtype string
}

// ParseQuery classifies q. A query is a port only when it is digits,
// digits/protocol or _digits._protocol, and a port range when it is
// digits-digits with an optional /protocol; anything else is a name,
// because 97 legacy names hold '/', '_', '+', '*' or '.' (914c/g,
// whois++). _name._proto is a DNS-SD type when proto is a registry
// protocol; a domain after it, as DNS-SD tools print types
// (_ipp._tcp.local.), is ignored, and so is the underscore of a lone
// label (_ipp is ipp).
func ParseQuery(q string) (Query, error) {
	out := Query{Raw: q}
	if q == "" {
		return out, fmt.Errorf("%w: empty query", ErrBadQuery)
	}
	if digits, proto, ok := splitPortQuery(q); ok {
		n, err := strconv.Atoi(digits)
		if err != nil || n > 65535 {
			return out, fmt.Errorf("%w: port %q out of range 0-65535", ErrBadQuery, digits)
		}
		out.IsPort, out.Port, out.PortHigh, out.Protocol = true, n, n, proto
		return out, nil
	}
	if lo, hi, proto, ok := splitRangeQuery(q); ok {
		l, errL := strconv.Atoi(lo)
		h, errH := strconv.Atoi(hi)
		switch {
		case errL != nil || errH != nil || l > 65535 || h > 65535:
			return out, fmt.Errorf("%w: range %q out of 0-65535", ErrBadQuery, q)
		case l > h:
			return out, fmt.Errorf("%w: range %q ends before it starts", ErrBadQuery, q)
		}
		out.IsPort, out.Port, out.PortHigh, out.Protocol = true, l, h, proto
		return out, nil
	}
	if sub, rest, ok := strings.Cut(q, "._sub."); ok && strings.HasPrefix(sub, "_") && len(sub) > 1 {
		if t, err := ParseQuery(rest); err == nil && !t.IsPort && t.Protocol != ProtoNone && t.Subtype == "" {
			t.Raw, t.Subtype = q, sub
			return t, nil
		}
	}
	if strings.HasPrefix(q, "_") {
		if i := strings.Index(q, "._"); i > 1 {
			if p, ok := ParseProtocol(protoLabel(q[i+2:])); ok {
				out.Name, out.Protocol = q[1:i], p
				return out, nil
			}
		}
		if len(q) > 1 && !strings.ContainsAny(q, "./") && !allDigits(q[1:]) {
			out.Name = q[1:]
			return out, nil
		}
	}
	out.Name = q
	return out, nil
}

// protoLabel is the protocol label at the start of s ("tcp" of
// "tcp.local."), the whole of s when it has no dot.
func protoLabel(s string) string {
	label, _, _ := strings.Cut(s, ".")
	return label
}

// splitRangeQuery splits "lo-hi" and "lo-hi/proto".
func splitRangeQuery(q string) (lo, hi string, proto Protocol, ok bool) {
	rng := q
	if i := strings.IndexByte(q, '/'); i > 0 {
		p, ok := ParseProtocol(q[i+1:])
		if !ok {
			return "", "", ProtoNone, false
		}
		rng, proto = q[:i], p
	}
	lo, hi, found := strings.Cut(rng, "-")
	if !found || !allDigits(lo) || !allDigits(hi) {
		return "", "", ProtoNone, false
	}
	return lo, hi, proto, true
}

func allDigits(s string) bool {
	if s == "" || len(s) > 5 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func splitPortQuery(q string) (digits string, proto Protocol, ok bool) {
	if allDigits(q) {
		return q, ProtoNone, true
	}
	if i := strings.IndexByte(q, '/'); i > 0 && allDigits(q[:i]) {
		if p, ok := ParseProtocol(q[i+1:]); ok {
			return q[:i], p, true
		}
	}
	if strings.HasPrefix(q, "_") {
		if i := strings.Index(q, "._"); i > 1 && allDigits(q[1:i]) {
			if p, ok := ParseProtocol(protoLabel(q[i+2:])); ok {
				return q[1:i], p, true
			}
		}
	}
	return "", ProtoNone, false
}

// Lookup answers a parsed query. Name queries match case-insensitively; a
// protocol narrows them. Port queries include the unnamed Reserved or
// Unassigned rows and ranges covering the port.
func (s *Snapshot) Lookup(q Query) []*Record {
	if q.IsPort && q.PortHigh > q.Port {
		return s.ByRange(q.Port, q.PortHigh, q.Protocol)
	}
	if q.IsPort {
		return s.ByPort(q.Port, q.Protocol)
	}
	if q.Subtype != "" {
		if !HasName(s.Subtypes(q.Name, q.Protocol), q.Subtype) {
			return nil
		}
		return s.ByType(q.Name, q.Protocol)
	}
	if q.Protocol != ProtoNone {
		return s.ByType(q.Name, q.Protocol)
	}
	return s.ByName(q.Name)
}
