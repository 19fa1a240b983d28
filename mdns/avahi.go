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
// ErrAvahiSyntax. Whether the service itself is right is left to the
// Validator.
func ParseAvahi(r io.Reader, file, hostname string) ([]*Advertisement, error) {
	p := avahiParser{file: file, hostname: hostname}
	lr := &io.LimitedReader{R: r, N: maxAvahiBytes + 1}
	// The DOCTYPE of real files names avahi-service.dtd; encoding/xml
	// never fetches it, and entities beyond XML's own are an error.
	p.d = xml.NewDecoder(lr)
	ads, err := p.parse()
	if lr.N <= 0 {
		return nil, &AvahiError{File: file, Msg: fmt.Sprintf("file larger than %d bytes", maxAvahiBytes), Err: ErrAvahiSyntax}
	}
	return ads, err
}

type avahiParser struct {
	d        *xml.Decoder
	file     string
	hostname string
}

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

// syntax turns an encoding/xml error into an AvahiError with its line.
func (p *avahiParser) syntax(err error) error {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return &AvahiError{File: p.file, Line: se.Line, Msg: "XML: " + se.Msg, Err: ErrAvahiSyntax}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
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

func (p *avahiParser) parse() ([]*Advertisement, error) {
	tok, line, err := p.next()
	if errors.Is(err, io.EOF) {
		return nil, p.errf(line, "no <service-group> element")
	}
	if err != nil {
		return nil, err
	}
	root, ok := tok.(xml.StartElement)
	if !ok || root.Name.Local != "service-group" {
		return nil, p.errf(line, "the root element is %s, not <service-group>", describe(tok))
	}
	if err := noAttrs(p, root, line); err != nil {
		return nil, err
	}
	var (
		name     string
		nameSeen bool
		wildcard bool
		ads      []*Advertisement
		endLine  int
	)
	for {
		tok, line, err := p.next()
		if errors.Is(err, io.EOF) {
			return nil, p.errf(line, "unexpected end of file inside <service-group>")
		}
		if err != nil {
			return nil, err
		}
		if _, ok := tok.(xml.EndElement); ok {
			endLine = line
			break
		}
		se := tok.(xml.StartElement)
		switch se.Name.Local {
		case "name":
			if nameSeen {
				return nil, p.errf(line, "more than one <name>")
			}
			nameSeen = true
			for _, a := range se.Attr {
				if a.Name.Local != "replace-wildcards" {
					return nil, p.errf(line, "unknown attribute %s of <name>", a.Name.Local)
				}
				switch a.Value {
				case "yes":
					wildcard = true
				case "no":
				default:
					return nil, p.errf(line, "replace-wildcards is %q, not yes or no", a.Value)
				}
			}
			// Not trimmed: avahi-daemon publishes the name as written,
			// white space and all, and the instance-name rule judges it.
			if name, err = p.text(se, line); err != nil {
				return nil, err
			}
		case "service":
			a, err := p.service(se, line)
			if err != nil {
				return nil, err
			}
			ads = append(ads, a)
		default:
			return nil, p.errf(line, "unknown element <%s> in <service-group>", se.Name.Local)
		}
	}
	if tok, line, err := p.next(); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, err
		}
		return nil, p.errf(line, "%s after </service-group>", describe(tok))
	}
	if !nameSeen {
		return nil, p.errf(endLine, "the service group has no <name>")
	}
	if len(ads) == 0 {
		return nil, p.errf(endLine, "the service group has no <service>")
	}
	if wildcard {
		name = strings.ReplaceAll(name, "%h", p.hostname)
	}
	for _, a := range ads {
		a.Instance = name
	}
	return ads, nil
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

func noAttrs(p *avahiParser, se xml.StartElement, line int) error {
	for _, a := range se.Attr {
		if a.Name.Space == "xmlns" || a.Name.Local == "xmlns" {
			continue
		}
		return p.errf(line, "unknown attribute %s of <%s>", a.Name.Local, se.Name.Local)
	}
	return nil
}

