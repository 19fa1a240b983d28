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
// (soa, then the rest in zone order) and the changes that led there.
type journalState struct {
	zone    string
	serial  uint32
	soa     string
	rrs     []string
	entries []*journalEntry
}

// encodeJournal lays st out as: magic, version 1, the zone name, the
// serial, the SOA, the records, the entries, then a SHA-256 of all
// that. Strings are a 32-bit length and the bytes; lists a 32-bit count.
func encodeJournal(st *journalState) []byte {
	n := len(journalMagic) + 64 + len(st.zone) + len(st.soa)
	for _, r := range st.rrs {
		n += 4 + len(r)
	}
	for _, e := range st.entries {
		n += 32 + e.size() + 4*(len(e.removed)+len(e.added))
	}
	b := make([]byte, 0, n)
	str := func(s string) { b = binary.BigEndian.AppendUint32(b, uint32(len(s))); b = append(b, s...) }
	list := func(l []string) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(l)))
		for _, s := range l {
			str(s)
		}
	}
	b = append(b, journalMagic...)
	b = append(b, 1)
	str(st.zone)
	b = binary.BigEndian.AppendUint32(b, st.serial)
	str(st.soa)
	list(st.rrs)
	b = binary.BigEndian.AppendUint32(b, uint32(len(st.entries)))
	for _, e := range st.entries {
		b = binary.BigEndian.AppendUint32(b, e.from)
		b = binary.BigEndian.AppendUint32(b, e.to)
		b = binary.BigEndian.AppendUint64(b, uint64(e.at))
		str(e.fromSOA)
		str(e.toSOA)
		list(e.removed)
		list(e.added)
	}
	sum := sha256.Sum256(b)
	return append(b, sum[:]...)
}

// parseJournal decodes what encodeJournal wrote. Anything else (another
// magic or version, a length past the end, bytes left over, a checksum
// that does not match, entries that do not chain) is errJournalFile.
func parseJournal(b []byte) (*journalState, error) {
	if len(b) < len(journalMagic)+1+sha256.Size || string(b[:len(journalMagic)]) != journalMagic {
		return nil, fmt.Errorf("%w: not a journal file", errJournalFile)
	}
	body, sum := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return nil, fmt.Errorf("%w: checksum mismatch (truncated or damaged)", errJournalFile)
	}
	if v := body[len(journalMagic)]; v != 1 {
		return nil, fmt.Errorf("%w: version %d", errJournalFile, v)
	}
	d := journalDecoder{b: body[len(journalMagic)+1:]}
	st := &journalState{zone: d.str()}
	st.serial = d.u32()
	st.soa = d.str()
	st.rrs = d.list()
	n := d.u32()
	for i := uint32(0); i < n && d.err == nil; i++ {
		e := &journalEntry{from: d.u32(), to: d.u32(), at: int64(d.u64())}
		e.fromSOA, e.toSOA = d.str(), d.str()
		e.removed, e.added = d.list(), d.list()
		st.entries = append(st.entries, e)
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
		case st.serial == t.serial && st.soa == t.soaWire && slices.Equal(st.rrs, wire):
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
	}
	return st
}

// saveJournal writes t's zone (wire, its records but the SOA) and
// journal to Config.JournalFile. A failure is logged and counted;
// serving goes on, and IXFR after a restart falls back to AXFR.
func (s *Server) saveJournal(t *table, wire []string) {
	if s.cfg.JournalFile == "" || s.cfg.JournalMaxBytes < 0 {
		return
	}
	st := &journalState{zone: s.cfg.Zone, serial: t.serial, soa: t.soaWire, rrs: wire}
	if t.journal != nil {
		st.entries = t.journal.entries
	}
	if err := writeFileAtomic(s.cfg.JournalFile, encodeJournal(st)); err != nil {
		s.metrics.journalFile[serialFileWrite].Inc()
		s.logger.Error("DNS journal file not written; after a restart IXFR falls back to AXFR",
			"file", s.cfg.JournalFile, "serial", t.serial, "error", err)
	}
}
