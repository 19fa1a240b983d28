package registry

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/internal/testutil"
)

func parseServicesFile(t *testing.T, name string) (*Source, error) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "services", name))
	require.NoError(t, err)
	defer f.Close()
	return ParseServices(f, name)
}

// svcRow is the part of a record a services file determines.
type svcRow struct {
	Name     string
	Proto    Protocol
	Lo, Hi   int32
	Status   Status
	AliasOf  string
	Desc     string
	Line     int
	Problems int
}

func svcRows(src *Source) []svcRow {
	out := make([]svcRow, 0, len(src.Records))
	for _, r := range src.Records {
		out = append(out, svcRow{r.Name, r.Protocol, r.PortLow, r.PortHigh, r.Status, r.AliasOf, r.Description, r.Line, 0})
	}
	return out
}

func TestParseServicesFixture(t *testing.T) {
	src, err := parseServicesFile(t, "good.services")
	require.NoError(t, err)
	assert.Equal(t, FormatServices, src.Format)
	assert.Equal(t, "good.services", src.Name)
	assert.Empty(t, src.Updated, "a services file has no Last Updated date")
	assert.Empty(t, src.Problems)
	A, L := StatusAssigned, StatusAlias
	want := []svcRow{
		{"tcpmux", ProtoTCP, 1, 1, A, "", "TCP port service multiplexer", 4, 0},
		{"http", ProtoTCP, 80, 80, A, "", "WorldWideWeb HTTP", 5, 0},
		{"www", ProtoTCP, 80, 80, L, "http", "WorldWideWeb HTTP", 5, 0},
		{"www-http", ProtoTCP, 80, 80, L, "http", "WorldWideWeb HTTP", 5, 0},
		{"http", ProtoUDP, 80, 80, A, "", "HyperText Transfer Protocol", 6, 0},
		{"www", ProtoUDP, 80, 80, L, "http", "HyperText Transfer Protocol", 6, 0},
		{"ssh", ProtoTCP, 22, 22, A, "", "SSH Remote Login Protocol", 7, 0},
		{"discard", ProtoTCP, 9, 9, A, "", "", 8, 0},
		{"sink", ProtoTCP, 9, 9, L, "discard", "", 8, 0},
		{"null", ProtoTCP, 9, 9, L, "discard", "", 8, 0},
		// An alias equal to the name, or repeated, adds nothing.
		{"sink-dup", ProtoUDP, 9, 9, A, "", "", 9, 0},
		{"other", ProtoUDP, 9, 9, L, "sink-dup", "", 9, 0},
		{"x11", ProtoTCP, 6000, 6007, A, "", "X Window System", 10, 0},
		{"sctp-only", ProtoSCTP, 9899, 9899, A, "", "", 11, 0},
		{"d", ProtoDCCP, 4242, 4242, A, "", "lone letter names are legal here", 12, 0},
		{"nocomment", ProtoUDP, 7, 7, A, "", "", 13, 0},
		{"whois++", ProtoTCP, 63, 63, A, "", "legacy name with plus signs", 14, 0},
		{"whoispp", ProtoTCP, 63, 63, L, "whois++", "legacy name with plus signs", 14, 0},
		{"crlf", ProtoTCP, 1000, 1000, A, "", "line ends in CR LF", 15, 0},
	}
	assert.Equal(t, want, svcRows(src))
	for _, r := range src.Records {
		assert.Equal(t, "good.services", r.Source)
		assert.Equal(t, TXTUnknown, r.TXTKeys.Kind)
	}
}

func TestParseServicesProblems(t *testing.T) {
	src, err := parseServicesFile(t, "bad.services")
	require.NoError(t, err, "a few bad lines are reported, not fatal")
	assert.Equal(t, []string{"ok", "fine"}, []string{src.Records[0].Name, src.Records[1].Name})
	var got []string
	for _, p := range src.Problems {
		assert.ErrorIs(t, &p, ErrSyntax)
		got = append(got, p.Error())
	}
	assert.Equal(t, []string{
		`bad.services:2: entry "noport" has no port/protocol (want "name port/protocol [aliases]")`,
		`bad.services:3: protocol "xyz" is not one of the registry's (tcp, udp, sctp, dccp); entry badproto skipped`,
		`bad.services:4: protocol "ddp" is not one of the registry's (tcp, udp, sctp, dccp); entry rtmp skipped`,
		`bad.services:5: port 70000 out of range 0-65535`,
		`bad.services:6: "80" is not port/protocol`,
		`bad.services:7: port range "20-10" runs backwards`,
		`bad.services:8: bad port number "abc"`,
		`bad.services:9: empty port number`,
	}, got)
}

