package proxy

import (
	"maps"
	"slices"
	"strings"

	"github.com/miekg/dns"

	"github.com/svcreg/svcreg/mdns"
)

// Builder keeps a link's zone in step with the monitor's advertisements
// one change at a time: Apply takes what changed in the store
// (mdns.Changes) and returns the owners whose records changed, so the
// cost of a republish follows the change, not the link. It holds, per
// advertisement, the records it puts in the zone and, per owner name,
// which advertisements have records there. What it serves equals what
// Build makes from all the advertisements at once. The zero value is
// ready; a Builder is for one link and one goroutine.
type Builder struct {
	link   Link
	maxTTL uint32

	ads    map[string]*adState // by mdns.Advertisement.Key, those of the link
	listed map[string]*listing // what each published advertisement has in the zone
	owners map[string]*ownerRecords
	types  map[string]*typeState // by lower-cased type ("_ipp._tcp")

	records int
	// excluded and dropped hold each advertisement's reasons; their
	// sorted lists are made again only after a change.
	excluded, dropped  map[string][]Exclusion
	exclList, dropList []Exclusion
	listsDirty         bool

	dirty      map[string]struct{} // owners to make again
	capDirty   map[string]struct{} // types whose counted members changed
	touched    map[string]struct{} // advertisements to list again
	servicesOf string              // the _services._dns-sd._udp owner of the zone
}

// adState is one advertisement of the link and what was decided for it.
type adState struct {
	ad      mdns.Advertisement
	rec     *adRecords
	why     string // the policy's reason to leave it out ("" if none)
	counted bool   // counts towards MaxInstancesPerType
	capped  bool   // beyond MaxInstancesPerType of its type
}

// listing is what one published advertisement contributes to the zone.
type listing struct {
	ltyp    string
	contrib []contribution
}

// contribution is an advertisement's records at one owner.
type contribution struct {
	owner string // lower-cased
	rrs   []dns.RR
}

// ownerRecords are the records of one owner name and the advertisements
// that have records there.
type ownerRecords struct {
	members map[string]struct{}
	rrs     []dns.RR // as last handed out
}

// typeState counts a type's advertisements for MaxInstancesPerType and
// for the _services._dns-sd._udp list.
type typeState struct {
	counted   map[string]struct{}
	published int
	capping   bool // some member was left out by the bound at the last count
}

// Apply brings the builder up to date with link and the changes ch (the
// monitor's, from ChangesSince; advertisements of other interfaces are
// ignored) and returns the owners whose records changed, each with all
// its records from now on (nil: the owner is gone). registered is as for
// Build. A change of the link itself (zone, policy, TTL cap, prefixes)
// or a complete ch works out everything again and returns the
// difference all the same.
func (b *Builder) Apply(link Link, ch mdns.Changes, registered func(name, proto string) bool) map[string][]dns.RR {
	maxTTL := link.MaxTTL
	if maxTTL == 0 {
		maxTTL = DefaultMaxTTL
	}
	if b.owners == nil || ch.Complete || !sameLink(b.link, link) || b.maxTTL != maxTTL {
		return b.reset(link, maxTTL, ch, registered)
	}
	for _, k := range ch.Gone {
		b.set(k, nil, registered)
	}
	for i := range ch.Changed {
		b.set(ch.Changed[i].Key(), &ch.Changed[i], registered)
	}
	return b.settle()
}

