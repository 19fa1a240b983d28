package resolver

// Zones besides the registry zone, whose records the caller supplies and
// changes at run time (the LAN zones of a discovery proxy). Each has its
// own SOA, serial, transfer allow-list, NOTIFY targets and IXFR journal;
// a query goes to the zone with the longest apex that contains its name.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// ErrZoneRecord is wrapped by SetZone's errors about the records given.
var ErrZoneRecord = errors.New("resolver: record not valid in the zone")

// ZoneConfig describes a zone served from records the caller supplies
// (Server.SetZone). Unset fields take the server's Config: NS names,
// TTLs, SOA timers, the transfer allow-list. Its serial is the time of
// the change in seconds (never lower than one served before by this
// process), so a restart needs no state to go on from a higher serial.
type ZoneConfig struct {
	// Zone is the apex, made absolute and lower case. It may lie below
	// the registry zone; names under it are then answered from it.
	Zone string
	// NS are the zone's name servers (default: the server's NS names).
	NS []string
	// Mbox is the SOA RNAME (default hostmaster.<zone>).
	Mbox string
	// TTL and NegTTL as in Config (default: the server's).
	TTL, NegTTL uint32
	// AXFRAllow lists the clients that may transfer the zone (nil: the
	// server's Config.AXFRAllow).
	AXFRAllow []netip.Prefix
	// Notify lists the secondaries sent a NOTIFY when its serial changes.
	Notify []string
	// OnMiss, when set, is called on the query path for every PTR query
	// in the zone answered NXDOMAIN or NODATA, with the query name as
	// lowercased wire bytes (a copy, so that the query's own buffers
	// stay on the stack of the query path). It must return at once: a discovery proxy uses it to ask the link for a type no
	// one has seen yet (RFC 8766 section 5.2).
	OnMiss func(name []byte)
}

// dynZone is the serving state of one zone of SetZone: its table, and
// what changing it in place needs.
type dynZone struct {
	cfg Config // the server's, with the zone's fields
	tab *table
	// owners are the zone's records by lowercased owner name (the SOA
	// aside, the apex NS included); wire the same as sorted wire forms.
	owners map[string][]dns.RR
	wire   map[string][]string
	// refs maps an owner to the owners whose answers carry its
	// addresses (SRV targets, NS names); below counts the owners below
	// each name under the apex that has any (empty non-terminals).
	refs     map[string]map[string]bool
	below    map[string]int
	onMiss   func([]byte)
	notifyCx context.CancelFunc
	// axfr is the zone packed for AXFR at serial axfrSerial, made when
	// first asked for.
	axfr       [][]byte
	axfrSerial uint32
}

// dynIndex is what the query path reads: the tables of the SetZone zones
// by the lowercased wire form of their apex. Replaced whole on change.
type dynIndex struct {
	byKey map[string]*table
}

// find returns the table of the zone with the longest apex that key (a
// lowercased wire-form name) is at or below, or nil.
func (d *dynIndex) find(key []byte) *table {
	for off := 0; off < len(key)-1; off += int(key[off]) + 1 {
		if t, ok := d.byKey[string(key[off:])]; ok {
			return t
		}
	}
	return nil
}

// dynZones holds the SetZone zones under one mutex (changes are rare
// next to queries, which read dynIndex only).
type dynZones struct {
	mu    sync.Mutex
	zones map[string]*dynZone // by absolute lowercased apex
	pk    packer              // for changes in place, reused under mu
}

// zoneConfig is the server's Config for the zone zc describes.
func (s *Server) zoneConfig(zc ZoneConfig) (Config, error) {
	c := s.cfg
	apex := strings.ToLower(dns.Fqdn(zc.Zone))
	if _, ok := dns.IsDomainName(apex); !ok || apex == "." {
		return c, fmt.Errorf("%w: zone %q", ErrConfig, zc.Zone)
	}
	if apex == s.cfg.Zone {
		return c, fmt.Errorf("%w: zone %s is the registry zone", ErrConfig, apex)
	}
	c.Zone = apex
	c.NS = nil
	for _, ns := range zc.NS {
		c.NS = append(c.NS, strings.ToLower(dns.Fqdn(ns)))
	}
	if len(c.NS) == 0 {
		c.NS = s.cfg.NS
	}
	c.Mbox = "hostmaster." + apex
	if zc.Mbox != "" {
		c.Mbox = strings.ToLower(dns.Fqdn(zc.Mbox))
	}
	if zc.TTL != 0 {
		c.TTL = zc.TTL
	}
	if zc.NegTTL != 0 {
		c.NegTTL = zc.NegTTL
	}
	if zc.AXFRAllow != nil {
		c.AXFRAllow = zc.AXFRAllow
	}
	c.Notify = zc.Notify
	c.NSAddresses, c.Addresses = nil, nil
	return c, nil
}

