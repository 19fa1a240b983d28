package registry

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode"
)

// MaxSearchLen bounds a search query; no registry name or phrase is
// longer.
const MaxSearchLen = 200

// Rank orders search results, best first.
type Rank uint8

const (
	// RankExact is the name asked for, or a record on the port or range
	// asked for.
	RankExact Rank = iota
	// RankPrefix names start with the query (ipps, ipp-tls for ipp).
	RankPrefix
	// RankRelated names are aliases and duplicates of an exact match,
	// names with the query as a part of their own (sun-ipp), and names
	// whose description has the query as a word (pwgippfax: "PWG IPP
	// Facsimile").
	RankRelated
	// RankName names hold the query elsewhere (hippad for ipp).
	RankName
	// RankText services have every word of the query in their
	// descriptions, assignees, contacts, references or TXT keys.
	RankText
)

var rankNames = [...]string{"exact", "prefix", "related", "name", "text"}

func (r Rank) String() string {
	if int(r) < len(rankNames) {
		return rankNames[r]
	}
	return fmt.Sprintf("rank(%d)", r)
}

// MarshalText writes the rank's name.
func (r Rank) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// SearchGroup is one service in a search result: every record of one
// name (its tcp, udp, sctp and dccp rows together), or one unnamed port
// row.
type SearchGroup struct {
	// Name is the name as registered, "" for an unnamed port row.
	Name      string
	Rank      Rank
	Protocols []Protocol
	Records   []*Record
	// Profiles are the service profiles of the name; a name only a
	// profile knows has no Records.
	Profiles []*Profile
}

// MarshalJSON writes the group with empty lists as [], never null.
func (g SearchGroup) MarshalJSON() ([]byte, error) {
	type out struct {
		Name      string     `json:"name"`
		Rank      Rank       `json:"rank"`
		Protocols []Protocol `json:"protocols"`
		Records   []*Record  `json:"records"`
		Profiles  []*Profile `json:"profiles,omitempty"`
	}
	o := out(g)
	if o.Protocols == nil {
		o.Protocols = []Protocol{}
	}
	if o.Records == nil {
		o.Records = []*Record{}
	}
	return json.Marshal(o)
}

// SearchResult answers one search.
type SearchResult struct {
	Query Query
	// Groups are the best matches, at most the limit asked for.
	Groups []SearchGroup
	// Total counts every matching group, before the limit.
	Total int
	// DidYouMean lists registered names a few edits from a name query
	// that matched no name exactly or as a prefix.
	DidYouMean []string
}

// Exact reports how many leading groups are exact matches.
func (r *SearchResult) Exact() int {
	n := 0
	for _, g := range r.Groups {
		if g.Rank != RankExact {
			break
		}
		n++
	}
	return n
}

// searchIndex holds a snapshot's services, one entry per name, and
// inverted indexes of their words. It is built on the first search, so
// that loading stays fast; a search is then a scan of the names and a
// few index lookups.
type searchIndex struct {
	once    sync.Once
	entries []searchEntry
	byName  map[string]int // lowercase name -> entry
	// aliases maps a lowercase name to the registered names that are its
	// aliases or duplicates.
	aliases map[string][]string
	// related maps a word to the entries that have it as a part of their
	// name (sun-ipp) or as a word of their description.
	related map[string][]int32
	// vocab is every word of the entries' descriptions, assignees,
	// contacts, references, TXT keys and subtypes, sorted; post[i] lists
	// the entries with vocab[i], ascending.
	vocab []string
	post  [][]int32
}

type searchEntry struct {
	name     string // lowercase
	display  string // as registered
	recs     []*Record
	profiles []*Profile
	protos   []Protocol
}

// searchWords calls fn with each lowercase alphanumeric word of s.
func searchWords(s string, fn func(string)) {
	s = strings.ToLower(s)
	start := -1
	for i, c := range s {
		word := unicode.IsLetter(c) || unicode.IsDigit(c)
		switch {
		case word && start < 0:
			start = i
		case !word && start >= 0:
			fn(s[start:i])
			start = -1
		}
	}
	if start >= 0 {
		fn(s[start:])
	}
}

