package resolver

// Swapping in a new zone: the table is built off to the side, its serial
// decided against the one served and the one kept on disk, then published.

import (
	"context"
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/miekg/dns"
	"github.com/svcreg/svcreg/registry"
)

// SetSnapshot builds the zone and answer table for snap and swaps it in
// atomically. The serial is the registry date as YYYYMMDD00 (1 without a
// date), raised past the previous serial whenever the zone content
// changed; when it changes, NOTIFY goes to every configured secondary in
// the background. On error the previous table stays in service.
//
// With Config.SerialFile the serial survives restarts: the first call
// keeps the file's serial when the zone content is the one it names, and
// otherwise serves the larger (RFC 1982) of the date serial and the
// file's serial + 1; every new serial is written to the file before it is
// served. A missing or unreadable file counts as no file; a failed write
// is logged and counted (svcreg_dns_serial_file_errors_total) and serving
// goes on.
func (s *Server) SetSnapshot(ctx context.Context, snap *registry.Snapshot) error {
	s.setMu.Lock()
	defer s.setMu.Unlock()
	if snap != nil && snap == s.lastSnap {
		return nil // the same immutable snapshot: nothing to rebuild
	}
	start := time.Now()
	z, err := buildZone(ctx, snap, s.cfg)
	if err != nil {
		return fmt.Errorf("building zone %s: %w", s.cfg.Zone, err)
	}
	rrs := z.rrs()
	h, err := zoneHash(z.soa, rrs[1:], &z.synth)
	if err != nil {
		return err
	}
	if old := s.tab.Load(); old != nil && h == s.hash {
		// Same zone and same synthesised ports: the table in service
		// already gives every answer this snapshot would.
		s.lastSnap = snap
		s.saveSerial(old.serial, h) // again, if the last write failed
		s.logger.Debug("DNS zone unchanged", "zone", s.cfg.Zone, "serial", old.serial,
			"took", time.Since(start).Round(time.Millisecond))
		return nil
	}
	old := s.tab.Load()
	serial := z.soa.Serial
	if old != nil {
		if !serialLess(old.serial, serial) {
			serial = old.serial + 1
		}
	} else if s.cfg.SerialFile != "" {
		serial = s.restoreSerial(serial, h)
	}
	z.soa.Serial = serial
	t, err := buildTable(ctx, z, rrs, s.cfg)
	if err != nil {
		return fmt.Errorf("building answers for %s: %w", s.cfg.Zone, err)
	}
	// Kept before it is served or announced, so that a crash right after
	// a NOTIFY cannot bring the serial back down.
	s.saveSerial(serial, h)
	s.tab.Store(t)
	s.hash, s.lastSnap = h, snap
	s.metrics.serial.Set(float64(serial))
	s.logger.Info("DNS zone loaded", "zone", s.cfg.Zone, "serial", serial, "records", len(rrs),
		"names", len(t.nodes), "took", time.Since(start).Round(time.Millisecond))
	if z.enumListed < z.enumTotal {
		s.logger.Info("DNS: _services._dns-sd._udp lists only part of the service types; dns.enumerate_max_records raises the bound",
			"listed", z.enumListed, "types", z.enumTotal, "max", s.cfg.EnumerateMaxRecords)
	}
	if old == nil || old.serial != serial {
		s.notify(serial)
	}
	return nil
}

// serialLess is RFC 1982 serial number arithmetic: a < b.
func serialLess(a, b uint32) bool {
	return a != b && int32(b-a) > 0
}

// zoneHash digests the zone content (soa without its serial, then rrs)
// and the synthesised port data, so a reload that changes nothing keeps
// the serial and the table, and a restart can tell whether the zone is
// the one its serial file names.
func zoneHash(soa *dns.SOA, rrs []dns.RR, ps *portSynth) ([32]byte, error) {
	h := sha256.New()
	c := *soa
	c.Serial = 0
	rrs = append([]dns.RR{&c}, rrs...)
	for _, g := range ps.group {
		for _, v := range g {
			h.Write([]byte{byte(v >> 8), byte(v)})
		}
	}
	for _, g := range ps.groups {
		h.Write([]byte{byte(len(g))})
		h.Write(g)
	}
	buf := make([]byte, 65536)
	for _, rr := range rrs {
		n, err := dns.PackRR(rr, buf, 0, nil, false)
		if err != nil {
			return [32]byte{}, fmt.Errorf("packing %s: %w", rr.Header().Name, err)
		}
		h.Write(buf[:n])
	}
	var out [32]byte
	h.Sum(out[:0])
	return out, nil
}

// Serial is the SOA serial being served (0 before the first snapshot).
func (s *Server) Serial() uint32 {
	if t := s.tab.Load(); t != nil {
		return t.serial
	}
	return 0
}