// text reads a leaf element's character data up to its end tag.
func (p *avahiParser) text(se xml.StartElement, line int) (string, error) {
	var b strings.Builder
	for {
		tok, err := p.d.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return "", p.errf(line, "unexpected end of file inside <%s>", se.Name.Local)
			}
			return "", p.syntax(err)
		}
		switch t := tok.(type) {
		case xml.CharData:
			b.Write(t)
		case xml.EndElement:
			return b.String(), nil
		case xml.StartElement:
			return "", p.errf(p.line(), "element <%s> inside <%s>", t.Name.Local, se.Name.Local)
		}
	}
}

// service reads one <service> element.
func (p *avahiParser) service(se xml.StartElement, line int) (*Advertisement, error) {
	for _, a := range se.Attr {
		if a.Name.Local != "protocol" {
			return nil, p.errf(line, "unknown attribute %s of <service>", a.Name.Local)
		}
		if a.Value != "ipv4" && a.Value != "ipv6" && a.Value != "any" {
			return nil, p.errf(line, "protocol is %q, not ipv4, ipv6 or any", a.Value)
		}
	}
	ad := &Advertisement{Domain: "local", Origin: p.file + ":" + strconv.Itoa(line)}
	var typeSeen, portSeen, domainSeen, hostSeen bool
	for {
		tok, l, err := p.next()
		if errors.Is(err, io.EOF) {
			return nil, p.errf(l, "unexpected end of file inside <service>")
		}
		if err != nil {
			return nil, err
		}
		if _, ok := tok.(xml.EndElement); ok {
			break
		}
		el := tok.(xml.StartElement)
		once := func(seen *bool) error {
			if *seen {
				return p.errf(l, "more than one <%s> in <service>", el.Name.Local)
			}
			*seen = true
			return nil
		}
		var format string
		for _, a := range el.Attr {
			if el.Name.Local == "txt-record" && a.Name.Local == "value-format" {
				format = a.Value
				continue
			}
			return nil, p.errf(l, "unknown attribute %s of <%s>", a.Name.Local, el.Name.Local)
		}
		s, err := p.text(el, l)
		if err != nil {
			return nil, err
		}
		switch el.Name.Local {
		case "type":
			if err := once(&typeSeen); err != nil {
				return nil, err
			}
			t := strings.TrimSpace(s)
			if t == "" {
				return nil, p.errf(l, "empty <type>")
			}
			ad.Service, ad.Proto = nextLabel(t)
		case "subtype":
			st := strings.TrimSpace(s)
			label, rest := nextLabel(st)
			sub, _ := nextLabel(rest)
			if label == "" || !strings.EqualFold(sub, "_sub") {
				return nil, p.errf(l, "subtype %q is not of the form SUBTYPE._sub.TYPE", trunc(st))
			}
			ad.Subtypes = append(ad.Subtypes, Unescape(label))
		case "domain-name":
			if err := once(&domainSeen); err != nil {
				return nil, err
			}
			ad.Domain = strings.TrimSuffix(strings.TrimSpace(s), ".")
		case "host-name":
			if err := once(&hostSeen); err != nil {
				return nil, err
			}
			if h := strings.TrimSpace(s); h != "" {
				ad.Host = strings.TrimSuffix(h, ".") + "."
			}
		case "port":
			if err := once(&portSeen); err != nil {
				return nil, err
			}
			n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 16)
			if err != nil {
				return nil, p.errf(l, "port %q is not a number from 0 to 65535", trunc(strings.TrimSpace(s)))
			}
			ad.Port = uint16(n)
		case "txt-record":
			v, err := txtValue(s, format)
			if err != nil {
				return nil, p.errf(l, "txt-record: %v", err)
			}
			if len(v) > 255 {
				return nil, p.errf(l, "txt-record is %d bytes; a TXT string holds at most 255", len(v))
			}
			ad.TXT = append(ad.TXT, v)
			ad.HasTXT = true
		default:
			return nil, p.errf(l, "unknown element <%s> in <service>", el.Name.Local)
		}
	}
	if !typeSeen {
		return nil, p.errf(line, "<service> has no <type>")
	}
	if !portSeen {
		return nil, p.errf(line, "<service> has no <port>")
	}
	return ad, nil
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
