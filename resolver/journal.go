package resolver

// The IXFR journal (RFC 1995): the changes that led to the zone served,
// so a secondary holding an older serial gets only the difference.

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/miekg/dns"
)

// DefaultJournalMaxBytes bounds the record data a journal keeps when
// Config.JournalMaxBytes is 0.
const DefaultJournalMaxBytes = 16 << 20

// journalEntry is one change of the zone, from serial from to serial to:
// records in uncompressed wire form, the SOA excluded from removed and
// added (it is fromSOA and toSOA).
type journalEntry struct {
	from, to       uint32
	at             int64 // when the change was served, Unix seconds
	fromSOA, toSOA string
	removed, added []string
}

// size is what the entry counts against Config.JournalMaxBytes.
func (e *journalEntry) size() int {
	n := len(e.fromSOA) + len(e.toSOA)
	for _, r := range e.removed {
		n += len(r)
	}
	for _, r := range e.added {
		n += len(r)
	}
	return n
}

// journal is the chain of changes that led to one table, oldest first
// (entries[i].to == entries[i+1].from). It is never changed once a
// table holds it: with returns a new one.
type journal struct {
	entries []*journalEntry
	bytes   int
}

// with returns the journal with e appended, the oldest entries dropped
// while it holds more than maxBytes or they are older than maxAge (a
// secondary that has not refreshed for longer than the SOA expire no
// longer serves the zone, so an older difference helps no one). e
// alone above maxBytes leaves an empty journal.
func (j *journal) with(e *journalEntry, maxBytes int, maxAge time.Duration, now time.Time) *journal {
	var entries []*journalEntry
	bytes := 0
	if j != nil {
		// Appending may write past j's entries into their array: j
		// never reads there, and only the newest journal is extended,
		// so the cost is the change's, not the journal's.
		entries, bytes = j.entries, j.bytes
	}
	entries = append(entries, e)
	return (&journal{entries: entries, bytes: bytes + e.size()}).trimmed(maxBytes, maxAge, now)
}

// trimmed is with without a new entry: the journal within maxBytes and
// maxAge.
func (j *journal) trimmed(maxBytes int, maxAge time.Duration, now time.Time) *journal {
	entries, bytes := j.entries, j.bytes
	oldest := now.Add(-maxAge).Unix()
	for len(entries) > 0 && (bytes > maxBytes || entries[0].at < oldest) {
		bytes -= entries[0].size()
		entries = entries[1:]
	}
	return &journal{entries: entries, bytes: bytes}
}

// since condenses the changes from serial from to the last one into one
// difference (RFC 1995 section 5 allows it): the records of the zone at
// from that are gone, and the records the zone has gained, each in the
// order it first changed. ok is false when the journal does not reach
// back to from.
func (j *journal) since(from uint32) (fromSOA string, removed, added []string, ok bool) {
	if j == nil {
		return "", nil, nil, false
	}
	i := slices.IndexFunc(j.entries, func(e *journalEntry) bool { return e.from == from })
	if i < 0 {
		return "", nil, nil, false
	}
	rem, add := map[string]int{}, map[string]int{}
	seq := 0
	for _, e := range j.entries[i:] {
		for _, r := range e.removed {
			if _, ok := add[r]; ok {
				delete(add, r) // added since from, gone again
			} else {
				rem[r] = seq
				seq++
			}
		}
		for _, a := range e.added {
			if _, ok := rem[a]; ok {
				delete(rem, a) // removed since from, back again
			} else {
				add[a] = seq
				seq++
			}
		}
	}
	return j.entries[i].fromSOA, inOrder(rem), inOrder(add), true
}

// inOrder lists a set's records by the sequence number each maps to.
func inOrder(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for r := range m {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b string) int { return cmp.Compare(m[a], m[b]) })
	return out
}

// diffZones returns the records of old that are not in cur and those of
// cur that are not in old (each list in its zone's order).
func diffZones(old, cur []string) (removed, added []string) {
	seen := make(map[string]bool, len(old))
	for _, r := range old {
		seen[r] = false
	}
	for _, r := range cur {
		if _, ok := seen[r]; ok {
			seen[r] = true
		} else {
			added = append(added, r)
		}
	}
	for _, r := range old {
		if !seen[r] {
			removed = append(removed, r)
			seen[r] = true // a duplicate in old is listed once
		}
	}
	return removed, added
}

// zoneWire is every record of rrs in uncompressed wire form.
func zoneWire(rrs []dns.RR) ([]string, error) {
	// One buffer for all, made one string: the records are substrings of
	// it rather than a string allocation each.
	all := make([]byte, 0, 64*len(rrs))
	ends := make([]int, len(rrs))
	for i, rr := range rrs {
		if cap(all)-len(all) < 1024 {
			all = slices.Grow(all, 1024+len(all)/2)
		}
		n, err := dns.PackRR(rr, all[len(all):cap(all)], 0, nil, false)
		if errors.Is(err, dns.ErrBuf) { // a record over 1 KB, rare: room for the largest
			all = slices.Grow(all, 65536)
			n, err = dns.PackRR(rr, all[len(all):cap(all)], 0, nil, false)
		}
		if err != nil {
			return nil, fmt.Errorf("packing %s: %w", rr.Header().Name, err)
		}
		all = all[:len(all)+n]
		ends[i] = len(all)
	}
	s := string(all)
	out := make([]string, len(rrs))
	start := 0
	for i, end := range ends {
		out[i] = s[start:end]
		start = end
	}
	return out, nil
}

// ixfrMessages answers an IXFR from serial from with the condensed
// difference: our SOA, the SOA at from, the records removed, our SOA,
// the records added, our SOA (RFC 1995 section 4). nil means the
// journal cannot answer (it does not reach back to from, or the
// difference is larger than the zone) and the whole zone goes instead.
func (t *table) ixfrMessages(from uint32) ([][]byte, error) {
	fromSOA, removed, added, ok := t.journal.since(from)
	if !ok || len(removed)+len(added) >= t.records {
		return nil, nil
	}
	wire := make([]string, 0, len(removed)+len(added)+4)
	wire = append(wire, t.soaWire, fromSOA)
	wire = append(wire, removed...)
	wire = append(wire, t.soaWire)
	wire = append(wire, added...)
	wire = append(wire, t.soaWire)
	rrs := make([]dns.RR, len(wire))
	for i, w := range wire {
		rr, _, err := dns.UnpackRR([]byte(w), 0)
		if err != nil {
			return nil, fmt.Errorf("journal record %d: %w", i, err)
		}
		rrs[i] = rr
	}
	var p packer
	return p.packXFR(dns.Question{Name: t.soa.Hdr.Name, Qtype: dns.TypeIXFR, Qclass: dns.ClassINET}, rrs)
}
