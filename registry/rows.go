package registry

// The row parser shared by the plain-text and markdown renderings of the
// registry web page: lines, column cutting by token shape, contacts.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

const (
	// rowMaxLine bounds one physical line of a text or markdown source.
	rowMaxLine = 1 << 20
	// rowMaxHeader is how far the table header may be from the top.
	rowMaxHeader = 2000
)

// line is one physical line, trimmed, with its 1-based number.
type rowLine struct {
	n    int
	text string
}

// lines reads r into trimmed lines. Binary data (NUL bytes, invalid
// UTF-8) and over-long lines are a syntax error naming the line.
func rowLines(r io.Reader, name string) ([]rowLine, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), rowMaxLine)
	var lines []rowLine
	n := 0
	for sc.Scan() {
		n++
		b := sc.Bytes()
		if n == 1 {
			b = bytes.TrimPrefix(b, []byte("\ufeff"))
		}
		if bytes.IndexByte(b, 0) >= 0 || !utf8.Valid(b) {
			return nil, &ParseError{File: name, Line: n, Msg: "binary data, not a text rendering of the registry", Err: ErrSyntax}
		}
		lines = append(lines, rowLine{n: n, text: strings.TrimSpace(string(b))})
	}
	if err := sc.Err(); err != nil {
		return nil, scanError(err, name, n+1, rowMaxLine, ErrSyntax)
	}
	for _, l := range lines {
		if l.text != "" {
			return lines, nil
		}
	}
	return nil, &ParseError{File: name, Msg: "empty input", Err: ErrEmpty}
}

// contactsStart is the index of the "Contact Information" line that ends
// the record table of a text or markdown rendering, searching from from;
// len(lines) when there is none.
func contactsStart(lines []rowLine, from int) int {
	for i := from; i < len(lines); i++ {
		if lines[i].text == "Contact Information" {
			return i
		}
	}
	return len(lines)
}

// scanError turns the error of a bufio.Scanner reading name, stopped at
// line, into a *ParseError: a line longer than maxLine wraps tooLong, a
// *ParseError from below (a guard) passes through, anything else is a
// read error.
func scanError(err error, name string, line, maxLine int, tooLong error) error {
	if errors.Is(err, bufio.ErrTooLong) {
		return &ParseError{File: name, Line: line, Msg: fmt.Sprintf("line longer than %d bytes", maxLine), Err: tooLong}
	}
	var pe *ParseError
	if errors.As(err, &pe) {
		return err
	}
	return &ParseError{File: name, Line: line, Msg: "reading: " + err.Error(), Err: err}
}

func rowFirstText(lines []rowLine) int {
	for _, l := range lines {
		if l.text != "" {
			return l.n
		}
	}
	return 1
}

// rowParser holds what the text and markdown parsers share: the source
// being filled and the person IDs of its contact table.
type rowParser struct {
	src   *Source
	known map[string]bool // contact IDs; nil when the source has no contact table
}

func (p *rowParser) problem(line int, format string, args ...any) {
	p.src.Problems = append(p.src.Problems, ParseError{File: p.src.Name, Line: line, Msg: fmt.Sprintf(format, args...), Err: ErrSyntax})
}

// finish rejects a source with too many bad rows: junk must not be
// accepted row by row.
func (p *rowParser) finish() (*Source, error) {
	// The contact table is read first; report problems in file order.
	sort.SliceStable(p.src.Problems, func(i, j int) bool { return p.src.Problems[i].Line < p.src.Problems[j].Line })
	if n := len(p.src.Problems); n > MaxProblems {
		first := p.src.Problems[0]
		return nil, &ParseError{File: p.src.Name, Line: first.Line, Err: ErrSyntax,
			Msg: fmt.Sprintf("%d rows could not be parsed (more than %d); first: %s", n, MaxProblems, first.Msg)}
	}
	return p.src, nil
}

// headerDate reads the registry's "Last Updated" date from the first
// non-blank line of rest.
func (p *rowParser) headerDate(rest []rowLine, at int) {
	for _, l := range rest {
		if l.text == "" {
			continue
		}
		d := strings.TrimSpace(strings.TrimPrefix(l.text, "- "))
		if rowDate(d) {
			p.src.Updated = d
		} else {
			p.problem(l.n, "\"Last Updated\" (line %d) is followed by %q, not a date", at, rowClip(l.text))
		}
		return
	}
}

