package registry

import (
	"context"
	"errors"
	"flag"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/internal/testutil"
)

var updateGolden = flag.Bool("update", false, "rewrite golden files under testdata/")

func TestDetectFormat(t *testing.T) {
	seed := func(name string) []byte {
		b, err := os.ReadFile(testutil.Testdata("seeds", name))
		require.NoError(t, err)
		return b
	}
	services := "# Network services, Internet style\n#\ntcpmux\t\t1/tcp\t\t\t\t# TCP port service multiplexer\necho\t\t7/tcp\necho\t\t7/udp\nssh 22/tcp # SSH Remote Login Protocol\n"
	cases := []struct {
		name string
		head []byte
		want Format
		err  error
	}{
		{"seed 000 (text)", seed("000_405dc4897ff35f03.txt"), FormatText, nil},
		{"seed 001 (text)", seed("001_880d677b6a70875c.txt"), FormatText, nil},
		{"seed 002 (text)", seed("002_0411c9ada570d720.txt"), FormatText, nil},
		{"seed 003 (markdown)", seed("003_595dab137627a1b7.txt"), FormatMarkdown, nil},
		{"seed 004 (text)", seed("004_57b5c43415911c67.txt"), FormatText, nil},
		{"services file", []byte(services), FormatServices, nil},
		{"services without comments", []byte("http 80/tcp www www-http\nhttp 80/udp\n"), FormatServices, nil},
		{"XML declaration", []byte("<?xml version='1.0' encoding='UTF-8'?>\n<registry>"), FormatXML, nil},
		{"XML root only", []byte("<registry xmlns=\"http://www.iana.org/assignments\">"), FormatXML, nil},
		{"XML after BOM and blank lines", []byte("\ufeff\n\n  <?xml version='1.0'?><registry/>"), FormatXML, nil},
		{"CSV header", []byte(csvHead + ",0,tcp,Reserved,,,,,,,,\r\n"), FormatCSV, nil},
		{"CSV after BOM", []byte("\ufeff" + csvHead), FormatCSV, nil},
		{"empty", nil, "", ErrEmpty},
		{"white space only", []byte(" \r\n\t\n"), "", ErrEmpty},
		{"NUL bytes", []byte("abc\x00def"), "", ErrUnknownFormat},
		{"invalid UTF-8", []byte("abc\xff\xfe def 1/tcp"), "", ErrUnknownFormat},
		{"prose", []byte("Dear reader,\nthis is a letter.\n"), "", ErrUnknownFormat},
		{"HTML", []byte("<!DOCTYPE html><html><body>80/tcp</body></html>"), "", ErrUnknownFormat},
		{"JSON", []byte(`{"name":"http","port":80}`), "", ErrUnknownFormat},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			head := tc.head
			if len(head) > 8<<10 {
				head = head[:8<<10] // what Parse peeks
			}
			got, err := DetectFormat(head)
			if tc.err != nil {
				assert.ErrorIs(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestDetectFormatOfficialFiles(t *testing.T) {
	for name, want := range map[string]Format{ianaXML: FormatXML, ianaXML2023: FormatXML, ianaCSV: FormatCSV} {
		t.Run(name, func(t *testing.T) {
			got, err := DetectFormat(sharedBytes(t, name)[:8<<10])
			require.NoError(t, err)
			assert.Equal(t, want, got)
		})
	}
}

// TestBadFiles loads each fixture in testdata/bad through LoadFile, as
// `svcreg --registry` does, and compares every error message with
// testdata/bad/errors.golden (go test -run TestBadFiles -update rewrites
// it). Each error must name the file and a line and match its sentinel.
func TestBadFiles(t *testing.T) {
	sentinel := map[string]error{
		"bad-quote.csv":         ErrSyntax,
		"blank.txt":             ErrEmpty,
		"empty.xml":             ErrEmpty,
		"garbage.bin":           ErrUnknownFormat,
		"prose.txt":             ErrUnknownFormat,
		"too-many-problems.xml": ErrSyntax,
		"truncated.xml":         ErrSyntax,
		"wrong-header.csv":      ErrSyntax,
	}
	files, err := filepath.Glob(filepath.Join("testdata", "bad", "*"))
	require.NoError(t, err)
	var got []string
	for _, path := range files {
		base := filepath.Base(path)
		if base == "errors.golden" {
			continue
		}
		want, ok := sentinel[base]
		require.True(t, ok, "fixture %s has no expected sentinel in the table", base)
		src, err := LoadFile(context.Background(), path, "")
		require.Error(t, err, base)
		require.Nil(t, src)
		assert.ErrorIs(t, err, want, base)
		var pe *ParseError
		require.ErrorAs(t, err, &pe, base)
		assert.Equal(t, base, pe.File)
		assert.Positive(t, pe.Line, "%s: error names no line: %v", base, err)
		got = append(got, err.Error())
	}
	require.Len(t, got, len(sentinel), "every fixture in the table exists")
	sort.Strings(got)
	out := strings.Join(got, "\n") + "\n"
	golden := filepath.Join("testdata", "bad", "errors.golden")
	if *updateGolden {
		require.NoError(t, os.WriteFile(golden, []byte(out), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "run go test -run TestBadFiles -update to create it")
	assert.Equal(t, string(want), out)
}

func TestLoadFileMissing(t *testing.T) {
	_, err := LoadFile(context.Background(), filepath.Join(t.TempDir(), "nope.xml"), "")
	require.Error(t, err)
	assert.ErrorIs(t, err, os.ErrNotExist)
	assert.Contains(t, err.Error(), "nope.xml")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = LoadFile(ctx, "testdata/bad/truncated.xml", "")
	assert.ErrorIs(t, err, context.Canceled)
}

func TestParseForcedFormat(t *testing.T) {
	// --format overrides detection: a CSV forced as XML is an XML error.
	_, err := Parse(strings.NewReader(csvHead), "x.csv", FormatXML)
	assert.ErrorIs(t, err, ErrSyntax)
	_, err = Parse(strings.NewReader("<registry/>"), "x", "yaml")
	assert.ErrorIs(t, err, ErrUnknownFormat)
	assert.Contains(t, err.Error(), `unknown format "yaml"`)
}

// junk produces n bytes of a pattern without holding them: a header once,
// then body repeated (or pseudo-random bytes when body is nil). read
// counts what the parser consumed.
type junk struct {
	header, body []byte
	n, read      int64
	rng          *rand.ChaCha8
	off          int
}

func (j *junk) Read(p []byte) (int, error) {
	if j.read >= j.n {
		return 0, io.EOF
	}
	if int64(len(p)) > j.n-j.read {
		p = p[:j.n-j.read]
	}
	n := 0
	for n < len(p) {
		switch {
		case j.read+int64(n) < int64(len(j.header)):
			n += copy(p[n:], j.header[j.read+int64(n):])
		case j.body == nil:
			m, _ := j.rng.Read(p[n:])
			n += m
		default:
			c := copy(p[n:], j.body[j.off:])
			j.off = (j.off + c) % len(j.body)
			n += c
		}
	}
	j.read += int64(n)
	return n, nil
}

// TestJunk200MB streams 200 MB of junk of several shapes through Parse: each
// must fail with a located, errors.Is-checkable error after reading only a
// bounded prefix, allocating a bounded amount of memory.
func TestJunk200MB(t *testing.T) {
	const size = 200 << 20
	// The worst case is 100,000 valid-looking records (maxRecords): about
	// 30 MB of Records plus their chunks, and garbage not yet collected.
	const maxJunkHeap = 128 << 20
	xmlHead := []byte("<?xml version='1.0'?>\n<registry>\n")
	cases := []struct {
		name         string
		header, body []byte
		err          error
		maxRead      int64 // bytes the parser may consume before failing
	}{
		{name: "random bytes", err: ErrUnknownFormat, maxRead: 1 << 20},
		{name: "prose", body: []byte("all work and no play makes jack a dull boy\n"), err: ErrUnknownFormat, maxRead: 1 << 20},
		{name: "XML of bad records", header: xmlHead, body: []byte("<record><name>j</name><number>99999</number></record>\n"), err: ErrSyntax, maxRead: 1 << 20},
		{name: "XML text that never ends", header: xmlHead, body: []byte("all work and no play "), err: ErrTooLarge, maxRead: 2 << 20},
		{name: "XML nesting that never ends", header: xmlHead, body: []byte("<a>"), err: ErrSyntax, maxRead: 1 << 20},
		{name: "XML of valid records", header: xmlHead, body: []byte("<record><name>j</name><protocol>tcp</protocol><number>1</number></record>\n"), err: ErrTooLarge, maxRead: 16 << 20},
		{name: "XML people", header: xmlHead, body: []byte("<people><person id=\"p\"/></people>\n"), err: ErrTooLarge, maxRead: 16 << 20},
		{name: "CSV rows of the wrong width", header: []byte(csvHead), body: []byte("a,b,c\r\n"), err: ErrSyntax, maxRead: 1 << 20},
		{name: "CSV quote that never ends", header: []byte(csvHead + "a,1,tcp,\""), body: []byte("all work and no play\n"), err: ErrTooLarge, maxRead: 2 << 20},
		{name: "CSV of valid rows", header: []byte(csvHead), body: []byte("j,1,tcp,J,,,,,,,,\r\n"), err: ErrTooLarge, maxRead: 16 << 20},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			j := &junk{header: tc.header, body: tc.body, n: size, rng: rand.NewChaCha8([32]byte{1})}
			var src *Source
			var err error
			peak, _ := heapUse(func() any {
				src, err = Parse(j, "junk", "")
				return nil
			})
			require.Error(t, err)
			require.Nil(t, src)
			assert.ErrorIs(t, err, tc.err)
			var pe *ParseError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, "junk", pe.File)
			assert.Positive(t, pe.Line, "error names a line: %v", err)
			assert.LessOrEqual(t, j.read, tc.maxRead, "stopped early")
			assert.Less(t, peak, uint64(maxJunkHeap), "peak heap")
			t.Logf("%v; read %.1f MB, peak heap %.1f MB", err, float64(j.read)/(1<<20), float64(peak)/(1<<20))
		})
	}
}

func TestParseErrorMessage(t *testing.T) {
	cases := []struct {
		err  *ParseError
		want string
	}{
		{&ParseError{File: "a.xml", Line: 3, Record: 2, Msg: "bad", Err: ErrSyntax}, "a.xml:3: record 2: bad"},
		{&ParseError{File: "a.csv", Line: 1, Msg: "bad header", Err: ErrSyntax}, "a.csv:1: bad header"},
		{&ParseError{Err: ErrEmpty}, "<input>: empty input"},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, tc.err.Error())
		assert.True(t, errors.Is(tc.err, tc.err.Err))
	}
}
