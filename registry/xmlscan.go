package registry

import (
	"bytes"
	"encoding/xml"
	"io"
	"unicode/utf8"
)

// fastSource scans the plain XML the IANA registry is written in: start
// and end tags with unprefixed ASCII names, quoted attributes, text with
// the five predefined entities, comments and processing instructions.
// It reads the input in large blocks and looks at each byte once, where
// encoding/xml's decoder reads byte by byte through a bufio.Reader; on
// the registry that is most of the parse.
//
// Anything else (a CDATA section, a DOCTYPE, a character reference, a
// namespace prefix, a carriage return, a non-ASCII name, a malformed
// construct, a token of half maxTokenBytes) makes it hand the rest of the
// input, from the start of that token, to encoding/xml: what the scanner
// accepts it accepts exactly as encoding/xml's RawToken does, and the
// rest, errors included, is encoding/xml's own.
type fastSource struct {
	r      io.Reader
	name   string
	intern interner // attribute values, shared with the parser
	names  map[string]string

	buf      []byte
	pos, end int   // unread input is buf[pos:end]
	eof      bool  // r reported io.EOF
	rerr     error // r reported another error
	lines    int   // newlines in the input before buf[counted]
	counted  int
	scratch  []byte // entity-decoded text
	attrs    []xml.Attr
	pending  bool // a self-closing tag's end is the next token
	pendName xml.Name

	std   *stdSource // set once the rest is encoding/xml's
	chunk int        // bytes asked of r per read
	more  int        // tokens scanned again after reading more
}

const (
	fastChunk = 64 << 10
	// maxNames bounds the distinct element and attribute names kept
	// shared; the registry has about twenty.
	maxNames = 1024
	// maxInternedValues bounds the attribute values the scanner adds to
	// the parser's interner.
	maxInternedValues = 1 << 16
)

func newFastSource(r io.Reader, name string, intern interner) *fastSource {
	return &fastSource{r: r, name: name, intern: intern, names: make(map[string]string, 32), chunk: fastChunk}
}

// scan results besides a positive byte count.
const (
	scanMore     = 0  // the token may go on past the bytes read so far
	scanHandOver = -1 // not a token the scanner takes
)

func (s *fastSource) next(t *xtoken) error {
	if s.std != nil {
		return s.std.next(t)
	}
	if s.pending {
		s.pending = false
		*t = xtoken{kind: tokEnd, name: s.pendName}
		return nil
	}
	for {
		if s.pos == s.end {
			if s.eof {
				return io.EOF
			}
			if s.rerr == nil {
				s.fill(1)
				continue
			}
		} else if n := s.scan(t, s.buf[s.pos:s.end]); n > 0 {
			s.pos += n
			return nil
		} else if n == scanMore && !s.eof && s.rerr == nil && s.end-s.pos < maxTokenBytes/2 {
			// At least twice the bytes of the token so far, so that a
			// long token read in short reads is scanned again only a
			// logarithmic number of times.
			s.more++
			s.fill(min(2*(s.end-s.pos), maxTokenBytes/2))
			continue
		}
		s.handOver()
		return s.std.next(t)
	}
}

// fill reads until at least want bytes are unread or the input ends,
// moving the unread bytes to the start of the buffer or growing it as
// needed.
func (s *fastSource) fill(want int) {
	if s.pos > 0 && s.pos+want+s.chunk > len(s.buf) {
		s.countLines()
		s.end = copy(s.buf, s.buf[s.pos:s.end])
		s.pos, s.counted = 0, 0
	}
	for empty := 0; s.end-s.pos < want; {
		if need := s.end + s.chunk; need > len(s.buf) {
			nb := make([]byte, max(need, 2*len(s.buf)))
			copy(nb, s.buf[:s.end])
			s.buf = nb
		}
		n, err := s.r.Read(s.buf[s.end : s.end+s.chunk])
		s.end += n
		switch {
		case err == io.EOF:
			s.eof = true
			return
		case err != nil:
			s.rerr = err
			return
		case n == 0:
			if empty++; empty == 100 {
				s.rerr = io.ErrNoProgress
				return
			}
		}
	}
}

func (s *fastSource) countLines() {
	s.lines += bytes.Count(s.buf[s.counted:s.pos], nl)
	s.counted = s.pos
}

var nl = []byte{'\n'}

func (s *fastSource) line() int {
	if s.std != nil {
		return s.std.line()
	}
	s.countLines()
	return 1 + s.lines
}

func (s *fastSource) syntaxLine(se *xml.SyntaxError) int {
	if s.std != nil {
		return s.std.syntaxLine(se)
	}
	return se.Line // never returned before the hand-over
}