func (p *rowParser) knowContacts() {
	if len(p.src.Contacts) == 0 {
		return
	}
	p.known = make(map[string]bool, len(p.src.Contacts))
	for _, c := range p.src.Contacts {
		p.known[c.ID] = true
	}
}

// rowClip shortens s for an error message.
func rowClip(s string) string {
	if len(s) > 60 {
		i := 60
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		return s[:i] + "..."
	}
	return s
}

// ---- record rows ----

// rowStart grades how surely a line starts a new record.
type rowStart uint8

const (
	rowStartNone   rowStart = iota // cannot start a record
	rowStartWeak                   // name and text only ("argus ARGUS Protocol")
	rowStartMedium                 // name, text and a person ("x-on ... [Matthias_Burghardt]")
	rowStartStrong                 // a port or range, or a name then a port or protocol
)

// rowGroup is the physical lines of one record.
type rowGroup struct {
	lines []rowLine
	toks  []rowToken
	// tailish: a person, date, reference or a note's first words came
	// after the name, port and protocol, so the description has ended.
	tailish bool
	// noted: a note's first words came.
	noted bool
	// colon: a line of the notes ended in ':' ("Defined TXT keys:"), so
	// the following lines list keys until a record starts.
	colon bool
}

type rowToken struct {
	s    string
	line int
}

// add appends line l (fields f) to the group, keeping its flags up to
// date in time linear in the line.
func (p *rowParser) add(g *rowGroup, l rowLine, f []string) {
	first := len(g.toks) == 0
	g.lines = append(g.lines, l)
	for _, s := range f {
		g.toks = append(g.toks, rowToken{s: s, line: l.n})
	}
	k := 0
	if first {
		k = rowHeadLen(g.toks)
	}
	for ; k < len(f); k++ {
		if p.isPersonAt(f, k) || rowDate(f[k]) || rowRefToken(f[k]) {
			g.tailish = true
		}
		if rowStartsNote(f[k:]) {
			g.tailish, g.noted = true, true
		}
	}
	if g.noted && strings.HasSuffix(f[len(f)-1], ":") {
		g.colon = true
	}
}

// continues decides whether line fields f belong to the record cur.
func (p *rowParser) continues(cur *rowGroup, f []string, kind rowStart, blank bool) bool {
	switch {
	case strings.HasPrefix(f[0], "["), rowDate(f[0]):
		// Columns after a multi-line description; no record starts so.
		return true
	case kind == rowStartStrong:
		return false
	case blank && !cur.tailish:
		// "whoispp 63 tcp whois++", blank, "IANA assigned ...".
		return true
	case cur.colon && kind < rowStartMedium:
		return true
	}
	return false
}

// startOf grades line fields f as the start of a record.
func (p *rowParser) startOf(f []string) rowStart {
	if _, _, ok := rowPort(f[0]); ok {
		return rowStartStrong
	}
	if !rowNameLike(f[0]) {
		return rowStartNone
	}
	if len(f) < 2 {
		return rowStartNone
	}
	if _, _, ok := rowPort(f[1]); ok {
		return rowStartStrong
	}
	if _, ok := rowProto(f[1]); ok {
		return rowStartStrong
	}
	for i := 1; i < len(f); i++ {
		if p.isPersonAt(f, i) {
			return rowStartMedium
		}
	}
	return rowStartWeak
}

// rowHeadLen is how many leading tokens are name, port and protocol.
func rowHeadLen(toks []rowToken) int {
	i := 0
	if i < len(toks) {
		if _, _, ok := rowPort(toks[i].s); !ok {
			i++ // the name
		}
	}
	if i < len(toks) {
		if _, _, ok := rowPort(toks[i].s); ok {
			i++
		}
	}
	if i < len(toks) {
		if _, ok := rowProto(toks[i].s); ok {
			i++
		}
	}
	return i
}

