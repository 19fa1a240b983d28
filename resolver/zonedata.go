package resolver

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/miekg/dns"
	"github.com/svcreg/svcreg/registry"
)

// ZoneRRs returns every record of the zone built from snap under cfg, SOA
// first, then in RFC 4034 section 6 canonical order of owner names, each
// owner's RRsets by type. It is the single source of truth for zone
// content: AXFR sends it and WriteZone prints it. The SOA serial is the
// one Config.SerialPolicy gives this content, what a server that has
// served nothing before serves (see Server.SetSnapshot). Answers the
// server synthesises for unassigned and dynamic ports are not zone
// content.
func ZoneRRs(snap *registry.Snapshot, cfg Config) ([]dns.RR, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	z, err := buildZone(context.Background(), snap, cfg)
	if err != nil {
		return nil, err
	}
	rrs := z.rrs()
	wire, err := zoneWire(rrs[1:])
	if err != nil {
		return nil, err
	}
	_, sum := ownerDigests(ownerRuns(rrs[1:], wire))
	h, err := zoneHash(z.soa, sum, &z.synth)
	if err != nil {
		return nil, err
	}
	z.soa.Serial = policySerial(cfg.SerialPolicy, z.soa.Serial, h, time.Now())
	return rrs, nil
}

// zoneData is a zone as owners and their RRsets, before packing.
type zoneData struct {
	apex   string
	soa    *dns.SOA
	owners map[string]*owner // lowercased absolute owner name
	// types is the set of service types (lowercased "_name._proto")
	// present in the zone, for checking PTR targets.
	types map[string]bool
	count int // records, SOA included
	// synth holds what the query path needs to answer for ports the zone
	// does not hold.
	synth portSynth
	// enumListed of enumTotal types are listed under
	// _services._dns-sd._udp (EnumerateMaxRecords cuts the list).
	enumListed, enumTotal int
	// sd tells whether each service type is a DNS-SD type (see
	// typeOwner): what a reload applied as a difference reuses for the
	// types it does not touch.
	sd map[typeKey]bool
}

type owner struct {
	name string
	rrs  []dns.RR // grouped by type in the order added
}

func (z *zoneData) add(rr dns.RR) {
	h := rr.Header()
	o := z.owners[h.Name]
	if o == nil {
		o = &owner{name: h.Name}
		z.owners[h.Name] = o
	}
	o.rrs = append(o.rrs, rr)
	z.count++
}

// ownerKey is an owner name with its canonicalKey.
type ownerKey struct{ name, key string }

// sortedOwners lists the owners of z in canonical order.
func (z *zoneData) sortedOwners() []ownerKey {
	names := make([]ownerKey, 0, len(z.owners))
	for n := range z.owners {
		names = append(names, ownerKey{n, canonicalKey(n)})
	}
	slices.SortFunc(names, func(a, b ownerKey) int { return strings.Compare(a.key, b.key) })
	return names
}

// rrs flattens the zone in canonical order, SOA first.
func (z *zoneData) rrs() []dns.RR { return z.rrsOf(z.sortedOwners()) }

// rrsOf flattens the zone whose owners in canonical order are names,
// SOA first.
func (z *zoneData) rrsOf(names []ownerKey) []dns.RR {
	out := make([]dns.RR, 0, z.count)
	out = append(out, z.soa)
	for _, n := range names {
		out = append(out, ownerRecords(z.owners[n.name].rrs)...)
	}
	return out
}

// ownerRecords are an owner's records as the zone lists them: by type
// (stable), the SOA left out (it leads the zone).
func ownerRecords(rrs []dns.RR) []dns.RR {
	byType := func(a, b dns.RR) int { return int(a.Header().Rrtype) - int(b.Header().Rrtype) }
	if !slices.IsSortedFunc(rrs, byType) {
		rrs = slices.Clone(rrs)
		slices.SortStableFunc(rrs, byType)
	}
	for i, rr := range rrs {
		if rr.Header().Rrtype == dns.TypeSOA {
			return append(slices.Clone(rrs[:i]), rrs[i+1:]...)
		}
	}
	return rrs
}

