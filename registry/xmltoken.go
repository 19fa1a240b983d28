package registry

import (
	"encoding/xml"
	"io"
)

// The XML parser reads tokens from a tokenSource: a fast scanner for the
// plain XML the registry is written in (xmlscan.go), which hands over to
// encoding/xml's decoder at the first construct it does not handle, so
// that what is accepted, what it means and how errors read are
// encoding/xml's.

type tokKind uint8

const (
	tokOther tokKind = iota // comment, processing instruction, directive
	tokText
	tokStart
	tokEnd
)

// xtoken is one raw token. Its text and attrs are valid until the next
// token is read; names and attribute values are strings and stay valid.
type xtoken struct {
	kind  tokKind
	name  xml.Name   // tokStart, tokEnd
	attrs []xml.Attr // tokStart
	text  []byte     // tokText, entity-decoded
}

type tokenSource interface {
	// next reads the next token into t: io.EOF at the end of the input,
	// any other error as encoding/xml's RawToken reports it.
	next(t *xtoken) error
	// line is the line at the end of the last token read, from 1.
	line() int
	// syntaxLine is the line of a *xml.SyntaxError the source returned,
	// counted from the start of the input.
	syntaxLine(se *xml.SyntaxError) int
}

// stdSource reads tokens with encoding/xml's RawToken. It may start in
// the middle of the input, at a token boundary where the fast scanner
// stopped: line0 is the line it starts on.
type stdSource struct {
	d      *xml.Decoder
	line0  int
	tokEnd int64 // input offset after the last token, for the guard
}

func newStdSource(r io.Reader, name string, line0 int) *stdSource {
	s := &stdSource{line0: line0}
	g := &tokenGuard{r: r, name: name}
	s.d = xml.NewDecoder(g)
	g.done = func() int64 { return s.tokEnd }
	g.line = s.line
	return s
}

func (s *stdSource) next(t *xtoken) error {
	tok, err := s.d.RawToken()
	s.tokEnd = s.d.InputOffset()
	if err != nil {
		return err
	}
	switch v := tok.(type) {
	case xml.StartElement:
		*t = xtoken{kind: tokStart, name: v.Name, attrs: v.Attr}
	case xml.EndElement:
		*t = xtoken{kind: tokEnd, name: v.Name}
	case xml.CharData:
		*t = xtoken{kind: tokText, text: v}
	default:
		*t = xtoken{kind: tokOther}
	}
	return nil
}

func (s *stdSource) line() int {
	l, _ := s.d.InputPos()
	return s.line0 + l - 1
}

func (s *stdSource) syntaxLine(se *xml.SyntaxError) int { return s.line0 + se.Line - 1 }

// errReader hands a read error on after the bytes before it.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
