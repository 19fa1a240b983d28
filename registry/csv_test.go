package registry

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// csvScan counts the rows of a CSV file with a plain line scan,
// independently of encoding/csv: a row starts on a non-empty line that
// begins outside a quoted field (a line with an odd number of '"' opens
// or closes one). The protocol is the third comma-separated field of the
// row's first line (name, port and protocol never hold quotes).
func csvScan(data []byte) (lines []int, protos map[string]int) {
	protos = map[string]int{}
	inQuote := false
	for i, l := range bytes.Split(data, []byte("\n")) {
		l = bytes.TrimSuffix(l, []byte("\r"))
		start := !inQuote && len(l) > 0
		if bytes.Count(l, []byte(`"`))%2 == 1 {
			inQuote = !inQuote
		}
		if !start || i == 0 { // line 1 is the header
			continue
		}
		lines = append(lines, i+1)
		protos[string(bytes.SplitN(l, []byte(","), 4)[2])]++
	}
	return lines, protos
}

func TestParseCSVOfficialFile(t *testing.T) {
	src := sharedSource(t, ianaCSV)
	lines, protos := csvScan(sharedBytes(t, ianaCSV))
	require.NotEmpty(t, lines)
	assert.Equal(t, FormatCSV, src.Format)
	for _, p := range src.Problems {
		t.Errorf("problem: %v", p.Error())
	}
	require.Equal(t, len(lines), len(src.Records)+len(src.Problems), "rows + problems = rows found by the line scan")
	for i := range src.Records {
		if src.Records[i].Line != lines[i] {
			t.Fatalf("row %d: line %d, the scan says %d", i+1, src.Records[i].Line, lines[i])
		}
	}
	assert.Equal(t, protos, protoCounts(src.Records), "per protocol (\"\" = none)")
	assert.Empty(t, src.Updated, "the CSV has no Last Updated date")
	assert.Empty(t, src.Contacts, "the CSV has no contact table")
	t.Logf("%s: %d rows %v, newest record date %s", ianaCSV, len(src.Records), protos, newestDate(src))
}

const csvHead = "Service Name,Port Number,Transport Protocol,Description,Assignee,Contact,Registration Date,Modification Date,Reference,Service Code,Unauthorized Use Reported,Assignment Notes\r\n"

func TestParseCSVMapping(t *testing.T) {
	cases := []struct {
		name string
		bom  bool
		row  string
		want Record
	}{
		{
			name: "byte order mark before the header",
			bom:  true,
			row:  `echo,7,udp,Echo,[Jon_Postel],[Jon_Postel],,,,,,`,
			want: Record{Name: "echo", Protocol: ProtoUDP, PortLow: 7, PortHigh: 7, Description: "Echo", Assignee: "Jon_Postel", Contact: "Jon_Postel"},
		},
		{
			name: "every column",
			row:  `http,80,tcp,World Wide Web HTTP,[IESG],[IETF_Chair],2001-02-03,2021-10-01,[RFC9110][RFC-ietf-x-01],77,Unauthorized,Defined TXT keys: u=<username> p=<password> path=<path to document>`,
			want: Record{Name: "http", Protocol: ProtoTCP, PortLow: 80, PortHigh: 80, Description: "World Wide Web HTTP",
				Assignee: "IESG", Contact: "IETF_Chair", Registered: "2001-02-03", Modified: "2021-10-01",
				References: []string{"RFC9110", "RFC-ietf-x-01"}, ServiceCode: "77", Unauthorized: "Unauthorized",
				Notes: "Defined TXT keys: u=<username> p=<password> path=<path to document>"},
		},
		{
			name: "range without protocol",
			row:  `,19195-19219,,Unassigned,,,,,,,,`,
			want: Record{PortLow: 19195, PortHigh: 19219, Status: StatusUnassigned, Description: "Unassigned"},
		},
		{
			name: "no port, no protocol, two people",
			row:  `x-on,,,x-on services,[A][B_C],[A][B_C],,,,,,Defined TXT keys: Proprietary`,
			want: Record{Name: "x-on", PortLow: -1, PortHigh: -1, Description: "x-on services", Assignee: "A, B_C", Contact: "A, B_C", Notes: "Defined TXT keys: Proprietary"},
		},
		{
			name: "quoted multi-line fields and nested brackets",
			row:  "pon-ictp,7202,TCP,\"line one\n  line two\",[BBF],[BBF],,,\"[TR-352][text citing [RFC7595], \"\"quoted\"\"]\",,,\"This entry is an alias to \"\"whoispp\"\".\"",
			want: Record{Name: "pon-ictp", Protocol: ProtoTCP, PortLow: 7202, PortHigh: 7202, Description: "line one\n  line two",
				Assignee: "BBF", Contact: "BBF", References: []string{"TR-352", `text citing [RFC7595], "quoted"`},
				Notes: `This entry is an alias to "whoispp".`, Status: StatusAlias, AliasOf: "whoispp"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			head := csvHead
			if tc.bom {
				head = "\ufeff" + head
			}
			src, err := ParseCSV(strings.NewReader(head+tc.row+"\r\n"), "t.csv")
			require.NoError(t, err)
			require.Empty(t, src.Problems)
			require.Len(t, src.Records, 1)
			want := tc.want
			want.Source, want.Line = "t.csv", 2
			want.TXTKeys = ParseTXTKeys(want.Notes) // another parser's job
			assert.Equal(t, want, src.Records[0])
		})
	}
}