// cutText fills r from a record's tokens; a non-empty result says why the
// row is unusable.
func (p *rowParser) cutText(r *Record, toks []rowToken) string {
	if len(toks) == 0 {
		return "empty row"
	}
	i := 0
	if lo, hi, ok := rowPort(toks[0].s); ok {
		r.PortLow, r.PortHigh = lo, hi
		i = 1
	} else {
		if !rowNameLike(toks[0].s) {
			return fmt.Sprintf("row starts with %q, neither a service name nor a port", rowClip(toks[0].s))
		}
		r.Name = toks[0].s
		i = 1
		if n := rowSpacedName(toks); n > 1 {
			// The 2023 registry has names with spaces ("Apple Remote
			// Desktop (Net Assistant) 3283 tcp ..."): a port and a
			// protocol a few words in mark where such a name ends.
			r.Name, i = rowJoin(toks[:n]), n
		}
		if i < len(toks) {
			if lo, hi, ok := rowPort(toks[i].s); ok {
				r.PortLow, r.PortHigh = lo, hi
				i++
			}
		}
	}
	if i < len(toks) {
		if pr, ok := rowProto(toks[i].s); ok {
			r.Protocol = pr
			i++
		}
	}
	j := p.descEnd(toks, i)
	r.Description = rowJoin(toks[i:j])
	if r.Name != "" && !r.HasPort() && r.Protocol == ProtoNone && r.Description == "" && j == len(toks) {
		return fmt.Sprintf("row %q has a name and nothing else", rowClip(r.Name))
	}
	p.fillTail(r, rowStrings(toks[j:]), false)
	return ""
}

// rowSpacedName returns n > 1 when toks[:n] is a name holding spaces:
// toks[n] and toks[n+1] are a port and a protocol, toks[1] is neither,
// and the words before them are few and free of brackets.
func rowSpacedName(toks []rowToken) int {
	if len(toks) < 3 {
		return 0
	}
	if _, _, ok := rowPort(toks[1].s); ok {
		return 0
	}
	if _, ok := rowProto(toks[1].s); ok {
		return 0
	}
	for n := 2; n <= 6 && n+1 < len(toks); n++ {
		if strings.ContainsAny(toks[n-1].s, "[]") {
			return 0
		}
		if _, _, ok := rowPort(toks[n].s); !ok {
			continue
		}
		if _, ok := rowProto(toks[n+1].s); ok {
			return n
		}
	}
	return 0
}

// descEnd returns the index of the first token after the description
// that starts with toks[i]. A candidate end is a person, a date, a
// reference or the first words of a note; it is taken only when the
// columns after it come in the page's order (a reference followed by a
// person, as in "... (LCMPP) [RFC9483] [IESG] [IETF_Chair]", is inside
// the description), and a note's first words only when no person follows
// them ("... This service name is used to construct ... [IESG]").
func (p *rowParser) descEnd(toks []rowToken, i int) int {
	f := rowStrings(toks)
	// personFrom[k]: some person column starts at or after k.
	personFrom := make([]bool, len(f)+1)
	for k := len(f) - 1; k >= i; k-- {
		personFrom[k] = personFrom[k+1] || p.isPersonAt(f, k)
	}
	tries := 0
	for k := i; k < len(f); k++ {
		s := f[k]
		marker := false
		switch {
		case p.isPersonAt(f, k):
			// "File Transfer Protocol [Control] [Jon_Postel] [Jon_Postel]":
			// at most two person columns, so a longer run of
			// bracketed words begins inside the description.
			run := 0
			for m := k; m < len(f) && p.isPersonAt(f, m); m++ {
				run++
			}
			if run > 2 {
				k += run - 3
				continue
			}
		case rowDate(s), rowRefToken(s):
		case rowStartsNote(f[k:]) && (k > i || rowNoteOnly(f[k:])):
			marker = true
		default:
			continue
		}
		if tries++; tries > 16 {
			return k // bound the work on pathological rows
		}
		if marker && personFrom[k] {
			continue
		}
		if t := p.scanTail(f[k:], false); t.free < len(f)-k && p.structured(f[k:], t.free) {
			continue // columns out of order: still the description
		}
		return k
	}
	return len(f)
}

// structured reports whether units[k] is a person, date or reference.
func (p *rowParser) structured(units []string, k int) bool {
	u := units[k]
	return p.isPersonAt(units, k) || rowDate(u) || rowRefToken(u)
}

// tail columns, in order.
const (
	rowTailPersons = iota
	rowTailDates
	rowTailRefs
	rowTailCode
	rowTailFree
)