// refWords calls fn with the words of a reference; RFC6763 is found as
// "rfc6763" and as "rfc 6763".
func refWords(ref string, fn func(string)) {
	searchWords(ref, fn)
	if num, ok := strings.CutPrefix(strings.ToLower(ref), "rfc"); ok {
		searchWords(num, fn)
	}
}

// queryWords are the lowercase alphanumeric words of s.
func queryWords(s string) []string {
	var out []string
	searchWords(s, func(w string) { out = append(out, w) })
	return out
}

func (ix *searchIndex) build(s *Snapshot) {
	ix.byName = map[string]int{}
	ix.aliases = map[string][]string{}
	addAlias := func(k, name string) {
		if !slices.Contains(ix.aliases[k], name) {
			ix.aliases[k] = append(ix.aliases[k], name)
		}
	}
	entry := func(name string) *searchEntry {
		k := strings.ToLower(name)
		n, ok := ix.byName[k]
		if !ok {
			n = len(ix.entries)
			ix.byName[k] = n
			ix.entries = append(ix.entries, searchEntry{name: k, display: name})
		}
		return &ix.entries[n]
	}
	for i := range s.records {
		r := &s.records[i]
		if r.Name == "" {
			continue
		}
		e := entry(r.Name)
		e.recs = append(e.recs, r)
		e.protos = addProto(e.protos, r.Protocol)
		if r.AliasOf != "" {
			addAlias(strings.ToLower(r.AliasOf), r.Name)
		}
	}
	for _, p := range s.profiles.All() {
		e := entry(p.Name)
		e.profiles = append(e.profiles, p)
		for _, proto := range p.Protocols {
			e.protos = addProto(e.protos, proto)
		}
	}
	ix.related = map[string][]int32{}
	text := map[string][]int32{}
	for i := range ix.entries {
		e := &ix.entries[i]
		n := int32(i)
		add := func(m map[string][]int32) func(string) {
			return func(w string) {
				if l := m[w]; len(l) == 0 || l[len(l)-1] != n {
					m[w] = append(l, n)
				}
			}
		}
		related, words := add(ix.related), add(text)
		searchWords(e.name, related)
		for _, r := range e.recs {
			searchWords(r.Description, related)
			searchWords(r.Description, words)
			searchWords(r.Assignee, words)
			searchWords(r.Contact, words)
			for _, ref := range r.References {
				refWords(ref, words)
			}
			for _, k := range r.TXTKeys.Keys {
				searchWords(k.Name, words)
			}
			for _, sub := range r.Subtypes {
				searchWords(sub, words)
			}
		}
		for _, p := range e.profiles {
			searchWords(p.Description, related)
			searchWords(p.Description, words)
			for _, ref := range p.Refs {
				refWords(ref, words)
			}
			for _, k := range p.Keys {
				searchWords(k.Name, words)
			}
		}
	}
	ix.vocab = make([]string, 0, len(text))
	for w := range text {
		ix.vocab = append(ix.vocab, w)
	}
	slices.Sort(ix.vocab)
	ix.post = make([][]int32, len(ix.vocab))
	for i, w := range ix.vocab {
		ix.post[i] = text[w]
	}
}

func (s *Snapshot) searchIndex() *searchIndex {
	s.search.once.Do(func() { s.search.build(s) })
	return s.search
}

// PrepareSearch builds the search index now rather than on the first
// Search, so that no user waits for it.
func (s *Snapshot) PrepareSearch() { s.searchIndex() }

// Aliases returns the registered names that are aliases or duplicates of
// name (www and www-http for http).
func (s *Snapshot) Aliases(name string) []string {
	return s.searchIndex().aliases[strings.ToLower(name)]
}