// SetZone serves rrs as the zone zc describes, adding the zone or
// replacing its records; the SOA and the apex NS records are svcreg's.
// The zone keeps the records given (the caller must not change them
// afterwards).
// Records must be class IN, at or below the apex, and neither SOA nor
// NS at the apex; a bad one is an error wrapping ErrZoneRecord and the
// zone keeps what it served. Records equal to those served change
// nothing; otherwise the zone gets a new serial, an IXFR journal entry
// and a NOTIFY to zc.Notify. Only the owners whose records changed are
// packed again (and those whose additional section carries a changed
// address); a change of zc's own fields rebuilds the zone.
func (s *Server) SetZone(ctx context.Context, zc ZoneConfig, rrs []dns.RR) error {
	cfg, err := s.zoneConfig(zc)
	if err != nil {
		return err
	}
	owners, err := zoneOwners(cfg, rrs)
	if err != nil {
		return err
	}
	if cfg.Zone == s.cfg.Catalog {
		return fmt.Errorf("%w: zone %s is the catalog zone", ErrConfig, cfg.Zone)
	}
	s.dyn.mu.Lock()
	defer s.dyn.mu.Unlock()
	added := s.dyn.zones[cfg.Zone] == nil
	if prev := s.dyn.zones[cfg.Zone]; prev != nil && zc.OnMiss != nil {
		prev.onMiss = zc.OnMiss // the next table carries it
	}
	if err := s.setZoneLocked(ctx, cfg, owners, zc.OnMiss); err != nil {
		return err
	}
	if added {
		s.updateCatalog(ctx)
	}
	return nil
}

// setZoneLocked serves owners as the zone cfg describes, in place when
// the zone is served with the same settings; under dyn.mu.
func (s *Server) setZoneLocked(ctx context.Context, cfg Config, owners map[string][]dns.RR, onMiss func([]byte)) error {
	prev := s.dyn.zones[cfg.Zone]
	if prev == nil || !sameZoneConfig(prev.cfg, cfg) {
		return s.buildDynZone(ctx, prev, cfg, owners, onMiss)
	}
	changes := map[string][]dns.RR{}
	for o, rs := range owners {
		if !sameRecords(prev.owners[o], rs) {
			changes[o] = rs
		}
	}
	for o := range prev.owners {
		if _, ok := owners[o]; !ok {
			changes[o] = nil
		}
	}
	return s.applyDynZone(ctx, prev, changes)
}

// UpdateZone changes some owners of a zone of SetZone: changes maps an
// owner name to all its records from now on (none: the owner goes). The
// records follow SetZone's rules and must be owned by their key; the
// apex's NS records stay svcreg's. Only these owners are packed again
// (and those whose additional section carries a changed address), so
// the cost follows the change, not the zone.
func (s *Server) UpdateZone(ctx context.Context, zone string, changes map[string][]dns.RR) error {
	apex := strings.ToLower(dns.Fqdn(zone))
	s.dyn.mu.Lock()
	defer s.dyn.mu.Unlock()
	dz := s.dyn.zones[apex]
	if dz == nil {
		return fmt.Errorf("%w: zone %s is not served", ErrConfig, zone)
	}
	norm := make(map[string][]dns.RR, len(changes))
	for name, rs := range changes {
		o := strings.ToLower(dns.Fqdn(name))
		for i, rr := range rs {
			if !strings.EqualFold(dns.Fqdn(rr.Header().Name), o) {
				return fmt.Errorf("%w: %s: record %d is owned by %s", ErrZoneRecord, name, i+1, rr.Header().Name)
			}
		}
		got, err := zoneOwners(dz.cfg, rs)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		rs = got[o]
		if o == apex {
			rs = got[apex] // the NS records zoneOwners put there, and the records given
		}
		if !sameRecords(dz.owners[o], rs) {
			norm[o] = rs
		}
	}
	return s.applyDynZone(ctx, dz, norm)
}

