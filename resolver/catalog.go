package resolver

// The catalog zone (RFC 9432): a zone whose records list the other zones
// served, so that secondaries configured for the catalog alone follow
// every zone, including those that appear at run time.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"

	"github.com/miekg/dns"
)

// catalogMemberLabel is the unique-N label of a member (RFC 9432 section
// 4.1): derived from the member's name, so it stays the same across
// restarts and on every instance, and a consumer never sees a member
// leave and come back under another label.
func catalogMemberLabel(zone string) string {
	sum := sha256.Sum256([]byte(zone))
	return hex.EncodeToString(sum[:8])
}

// catalogRecords are the catalog's records but its SOA and NS: the
// schema version and one PTR per member.
func catalogRecords(catalog string, members []string, ttl uint32) []dns.RR {
	hdr := func(name string, t uint16) dns.RR_Header {
		return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: ttl}
	}
	rrs := []dns.RR{&dns.TXT{Hdr: hdr("version."+catalog, dns.TypeTXT), Txt: []string{"2"}}}
	for _, m := range members {
		rrs = append(rrs, &dns.PTR{Hdr: hdr(catalogMemberLabel(m)+".zones."+catalog, dns.TypePTR), Ptr: m})
	}
	return rrs
}

// updateCatalog serves Config.Catalog listing the zones served now;
// under dyn.mu. A failure is logged: the catalog keeps what it listed.
func (s *Server) updateCatalog(ctx context.Context) {
	cat := s.cfg.Catalog
	if cat == "" {
		return
	}
	members := []string{s.cfg.Zone}
	for _, z := range slices.Sorted(maps.Keys(s.dyn.zones)) {
		if z != cat {
			members = append(members, z)
		}
	}
	cfg, err := s.zoneConfig(ZoneConfig{Zone: cat, NS: []string{"invalid."}, Notify: s.cfg.Notify})
	if err == nil {
		var owners map[string][]dns.RR
		if owners, err = zoneOwners(cfg, catalogRecords(cat, members, cfg.TTL)); err == nil {
			err = s.setZoneLocked(ctx, cfg, owners, nil)
		}
	}
	if err != nil {
		s.logger.Error("DNS catalog zone not updated", "zone", cat, "error", err)
	}
}

// initCatalog serves the catalog from the start, the registry zone its
// first member.
func (s *Server) initCatalog() {
	s.dyn.mu.Lock()
	defer s.dyn.mu.Unlock()
	s.updateCatalog(context.Background())
}
