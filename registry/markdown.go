package registry

import (
	"fmt"
	"io"
	"strings"
	"unicode"
)

// The markdown rendering (seed 003) is a "- Last Updated" / "- 2026-05-26"
// header list, a pipe table whose rows break across lines (a row goes on
// until it has as many cells as the header, or until a blank line, a new
// row or the "Contact Information" heading), and a contact table.
//
// Its cells keep their boundaries, but not their columns: the rendering
// moves the empty cells to the end of the row, so the whois++ notes sit
// under "Registration Date" and the rwhois reference under "Registration
// Date" too. A row is therefore read by what its cells hold, like a text
// row, unless it shows a gap (an empty cell before a filled one) in a full
// row: such a row is positional and its columns are taken from the header,
// dates included. A lone date in a compact row stays undetermined.

// mdRow is one logical table row.
type mdRow struct {
	line  int // first physical line
	cells []string
}

// ParseMarkdown parses the markdown-table rendering of the registry.
// Rows it cannot use are reported in Source.Problems with their line;
// input that is not this rendering is a *ParseError wrapping ErrSyntax
// (or ErrEmpty).
func ParseMarkdown(r io.Reader, name string) (*Source, error) {
	lines, err := rowLines(r, name)
	if err != nil {
		return nil, err
	}
	src := &Source{Name: name, Format: FormatMarkdown}
	p := &rowParser{src: src}
	hdr := -1
	for i := 0; i < len(lines) && i < rowMaxHeader; i++ {
		t := lines[i].text
		if (t == "- Last Updated" || t == "Last Updated") && src.Updated == "" {
			p.headerDate(lines[i+1:], lines[i].n)
		}
		if strings.HasPrefix(t, "| Service Name |") {
			hdr = i
			break
		}
	}
	if hdr < 0 {
		return nil, &ParseError{File: name, Line: rowFirstText(lines), Err: ErrSyntax,
			Msg: `not the markdown registry: no "| Service Name | Port Number | ..." table header`}
	}
	cols := mdCells(lines[hdr].text)
	end := contactsStart(lines, hdr+1)
	if end < len(lines) {
		p.mdContacts(lines[end+1:])
	}
	p.knowContacts()
	for _, row := range p.mdRows(lines[hdr+1:end], len(cols)) {
		p.mdRecord(row, cols)
	}
	return p.finish()
}

// mdCells splits a pipe-table row into trimmed cells; "\|" is a pipe
// inside a cell.
func mdCells(s string) []string {
	s = strings.TrimSpace(s)
	var cells []string
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && s[i+1] == '|':
			b.WriteByte('|')
			i++
		case c == '|':
			cells = append(cells, strings.TrimSpace(b.String()))
			b.Reset()
		default:
			b.WriteByte(c)
		}
	}
	cells = append(cells, strings.TrimSpace(b.String()))
	if strings.HasPrefix(s, "|") {
		cells = cells[1:]
	}
	if len(cells) > 0 && strings.HasSuffix(s, "|") && !strings.HasSuffix(s, `\|`) {
		cells = cells[:len(cells)-1]
	}
	return cells
}

// mdPipes counts the unescaped cell separators of s.
func mdPipes(s string) int {
	return strings.Count(s, "|") - strings.Count(s, `\|`)
}

func mdSeparator(s string) bool {
	if !strings.HasPrefix(s, "|") {
		return false
	}
	return strings.Trim(s, "|-: ") == "" && strings.Contains(s, "---")
}

// mdRows joins the physical lines of a table into rows of ncols cells.
func (p *rowParser) mdRows(lines []rowLine, ncols int) []mdRow {
	want := ncols + 1 // pipes of a complete row
	var rows []mdRow
	var cur []string
	first, pipes := 0, 0
	flush := func() {
		if cur == nil {
			return
		}
		cells := mdCells(strings.Join(cur, " "))
		if len(cells) > ncols {
			p.problem(first, "row has %d cells, the table header %d", len(cells), ncols)
		} else {
			rows = append(rows, mdRow{line: first, cells: cells})
		}
		cur = nil
	}
	for _, l := range lines {
		t := l.text
		if t == "" {
			flush()
			continue
		}
		if mdSeparator(t) {
			flush()
			continue
		}
		n := mdPipes(t)
		starts := strings.HasPrefix(t, "|")
		if cur != nil && (pipes >= want || (starts && pipes+n > want)) {
			flush()
		}
		if cur == nil {
			if !starts {
				p.problem(l.n, "line is outside any table row: %q", rowClip(t))
				continue
			}
			first, pipes = l.n, 0
		}
		cur = append(cur, t)
		pipes += n
	}
	flush()
	return rows
}

// mdGapped reports whether a filled cell follows an empty one: only a
// positional rendering leaves such a gap.
func mdGapped(cells []string) bool {
	empty := false
	for _, c := range cells {
		if c == "" {
			empty = true
		} else if empty {
			return true
		}
	}
	return false
}

func (p *rowParser) mdRecord(row mdRow, cols []string) {
	r := Record{PortLow: -1, PortHigh: -1, Source: p.src.Name, Line: row.line}
	var msg string
	if len(row.cells) == len(cols) && mdGapped(row.cells) {
		msg = p.mdPositional(&r, row.cells, cols)
	} else {
		msg = p.mdCompact(&r, row.cells)
	}
	if msg != "" {
		p.problem(row.line, "%s", msg)
		return
	}
	Finish(&r)
	p.src.Records = append(p.src.Records, r)
}

