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
}

// dynZone is the serving state of one zone of SetZone.
type dynZone struct {
	cfg      Config // the server's, with the zone's fields
	tab      *table
	hash     [32]byte
	wire     []string
	notifyCx context.CancelFunc
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
// Records must be class IN, at or below the apex, and neither SOA nor
// NS at the apex; a bad one is an error wrapping ErrZoneRecord and the
// zone keeps what it served. Records equal to those served change
// nothing; otherwise the zone gets a new serial, an IXFR journal entry
// and a NOTIFY to zc.Notify.
func (s *Server) SetZone(ctx context.Context, zc ZoneConfig, rrs []dns.RR) error {
	cfg, err := s.zoneConfig(zc)
	if err != nil {
		return err
	}
	apex := cfg.Zone
	z := &zoneData{apex: apex, owners: map[string]*owner{}, types: map[string]bool{}}
	z.soa = &dns.SOA{Hdr: dns.RR_Header{Name: apex, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: cfg.TTL},
		Ns: cfg.NS[0], Mbox: cfg.Mbox, Refresh: cfg.SOARefresh, Retry: cfg.SOARetry, Expire: cfg.SOAExpire, Minttl: cfg.NegTTL}
	z.add(z.soa)
	for _, ns := range cfg.NS {
		z.add(&dns.NS{Hdr: dns.RR_Header{Name: apex, Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: cfg.TTL}, Ns: ns})
	}
	for i, rr := range rrs {
		h := rr.Header()
		owner := strings.ToLower(dns.Fqdn(h.Name))
		switch {
		case h.Class != dns.ClassINET:
			return fmt.Errorf("%w: record %d (%s): class %s", ErrZoneRecord, i+1, h.Name, dns.ClassToString[h.Class])
		case !dns.IsSubDomain(apex, owner):
			return fmt.Errorf("%w: record %d: %s is not in %s", ErrZoneRecord, i+1, h.Name, apex)
		case h.Rrtype == dns.TypeSOA || h.Rrtype == dns.TypeOPT || h.Rrtype == dns.TypeTSIG ||
			owner == apex && h.Rrtype == dns.TypeNS:
			return fmt.Errorf("%w: record %d (%s): type %s is svcreg's", ErrZoneRecord, i+1, h.Name, dns.TypeToString[h.Rrtype])
		}
		c := dns.Copy(rr)
		c.Header().Name = owner
		z.add(c)
	}
	all := z.rrs()
	wire, err := zoneWire(all[1:])
	if err != nil {
		return fmt.Errorf("%w: %w", ErrZoneRecord, err)
	}
	h, err := zoneHash(z.soa, wire, &z.synth)
	if err != nil {
		return err
	}

	s.dyn.mu.Lock()
	defer s.dyn.mu.Unlock()
	prev := s.dyn.zones[apex]
	if prev != nil && prev.hash == h {
		return nil
	}
	now := time.Now()
	serial := policySerial(SerialUnixtime, 0, h, now)
	if prev != nil && !serialLess(prev.tab.serial, serial) {
		serial = prev.tab.serial + 1
	}
	z.soa.Serial = serial
	t, err := buildTable(ctx, z, all, cfg)
	if err != nil {
		return fmt.Errorf("building zone %s: %w", apex, err)
	}
	soaWire, err := zoneWire([]dns.RR{z.soa})
	if err != nil {
		return err
	}
	t.soaWire, t.records = soaWire[0], len(all)
	if prev != nil && cfg.JournalMaxBytes >= 0 {
		removed, added := diffZones(prev.wire, wire)
		t.journal = prev.tab.journal.with(&journalEntry{from: prev.tab.serial, to: serial, at: now.Unix(),
			fromSOA: prev.tab.soaWire, toSOA: t.soaWire, removed: removed, added: added},
			cfg.JournalMaxBytes, time.Duration(cfg.SOAExpire)*time.Second, now)
	}
	dz := &dynZone{cfg: cfg, tab: t, hash: h, wire: wire}
	if prev != nil {
		dz.notifyCx = prev.notifyCx
	}
	if s.dyn.zones == nil {
		s.dyn.zones = map[string]*dynZone{}
	}
	s.dyn.zones[apex] = dz
	s.publishZones()
	s.logger.Info("DNS zone loaded", "zone", apex, "serial", serial, "records", len(all), "names", len(t.nodes))
	s.notifyZone(apex, t.soa, cfg.Notify, &dz.notifyCx)
	return nil
}

// RemoveZone stops serving a zone of SetZone; its names are then
// answered by the registry zone when they are under it, else REFUSED.
// It reports whether the zone was served.
func (s *Server) RemoveZone(zone string) bool {
	apex := strings.ToLower(dns.Fqdn(zone))
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