func TestParseServicesErrors(t *testing.T) {
	cases := []struct {
		file string
		want string
		is   error
	}{
		{"empty.services", `empty.services: no service entries (want lines like "http 80/tcp www # World Wide Web")`, ErrEmpty},
		{"comments.services", `comments.services: no service entries (want lines like "http 80/tcp www # World Wide Web")`, ErrEmpty},
		{"onlyddp.services", `onlyddp.services:1: no usable service entries (first problem: protocol "ddp" is not one of the registry's (tcp, udp, sctp, dccp); entry rtmp skipped)`, ErrSyntax},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			src, err := parseServicesFile(t, tc.file)
			assert.Nil(t, src)
			require.Error(t, err)
			assert.Equal(t, tc.want, err.Error())
			assert.ErrorIs(t, err, tc.is)
			var pe *ParseError
			assert.True(t, errors.As(err, &pe))
		})
	}
	t.Run("binary line", func(t *testing.T) {
		src, err := parseServicesFile(t, "binary.services")
		require.NoError(t, err)
		require.Len(t, src.Problems, 1)
		assert.Equal(t, "binary.services:2: binary data, not a services(5) line", src.Problems[0].Error())
	})
	t.Run("too many bad lines", func(t *testing.T) {
		junk := strings.Repeat("junk\n", MaxProblems+1)
		_, err := ParseServices(strings.NewReader("ok 1/tcp\n"+junk), "junk")
		require.Error(t, err)
		assert.ErrorIs(t, err, ErrSyntax)
		assert.Contains(t, err.Error(), "junk:202: more than 200 unusable records")
	})
	t.Run("over-long line", func(t *testing.T) {
		long := "ok 1/tcp\nx " + strings.Repeat("a", servicesMaxLine) + "\n"
		_, err := ParseServices(strings.NewReader(long), "long")
		require.Error(t, err)
		assert.ErrorIs(t, err, ErrTooLarge)
		assert.Equal(t, "long:2: line longer than 65536 bytes", err.Error())
	})
	t.Run("200 MB of junk", func(t *testing.T) {
		// Rejected after MaxProblems lines; the junk is produced, not stored.
		r := &repeatReader{line: []byte("junk junk junk\n"), n: 200 << 20}
		_, err := Parse(r, "huge", FormatServices)
		require.Error(t, err)
		assert.ErrorIs(t, err, ErrSyntax)
		assert.Contains(t, err.Error(), "huge:201: more than 200 unusable records")
		assert.Greater(t, r.n, 190<<20, "stopped early, not after reading it all")
	})
	t.Run("too many valid lines", func(t *testing.T) {
		r := &repeatReader{line: []byte("x 1/tcp\n"), n: 8 * (servicesMaxRecords + 10)}
		_, err := ParseServices(r, "many")
		require.Error(t, err)
		assert.ErrorIs(t, err, ErrTooLarge)
		assert.Equal(t, "many:200001: more than 200000 entries", err.Error())
	})
}

// repeatReader yields line again and again, n bytes in all.
type repeatReader struct {
	line []byte
	n    int
	off  int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	k := 0
	for k < len(p) && r.n > 0 {
		c := copy(p[k:], r.line[r.off:])
		r.off = (r.off + c) % len(r.line)
		k += c
		r.n -= c
	}
	return k, nil
}

// TestParseServicesHost reads the host's services file and checks it
// against a count done here with a plain field split.
func TestParseServicesHost(t *testing.T) {
	const path = "/etc/services"
	b, err := os.ReadFile(path)
	if err != nil {
		if testutil.InCI() {
			t.Fatalf("%s: %v (Debian package netbase)", path, err)
		}
		t.Skipf("%s: %v (Debian package netbase)", path, err)
	}
	wantRecords, wantProblems, wantAliases := 0, 0, 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		proto := ""
		if len(f) > 1 {
			_, proto, _ = strings.Cut(f[1], "/")
		}
		switch strings.ToLower(proto) {
		case "tcp", "udp", "sctp", "dccp":
			seen := map[string]bool{strings.ToLower(f[0]): true}
			wantRecords++
			for _, a := range f[2:] {
				if !seen[strings.ToLower(a)] {
					seen[strings.ToLower(a)] = true
					wantRecords++
					wantAliases++
				}
			}
		default:
			wantProblems++
		}
	}
	src, err := LoadFile(context.Background(), path, "")
	require.NoError(t, err)
	assert.Equal(t, FormatServices, src.Format, "detected from content")
	assert.Equal(t, wantRecords, len(src.Records))
	assert.Equal(t, wantProblems, len(src.Problems))
	aliases := 0
	for _, r := range src.Records {
		if r.Status == StatusAlias {
			aliases++
			assert.NotEmpty(t, r.AliasOf)
		}
	}
	assert.Equal(t, wantAliases, aliases)
	for _, p := range src.Problems {
		t.Logf("skipped: %v", &p)
	}
	snap, err := Build(src)
	require.NoError(t, err)
	if recs := snap.Lookup(Query{IsPort: true, Port: 22, Protocol: ProtoTCP}); assert.NotEmpty(t, recs) {
		assert.Equal(t, "ssh", recs[0].Name)
	}
}

func FuzzParseServices(f *testing.F) {
	for _, name := range []string{"good.services", "bad.services", "binary.services", "onlyddp.services"} {
		b, err := os.ReadFile(filepath.Join("testdata", "services", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("a 1-/tcp b\nc 65535/udp # x # y\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		src, err := ParseServices(bytes.NewReader(b), "fuzz")
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.File != "fuzz" {
				t.Fatalf("error %v is not a *ParseError naming the file", err)
			}
			return
		}
		lines := bytes.Count(b, []byte("\n")) + 1
		if len(src.Records) == 0 {
			t.Fatal("no records without an error")
		}
		for _, r := range src.Records {
			if r.Name == "" || r.Line < 1 || r.Line > lines || r.PortLow < 0 || r.PortHigh < r.PortLow || r.PortHigh > 65535 {
				t.Fatalf("bad record %+v", r)
			}
			if (r.Status == StatusAlias) != (r.AliasOf != "") {
				t.Fatalf("alias without target or target without alias: %+v", r)
			}
		}
		for _, p := range src.Problems {
			if p.Line < 1 || p.Line > lines {
				t.Fatalf("problem without its line: %v", &p)
			}
		}
	})
}
