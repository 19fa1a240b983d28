package mdns

import (
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Limits of RFC 6762 the packet checks enforce.
const (
	// mdnsPort is the port every response comes from (section 6).
	mdnsPort = 5353
	// mdnsHopLimit is the IP TTL / hop limit of every mDNS packet
	// (section 11).
	mdnsHopLimit = 255
	// maxMDNSMessage is the largest mDNS message, IP and UDP headers
	// included (section 17).
	maxMDNSMessage = 9000
)

// cacheFlush is the top bit of the rrclass in mDNS responses (RFC 6762
// section 10.2).
const cacheFlush = 0x8000

// ValidatePacket assembles the advertisements a received mDNS response
// carries (instances named by PTR, SRV or TXT records, with the subtypes
// of subtype PTRs and the addresses of the SRV target from A and AAAA
// records in the same packet), validates each (setting its Findings), and
// returns them in the order the packet first names them. Packet-level
// findings (rule mdns-packet: header bits, source port, hop limit, size,
// cache-flush on shared records) are returned separately, with Source the
// sender. Queries (QR clear) yield nothing: the listener validates
// answers, not questions. Names and TXT strings come from miekg/dns in
// presentation format and are unescaped, so Instance and TXT are raw.
func (v *Validator) ValidatePacket(msg *dns.Msg, meta PacketMeta) ([]*Advertisement, []Finding) {
	ads, pf := v.AssemblePacket(msg, meta)
	for _, a := range ads {
		a.Findings = v.Validate(a)
	}
	return ads, pf
}

// AssemblePacket is ValidatePacket without validating the advertisements
// (their Findings stay nil): for a caller that merges them into a Store,
// which validates an advertisement once, when it changes.
func (v *Validator) AssemblePacket(msg *dns.Msg, meta PacketMeta) ([]*Advertisement, []Finding) {
	return v.assemble(msg, meta, nil)
}

// assemble is AssemblePacket with reusable state: with sc set, the
// advertisements live in sc and are valid until its next use, so a
// caller that only merges them (the monitor) allocates nothing for a
// repeated announcement.
func (v *Validator) assemble(msg *dns.Msg, meta PacketMeta, sc *packetScratch) ([]*Advertisement, []Finding) {
	if msg == nil || !msg.Response {
		return nil, nil
	}
	var pf []Finding
	if v.enabled[rMDNSPacket] {
		pf = v.packetHeader(msg, meta)
	}

	var entStack [4]pktEntry
	var hostStack [4]pktHost
	ents, hosts := entStack[:0], hostStack[:0]
	sections := [...][]dns.RR{msg.Answer, msg.Ns, msg.Extra}
	for _, sec := range sections {
		for _, rr := range sec {
			h := rr.Header()
			switch r := rr.(type) {
			case *dns.PTR:
				typeName, sub, ok := splitPTROwner(h.Name)
				if !ok {
					continue // reverse mapping or not DNS-SD
				}
				if h.Class&cacheFlush != 0 && v.enabled[rMDNSPacket] {
					inst, _ := instanceOf(r.Ptr, typeName)
					pf = append(pf, v.packetFinding(rMDNSPacket, "RFC 6762 section 10.2",
						"the shared PTR record "+h.Name+" has the cache-flush bit set",
						"class 0x"+strconv.FormatUint(uint64(h.Class), 16), Unescape(inst), typeOf(typeName), sourceOf(meta)))
				}
				if isEnumeration(typeName) {
					continue
				}
				var e *pktEntry
				ents, e = entryFor(ents, r.Ptr, typeName, sc)
				if e == nil {
					continue
				}
				e.setTTL(dns.TypePTR, h.Ttl)
				if sub != "" {
					s := sc.unescape(sub)
					if !contains(e.ad.Subtypes, s) {
						e.ad.Subtypes = append(e.ad.Subtypes, s)
					}
				}
			case *dns.SRV:
				var e *pktEntry
				if ents, e = entryFor(ents, h.Name, "", sc); e == nil {
					continue
				}
				if !e.ad.TTL.Has(dns.TypeSRV) {
					e.ad.Host, e.ad.Port = r.Target, r.Port
				}
				e.setTTL(dns.TypeSRV, h.Ttl)
			case *dns.TXT:
				var e *pktEntry
				if ents, e = entryFor(ents, h.Name, "", sc); e == nil {
					continue
				}
				if !e.ad.HasTXT { // one TXT record per instance, RFC 6763 section 6.8
					e.ad.HasTXT = true
					e.ad.TXT = sc.unescapeAll(e.box.txt[:0], r.Txt)
				}
				e.setTTL(dns.TypeTXT, h.Ttl)
			case *dns.A:
				if a, ok := netip.AddrFromSlice(r.A.To4()); ok {
					hosts = append(hosts, pktHost{h.Name, a, dns.TypeA, h.Ttl})
				}
			case *dns.AAAA:
				if a, ok := netip.AddrFromSlice(r.AAAA.To16()); ok {
					hosts = append(hosts, pktHost{h.Name, a, dns.TypeAAAA, h.Ttl})
				}
			}
		}
	}
	if len(ents) == 0 {
		return nil, pf
	}
	var ads []*Advertisement
	switch {
	case len(ents) == 1:
		ads = ents[0].box.ads[:]
	case sc != nil:
		sc.ads = append(sc.ads[:0], make([]*Advertisement, len(ents))...)
		ads = sc.ads
	default:
		ads = make([]*Advertisement, len(ents))
	}
	for i := range ents {
		a := ents[i].ad
		for _, hh := range hosts {
			if a.Host != "" && strings.EqualFold(hh.name, a.Host) {
				if a.Addrs == nil {
					a.Addrs = ents[i].box.addrs[:0]
				}
				a.Addrs = append(a.Addrs, hh.addr)
				a.TTL.Set(hh.typ, hh.ttl)
			}
		}
		a.Source, a.Interface = meta.Source, meta.Interface
		a.MAC, a.FirstPacket, a.LastPacket = meta.MAC, meta.Packet, meta.Packet
		if !meta.Received.IsZero() {
			a.FirstSeen, a.LastSeen = meta.Received, meta.Received
			a.Expires = meta.Received.Add(time.Duration(ents[i].minTTL) * time.Second)
		}
		ads[i] = a
	}
	return ads, pf
}

// packetHeader checks the header and what the listener measured: RFC
// 6762 sections 6, 11, 17 and 18 (ID, opcode, AA, TC and rcode).
func (v *Validator) packetHeader(msg *dns.Msg, meta PacketMeta) []Finding {
	var pf []Finding
	add := func(rfc, text, ev string) {
		pf = append(pf, v.packetFinding(rMDNSPacket, rfc, text, ev, "", "", sourceOf(meta)))
	}
	if msg.Id != 0 {
		add("RFC 6762 section 18.1", "the multicast response has ID "+strconv.Itoa(int(msg.Id))+", not zero",
			"id="+strconv.Itoa(int(msg.Id)))
	}
	if msg.Opcode != 0 {
		add("RFC 6762 section 18.3", "the response has opcode "+strconv.Itoa(msg.Opcode)+", not zero",
			"opcode="+strconv.Itoa(msg.Opcode))
	}
	if !msg.Authoritative {
		add("RFC 6762 section 18.4", "the response does not have the AA bit set", "aa=0")
	}
	if msg.Truncated {
		add("RFC 6762 section 18.5", "the multicast response has the TC bit set", "tc=1")
	}
	if msg.Rcode != 0 {
		add("RFC 6762 section 18.11", "the response has rcode "+strconv.Itoa(msg.Rcode)+", not zero",
			"rcode="+strconv.Itoa(msg.Rcode))
	}
	if meta.Source.IsValid() && meta.Source.Port() != mdnsPort {
		add("RFC 6762 section 6", "the response comes from port "+strconv.Itoa(int(meta.Source.Port()))+
			", not 5353; receivers ignore it", "port="+strconv.Itoa(int(meta.Source.Port())))
	}
	if meta.HopLimit >= 0 && meta.HopLimit != mdnsHopLimit && meta.HopLimit != 0 {
		add("RFC 6762 section 11", "the packet arrived with IP TTL/hop limit "+strconv.Itoa(meta.HopLimit)+
			", not 255: it was routed or sent off-link", "hoplimit="+strconv.Itoa(meta.HopLimit))
	}
	if meta.Size > maxMDNSMessage {
		add("RFC 6762 section 17", "the packet is "+strconv.Itoa(meta.Size)+" bytes, over the mDNS limit of 9000",
			"size="+strconv.Itoa(meta.Size))
	}
	return pf
}

// sourceOf is a packet finding's Origin: the sender, "" when unknown.
func sourceOf(meta PacketMeta) string {
	if meta.Source.IsValid() {
		return meta.Source.String()
	}
	return ""
}

func (v *Validator) packetFinding(r ruleIndex, rfc, msg, ev, inst, typ, src string) Finding {
	sev := catalogue[r].Severity
	if v.override[r] {
		sev = v.severity[r]
	}
	return Finding{Rule: catalogue[r].ID, Severity: sev, Instance: inst, ServiceType: typ,
		Message: msg, RFC: rfc, Evidence: ev, Origin: src}
}

// pktEntry is one instance being assembled from a packet.
type pktEntry struct {
	fqdn   string // owner name, presentation format
	ad     *Advertisement
	box    *adBox
	minTTL uint32
}

// packetScratch is assembly state a single caller reuses from packet to
// packet: the boxes of the last packet's advertisements and the raw
// forms of escaped names seen recently, so a repeated announcement
// allocates nothing. A nil scratch allocates fresh state, for callers
// that keep the advertisements.
type packetScratch struct {
	boxes []*adBox
	used  int
	ads   []*Advertisement
	names map[string]string // presentation format -> raw bytes
}

// maxScratchNames bounds the name cache; it is emptied when full.
const maxScratchNames = 1024

// reset makes every box available again; the previous packet's
// advertisements must no longer be used.
func (sc *packetScratch) reset() { sc.used = 0 }

// box returns an empty box.
func (sc *packetScratch) box() *adBox {
	if sc == nil {
		return &adBox{}
	}
	if sc.used < len(sc.boxes) {
		b := sc.boxes[sc.used]
		sc.used++
		*b = adBox{}
		return b
	}
	b := &adBox{}
	sc.boxes = append(sc.boxes, b)
	sc.used++
	return b
}

// unescape is Unescape, remembering the result for escaped names.
func (sc *packetScratch) unescape(s string) string {
	if sc == nil || strings.IndexByte(s, '\\') < 0 {
		return Unescape(s)
	}
	if raw, ok := sc.names[s]; ok {
		return raw
	}
	raw := Unescape(s)
	if sc.names == nil || len(sc.names) >= maxScratchNames {
		sc.names = make(map[string]string)
	}
	sc.names[s] = raw
	return raw
}

// unescapeAll is unescapeAll through the cache.
func (sc *packetScratch) unescapeAll(dst, src []string) []string {
	if sc == nil {
		return unescapeAll(dst, src)
	}
	if dst == nil {
		dst = []string{}
	}
	for _, s := range src {
		dst = append(dst, sc.unescape(s))
	}
	return dst
}

// adBox holds an advertisement together with room for its usual slices
// (and the one-element result of a one-instance packet), so that
// assembling it costs one allocation instead of four.
type adBox struct {
	ad    Advertisement
	addrs [2]netip.Addr
	txt   [8]string
	ads   [1]*Advertisement
}

func (e *pktEntry) setTTL(t uint16, ttl uint32) {
	e.ad.TTL.Set(t, ttl)
	if ttl < e.minTTL {
		e.minTTL = ttl
	}
}

// pktHost is one address record of a packet.
type pktHost struct {
	name string
	addr netip.Addr
	typ  uint16
	ttl  uint32
}

// entryFor finds or adds the entry of instance name fqdn. typeName, when
// known (from a PTR owner), says where the instance label ends, so that
// a malformed type is still taken apart right; without it the name must
// look like Instance._service._proto.domain.
func entryFor(ents []pktEntry, fqdn, typeName string, sc *packetScratch) ([]pktEntry, *pktEntry) {
	for i := range ents {
		if strings.EqualFold(ents[i].fqdn, fqdn) {
			return ents, &ents[i]
		}
	}
	var inst, rest string
	if typeName != "" {
		var ok bool
		if inst, ok = instanceOf(fqdn, typeName); !ok {
			return ents, nil
		}
		rest = typeName
	} else {
		inst, rest = nextLabel(fqdn)
		if svc, _ := nextLabel(rest); !strings.HasPrefix(svc, "_") {
			return ents, nil // a host's record, not a service instance's
		}
	}
	svc, rest := nextLabel(rest)
	proto, domain := nextLabel(rest)
	if inst == "" || svc == "" {
		return ents, nil
	}
	box := sc.box()
	a := &box.ad
	*a = Advertisement{Instance: sc.unescape(inst), Service: sc.unescape(svc), Proto: sc.unescape(proto),
		Domain: strings.TrimSuffix(domain, ".")}
	ents = append(ents, pktEntry{fqdn: fqdn, ad: a, box: box, minTTL: ^uint32(0)})
	return ents, &ents[len(ents)-1]
}

// splitPTROwner takes a PTR owner apart: "_printer._sub._ipp._tcp.local."
// gives type "_ipp._tcp.local." and subtype "_printer". ok is false for
// reverse-mapping names (unique records, RFC 6762 section 10.2) and for
// names too short to be a service type and a domain.
func splitPTROwner(owner string) (typeName, sub string, ok bool) {
	if t := strings.TrimSuffix(owner, "."); len(t) >= 5 && strings.EqualFold(t[len(t)-5:], ".arpa") {
		return "", "", false
	}
	first, rest := nextLabel(owner)
	if second, after := nextLabel(rest); strings.EqualFold(second, "_sub") {
		sub, owner = first, after
		first, rest = nextLabel(owner)
	}
	if _, dom := nextLabel(rest); first == "" || dom == "" {
		return "", "", false
	}
	return owner, sub, true
}

// isEnumeration reports the service type enumeration name (RFC 6763
// section 9), whose PTRs name types, not instances.
func isEnumeration(typeName string) bool {
	return len(typeName) >= len("_services._dns-sd._udp.") &&
		strings.EqualFold(typeName[:len("_services._dns-sd._udp.")], "_services._dns-sd._udp.")
}

// instanceOf returns the instance label of fqdn, which must be one label
// followed by typeName.
func instanceOf(fqdn, typeName string) (string, bool) {
	n := len(fqdn) - len(typeName) - 1
	if n <= 0 || fqdn[n] != '.' || !strings.EqualFold(fqdn[n+1:], typeName) {
		return "", false
	}
	inst := fqdn[:n]
	if l, _ := nextLabel(inst); l != inst {
		return "", false // more than one label (an unescaped dot)
	}
	return inst, true
}

// typeOf turns "_ipp._tcp.local." into "_ipp._tcp".
func typeOf(typeName string) string {
	svc, rest := nextLabel(typeName)
	proto, _ := nextLabel(rest)
	if proto == "" {
		return Unescape(svc)
	}
	return Unescape(svc) + "." + Unescape(proto)
}

// nextLabel splits the first label off a presentation-format name,
// honouring backslash escapes ("a\.b.c." gives `a\.b` and "c.").
func nextLabel(s string) (label, rest string) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '.':
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

// Unescape decodes DNS presentation escapes (`\ `, `\.`, `\\`, `\DDD`)
// into raw bytes, as RFC 1035 section 5.1 defines them; miekg/dns and
// zeroconf hand names and TXT strings over escaped. Strings without a
// backslash are returned as they are, without allocating.
func Unescape(s string) string {
	i := strings.IndexByte(s, '\\')
	if i < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	b = append(b, s[:i]...)
	for ; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b = append(b, c)
			continue
		}
		if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
			n := int(s[i+1]-'0')*100 + int(s[i+2]-'0')*10 + int(s[i+3]-'0')
			if n <= 255 {
				b = append(b, byte(n))
				i += 3
				continue
			}
		}
		b = append(b, s[i+1])
		i++
	}
	return string(b)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// unescapeAll appends the unescaped TXT strings to dst (never nil: a TXT
// record with zero strings gives an empty slice); the strings are shared
// when they hold no escape.
func unescapeAll(dst, ss []string) []string {
	if dst == nil {
		dst = []string{}
	}
	for _, s := range ss {
		dst = append(dst, Unescape(s))
	}
	return dst
}