func TestParseCSVErrors(t *testing.T) {
	good := "a,1,tcp,A,,,,,,,,\r\n"
	cases := []struct {
		name    string
		in      string
		err     error // nil: parses, with problems
		line    int
		msg     string
		records int
	}{
		{name: "empty", in: "", err: ErrEmpty, line: 1, msg: "no CSV header"},
		{name: "header only", in: csvHead, err: ErrEmpty, line: 2, msg: "no rows"},
		{name: "wrong header", in: strings.Replace(csvHead, "Contact", "Kontakt", 1) + good, err: ErrSyntax, line: 1, msg: "is not the IANA header"},
		{name: "short header", in: "Service Name,Port Number\r\n" + good, err: ErrSyntax, line: 1, msg: "is not the IANA header"},
		{name: "bare quote", in: csvHead + good + "a,1,tcp,x\"y,,,,,,,,\r\n", err: ErrSyntax, line: 3, msg: "bare \" in non-quoted-field"},
		{name: "unterminated quote (truncated)", in: csvHead + good + "a,1,tcp,\"open\nmore\n", err: ErrSyntax, line: 3, msg: "extraneous or missing \" in quoted-field"},
		{name: "quoted field over 1 MiB", in: csvHead + good + "a,1,tcp,\"" + strings.Repeat("x\n", 1<<20), err: ErrTooLarge, line: 3, msg: "longer than"},
		{name: "field count is a problem", in: csvHead + "a,1,tcp\r\n" + good, line: 2, msg: "3 fields, want 12", records: 1},
		{name: "bad port is a problem", in: csvHead + good + "b,80a,tcp,B,,,,,,,,\r\n", line: 3, msg: `bad port number "80a"`, records: 1},
		{name: "unknown protocol is a problem", in: csvHead + "b,80,quic,B,,,,,,,,\r\n" + good, line: 2, msg: `unknown transport protocol "quic"`, records: 1},
		{name: "nothing usable is a problem", in: csvHead + ",,,B,,,,,,,,\r\n" + good, line: 2, msg: "neither a name nor a port", records: 1},
		{name: "too many problems", in: csvHead + strings.Repeat("a,x,tcp,,,,,,,,,\r\n", MaxProblems+1), err: ErrSyntax, line: MaxProblems + 2, msg: fmt.Sprintf("more than %d unusable records", MaxProblems)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src, err := ParseCSV(strings.NewReader(tc.in), "bad.csv")
			if tc.err != nil {
				require.Error(t, err)
				require.Nil(t, src)
				assert.ErrorIs(t, err, tc.err)
				var pe *ParseError
				require.ErrorAs(t, err, &pe)
				assert.Equal(t, "bad.csv", pe.File)
				assert.Equal(t, tc.line, pe.Line, err.Error())
				assert.Contains(t, err.Error(), tc.msg)
				assert.True(t, strings.HasPrefix(err.Error(), fmt.Sprintf("bad.csv:%d: ", tc.line)), err.Error())
				return
			}
			require.NoError(t, err)
			require.NotEmpty(t, src.Problems)
			p := src.Problems[0]
			assert.ErrorIs(t, &p, ErrSyntax)
			assert.Equal(t, tc.line, p.Line)
			assert.Contains(t, p.Error(), tc.msg)
			assert.Len(t, src.Records, tc.records)
		})
	}
}

func TestBracketList(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"[Jon_Postel]", []string{"Jon_Postel"}},
		{"[Vera_Heinau][Heiko_Schlichting]", []string{"Vera_Heinau", "Heiko_Schlichting"}},
		{"[1][RFC4727][RFC6335]", []string{"1", "RFC4727", "RFC6335"}},
		{"[RFC8765, Section 6.1]", []string{"RFC8765, Section 6.1"}},
		{"[a [RFC7595] b] [c]", []string{"a [RFC7595] b", "c"}},
		{"[ spaced ]", []string{"spaced"}},
		{"[]", nil},
		{"plain text", []string{"plain text"}},
		{"[a] tail", []string{"[a] tail"}},
		{"[unclosed", []string{"[unclosed"}},
		{"stray] [a]", []string{"stray] [a]"}},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			assert.Equal(t, tc.want, bracketList(nil, tc.in))
		})
	}
}