// zoneOwners checks rrs against the zone cfg describes and groups them
// by lowercased owner, the apex with svcreg's NS records first.
func zoneOwners(cfg Config, rrs []dns.RR) (map[string][]dns.RR, error) {
	apex := cfg.Zone
	owners := map[string][]dns.RR{}
	for _, ns := range cfg.NS {
		owners[apex] = append(owners[apex], &dns.NS{Hdr: dns.RR_Header{Name: apex, Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: cfg.TTL}, Ns: ns})
	}
	for i, rr := range rrs {
		h := rr.Header()
		owner := strings.ToLower(dns.Fqdn(h.Name))
		switch {
		case h.Class != dns.ClassINET:
			return nil, fmt.Errorf("%w: record %d (%s): class %s", ErrZoneRecord, i+1, h.Name, dns.ClassToString[h.Class])
		case !dns.IsSubDomain(apex, owner):
			return nil, fmt.Errorf("%w: record %d: %s is not in %s", ErrZoneRecord, i+1, h.Name, apex)
		case h.Rrtype == dns.TypeSOA || h.Rrtype == dns.TypeOPT || h.Rrtype == dns.TypeTSIG ||
			owner == apex && h.Rrtype == dns.TypeNS:
			return nil, fmt.Errorf("%w: record %d (%s): type %s is svcreg's", ErrZoneRecord, i+1, h.Name, dns.TypeToString[h.Rrtype])
		}
		if h.Name != owner {
			rr = dns.Copy(rr)
			rr.Header().Name = owner
		}
		owners[owner] = append(owners[owner], rr)
	}
	return owners, nil
}

// ownerWire is an owner's records in uncompressed wire form, sorted, to
// take the difference of two versions of the owner.
func ownerWire(rrs []dns.RR) ([]string, error) {
	if len(rrs) == 0 {
		return nil, nil
	}
	w, err := zoneWire(rrs)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrZoneRecord, err)
	}
	slices.Sort(w)
	return w, nil
}

// sameRecords reports whether a and b hold the same records in the same
// order, TTLs included: cheaper than packing both, and a reordering only
// costs a needless repack.
func sameRecords(a, b []dns.RR) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] == b[i] {
			continue // the same record object (a builder that reuses them)
		}
		if a[i].Header().Ttl != b[i].Header().Ttl || !dns.IsDuplicate(a[i], b[i]) {
			return false
		}
	}
	return true
}

// sameZoneConfig reports whether a and b make the same SOA and NS and
// the same TTLs, so a zone can change in place.
func sameZoneConfig(a, b Config) bool {
	return slices.Equal(a.NS, b.NS) && a.Mbox == b.Mbox && a.TTL == b.TTL && a.NegTTL == b.NegTTL &&
		a.SOARefresh == b.SOARefresh && a.SOARetry == b.SOARetry && a.SOAExpire == b.SOAExpire &&
		slices.Equal(a.AXFRAllow, b.AXFRAllow) && slices.Equal(a.Notify, b.Notify)
}

// nextDynSerial is a SetZone zone's next serial: the time in seconds,
// past prev.
func nextDynSerial(prev uint32, now time.Time) uint32 {
	serial := uint32(now.Unix())
	if prev != 0 && !serialLess(prev, serial) {
		serial = prev + 1
	}
	return serial
}