// reset works out the link from scratch (the advertisements of ch when
// it is complete, else those held with ch applied) and returns the
// difference from what was served before.
func (b *Builder) reset(link Link, maxTTL uint32, ch mdns.Changes, registered func(name, proto string) bool) map[string][]dns.RR {
	held := map[string]*mdns.Advertisement{}
	if !ch.Complete {
		for k, st := range b.ads {
			held[k] = &st.ad
		}
		for _, k := range ch.Gone {
			delete(held, k)
		}
	}
	for i := range ch.Changed {
		held[ch.Changed[i].Key()] = &ch.Changed[i]
	}
	before := b.owners
	*b = Builder{link: link, maxTTL: maxTTL,
		ads: map[string]*adState{}, listed: map[string]*listing{}, owners: map[string]*ownerRecords{},
		types: map[string]*typeState{}, excluded: map[string][]Exclusion{}, dropped: map[string][]Exclusion{},
		dirty: map[string]struct{}{}, capDirty: map[string]struct{}{}, touched: map[string]struct{}{},
		servicesOf: "_services._dns-sd._udp." + link.Zone, listsDirty: true}
	for k, a := range held {
		b.set(k, a, registered)
	}
	b.settle()
	changes := map[string][]dns.RR{}
	for o, or := range b.owners {
		if old := before[o]; old == nil || !sameRRs(old.rrs, or.rrs) {
			changes[o] = or.rrs
		}
	}
	for o := range before {
		if b.owners[o] == nil {
			changes[o] = nil
		}
	}
	return changes
}

func sameLink(a, b Link) bool {
	return a.Interface == b.Interface && a.Zone == b.Zone && a.Policy == b.Policy && a.MaxTTL == b.MaxTTL &&
		slices.Equal(a.Prefixes, b.Prefixes)
}

// hdr is a record header with the TTL capped.
func (b *Builder) hdr(name string, t uint16, ttl uint32) dns.RR_Header {
	if ttl == 0 || ttl > b.maxTTL {
		ttl = b.maxTTL
	}
	return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: ttl}
}

// set records the advertisement of key as a (nil: gone), building its
// records again only when what it publishes changed.
func (b *Builder) set(key string, a *mdns.Advertisement, registered func(name, proto string) bool) {
	old := b.ads[key]
	if a != nil && (a.Interface != b.link.Interface || !strings.EqualFold(a.Domain, "local")) {
		a = nil // not of this link (or moved to another)
	}
	if old == nil && a == nil {
		return
	}
	b.touched[key] = struct{}{}
	if old != nil && old.counted {
		delete(b.types[old.rec.ltyp].counted, key)
		b.capDirty[old.rec.ltyp] = struct{}{}
	}
	if a == nil {
		delete(b.ads, key)
		return
	}
	st := &adState{ad: *a}
	if old != nil && old.rec.sameSource(a, b.link.Zone, b.maxTTL) {
		st.rec = old.rec
	} else {
		st.rec = buildAd(&st.ad, b.link.Zone, b.maxTTL, b.hdr)
	}
	st.why = excluded(b.link.Policy, &st.ad, registered)
	st.counted = st.why == "" && st.rec.problem == ""
	if st.counted {
		ts := b.types[st.rec.ltyp]
		if ts == nil {
			ts = &typeState{counted: map[string]struct{}{}}
			b.types[st.rec.ltyp] = ts
		}
		ts.counted[key] = struct{}{}
		b.capDirty[st.rec.ltyp] = struct{}{}
		st.capped = old != nil && old.capped && old.rec.ltyp == st.rec.ltyp
	}
	b.ads[key] = st
}

// settle applies the per-type bound to the types whose members changed,
// lists the touched advertisements again and makes the dirty owners,
// returning those that changed.
func (b *Builder) settle() map[string][]dns.RR {
	for t := range b.capDirty {
		b.recount(t)
	}
	for k := range b.touched {
		b.relist(k)
	}
	b.touched = emptied(b.touched)
	for t := range b.capDirty {
		if ts := b.types[t]; ts != nil && len(ts.counted) == 0 && ts.published == 0 {
			delete(b.types, t)
		}
	}
	b.capDirty = emptied(b.capDirty)
	changes := map[string][]dns.RR{}
	for o := range b.dirty {
		or := b.owners[o]
		var rrs []dns.RR
		if o == b.servicesOf {
			rrs = b.servicesRecords()
		} else if or != nil {
			rrs = b.ownerRRs(o, or)
		}
		if or == nil {
			if rrs == nil {
				continue
			}
			or = &ownerRecords{members: map[string]struct{}{}}
			b.owners[o] = or
		}
		if !sameRRs(or.rrs, rrs) {
			changes[o] = rrs
		}
		b.records += len(rrs) - len(or.rrs)
		or.rrs = rrs
		if len(rrs) == 0 && len(or.members) == 0 {
			delete(b.owners, o)
		}
	}
	b.dirty = emptied(b.dirty)
	return changes
}