// rowTail is how the units after a description fall into columns.
type rowTail struct {
	persons, dates []string
	refs           []string
	code           string
	free           int // index of the first unit of free text
}

// scanTail walks the units after the description through the page's
// column order: persons, dates, references, service code; free text
// (unauthorized use, notes) starts at the first unit out of that order.
// In text mode a unit is a token, or the tokens of one bracketed
// reference holding spaces; in cell mode (markdown) a whole cell.
func (p *rowParser) scanTail(units []string, cells bool) rowTail {
	var t rowTail
	state := rowTailPersons
	k := 0
loop:
	for k < len(units) {
		u, next := units[k], k+1
		if !cells {
			u, next = rowBracketUnit(units, k)
		}
		switch {
		case state <= rowTailPersons && len(t.persons) < 2 && next == k+1 && p.isPersonAt(units, k):
			t.persons = append(t.persons, u)
		case state <= rowTailDates && len(t.dates) < 2 && rowDate(u):
			t.dates = append(t.dates, u)
			state = rowTailDates
		case state <= rowTailRefs && rowBracketGroup(u) && (next != k+1 || !p.isPersonAt(units, k)):
			t.refs = append(t.refs, rowBrackets(u)...)
			state = rowTailRefs
		case state < rowTailCode && (cells || k > 0) && rowDigits(u):
			t.code = u
			state = rowTailCode
		default:
			break loop
		}
		k = next
	}
	t.free = k
	return t
}

// fillTail assigns the units after the description to r's columns.
func (p *rowParser) fillTail(r *Record, units []string, cells bool) {
	t := p.scanTail(units, cells)
	switch len(t.persons) {
	case 1:
		// The page copies the contact into an empty assignee column,
		// so a lone person is an assignee without a contact.
		r.Assignee = rowPersonIDs(t.persons[0])
	case 2:
		r.Assignee, r.Contact = rowPersonIDs(t.persons[0]), rowPersonIDs(t.persons[1])
	}
	switch len(t.dates) {
	case 1:
		r.Date = t.dates[0] // registration or modification: undetermined
	case 2:
		r.Registered, r.Modified = t.dates[0], t.dates[1]
	}
	r.References = t.refs
	r.ServiceCode = t.code
	free := units[t.free:]
	switch {
	case len(free) == 0:
	case !cells:
		r.Unauthorized, r.Notes = rowSplitFree(strings.Join(free, " "))
	case len(free) >= 2 || rowUnauthorized(free[0]):
		// Cells keep their boundaries: the unauthorized-use column
		// comes before the notes.
		r.Unauthorized, r.Notes = free[0], strings.Join(free[1:], " ")
	default:
		r.Notes = free[0]
	}
}

// ---- token classes ----

// rowPort accepts "80" and "19195-19219": decimal without leading
// zeros, at most 65535, a range ascending.
func rowPort(s string) (lo, hi int32, ok bool) {
	a, b, isRange := strings.Cut(s, "-")
	l, ok := rowPortNumber(a)
	if !ok {
		return 0, 0, false
	}
	if !isRange {
		return l, l, true
	}
	h, ok := rowPortNumber(b)
	if !ok || h < l { // "4748-4748" is written as a range too
		return 0, 0, false
	}
	return l, h, true
}

func rowPortNumber(s string) (int32, bool) {
	if s == "" || len(s) > 5 || !rowDigits(s) || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n > 65535 {
		return 0, false
	}
	return int32(n), true
}

func rowDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// rowProto accepts the protocol column exactly as the page writes
// it (lower case), so that a description starting "TCP Port ..." is not
// mistaken for one.
func rowProto(s string) (Protocol, bool) {
	switch s {
	case "tcp", "udp", "sctp", "dccp":
		return Protocol(s), true
	}
	return ProtoNone, false
}

// rowDate accepts YYYY-MM-DD and YYYY-MM.
func rowDate(s string) bool {
	if len(s) != 7 && len(s) != 10 {
		return false
	}
	if !rowDigits(s[:4]) || s[4] != '-' || !rowDigits(s[5:7]) {
		return false
	}
	if m, _ := strconv.Atoi(s[5:7]); m < 1 || m > 12 {
		return false
	}
	if len(s) == 10 {
		if s[7] != '-' || !rowDigits(s[8:]) {
			return false
		}
		if d, _ := strconv.Atoi(s[8:]); d < 1 || d > 31 {
			return false
		}
	}
	return true
}

