package mdns

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// ErrAvahiSyntax is wrapped by every *AvahiError that is about the file's
// content (rather than reading it).
var ErrAvahiSyntax = errors.New("invalid Avahi service file")

// maxAvahiBytes bounds one .service file; real ones are a few hundred
// bytes.
const maxAvahiBytes = 1 << 20

// AvahiError locates a problem in an Avahi .service file.
type AvahiError struct {
	File string
	Line int // 0 when not known
	Msg  string
	Err  error // ErrAvahiSyntax or the read error
}

func (e *AvahiError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

func (e *AvahiError) Unwrap() error { return e.Err }

// ParseAvahi reads one Avahi service file (avahi.service(5)): a
// <service-group> with a <name> and one or more <service> elements, each
// with <type>, optional <subtype>s ("_printer._sub._http._tcp"),
// <domain-name>, <host-name>, <port> and <txt-record>s (value-format text,
// binary-hex or binary-base64). It returns one Advertisement per
// <service>, with Origin "file:line" of the <service> element, and "%h"
// in a name with replace-wildcards="yes" replaced by hostname, as
// avahi-daemon does. Anything avahi-daemon would refuse (unknown
// elements or attributes, a missing name, type or port, a bad port, bad
// XML) is an *AvahiError naming file and line and wrapping
// ErrAvahiSyntax. The parser keeps going after a bad element, so the
// error joins every problem of the file (errors.Join, one per line), and
// the services that parsed are still returned, for their findings;
// only broken XML ends the file early. Whether the service itself is
// right is left to the Validator.
func ParseAvahi(r io.Reader, file, hostname string) ([]*Advertisement, error) {
	p := avahiParser{file: file, hostname: hostname}
	lr := &io.LimitedReader{R: r, N: maxAvahiBytes + 1}
	// The DOCTYPE of real files names avahi-service.dtd; encoding/xml
	// never fetches it, and entities beyond XML's own are an error.
	p.d = xml.NewDecoder(lr)
	ads := p.parse()
	if lr.N <= 0 {
		return nil, &AvahiError{File: file, Msg: fmt.Sprintf("file larger than %d bytes", maxAvahiBytes), Err: ErrAvahiSyntax}
	}
	return ads, errors.Join(p.problems...)
}

type avahiParser struct {
	d        *xml.Decoder
	file     string
	hostname string
	problems []error
}

// bad records a problem at line and parsing goes on.
func (p *avahiParser) bad(line int, format string, args ...any) {
	p.problems = append(p.problems, p.errf(line, format, args...))
}

// fail records a problem that ends the file (the XML cannot be read
// further).
func (p *avahiParser) fail(err error) { p.problems = append(p.problems, err) }

func (p *avahiParser) errf(line int, format string, args ...any) error {
	return &AvahiError{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...), Err: ErrAvahiSyntax}
}

func (p *avahiParser) line() int {
	l, _ := p.d.InputPos()
	return l
}

// next returns the next start or end element, skipping comments,
// directives, processing instructions and text.
func (p *avahiParser) next() (xml.Token, int, error) {
	for {
		line := p.line()
		tok, err := p.d.Token()
		if errors.Is(err, io.EOF) {
			return nil, line, io.EOF
		}
		if err != nil {
			return nil, p.line(), p.syntax(err)
		}
		switch t := tok.(type) {
		case xml.StartElement, xml.EndElement:
			return t, p.line(), nil
		}
		// Text between elements is ignored, as avahi-daemon does.
	}
}

// skip passes over the rest of an element refused, so parsing goes on
// after it; false when the XML breaks inside it.
func (p *avahiParser) skip() bool {
	if err := p.d.Skip(); err != nil {
		p.fail(p.syntax(err))
		return false
	}
	return true
}

// syntax turns an encoding/xml error into an AvahiError with its line.
func (p *avahiParser) syntax(err error) error {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return &AvahiError{File: p.file, Line: se.Line, Msg: "XML: " + se.Msg, Err: ErrAvahiSyntax}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return p.errf(p.line(), "unexpected end of file")
	}
	return &AvahiError{File: p.file, Line: p.line(), Msg: err.Error(), Err: err}
}