// emptied is m cleared, or a new map in place of a large one: a map keeps
// the room it grew to, and walking or clearing it costs that room, not
// what it holds (after a complete change, the whole link).
func emptied(m map[string]struct{}) map[string]struct{} {
	if len(m) > 64 {
		return map[string]struct{}{}
	}
	clear(m)
	return m
}

// recount decides which counted members of type t are beyond
// MaxInstancesPerType: those after the first so many in the monitor's
// order (as Build takes them).
func (b *Builder) recount(t string) {
	ts := b.types[t]
	if ts == nil {
		return
	}
	if len(ts.counted) <= MaxInstancesPerType && !ts.capping {
		return // no one capped before or now
	}
	keys := slices.SortedFunc(maps.Keys(ts.counted), b.compareKeys)
	for i, k := range keys {
		st := b.ads[k]
		if capped := i >= MaxInstancesPerType; st.capped != capped {
			st.capped = capped
			b.touched[k] = struct{}{}
		}
	}
	ts.capping = len(keys) > MaxInstancesPerType
}

func (b *Builder) compareKeys(x, y string) int {
	return mdns.CompareAdvertisements(&b.ads[x].ad, &b.ads[y].ad)
}

// relist puts the records of the advertisement of key in the zone (or
// takes them out) and notes its exclusions, marking the owners whose
// records differ.
func (b *Builder) relist(key string) {
	st := b.ads[key]
	var excl, drop []Exclusion
	var now *listing
	if st != nil {
		reason := ""
		switch r := st.rec; {
		case st.why != "":
			reason = st.why
		case r.problem != "":
			reason = r.problem
		case st.capped:
			reason = reasonBound
		case r.instance == "":
			reason = reasonNameTooLong(b.link.Zone)
		}
		if reason != "" {
			excl = []Exclusion{{Instance: st.ad.Instance, ServiceType: st.rec.typ, Reason: reason}}
		} else {
			now, drop = b.contributions(st)
		}
	}
	if !slices.Equal(b.excluded[key], excl) || !slices.Equal(b.dropped[key], drop) {
		b.listsDirty = true
		setOrDelete(b.excluded, key, excl)
		setOrDelete(b.dropped, key, drop)
	}
	was := b.listed[key]
	if was != nil {
		b.types[was.ltyp].published--
		b.ownersOf(was, key, false)
	}
	if now != nil {
		ts := b.types[now.ltyp] // counted, so present
		if ts.published == 0 {
			b.dirty[b.servicesOf] = struct{}{}
		}
		ts.published++
		b.ownersOf(now, key, true)
		b.listed[key] = now
	} else {
		delete(b.listed, key)
	}
	if was != nil && b.types[was.ltyp].published == 0 {
		b.dirty[b.servicesOf] = struct{}{}
	}
	// Owners whose records from this advertisement are the same as
	// before need not be made again.
	if was != nil && now != nil {
		for _, c := range now.contrib {
			if w := was.find(c.owner); w != nil && sameRRs(w.rrs, c.rrs) {
				continue
			}
			b.dirty[c.owner] = struct{}{}
		}
		for _, c := range was.contrib {
			if now.find(c.owner) == nil {
				b.dirty[c.owner] = struct{}{}
			}
		}
		return
	}
	for _, l := range [...]*listing{was, now} {
		if l != nil {
			for _, c := range l.contrib {
				b.dirty[c.owner] = struct{}{}
			}
		}
	}
}

func setOrDelete(m map[string][]Exclusion, k string, v []Exclusion) {
	if v == nil {
		delete(m, k)
	} else {
		m[k] = v
	}
}

func (l *listing) find(owner string) *contribution {
	for i := range l.contrib {
		if l.contrib[i].owner == owner {
			return &l.contrib[i]
		}
	}
	return nil
}

// ownersOf adds key to (or removes it from) the members of l's owners.
func (b *Builder) ownersOf(l *listing, key string, add bool) {
	for _, c := range l.contrib {
		or := b.owners[c.owner]
		if !add {
			if or != nil {
				delete(or.members, key)
			}
			continue
		}
		if or == nil {
			or = &ownerRecords{members: map[string]struct{}{}}
			b.owners[c.owner] = or
		}
		or.members[key] = struct{}{}
	}
}

