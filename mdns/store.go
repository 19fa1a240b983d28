package mdns

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// DefaultMaxInstances bounds the store when the config says nothing.
const DefaultMaxInstances = 10000

// StoreConfig configures a Store.
type StoreConfig struct {
	// MaxInstances bounds the advertisements kept; when a new instance
	// would exceed it, the one seen least recently is evicted.
	// 0 means DefaultMaxInstances.
	MaxInstances int
	// Validate, when set, computes an advertisement's findings; it is
	// called after every change (lazily, on Flush, with the store
	// locked) on the stored advertisement, which it must only read and
	// not keep.
	Validate func(*Advertisement) []Finding
	// OnEvict is called (with the store locked) once per eviction.
	OnEvict func()
	// OnFinding is called for each finding that is new on its
	// advertisement when Flush revalidates it.
	OnFinding func(Finding)
	// OnExpire is called (with the store locked) for an instance whose
	// records all expired: it vanished without the goodbye packet
	// (TTL 0, RFC 6762 section 10.1) a responder sends when it withdraws
	// a service or shuts down cleanly.
	OnExpire func(*Advertisement)
	// ReflectWindow is how soon an unchanged copy of an instance's
	// records from a second sender (or interface) counts as reflected
	// (0: DefaultReflectWindow).
	ReflectWindow time.Duration
}

// Store keeps the advertisements seen on the LAN, one per instance
// (keyed by instance, type and domain, compared case-insensitively as
// DNS names are), merging the partial records that arrive in separate
// packets. Entries expire with their records' TTLs (RFC 6762 section 5.2),
// a goodbye (TTL 0 on the PTR or SRV, section 10.1) removes one at once,
// and the store is bounded: the least recently seen instance is evicted
// and counted. Store is safe for concurrent use.
type Store struct {
	mu      sync.Mutex
	cfg     StoreConfig
	entries map[string]*storeEntry
	// LRU list by LastSeen: head is the oldest.
	head, tail *storeEntry
	hosts      map[string]*hostEntry
	dirty      []*storeEntry
	evictions  uint64
	// soonest is no later than the first expiry of any record held (an
	// instance's or a host address's): before it a flush has nothing to
	// expire and skips the scan. Zero: not known, scan.
	soonest time.Time
	// ver counts the changes: an entry's ver is the change that last
	// touched it, gone lists the removals since goneFloor (older ones are
	// forgotten, and a caller behind goneFloor is given everything).
	ver       uint64
	gone      []goneEntry
	goneFloor uint64
}

// goneEntry is an advertisement removed at change ver.
type goneEntry struct {
	key string
	ver uint64
}

type storeEntry struct {
	key        string
	ad         Advertisement
	expiry     expiries
	host       *hostEntry // SRV target, for its addresses
	prev, next *storeEntry
	dirty      bool
	removed    bool
	ver        uint64 // the change that last touched the advertisement
}

// hostEntry holds the address records seen for one host name, which may
// arrive in other packets than the SRV naming the host.
type hostAddr struct {
	ttl  uint32
	seen time.Time
	exp  time.Time
	from netip.Addr // the sender that gave it, when known
}

type hostEntry struct {
	key   string
	addrs map[netip.Addr]hostAddr
	ads   map[*storeEntry]struct{}
	seen  time.Time
	// conflict describes a second sender that gave the host name an
	// address of the same family as one a first sender gave it (RFC 6762
	// section 9), "" when none was seen.
	conflict string
}

// NewStore returns an empty store.
func NewStore(cfg StoreConfig) *Store {
	if cfg.MaxInstances <= 0 {
		cfg.MaxInstances = DefaultMaxInstances
	}
	if cfg.ReflectWindow <= 0 {
		cfg.ReflectWindow = DefaultReflectWindow
	}
	return &Store{
		cfg:     cfg,
		entries: make(map[string]*storeEntry),
		hosts:   make(map[string]*hostEntry),
	}
}