// buildDynZone builds a SetZone zone whole from owners and serves it;
// under dyn.mu. prev, when set, is the zone it replaces (its serial and
// journal go on).
func (s *Server) buildDynZone(ctx context.Context, prev *dynZone, cfg Config, owners map[string][]dns.RR, onMiss func([]byte)) error {
	apex := cfg.Zone
	z := &zoneData{apex: apex, owners: map[string]*owner{}, types: map[string]bool{}}
	z.soa = &dns.SOA{Hdr: dns.RR_Header{Name: apex, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: cfg.TTL},
		Ns: cfg.NS[0], Mbox: cfg.Mbox, Refresh: cfg.SOARefresh, Retry: cfg.SOARetry, Expire: cfg.SOAExpire, Minttl: cfg.NegTTL}
	z.add(z.soa)
	for _, rs := range owners {
		for _, rr := range rs {
			z.add(rr)
		}
	}
	all := z.rrs()
	wire, err := zoneWire(all[1:])
	if err != nil {
		return fmt.Errorf("%w: %w", ErrZoneRecord, err)
	}
	now := time.Now()
	var prevSerial uint32
	if prev != nil {
		prevSerial = prev.tab.serial
	}
	z.soa.Serial = nextDynSerial(prevSerial, now)
	t, err := buildTable(ctx, z, cfg, nil)
	if err != nil {
		return fmt.Errorf("building zone %s: %w", apex, err)
	}
	t.index, t.names = indexOf(t.names), nil // changed in place from now on
	soaWire, err := zoneWire([]dns.RR{z.soa})
	if err != nil {
		return err
	}
	t.soaWire, t.records = soaWire[0], len(all)
	dz := &dynZone{cfg: cfg, tab: t, owners: owners, wire: map[string][]string{}, refs: map[string]map[string]bool{}, below: map[string]int{}}
	if onMiss == nil && prev != nil {
		onMiss = prev.onMiss
	}
	dz.onMiss, t.onMiss = onMiss, onMiss
	for o, rs := range owners {
		if dz.wire[o], err = ownerWire(rs); err != nil {
			return err
		}
		dz.link(o, nil, rs)
	}
	if prev != nil {
		dz.notifyCx = prev.notifyCx
		if cfg.JournalMaxBytes >= 0 {
			var old []string
			for _, w := range prev.wire {
				old = append(old, w...)
			}
			removed, added := diffZones(old, wire)
			t.journal = prev.tab.journal.with(&journalEntry{from: prev.tab.serial, to: t.serial, at: now.Unix(),
				fromSOA: prev.tab.soaWire, toSOA: t.soaWire, removed: removed, added: added},
				cfg.JournalMaxBytes, time.Duration(cfg.SOAExpire)*time.Second, now)
		}
	}
	s.serveDynZone(dz, len(all))
	return nil
}

