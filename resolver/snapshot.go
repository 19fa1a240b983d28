package resolver

// Swapping in a new zone: the table is built off to the side, its serial
// decided against the one served and the one kept on disk, then published.

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/miekg/dns"
	"github.com/svcreg/svcreg/registry"
)

// SetSnapshot builds the zone and answer table for snap and swaps it in
// atomically; on error the previous table stays in service. A snapshot
// whose zone content is the one served keeps the table and its serial.
// Otherwise the serial is the one Config.SerialPolicy gives, unless that
// is not newer (RFC 1982) than the serial served before, when it is the
// previous serial plus one; NOTIFY then goes to every configured
// secondary in the background.
//
// With Config.SerialFile "served before" reaches across restarts: the
// first call keeps the file's serial when the zone content is the one it
// names, and otherwise serves the policy's serial or the file's serial +
// 1, whichever is newer; every new serial is written to the file before
// it is served. A missing or unreadable file counts as no file; a failed
// write is logged and counted (svcreg_dns_serial_file_errors_total) and
// serving goes on.
func (s *Server) SetSnapshot(ctx context.Context, snap *registry.Snapshot) error {
	s.setMu.Lock()
	defer s.setMu.Unlock()
	if snap != nil && snap == s.lastSnap {
		return nil // the same immutable snapshot: nothing to rebuild
	}
	start := time.Now()
	d, err := s.delta(ctx, snap)
	if err != nil {
		return fmt.Errorf("building zone %s: %w", s.cfg.Zone, err)
	}
	if d != nil {
		return s.setDelta(ctx, snap, d, start)
	}
	z, err := buildZone(ctx, snap, s.cfg)
	if err != nil {
		return fmt.Errorf("building zone %s: %w", s.cfg.Zone, err)
	}
	sorted := z.sortedOwners()
	rrs := z.rrsOf(sorted)
	wire, err := zoneWire(rrs[1:])
	if err != nil {
		return err
	}
	owners := ownerRuns(rrs[1:], wire)
	sums, sum := ownerDigests(owners)
	h, err := zoneHash(z.soa, sum, &z.synth)
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
	serial := policySerial(s.cfg.SerialPolicy, z.soa.Serial, h, time.Now())
	if old != nil {
		serial = s.pastServed(serial, old.serial, "served")
	} else if s.cfg.SerialFile != "" {
		serial = s.restoreSerial(serial, h)
	}
	z.soa.Serial = serial
	addrOwners := addressOwners(z)
	var reuse *tableReuse
	if old != nil && old.names != nil && sameAddresses(s.addrOwners, s.ownerWire, owners, addrOwners) {
		reuse = &tableReuse{prev: old, same: func(o string) bool {
			prev, ok := s.ownerWire[o]
			return ok && slices.Equal(prev, owners[o])
		}}
	}
	t, err := buildTable(ctx, z, s.cfg, reuse)
	if err != nil {
		return fmt.Errorf("building answers for %s: %w", s.cfg.Zone, err)
	}
	soaWire, err := zoneWire([]dns.RR{z.soa})
	if err != nil {
		return err
	}
	t.soaWire, t.records = soaWire[0], len(rrs)
	t.journal = s.nextJournal(old, t, wire, start)
	// Kept before it is served or announced, so that a crash right after
	// a NOTIFY cannot bring the serial back down.
	s.saveSerial(serial, h)
	var prev uint32
	if old != nil {
		prev = old.serial
	}
	s.saveJournal(t, prev, func() []string { return wire })
	s.tab.Store(t)
	s.hash, s.lastSnap, s.wire, s.ownerWire, s.addrOwners = h, snap, wire, owners, addrOwners
	s.ownerSums, s.ownerSum = sums, sum
	s.reg = newRegZone(snap, z, sorted)
	s.served(t, z, start, -1)
	if old == nil || old.serial != serial {
		s.notify(serial)
	}
	return nil
}

