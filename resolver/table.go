package resolver

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// table is everything the query path needs for one snapshot, built once
// and never changed: pre-packed answers by owner name and type, the
// negative-answer SOA, per-port data for synthesised port answers, the
// CHAOS answers and the AXFR messages.
type table struct {
	serial  uint32
	apexKey string // lowercased wire form of the zone
	// The nodes by lowercased wire-form owner name: names, a map, in a
	// table built whole (the registry zone), where a lookup is a probe or
	// two; index, a persistent trie, in a zone changed in place (a
	// SetZone zone), where each version shares the unchanged part with
	// the one before (a walk down the trie costs a cache miss per level,
	// so a zone that is never changed in place does not use one).
	// Exactly one of them is set.
	names map[string]*node
	index nodeIndex
	// negSOA is the apex SOA as an authority record with an uncompressed
	// owner and NegTTL as its TTL (RFC 2308 section 5).
	negSOA []byte
	// portGroup[proto][port] indexes groups for ports the zone does not
	// hold (unassigned, dynamic): their TXT answers are synthesised.
	portGroup [len(protocols)][]uint16
	groups    [][]byte // TXT rdata after the "port=N" string
	ttl       uint32
	chaos     map[string][]byte // "version.bind" / "id.server" -> packed TXT answer
	// soa is for NOTIFY and transfers; the AXFR messages are packed when
	// first asked for (Server.regAXFR, Server.dynAXFR).
	soa *dns.SOA
	// journal holds the changes that led to this zone, for IXFR;
	// soaWire is the SOA in uncompressed wire form and records the
	// zone's record count, SOA included.
	journal *journal
	soaWire string
	records int
	// axfrAllow is the zone's transfer allow-list.
	axfrAllow []netip.Prefix
	// onMiss is ZoneConfig.OnMiss of a SetZone zone.
	onMiss func([]byte)
}

