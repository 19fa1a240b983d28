package registry

import (
	"fmt"
	"strconv"
	"strings"
)

// Query is a parsed lookup: a port (with optional protocol) or a name
// (with optional protocol, from the DNS-SD form _name._proto).
type Query struct {
	Raw      string
	IsPort   bool
	Port     int
	Name     string
	Protocol Protocol // "" = any
	// Subtype is the subtype label of a DNS-SD subtype query
	// (_printer._sub._http._tcp), "" otherwise.
	Subtype string
}

// ParseQuery classifies q. A query is a port only when it is digits,
// digits/protocol or _digits._protocol; anything else is a name, because
// 97 legacy names hold '/', '_', '+', '*' or '.' (914c/g, whois++).
// _name._proto is a DNS-SD type when proto is a registry protocol.
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
		out.IsPort, out.Port, out.Protocol = true, n, proto
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
			if p, ok := ParseProtocol(strings.TrimSuffix(q[i+2:], ".")); ok {
				out.Name, out.Protocol = q[1:i], p
				return out, nil
			}
		}
	}
	out.Name = q
	return out, nil
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
			if p, ok := ParseProtocol(strings.TrimSuffix(q[i+2:], ".")); ok {
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
