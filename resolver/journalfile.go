package resolver

// The journal file (Config.JournalFile): the zone as last served and the
// journal that led to it, so that IXFR survives a restart, even one on
// changed data (the difference is taken against the zone kept here).

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"
)

// journalMagic starts a journal file; the byte after it is the version.
const journalMagic = "svcreg-ixfr-journal\n"

// maxJournalFile bounds what is read: the zone plus the journal, which
// is bounded by Config.JournalMaxBytes.
const maxJournalFile = 1 << 30

// errJournalFile marks a journal file that exists but cannot be used.
var errJournalFile = errors.New("bad journal file")

// journalState is a journal file's content: the zone's records at serial
// (soa, then the rest) and the changes that led there.
type journalState struct {
	zone    string
	serial  uint32
	soa     string
	rrs     []string
	entries []*journalEntry
	// torn counts the bytes after the last whole record: an append
	// cut short (a crash while writing it), left out.
	torn int
}

// A journal file (version 2) is the magic, the version byte, then
// records: each a 32-bit length, that many bytes, and their SHA-256. The
// first record is the zone at a serial with the entries that led to it
// (encodeJournal); each record after it is one more entry (appendRecord),
// which takes the zone on to the entry's serial, so that a change is
// kept by appending its difference rather than writing the zone again.
// Within a record strings are a 32-bit length and the bytes, lists a
// 32-bit count. Version 1 (the zone record alone, unframed, and one
// SHA-256 at the end) is still read.

// encodeJournal lays st out as a version 2 file of one record.
func encodeJournal(st *journalState) []byte {
	n := len(journalMagic) + 64 + len(st.zone) + len(st.soa)
	for _, r := range st.rrs {
		n += 4 + len(r)
	}
	for _, e := range st.entries {
		n += 32 + e.size() + 4*(len(e.removed)+len(e.added))
	}
	b := make([]byte, 0, n+4+sha256.Size)
	b = append(b, journalMagic...)
	b = append(b, 2)
	return frame(b, func(b []byte) []byte { return appendZoneRecord(b, st) })
}

// appendRecord is the record that appends e to a journal file.
func appendRecord(e *journalEntry) []byte {
	return frame(make([]byte, 0, 64+e.size()+4*(len(e.removed)+len(e.added))), func(b []byte) []byte { return appendEntry(b, e) })
}

// frame appends to b a record whose content body appends.
func frame(b []byte, body func([]byte) []byte) []byte {
	at := len(b)
	b = append(b, 0, 0, 0, 0)
	b = body(b)
	binary.BigEndian.PutUint32(b[at:], uint32(len(b)-at-4))
	sum := sha256.Sum256(b[at+4:])
	return append(b, sum[:]...)
}

func appendStr(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

func appendList(b []byte, l []string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(l)))
	for _, s := range l {
		b = appendStr(b, s)
	}
	return b
}

func appendZoneRecord(b []byte, st *journalState) []byte {
	b = appendStr(b, st.zone)
	b = binary.BigEndian.AppendUint32(b, st.serial)
	b = appendStr(b, st.soa)
	b = appendList(b, st.rrs)
	b = binary.BigEndian.AppendUint32(b, uint32(len(st.entries)))
	for _, e := range st.entries {
		b = appendEntry(b, e)
	}
	return b
}

func appendEntry(b []byte, e *journalEntry) []byte {
	b = binary.BigEndian.AppendUint32(b, e.from)
	b = binary.BigEndian.AppendUint32(b, e.to)
	b = binary.BigEndian.AppendUint64(b, uint64(e.at))
	b = appendStr(b, e.fromSOA)
	b = appendStr(b, e.toSOA)
	b = appendList(b, e.removed)
	return appendList(b, e.added)
}

// parseJournal decodes a journal file. A file whose zone record is not
// whole and sound (another magic or version, a length past the end, a
// checksum that does not match, entries that do not chain) is
// errJournalFile; appended records after the last sound one are left
// out and counted in torn.
func parseJournal(b []byte) (*journalState, error) {
	if len(b) < len(journalMagic)+1+sha256.Size || string(b[:len(journalMagic)]) != journalMagic {
		return nil, fmt.Errorf("%w: not a journal file", errJournalFile)
	}
	switch v := b[len(journalMagic)]; v {
	case 1:
		body, sum := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
		if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
			return nil, fmt.Errorf("%w: checksum mismatch (truncated or damaged)", errJournalFile)
		}
		return parseZoneRecord(body[len(journalMagic)+1:])
	case 2:
	default:
		return nil, fmt.Errorf("%w: version %d", errJournalFile, v)
	}
	rest := b[len(journalMagic)+1:]
	rec, rest, ok := unframe(rest)
	if !ok {
		return nil, fmt.Errorf("%w: zone record truncated or damaged", errJournalFile)
	}
	st, err := parseZoneRecord(rec)
	if err != nil {
		return nil, err
	}
	for len(rest) > 0 {
		rec, next, ok := unframe(rest)
		if !ok {
			break
		}
		d := journalDecoder{b: rec}
		e := d.entry()
		if d.err != nil || len(d.b) != 0 || e.from != st.serial {
			break
		}
		st.entries = append(st.entries, e)
		st.serial, st.soa, st.rrs = e.to, e.toSOA, applyDiff(st.rrs, e.removed, e.added)
		rest = next
	}
	st.torn = len(rest)
	return st, nil
}