// TestCSVAgreesWithXML compares the CSV with the XML files field by field.
// The CSV is a third edition of the registry (its newest record date lies
// between the two XML files), so the differences are registry changes
// plus the CSV's own white-space reflow; each is logged by kind, and any
// difference of no known kind fails the test.
func TestCSVAgreesWithXML(t *testing.T) {
	csvSrc := sharedSource(t, ianaCSV)
	csvDate := newestDate(csvSrc)
	x23, xcur := sharedSource(t, ianaXML2023), sharedSource(t, ianaXML)
	require.Greater(t, csvDate, x23.Updated, "the CSV is newer than the 2023 XML")
	require.Less(t, csvDate, xcur.Updated, "the CSV is older than the current XML")
	cases := []struct {
		name         string
		older, newer *Source
		asOf         string
		known        map[string]string
	}{
		{name: "2023 XML -> CSV", older: x23, newer: csvSrc, asOf: x23.Updated, known: knownSilentEdits2023toCSV},
		{name: "CSV -> current XML", older: csvSrc, newer: xcur, asOf: csvDate, known: knownSilentEditsCSVto2026},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			diffs := compareSources(tc.older, tc.newer, tc.asOf)
			bad := summarise(t, diffs, tc.known)
			for _, d := range bad {
				t.Errorf("unexplained difference %s %v: %s", d.key, d.fields, d.detail)
			}
			// Most records agree exactly.
			assert.Less(t, len(diffs), len(tc.newer.Records)/20)
		})
	}
}

// knownSilentEdits2023toCSV: between 2023-09-12 and the CSV, IANA changed
// no record without dating the change.
var knownSilentEdits2023toCSV = map[string]string{}

// knownSilentEditsCSVto2026 are the records IANA changed after the CSV
// without moving their dates: the same as from 2023 to 2026, plus
// netconf-tls, whose draft reference became RFC9918 after the CSV.
var knownSilentEditsCSVto2026 = func() map[string]string {
	m := map[string]string{"netconf-tls/tcp/6513": "draft reference replaced by RFC9918"}
	for k, v := range knownSilentEdits2023to2026 {
		m[k] = v
	}
	return m
}()

// FuzzParseCSV feeds the CSV parser arbitrary bytes after a valid header
// (and without one): no panic; an error is a located *ParseError.
func FuzzParseCSV(f *testing.F) {
	f.Add([]byte(csvHead + ",0,tcp,Reserved,[Jon_Postel],[Jon_Postel],,,,,,\r\n"))
	f.Add([]byte(csvHead + "http,80,tcp,World Wide Web HTTP,[IESG],[IETF_Chair],,2021-10-01,[RFC9110],,,Defined TXT keys: u=<username> p=<password> path=<path to document>\r\n"))
	f.Add([]byte(csvHead + ",19195-19219,,Unassigned,,,,,,,,\r\nx-on,,,x-on services synchronisation protocol,[Matthias_Burghardt],[Matthias_Burghardt],,,,,,Defined TXT keys: Proprietary\r\n"))
	f.Add([]byte(csvHead + "whois++,63,tcp,whois++,[Rickard_Schoultz],[Rickard_Schoultz],,,,,,\"This entry is an alias to \"\"whoispp\"\".\nThis entry is now historic.\"\r\n"))
	f.Add([]byte(csvHead + "a,99999,tcp,x,,,,,,,,\r\n"))
	f.Add([]byte("Service Name,Port\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		src, err := ParseCSV(bytes.NewReader(data), "fuzz.csv")
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.File != "fuzz.csv" || pe.Err == nil {
				t.Fatalf("error %v is not a located *ParseError", err)
			}
			return
		}
		for _, r := range src.Records {
			if r.HasPort() && (r.PortHigh < r.PortLow || r.PortHigh > 65535) || !r.HasPort() && r.PortHigh != -1 {
				t.Fatalf("bad ports %d-%d", r.PortLow, r.PortHigh)
			}
			if r.Name == "" && !r.HasPort() {
				t.Fatal("record with neither name nor port")
			}
			if r.Line < 2 || r.Source != "fuzz.csv" {
				t.Fatalf("record without provenance: %+v", r)
			}
		}
		for _, p := range src.Problems {
			if p.Line < 2 || p.File != "fuzz.csv" {
				t.Fatalf("problem without location: %v", p.Error())
			}
		}
	})
}
