package resolver

// Zone transfers: the allow-list and the AXFR message stream.

import (
	"fmt"

	"github.com/miekg/dns"
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

// writeAXFR sends a transfer of t, each message patched with the query's
// ID and question, and signed when the request was (st): for an IXFR
// (RFC 1995) the difference from the client's serial when the journal
// has it, else, as for an AXFR, the pre-packed whole zone.
func (s *Server) writeAXFR(t *table, q []byte, st *signedState, src netip.Addr, write func([]byte) error) error {
	var r request
	if rc, ok := r.parse(q); !ok || rc != rcodeNone {
		return fmt.Errorf("bad AXFR query")
	}
	var msgs [][]byte
	kind := transferAXFR
	if r.qtype == dns.TypeIXFR {
		kind = transferIXFRFull
		if r.hasIXFRSerial {
			m, err := t.ixfrMessages(r.ixfrSerial)
			switch {
			case err != nil:
				s.logger.Warn("DNS journal unusable for IXFR; sending the whole zone", "zone", t.soa.Hdr.Name, "from", r.ixfrSerial, "error", err)
			case m != nil:
				msgs, kind = m, transferIXFR
			}
		}
	}
	if msgs == nil {
		// The whole zone, packed when first asked for at its serial.
		var err error
		if t.soa.Hdr.Name == s.cfg.Zone {
			msgs, t, err = s.regAXFR()
		} else {
			msgs, t, err = s.dynAXFR(t)
		}
		if err != nil {
			return fmt.Errorf("packing AXFR: %w", err)
		}
	}
	buf := make([]byte, 0, axfrChunk+4096)
	for i, m := range msgs {
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
	s.metrics.transfers[kind].Inc()
	if r.qtype == dns.TypeIXFR {
		s.logger.Info("zone transferred", "zone", t.soa.Hdr.Name, "kind", transferKindLabels[kind], "client", src, "from", r.ixfrSerial,
			"serial", t.serial, "messages", len(msgs))
	} else {
		s.logger.Info("zone transferred", "zone", t.soa.Hdr.Name, "kind", transferKindLabels[kind], "client", src, "serial", t.serial, "messages", len(msgs))
	}
	return nil
}
