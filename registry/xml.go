package registry

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// refText renders an xref the way IANA's CSV does: its text when it has
// one ("RFC8765, Section 6.1", "TR-352"), else "RFC9110" for an RFC and
// the data itself (draft name, URI, note number) for the rest.
func refText(typ, data, text string) string {
	if text != "" {
		return text
	}
	if typ == "rfc" && len(data) >= 3 && strings.EqualFold(data[:3], "rfc") {
		return "RFC" + data[3:]
	}
	return data
}

// ParseXML reads the official IANA XML registry with a streaming decoder,
// one <record> at a time. Record.Line is the line of the record's start
// tag; ParseError.Record numbers records from 1. Records that cannot be
// used (bad port, unknown protocol, neither name nor port) are reported in
// Source.Problems; malformed or truncated XML is a *ParseError wrapping
// ErrSyntax.
func ParseXML(r io.Reader, name string) (*Source, error) {
	intern := make(interner, 1<<14)
	return parseXML(newFastSource(r, name, intern), name, intern)
}

// parseXML parses what toks reads: the fast scanner, or in tests
// encoding/xml alone, which the scanner is compared against.
func parseXML(toks tokenSource, name string, intern interner) (*Source, error) {
	p := &xmlParser{
		name:   name,
		toks:   toks,
		intern: intern,
		sink:   problemSink{name: name},
		src:    &Source{Name: name, Format: FormatXML},
	}
	if err := p.parse(); err != nil {
		return nil, err
	}
	p.src.Problems = p.sink.problems
	return p.src, nil
}

type xmlParser struct {
	toks     tokenSource
	tok      xtoken // the last token read
	name     string
	src      *Source
	intern   interner
	sink     problemSink
	rec      int        // number of the record being read, 0 outside records
	nrec     int        // records seen
	buf      []byte     // text() scratch
	open     []xml.Name // elements open at the source's position
	recs     chunked[Record]
	contacts chunked[Contact]
	prev     [3]string // textLike: the previous name, description, note
	refs     []string
	people   [2][]string // assignee, contact
}

// token returns the next start tag, end tag or text. It checks what
// encoding/xml's Token would over RawToken: that end tags match start
// tags, here with a bound on nesting (maxDepth). Comments, processing
// instructions and directives are dropped. The token is valid until the
// next call.
func (p *xmlParser) token() (*xtoken, error) {
	t := &p.tok
	for {
		if err := p.toks.next(t); err != nil {
			return nil, err
		}
		switch t.kind {
		case tokStart:
			if len(p.open) == maxDepth {
				return nil, p.errorf("elements nested more than %d deep", maxDepth)
			}
			p.open = append(p.open, t.name)
		case tokEnd:
			n := len(p.open)
			if n == 0 {
				return nil, p.errorf("unexpected end element </%s>", t.name.Local)
			}
			if top := p.open[n-1]; top != t.name {
				return nil, p.errorf("element <%s> closed by </%s>", qname(top), qname(t.name))
			}
			p.open = p.open[:n-1]
		case tokText:
		default:
			continue
		}
		return t, nil
	}
}

func qname(n xml.Name) string {
	if n.Space != "" {
		return n.Space + ":" + n.Local
	}
	return n.Local
}

func (p *xmlParser) line() int { return p.toks.line() }

// fail turns a decoder error into a located *ParseError.
func (p *xmlParser) fail(err error) error {
	var pe *ParseError
	if errors.As(err, &pe) {
		return err
	}
	var se *xml.SyntaxError
	switch {
	case errors.As(err, &se):
		return &ParseError{File: p.name, Line: p.toks.syntaxLine(se), Record: p.rec, Msg: "XML syntax error: " + se.Msg, Err: ErrSyntax}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &ParseError{File: p.name, Line: p.line(), Record: p.rec, Msg: "XML ends early (truncated?)", Err: ErrSyntax}
	}
	return &ParseError{File: p.name, Line: p.line(), Record: p.rec, Msg: "reading: " + err.Error(), Err: err}
}

func (p *xmlParser) errorf(format string, args ...any) error {
	return &ParseError{File: p.name, Line: p.line(), Record: p.rec, Msg: fmt.Sprintf(format, args...), Err: ErrSyntax}
}