// canonicalKey maps an absolute lowercased name to a string whose byte
// order is RFC 4034 section 6.1's canonical order: the labels from the
// right, each followed by a zero byte, so a label sorts before any longer
// label it prefixes. (Labels here never hold a zero byte.)
func canonicalKey(name string) string {
	name = strings.TrimSuffix(name, ".")
	if name == "" {
		return ""
	}
	b := make([]byte, 0, len(name)+1)
	end := len(name)
	for i := len(name) - 1; i >= -1; i-- {
		if i < 0 || name[i] == '.' && !escapedAt(name, i) {
			b = append(b, name[i+1:end]...)
			b = append(b, 0)
			end = i
		}
	}
	return string(b)
}

// escapedAt reports whether the byte at i of a presentation-format name
// is escaped: an odd number of backslashes before it.
func escapedAt(name string, i int) bool {
	n := 0
	for j := i - 1; j >= 0 && name[j] == '\\'; j-- {
		n++
	}
	return n%2 == 1
}

// dataSerial is the serial the data's own date gives: the newest of the
// registry's date and the registration and modification dates of its
// records, as YYYYMMDD00. A date after now is a typo, not data, and is
// left out: a serial taken from it could never come back down.
func dataSerial(snap *registry.Snapshot, now time.Time) uint32 {
	limit := serialBase(now.UTC().Format("2006-01-02"))
	best := uint32(1)
	consider := func(d string) {
		if v := serialBase(d); v > best && v <= limit {
			best = v
		}
	}
	consider(snap.Updated())
	recs := snap.Records()
	for i := range recs {
		consider(recs[i].Modified)
		consider(recs[i].Registered)
	}
	return best
}

// serialBase turns the registry date (YYYY-MM-DD or YYYY-MM) into
// YYYYMMDD00, RFC 1912 section 2.2's convention. Without a date it is 1.
func serialBase(updated string) uint32 {
	var buf [8]byte
	d := buf[:0]
	for i := 0; i < len(updated) && len(d) < 8; i++ {
		if c := updated[i]; c >= '0' && c <= '9' {
			d = append(d, c)
		}
	}
	if len(d) == 6 {
		d = append(d, '0', '1')
	}
	if len(d) != 8 {
		return 1
	}
	n, err := strconv.ParseUint(string(d), 10, 32)
	if err != nil || n > 42949672 {
		return 1
	}
	return uint32(n) * 100
}

// protocols are the transport labels the zone has names under.
var protocols = [...]registry.Protocol{registry.ProtoTCP, registry.ProtoUDP, registry.ProtoSCTP, registry.ProtoDCCP}

// validLabel reports whether a lowercased registry name can be the label
// after "_" in _name._proto: letters, digits and hyphens only, at most 62
// bytes so that the underscore fits in a 63-byte label. Names such as
// whois++ or sql*net are reached through their registered alias instead.
func validLabel(name string) bool {
	if name == "" || len(name) > 62 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// typeKey identifies one service type: lowercased name and protocol.
type typeKey struct {
	name  string
	proto registry.Protocol
}

func (k typeKey) owner(apex string) string {
	return "_" + k.name + "._" + string(k.proto) + "." + apex
}

// buildZone computes the zone content. ctx is checked between phases so
// a cancelled reload stops early.
func buildZone(ctx context.Context, snap *registry.Snapshot, cfg Config) (*zoneData, error) {
	if snap == nil {
		return nil, fmt.Errorf("%w: nil snapshot", ErrConfig)
	}
	b := &zoneBuilder{
		z: &zoneData{apex: cfg.Zone, owners: make(map[string]*owner, 1<<15), types: make(map[string]bool, 1<<14),
			sd: make(map[typeKey]bool, 1<<14)},
		snap: snap,
		cfg:  &cfg,
	}
	b.apexRecords()
	order, attached := b.serviceTypes()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.typeRecords(order, attached)
	b.servicesPTRs(b.candidates(order, b.z.sd))
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := b.portRecords(); err != nil {
		return nil, err
	}
	return b.z, ctx.Err()
}

// zoneBuilder holds what the phases of buildZone share.
type zoneBuilder struct {
	z    *zoneData
	snap *registry.Snapshot
	cfg  *Config
}

func (b *zoneBuilder) hdr(name string, t uint16) dns.RR_Header {
	return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: b.cfg.TTL}
}

