package resolver

// A registry reload applied as a difference: the records that changed
// between the snapshot served and the new one name the owners that
// depend on them (their service types and subtypes, their ports, the
// enumeration, the apex); only those are built again, and the table in
// service is copied with their answers replaced.

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
	"github.com/svcreg/svcreg/registry"
)

// maxDeltaRecords bounds the registry records a reload may add and
// remove and still be applied as a difference; a larger change is built
// whole, which then costs about the same.
const maxDeltaRecords = 2048

// regZone is what applying a reload as a difference needs to know about
// the registry zone served, besides Server.ownerWire and Server.wire:
// what it was built from, and the parts of the build that are kept from
// one version to the next.
type regZone struct {
	snap     *registry.Snapshot
	sorted   []ownerKey      // the zone's owners in canonical order
	types    map[string]bool // zoneData.types
	sd       map[typeKey]bool
	synth    portSynth
	axfr     [][]byte // packed for AXFR at axfrSerial, when first asked for
	axfrSer  uint32
	axfrDone bool
}

// newRegZone keeps what a later difference needs of z, built whole
// from snap.
func newRegZone(snap *registry.Snapshot, z *zoneData, sorted []ownerKey) *regZone {
	return &regZone{snap: snap, sorted: sorted, types: z.types, sd: z.sd, synth: z.synth}
}

// zoneEqual reports whether two registry records give the zone the same
// data: the fields the zone is built from (where a record came from, its
// file and line, does not count).
func zoneEqual(a, b *registry.Record) bool {
	return a.Name == b.Name && a.Protocol == b.Protocol && a.PortLow == b.PortLow && a.PortHigh == b.PortHigh &&
		a.Status == b.Status && a.Description == b.Description && a.Registered == b.Registered &&
		a.Modified == b.Modified && a.AliasOf == b.AliasOf && a.TXTKeys.Kind == b.TXTKeys.Kind &&
		slices.EqualFunc(a.TXTKeys.Keys, b.TXTKeys.Keys, func(x, y registry.TXTKey) bool { return x.Name == y.Name }) &&
		slices.Equal(a.References, b.References) && slices.Equal(a.Subtypes, b.Subtypes)
}

// recordKey groups the records that may be equal (zoneEqual).
type recordKey struct {
	name      string
	proto     registry.Protocol
	low, high int32
}