// handOver gives the unread input and the rest of r to encoding/xml.
func (s *fastSource) handOver() {
	s.countLines()
	var r io.Reader = bytes.NewReader(s.buf[s.pos:s.end])
	switch {
	case s.rerr != nil:
		r = io.MultiReader(r, errReader{s.rerr})
	case !s.eof:
		r = io.MultiReader(r, s.r)
	}
	s.std = newStdSource(r, s.name, 1+s.lines)
}

// scan reads one token from the start of b.
func (s *fastSource) scan(t *xtoken, b []byte) int {
	if b[0] != '<' {
		return s.text(t, b)
	}
	if len(b) < 2 {
		return scanMore
	}
	switch b[1] {
	case '/':
		return s.endTag(t, b)
	case '?':
		return s.procInst(t, b)
	case '!':
		return s.comment(t, b)
	}
	return s.startTag(t, b)
}

// Byte classes. A text byte is plain unless it is '&', ']', '<', a
// control character other than tab and newline, or the start of a
// multi-byte character; names are ASCII letters, digits, '_', '-' and
// '.', beginning with a letter or '_'.
const (
	classSpecial = 1 << iota
	className
	classNameStart
	classSpace
)

var byteClass = func() (c [256]uint8) {
	for i := range c {
		switch b := byte(i); {
		case b == '\t' || b == '\n':
			c[i] = classSpace
		case b < 0x20 || b >= 0x80 || b == '&' || b == ']' || b == '<':
			c[i] = classSpecial
		case b == ' ':
			c[i] = classSpace
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', b == '_':
			c[i] = className | classNameStart
		case '0' <= b && b <= '9', b == '-', b == '.':
			c[i] = className
		}
	}
	return c
}()

// chars checks and decodes text or an attribute value v, which ends
// where the token's text ends. It returns the decoded bytes and whether
// the scanner takes them.
func (s *fastSource) chars(v []byte) ([]byte, bool) {
	decoded := false
	plain := 0
	for i := 0; i < len(v); {
		c := v[i]
		if byteClass[c]&classSpecial == 0 {
			i++
			continue
		}
		switch {
		case c == '&':
			k, r := entity(v[i:])
			if k == 0 {
				return nil, false
			}
			if !decoded {
				s.scratch = s.scratch[:0]
				decoded = true
			}
			s.scratch = append(s.scratch, v[plain:i]...)
			s.scratch = append(s.scratch, r)
			i += k
			plain = i
		case c == ']':
			if bytes.HasPrefix(v[i:], []byte("]]>")) {
				return nil, false
			}
			i++
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(v[i:])
			if r == utf8.RuneError && size == 1 || r == 0xFFFE || r == 0xFFFF {
				return nil, false
			}
			i += size
		default: // '<' in a value, or a control character
			return nil, false
		}
	}
	if !decoded {
		return v, true
	}
	return append(s.scratch, v[plain:]...), true
}

// entity reads one of the five predefined entities at the start of v.
func entity(v []byte) (int, byte) {
	for _, e := range [...]struct {
		s string
		r byte
	}{{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}} {
		if len(v) >= len(e.s) && string(v[:len(e.s)]) == e.s {
			return len(e.s), e.r
		}
	}
	return 0, 0
}

// text reads character data up to the next '<' or the end of the input.
func (s *fastSource) text(t *xtoken, b []byte) int {
	n := bytes.IndexByte(b, '<')
	if n < 0 {
		if !s.eof {
			return scanMore
		}
		n = len(b)
	}
	v, ok := s.chars(b[:n])
	if !ok {
		return scanHandOver
	}
	*t = xtoken{kind: tokText, text: v}
	return n
}

// name reads a name at the start of b: its length, scanMore or
// scanHandOver.
func name(b []byte) int {
	if len(b) == 0 {
		return scanMore
	}
	if byteClass[b[0]]&classNameStart == 0 {
		return scanHandOver
	}
	for i := 1; i < len(b); i++ {
		if byteClass[b[i]]&className == 0 {
			if b[i] == ':' || b[i] >= utf8.RuneSelf {
				return scanHandOver
			}
			return i
		}
	}
	return scanMore
}

func (s *fastSource) nameOf(b []byte) xml.Name {
	if v, ok := s.names[string(b)]; ok {
		return xml.Name{Local: v}
	}
	v := string(b)
	if len(s.names) < maxNames {
		s.names[v] = v
	}
	return xml.Name{Local: v}
}

func xmlSpace(b []byte, i int) int {
	for i < len(b) && byteClass[b[i]]&classSpace != 0 {
		i++
	}
	return i
}

