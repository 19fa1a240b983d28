package registry

import (
	"fmt"
	"io"
	"strings"
)

// The plain-text rendering of the IANA web page is a header block ("Last
// Updated" and the date on the next line), a column header line, one row
// per record with the empty columns dropped and the rest joined by single
// spaces, and a trailing "Contact Information" table. Nothing delimits the
// columns, so a row is cut by what its tokens look like, in the column order
// of the header:
//
//	name? port|range? protocol? description... person{0,2} date{0,2}
//	reference* service-code? unauthorized-use? notes?
//
// A description holding a <br/> in the XML runs over several lines ("whois++",
// a blank line, "IANA assigned this well-formed service name ...") and the
// columns after it start on a line of their own; a note holding <br/> ends in
// "Defined TXT keys:" and lists the keys on the following lines. Because
// empty columns vanish, one lone date may be the registration or the
// modification date: it is kept in Record.Date, undetermined.

// textColumnHeader starts the line that introduces the record table.
const textColumnHeader = "Service Name Port Number Transport Protocol Description"

// ParseText parses the plain-text rendering of the IANA registry web page
// (seeds 000, 001, 002 and 004). Rows it cannot cut into columns are
// reported in Source.Problems with their line; input that is not this
// rendering at all is a *ParseError wrapping ErrSyntax (or ErrEmpty).
func ParseText(r io.Reader, name string) (*Source, error) {
	lines, err := rowLines(r, name)
	if err != nil {
		return nil, err
	}
	src := &Source{Name: name, Format: FormatText}
	p := &rowParser{src: src}
	hdr := -1
	for i := 0; i < len(lines) && i < rowMaxHeader; i++ {
		t := lines[i].text
		if t == "Last Updated" && src.Updated == "" {
			p.headerDate(lines[i+1:], lines[i].n)
		}
		if strings.HasPrefix(t, textColumnHeader) {
			hdr = i
			break
		}
	}
	if hdr < 0 {
		return nil, &ParseError{File: name, Line: rowFirstText(lines), Err: ErrSyntax,
			Msg: fmt.Sprintf("not the plain-text registry: no %q column header line", textColumnHeader+" ...")}
	}
	end := contactsStart(lines, hdr+1)
	if end < len(lines) {
		p.textContacts(lines[end+1:])
	}
	p.knowContacts()
	p.textRecords(lines[hdr+1 : end])
	return p.finish()
}

// textRecords groups the table lines into records and parses each.
func (p *rowParser) textRecords(lines []rowLine) {
	var cur *rowGroup
	blank := false
	flush := func() {
		if cur != nil {
			p.textRecord(cur)
			cur = nil
		}
	}
	for _, l := range lines {
		if l.text == "" {
			blank = true
			continue
		}
		f := strings.Fields(l.text)
		kind := p.startOf(f)
		if cur != nil && p.continues(cur, f, kind, blank) {
			p.add(cur, l, f)
			blank = false
			continue
		}
		blank = false
		flush()
		if kind == rowStartNone {
			p.problem(l.n, "cannot tell which record this line belongs to: %q", rowClip(l.text))
			continue
		}
		cur = &rowGroup{}
		p.add(cur, l, f)
	}
	flush()
}

// textRecord parses one group of lines into a record.
func (p *rowParser) textRecord(g *rowGroup) {
	r := Record{PortLow: -1, PortHigh: -1, Source: p.src.Name, Line: g.lines[0].n}
	if msg := p.cutText(&r, g.toks); msg != "" {
		p.problem(r.Line, "%s", msg)
		return
	}
	Finish(&r)
	p.src.Records = append(p.src.Records, r)
}

// textContacts parses the lines after "Contact Information".
func (p *rowParser) textContacts(lines []rowLine) {
	cols := rowContactCols{name: true, org: true}
	seenHeader := false
	for _, l := range lines {
		if l.text == "" {
			continue
		}
		if !seenHeader {
			if c, ok := rowContactHeader(l.text); ok {
				cols, seenHeader = c, true
				continue
			}
		}
		if !strings.HasPrefix(l.text, "[") {
			p.problem(l.n, "contact row does not start with a bracketed ID: %q", rowClip(l.text))
			continue
		}
		end := strings.IndexByte(l.text, ']')
		id := ""
		if end > 0 {
			id = l.text[1:end]
		}
		if id == "" || strings.ContainsAny(id, " \t[") {
			p.problem(l.n, "contact row has no valid [ID]: %q", rowClip(l.text))
			continue
		}
		c := Contact{ID: id}
		f := strings.Fields(l.text[end+1:])
		if n := len(f); n > 0 && rowDate(f[n-1]) {
			c.Updated, f = f[n-1], f[:n-1]
		}
		// The URI is the last column before the date: it runs to the
		// end ("mailto:Giriraj Harapanahalli" holds a space).
		for k := range f {
			if rowURI(f[k]) {
				c.URI = strings.Join(f[k:], " ")
				f = f[:k]
				break
			}
		}
		c.Name, c.Organization = rowNameOrg(id, f, cols)
		p.src.Contacts = append(p.src.Contacts, c)
	}
}