func (p *xmlParser) parse() error {
	// The root element must be <registry>.
	for {
		tok, err := p.token()
		if errors.Is(err, io.EOF) {
			return &ParseError{File: p.name, Line: p.line(), Msg: "no XML elements", Err: ErrEmpty}
		}
		if err != nil {
			return p.fail(err)
		}
		if tok.kind == tokText && len(bytes.TrimSpace(tok.text)) != 0 {
			return p.errorf("text before the root element")
		}
		if tok.kind == tokStart {
			if tok.name.Local != "registry" {
				return p.errorf("root element is <%s>, want <registry>", tok.name.Local)
			}
			break
		}
	}
	if err := p.registry(); err != nil {
		return err
	}
	// Only comments, processing instructions and white space may follow.
	for {
		tok, err := p.token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return p.fail(err)
		}
		switch tok.kind {
		case tokText:
			if len(bytes.TrimSpace(tok.text)) != 0 {
				return p.errorf("text after </registry>")
			}
		case tokStart:
			return p.errorf("element <%s> after </registry>", tok.name.Local)
		}
	}
	if p.nrec == 0 {
		return &ParseError{File: p.name, Line: p.line(), Msg: "no <record> elements", Err: ErrEmpty}
	}
	p.src.Records = p.recs.slice()
	p.src.Contacts = p.contacts.slice()
	return nil
}

// registry reads the children of <registry> up to its end tag.
func (p *xmlParser) registry() error {
	return p.children(func(t *xtoken) error {
		switch t.name.Local {
		case "record":
			return p.record(t)
		case "updated":
			s, err := p.text()
			p.src.Updated = s
			return err
		case "people":
			return p.peopleList()
		}
		return p.skip()
	})
}

// children calls each for every child element of the element just
// opened, up to its end tag; each must consume the child, end tag
// included, and read what it needs of the start tag before it reads on.
// Character data between children is ignored.
func (p *xmlParser) children(each func(*xtoken) error) error {
	for {
		tok, err := p.token()
		if err != nil {
			return p.fail(err)
		}
		switch tok.kind {
		case tokEnd:
			return nil
		case tokStart:
			if err := each(tok); err != nil {
				return err
			}
		}
	}
}

// maxDepth bounds element nesting: the IANA file nests four deep, and a
// bound keeps junk such as "<a><a><a>..." from growing the element stack
// without limit.
const maxDepth = 32

// skip discards the element just opened, up to its end tag.
func (p *xmlParser) skip() error {
	for depth := 1; depth > 0; {
		tok, err := p.token()
		if err != nil {
			return p.fail(err)
		}
		switch tok.kind {
		case tokStart:
			depth++
		case tokEnd:
			depth--
		}
	}
	return nil
}

// text reads the character data of the element just opened, up to its end
// tag, entity-decoded. Nested elements render as the IANA CSV renders
// them: <br/> (with the white space around it) as one space, an <xref> as
// "[ID]", <paragraph> as its text. The result is trimmed and interned.
func (p *xmlParser) text() (string, error) {
	if err := p.readText(); err != nil {
		return "", err
	}
	return p.intern.bytes(bytes.TrimSpace(p.buf)), nil
}

// textLike is text for a record field that usually equals the same
// field of the previous record.
func (p *xmlParser) textLike(prev *string) (string, error) {
	if err := p.readText(); err != nil {
		return "", err
	}
	b := bytes.TrimSpace(p.buf)
	if string(b) == *prev {
		return *prev, nil
	}
	*prev = p.intern.bytes(b)
	return *prev, nil
}

// uniqueText is text for values that rarely repeat (a person's name, URI):
// not interned, which keeps the interner small.
func (p *xmlParser) uniqueText() (string, error) {
	if err := p.readText(); err != nil {
		return "", err
	}
	return string(bytes.TrimSpace(p.buf)), nil
}

// readText reads what text returns into p.buf.
func (p *xmlParser) readText() error {
	p.buf = p.buf[:0]
	brk := false // a <br/> was seen: the next text starts after one space
	for depth := 1; ; {
		tok, err := p.token()
		if err != nil {
			return p.fail(err)
		}
		switch tok.kind {
		case tokText:
			t := tok.text
			if brk {
				t = bytes.TrimLeft(t, " \t\r\n")
				if len(t) == 0 {
					continue
				}
				if len(p.buf) > 0 {
					p.buf = append(p.buf, ' ')
				}
				brk = false
			}
			p.buf = append(p.buf, t...)
		case tokStart:
			switch tok.name.Local {
			case "br":
				p.buf = bytes.TrimRight(p.buf, " \t\r\n")
				brk = true
				if err := p.skip(); err != nil {
					return err
				}
			case "xref":
				typ, data := attr(tok, "type"), attr(tok, "data")
				if err := p.skip(); err != nil {
					return err
				}
				if data != "" {
					if brk && len(p.buf) > 0 {
						p.buf = append(p.buf, ' ')
					}
					brk = false
					p.buf = append(p.buf, '[')
					p.buf = append(p.buf, refText(typ, data, "")...)
					p.buf = append(p.buf, ']')
				}
			default:
				// <paragraph> and the like: keep their text.
				depth++
			}
		case tokEnd:
			if depth--; depth == 0 {
				return nil
			}
		}
	}
}

