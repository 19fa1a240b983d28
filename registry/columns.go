package registry

// The registry's columns as every format spells them: ports and port
// ranges, protocols, person lists.

import (
	"fmt"
	"strings"
)

// parsePortColumn reads the registry's port column: "80", "19195-19219", or ""
// (no port: both -1).
func parsePortColumn(s string) (lo, hi int32, err error) {
	if s == "" {
		return -1, -1, nil
	}
	a, b, isRange := strings.Cut(s, "-")
	l, err := cellPort(a)
	if err != nil {
		return -1, -1, err
	}
	h := l
	if isRange {
		if h, err = cellPort(b); err != nil {
			return -1, -1, err
		}
		if h < l {
			return -1, -1, fmt.Errorf("port range %q runs backwards", s)
		}
	}
	return l, h, nil
}

func cellPort(s string) (int32, error) {
	if s == "" || len(s) > 5 {
		return 0, fmt.Errorf("bad port number %q", s)
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("bad port number %q", s)
		}
		n = n*10 + int(c-'0')
	}
	if n > 65535 {
		return 0, fmt.Errorf("port %d out of range 0-65535", n)
	}
	return int32(n), nil
}

// parseProto maps the protocol column; "" is a protocol-less row.
func parseProto(s string) (Protocol, error) {
	if s == "" {
		return ProtoNone, nil
	}
	p, ok := ParseProtocol(s)
	if !ok {
		return ProtoNone, fmt.Errorf("unknown transport protocol %q", s)
	}
	return p, nil
}

// joinPeople renders one or more person IDs of an assignee or contact
// column ("[A][B]" in the CSV) as "A, B".
func joinPeople(ids []string) string {
	switch len(ids) {
	case 0:
		return ""
	case 1:
		return ids[0]
	}
	return strings.Join(ids, ", ")
}