// Search answers one query the way every interface shows it: a port
// (631, 631/udp, _631._udp), a port range (6000-6063: every registration
// overlapping it), a name or DNS-SD type with or without a domain
// (_ipp._tcp.local.), or words of descriptions, assignees and references
// (RFC6763). Name matches rank exact, prefix, related, other names, then
// text; results are grouped per service with its protocols. limit bounds
// Groups (0: no bound); Total counts them all.
func (s *Snapshot) Search(raw string, limit int) (SearchResult, error) {
	raw = strings.TrimSpace(raw)
	if len(raw) > MaxSearchLen {
		return SearchResult{}, fmt.Errorf("%w: the query is %d bytes long; the longest accepted is %d",
			ErrBadQuery, len(raw), MaxSearchLen)
	}
	q, err := ParseQuery(raw)
	if err != nil {
		return SearchResult{Query: q}, err
	}
	res := SearchResult{Query: q}
	if q.IsPort {
		res.Groups = portGroups(s.Lookup(q))
	} else {
		res.Groups = s.searchIndex().names(q)
		if (len(res.Groups) == 0 || res.Groups[0].Rank > RankPrefix) && !strings.ContainsFunc(q.Name, unicode.IsSpace) {
			res.DidYouMean = s.searchIndex().suggest(q.Name, 5)
		}
	}
	res.Total = len(res.Groups)
	if limit > 0 && len(res.Groups) > limit {
		res.Groups = res.Groups[:limit]
	}
	return res, nil
}

// portGroups groups the records on a port by name, in registry order;
// each unnamed row is a group of its own.
func portGroups(recs []*Record) []SearchGroup {
	var out []SearchGroup
	at := map[string]int{}
	for _, r := range recs {
		k := strings.ToLower(r.Name)
		if i, ok := at[k]; ok && r.Name != "" {
			out[i].Records = append(out[i].Records, r)
			out[i].Protocols = addProto(out[i].Protocols, r.Protocol)
			continue
		}
		at[k] = len(out)
		out = append(out, SearchGroup{Name: r.Name, Rank: RankExact, Records: []*Record{r},
			Protocols: addProto(nil, r.Protocol)})
	}
	return out
}

func addProto(ps []Protocol, p Protocol) []Protocol {
	if p == ProtoNone || slices.Contains(ps, p) {
		return ps
	}
	return append(ps, p)
}

type nameHit struct {
	entry int
	rank  Rank
}

// Marks of an entry during one search.
const (
	markRelated uint8 = 1 << 7 // the low bits count the query's words found
)

// names ranks the services for a name or word query.
func (ix *searchIndex) names(q Query) []SearchGroup {
	name := strings.ToLower(q.Name)
	words := queryWords(name)
	one := !strings.ContainsFunc(name, unicode.IsSpace)
	if len(words) > 32 {
		words = words[:32]
	}
	marks := make([]uint8, len(ix.entries))
	if len(words) == 1 {
		for _, n := range ix.related[words[0]] {
			marks[n] |= markRelated
		}
	}
	// An entry has the i-th word when its count is i before and i+1
	// after that word's postings, so entries missing a word drop out.
	for i, w := range words {
		lo, _ := slices.BinarySearch(ix.vocab, w)
		for j := lo; j < len(ix.vocab) && strings.HasPrefix(ix.vocab[j], w); j++ {
			for _, n := range ix.post[j] {
				if int(marks[n]&^markRelated) == i {
					marks[n]++
				}
			}
		}
	}
	hits := make([]nameHit, 0, 64)
	for i := range ix.entries {
		e := &ix.entries[i]
		var rank Rank
		switch {
		case e.name == name:
			rank = RankExact
		case one && strings.HasPrefix(e.name, name):
			rank = RankPrefix
		case marks[i]&markRelated != 0:
			rank = RankRelated
		case one && strings.Contains(e.name, name):
			rank = RankName
		case len(words) > 0 && int(marks[i]&^markRelated) == len(words):
			rank = RankText
		default:
			continue
		}
		hits = append(hits, nameHit{entry: i, rank: rank})
	}
	// The aliases and duplicates of an exact match, and the name an exact
	// alias stands for, are related to it.
	for _, h := range hits {
		if h.rank != RankExact {
			continue
		}
		e := &ix.entries[h.entry]
		related := ix.aliases[e.name]
		for _, r := range e.recs {
			if r.AliasOf != "" && !slices.Contains(related, r.AliasOf) {
				related = append(slices.Clip(related), r.AliasOf)
			}
		}
		for _, a := range related {
			n, ok := ix.byName[strings.ToLower(a)]
			if !ok {
				continue
			}
			if j := slices.IndexFunc(hits, func(h nameHit) bool { return h.entry == n }); j >= 0 {
				hits[j].rank = min(hits[j].rank, RankRelated)
			} else {
				hits = append(hits, nameHit{entry: n, rank: RankRelated})
			}
		}
	}
	slices.SortFunc(hits, func(a, b nameHit) int {
		if c := cmp.Compare(a.rank, b.rank); c != 0 {
			return c
		}
		if a.rank != RankText {
			if c := cmp.Compare(len(ix.entries[a.entry].name), len(ix.entries[b.entry].name)); c != 0 {
				return c
			}
		}
		return cmp.Compare(a.entry, b.entry)
	})
	out := make([]SearchGroup, 0, len(hits))
	for _, h := range hits {
		if g, ok := ix.entries[h.entry].group(h.rank, q.Protocol); ok {
			out = append(out, g)
		}
	}
	return out
}