// apexRecords adds the SOA, the NS records, the addresses of the apex and
// of in-zone name servers, and the TXT that describes the registry.
func (b *zoneBuilder) apexRecords() {
	z, cfg, apex := b.z, b.cfg, b.cfg.Zone
	z.soa = &dns.SOA{Hdr: b.hdr(apex, dns.TypeSOA), Ns: cfg.NS[0], Mbox: cfg.Mbox,
		Serial: dataSerial(b.snap, time.Now()), Refresh: cfg.SOARefresh, Retry: cfg.SOARetry, Expire: cfg.SOAExpire,
		Minttl: cfg.NegTTL}
	z.add(z.soa)
	for _, ns := range cfg.NS {
		z.add(&dns.NS{Hdr: b.hdr(apex, dns.TypeNS), Ns: ns})
	}
	addrOwners := []string{apex}
	for _, ns := range cfg.NS {
		if ns != apex && dns.IsSubDomain(apex, ns) && !slices.Contains(addrOwners, ns) {
			addrOwners = append(addrOwners, ns)
		}
	}
	for _, o := range addrOwners {
		addrs := cfg.Addresses
		if own, ok := cfg.NSAddresses[o]; ok && o != apex {
			addrs = own
		}
		for _, a := range addrs {
			if a.Is4() || a.Is4In6() {
				z.add(&dns.A{Hdr: b.hdr(o, dns.TypeA), A: a.Unmap().AsSlice()})
			} else {
				z.add(&dns.AAAA{Hdr: b.hdr(o, dns.TypeAAAA), AAAA: a.AsSlice()})
			}
		}
	}
	st := b.snap.Stats()
	z.add(&dns.TXT{Hdr: b.hdr(apex, dns.TypeTXT), Txt: []string{
		"registry-updated=" + orUnknown(b.snap.Updated()),
		"records=" + strconv.Itoa(st.Records),
		"services=" + strconv.Itoa(st.Names),
	}})
	// RFC 6763 section 11: where a client whose domain is the zone finds
	// domains to browse (b, the default one db, and lb for legacy
	// clients that browse without asking).
	for _, label := range [...]string{"b", "db", "lb"} {
		for _, d := range cfg.BrowseDomains {
			z.add(&dns.PTR{Hdr: b.hdr(label+"._dns-sd._udp."+apex, dns.TypePTR), Ptr: d})
		}
	}
}

// serviceType is a service type with its owner name.
type serviceType struct {
	typeKey
	owner string
}

// serviceTypes lists the service types in the order their first record
// appears, and marks each in z.types. Names that are not DNS labels
// (whois++) are served under the name they are an alias of: attached
// holds those records by the type they join.
func (b *zoneBuilder) serviceTypes() (order []serviceType, attached map[typeKey][]*registry.Record) {
	recs := b.snap.Records()
	target := func(r *registry.Record) (string, bool) {
		name := strings.ToLower(r.Name)
		if validLabel(name) {
			return name, false
		}
		alias := strings.ToLower(r.AliasOf)
		return alias, validLabel(alias)
	}
	// The records served under another name first: they are few, and the
	// types they join are then the only ones whose first record needs
	// a set to find.
	attached = map[typeKey][]*registry.Record{}
	for i := range recs {
		r := &recs[i]
		if r.Name == "" {
			continue
		}
		if t, via := target(r); via {
			for _, p := range recordProtos(r) {
				k := typeKey{t, p}
				attached[k] = append(attached[k], r)
			}
		}
	}
	var seen map[typeKey]bool
	order = make([]serviceType, 0, len(recs))
	for i := range recs {
		r := &recs[i]
		if r.Name == "" {
			continue
		}
		t, via := target(r)
		if !validLabel(t) {
			continue
		}
		for _, p := range recordProtos(r) {
			k := typeKey{t, p}
			first := false
			if _, joined := attached[k]; joined || via {
				if seen == nil {
					seen = map[typeKey]bool{}
				}
				first, seen[k] = !seen[k], true
			} else {
				// The type's records are in registry order.
				own := b.snap.ByType(t, p)
				first = len(own) > 0 && own[0] == r
			}
			if first {
				order = append(order, serviceType{k, k.owner(b.cfg.Zone)})
			}
		}
	}
	for _, st := range order {
		b.z.types[st.owner] = true
	}
	return order, attached
}