// rowNameLike accepts a registered service name: RFC 6335 characters plus
// the legacy "/", "_", "+", "*" and "." (914c/g, whois++, sql*net,
// iceedcp_tx), with at least one letter.
func rowNameLike(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	letter := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			letter = true
		case c >= '0' && c <= '9', c == '-', c == '_', c == '/', c == '+', c == '*', c == '.':
		default:
			return false
		}
	}
	return letter
}

// rowEachID reports whether s is nothing but bracketed groups ("[a]",
// "[a][b]") whose contents all satisfy ok.
func rowEachID(s string, ok func(id string) bool) bool {
	if !rowBracketed(s) {
		return false
	}
	for s != "" {
		if s[0] != '[' {
			return false
		}
		j := strings.IndexByte(s, ']')
		if j < 2 {
			return false
		}
		id := s[1:j]
		if strings.IndexByte(id, '[') >= 0 || !ok(id) {
			return false
		}
		s = s[j+1:]
	}
	return true
}

// rowPersonID accepts the characters of a person ID (letters of any
// script, digits, "_", ".", "-") that is not a reference.
func rowPersonID(id string) bool {
	for _, r := range id {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' && r != '.' && r != '-' {
			return false
		}
	}
	return !rowRefID(id)
}

// rowRefID accepts what a reference holds: an RFC, a draft, a URI, a
// footnote number, "n/a".
func rowRefID(id string) bool {
	l := strings.ToLower(id)
	switch {
	case strings.HasPrefix(l, "rfc"):
		r := strings.TrimPrefix(l[3:], "-")
		return r != "" && r[0] >= '0' && r[0] <= '9'
	case rowDigits(l), l == "n/a":
		return true
	}
	for _, p := range []string{"draft-", "http:", "https:", "ftp:", "urn:"} {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return false
}

// rowPersonShape reports whether s looks like one or more bracketed
// person IDs ("[Jon_Postel]", "[Vera_Heinau][Heiko_Schlichting]").
func rowPersonShape(s string) bool { return rowEachID(s, rowPersonID) }

// isPersonAt reports whether f[k] is a person column. With a contact
// table, an ID it does not list counts only when repeated at once ("[X]
// [X]": the page copies a lone contact into the assignee column), so that
// "[Control]" and "[recv]" stay in their descriptions.
func (p *rowParser) isPersonAt(f []string, k int) bool {
	s := f[k]
	if !rowPersonShape(s) {
		return false
	}
	if p.known == nil {
		return true
	}
	if p.allKnown(s) {
		return true
	}
	return k+1 < len(f) && f[k+1] == s
}

func (p *rowParser) allKnown(s string) bool {
	for _, id := range rowBrackets(s) {
		if !p.known[id] {
			return false
		}
	}
	return true
}

// rowRefToken reports whether s is a reference such as "[RFC951]",
// "[RFC4727][RFC6335]", "[draft-...]" or "[https://...]".
func rowRefToken(s string) bool { return rowEachID(s, rowRefID) }

func rowBracketGroup(s string) bool { return rowEachID(s, func(string) bool { return true }) }

// rowBracketed is the cheap test every bracketed unit passes.
func rowBracketed(s string) bool { return len(s) >= 3 && s[0] == '[' && s[len(s)-1] == ']' }

// rowBrackets returns the contents of "[a][b] [c]".
func rowBrackets(s string) []string {
	var out []string
	for {
		i := strings.IndexByte(s, '[')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(s[i:], ']')
		if j < 0 {
			return out
		}
		if v := strings.TrimSpace(s[i+1 : i+j]); v != "" {
			out = append(out, v)
		}
		s = s[i+j+1:]
	}
}

// rowPersonIDs turns a person column into the model's form: the ID without
// brackets; several IDs in one column are joined by ", ".
func rowPersonIDs(s string) string { return strings.Join(rowBrackets(s), ", ") }

// rowBracketUnit returns the unit starting at toks[k] and the index
// after it: a bracketed reference that holds spaces ("[Ariën Huisken
// <...> 15 June 2009]", at most 64 words) is one unit, any other token
// is its own.
func rowBracketUnit(toks []string, k int) (string, int) {
	u := toks[k]
	depth := strings.Count(u, "[") - strings.Count(u, "]")
	if !strings.HasPrefix(u, "[") || depth <= 0 {
		return u, k + 1
	}
	for j := k + 1; j < len(toks) && j-k <= 64; j++ {
		depth += strings.Count(toks[j], "[") - strings.Count(toks[j], "]")
		if depth < 0 {
			break
		}
		if depth == 0 {
			acc := strings.Join(toks[k:j+1], " ")
			if strings.HasSuffix(acc, "]") && rowBracketGroup(acc) {
				return acc, j + 1
			}
			break
		}
	}
	return u, k + 1
}

func rowStrings(toks []rowToken) []string {
	f := make([]string, len(toks))
	for k, t := range toks {
		f[k] = t.s
	}
	return f
}

func rowJoin(toks []rowToken) string {
	var b strings.Builder
	for i, t := range toks {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(t.s)
	}
	return b.String()
}

// rowNoteStarts are the first words of notes and unauthorized-use reports;
// a description ends where one begins when no other column separates
// them ("accountedge MYOB AccountEdge Defined TXT keys: None").
var rowNoteStarts = []string{
	"Defined TXT keys", "Defined TXT Keys", "This entry ", "This is a duplicate ",
	"This service name ", "This port ", "this port ", "Known Subtypes:",
	"Known Unauthorized Use", "Known UNAUTHORIZED USE", "Unauthorized Use Known",
	"Unauthorized use ", "Unofficial use ", "De-assigned ", "De-Assigned ",
	"Previously assigned ", "Formerly was ", "Deprecated ", "(Removed ",
}

// rowNoteOnlyStarts never begin a description, so they end even an
// empty one ("acmaint_dbd 774 udp This entry is an alias to ...").
var rowNoteOnlyStarts = []string{"Defined TXT keys", "Defined TXT Keys", "This entry ", "This is a duplicate "}

func rowStartsNote(f []string) bool { return rowHasStart(f, rowNoteStarts) }

func rowNoteOnly(f []string) bool { return rowHasStart(f, rowNoteOnlyStarts) }

func rowHasStart(f []string, starts []string) bool {
	if len(f) == 0 {
		return false
	}
	switch f[0] {
	case "Defined", "This", "this", "Known", "Unauthorized", "Unofficial", "De-assigned",
		"De-Assigned", "Previously", "Formerly", "Deprecated", "(Removed":
	default:
		return false
	}
	s := strings.Join(f[:min(len(f), 5)], " ") + " "
	for _, m := range starts {
		if strings.HasPrefix(s, m) {
			return true
		}
	}
	return false
}

var (
	rowReUnauth = regexp.MustCompile(`(?i)^[^.]{0,40}?\b(unauthori[sz]ed|unofficial)`)
	// rowReUnauthPorts is an unauthorized-use report ending in its port
	// list: "Known Unauthorized Use on port 6501", "Unauthorized Use
	// Known on ports 28017, 28018 and 28019".
	rowReUnauthPorts = regexp.MustCompile(`(?i)^(known\s+)?(unauthori[sz]ed\s+uses?(\s+known)?|unofficial\s+use)\s*:?\s*((on|of)\s+)?(ports?\s+)?\d+(\s*(,|and|&amp;|&|-)\s*\d+)*`)
)

func rowUnauthorized(s string) bool { return rowReUnauth.MatchString(s) }

// rowSplitFree cuts the text after the structured columns into the
// unauthorized-use report and the notes, which the page writes in that
// order with nothing between them.
func rowSplitFree(s string) (unauth, notes string) {
	if !rowUnauthorized(s) {
		return "", s
	}
	if m := rowReUnauthPorts.FindStringIndex(s); m != nil {
		rest := strings.TrimSpace(s[m[1]:])
		if rest == "" {
			return s, ""
		}
		if r, _ := utf8.DecodeRuneInString(rest); unicode.IsUpper(r) {
			return strings.TrimSpace(s[:m[1]]), rest
		}
	}
	f := strings.Fields(s)
	for k := 1; k < len(f); k++ {
		if rowStartsNote(f[k:]) && !strings.HasPrefix(f[k], "Unauthorized") && f[k] != "Known" {
			return strings.Join(f[:k], " "), strings.Join(f[k:], " ")
		}
	}
	return s, ""
}

// ---- contact table ----

// rowContactCols says which columns a contact table has.
type rowContactCols struct{ name, org bool }

func rowContactHeader(s string) (rowContactCols, bool) {
	if !strings.HasPrefix(s, "ID ") && s != "ID" {
		return rowContactCols{}, false
	}
	return rowContactCols{name: strings.Contains(s, " Name"), org: strings.Contains(s, "Organization")}, true
}

func rowURI(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "mailto:") || strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://") ||
		strings.HasPrefix(l, "tel:")
}