// applyDynZone applies changes (owner -> all its records, nil: gone) to
// dz in place and serves the result; under dyn.mu. No change, no new
// serial.
func (s *Server) applyDynZone(ctx context.Context, dz *dynZone, changes map[string][]dns.RR) error {
	if len(changes) == 0 {
		return nil
	}
	cfg, apex, old := dz.cfg, dz.cfg.Zone, dz.tab
	now := time.Now()
	serial := nextDynSerial(old.serial, now)
	soa := dns.Copy(old.soa).(*dns.SOA)
	soa.Serial = serial
	soaWire, err := zoneWire([]dns.RR{soa})
	if err != nil {
		return err
	}
	neg := dns.Copy(soa).(*dns.SOA)
	neg.Hdr.Ttl = min(cfg.NegTTL, cfg.TTL)
	negSOA, err := zoneWire([]dns.RR{neg})
	if err != nil {
		return err
	}

	// First everything that can fail, reading dz and the changes only;
	// dz's maps change once the new table is built.
	view := func(o string) []dns.RR {
		if rs, ok := changes[o]; ok {
			return rs
		}
		return dz.owners[o]
	}
	var removed, added []string
	newWire := make(map[string][]string, len(changes))
	repack := map[string]bool{apex: true} // the apex holds the SOA, whose serial changed
	belowDelta := map[string]int{}
	names := slices.Sorted(maps.Keys(changes))
	for _, o := range names {
		rs := changes[o]
		w, err := ownerWire(rs)
		if err != nil {
			return fmt.Errorf("%s: %w", o, err)
		}
		newWire[o] = w
		rem, add := diffZones(dz.wire[o], w)
		removed, added = append(removed, rem...), append(added, add...)
		if addressesDiffer(dz.owners[o], rs) {
			for r := range dz.refs[o] {
				repack[r] = true
			}
		}
		repack[o] = true
		step := 0
		switch had, has := len(dz.owners[o]) > 0, len(rs) > 0; {
		case !had && has:
			step = 1
		case had && !has:
			step = -1
		}
		if step != 0 {
			for _, a := range dz.ancestors(o) {
				belowDelta[a] += step
			}
		}
	}
	below := func(a string) int { return dz.below[a] + belowDelta[a] }

	idx := old.index
	p := &s.dyn.pk
	addrs := map[string][]dns.RR{}
	for o := range repack {
		for _, tgt := range targets(view(o)) {
			addrs[tgt] = addressRecords(view(tgt))
		}
	}
	for _, o := range slices.Sorted(maps.Keys(repack)) {
		if err := ctx.Err(); err != nil {
			return err
		}
		key, err := wireName(o)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrZoneRecord, err)
		}
		rs := view(o)
		if o == apex {
			rs = append([]dns.RR{soa}, rs...)
		}
		switch {
		case len(rs) > 0:
			nd, err := p.packNode(o, rs, addrs, o == apex)
			if err != nil {
				return fmt.Errorf("%w: %w", ErrZoneRecord, err)
			}
			idx = idx.with(key, nd)
		case below(o) > 0:
			idx = idx.with(key, &node{}) // still an empty non-terminal
		default:
			idx = idx.without(key)
		}
	}
	for _, a := range slices.Sorted(maps.Keys(belowDelta)) {
		if repack[a] || len(view(a)) > 0 || (dz.below[a] > 0) == (below(a) > 0) {
			continue // has data, or stays what it was
		}
		key, err := wireName(a)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrZoneRecord, err)
		}
		if below(a) > 0 {
			idx = idx.with(key, &node{})
		} else {
			idx = idx.without(key)
		}
	}

	// Commit.
	for _, o := range names {
		rs := changes[o]
		dz.link(o, dz.owners[o], rs)
		if len(rs) == 0 {
			delete(dz.owners, o)
			delete(dz.wire, o)
		} else {
			dz.owners[o], dz.wire[o] = rs, newWire[o]
		}
	}
	t := *old
	t.onMiss = dz.onMiss
	t.serial, t.soa, t.soaWire, t.negSOA = serial, soa, soaWire[0], []byte(negSOA[0])
	t.index, t.names = idx, nil
	t.records = old.records + len(added) - len(removed)
	if cfg.JournalMaxBytes >= 0 {
		t.journal = old.journal.with(&journalEntry{from: old.serial, to: serial, at: now.Unix(),
			fromSOA: old.soaWire, toSOA: t.soaWire, removed: removed, added: added},
			cfg.JournalMaxBytes, time.Duration(cfg.SOAExpire)*time.Second, now)
	}
	dz.tab = &t
	s.serveDynZone(dz, t.records)
	return nil
}

// serveDynZone publishes dz and announces its serial; under dyn.mu.
func (s *Server) serveDynZone(dz *dynZone, records int) {
	if s.dyn.zones == nil {
		s.dyn.zones = map[string]*dynZone{}
	}
	apex := dz.cfg.Zone
	s.dyn.zones[apex] = dz
	s.publishZones()
	s.logger.Debug("DNS zone loaded", "zone", apex, "serial", dz.tab.serial, "records", records, "names", dz.tab.index.len())
	// A copy: packing a record writes to it (its RDATA length), and the
	// table's SOA is packed for AXFR meanwhile.
	s.notifyZone(apex, dns.Copy(dz.tab.soa).(*dns.SOA), dz.cfg.Notify, &dz.notifyCx)
}

// link updates the zone's bookkeeping for owner o going from records old
// to cur: which owners carry whose addresses (refs), and how many owners
// lie below each name (below).
func (dz *dynZone) link(o string, old, cur []dns.RR) {
	for _, t := range targets(old) {
		delete(dz.refs[t], o)
		if len(dz.refs[t]) == 0 {
			delete(dz.refs, t)
		}
	}
	for _, t := range targets(cur) {
		if dz.refs[t] == nil {
			dz.refs[t] = map[string]bool{}
		}
		dz.refs[t][o] = true
	}
	step := 0
	switch {
	case len(old) == 0 && len(cur) > 0:
		step = 1
	case len(old) > 0 && len(cur) == 0:
		step = -1
	default:
		return
	}
	for _, a := range dz.ancestors(o) {
		dz.below[a] += step
		if dz.below[a] == 0 {
			delete(dz.below, a)
		}
	}
}