// unframe splits the first record off b: its content and what follows;
// false when it is cut short or its checksum does not match.
func unframe(b []byte) (rec, rest []byte, ok bool) {
	if len(b) < 4 {
		return nil, b, false
	}
	n := uint64(binary.BigEndian.Uint32(b))
	if n+4+sha256.Size > uint64(len(b)) {
		return nil, b, false
	}
	rec = b[4 : 4+n]
	if sum := sha256.Sum256(rec); !bytes.Equal(sum[:], b[4+n:4+n+sha256.Size]) {
		return nil, b, false
	}
	return rec, b[4+n+sha256.Size:], true
}

// parseZoneRecord decodes the zone record.
func parseZoneRecord(b []byte) (*journalState, error) {
	d := journalDecoder{b: b}
	st := &journalState{zone: d.str()}
	st.serial = d.u32()
	st.soa = d.str()
	st.rrs = d.list()
	n := d.u32()
	for i := uint32(0); i < n && d.err == nil; i++ {
		st.entries = append(st.entries, d.entry())
	}
	switch {
	case d.err != nil:
		return nil, d.err
	case len(d.b) != 0:
		return nil, fmt.Errorf("%w: %d bytes after the last entry", errJournalFile, len(d.b))
	}
	for i, e := range st.entries {
		next := st.serial
		if i+1 < len(st.entries) {
			next = st.entries[i+1].from
		}
		if e.to != next {
			return nil, fmt.Errorf("%w: entry %d ends at serial %d, the next starts at %d", errJournalFile, i+1, e.to, next)
		}
	}
	return st, nil
}

// applyDiff is rrs without removed (each once) and with added.
func applyDiff(rrs, removed, added []string) []string {
	gone := make(map[string]int, len(removed))
	for _, r := range removed {
		gone[r]++
	}
	out := make([]string, 0, len(rrs)+len(added))
	for _, r := range rrs {
		if gone[r] > 0 {
			gone[r]--
			continue
		}
		out = append(out, r)
	}
	return append(out, added...)
}

func (d *journalDecoder) entry() *journalEntry {
	e := &journalEntry{from: d.u32(), to: d.u32(), at: int64(d.u64())}
	e.fromSOA, e.toSOA = d.str(), d.str()
	e.removed, e.added = d.list(), d.list()
	return e
}

// journalDecoder reads encodeJournal's fields; the first overrun sets
// err and every later read returns zero values.
type journalDecoder struct {
	b   []byte
	err error
}