// enumCandidate is a service type that _services._dns-sd._udp may list,
// with what ranks it when the list must be cut.
type enumCandidate struct {
	owner   string
	dnssd   bool // TXT keys known, or no port: a DNS-SD type
	profile bool // a service profile documents it: found on real networks
}

// typeRecords adds each service type's SRV and TXT records and known
// subtypes.
func (b *zoneBuilder) typeRecords(order []serviceType, attached map[typeKey][]*registry.Record) {
	for _, st := range order {
		b.typeOwner(st.typeKey, attached[st.typeKey])
		b.subtypeOwners(st.typeKey)
	}
}

// typeOwner adds one service type's SRV (one per distinct port) and TXT
// records, from its records and those of names served under it
// (attached), and notes in z.sd whether it is a DNS-SD type.
func (b *zoneBuilder) typeOwner(k typeKey, attached []*registry.Record) {
	own := k.owner(b.cfg.Zone)
	rs := append(slices.Clone(b.snap.ByType(k.name, k.proto)), attached...)
	var ports []int32
	var txt []dns.RR
	sd := false
	for _, r := range rs {
		if r.HasPort() && !slices.Contains(ports, r.PortLow) {
			ports = append(ports, r.PortLow)
		}
		txt = append(txt, &dns.TXT{Hdr: b.hdr(own, dns.TypeTXT), Txt: recordTXT(r)})
		if r.TXTKeys.Kind != registry.TXTUnknown || !r.HasPort() {
			sd = true
		}
	}
	for _, p := range ports {
		b.z.add(&dns.SRV{Hdr: b.hdr(own, dns.TypeSRV), Port: uint16(p), Target: b.cfg.Target})
	}
	for _, rr := range dedupeTXT(txt) {
		b.z.add(rr)
	}
	b.z.sd[k] = sd
}

// candidates are the TCP and UDP types of order the enumeration may
// list, with what ranks them (z.sd holds each type's DNS-SD flag).
func (b *zoneBuilder) candidates(order []serviceType, sd map[typeKey]bool) (cands []enumCandidate) {
	cands = make([]enumCandidate, 0, len(order))
	for _, st := range order {
		if st.proto == registry.ProtoTCP || st.proto == registry.ProtoUDP {
			cands = append(cands, enumCandidate{owner: st.owner, dnssd: sd[st.typeKey], profile: b.snap.Profile(st.name, st.proto) != nil})
		}
	}
	return cands
}

// subtypeOwners adds a service type's known subtypes (RFC 6763 section
// 7.1): the snapshot's, which include those of the type's aliases and
// duplicates (www-http's are http's too).
func (b *zoneBuilder) subtypeOwners(k typeKey) {
	own := k.owner(b.cfg.Zone)
	var done []string
	for _, sub := range b.snap.Subtypes(k.name, k.proto) {
		sub = strings.ToLower(strings.TrimPrefix(sub, "_"))
		so := "_" + sub + "._sub." + own
		if !validLabel(sub) || slices.Contains(done, so) {
			continue
		}
		done = append(done, so)
		b.z.add(&dns.TXT{Hdr: b.hdr(so, dns.TypeTXT), Txt: []string{
			"subtype=" + sub, "service=" + k.name, "proto=" + string(k.proto)}})
	}
}

// servicesPTRs adds the DNS-SD service type enumeration (RFC 6763
// section 9): the types Enumerate selects, at most EnumerateMaxRecords of
// them, those a service profile documents first (the ones found on real
// networks), then the rest in registry order. Resolvers refuse large
// RRsets (BIND's and PowerDNS's max-records-per-type default is 100).
func (b *zoneBuilder) servicesPTRs(cands []enumCandidate) {
	var list []enumCandidate
	for _, c := range cands {
		if b.cfg.Enumerate == EnumerateAll || (b.cfg.Enumerate == EnumerateDNSSD && c.dnssd) {
			list = append(list, c)
		}
	}
	b.z.enumTotal = len(list)
	if limit := b.cfg.EnumerateMaxRecords; limit >= 0 && len(list) > limit {
		slices.SortStableFunc(list, func(x, y enumCandidate) int {
			switch {
			case x.profile == y.profile:
				return 0
			case x.profile:
				return -1
			}
			return 1
		})
		list = list[:limit]
	}
	sdOwner := "_services._dns-sd._udp." + b.cfg.Zone
	for _, c := range list {
		b.z.add(&dns.PTR{Hdr: b.hdr(sdOwner, dns.TypePTR), Ptr: c.owner})
	}
	b.z.enumListed = len(list)
}