// rowNameOrg cuts the words between a contact's ID and URI into name and
// organisation. The page drops an empty column, so the cut follows the ID,
// which IANA derives from the name: "[Randall_Stewart] Randall Stewart
// IETF TSVWG" is name "Randall Stewart", organisation "IETF TSVWG". When
// the words do not extend the ID's words (or the ID was cut at 20
// characters) they are one field: the name, or the organisation when the
// table has no name column.
func rowNameOrg(id string, f []string, cols rowContactCols) (name, org string) {
	all := strings.Join(f, " ")
	switch {
	case all == "":
		return "", ""
	case !cols.org:
		return all, ""
	case !cols.name:
		return "", all
	}
	parts := strings.Split(id, "_")
	for len(parts) > 1 && rowDigits(parts[len(parts)-1]) {
		parts = parts[:len(parts)-1] // Anders_Brandt_2
	}
	for k := range parts {
		parts[k] = rowFoldWord(parts[k])
	}
	wi, pi := 0, 0
	for wi < len(f) && pi < len(parts) {
		w := rowFoldWord(f[wi])
		if w == "" {
			wi++
			continue
		}
		// A word may span several ID parts: "Graham-Cumming", "D'Amore".
		matched := false
		acc := ""
		for q := pi; q < len(parts) && q < pi+4; q++ {
			acc += parts[q]
			if acc == w {
				pi, matched = q+1, true
				break
			}
		}
		if !matched {
			break
		}
		wi++
	}
	if wi == 0 || pi < len(parts) || wi == len(f) || len(id) == 20 {
		return all, ""
	}
	if rowOrgSuffix(f[wi]) || strings.HasSuffix(f[wi-1], ",") {
		return all, "" // "Acertant Technologies, Inc." is one organisation
	}
	return strings.Join(f[:wi], " "), strings.Join(f[wi:], " ")
}