func (d *journalDecoder) take(n uint64) []byte {
	if d.err != nil || n > uint64(len(d.b)) {
		if d.err == nil {
			d.err = fmt.Errorf("%w: truncated", errJournalFile)
		}
		return nil
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}

func (d *journalDecoder) u32() uint32 {
	if b := d.take(4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (d *journalDecoder) u64() uint64 {
	if b := d.take(8); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

func (d *journalDecoder) str() string { return string(d.take(uint64(d.u32()))) }

func (d *journalDecoder) list() []string {
	n := d.u32()
	// Each string takes at least its 4-byte length: a count above what
	// is left is an overrun, caught before allocating for it.
	if uint64(n)*4 > uint64(len(d.b)) {
		d.take(uint64(len(d.b)) + 1)
		return nil
	}
	out := make([]string, 0, n)
	for i := uint32(0); i < n && d.err == nil; i++ {
		out = append(out, d.str())
	}
	return out
}

// readJournal reads and parses path; a missing file is fs.ErrNotExist
// (wrapped).
func readJournal(path string) (*journalState, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading journal file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxJournalFile+1))
	if err != nil {
		return nil, fmt.Errorf("reading journal file: %w", err)
	}
	if len(b) > maxJournalFile {
		return nil, fmt.Errorf("%w: larger than %d bytes", errJournalFile, maxJournalFile)
	}
	return parseJournal(b)
}

// nextJournal is the journal of t, the table about to be served with the
// records wire (SOA aside): old's journal with the change from old to t,
// or, for the first table of a process, the journal file's with the
// change from the zone it kept, when there was one.
func (s *Server) nextJournal(old, t *table, wire []string, now time.Time) *journal {
	if s.cfg.JournalMaxBytes < 0 {
		return nil
	}
	maxAge := time.Duration(s.cfg.SOAExpire) * time.Second
	var prev *journal
	var prevSerial uint32
	var prevSOA string
	var prevWire []string
	switch {
	case old != nil:
		prev, prevSerial, prevSOA, prevWire = old.journal, old.serial, old.soaWire, s.zoneWireNow()
	case s.cfg.JournalFile != "":
		st := s.loadJournal()
		if st == nil {
			return nil
		}
		prev = &journal{entries: st.entries}
		for _, e := range st.entries {
			prev.bytes += e.size()
		}
		switch {
		case st.serial == t.serial && st.soa == t.soaWire && sameWire(st.rrs, wire):
			return prev.trimmed(s.cfg.JournalMaxBytes, maxAge, now)
		case st.serial == t.serial || !serialLess(st.serial, t.serial):
			s.logger.Warn("DNS journal file does not lead to the zone served; IXFR starts a new journal",
				"file", s.cfg.JournalFile, "journal_serial", st.serial, "serial", t.serial)
			return nil
		}
		prevSerial, prevSOA, prevWire = st.serial, st.soa, st.rrs
	default:
		return nil
	}
	removed, added := diffZones(prevWire, wire)
	// The wire strings are slices of one string per zone version: a
	// journal entry keeps copies, not whole versions of the zone.
	for _, l := range [...][]string{removed, added} {
		for i := range l {
			l[i] = strings.Clone(l[i])
		}
	}
	e := &journalEntry{from: prevSerial, to: t.serial, at: now.Unix(), fromSOA: prevSOA, toSOA: t.soaWire,
		removed: removed, added: added}
	return prev.with(e, s.cfg.JournalMaxBytes, maxAge, now)
}

// loadJournal reads Config.JournalFile for this zone: nil when it is
// missing (the first run), unusable or for another zone (both logged and
// counted).
func (s *Server) loadJournal() *journalState {
	st, err := readJournal(s.cfg.JournalFile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		s.metrics.journalFile[serialFileRead].Inc()
		s.logger.Warn("DNS journal file ignored; IXFR starts a new journal", "file", s.cfg.JournalFile, "error", err)
		return nil
	case st.zone != s.cfg.Zone:
		s.logger.Warn("DNS journal file is for another zone; ignored", "file", s.cfg.JournalFile, "file_zone", st.zone, "zone", s.cfg.Zone)
		return nil
	case st.torn > 0:
		s.metrics.journalFile[serialFileRead].Inc()
		s.logger.Warn("DNS journal file ends in a change cut short; read up to the one before",
			"file", s.cfg.JournalFile, "serial", st.serial, "bytes_left_out", st.torn)
	}
	return st
}

// journalDisk is what the journal file holds, as this process last
// wrote it.
type journalDisk struct {
	ok       bool   // the file holds the zone at serial, written by this process
	serial   uint32 // the serial the file leads to
	base     int    // the bytes of its zone record
	appended int    // the bytes of the entries appended since
}

// appendFits reports whether n more bytes may be appended to a journal
// file whose zone record is base bytes and which has had appended bytes
// appended: up to half the zone record (at least 1 MiB), after which the
// file is written whole again, without the entries trimmed since.
func appendFits(base, appended, n int) bool {
	return appended+n <= max(base/2, 1<<20)
}

// saveJournal keeps t's zone and journal in Config.JournalFile: when the
// file leads to prev and t's last journal entry goes from prev to t, by
// appending that entry; otherwise by writing the file whole from wire()
// (t's records but the SOA). A failure is logged and counted; serving
// goes on, and IXFR after a restart falls back to AXFR.
func (s *Server) saveJournal(t *table, prev uint32, wire func() []string) {
	if s.cfg.JournalFile == "" || s.cfg.JournalMaxBytes < 0 {
		return
	}
	jd := &s.journalDisk
	if jd.ok && jd.serial == prev && t.journal != nil && len(t.journal.entries) > 0 {
		if e := t.journal.entries[len(t.journal.entries)-1]; e.from == prev && e.to == t.serial {
			rec := appendRecord(e)
			if appendFits(jd.base, jd.appended, len(rec)) {
				err := appendFile(s.cfg.JournalFile, rec)
				if err == nil {
					jd.serial, jd.appended = t.serial, jd.appended+len(rec)
					return
				}
				s.metrics.journalFile[serialFileWrite].Inc()
				s.logger.Warn("DNS journal file: appending the change failed; writing the file whole",
					"file", s.cfg.JournalFile, "serial", t.serial, "error", err)
			}
		}
	}
	st := &journalState{zone: s.cfg.Zone, serial: t.serial, soa: t.soaWire, rrs: wire()}
	if t.journal != nil {
		st.entries = t.journal.entries
	}
	data := encodeJournal(st)
	if err := writeFileAtomic(s.cfg.JournalFile, data); err != nil {
		jd.ok = false
		s.metrics.journalFile[serialFileWrite].Inc()
		s.logger.Error("DNS journal file not written; after a restart IXFR falls back to AXFR",
			"file", s.cfg.JournalFile, "serial", t.serial, "error", err)
		return
	}
	*jd = journalDisk{ok: true, serial: t.serial, base: len(data)}
}

// appendFile appends b to the file at path and syncs it.
func appendFile(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// sameWire reports whether a and b hold the same records, in any
// order.
func sameWire(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