func trunc(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// parse reads the file, recording problems; it returns the services that
// parsed without one.
func (p *avahiParser) parse() []*Advertisement {
	tok, line, err := p.next()
	if errors.Is(err, io.EOF) {
		p.bad(line, "no <service-group> element")
		return nil
	}
	if err != nil {
		p.fail(err)
		return nil
	}
	root, ok := tok.(xml.StartElement)
	if !ok || root.Name.Local != "service-group" {
		p.bad(line, "the root element is %s, not <service-group>", describe(tok))
		return nil
	}
	noAttrs(p, root, line)
	var (
		name     string
		nameSeen bool
		wildcard bool
		services int
		ads      []*Advertisement
		endLine  int
	)
	for {
		tok, line, err := p.next()
		if errors.Is(err, io.EOF) {
			p.bad(line, "unexpected end of file inside <service-group>")
			return nil
		}
		if err != nil {
			p.fail(err)
			return nil
		}
		if _, ok := tok.(xml.EndElement); ok {
			endLine = line
			break
		}
		se := tok.(xml.StartElement)
		switch se.Name.Local {
		case "name":
			if nameSeen {
				p.bad(line, "more than one <name>")
				if !p.skip() {
					return nil
				}
				continue
			}
			nameSeen = true
			for _, a := range se.Attr {
				if a.Name.Local != "replace-wildcards" {
					p.bad(line, "unknown attribute %s of <name>", a.Name.Local)
					continue
				}
				switch a.Value {
				case "yes":
					wildcard = true
				case "no":
				default:
					p.bad(line, "replace-wildcards is %q, not yes or no", a.Value)
				}
			}
			// Not trimmed: avahi-daemon publishes the name as written,
			// white space and all, and the instance-name rule judges it.
			var ok bool
			if name, ok = p.text(se, line); !ok {
				return nil
			}
		case "service":
			services++
			a, ok := p.service(se, line)
			if a != nil {
				ads = append(ads, a)
			}
			if !ok {
				return nil
			}
		default:
			p.bad(line, "unknown element <%s> in <service-group>", se.Name.Local)
			if !p.skip() {
				return nil
			}
		}
	}
	if tok, line, err := p.next(); !errors.Is(err, io.EOF) {
		if err != nil {
			p.fail(err)
		} else {
			p.bad(line, "%s after </service-group>", describe(tok))
		}
	}
	if !nameSeen {
		p.bad(endLine, "the service group has no <name>")
		return nil
	}
	if services == 0 {
		p.bad(endLine, "the service group has no <service>")
	}
	if wildcard {
		name = strings.ReplaceAll(name, "%h", p.hostname)
	}
	for _, a := range ads {
		a.Instance = name
	}
	return ads
}

func describe(tok xml.Token) string {
	switch t := tok.(type) {
	case xml.StartElement:
		return "<" + t.Name.Local + ">"
	case xml.EndElement:
		return "</" + t.Name.Local + ">"
	}
	return "nothing"
}

func noAttrs(p *avahiParser, se xml.StartElement, line int) {
	for _, a := range se.Attr {
		if a.Name.Space == "xmlns" || a.Name.Local == "xmlns" {
			continue
		}
		p.bad(line, "unknown attribute %s of <%s>", a.Name.Local, se.Name.Local)
	}
}

// text reads a leaf element's character data up to its end tag; an
// element inside it is a problem and skipped. false when the XML breaks.
func (p *avahiParser) text(se xml.StartElement, line int) (string, bool) {
	var b strings.Builder
	for {
		tok, err := p.d.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				p.bad(line, "unexpected end of file inside <%s>", se.Name.Local)
				return "", false
			}
			p.fail(p.syntax(err))
			return "", false
		}
		switch t := tok.(type) {
		case xml.CharData:
			b.Write(t)
		case xml.EndElement:
			return b.String(), true
		case xml.StartElement:
			p.bad(p.line(), "element <%s> inside <%s>", t.Name.Local, se.Name.Local)
			if !p.skip() {
				return "", false
			}
		}
	}
}