// transferAllowed applies the zone's transfer allow-list.
func (t *table) transferAllowed(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range t.axfrAllow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// node is one owner name. An empty answers list is an empty non-terminal
// (or a name with data of other types only): NOERROR, no data.
type node struct {
	answers []answer
	any     []byte // RFC 8482 minimal answer to ANY
}

// answer is a complete response message for one query type: header
// (ID 0, QR and AA set), the question in lowercase, and the sections,
// compressed. The query path copies it and patches ID, flags and the
// question's case.
type answer struct {
	qtype uint16
	msg   []byte
}

// node returns the node of a lowercased wire-form owner name, or nil.
func (t *table) node(key []byte) *node {
	if t.names != nil {
		return t.names[string(key)]
	}
	return t.index.get(key)
}

func (n *node) lookup(qtype uint16) []byte {
	for i := range n.answers {
		if n.answers[i].qtype == qtype {
			return n.answers[i].msg
		}
	}
	return nil
}

// anyPreference is the RRset an ANY query gets (RFC 8482 section 4.1:
// one RRset of the name's choosing).
var anyPreference = [...]uint16{dns.TypeSOA, dns.TypeTXT, dns.TypeSRV, dns.TypePTR, dns.TypeNS, dns.TypeA, dns.TypeAAAA}

// wireName is the lowercased uncompressed wire form of an absolute name.
func wireName(name string) (string, error) {
	buf := make([]byte, 256)
	n, err := dns.PackDomainName(strings.ToLower(name), buf, 0, nil, false)
	if err != nil {
		return "", fmt.Errorf("packing %q: %w", name, err)
	}
	return string(buf[:n]), nil
}

// tableReuse lets buildTable take over the packed answers of a table
// built before for the owners whose records did not change.
type tableReuse struct {
	prev *table
	// same reports whether an owner (as keyed in zoneData.owners) has
	// exactly the records it had in prev's zone.
	same func(owner string) bool
}

// buildTable packs z (whose SOA already carries the serial to serve).
// With reuse, an
// owner whose records are those of reuse.prev's zone keeps its packed
// answers (the apex, whose answers carry the SOA, is always packed
// again; reuse is off when the zone's addresses, which additional
// sections carry, changed).
func buildTable(ctx context.Context, z *zoneData, cfg Config, reuse *tableReuse) (*table, error) {
	t := &table{serial: z.soa.Serial, ttl: cfg.TTL, axfrAllow: cfg.AXFRAllow}
	nodes := make(map[string]*node, len(z.owners)*2)
	var err error
	if t.apexKey, err = wireName(z.apex); err != nil {
		return nil, err
	}
	neg := dns.Copy(z.soa).(*dns.SOA)
	neg.Hdr.Ttl = min(cfg.NegTTL, cfg.TTL)
	buf := make([]byte, 512)
	n, err := dns.PackRR(neg, buf, 0, nil, false)
	if err != nil {
		return nil, fmt.Errorf("packing SOA: %w", err)
	}
	t.negSOA = slices.Clone(buf[:n])

	addrs := map[string][]dns.RR{} // in-zone A/AAAA for additional sections
	for name, o := range z.owners {
		for _, rr := range o.rrs {
			if tp := rr.Header().Rrtype; tp == dns.TypeA || tp == dns.TypeAAAA {
				addrs[name] = append(addrs[name], rr)
			}
		}
	}
	var p packer
	i := 0
	for name, o := range z.owners {
		if i++; i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		key, err := wireName(name)
		if err != nil {
			return nil, err
		}
		var nd *node
		if reuse != nil && name != z.apex && reuse.same(name) {
			if old := reuse.prev.names[key]; old != nil && len(old.answers) > 0 {
				nd = old
			}
		}
		if nd == nil {
			if nd, err = p.packNode(name, o.rrs, addrs, name == z.apex); err != nil {
				return nil, err
			}
		}
		nodes[key] = nd // replacing an empty non-terminal made for a name below
		// Empty non-terminals between the owner and the apex exist.
		for off := 0; off < len(key) && len(key)-off > len(t.apexKey); off += int(key[off]) + 1 {
			if off == 0 {
				continue
			}
			if _, ok := nodes[key[off:]]; !ok {
				nodes[key[off:]] = &node{}
			}
		}
	}
	t.names = nodes
	t.portGroup, t.groups = z.synth.group, z.synth.groups
	if err := t.buildChaos(&p, cfg); err != nil {
		return nil, err
	}
	t.soa = z.soa
	return t, ctx.Err()
}

// packNode packs the answers of one owner: one per type it holds, and
// the RFC 8482 answer to ANY. addrs are the zone's A and AAAA records by
// owner, for the additional sections; the apex's answers never point
// into the question (see packMsg).
func (p *packer) packNode(name string, rrs []dns.RR, addrs map[string][]dns.RR, apex bool) (*node, error) {
	nd := &node{}
	sets := map[uint16][]dns.RR{}
	var types []uint16
	for _, rr := range rrs {
		tp := rr.Header().Rrtype
		if sets[tp] == nil {
			types = append(types, tp)
		}
		sets[tp] = append(sets[tp], rr)
	}
	for _, tp := range types {
		msg, err := p.packAnswer(name, tp, sets[tp], additional(sets[tp], addrs), !apex)
		if err != nil {
			return nil, err
		}
		nd.answers = append(nd.answers, answer{qtype: tp, msg: msg})
	}
	for _, tp := range anyPreference {
		if sets[tp] != nil {
			var err error
			if nd.any, err = p.packAnswer(name, dns.TypeANY, sets[tp], nil, !apex); err != nil {
				return nil, err
			}
			break
		}
	}
	return nd, nil
}

// additional returns in-zone addresses of SRV targets and NS names
// (RFC 2782, RFC 1035 section 3.3.11), which save a client a query.
func additional(rrs []dns.RR, addrs map[string][]dns.RR) []dns.RR {
	var extra []dns.RR
	var done []string
	for _, rr := range rrs {
		var target string
		switch r := rr.(type) {
		case *dns.SRV:
			target = r.Target
		case *dns.NS:
			target = r.Ns
		default:
			continue
		}
		target = strings.ToLower(target)
		if slices.Contains(done, target) {
			continue
		}
		done = append(done, target)
		extra = append(extra, addrs[target]...)
	}
	return extra
}

// packAnswer packs a full response to (name, qtype) with the given
// answer and additional records.
func (p *packer) packAnswer(name string, qtype uint16, ans, extra []dns.RR, ownerToQuestion bool) ([]byte, error) {
	b, err := p.packMsg(dns.Question{Name: name, Qtype: qtype, Qclass: dns.ClassINET}, ans, extra, ownerToQuestion)
	if err != nil {
		return nil, fmt.Errorf("packing answer for %s %s: %w", name, dns.TypeToString[qtype], err)
	}
	return b, nil
}

// packer reuses one message buffer and compression map while a table
// is built.
type packer struct {
	buf  []byte
	comp map[string]int
}

// packMsg packs an authoritative response (ID 0). The query path
// overwrites the question with the client's spelling (RFC 4343 section
// 4.1: echo it as sent), so nothing may point into the question except,
// with ownerToQuestion, a name equal to the whole question name: owners
// of the answer then cost two bytes and read as the client wrote them,
// as with other servers. No suffix of the question is a compression
// target, so record data keeps the zone's case whatever the client
// wrote; callers pass false where data may end in the question name
// (the apex, AXFR).
func (p *packer) packMsg(q dns.Question, ans, extra []dns.RR, ownerToQuestion bool) ([]byte, error) {
	if p.buf == nil {
		p.buf = make([]byte, dns.MaxMsgSize)
		p.comp = map[string]int{}
	}
	buf := p.buf
	clear(buf[:hdrLen])
	clear(p.comp)
	buf[2] = flagQR | flagAA
	binary.BigEndian.PutUint16(buf[4:], 1)
	binary.BigEndian.PutUint16(buf[6:], uint16(len(ans)))
	binary.BigEndian.PutUint16(buf[10:], uint16(len(extra)))
	off, err := dns.PackDomainName(q.Name, buf, hdrLen, nil, false)
	if err != nil {
		return nil, err
	}
	if off+4 > len(buf) {
		return nil, dns.ErrBuf
	}
	binary.BigEndian.PutUint16(buf[off:], q.Qtype)
	binary.BigEndian.PutUint16(buf[off+2:], q.Qclass)
	off += 4
	if ownerToQuestion {
		p.comp[strings.ToLower(q.Name)] = hdrLen
	}
	for _, rr := range append(slices.Clip(ans), extra...) {
		if off, err = dns.PackRR(rr, buf, off, p.comp, true); err != nil {
			return nil, fmt.Errorf("message above %d bytes: %w", dns.MaxMsgSize, err)
		}
	}
	return slices.Clone(buf[:off]), nil
}

// portSynth describes ports the zone does not hold (unassigned,
// dynamic): group[proto][port] is 0 for ports in the zone, else 1 + the
// index in groups of the TXT rdata after the "port=N" string, which many
// ports share.
type portSynth struct {
	group   [len(protocols)][]uint16
	groups  [][]byte
	index   map[string]uint16
	scratch []byte
}

func (ps *portSynth) add(pidx, port int, tail []string) error {
	rd := ps.scratch[:0]
	defer func() { ps.scratch = rd[:0] }()
	for _, s := range tail {
		s = strings.ReplaceAll(s, `\\`, `\`) // undo escapeTXT: raw bytes on the wire
		if len(s) > 255 {
			s = s[:255]
		}
		rd = append(rd, byte(len(s)))
		rd = append(rd, s...)
	}
	if ps.index == nil {
		ps.index = map[string]uint16{}
	}
	g, ok := ps.index[string(rd)]
	if !ok {
		if len(ps.groups) >= 65535 {
			return fmt.Errorf("too many distinct port groups")
		}
		g = uint16(len(ps.groups))
		ps.index[string(rd)] = g
		ps.groups = append(ps.groups, slices.Clone(rd))
	}
	ps.group[pidx][port] = g + 1
	return nil
}

// buildChaos packs the CHAOS TXT answers (version.bind, id.server).
func (t *table) buildChaos(p *packer, cfg Config) error {
	t.chaos = map[string][]byte{}
	for _, c := range []struct{ name, text string }{{"version.bind.", cfg.VersionBind}, {"id.server.", cfg.IDServer}} {
		if c.text == "" {
			continue
		}
		b, err := p.packMsg(dns.Question{Name: c.name, Qtype: dns.TypeTXT, Qclass: dns.ClassCHAOS},
			[]dns.RR{&dns.TXT{Hdr: dns.RR_Header{Name: c.name, Rrtype: dns.TypeTXT, Class: dns.ClassCHAOS},
				Txt: []string{cut(escapeTXT(c.text))}}}, nil, false)
		if err != nil {
			return fmt.Errorf("packing %s: %w", c.name, err)
		}
		k, _ := wireName(c.name)
		t.chaos[k] = b
	}
	return nil
}

// axfrChunk bounds one AXFR message; RFC 5936 section 2.2 lets a server
// use as many messages as it likes.
const axfrChunk = 16 << 10

// packAXFR packs the zone as AXFR messages: SOA, the rest, SOA (RFC 5936
// section 2.2).
func (p *packer) packAXFR(apex string, zone []dns.RR) ([][]byte, error) {
	return p.packXFR(dns.Question{Name: apex, Qtype: dns.TypeAXFR, Qclass: dns.ClassINET}, append(slices.Clone(zone), zone[0]))
}

// packXFR packs a transfer's records in order, in messages of about
// axfrChunk, each with the question q.
func (p *packer) packXFR(q dns.Question, rrs []dns.RR) ([][]byte, error) {
	var out [][]byte
	for len(rrs) > 0 {
		size, n := 12+len(q.Name)+6, 0
		for n < len(rrs) && (n == 0 || size+dns.Len(rrs[n]) < axfrChunk) {
			size += dns.Len(rrs[n])
			n++
		}
		b, err := p.packMsg(q, rrs[:n], nil, false)
		rrs = rrs[n:]
		if err != nil {
			return nil, fmt.Errorf("packing %s: %w", dns.TypeToString[q.Qtype], err)
		}
		out = append(out, b)
	}
	return out, nil
}

// protoIndex maps the lowercased wire label of a protocol ("\x04_tcp")
// to its index in protocols, or -1.
func protoIndex(label []byte) int {
	for i, p := range protocols {
		if len(label) == len(p)+1 && label[0] == '_' && string(label[1:]) == string(p) {
			return i
		}
	}
	return -1
}

// parsePortLabel reads "_<port>" (decimal, no leading zeros) from a
// lowercased label.
func parsePortLabel(label []byte) (int, bool) {
	if len(label) < 2 || len(label) > 6 || label[0] != '_' || (label[1] == '0' && len(label) > 2) {
		return 0, false
	}
	n := 0
	for _, c := range label[1:] {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, n <= 65535
}

// appendPortTXT appends the synthesised TXT record for port (owner
// compressed to the question at offset 12).
func (t *table) appendPortTXT(b []byte, port int, group []byte) []byte {
	var num [5]byte
	digits := strconv.AppendInt(num[:0], int64(port), 10)
	rdlen := 1 + 5 + len(digits) + len(group)
	b = append(b, 0xC0, 12, 0, byte(dns.TypeTXT), 0, byte(dns.ClassINET))
	b = binary.BigEndian.AppendUint32(b, t.ttl)
	b = binary.BigEndian.AppendUint16(b, uint16(rdlen))
	b = append(b, byte(5+len(digits)), 'p', 'o', 'r', 't', '=')
	b = append(b, digits...)
	return append(b, group...)
}