// contributions are the records a published advertisement has at each
// owner (its addresses those in the link's prefixes) and the addresses
// left out.
func (b *Builder) contributions(st *adState) (*listing, []Exclusion) {
	r, a := st.rec, &st.ad
	l := &listing{ltyp: r.ltyp}
	add := func(rr dns.RR) {
		o := strings.ToLower(rr.Header().Name)
		if c := l.find(o); c != nil {
			c.rrs = append(c.rrs, rr)
			return
		}
		l.contrib = append(l.contrib, contribution{owner: o, rrs: []dns.RR{rr}})
	}
	for _, rr := range r.rrs {
		add(rr)
	}
	var drop []Exclusion
	for _, addr := range a.Addrs {
		if r.host == "" || !routable(addr) {
			continue
		}
		if !onLink(addr, b.link.Prefixes) {
			drop = append(drop, offLink(a, r, addr, b.link))
			continue
		}
		add(addrRR(r.host, addr, a, b.hdr))
	}
	if r.txt != nil {
		add(r.txt)
	}
	return l, drop
}

// ownerRRs makes an owner's records from its members in the monitor's
// order, each address once (as the first member gives it).
func (b *Builder) ownerRRs(o string, or *ownerRecords) []dns.RR {
	keys := slices.SortedFunc(maps.Keys(or.members), b.compareKeys)
	var rrs []dns.RR
	for _, k := range keys {
		for _, rr := range b.listed[k].find(o).rrs {
			if isAddr(rr) && slices.ContainsFunc(rrs, func(x dns.RR) bool { return isAddr(x) && sameAddr(x, rr) }) {
				continue
			}
			rrs = append(rrs, rr)
		}
	}
	return rrs
}

// servicesRecords list the types published on the link.
func (b *Builder) servicesRecords() []dns.RR {
	var rrs []dns.RR
	for _, t := range slices.Sorted(maps.Keys(b.types)) {
		if b.types[t].published > 0 {
			rrs = append(rrs, &dns.PTR{Hdr: b.hdr(b.servicesOf, dns.TypePTR, b.maxTTL), Ptr: t + "." + b.link.Zone})
		}
	}
	return rrs
}

// Records are all the link's records as served (for a zone set whole).
func (b *Builder) Records() []dns.RR {
	out := make([]dns.RR, 0, b.records)
	for _, or := range b.owners {
		out = append(out, or.rrs...)
	}
	return out
}

// Summary describes the link as served: the instances published, the
// records, and what was left out (in the monitor's order).
func (b *Builder) Summary() (published, records int, excluded, dropped []Exclusion) {
	if b.listsDirty {
		b.exclList, b.dropList = b.sortedReasons(b.excluded), b.sortedReasons(b.dropped)
		b.listsDirty = false
	}
	return len(b.listed), b.records, b.exclList, b.dropList
}

func (b *Builder) sortedReasons(m map[string][]Exclusion) []Exclusion {
	var out []Exclusion
	for _, k := range slices.SortedFunc(maps.Keys(m), b.compareKeys) {
		out = append(out, m[k]...)
	}
	return out
}

func isAddr(rr dns.RR) bool {
	t := rr.Header().Rrtype
	return t == dns.TypeA || t == dns.TypeAAAA
}

func sameAddr(x, y dns.RR) bool {
	switch x := x.(type) {
	case *dns.A:
		y, ok := y.(*dns.A)
		return ok && x.A.Equal(y.A)
	case *dns.AAAA:
		y, ok := y.(*dns.AAAA)
		return ok && x.AAAA.Equal(y.AAAA)
	}
	return false
}

// sameRRs reports whether two record lists are equal, record by record
// (the same objects, or the same name, type, TTL and data).
func sameRRs(x, y []dns.RR) bool {
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if x[i] != y[i] && (x[i].Header().Ttl != y[i].Header().Ttl || !dns.IsDuplicate(x[i], y[i])) {
			return false
		}
	}
	return true
}