// appendStoreKey appends a's key to b, folding ASCII case (RFC 6762
// section 16: names compare case-insensitively for ASCII; other bytes
// compare exactly).
func appendStoreKey(b []byte, a *Advertisement) []byte {
	for _, s := range [...]string{a.Instance, a.Service, a.Proto, a.Domain} {
		for i := 0; i < len(s); i++ {
			c := s[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b = append(b, c)
		}
		b = append(b, 0)
	}
	return b
}

func hostKey(h string) string { return strings.ToLower(dns.Fqdn(h)) }

// Merge folds what one packet said about an instance into the store. p
// carries only the record types named in p.TTL (a missing key means the
// packet did not carry that record); TTL 0 is a goodbye. It reports
// whether what the store holds changed beyond the times (a repeated
// announcement only refreshes LastSeen and the expiries).
func (s *Store) Merge(p *Advertisement, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	var kbuf [128]byte
	kb := appendStoreKey(kbuf[:0], p)
	e := s.entries[string(kb)] // no allocation for the lookup
	if isGoodbye(p) {
		if e == nil {
			return false
		}
		s.remove(e)
		return true
	}
	changed := false
	if e == nil {
		if !carriesRecords(p) {
			return false
		}
		if len(s.entries) >= s.cfg.MaxInstances {
			s.evictOldest()
		}
		changed = true
		e = &storeEntry{key: string(kb), ad: Advertisement{
			Instance: p.Instance, Service: p.Service, Proto: p.Proto, Domain: p.Domain,
			FirstSeen: now,
		}}
		s.entries[e.key] = e
		s.pushBack(e)
	} else {
		s.moveToBack(e)
		changed = crossSender(&e.ad, p, now, s.cfg.ReflectWindow) || changed
	}
	a := &e.ad
	// Packets from the listener carry the time they were read, the
	// browser's results the time they were handled: one may arrive after
	// another it predates, and the first and last seen stay in order.
	if now.After(a.LastSeen) {
		a.LastSeen = now
	}
	if now.Before(a.FirstSeen) {
		a.FirstSeen = now
	}
	if p.Source.IsValid() {
		a.Source = p.Source
	}
	if p.Interface != "" && p.Interface != a.Interface {
		// heard on another link now: the discovery proxy publishes it there
		changed = changed || a.Interface != ""
		a.Interface = p.Interface
	}
	if p.MAC != "" {
		a.MAC = p.MAC
	}
	if p.FirstPacket > 0 && (a.FirstPacket == 0 || p.FirstPacket < a.FirstPacket) {
		a.FirstPacket = p.FirstPacket
	}
	a.LastPacket = max(a.LastPacket, p.LastPacket)
	// Only the instance's own records; addresses live with the host. The
	// fixed order (SRV before TXT) keeps a host change ahead of the rest.
	for _, t := range expiryTypes {
		ttl, ok := p.TTL.Get(t)
		if !ok {
			continue
		}
		switch t {
		case dns.TypeTXT:
			if ttl == 0 { // the TXT alone said goodbye
				changed = changed || a.HasTXT
				a.TXT, a.HasTXT = nil, false
				a.TTL.Delete(t)
				e.expiry.del(t)
				continue
			}
			if a.HasTXT != p.HasTXT || !slices.Equal(a.TXT, p.TXT) {
				a.TXT = slices.Clone(p.TXT)
				a.HasTXT = p.HasTXT
				changed = true
			}
		case dns.TypeSRV:
			if a.Port != p.Port || a.Host != p.Host {
				if hostKey(p.Host) != hostKeyOf(a.Host) {
					s.setHost(e, p.Host, now)
				}
				a.Port, a.Host = p.Port, p.Host
				changed = true
			}
		}
		if ttl == 0 {
			continue
		}
		if old, ok := a.TTL.Get(t); !ok || old != ttl {
			a.TTL.Set(t, ttl)
			changed = true
		}
		at := now.Add(time.Duration(ttl) * time.Second)
		e.expiry.set(t, at)
		s.noteExpiry(at)
	}
	for _, st := range p.Subtypes {
		if !slices.Contains(a.Subtypes, st) {
			a.Subtypes = append(a.Subtypes, st)
			slices.Sort(a.Subtypes)
			changed = true
		}
	}
	for _, addr := range p.Addrs {
		ttl := p.TTL.Of(dns.TypeA)
		if addr.Is6() {
			ttl = p.TTL.Of(dns.TypeAAAA)
		}
		s.addHostAddr(p.Host, addr, ttl, now, p.Source.Addr())
	}
	a.Expires = e.expiry.latest()
	if changed {
		s.markDirty(e)
	}
	return changed
}

// DefaultReflectWindow is how soon a second sender's unchanged copy of
// an instance's records counts as reflected.
const DefaultReflectWindow = time.Second

// crossSender compares a packet's records with what another sender last
// said: other data under the same name is a conflict (RFC 6762 section
// 9), the same data from a second address of the same family within a
// second a reflection. A sender is the same when the address matches, or
// the MAC where both are known (a host's IPv4 and IPv6 packets). It
// reports whether a new fact was recorded.
func crossSender(a, p *Advertisement, now time.Time, reflectWindow time.Duration) bool {
	if a.ReflectedBy == "" && a.Interface != "" && p.Interface != "" && a.Interface != p.Interface &&
		now.Sub(a.LastSeen) < reflectWindow && sameRecords(a, p) {
		// The same packet heard on two links: a bridged loop, or a
		// reflector between them.
		a.ReflectedBy = fmt.Sprintf("%s on %s repeats what %s sent on %s", p.Source, p.Interface, a.Source, a.Interface)
		return true
	}
	if !a.Source.IsValid() || !p.Source.IsValid() || a.Source.Addr() == p.Source.Addr() ||
		(a.MAC != "" && a.MAC == p.MAC) {
		return false
	}
	srvTTL, hasSRV := p.TTL.Get(dns.TypeSRV)
	txtTTL, hasTXT := p.TTL.Get(dns.TypeTXT)
	hasSRV, hasTXT = hasSRV && srvTTL > 0 && a.Host != "", hasTXT && txtTTL > 0 && a.HasTXT
	if !hasSRV && !hasTXT {
		return false
	}
	srvDiffers := hasSRV && (a.Port != p.Port || !strings.EqualFold(a.Host, p.Host))
	txtDiffers := hasTXT && !slices.Equal(a.TXT, p.TXT)
	switch {
	case (srvDiffers || txtDiffers) && a.Conflict == "" && now.Before(a.Expires):
		what := "TXT"
		if srvDiffers {
			what = fmt.Sprintf("SRV %s:%d (was %s:%d)", p.Host, p.Port, a.Host, a.Port)
		}
		a.Conflict = fmt.Sprintf("%s claims it with %s after %s", p.Source, what, a.Source)
		return true
	case !srvDiffers && !txtDiffers && a.ReflectedBy == "" && a.Source.Addr().Is4() == p.Source.Addr().Is4() &&
		now.Sub(a.LastSeen) < reflectWindow:
		a.ReflectedBy = fmt.Sprintf("%s repeats what %s sent", p.Source, a.Source)
		return true
	}
	return false
}

// sameRecords reports whether p carries an SRV or TXT and those it
// carries equal a's.
func sameRecords(a, p *Advertisement) bool {
	srvTTL, hasSRV := p.TTL.Get(dns.TypeSRV)
	txtTTL, hasTXT := p.TTL.Get(dns.TypeTXT)
	hasSRV, hasTXT = hasSRV && srvTTL > 0 && a.Host != "", hasTXT && txtTTL > 0 && a.HasTXT
	if !hasSRV && !hasTXT {
		return false
	}
	if hasSRV && (a.Port != p.Port || !strings.EqualFold(a.Host, p.Host)) {
		return false
	}
	return !hasTXT || slices.Equal(a.TXT, p.TXT)
}

// carriesRecords reports whether p holds a live PTR, SRV or TXT: only
// those start an entry.
func carriesRecords(p *Advertisement) bool {
	for _, t := range expiryTypes {
		if p.TTL.Of(t) > 0 {
			return true
		}
	}
	return false
}

func hostKeyOf(h string) string {
	if h == "" {
		return ""
	}
	return hostKey(h)
}

// isGoodbye: RFC 6762 section 10.1. Without its PTR or SRV an instance
// is gone for a browser, so either record's goodbye removes it.
func isGoodbye(p *Advertisement) bool {
	if ttl, ok := p.TTL.Get(dns.TypePTR); ok && ttl == 0 {
		return true
	}
	if ttl, ok := p.TTL.Get(dns.TypeSRV); ok && ttl == 0 {
		return true
	}
	return false
}

// expiries holds when an instance's PTR, SRV and TXT expire (zero: not
// held). Address records expire with their host.
type expiries [3]time.Time

// expiryTypes are the instance's own record types: the first three of
// ttlTypes, in the same order.
var expiryTypes = [len(expiries{})]uint16(ttlTypes[:len(expiries{})])

func expiryIndex(t uint16) int {
	if i := ttlIndex(t); i < len(expiries{}) {
		return i
	}
	return -1
}

func (x *expiries) set(t uint16, at time.Time) {
	if i := expiryIndex(t); i >= 0 {
		x[i] = at
	}
}

func (x *expiries) del(t uint16) {
	if i := expiryIndex(t); i >= 0 {
		x[i] = time.Time{}
	}
}

func (x *expiries) has(t uint16) bool {
	i := expiryIndex(t)
	return i >= 0 && !x[i].IsZero()
}

func (x *expiries) latest() time.Time {
	var t time.Time
	for _, v := range x {
		if v.After(t) {
			t = v
		}
	}
	return t
}

// AddHostAddr records an A or AAAA record for host (ttl 0: goodbye) and
// marks the advertisements whose SRV names host for revalidation.
func (s *Store) AddHostAddr(host string, addr netip.Addr, ttl uint32, now time.Time, from netip.Addr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addHostAddr(host, addr, ttl, now, from)
}

func (s *Store) addHostAddr(host string, addr netip.Addr, ttl uint32, now time.Time, from netip.Addr) {
	if host == "" || !addr.IsValid() {
		return
	}
	k := hostKey(host)
	h := s.hosts[k]
	if h == nil {
		if ttl == 0 {
			return
		}
		s.boundHosts()
		h = &hostEntry{key: k, addrs: make(map[netip.Addr]hostAddr, 2), ads: make(map[*storeEntry]struct{})}
		s.hosts[k] = h
	}
	h.seen = now
	addr = addr.WithZone("")
	old, had := h.addrs[addr]
	if ttl == 0 {
		if !had {
			return
		}
		delete(h.addrs, addr)
	} else {
		if !had && h.conflict == "" {
			h.conflict = hostConflict(h, host, addr, from, now)
		}
		exp := now.Add(time.Duration(ttl) * time.Second)
		h.addrs[addr] = hostAddr{ttl: ttl, seen: now, exp: exp, from: from}
		s.noteExpiry(exp)
		if had && old.ttl == ttl {
			return
		}
	}
	for e := range h.ads {
		s.markDirty(e)
	}
}

// CacheFlushHost applies the cache-flush bit of an A (v6 false) or AAAA
// record for host (RFC 6762 section 10.2): the host's other addresses of
// that family, unless refreshed within the last second (a set of records
// may span packets), are gone. Call it after adding the packet's
// addresses.
func (s *Store) CacheFlushHost(host string, v6 bool, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.hosts[hostKey(host)]
	if h == nil {
		return
	}
	changed := false
	for a, ha := range h.addrs {
		if a.Is6() == v6 && now.Sub(ha.seen) > time.Second {
			delete(h.addrs, a)
			changed = true
		}
	}
	if changed {
		for e := range h.ads {
			s.markDirty(e)
		}
	}
}

// boundHosts keeps the host table within twice the instance bound by
// dropping hosts no advertisement refers to (address records of plain
// workstations are not what we keep).
func (s *Store) boundHosts() {
	if len(s.hosts) < 2*s.cfg.MaxInstances {
		return
	}
	for k, h := range s.hosts {
		if len(h.ads) == 0 {
			delete(s.hosts, k)
		}
	}
}

func (s *Store) setHost(e *storeEntry, host string, now time.Time) {
	if e.host != nil {
		delete(e.host.ads, e)
	}
	e.host = nil
	if host == "" {
		return
	}
	k := hostKey(host)
	h := s.hosts[k]
	if h == nil {
		s.boundHosts()
		h = &hostEntry{key: k, addrs: make(map[netip.Addr]hostAddr, 2), ads: make(map[*storeEntry]struct{}), seen: now}
		s.hosts[k] = h
	}
	h.ads[e] = struct{}{}
	e.host = h
}

func (s *Store) markDirty(e *storeEntry) {
	if e.dirty {
		return
	}
	if len(s.dirty) >= 2*s.cfg.MaxInstances {
		// a flood between two flushes: drop the evicted ones so the
		// list stays within the bound too
		s.dirty = slices.DeleteFunc(s.dirty, func(d *storeEntry) bool { return d.removed })
	}
	e.dirty = true
	s.dirty = append(s.dirty, e)
}

func (s *Store) remove(e *storeEntry) {
	delete(s.entries, e.key)
	s.ver++
	if len(s.gone) >= s.cfg.MaxInstances {
		// forget the older half: a caller that far behind gets everything
		half := len(s.gone) / 2
		s.goneFloor = s.gone[half-1].ver
		s.gone = append(s.gone[:0], s.gone[half:]...)
	}
	s.gone = append(s.gone, goneEntry{e.key, s.ver})
	s.unlink(e)
	if h := e.host; h != nil {
		delete(h.ads, e)
		if len(h.ads) == 0 && len(h.addrs) == 0 {
			delete(s.hosts, h.key)
		}
		e.host = nil
	}
	e.removed = true
}

func (s *Store) evictOldest() {
	if s.head == nil {
		return
	}
	s.remove(s.head)
	s.evictions++
	if s.cfg.OnEvict != nil {
		s.cfg.OnEvict()
	}
}

func (s *Store) pushBack(e *storeEntry) {
	e.prev, e.next = s.tail, nil
	if s.tail != nil {
		s.tail.next = e
	} else {
		s.head = e
	}
	s.tail = e
}

func (s *Store) unlink(e *storeEntry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else if s.head == e {
		s.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else if s.tail == e {
		s.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

func (s *Store) moveToBack(e *storeEntry) {
	if s.tail == e {
		return
	}
	s.unlink(e)
	s.pushBack(e)
}

// Flush drops expired entries and addresses and revalidates the changed
// advertisements. It reports whether anything was removed or revalidated.
func (s *Store) Flush(now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flush(now)
}

// noteExpiry keeps soonest no later than at.
func (s *Store) noteExpiry(at time.Time) {
	if !s.soonest.IsZero() && at.Before(s.soonest) {
		s.soonest = at
	}
}

func (s *Store) flush(now time.Time) bool {
	changed := false
	if s.soonest.IsZero() || !now.Before(s.soonest) {
		changed = s.expire(now)
	}
	return s.revalidate() || changed
}

// expire drops what expired by now and works out soonest again. It
// reports whether an instance was removed.
func (s *Store) expire(now time.Time) bool {
	changed := false
	var soonest time.Time
	earlier := func(t time.Time) {
		if !t.IsZero() && (soonest.IsZero() || t.Before(soonest)) {
			soonest = t
		}
	}
	for _, e := range s.entries {
		for i, exp := range e.expiry {
			if !exp.IsZero() && !now.Before(exp) {
				t := expiryTypes[i]
				e.expiry[i] = time.Time{}
				e.ad.TTL.Delete(t)
				if t == dns.TypeTXT {
					e.ad.TXT, e.ad.HasTXT = nil, false
				}
				s.markDirty(e)
			}
		}
		// RFC 6762 section 10: a record past its TTL is gone; with none
		// of its records left the instance is gone.
		if e.expiry.latest().IsZero() {
			if s.cfg.OnExpire != nil {
				s.cfg.OnExpire(&e.ad)
			}
			s.remove(e)
			changed = true
			continue
		}
		e.ad.Expires = e.expiry.latest()
		for _, exp := range e.expiry {
			earlier(exp)
		}
	}
	for k, h := range s.hosts {
		for a, ha := range h.addrs {
			if !now.Before(ha.exp) {
				delete(h.addrs, a)
				for e := range h.ads {
					s.markDirty(e)
				}
				continue
			}
			earlier(ha.exp)
		}
		if len(h.addrs) == 0 && len(h.ads) == 0 {
			delete(s.hosts, k)
		}
	}
	s.soonest = soonest
	return changed
}

// revalidate validates the advertisements marked dirty. It reports
// whether there were any.
func (s *Store) revalidate() bool {
	changed := false
	for _, e := range s.dirty {
		e.dirty = false
		if e.removed {
			continue
		}
		changed = true
		s.ver++
		e.ver = s.ver
		s.fillAddrs(e)
		if s.cfg.Validate == nil {
			continue
		}
		fs := s.cfg.Validate(&e.ad)
		if s.cfg.OnFinding != nil {
			for _, f := range fs {
				if !containsFinding(e.ad.Findings, f) {
					s.cfg.OnFinding(f)
				}
			}
		}
		e.ad.Findings = fs
	}
	clear(s.dirty)
	s.dirty = s.dirty[:0]
	return changed
}

func containsFinding(fs []Finding, f Finding) bool {
	for i := range fs {
		if fs[i].Rule == f.Rule && fs[i].Evidence == f.Evidence && fs[i].Message == f.Message {
			return true
		}
	}
	return false
}

// hostConflict reports a second sender giving host an address of the same
// family as a current one from another sender, itself sending over the
// same family: two hosts that use one name. A dual-stack host (its A
// over IPv4, its AAAA over IPv6) is not one; a host that sends from two
// addresses of one family would be, and is rare.
func hostConflict(h *hostEntry, host string, addr, from netip.Addr, now time.Time) string {
	if !from.IsValid() {
		return ""
	}
	for a, ha := range h.addrs {
		if ha.from.IsValid() && ha.from != from && a.Is4() == addr.Is4() && ha.from.Is4() == from.Is4() && now.Before(ha.exp) {
			return fmt.Sprintf("%s gives %s the address %s after %s gave it %s", from, host, addr, ha.from, a)
		}
	}
	return ""
}

func (s *Store) fillAddrs(e *storeEntry) {
	e.ad.Addrs = e.ad.Addrs[:0]
	e.ad.HostConflict = ""
	if e.host != nil {
		e.ad.HostConflict = e.host.conflict
	}
	if e.host != nil {
		for a := range e.host.addrs {
			e.ad.Addrs = append(e.ad.Addrs, a)
		}
	}
	slices.SortFunc(e.ad.Addrs, netip.Addr.Compare)
	if e.host != nil {
		// RFC 6762 section 10: A and AAAA TTLs, as last seen for the host.
		e.ad.TTL.Delete(dns.TypeA)
		e.ad.TTL.Delete(dns.TypeAAAA)
		for a, ha := range e.host.addrs {
			t := dns.TypeA
			if a.Is6() {
				t = dns.TypeAAAA
			}
			if old, ok := e.ad.TTL.Get(t); !ok || ha.ttl < old {
				e.ad.TTL.Set(t, ha.ttl)
			}
		}
	}
}

// RemoveSubtypes drops subtypes from the instance p names (their PTR
// said goodbye while the instance stays). It reports whether any was
// held.
func (s *Store) RemoveSubtypes(p *Advertisement, subtypes []string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	var kbuf [128]byte
	e := s.entries[string(appendStoreKey(kbuf[:0], p))]
	if e == nil {
		return false
	}
	n := len(e.ad.Subtypes)
	e.ad.Subtypes = slices.DeleteFunc(e.ad.Subtypes, func(st string) bool { return slices.Contains(subtypes, st) })
	if len(e.ad.Subtypes) == n {
		return false
	}
	s.markDirty(e)
	return true
}

// MarkAllDirty has the next Flush revalidate every advertisement (after
// a registry reload).
func (s *Store) MarkAllDirty() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.entries {
		s.markDirty(e)
	}
}

// Unresolved lists (up to 256) instances known from a PTR whose SRV or TXT
// has not been seen, most recently seen first, for the browser to resolve.
func (s *Store) Unresolved() []InstanceRef {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []InstanceRef
	for e := s.tail; e != nil && len(out) < 256; e = e.prev {
		if e.expiry.has(dns.TypeSRV) && e.expiry.has(dns.TypeTXT) {
			continue
		}
		out = append(out, InstanceRef{Instance: e.ad.Instance, Service: e.ad.ServiceType(), Domain: e.ad.Domain})
	}
	return out
}

// KnownAnswers returns, for the service type name ("_ipp._tcp.local.",
// case-insensitive), a PTR record per instance whose PTR has more than
// half its TTL left, with the TTL remaining: the known answers of a query
// (RFC 6762 section 7.1). Names are in presentation format.
func (s *Store) KnownAnswers(name string, now time.Time) []dns.RR {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []dns.RR
	for e := s.tail; e != nil; e = e.prev {
		a := &e.ad
		ttl, ok := a.TTL.Get(dns.TypePTR)
		if !ok || ttl == 0 || !e.expiry.has(dns.TypePTR) {
			continue
		}
		left := e.expiry[0].Sub(now)
		if left <= time.Duration(ttl)*time.Second/2 {
			continue
		}
		typ := escapeLabel(a.Service) + "." + escapeLabel(a.Proto) + "." + a.Domain + "."
		if !strings.EqualFold(typ, name) {
			continue
		}
		out = append(out, &dns.PTR{
			Hdr: dns.RR_Header{Name: typ, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: uint32(left / time.Second)},
			Ptr: escapeLabel(a.Instance) + "." + typ,
		})
	}
	return out
}

// Len is the number of advertisements held.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries)
}

// Evictions is how many advertisements the bound pushed out.
func (s *Store) Evictions() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.evictions
}

// Advertisements flushes and returns copies of every advertisement,
// sorted by type, domain and instance.
func (s *Store) Advertisements(now time.Time) []Advertisement {
	s.mu.Lock()
	s.flush(now)
	held := make([]Advertisement, 0, len(s.entries))
	for _, e := range s.entries {
		held = append(held, cloneAd(&e.ad))
	}
	s.mu.Unlock()
	// Sorting pointers, not the (large) advertisements themselves.
	order := make([]*Advertisement, len(held))
	for i := range held {
		order[i] = &held[i]
	}
	slices.SortFunc(order, compareAds)
	out := make([]Advertisement, len(order))
	for i, a := range order {
		out[i] = *a
	}
	return out
}

// Changes is what changed in a store since an earlier version (see
// Store.ChangesSince).
type Changes struct {
	// Changed are copies of the advertisements added or changed since,
	// in no particular order.
	Changed []Advertisement
	// Gone are the keys (Advertisement.Key) of the advertisements
	// removed since. A key may be both gone and changed (removed, then
	// seen again): apply Gone first.
	Gone []string
	// Complete says Changed holds every advertisement and anything else
	// the caller holds is gone: the first call (since 0), or one so far
	// behind that the store no longer knows all it removed since.
	Complete bool
	// Version is the since of the next call.
	Version uint64
}

// ChangesSince flushes and returns what changed after version since (0:
// everything). A change is one Advertisements would show, other than the
// times seen and the expiry: a new or removed instance, changed records,
// addresses or findings. The cost follows the number of advertisements
// held (one comparison each) and copies only the changed ones.
func (s *Store) ChangesSince(since uint64, now time.Time) Changes {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flush(now)
	c := Changes{Version: s.ver, Complete: since == 0 || since < s.goneFloor || since > s.ver}
	for _, e := range s.entries {
		if c.Complete || e.ver > since {
			c.Changed = append(c.Changed, cloneAd(&e.ad))
		}
	}
	if c.Complete {
		return c
	}
	i, _ := slices.BinarySearchFunc(s.gone, since+1, func(g goneEntry, v uint64) int { return cmp.Compare(g.ver, v) })
	for _, g := range s.gone[i:] {
		c.Gone = append(c.Gone, g.key)
	}
	return c
}

// Key is the advertisement's identity in a store: its instance, service,
// protocol and domain, with ASCII case folded.
func (a *Advertisement) Key() string {
	return string(appendStoreKey(nil, a))
}

// CompareAdvertisements orders advertisements as Advertisements returns
// them: by service, protocol, domain and instance.
func CompareAdvertisements(a, b *Advertisement) int { return compareAds(a, b) }

func compareAds(a, b *Advertisement) int {
	return cmp.Or(
		strings.Compare(a.Service, b.Service),
		strings.Compare(a.Proto, b.Proto),
		strings.Compare(a.Domain, b.Domain),
		strings.Compare(a.Instance, b.Instance),
	)
}

func cloneAd(a *Advertisement) Advertisement {
	c := *a
	c.Subtypes = slices.Clone(a.Subtypes)
	c.TXT = slices.Clone(a.TXT)
	c.Addrs = slices.Clone(a.Addrs)
	c.Findings = slices.Clone(a.Findings)
	return c
}
