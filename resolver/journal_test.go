package resolver

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestJournalSince(t *testing.T) {
	e := func(from, to uint32, removed, added []string) *journalEntry {
		return &journalEntry{from: from, to: to, fromSOA: "soa" + string(rune('0'+from)), removed: removed, added: added}
	}
	j := &journal{entries: []*journalEntry{
		e(1, 2, nil, []string{"b"}),
		e(2, 3, []string{"a"}, []string{"c"}),
		e(3, 4, []string{"b", "c"}, []string{"a", "d"}),
	}}
	for _, tc := range []struct {
		from           uint32
		removed, added []string
		ok             bool
		fromSOA        string
	}{
		{1, []string{}, []string{"d"}, true, "soa1"},    // b and c came and went, a went and came back
		{2, []string{"b"}, []string{"d"}, true, "soa2"}, // a went and came back
		{3, []string{"b", "c"}, []string{"a", "d"}, true, "soa3"},
		{4, nil, nil, false, ""}, // the current serial is not a change
		{9, nil, nil, false, ""},
	} {
		fromSOA, removed, added, ok := j.since(tc.from)
		assert.Equal(t, tc.ok, ok, "from %d", tc.from)
		if ok {
			assert.Equal(t, tc.removed, removed, "from %d", tc.from)
			assert.Equal(t, tc.added, added, "from %d", tc.from)
			assert.Equal(t, tc.fromSOA, fromSOA)
		}
	}
	_, _, _, ok := (*journal)(nil).since(1)
	assert.False(t, ok)
}

func TestDiffZones(t *testing.T) {
	removed, added := diffZones([]string{"a", "b", "c", "c"}, []string{"c", "d", "a", "e"})
	assert.Equal(t, []string{"b"}, removed)
	assert.Equal(t, []string{"d", "e"}, added)
	removed, added = diffZones(nil, []string{"x"})
	assert.Empty(t, removed)
	assert.Equal(t, []string{"x"}, added)
}

// TestJournalTrim: the oldest entries go first, by size and by age; an
// entry larger than the bound leaves nothing.
func TestJournalTrim(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	entry := func(from uint32, size int, age time.Duration) *journalEntry {
		return &journalEntry{from: from, to: from + 1, at: now.Add(-age).Unix(), added: []string{string(make([]byte, size))}}
	}
	var j *journal
	for i := range uint32(5) {
		j = j.with(entry(i, 100, 0), 350, time.Hour, now)
	}
	require.Len(t, j.entries, 3)
	assert.Equal(t, uint32(2), j.entries[0].from)
	assert.Equal(t, 300, j.bytes)
	j = j.with(entry(5, 10, 0), 1000, time.Hour, now)
	assert.Len(t, j.entries, 4)
	// Age: entries older than maxAge go even when there is room.
	old := (&journal{}).with(entry(0, 10, 2*time.Hour), 1000, time.Hour, now)
	assert.Empty(t, old.entries)
	assert.Zero(t, old.bytes)
	assert.Empty(t, j.with(entry(6, 2000, 0), 1000, time.Hour, now).entries)
}

func testJournalState() *journalState {
	return &journalState{zone: "services.internal.", serial: 7, soa: "S7", rrs: []string{"a", "b", ""},
		entries: []*journalEntry{
			{from: 5, to: 6, at: 100, fromSOA: "S5", toSOA: "S6", removed: []string{"x"}, added: []string{"a"}},
			{from: 6, to: 7, at: 200, fromSOA: "S6", toSOA: "S7", added: []string{"b", ""}},
		}}
}

func TestJournalFileRoundTrip(t *testing.T) {
	st := testJournalState()
	got, err := parseJournal(encodeJournal(st))
	require.NoError(t, err)
	assert.Equal(t, st.zone, got.zone)
	assert.Equal(t, st.serial, got.serial)
	assert.Equal(t, st.soa, got.soa)
	assert.Equal(t, st.rrs, got.rrs)
	require.Len(t, got.entries, 2)
	assert.Equal(t, *st.entries[0], *got.entries[0])
	assert.Equal(t, st.entries[1].added, got.entries[1].added)
	assert.Empty(t, got.entries[1].removed)
}