// portRecords adds the port labels (RFC 6698 style) that carry registry
// data; ports whose answer is the same for many (unassigned ranges) are
// synthesised from z.synth instead of stored.
func (b *zoneBuilder) portRecords() error {
	cache := map[plainKey][]string{}
	for pidx := range protocols {
		b.z.synth.group[pidx] = make([]uint16, 65536)
		if err := b.portSpan(pidx, 0, 65535, cache); err != nil {
			return err
		}
	}
	return nil
}

// portSpan adds the port labels of ports lo to hi of protocols[pidx]
// and sets their synthesis groups.
func (b *zoneBuilder) portSpan(pidx, lo, hi int, cache map[plainKey][]string) error {
	apex, p := b.cfg.Zone, protocols[pidx]
	// Neighbouring ports mostly hold the same records (a range, or
	// none) and so say the same: the last port's answer is reused.
	var last struct {
		ok     bool
		status registry.Status
		recs   []*registry.Record
		pi     portInfo
		group  uint16 // its synthesis group + 1, once known
	}
	for port := lo; port <= hi; port++ {
		status, recs := b.snap.PortStatus(port, p), b.snap.ByPort(port, p)
		if !last.ok || last.status != status || !slices.Equal(last.recs, recs) {
			last.ok, last.status, last.recs, last.group = true, status, recs, 0
			last.pi = portData(status, recs, p, apex, b.z.types, cache)
		}
		pi := last.pi
		if !pi.inZone {
			if last.group != 0 {
				b.z.synth.group[pidx][port] = last.group
				continue
			}
			if err := b.z.synth.add(pidx, port, pi.tail); err != nil {
				return err
			}
			last.group = b.z.synth.group[pidx][port]
			continue
		}
		b.z.synth.group[pidx][port] = 0
		own := portOwner(port, p, apex)
		for _, t := range pi.ptrs {
			b.z.add(&dns.PTR{Hdr: b.hdr(own, dns.TypePTR), Ptr: t})
		}
		b.z.add(&dns.TXT{Hdr: b.hdr(own, dns.TypeTXT), Txt: append([]string{"port=" + strconv.Itoa(port)}, pi.tail...)})
	}
	return nil
}

func portOwner(port int, p registry.Protocol, apex string) string {
	return "_" + strconv.Itoa(port) + "._" + string(p) + "." + apex
}

// portInfo is what the zone says about one port and protocol.
type portInfo struct {
	inZone bool     // registry data (not unassigned or dynamic)
	tail   []string // TXT strings after "port=N"
	ptrs   []string // _name._proto owners of the services on the port
}

// plainKey identifies the TXT strings of ports without any record.
type plainKey struct {
	p      registry.Protocol
	status registry.Status
}

// portData is what the zone says about a port of protocol p whose
// status and records (registry.Snapshot's PortStatus and ByPort) are
// given.
func portData(status registry.Status, recs []*registry.Record, p registry.Protocol, apex string, types map[string]bool, cache map[plainKey][]string) portInfo {
	pi := portInfo{inZone: status != registry.StatusUnassigned && status != registry.StatusDynamic}
	if len(recs) == 0 && !pi.inZone {
		// Most of the 262,144 port names: the common case allocates
		// nothing (the TXT strings are rebuilt from the status only).
		k := plainKey{p, status}
		if pi.tail = cache[k]; pi.tail == nil {
			pi.tail = []string{"proto=" + string(p), "status=" + status.String()}
			cache[k] = pi.tail
		}
		return pi
	}
	pi.tail = []string{"proto=" + string(p), "status=" + status.String()}
	var services []string
	rng := ""
	for _, r := range recs {
		if r.IsRange() && rng == "" {
			rng = fmt.Sprintf("range=%d-%d", r.PortLow, r.PortHigh)
		}
		if r.Name == "" {
			continue
		}
		n := strings.ToLower(r.Name)
		if !slices.Contains(services, n) {
			services = append(services, n)
		}
		t := n
		if !validLabel(t) {
			t = strings.ToLower(r.AliasOf)
		}
		if own := "_" + t + "._" + string(p) + "." + apex; validLabel(t) && types[own] && !slices.Contains(pi.ptrs, own) {
			pi.ptrs = append(pi.ptrs, own)
		}
	}
	if len(services) > 0 {
		pi.tail = append(pi.tail, cut("services="+escapeTXT(strings.Join(services, ","))))
	}
	if rng != "" {
		pi.tail = append(pi.tail, rng)
	}
	return pi
}