// ancestors are the names between owner o and the apex, nearest first.
func (dz *dynZone) ancestors(o string) []string {
	var out []string
	for _, off := range dns.Split(o)[1:] {
		a := o[off:]
		if len(a) <= len(dz.cfg.Zone) {
			break
		}
		out = append(out, a)
	}
	return out
}

// targets are the lowercased SRV targets and NS names of rrs: the
// owners whose addresses their answers carry.
func targets(rrs []dns.RR) []string {
	var out []string
	for _, rr := range rrs {
		switch r := rr.(type) {
		case *dns.SRV:
			out = append(out, strings.ToLower(r.Target))
		case *dns.NS:
			out = append(out, strings.ToLower(r.Ns))
		}
	}
	return out
}

// addressRecords are the A and AAAA records of rrs.
func addressRecords(rrs []dns.RR) []dns.RR {
	var out []dns.RR
	for _, rr := range rrs {
		if t := rr.Header().Rrtype; t == dns.TypeA || t == dns.TypeAAAA {
			out = append(out, rr)
		}
	}
	return out
}

// addressesDiffer reports whether a and b hold different A or AAAA
// records.
func addressesDiffer(a, b []dns.RR) bool {
	return !sameRecords(addressRecords(a), addressRecords(b))
}

// dynAXFR packs the AXFR of the SetZone zone t belongs to, once per
// serial: from the zone as it is now, which may be newer than t. nil
// when the zone is no longer served.
func (s *Server) dynAXFR(t *table) ([][]byte, *table, error) {
	s.dyn.mu.Lock()
	defer s.dyn.mu.Unlock()
	dz := s.dyn.zones[t.soa.Hdr.Name]
	if dz == nil {
		return nil, t, fmt.Errorf("zone %s is no longer served", t.soa.Hdr.Name)
	}
	if dz.axfr == nil || dz.axfrSerial != dz.tab.serial {
		z := &zoneData{apex: dz.cfg.Zone, owners: map[string]*owner{}, soa: dz.tab.soa}
		for _, rs := range dz.owners {
			for _, rr := range rs {
				z.add(rr)
			}
		}
		var p packer
		msgs, err := p.packAXFR(dz.cfg.Zone, z.rrs())
		if err != nil {
			return nil, t, err
		}
		dz.axfr, dz.axfrSerial = msgs, dz.tab.serial
	}
	return dz.axfr, dz.tab, nil
}

// RemoveZone stops serving a zone of SetZone; its names are then
// answered by the registry zone when they are under it, else REFUSED.
// It reports whether the zone was served.
func (s *Server) RemoveZone(zone string) bool {
	apex := strings.ToLower(dns.Fqdn(zone))
	if apex == s.cfg.Catalog {
		return false
	}
	s.dyn.mu.Lock()
	defer s.dyn.mu.Unlock()
	dz, ok := s.dyn.zones[apex]
	if !ok {
		return false
	}
	if dz.notifyCx != nil {
		dz.notifyCx()
	}
	delete(s.dyn.zones, apex)
	s.publishZones()
	s.logger.Info("DNS zone removed", "zone", apex)
	s.updateCatalog(context.Background())
	return true
}

// Zones lists the zones served: the registry zone first, then those of
// SetZone in name order.
func (s *Server) Zones() []string {
	s.dyn.mu.Lock()
	defer s.dyn.mu.Unlock()
	return append([]string{s.cfg.Zone}, slices.Sorted(maps.Keys(s.dyn.zones))...)
}

// ZoneSerial is the serial a zone of SetZone serves (0, false when it
// is not served).
func (s *Server) ZoneSerial(zone string) (uint32, bool) {
	s.dyn.mu.Lock()
	defer s.dyn.mu.Unlock()
	if dz, ok := s.dyn.zones[strings.ToLower(dns.Fqdn(zone))]; ok {
		return dz.tab.serial, true
	}
	return 0, false
}

// publishZones swaps in the index the query path reads; under dyn.mu.
func (s *Server) publishZones() {
	if len(s.dyn.zones) == 0 {
		s.dynIdx.Store(nil)
		return
	}
	d := &dynIndex{byKey: make(map[string]*table, len(s.dyn.zones))}
	for _, dz := range s.dyn.zones {
		d.byKey[dz.tab.apexKey] = dz.tab
	}
	s.dynIdx.Store(d)
}