func TestParseJournalBad(t *testing.T) {
	good := encodeJournal(testJournalState())
	broken := testJournalState()
	broken.entries[0].to = 9 // does not chain to the next entry
	flipped := bytes.Clone(good)
	flipped[len(journalMagic)+5] ^= 1
	for name, b := range map[string][]byte{
		"empty":          nil,
		"other magic":    append([]byte("not-a-journal-file!\n"), good[len(journalMagic):]...),
		"truncated":      good[:len(good)-1],
		"damaged":        flipped,
		"broken chain":   encodeJournal(broken),
		"only the magic": []byte(journalMagic),
	} {
		_, err := parseJournal(b)
		assert.True(t, errors.Is(err, errJournalFile), "%s: %v", name, err)
	}
}

// FuzzParseJournal: no input panics or allocates without bound, and
// what parses is what it encodes to parses as.
func FuzzParseJournal(f *testing.F) {
	f.Add(encodeJournal(testJournalState()))
	f.Add(encodeJournal(&journalState{zone: "a."}))
	f.Add(append(encodeJournal(testJournalState()), appendRecord(&journalEntry{from: 7, to: 8, toSOA: "S8", removed: []string{"a"}})...))
	f.Add(encodeJournalV1(testJournalState()))
	f.Add([]byte(journalMagic + "\x02"))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := parseJournal(b)
		if err != nil {
			return
		}
		again, err := parseJournal(encodeJournal(st))
		require.NoError(t, err)
		st.torn = 0
		assert.Equal(t, st, again)
	})
}

// encodeJournalV1 is the first version of the file: the zone record
// unframed, one SHA-256 at the end.
func encodeJournalV1(st *journalState) []byte {
	b := append([]byte(journalMagic), 1)
	b = appendZoneRecord(b, st)
	sum := sha256.Sum256(b)
	return append(b, sum[:]...)
}

// TestParseJournalAppended: entries appended to a journal file take the
// zone on, one serial each; one cut short (a crash while appending it)
// or not following on is left out with what comes after it; a version 1
// file still reads.
func TestParseJournalAppended(t *testing.T) {
	base := encodeJournal(testJournalState())
	e8 := appendRecord(&journalEntry{from: 7, to: 8, at: 300, fromSOA: "S7", toSOA: "S8", removed: []string{"a"}, added: []string{"c"}})
	e9 := appendRecord(&journalEntry{from: 8, to: 9, at: 400, fromSOA: "S8", toSOA: "S9", removed: []string{""}})
	stray := appendRecord(&journalEntry{from: 3, to: 4})
	for _, tc := range []struct {
		name   string
		b      []byte
		serial uint32
		rrs    []string
		n      int
		torn   bool
	}{
		{"zone record alone", base, 7, []string{"a", "b", ""}, 2, false},
		{"two appended", slices.Concat(base, e8, e9), 9, []string{"b", "c"}, 4, false},
		{"last cut short", slices.Concat(base, e8, e9[:len(e9)-1]), 8, []string{"b", "", "c"}, 3, true},
		{"length cut short", slices.Concat(base, e8, e9[:2]), 8, []string{"b", "", "c"}, 3, true},
		{"not following on", slices.Concat(base, stray, e8), 7, []string{"a", "b", ""}, 2, true},
		{"version 1", encodeJournalV1(testJournalState()), 7, []string{"a", "b", ""}, 2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := parseJournal(tc.b)
			require.NoError(t, err)
			assert.Equal(t, tc.serial, st.serial)
			assert.ElementsMatch(t, tc.rrs, st.rrs)
			assert.Len(t, st.entries, tc.n)
			assert.Equal(t, tc.torn, st.torn > 0)
			if st.serial > 7 {
				assert.Equal(t, fmt.Sprintf("S%d", st.serial), st.soa)
			}
		})
	}
}

func TestAppendFits(t *testing.T) {
	assert.True(t, appendFits(100, 0, 1<<20), "small zones: up to 1 MiB")
	assert.False(t, appendFits(100, 1, 1<<20))
	assert.True(t, appendFits(8<<20, 3<<20, 1<<20), "up to half the zone record")
	assert.False(t, appendFits(8<<20, 3<<20, 1<<20+1))
}