// group is the entry as a result, narrowed to proto ("" any); ok is false
// when nothing of it is on proto.
func (e *searchEntry) group(rank Rank, proto Protocol) (SearchGroup, bool) {
	g := SearchGroup{Name: e.display, Rank: rank, Protocols: e.protos, Records: e.recs, Profiles: e.profiles}
	if proto == ProtoNone {
		return g, true
	}
	g.Records, g.Protocols, g.Profiles = nil, nil, nil
	for _, r := range e.recs {
		if r.Protocol == proto || r.Protocol == ProtoNone && (proto == ProtoTCP || proto == ProtoUDP) {
			g.Records = append(g.Records, r)
		}
	}
	for _, p := range e.profiles {
		if p.HasProtocol(proto) {
			g.Profiles = append(g.Profiles, p)
		}
	}
	if len(g.Records) == 0 && len(g.Profiles) == 0 {
		return g, false
	}
	g.Protocols = []Protocol{proto}
	return g, true
}

// suggest returns up to n registered names within a few edits of name,
// nearest first: one edit for names up to 4 characters, two up to 8,
// three beyond.
func (ix *searchIndex) suggest(name string, n int) []string {
	name = strings.ToLower(name)
	if name == "" || len(name) > 64 {
		return nil
	}
	maxDist := 3
	switch {
	case len(name) <= 4:
		maxDist = 1
	case len(name) <= 8:
		maxDist = 2
	}
	type near struct {
		dist, entry int
	}
	var found []near
	var rows [3][66]int
	for i := range ix.entries {
		e := &ix.entries[i]
		if d := len(e.name) - len(name); d > maxDist || -d > maxDist || len(e.name) > 64 {
			continue
		}
		if d := editDistance(name, e.name, maxDist, &rows); d <= maxDist {
			found = append(found, near{d, i})
		}
	}
	slices.SortFunc(found, func(a, b near) int {
		if c := cmp.Compare(a.dist, b.dist); c != 0 {
			return c
		}
		return cmp.Compare(ix.entries[a.entry].name, ix.entries[b.entry].name)
	})
	var out []string
	for _, f := range found[:min(n, len(found))] {
		out = append(out, ix.entries[f.entry].display)
	}
	return out
}

// editDistance is the optimal string alignment distance of a and b
// (insertions, deletions, substitutions and transpositions of adjacent
// bytes, each one edit), for strings of at most 64 bytes, or some value
// above limit once the distance is sure to exceed it; rows is scratch
// space.
func editDistance(a, b string, limit int, rows *[3][66]int) int {
	prev2, prev, cur := rows[0][:len(b)+1], rows[1][:len(b)+1], rows[2][:len(b)+1]
	for j := range prev {
		prev[j] = j
	}
	prevMin := 0
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		curMin := i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
			curMin = min(curMin, v)
		}
		// A row is at least the smaller of the row before and the one
		// before that plus one: past the limit here, past it for good.
		if curMin > limit && prevMin >= limit {
			return limit + 1
		}
		prevMin = curMin
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