func attr(t *xtoken, name string) string {
	for _, a := range t.attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// record reads one <record> into a Record, or reports it as a problem.
func (p *xmlParser) record(start *xtoken) error {
	p.nrec++
	p.rec = p.nrec
	defer func() { p.rec = 0 }()
	rec := Record{PortLow: -1, PortHigh: -1, Source: p.name, Line: p.line()}
	for _, a := range start.attrs {
		switch a.Name.Local {
		case "date":
			rec.Registered = p.intern.str(a.Value)
		case "updated":
			rec.Modified = p.intern.str(a.Value)
		}
	}
	p.refs = p.refs[:0]
	p.people[0], p.people[1] = p.people[0][:0], p.people[1][:0]
	hasAssignee := false
	var number, proto string
	for {
		tok, err := p.token()
		if err != nil {
			return p.fail(err)
		}
		switch tok.kind {
		case tokStart:
		case tokEnd:
			return p.finishRecord(&rec, hasAssignee, number, proto)
		default:
			continue
		}
		// The element's name, read before its content replaces the token.
		elem := tok.name.Local
		var s string
		switch elem {
		case "assignee":
			hasAssignee = true
			if err := p.assignee(); err != nil {
				return err
			}
			continue
		case "xref":
			typ, data := attr(tok, "type"), attr(tok, "data")
			if s, err = p.text(); err != nil {
				return err
			}
			if typ == "person" {
				if data != "" {
					p.people[1] = append(p.people[1], p.intern.str(data))
				}
				continue
			}
			if ref := refText(typ, data, s); ref != "" {
				p.refs = append(p.refs, p.intern.str(ref))
			}
			continue
		}
		switch elem {
		case "name":
			// The tcp and udp rows of a registration follow each other
			// and repeat these: compare with the previous record's
			// value before paying for a map lookup.
			s, err = p.textLike(&p.prev[0])
		case "description":
			s, err = p.textLike(&p.prev[1])
		case "note":
			s, err = p.textLike(&p.prev[2])
		default:
			s, err = p.text()
		}
		if err != nil {
			return err
		}
		switch elem {
		case "name":
			rec.Name = s
		case "protocol":
			proto = s
		case "number":
			number = s
		case "description":
			rec.Description = s
		case "note":
			rec.Notes = s
		case "sc":
			rec.ServiceCode = s
		case "unauthorized":
			rec.Unauthorized = s
		}
	}
}

// assignee reads the person xrefs inside <assignee>.
func (p *xmlParser) assignee() error {
	return p.children(func(t *xtoken) error {
		if t.name.Local == "xref" {
			if data := attr(t, "data"); data != "" {
				p.people[0] = append(p.people[0], p.intern.str(data))
			}
		}
		return p.skip()
	})
}

func (p *xmlParser) finishRecord(rec *Record, hasAssignee bool, number, proto string) error {
	var err error
	if rec.PortLow, rec.PortHigh, err = parsePortColumn(number); err == nil {
		rec.Protocol, err = parseProto(proto)
	}
	if err == nil && rec.Name == "" && !rec.HasPort() {
		err = errors.New("record has neither a name nor a port number")
	}
	if err != nil {
		return p.sink.add(ParseError{File: p.name, Line: rec.Line, Record: p.rec, Msg: err.Error(), Err: ErrSyntax})
	}
	// Without an <assignee>, the one person given is both assignee and
	// contact (the CSV shows it in both columns).
	if hasAssignee {
		rec.Assignee = p.intern.str(joinPeople(p.people[0]))
	} else {
		rec.Assignee = p.intern.str(joinPeople(p.people[1]))
	}
	rec.Contact = p.intern.str(joinPeople(p.people[1]))
	if len(p.refs) > 0 {
		rec.References = append([]string(nil), p.refs...)
	}
	if p.recs.n == maxRecords {
		return tooManyRecords(p.name, rec.Line)
	}
	Finish(rec)
	p.recs.add(rec)
	return nil
}

// peopleList reads <people><person id=...>...</person>...</people>.
func (p *xmlParser) peopleList() error {
	return p.children(func(t *xtoken) error {
		if t.name.Local != "person" {
			return p.skip()
		}
		return p.person(attr(t, "id"))
	})
}

func (p *xmlParser) person(id string) error {
	c := Contact{ID: id}
	err := p.children(func(t *xtoken) error {
		elem := t.name.Local // read before the content replaces the token
		text := p.uniqueText
		if elem == "updated" || elem == "org" {
			text = p.text // dates and organisations repeat
		}
		s, err := text()
		if err != nil {
			return err
		}
		switch elem {
		case "name":
			c.Name = s
		case "org":
			c.Organization = s
		case "uri":
			c.URI = s
		case "updated":
			c.Updated = s
		}
		return nil
	})
	if err != nil {
		return err
	}
	if p.contacts.n == maxRecords {
		return tooManyRecords(p.name, p.line())
	}
	if c.ID != "" {
		p.contacts.add(&c)
	}
	return nil
}
