package resolver

// Zone transfers: the allow-list and the AXFR message stream.

import (
	"fmt"
	"net/netip"
	"slices"
)

// axfrAllowed applies the AXFR allow-list.
func (s *Server) axfrAllowed(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range s.cfg.AXFRAllow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// transferNeedsKey reports whether a transfer signed with key (""
// unsigned) lacks the signature Config.AXFRKeys asks for.
func (s *Server) transferNeedsKey(key string) bool {
	return len(s.cfg.AXFRKeys) > 0 && !slices.Contains(s.cfg.AXFRKeys, key)
}

// writeAXFR sends the pre-packed AXFR messages of t, each patched with
// the query's ID and question, and signed when the request was (st).
func (s *Server) writeAXFR(t *table, q []byte, st *signedState, write func([]byte) error) error {
	var r request
	if rc, ok := r.parse(q); !ok || rc != rcodeNone {
		return fmt.Errorf("bad AXFR query")
	}
	buf := make([]byte, 0, axfrChunk+4096)
	for i, m := range t.axfr {
		buf = r.patch(buf, q, m)
		// The pre-packed question is AXFR; an IXFR query gets its own
		// type echoed, which patch copied.
		msg := buf
		if st != nil {
			var err error
			if msg, err = s.sign(buf, st, i > 0); err != nil {
				return fmt.Errorf("signing AXFR message %d: %w", i+1, err)
			}
		}
		if err := write(msg); err != nil {
			return err
		}
	}
	s.logger.Info("zone transferred", "zone", s.cfg.Zone, "serial", t.serial, "messages", len(t.axfr))
	return nil
}