// recordProtos lists the protocols a record's type lives under:
// DNS-SD-only registrations (no protocol) answer under both _tcp and _udp.
func recordProtos(r *registry.Record) []registry.Protocol {
	if r.Protocol == registry.ProtoNone {
		return []registry.Protocol{registry.ProtoTCP, registry.ProtoUDP}
	}
	return []registry.Protocol{r.Protocol}
}

// recordTXT renders one registration as key=value strings, each at most
// 255 bytes (RFC 1035 section 3.3.14), escaped for miekg/dns.
func recordTXT(r *registry.Record) []string {
	s := []string{"name=" + escapeTXT(r.Name)}
	if r.Protocol != registry.ProtoNone {
		s = append(s, "proto="+string(r.Protocol))
	}
	switch {
	case r.IsRange():
		s = append(s, fmt.Sprintf("ports=%d-%d", r.PortLow, r.PortHigh))
	case r.HasPort():
		s = append(s, "port="+strconv.Itoa(int(r.PortLow)))
	}
	s = append(s, "status="+r.Status.String())
	if d := strings.Join(strings.Fields(r.Description), " "); d != "" {
		s = append(s, cut("desc="+escapeTXT(d)))
	}
	switch r.TXTKeys.Kind {
	case registry.TXTUnknown:
	case registry.TXTNone:
		s = append(s, "txtkeys=none")
	case registry.TXTDefined:
		names := make([]string, len(r.TXTKeys.Keys))
		for i, k := range r.TXTKeys.Keys {
			names[i] = k.Name
		}
		s = append(s, cut("txtkeys="+escapeTXT(strings.Join(names, ","))))
	default:
		s = append(s, "txtkeys=("+r.TXTKeys.Kind.String()+")")
	}
	if len(r.References) > 0 {
		s = append(s, cut("ref="+escapeTXT(strings.Join(r.References, ","))))
	}
	if d := orEmpty(r.Modified, r.Registered); d != "" {
		s = append(s, "updated="+escapeTXT(d))
	}
	if r.AliasOf != "" && (r.Status == registry.StatusAlias || r.Status == registry.StatusDuplicate) {
		s = append(s, cut("alias-of="+escapeTXT(r.AliasOf)))
	}
	return s
}

// dedupeTXT drops identical TXT records (an RRset holds no duplicates).
func dedupeTXT(rrs []dns.RR) []dns.RR {
	out := rrs[:0]
	for _, rr := range rrs {
		dup := false
		for _, o := range out {
			if dns.IsDuplicate(rr, o) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, rr)
		}
	}
	return out
}

// escapeTXT escapes the one byte miekg/dns interprets in TXT strings it
// packs: the backslash.
func escapeTXT(s string) string {
	return strings.ReplaceAll(s, `\`, `\\`)
}

// cut shortens an escaped TXT string to at most 255 bytes on the wire,
// at a UTF-8 boundary and never inside an escape.
func cut(s string) string {
	n, i := 0, 0
	for i < len(s) {
		w := 1
		if s[i] == '\\' {
			w = 2
		} else if s[i] >= utf8.RuneSelf {
			_, w = utf8.DecodeRuneInString(s[i:])
		}
		wire := w
		if s[i] == '\\' {
			wire = 1
		}
		if n+wire > 255 {
			break
		}
		n += wire
		i += w
	}
	return s[:i]
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func orEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