// mdPositional reads a row whose cells stand under their headers.
func (p *rowParser) mdPositional(r *Record, cells, cols []string) string {
	for i, c := range cells {
		if c == "" {
			continue
		}
		switch cols[i] {
		case "Service Name":
			if !mdNameOK(c) {
				return fmt.Sprintf("%q is not a service name", rowClip(c))
			}
			r.Name = c
		case "Port Number":
			lo, hi, ok := rowPort(c)
			if !ok {
				return fmt.Sprintf("%q is not a port or range", rowClip(c))
			}
			r.PortLow, r.PortHigh = lo, hi
		case "Transport Protocol":
			pr, ok := ParseProtocol(c)
			if !ok {
				return fmt.Sprintf("%q is not a transport protocol", rowClip(c))
			}
			r.Protocol = pr
		case "Description":
			r.Description = c
		case "Assignee":
			r.Assignee = rowPersonIDs(c)
		case "Contact":
			r.Contact = rowPersonIDs(c)
		case "Registration Date":
			r.Registered = c
		case "Modification Date":
			r.Modified = c
		case "Reference":
			r.References = rowBrackets(c)
		case "Service Code":
			r.ServiceCode = c
		case "Unauthorized Use Reported":
			r.Unauthorized = c
		case "Assignment Notes":
			r.Notes = c
		}
	}
	if r.Name == "" && !r.HasPort() {
		return "row has neither a service name nor a port"
	}
	return ""
}

// mdNameOK accepts a name cell: a cell keeps its boundaries, so the
// 2023 registry's names with spaces ("Apple Remote Desktop (Net
// Assistant)") are accepted, but not a bracketed or over-long one.
func mdNameOK(s string) bool {
	return len(s) <= 63 && !strings.HasPrefix(s, "[") && strings.IndexFunc(s, unicode.IsLetter) >= 0
}

// mdCompact reads a row by what its non-empty cells hold.
func (p *rowParser) mdCompact(r *Record, all []string) string {
	var c []string
	for _, s := range all {
		if s != "" {
			c = append(c, s)
		}
	}
	if len(c) == 0 {
		return "empty row"
	}
	k := 0
	if lo, hi, ok := rowPort(c[0]); ok {
		r.PortLow, r.PortHigh = lo, hi
		k = 1
	} else {
		if !mdNameOK(c[0]) {
			return fmt.Sprintf("row starts with %q, neither a service name nor a port", rowClip(c[0]))
		}
		r.Name = c[0]
		k = 1
		if k < len(c) {
			if lo, hi, ok := rowPort(c[k]); ok {
				r.PortLow, r.PortHigh = lo, hi
				k++
			}
		}
	}
	if k < len(c) {
		if pr, ok := rowProto(c[k]); ok {
			r.Protocol = pr
			k++
		}
	}
	if k < len(c) && !p.isPersonAt(c, k) && !rowDate(c[k]) && !rowRefToken(c[k]) && !rowNoteOnly(strings.Fields(c[k])) {
		r.Description = c[k]
		k++
	}
	if r.Name != "" && !r.HasPort() && r.Protocol == ProtoNone && r.Description == "" && k == len(c) {
		return fmt.Sprintf("row %q has a name and nothing else", rowClip(r.Name))
	}
	p.fillTail(r, c[k:], true)
	return ""
}

// mdContacts parses the contact table after "Contact Information".
func (p *rowParser) mdContacts(lines []rowLine) {
	hdr := -1
	for i, l := range lines {
		if strings.HasPrefix(l.text, "| ID |") {
			hdr = i
			break
		}
		if l.text != "" {
			p.problem(l.n, "expected the contact table header \"| ID | Name | ...\", got %q", rowClip(l.text))
			return
		}
	}
	if hdr < 0 {
		return
	}
	cols := mdCells(lines[hdr].text)
	var cc rowContactCols
	for _, c := range cols {
		cc.name = cc.name || c == "Name"
		cc.org = cc.org || c == "Organization"
	}
	for _, row := range p.mdRows(lines[hdr+1:], len(cols)) {
		p.mdContact(row, cols, cc)
	}
}

func (p *rowParser) mdContact(row mdRow, cols []string, cc rowContactCols) {
	if len(row.cells) == 0 || !strings.HasPrefix(row.cells[0], "[") || !strings.HasSuffix(row.cells[0], "]") {
		p.problem(row.line, "contact row does not start with a bracketed ID")
		return
	}
	id := strings.TrimSpace(row.cells[0][1 : len(row.cells[0])-1])
	if id == "" || strings.ContainsAny(id, " \t[]") {
		p.problem(row.line, "contact row has no valid [ID]: %q", rowClip(row.cells[0]))
		return
	}
	c := Contact{ID: id}
	if len(row.cells) == len(cols) && mdGapped(row.cells) {
		for i, v := range row.cells[1:] {
			switch cols[i+1] {
			case "Name":
				c.Name = v
			case "Organization":
				c.Organization = v
			case "Contact URI":
				c.URI = v
			case "Last Updated":
				c.Updated = v
			}
		}
		p.src.Contacts = append(p.src.Contacts, c)
		return
	}
	var text []string
	for _, v := range row.cells[1:] {
		switch {
		case v == "":
		case rowURI(v) && c.URI == "":
			c.URI = v
		case rowDate(v) && c.Updated == "":
			c.Updated = v
		default:
			text = append(text, v)
		}
	}
	switch {
	case len(text) >= 2 && cc.name && cc.org:
		c.Name, c.Organization = text[0], strings.Join(text[1:], " ")
	case len(text) > 0 && !cc.name && cc.org:
		c.Organization = strings.Join(text, " ")
	case len(text) > 0:
		// One cell under "Name" and "Organization": undetermined, kept
		// as the name.
		c.Name = strings.Join(text, " ")
	}
	p.src.Contacts = append(p.src.Contacts, c)
}