// setDelta serves the difference d: the zone unchanged keeps the table
// and its serial, as in SetSnapshot; under setMu.
func (s *Server) setDelta(ctx context.Context, snap *registry.Snapshot, d *regDelta, start time.Time) error {
	z, old := d.b.z, s.tab.Load()
	h, err := zoneHash(z.soa, d.sum, &z.synth)
	if err != nil {
		return err
	}
	if h == s.hash {
		// The records that changed give the zone the same data.
		s.lastSnap = snap
		s.saveSerial(old.serial, h)
		s.logger.Debug("DNS zone unchanged", "zone", s.cfg.Zone, "serial", old.serial,
			"took", time.Since(start).Round(time.Millisecond))
		return nil
	}
	serial := s.pastServed(policySerial(s.cfg.SerialPolicy, z.soa.Serial, h, time.Now()), old.serial, "served")
	return s.serveDelta(ctx, snap, d, h, serial, start)
}

// served logs, counts and announces the table t just served, made from
// z whole (changed < 0) or as a difference of changed owners.
func (s *Server) served(t *table, z *zoneData, start time.Time, changed int) {
	s.metrics.serial.Set(float64(t.serial))
	var jb, jn int
	if t.journal != nil {
		jb, jn = t.journal.bytes, len(t.journal.entries)
	}
	s.metrics.journalBytes.Set(float64(jb))
	s.metrics.journalChanges.Set(float64(jn))
	args := []any{"zone", s.cfg.Zone, "serial", t.serial, "records", t.records, "names", len(t.names)}
	if changed >= 0 {
		args = append(args, "changed_owners", changed)
	}
	s.logger.Info("DNS zone loaded", append(args, "took", time.Since(start).Round(time.Millisecond))...)
	if z.enumListed < z.enumTotal {
		s.logger.Info("DNS: _services._dns-sd._udp lists only part of the service types; dns.enumerate_max_records raises the bound",
			"listed", z.enumListed, "types", z.enumTotal, "max", s.cfg.EnumerateMaxRecords)
	}
}

// ownerRuns maps each owner of rrs (in canonical order, so each owner's
// records are together) to its records' wire, a subslice of wire.
func ownerRuns(rrs []dns.RR, wire []string) map[string][]string {
	out := make(map[string][]string, len(rrs)/2)
	for i := 0; i < len(rrs); {
		name := rrs[i].Header().Name
		j := i + 1
		for j < len(rrs) && rrs[j].Header().Name == name {
			j++
		}
		out[name] = wire[i:j:j]
		i = j
	}
	return out
}

// addressOwners are the owners of z that hold an address record, whose
// records the additional sections of other answers carry.
func addressOwners(z *zoneData) map[string]bool {
	out := map[string]bool{}
	for name, o := range z.owners {
		for _, rr := range o.rrs {
			if t := rr.Header().Rrtype; t == dns.TypeA || t == dns.TypeAAAA {
				out[name] = true
				break
			}
		}
	}
	return out
}

// sameAddresses reports whether the owners holding addresses are the
// same in both versions of the zone (prevOwners, cur) with the same
// records.
func sameAddresses(prevOwners map[string]bool, prev, cur map[string][]string, curOwners map[string]bool) bool {
	if prev == nil || len(prevOwners) != len(curOwners) {
		return false
	}
	for name := range curOwners {
		if !prevOwners[name] || !slices.Equal(addressWire(prev[name]), addressWire(cur[name])) {
			return false
		}
	}
	return true
}

// addressWire are the A and AAAA records among an owner's records in
// uncompressed wire form.
func addressWire(wire []string) []string {
	var out []string
	for _, w := range wire {
		if t := wireRRType(w); t == dns.TypeA || t == dns.TypeAAAA {
			out = append(out, w)
		}
	}
	return out
}

// wireRRType is the type of a record in uncompressed wire form (0 when
// it is cut short).
func wireRRType(w string) uint16 {
	i := 0
	for i < len(w) && w[i] != 0 {
		i += int(w[i]) + 1
	}
	if i+3 > len(w) {
		return 0
	}
	return uint16(w[i+1])<<8 | uint16(w[i+2])
}