// service reads one <service> element. It returns the advertisement when
// the element had no problem (nil otherwise), and false when the XML
// breaks inside it.
func (p *avahiParser) service(se xml.StartElement, line int) (*Advertisement, bool) {
	before := len(p.problems)
	for _, a := range se.Attr {
		if a.Name.Local != "protocol" {
			p.bad(line, "unknown attribute %s of <service>", a.Name.Local)
			continue
		}
		if a.Value != "ipv4" && a.Value != "ipv6" && a.Value != "any" {
			p.bad(line, "protocol is %q, not ipv4, ipv6 or any", a.Value)
		}
	}
	ad := &Advertisement{Domain: "local", Origin: p.file + ":" + strconv.Itoa(line)}
	var typeSeen, portSeen, domainSeen, hostSeen bool
	for {
		tok, l, err := p.next()
		if errors.Is(err, io.EOF) {
			p.bad(l, "unexpected end of file inside <service>")
			return nil, false
		}
		if err != nil {
			p.fail(err)
			return nil, false
		}
		if _, ok := tok.(xml.EndElement); ok {
			break
		}
		el := tok.(xml.StartElement)
		switch el.Name.Local {
		case "type", "subtype", "domain-name", "host-name", "port", "txt-record":
		default:
			p.bad(l, "unknown element <%s> in <service>", el.Name.Local)
			if !p.skip() {
				return nil, false
			}
			continue
		}
		var format string
		for _, a := range el.Attr {
			if el.Name.Local == "txt-record" && a.Name.Local == "value-format" {
				format = a.Value
				continue
			}
			p.bad(l, "unknown attribute %s of <%s>", a.Name.Local, el.Name.Local)
		}
		s, ok := p.text(el, l)
		if !ok {
			return nil, false
		}
		p.serviceField(ad, el.Name.Local, s, format, l, map[string]*bool{
			"type": &typeSeen, "port": &portSeen, "domain-name": &domainSeen, "host-name": &hostSeen})
	}
	if !typeSeen {
		p.bad(line, "<service> has no <type>")
	}
	if !portSeen {
		p.bad(line, "<service> has no <port>")
	}
	if len(p.problems) > before {
		return nil, true
	}
	return ad, true
}

// serviceField applies one leaf element of a <service>; once marks the
// elements that may appear only once.
func (p *avahiParser) serviceField(ad *Advertisement, el, s, format string, l int, once map[string]*bool) {
	if seen := once[el]; seen != nil {
		if *seen {
			p.bad(l, "more than one <%s> in <service>", el)
			return
		}
		*seen = true
	}
	switch el {
	case "type":
		t := strings.TrimSpace(s)
		if t == "" {
			p.bad(l, "empty <type>")
			return
		}
		ad.Service, ad.Proto = nextLabel(t)
	case "subtype":
		st := strings.TrimSpace(s)
		label, rest := nextLabel(st)
		sub, _ := nextLabel(rest)
		if label == "" || !strings.EqualFold(sub, "_sub") {
			p.bad(l, "subtype %q is not of the form SUBTYPE._sub.TYPE", trunc(st))
			return
		}
		ad.Subtypes = append(ad.Subtypes, Unescape(label))
	case "domain-name":
		ad.Domain = strings.TrimSuffix(strings.TrimSpace(s), ".")
	case "host-name":
		if h := strings.TrimSpace(s); h != "" {
			ad.Host = strings.TrimSuffix(h, ".") + "."
		}
	case "port":
		n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 16)
		if err != nil {
			p.bad(l, "port %q is not a number from 0 to 65535", trunc(strings.TrimSpace(s)))
			return
		}
		ad.Port = uint16(n)
	case "txt-record":
		v, err := txtValue(s, format)
		if err != nil {
			p.bad(l, "txt-record: %v", err)
			return
		}
		if len(v) > 255 {
			p.bad(l, "txt-record is %d bytes; a TXT string holds at most 255", len(v))
			return
		}
		ad.TXT = append(ad.TXT, v)
		ad.HasTXT = true
	}
}

// txtValue applies a txt-record's value-format to the part after '='.
func txtValue(s, format string) (string, error) {
	switch format {
	case "", "text":
		return s, nil
	case "binary-hex", "binary-base64":
	default:
		return "", fmt.Errorf("value-format %q is not text, binary-hex or binary-base64", format)
	}
	key, val, ok := strings.Cut(s, "=")
	if !ok {
		return "", fmt.Errorf("%s value without '='", format)
	}
	val = strings.TrimSpace(val)
	var b []byte
	var err error
	if format == "binary-hex" {
		b, err = hex.DecodeString(val)
	} else {
		b, err = base64.StdEncoding.DecodeString(val)
	}
	if err != nil {
		return "", fmt.Errorf("bad %s value: %w", format, err)
	}
	return key + "=" + string(b), nil
}
