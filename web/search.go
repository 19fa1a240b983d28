package web

import (
	"cmp"
	"slices"
	"strings"

	"github.com/svcreg/svcreg/registry"
)

// maxQuery bounds the search box; no registry name or phrase is longer.
const maxQuery = 200

// maxRows is how many results a page lists; the count says how many more
// matched, and a narrower query finds them.
const maxRows = 500

// searchIndex is the lowercase text of one snapshot's records, built once
// per snapshot so that a search is one pass of substring tests.
type searchIndex struct {
	snap    *registry.Snapshot
	entries []indexEntry
	// aliases maps a lowercase name to the names that are aliases or
	// duplicates of it ("http" -> "www", "www-http").
	aliases map[string][]string
}

type indexEntry struct {
	rec  *registry.Record
	name string // lowercase name
	text string // lowercase name, description and TXT key names
}

func buildIndex(snap *registry.Snapshot) *searchIndex {
	recs := snap.Records()
	ix := &searchIndex{snap: snap, entries: make([]indexEntry, len(recs)), aliases: map[string][]string{}}
	var sb strings.Builder
	for i := range recs {
		r := &recs[i]
		sb.Reset()
		sb.WriteString(r.Name)
		sb.WriteByte(' ')
		sb.WriteString(r.Description)
		for _, k := range r.TXTKeys.Keys {
			sb.WriteByte(' ')
			sb.WriteString(k.Name)
		}
		ix.entries[i] = indexEntry{rec: r, name: strings.ToLower(r.Name), text: strings.ToLower(sb.String())}
		if r.AliasOf != "" {
			t := strings.ToLower(r.AliasOf)
			if !slices.Contains(ix.aliases[t], r.Name) {
				ix.aliases[t] = append(ix.aliases[t], r.Name)
			}
		}
	}
	return ix
}

// index returns the search index of snap, building it on first use after
// a reload. Only the newest snapshot's index is kept.
func (s *server) index(snap *registry.Snapshot) *searchIndex {
	if ix := s.idx.Load(); ix != nil && ix.snap == snap {
		return ix
	}
	s.idxMu.Lock()
	defer s.idxMu.Unlock()
	if ix := s.idx.Load(); ix != nil && ix.snap == snap {
		return ix
	}
	ix := buildIndex(snap)
	s.idx.Store(ix)
	return ix
}

// Match ranks: an exact name first, then names starting with the query,
// names containing it, and records whose description (or TXT keys) hold
// every word.
const (
	rankExact = iota
	rankPrefix
	rankName
	rankText
)

type hit struct {
	rec  *registry.Record
	rank int
	i    int // entry index: registry order
}

// search answers a name or word query (q.IsPort is handled by the
// snapshot's port index). Every word of the query must occur in a record's
// text; a protocol (from _name._proto) narrows the results.
func (ix *searchIndex) search(q registry.Query) []hit {
	name := strings.ToLower(strings.TrimSpace(q.Name))
	words := strings.Fields(name)
	if len(words) == 0 {
		return nil
	}
	var hits []hit
	for i := range ix.entries {
		e := &ix.entries[i]
		if !protoMatches(e.rec.Protocol, q.Protocol) {
			continue
		}
		var rank int
		switch {
		case e.name == name:
			rank = rankExact
		case len(words) == 1 && strings.HasPrefix(e.name, name):
			rank = rankPrefix
		case len(words) == 1 && strings.Contains(e.name, name):
			rank = rankName
		case containsAll(e.text, words):
			rank = rankText
		default:
			continue
		}
		hits = append(hits, hit{rec: e.rec, rank: rank, i: i})
	}
	// A counting sort by rank keeps the registry's (port) order within a
	// rank in one pass; only the name matches are then ordered, shortest
	// first.
	var start [rankText + 2]int
	for _, h := range hits {
		start[h.rank+1]++
	}
	for r := 1; r < len(start); r++ {
		start[r] += start[r-1]
	}
	out := make([]hit, len(hits))
	next := start
	for _, h := range hits {
		out[next[h.rank]] = h
		next[h.rank]++
	}
	for _, rank := range []int{rankPrefix, rankName} {
		slices.SortFunc(out[start[rank]:start[rank+1]], func(x, y hit) int {
			if c := cmp.Compare(len(x.rec.Name), len(y.rec.Name)); c != 0 {
				return c
			}
			return cmp.Compare(x.i, y.i)
		})
	}
	return out
}

// protoMatches follows Snapshot.ByType: a DNS-SD-only registration (no
// protocol) answers for both _tcp and _udp.
func protoMatches(have, want registry.Protocol) bool {
	if want == registry.ProtoNone || have == want {
		return true
	}
	return have == registry.ProtoNone && (want == registry.ProtoTCP || want == registry.ProtoUDP)
}

func containsAll(text string, words []string) bool {
	for _, w := range words {
		if !strings.Contains(text, w) {
			return false
		}
	}
	return true
}
