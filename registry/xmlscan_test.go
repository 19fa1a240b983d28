package registry

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"
)

// scannedToken is one token as a source gave it, copied out.
type scannedToken struct {
	Kind  tokKind
	Name  xml.Name
	Attrs []xml.Attr
	Text  string
	Line  int
}

// scanAll reads every token of src, and how it ended: "EOF", the syntax
// error with its line counted from the start of the input, or the error.
func scanAll(src tokenSource) ([]scannedToken, string) {
	var out []scannedToken
	var t xtoken
	for range 1 << 20 {
		err := src.next(&t)
		var se *xml.SyntaxError
		switch {
		case errors.Is(err, io.EOF):
			return out, "EOF"
		case errors.As(err, &se):
			return out, fmt.Sprintf("line %d: %s", src.syntaxLine(se), se.Msg)
		case err != nil:
			return out, err.Error()
		}
		out = append(out, scannedToken{Kind: t.kind, Name: t.name, Attrs: append([]xml.Attr(nil), t.attrs...),
			Text: string(t.text), Line: src.line()})
	}
	panic("endless token stream")
}

// compareScan reads data with the fast scanner, reading chunk bytes at a
// time, and with encoding/xml, and fails unless both give the same tokens
// and lines and end the same way. It reports whether the scanner handed
// over to encoding/xml.
func compareScan(t testing.TB, data []byte, chunk int) bool {
	t.Helper()
	fast := newFastSource(bytes.NewReader(data), "t.xml", make(interner))
	fast.chunk = chunk
	got, gotEnd := scanAll(fast)
	want, wantEnd := scanAll(newStdSource(bytes.NewReader(data), "t.xml", 1))
	require.Equal(t, want, got, "tokens")
	require.Equal(t, wantEnd, gotEnd, "end")
	return fast.std != nil
}

// TestXMLFastMatchesDecoder parses the official registries with the fast
// scanner and with encoding/xml alone: the same Source, and the scanner
// read all of it itself.
func TestXMLFastMatchesDecoder(t *testing.T) {
	for _, name := range []string{ianaXML, ianaXML2023} {
		t.Run(name, func(t *testing.T) {
			data := sharedBytes(t, name)
			for _, chunk := range []int{fastChunk, 4093} {
				in := make(interner)
				fast := newFastSource(bytes.NewReader(data), name, in)
				fast.chunk = chunk
				got, err := parseXML(fast, name, in)
				require.NoError(t, err)
				require.Nil(t, fast.std, "the scanner handed the registry over to encoding/xml")
				want, err := parseXML(newStdSource(bytes.NewReader(data), name, 1), name, make(interner))
				require.NoError(t, err)
				require.Equal(t, want, got)
			}
			if !testing.Short() {
				require.False(t, compareScan(t, data, 1021), "handed over")
			}
		})
	}
}

// scannerCases are documents the scanner takes itself (plain) or hands
// over to encoding/xml at the construct they hold.
var scannerCases = []struct {
	name, doc string
	plain     bool
}{
	{"elements", "<a>x<b c='1' d=\"2\"/>y</a>", true},
	{"declaration", "<?xml version='1.0' encoding='UTF-8'?>\n<?xml-stylesheet type=\"text/xsl\" href=\"s.xsl\"?>\n<r/>", true},
	{"declaration lower case", `<?xml version="1.0" encoding="utf-8" standalone="yes"?><r/>`, true},
	{"spaces in tags", "<a  x = 'v'\n\ty='w' >t</a\n >", true},
	{"attributes without spaces", `<a x="1"y="2"/>`, true},
	{"entities", "<a t='&lt;&amp;&gt;&quot;&apos;'>&lt;u&gt; &amp; p</a>", true},
	{"comment", "<a><!-- note - with dashes -->b<!---->c</a>", true},
	{"non-ASCII text", "<a x='ü'>Görlitz 日本 \U0001F600</a>", true},
	{"empty", "", true},
	{"only text", "hello\nworld", true},
	{"text then EOF", "<a>b", true},
	{"names with dots and dashes", "<a.b-c_d e-f.g='1'></a.b-c_d>", true},
	{"CDATA", "<a><![CDATA[x < y]]></a>", false},
	{"DOCTYPE", "<!DOCTYPE a><a/>", false},
	{"character reference", "<a>&#65;&#x42;</a>", false},
	{"unknown entity", "<a>&nbsp;</a>", false},
	{"entity without semicolon", "<a>&amp</a>", false},
	{"carriage return", "<a>x\r\ny</a>", false},
	{"carriage return in tag", "<a\r\nx='1'/>", false},
	{"namespace prefix", `<a xmlns:p="u"><p:b/></a>`, false},
	{"non-ASCII name", "<ä/>", false},
	{"name starting with a digit", "<1a/>", false},
	{"unquoted attribute", "<a x=1/>", false},
	{"attribute without value", "<a x/>", false},
	{"< in attribute", "<a x='<'/>", false},
	{"]]> in text", "<a>]]></a>", false},
	{"]]> in attribute", "<a x=']]>'/>", false},
	{"double dash in comment", "<a><!-- a -- b --></a>", false},
	{"unterminated comment", "<a><!-- a", false},
	{"version 1.1", "<?xml version='1.1'?><a/>", false},
	{"latin-1", "<?xml version='1.0' encoding='ISO-8859-1'?><a/>", false},
	{"spaced declaration", "<?xml version = '1.0'?><a/>", false},
	{"control character", "<a>\x01</a>", false},
	{"invalid UTF-8", "<a>\xff</a>", false},
	{"U+FFFE", "<a>\uFFFE</a>", false},
	{"junk in end tag", "<a></a b>", false},
	{"slash without >", "<a/ >", false},
	{"truncated tag", "<a><b x='1", false},
	{"truncated end tag", "<a></a", false},
	{"lone <", "<a>x<", false},
	{"<! at EOF", "<a><!", false},
	{"unterminated PI", "<?pi x", false},
}