// rowOrgSuffix reports words that continue an organisation's name rather
// than start one.
func rowOrgSuffix(w string) bool {
	switch strings.ToLower(strings.Trim(w, ",.()")) {
	case "inc", "ltd", "llc", "gmbh", "corp", "corporation", "technologies", "technology",
		"systems", "software", "limited", "co", "ag", "sa", "s.a", "bv", "b.v", "ab", "oy",
		"plc", "pty", "networks", "group", "labs", "laboratories", "solutions", "company",
		"srl", "s.r.l", "kk", "k.k", "nv", "n.v", "international", "&", "&amp;", "and", "of":
		return true
	}
	return false
}

// rowFoldWord lower-cases w, folds common Latin accents and drops everything
// but letters and digits, so that "B." matches "B" and "Muñoz" "Munoz".
func rowFoldWord(w string) string {
	var b strings.Builder
	for _, r := range w {
		r = unicode.ToLower(r)
		if f, ok := rowAccentFold[r]; ok {
			r = f
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

var rowAccentFold = map[rune]rune{
	'à': 'a', 'á': 'a', 'â': 'a', 'ã': 'a', 'ä': 'a', 'å': 'a', 'ç': 'c', 'è': 'e', 'é': 'e',
	'ê': 'e', 'ë': 'e', 'ì': 'i', 'í': 'i', 'î': 'i', 'ï': 'i', 'ñ': 'n', 'ò': 'o', 'ó': 'o',
	'ô': 'o', 'õ': 'o', 'ö': 'o', 'ø': 'o', 'ù': 'u', 'ú': 'u', 'û': 'u', 'ü': 'u', 'ý': 'y',
	'ÿ': 'y', 'ł': 'l', 'ś': 's', 'š': 's', 'ž': 'z', 'č': 'c', 'ř': 'r', 'ą': 'a', 'ę': 'e',
}
