package registry

import (
	"sort"
	"strings"
)

// DynamicLow is the first port of the Dynamic and/or Private range (RFC 6335 section 6).
const DynamicLow = 49152

// portView indexes: 0 = every protocol, 1.. = Protocols[i-1] plus
// protocol-less rows.
const numViews = 1 + len(Protocols)

func protoView(p Protocol) int {
	for i, q := range Protocols {
		if q == p {
			return i + 1
		}
	}
	return 0
}

// portIndex maps each port 0-65535 to the records covering it, as one flat
// slice and an offset table, so a lookup is two loads and a reslice.
type portIndex struct {
	off  []uint32 // len 65538: port p's records are recs[off[p]:off[p+1]]
	recs []*Record
}

func (pi *portIndex) get(port int) []*Record {
	return pi.recs[pi.off[port]:pi.off[port+1]:pi.off[port+1]]
}

// Snapshot is an immutable, indexed registry. Every method is safe for
// concurrent use; returned slices must not be modified.
type Snapshot struct {
	records   []Record
	sources   []SourceInfo
	contacts  map[string]Contact
	conflicts []Conflict
	updated   string

	byName map[string][]*Record // lower(name)
	byType map[string][]*Record // lower(name) + "." + proto; protocol-less names under tcp and udp
	// subtypes are the known subtypes of each service type, keyed as
	// byType: a record's own, and those of the aliases and duplicates
	// (www-http) of the name they stand for (http).
	subtypes map[string][]string
	ports    [numViews]portIndex
	stats    Stats
	// profiles is the service-profile layer (nil: none, the
	// registry-only view).
	profiles *Profiles
	// search is built on the first Search, for this registry and
	// profile layer.
	search *searchIndex
}

// WithProfiles returns a snapshot of the same registry with the profile
// layer ps (nil: none). s is not modified.
func (s *Snapshot) WithProfiles(ps *Profiles) *Snapshot {
	c := *s
	c.profiles = ps
	c.search = new(searchIndex)
	return &c
}

// Profiles returns the profile layer, nil when there is none.
func (s *Snapshot) Profiles() *Profiles { return s.profiles }

// NameProfiles returns the profiles of a service name on any protocol,
// nil without a profile layer.
func (s *Snapshot) NameProfiles(name string) []*Profile { return s.profiles.ByName(name) }

// Profile returns the profile of a service type (case-insensitive), nil
// when there is none or the snapshot has no profile layer. It does not
// allocate.
func (s *Snapshot) Profile(name string, proto Protocol) *Profile {
	return s.profiles.Lookup(name, proto)
}

// SourceInfo describes one input of a snapshot.
type SourceInfo struct {
	Name    string `json:"name"`
	Format  Format `json:"format"`
	Updated string `json:"updated,omitempty"`
	Records int    `json:"records"`
}

// Build merges sources (in order; see Merge) and indexes the result. The
// sources are not modified.
func Build(sources ...*Source) (*Snapshot, error) {
	if len(sources) == 0 {
		return nil, ErrNoSources
	}
	merged, conflicts := Merge(sources...)
	s := &Snapshot{
		records:   merged,
		conflicts: conflicts,
		contacts:  make(map[string]Contact),
		byName:    make(map[string][]*Record, len(merged)),
		byType:    make(map[string][]*Record, len(merged)),
		subtypes:  make(map[string][]string),
		search:    new(searchIndex),
	}
	for _, src := range sources {
		s.sources = append(s.sources, SourceInfo{Name: src.Name, Format: src.Format, Updated: src.Updated, Records: len(src.Records)})
		if src.Updated > s.updated {
			s.updated = src.Updated
		}
		for _, c := range src.Contacts {
			if old, ok := s.contacts[c.ID]; !ok || c.Updated >= old.Updated {
				s.contacts[c.ID] = c
			}
		}
	}
	s.index()
	s.stats = computeStats(s)
	return s, nil
}

func (s *Snapshot) index() {
	for i := range s.records {
		r := &s.records[i]
		if r.Name == "" {
			continue
		}
		k := strings.ToLower(r.Name)
		s.byName[k] = append(s.byName[k], r)
		for _, tk := range typeKeys(k, r.Protocol) {
			s.byType[tk] = append(s.byType[tk], r)
		}
		if len(r.Subtypes) == 0 {
			continue
		}
		names := []string{k}
		if (r.Status == StatusAlias || r.Status == StatusDuplicate) && r.AliasOf != "" {
			names = append(names, strings.ToLower(r.AliasOf))
		}
		for _, n := range names {
			for _, tk := range typeKeys(n, r.Protocol) {
				for _, st := range r.Subtypes {
					if !HasName(s.subtypes[tk], st) {
						s.subtypes[tk] = append(s.subtypes[tk], st)
					}
				}
			}
		}
	}
	// Port views, a counting sort per view: off (len 65538) first counts
	// the records of port p in off[p+2]; prefix sums make off[p+1] the
	// start of p; placing records advances off[p+1] to the end of p,
	// which is the start of p+1, so off[p]:off[p+1] is port p's slice.
	var off [numViews][]uint32
	for v := range off {
		off[v] = make([]uint32, 65538)
	}
	for i := range s.records {
		r := &s.records[i]
		if !r.HasPort() {
			continue
		}
		vs, n := views(r)
		for _, v := range vs[:n] {
			for p := r.PortLow; p <= r.PortHigh; p++ {
				off[v][p+2]++
			}
		}
	}
	for v := range off {
		o := off[v]
		for p := 2; p < len(o); p++ {
			o[p] += o[p-1]
		}
		s.ports[v] = portIndex{off: o, recs: make([]*Record, o[65537])}
	}
	for i := range s.records {
		r := &s.records[i]
		if !r.HasPort() {
			continue
		}
		vs, n := views(r)
		for _, v := range vs[:n] {
			o, recs := off[v], s.ports[v].recs
			for p := r.PortLow; p <= r.PortHigh; p++ {
				recs[o[p+1]] = r
				o[p+1]++
			}
		}
	}
}