func TestXMLScanner(t *testing.T) {
	for _, tc := range scannerCases {
		t.Run(tc.name, func(t *testing.T) {
			for _, chunk := range []int{1, 2, 3, 7, fastChunk} {
				handed := compareScan(t, []byte(tc.doc), chunk)
				require.Equal(t, !tc.plain, handed, "handed over to encoding/xml (chunk %d)", chunk)
			}
		})
	}
}

// TestXMLScannerLongToken: a token of half maxTokenBytes goes to
// encoding/xml, whose guard bounds it; shorter ones the scanner takes,
// however many reads they span.
func TestXMLScannerLongToken(t *testing.T) {
	long := "<a x='" + strings.Repeat("v", maxTokenBytes/2-100) + "'>" + strings.Repeat("t", 300_000) + "</a>"
	require.False(t, compareScan(t, []byte(long), 4096))
	longer := "<a x='" + strings.Repeat("v", maxTokenBytes/2) + "'/>"
	require.True(t, compareScan(t, []byte(longer), fastChunk))
	junk := "<registry>" + strings.Repeat("all work and no play ", maxTokenBytes/10)
	in := make(interner)
	fast := newFastSource(strings.NewReader(junk), "j.xml", in)
	_, err := parseXML(fast, "j.xml", in)
	require.ErrorIs(t, err, ErrTooLarge)
	require.NotNil(t, fast.std, "the scanner kept a token of over half maxTokenBytes")
}

// TestXMLScannerShortReads: a long token arriving in one-byte reads is
// scanned again a logarithmic number of times, not once per read.
func TestXMLScannerShortReads(t *testing.T) {
	doc := "<registry><record><description>" + strings.Repeat("long text ", 30_000) + "</description></record></registry>"
	fast := newFastSource(iotest.OneByteReader(strings.NewReader(doc)), "s.xml", make(interner))
	got, end := scanAll(fast)
	require.Equal(t, "EOF", end)
	require.Len(t, got, 7)
	require.Nil(t, fast.std)
	require.LessOrEqual(t, fast.more, 2*20, "scans of a token left incomplete")
}

// TestXMLScannerReadError: a read error reaches the parser after the
// tokens before it, as from encoding/xml.
func TestXMLScannerReadError(t *testing.T) {
	boom := errors.New("boom")
	doc := "<registry><record><name>a</name>"
	fast := newFastSource(io.MultiReader(strings.NewReader(doc), errReader{boom}), "e.xml", make(interner))
	got, end := scanAll(fast)
	want, wantEnd := scanAll(newStdSource(io.MultiReader(strings.NewReader(doc), errReader{boom}), "e.xml", 1))
	require.Equal(t, want, got)
	require.Equal(t, wantEnd, end)
	require.Equal(t, "boom", end)
}

// FuzzXMLScanner compares the fast scanner with encoding/xml on arbitrary
// input read in chunks of every size: the same tokens, lines and ending,
// and the same parse.
func FuzzXMLScanner(f *testing.F) {
	for _, tc := range scannerCases {
		f.Add([]byte(tc.doc), uint16(3))
	}
	if files, _ := filepath.Glob("testdata/bad/*.xml"); len(files) > 0 {
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b, uint16(100))
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, chunk uint16) {
		size := 1 + int(chunk)%700
		compareScan(t, data, size)
		in := make(interner)
		fast := newFastSource(bytes.NewReader(data), "f.xml", in)
		fast.chunk = size
		got, gotErr := parseXML(fast, "f.xml", in)
		want, wantErr := parseXML(newStdSource(bytes.NewReader(data), "f.xml", 1), "f.xml", make(interner))
		if wantErr != nil || gotErr != nil {
			require.Error(t, gotErr)
			require.Error(t, wantErr)
			require.Equal(t, wantErr.Error(), gotErr.Error())
			return
		}
		require.Equal(t, want, got)
	})
}