// diffRecords returns the records of old that cur no longer has and
// those cur has that old did not, when the records both have are in the
// same order in both and there are at most limit of the others; ok is
// false otherwise (the zone is then built whole).
func diffRecords(old, cur []registry.Record, limit int) (gone, added []*registry.Record, ok bool) {
	p := 0
	for p < len(old) && p < len(cur) && zoneEqual(&old[p], &cur[p]) {
		p++
	}
	q := 0
	for q < len(old)-p && q < len(cur)-p && zoneEqual(&old[len(old)-1-q], &cur[len(cur)-1-q]) {
		q++
	}
	om, cm := old[p:len(old)-q], cur[p:len(cur)-q]
	if abs(len(om)-len(cm)) > limit {
		return nil, nil, false
	}
	// The old records by key, in order; each is matched at most once,
	// to the first record of cur equal to it.
	byKey := make(map[recordKey][]int32, len(om))
	for i := range om {
		r := &om[i]
		k := recordKey{r.Name, r.Protocol, r.PortLow, r.PortHigh}
		byKey[k] = append(byKey[k], int32(i))
	}
	used := make([]bool, len(om))
	last := -1
	for j := range cm {
		r := &cm[j]
		found := -1
		for _, i := range byKey[recordKey{r.Name, r.Protocol, r.PortLow, r.PortHigh}] {
			if !used[i] && zoneEqual(&om[i], r) {
				found = int(i)
				break
			}
		}
		if found < 0 {
			if added = append(added, r); len(added) > limit {
				return nil, nil, false
			}
			continue
		}
		if found < last {
			return nil, nil, false // moved: the order of what both have changed
		}
		used[found], last = true, found
	}
	for i := range om {
		if !used[i] {
			gone = append(gone, &om[i])
		}
	}
	if len(gone)+len(added) > limit {
		return nil, nil, false
	}
	return gone, added, true
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// portSet is a set of ports per protocol of protocols.
type portSet [len(protocols)][]uint64

func (ps *portSet) add(pidx, lo, hi int) {
	if ps[pidx] == nil {
		ps[pidx] = make([]uint64, 65536/64)
	}
	for port := lo; port <= hi; port++ {
		ps[pidx][port/64] |= 1 << (port % 64)
	}
}

// spans calls f for each run of ports in the set of protocols[pidx].
func (ps *portSet) spans(pidx int, f func(lo, hi int) error) error {
	bits := ps[pidx]
	if bits == nil {
		return nil
	}
	in := func(port int) bool { return bits[port/64]&(1<<(port%64)) != 0 }
	for port := 0; port <= 65535; {
		if bits[port/64] == 0 {
			port = (port/64 + 1) * 64
			continue
		}
		if !in(port) {
			port++
			continue
		}
		lo := port
		for port <= 65535 && in(port) {
			port++
		}
		if err := f(lo, port-1); err != nil {
			return err
		}
	}
	return nil
}

// dependents marks what the records rs give the zone: their service
// types (and those they are served under) and their ports.
func dependents(rs []*registry.Record, types map[typeKey]bool, ports *portSet) {
	for _, r := range rs {
		for _, n := range []string{strings.ToLower(r.Name), strings.ToLower(r.AliasOf)} {
			if !validLabel(n) {
				continue
			}
			for _, p := range recordProtos(r) {
				types[typeKey{n, p}] = true
			}
		}
		if !r.HasPort() {
			continue
		}
		for pidx, p := range protocols {
			if r.Protocol == registry.ProtoNone || r.Protocol == p {
				ports.add(pidx, int(r.PortLow), int(r.PortHigh))
			}
		}
	}
}

// regDelta is a reload worked out as a difference, before it is served.
type regDelta struct {
	b *zoneBuilder // b.z holds the rebuilt owners, the new SOA and synth
	// changed are the owners whose records changed, in canonical order;
	// wire their records as the zone lists them (nil: gone).
	changed []ownerKey
	wire    map[string][]string
	sums    map[string][32]byte // the changed owners' digests
	sum     [32]byte            // the new zone's owner digests combined
	sorted  []ownerKey          // the new zone's owners in canonical order
}

// delta works out snap against the zone served as a difference; nil when
// it cannot be (no zone served yet, too much changed, the order of the
// records changed, or the zone's addresses changed), and the zone is
// then built whole.
func (s *Server) delta(ctx context.Context, snap *registry.Snapshot) (*regDelta, error) {
	rz, old := s.reg, s.tab.Load()
	if rz == nil || old == nil || old.names == nil || s.ownerWire == nil {
		return nil, nil
	}
	gone, added, ok := diffRecords(rz.snap.Records(), snap.Records(), maxDeltaRecords)
	if !ok {
		return nil, nil
	}
	cfg := s.cfg
	b := &zoneBuilder{
		z: &zoneData{apex: cfg.Zone, owners: map[string]*owner{}, types: make(map[string]bool, len(rz.types)),
			sd: maps.Clone(rz.sd)},
		snap: snap, cfg: &cfg,
	}
	cand := map[string]bool{}
	b.apexRecords()
	order, attached := b.serviceTypes()
	types, ports := map[typeKey]bool{}, &portSet{}
	dependents(gone, types, ports)
	dependents(added, types, ports)
	for k := range types {
		own := k.owner(cfg.Zone)
		cand[own] = true
		for _, sub := range rz.snap.Subtypes(k.name, k.proto) {
			cand["_"+strings.ToLower(strings.TrimPrefix(sub, "_"))+"._sub."+own] = true
		}
		delete(b.z.sd, k)
		if b.z.types[own] {
			b.typeOwner(k, attached[k])
			b.subtypeOwners(k)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.servicesPTRs(b.candidates(order, b.z.sd))
	cand["_services._dns-sd._udp."+cfg.Zone] = true

	// The ports, on a copy of the synthesis groups of the protocols
	// touched (the table in service keeps reading the old ones).
	b.z.synth = portSynth{group: rz.synth.group, groups: rz.synth.groups, index: rz.synth.index}
	cache := map[plainKey][]string{}
	copied := false
	for pidx, p := range protocols {
		if ports[pidx] == nil {
			continue
		}
		if !copied {
			b.z.synth.index, b.z.synth.groups = maps.Clone(rz.synth.index), slices.Clip(rz.synth.groups)
			copied = true
		}
		b.z.synth.group[pidx] = slices.Clone(rz.synth.group[pidx])
		err := ports.spans(pidx, func(lo, hi int) error {
			for port := lo; port <= hi; port++ {
				cand[portOwner(port, p, cfg.Zone)] = true
			}
			return b.portSpan(pidx, lo, hi, cache)
		})
		if err != nil {
			return nil, err
		}
	}
	for o := range b.z.owners {
		cand[o] = true
	}
	for o := range s.addrOwners {
		if b.z.owners[o] == nil {
			return nil, nil // addresses the apex records do not give: built whole
		}
	}

	// The owners whose records differ from those served.
	d := &regDelta{b: b, wire: map[string][]string{}, sums: map[string][32]byte{}, sum: s.ownerSum}
	var buf []byte
	for o := range cand {
		var rs []dns.RR
		if own := b.z.owners[o]; own != nil {
			rs = ownerRecords(own.rrs)
		}
		w, err := zoneWire(rs)
		if err != nil {
			return nil, err
		}
		prev := s.ownerWire[o]
		if slices.Equal(prev, w) {
			continue
		}
		if !slices.Equal(addressWire(prev), addressWire(w)) {
			return nil, nil // additional sections elsewhere change: built whole
		}
		if old, ok := s.ownerSums[o]; ok {
			xorInto(&d.sum, &old)
		}
		if len(w) == 0 {
			w = nil
		} else {
			sum := ownerDigest(w, &buf)
			d.sums[o] = sum
			xorInto(&d.sum, &sum)
		}
		d.wire[o] = w
		d.changed = append(d.changed, ownerKey{o, canonicalKey(o)})
	}
	slices.SortFunc(d.changed, func(a, b ownerKey) int { return strings.Compare(a.key, b.key) })

	// The new zone's owners, merging the changes into those served.
	d.sorted = make([]ownerKey, 0, len(rz.sorted)+len(d.changed))
	i := 0
	for _, c := range d.changed {
		for i < len(rz.sorted) && rz.sorted[i].key < c.key {
			d.sorted = append(d.sorted, rz.sorted[i])
			i++
		}
		if i < len(rz.sorted) && rz.sorted[i].key == c.key {
			i++
		}
		if d.wire[c.name] != nil {
			d.sorted = append(d.sorted, c)
		}
	}
	d.sorted = append(d.sorted, rz.sorted[i:]...)
	return d, ctx.Err()
}

// hasBelow reports whether a name lies below name among sorted (owners
// in canonical order): in that order a name's descendants follow it.
func hasBelow(sorted []ownerKey, name string) bool {
	key := canonicalKey(name)
	i, _ := slices.BinarySearchFunc(sorted, key, func(o ownerKey, k string) int { return strings.Compare(o.key, k) })
	if i < len(sorted) && sorted[i].key == key {
		i++
	}
	return i < len(sorted) && strings.HasPrefix(sorted[i].key, key)
}

// serveDelta serves d with serial: the table in service copied with the
// changed owners' answers (and the apex's, whose SOA changed) packed
// again, the journal entry made from the changed owners; under setMu.
func (s *Server) serveDelta(ctx context.Context, snap *registry.Snapshot, d *regDelta, h [32]byte, serial uint32, start time.Time) error {
	old, cfg, z := s.tab.Load(), s.cfg, d.b.z
	z.soa.Serial = serial
	soaWire, err := zoneWire([]dns.RR{z.soa})
	if err != nil {
		return err
	}
	neg := dns.Copy(z.soa).(*dns.SOA)
	neg.Hdr.Ttl = min(cfg.NegTTL, cfg.TTL)
	negSOA, err := zoneWire([]dns.RR{neg})
	if err != nil {
		return err
	}
	addrs := map[string][]dns.RR{}
	for o := range s.addrOwners {
		addrs[o] = addressRecords(z.owners[o].rrs) // rebuilt with the apex: see delta
	}
	names := maps.Clone(old.names)
	var p packer
	repack := d.changed
	if _, ok := d.wire[cfg.Zone]; !ok {
		repack = append(slices.Clip(repack), ownerKey{cfg.Zone, ""})
	}
	var removed, added []string
	for _, o := range repack {
		if err := ctx.Err(); err != nil {
			return err
		}
		key, err := wireName(o.name)
		if err != nil {
			return err
		}
		if w, ok := d.wire[o.name]; ok {
			rem, add := diffZones(s.ownerWire[o.name], w)
			for i := range rem {
				rem[i] = strings.Clone(rem[i]) // not a slice of the old zone's wire
			}
			removed, added = append(removed, rem...), append(added, add...)
		}
		own := z.owners[o.name]
		if own == nil {
			if hasBelow(d.sorted, o.name) {
				names[key] = &node{}
			} else {
				delete(names, key)
			}
		} else {
			nd, err := p.packNode(o.name, own.rrs, addrs, o.name == cfg.Zone)
			if err != nil {
				return err
			}
			names[key] = nd
		}
		// The names between the owner and the apex: empty non-terminals
		// while a name lies below them and they hold nothing.
		for _, off := range dns.Split(o.name)[1:] {
			a := o.name[off:]
			if len(a) <= len(cfg.Zone) {
				break
			}
			akey, err := wireName(a)
			if err != nil {
				return err
			}
			if nd := names[akey]; nd != nil && len(nd.answers) > 0 {
				break // has data (and the names above it are kept for it)
			}
			if !hasBelow(d.sorted, a) {
				delete(names, akey)
			} else if names[akey] == nil {
				names[akey] = &node{}
			}
		}
	}
	t := *old
	t.serial, t.soa, t.soaWire, t.negSOA = serial, z.soa, soaWire[0], []byte(negSOA[0])
	t.names = names
	t.portGroup, t.groups = z.synth.group, z.synth.groups
	t.records = old.records + len(added) - len(removed)
	if cfg.JournalMaxBytes >= 0 {
		t.journal = old.journal.with(&journalEntry{from: old.serial, to: serial, at: start.Unix(),
			fromSOA: old.soaWire, toSOA: t.soaWire, removed: removed, added: added},
			cfg.JournalMaxBytes, time.Duration(cfg.SOAExpire)*time.Second, start)
	}

	// From here on the server's state is the new zone's.
	for o, w := range d.wire {
		if w == nil {
			delete(s.ownerWire, o)
			delete(s.ownerSums, o)
		} else {
			s.ownerWire[o], s.ownerSums[o] = w, d.sums[o]
		}
	}
	rz := s.reg
	s.hash, s.lastSnap, s.wire, s.ownerSum = h, snap, nil, d.sum
	*rz = regZone{snap: snap, sorted: d.sorted, types: z.types, sd: z.sd, synth: z.synth}
	s.saveSerial(serial, h)
	s.saveJournal(&t, old.serial, s.zoneWireNow)
	s.tab.Store(&t)
	s.served(&t, z, start, len(d.changed))
	s.notify(serial)
	return nil
}

// regAXFR packs the AXFR of the registry zone as it is now (which may be
// newer than the table the transfer started from), once per serial.
func (s *Server) regAXFR() ([][]byte, *table, error) {
	s.setMu.Lock()
	defer s.setMu.Unlock()
	t := s.tab.Load()
	rz := s.reg
	if rz == nil {
		return nil, t, fmt.Errorf("zone %s is not loaded", s.cfg.Zone)
	}
	if !rz.axfrDone || rz.axfrSer != t.serial {
		wire := s.zoneWireNow()
		rrs := make([]dns.RR, 0, len(wire)+1)
		rrs = append(rrs, dns.Copy(t.soa))
		for i, w := range wire {
			rr, _, err := dns.UnpackRR([]byte(w), 0)
			if err != nil {
				return nil, t, fmt.Errorf("record %d of the zone: %w", i, err)
			}
			rrs = append(rrs, rr)
		}
		var p packer
		msgs, err := p.packAXFR(s.cfg.Zone, rrs)
		if err != nil {
			return nil, t, err
		}
		rz.axfr, rz.axfrSer, rz.axfrDone = msgs, t.serial, true
	}
	return rz.axfr, t, nil
}

// zoneWireNow is Server.wire, made from the owners when a change in
// place left it unset; under setMu.
func (s *Server) zoneWireNow() []string {
	if s.wire == nil && s.reg != nil {
		n := 0
		for _, w := range s.ownerWire {
			n += len(w)
		}
		s.wire = make([]string, 0, n)
		for _, o := range s.reg.sorted {
			s.wire = append(s.wire, s.ownerWire[o.name]...)
		}
	}
	return s.wire
}