// endTag reads </name ws*>.
func (s *fastSource) endTag(t *xtoken, b []byte) int {
	n := name(b[2:])
	if n <= 0 {
		return n
	}
	i := xmlSpace(b, 2+n)
	if i == len(b) {
		return scanMore
	}
	if b[i] != '>' {
		return scanHandOver
	}
	*t = xtoken{kind: tokEnd, name: s.nameOf(b[2 : 2+n])}
	return i + 1
}

// startTag reads <name attr="value" ...> or <name .../>.
func (s *fastSource) startTag(t *xtoken, b []byte) int {
	n := name(b[1:])
	if n <= 0 {
		return n
	}
	elem := b[1 : 1+n]
	s.attrs = s.attrs[:0]
	i := 1 + n
	for {
		i = xmlSpace(b, i)
		if i == len(b) {
			return scanMore
		}
		switch b[i] {
		case '>':
			*t = xtoken{kind: tokStart, name: s.nameOf(elem), attrs: s.attrs}
			return i + 1
		case '/':
			if i+1 == len(b) {
				return scanMore
			}
			if b[i+1] != '>' {
				return scanHandOver
			}
			*t = xtoken{kind: tokStart, name: s.nameOf(elem), attrs: s.attrs}
			s.pending, s.pendName = true, t.name
			return i + 2
		}
		k := name(b[i:])
		if k <= 0 {
			return k
		}
		an := b[i : i+k]
		i = xmlSpace(b, i+k)
		if i == len(b) {
			return scanMore
		}
		if b[i] != '=' {
			return scanHandOver
		}
		i = xmlSpace(b, i+1)
		if i == len(b) {
			return scanMore
		}
		q := b[i]
		if q != '"' && q != '\'' {
			return scanHandOver
		}
		i++
		j := bytes.IndexByte(b[i:], q)
		if j < 0 {
			return scanMore
		}
		v, ok := s.chars(b[i : i+j])
		if !ok {
			return scanHandOver
		}
		s.attrs = append(s.attrs, xml.Attr{Name: s.nameOf(an), Value: s.value(v)})
		i += j + 1
	}
}

func (s *fastSource) value(v []byte) string {
	if len(s.intern) < maxInternedValues {
		return s.intern.bytes(v)
	}
	return string(v)
}

// procInst reads <?target ...?>. The XML declaration is taken only in
// its plain form (version 1.0, UTF-8), which encoding/xml accepts; any
// other is left to encoding/xml to accept or refuse.
func (s *fastSource) procInst(t *xtoken, b []byte) int {
	n := name(b[2:])
	if n <= 0 {
		return n
	}
	rest := b[2+n:]
	k := bytes.Index(rest, []byte("?>"))
	if k < 0 {
		return scanMore
	}
	if string(b[2:2+n]) == "xml" && !plainDecl(rest[:k]) {
		return scanHandOver
	}
	*t = xtoken{kind: tokOther}
	return 2 + n + k + 2
}

// plainDecl reports whether d, the XML declaration after "<?xml", is
// ws name='value' ... with version 1.0, encoding UTF-8 and standalone
// yes or no, each at most once.
func plainDecl(d []byte) bool {
	var seen [3]bool
	for i := 0; ; {
		j := xmlSpace(d, i)
		if j == len(d) {
			return true
		}
		if j == i {
			return false // no space before a pseudo-attribute
		}
		n := name(d[j:])
		if n <= 0 || j+n+1 >= len(d) || d[j+n] != '=' {
			return false
		}
		key := string(d[j : j+n])
		q := d[j+n+1]
		if q != '"' && q != '\'' {
			return false
		}
		v := d[j+n+2:]
		e := bytes.IndexByte(v, q)
		if e < 0 {
			return false
		}
		val := string(v[:e])
		var f int
		switch {
		case key == "version" && val == "1.0":
			f = 0
		case key == "encoding" && (val == "UTF-8" || val == "utf-8"):
			f = 1
		case key == "standalone" && (val == "yes" || val == "no"):
			f = 2
		default:
			return false
		}
		if seen[f] {
			return false
		}
		seen[f] = true
		i = j + n + 2 + e + 1
	}
}

// comment reads <!-- ... -->; any other <! is encoding/xml's.
func (s *fastSource) comment(t *xtoken, b []byte) int {
	if len(b) < 4 { // b starts with "<!"
		if len(b) == 2 || b[2] == '-' {
			return scanMore
		}
		return scanHandOver
	}
	if b[2] != '-' || b[3] != '-' {
		return scanHandOver
	}
	k := bytes.Index(b[4:], []byte("--"))
	if k < 0 {
		return scanMore
	}
	e := 4 + k + 2
	if e == len(b) {
		return scanMore
	}
	if b[e] != '>' {
		return scanHandOver
	}
	*t = xtoken{kind: tokOther}
	return e + 1
}
