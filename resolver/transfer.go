package resolver

// Zone transfers: the allow-list and the AXFR message stream.

import (
	"fmt"
	"net/netip"
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

// writeAXFR sends the pre-packed AXFR messages of t, each patched with
// the query's ID and question.
func (s *Server) writeAXFR(t *table, q []byte, write func([]byte) error) error {
	var r request
	if rc, ok := r.parse(q); !ok || rc != rcodeNone {
		return fmt.Errorf("bad AXFR query")
	}
	buf := make([]byte, 0, axfrChunk+4096)
	for _, m := range t.axfr {
		buf = r.patch(buf, q, m)
		// The pre-packed question is AXFR; an IXFR query gets its own
		// type echoed, which patch copied.
		if err := write(buf); err != nil {
			return err
		}
	}
	s.logger.Info("zone transferred", "zone", s.cfg.Zone, "serial", t.serial, "messages", len(t.axfr))
	return nil
}