// views lists the port views a record belongs to: the all-protocols view,
// and its own protocol's (or every protocol's, when it has none).
func views(r *Record) (vs [numViews]int, n int) {
	if r.Protocol == ProtoNone {
		for v := range vs {
			vs[v] = v
		}
		return vs, numViews
	}
	if v := protoView(r.Protocol); v != 0 {
		return [numViews]int{0, v}, 2
	}
	return vs, 1
}

// lowerKey lowercases s into buf when needed, so that map lookups with
// string(b) do not allocate.
func lowerKey(buf []byte, s string) []byte {
	buf = buf[:0]
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf = append(buf, c)
	}
	return buf
}

// ByName returns every record registered under name (any protocol),
// compared case-insensitively. It does not allocate.
func (s *Snapshot) ByName(name string) []*Record {
	if len(name) > 128 {
		return nil
	}
	var buf [128]byte
	return s.byName[string(lowerKey(buf[:], name))]
}

// ByType returns the records of the DNS-SD service type _name._proto:
// registrations of name for proto, plus protocol-less (DNS-SD-only)
// registrations of name when proto is tcp or udp. It does not allocate.
func (s *Snapshot) ByType(name string, proto Protocol) []*Record {
	var buf [128]byte
	b, ok := lookupTypeKey(&buf, name, proto)
	if !ok {
		return nil
	}
	return s.byType[string(b)]
}

// lookupTypeKey writes the byType key of name and proto into buf, so that
// a lookup does not allocate; false when it does not fit (no such type).
func lookupTypeKey(buf *[128]byte, name string, proto Protocol) ([]byte, bool) {
	if len(name)+len(proto)+1 > len(buf) {
		return nil, false
	}
	b := lowerKey(buf[:], name)
	b = append(b, '.')
	return append(b, proto...), true
}

// typeKeys are the byType keys of lower-case name with proto: a
// protocol-less name is a type under both tcp and udp.
func typeKeys(name string, proto Protocol) []string {
	if proto == ProtoNone {
		return []string{name + ".tcp", name + ".udp"}
	}
	return []string{name + "." + string(proto)}
}

// Subtypes returns the known subtypes of the service type name/proto
// (RFC 6763 section 7.1): those its records list and those listed by its
// aliases and duplicates (the subtypes of www-http are http's). The slice
// is shared; do not modify it.
func (s *Snapshot) Subtypes(name string, proto Protocol) []string {
	var buf [128]byte
	b, ok := lookupTypeKey(&buf, name, proto)
	if !ok {
		return nil
	}
	return s.subtypes[string(b)]
}

// ByPort returns the records whose port or range covers port: for proto ""
// every protocol, else that protocol's records and protocol-less rows.
// Ports outside 0-65535 return nil. It does not allocate.
func (s *Snapshot) ByPort(port int, proto Protocol) []*Record {
	if port < 0 || port > 65535 {
		return nil
	}
	return s.ports[protoView(proto)].get(port)
}

// ByRange returns the records whose port or range overlaps lo-hi, in
// registry order, with ByPort's protocol rule.
func (s *Snapshot) ByRange(lo, hi int, proto Protocol) []*Record {
	var out []*Record
	for i := range s.records {
		r := &s.records[i]
		if !r.HasPort() || int(r.PortHigh) < lo || int(r.PortLow) > hi {
			continue
		}
		if proto == ProtoNone || r.Protocol == proto || r.Protocol == ProtoNone {
			out = append(out, r)
		}
	}
	return out
}

// PortStatus is the registry's verdict on one port: the status of its
// named assignments if any, else of the row or range covering it, else
// dynamic (49152-65535) or unassigned.
func (s *Snapshot) PortStatus(port int, proto Protocol) Status {
	recs := s.ByPort(port, proto)
	st, found := StatusUnassigned, false
	for _, r := range recs {
		if r.Name != "" {
			return StatusAssigned
		}
		if !found || r.Status == StatusReserved {
			st, found = r.Status, true
		}
	}
	if !found && port >= DynamicLow {
		return StatusDynamic
	}
	return st
}

// Records returns every merged record in source order.
func (s *Snapshot) Records() []Record { return s.records }

// Sources describes the inputs.
func (s *Snapshot) Sources() []SourceInfo { return s.sources }

// Updated is the newest "Last Updated" date among the sources.
func (s *Snapshot) Updated() string { return s.updated }

// Conflicts lists records that differed between sources.
func (s *Snapshot) Conflicts() []Conflict { return s.conflicts }

// Contact returns a person or organisation from the contact tables.
func (s *Snapshot) Contact(id string) (Contact, bool) {
	c, ok := s.contacts[id]
	return c, ok
}

// Names returns every distinct registered name (lowercased), sorted.
func (s *Snapshot) Names() []string {
	out := make([]string, 0, len(s.byName))
	for k := range s.byName {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Stats returns the precomputed statistics.
func (s *Snapshot) Stats() Stats { return s.stats }