// policySerial is the serial policy gives a zone whose data date serial
// (YYYYMMDD00) is base and whose content digest is h, at time now.
func policySerial(policy string, base uint32, h [32]byte, now time.Time) uint32 {
	switch policy {
	case SerialIncrement:
		return base
	case SerialUnixtime:
		return uint32(now.Unix())
	}
	return base + uint32(binary.BigEndian.Uint16(h[:2]))%100
}

// pastServed returns serial when it is newer than prev, a serial served
// before (where names which), and otherwise prev + 1. Under the content
// policy the second case is worth a warning: instances that did not see
// the same history now serve different serials for the same data.
func (s *Server) pastServed(serial, prev uint32, where string) uint32 {
	if serialLess(prev, serial) {
		return serial
	}
	next := prev + 1
	if next == 0 {
		next = 1 // RFC 1982 allows 0, but some tools read it as unset
	}
	if s.cfg.SerialPolicy == SerialContent {
		s.logger.Warn("DNS serial raised past the content serial, which is not newer than the one "+where+
			"; another instance with this data may serve a different serial",
			"zone", s.cfg.Zone, "content_serial", serial, "previous_serial", prev, "serial", next)
	}
	return next
}

// serialLess is RFC 1982 serial number arithmetic: a < b.
func serialLess(a, b uint32) bool {
	return a != b && int32(b-a) > 0
}

// zoneHash digests the zone content: soa without its serial, the
// synthesised port data, and sum, the owners' digests (ownerDigest)
// combined, so a reload that changes nothing keeps the serial and the
// table, and a restart can tell whether the zone is the one its serial
// file names. Combined by XOR, the owners' digests need no order, and a
// zone changed in place updates sum with the owners it changes.
func zoneHash(soa *dns.SOA, sum [32]byte, ps *portSynth) ([32]byte, error) {
	h := sha256.New()
	c := *soa
	c.Serial = 0
	soaWire, err := zoneWire([]dns.RR{&c})
	if err != nil {
		return [32]byte{}, err
	}
	h.Write([]byte(soaWire[0]))
	// The synthesised answers by content, as runs of ports with the
	// same answer, so that the digest does not depend on how the groups
	// happen to be numbered (a zone changed in place numbers them in the
	// order they were met).
	for pidx, g := range ps.group {
		prev := -1
		for port, v := range g {
			if int(v) == prev {
				continue
			}
			prev = int(v)
			var rd []byte
			if v > 0 {
				rd = ps.groups[v-1]
			}
			h.Write([]byte{byte(pidx), byte(port >> 8), byte(port), byte(len(rd) >> 8), byte(len(rd))})
			h.Write(rd)
		}
	}
	h.Write(sum[:])
	var out [32]byte
	h.Sum(out[:0])
	return out, nil
}

// ownerDigest is the SHA-256 of an owner's records in uncompressed wire
// form, one after the other (each holds the owner name, so no two
// owners' digests are of the same bytes); buf is scratch space.
func ownerDigest(wire []string, buf *[]byte) [32]byte {
	b := (*buf)[:0]
	for _, w := range wire {
		b = append(b, w...)
	}
	*buf = b
	return sha256.Sum256(b)
}

// ownerDigests are the digests of owners (ownerRuns) and their XOR.
func ownerDigests(owners map[string][]string) (map[string][32]byte, [32]byte) {
	out := make(map[string][32]byte, len(owners))
	var sum [32]byte
	var buf []byte
	for o, w := range owners {
		d := ownerDigest(w, &buf)
		out[o] = d
		xorInto(&sum, &d)
	}
	return out, sum
}

func xorInto(sum, d *[32]byte) {
	for i := range sum {
		sum[i] ^= d[i]
	}
}

// Serial is the SOA serial being served (0 before the first snapshot).
func (s *Server) Serial() uint32 {
	if t := s.tab.Load(); t != nil {
		return t.serial
	}
	return 0
}
