package registry

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readMarkdownLayout applies the layout rules of the markdown seed: the
// table follows its "| Service Name |" header and separator; a record
// starts on a line starting with "| " and goes on over the lines that do
// not; the contact rows start with "| [".
func readMarkdownLayout(t testing.TB, path string) seedLayout {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	lay := seedLayout{lines: append([]string{""}, strings.Split(string(b), "\n")...), rows: map[int]string{}}
	state, cur := 0, 0
	for n := 1; n < len(lay.lines); n++ {
		l := strings.TrimSpace(lay.lines[n])
		switch {
		case state == 0 && l == "- Last Updated" && lay.updated == "":
			lay.updated = strings.TrimPrefix(strings.TrimSpace(lay.lines[n+1]), "- ")
		case state == 0 && strings.HasPrefix(l, "| Service Name |"):
			state = 1
		case state == 1 && strings.HasPrefix(l, "|---"):
		case state == 1 && l == "Contact Information":
			state = 2
		case state == 1 && strings.HasPrefix(l, "| "):
			cur = n
			lay.starts = append(lay.starts, n)
			lay.rows[n] = l
		case state == 1:
			lay.rows[cur] += " " + l
		case state == 2 && strings.HasPrefix(l, "| ["):
			lay.contacts = append(lay.contacts, n)
		}
	}
	return lay
}

// cellWords is a markdown row's non-empty cells joined by spaces.
func cellWords(row string) string {
	var f []string
	for _, c := range strings.Split(strings.ReplaceAll(row, `\|`, "\x00"), "|") {
		if c = strings.TrimSpace(c); c != "" {
			f = append(f, strings.ReplaceAll(c, "\x00", "|"))
		}
	}
	return normWords(strings.Join(f, " "))
}

func TestParseMarkdownSeed(t *testing.T) {
	for _, path := range seedFiles(t, true) {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			lay := readMarkdownLayout(t, path)
			f, err := os.Open(path)
			require.NoError(t, err)
			defer f.Close()
			src, err := Parse(f, name, "")
			require.NoError(t, err)
			assert.Equal(t, FormatMarkdown, src.Format, "detected from content")
			assert.Empty(t, src.Problems)
			require.Regexp(t, `^\d{4}-\d{2}-\d{2}$`, lay.updated)
			assert.Equal(t, lay.updated, src.Updated)

			var lines []int
			for _, r := range src.Records {
				lines = append(lines, r.Line)
			}
			assert.Equal(t, lay.starts, lines, "one record per row, located at its first line")
			assert.Len(t, src.Contacts, len(lay.contacts))
			known := map[string]bool{}
			for _, c := range src.Contacts {
				known[c.ID] = true
			}
			for i := range src.Records {
				r := &src.Records[i]
				assert.Equal(t, name, r.Source)
				assert.Equal(t, cellWords(lay.rows[r.Line]), render(r), "line %d: the cells, written back", r.Line)
				for _, id := range []string{r.Assignee, r.Contact} {
					if id != "" {
						assert.True(t, known[id], "line %d: %s in the contact table", r.Line, id)
					}
				}
			}
		})
	}
}

func TestParseMarkdownSeedRows(t *testing.T) {
	src := parseSeed(t, "003")
	alias := `This entry is an alias to "whoispp". This entry is now historic, not usable for use with many common service discovery mechanisms.`
	cases := []struct {
		name  string
		proto Protocol
		port  int32
		want  Record
		line  int
	}{
		// The row breaks after the description cell.
		{"whoispp", ProtoTCP, 63, Record{Description: `whois++ IANA assigned this well-formed service name as a replacement for "whois++".`, Assignee: "Rickard_Schoultz", Contact: "Rickard_Schoultz"}, 24},
		// The notes sit under "Registration Date": the rendering moves
		// empty cells to the end, so cells are read by content.
		{"whois++", ProtoTCP, 63, Record{Status: StatusAlias, AliasOf: "whoispp", Description: "whois++", Assignee: "Rickard_Schoultz", Contact: "Rickard_Schoultz", Notes: alias}, 26},
		{"whois++", ProtoUDP, 63, Record{Status: StatusAlias, AliasOf: "whoispp", Description: "whois++", Assignee: "Rickard_Schoultz", Contact: "Rickard_Schoultz", Notes: alias}, 29},
		// The last row is cut short by "Contact Information".
		{"rwhois", ProtoUDP, 4321, Record{Description: "Remote Who Is", Assignee: "Mark_Kosters", Contact: "Mark_Kosters", References: []string{"RFC2167"}}, 31},
	}
	for _, c := range cases {
		t.Run(c.name+"/"+string(c.proto), func(t *testing.T) {
			r := seedRecord(t, src, c.name, c.proto, c.port)
			assert.Equal(t, c.line, r.Line)
			assert.Equal(t, c.want.Status, r.Status)
			assert.Equal(t, c.want.AliasOf, r.AliasOf)
			assert.Equal(t, c.want.Description, r.Description)
			assert.Equal(t, c.want.Assignee, r.Assignee)
			assert.Equal(t, c.want.Contact, r.Contact)
			assert.Equal(t, c.want.References, r.References)
			assert.Equal(t, c.want.Notes, r.Notes)
			assert.Empty(t, r.Registered+r.Modified+r.Date)
		})
	}
	assert.Equal(t, []Contact{
		{ID: "Mark_Kosters", Name: "Mark Kosters", URI: "mailto:markk&internic.net"},
		{ID: "Rickard_Schoultz", Name: "Rickard Schoultz", URI: "mailto:schoultz&sunet.se"},
	}, src.Contacts)
}

const mdHeader = "Service Name and Transport Protocol Port Number Registry\n- Last Updated\n- 2025-01-02\n" +
	"| Service Name | Port Number | Transport Protocol | Description | Assignee | Contact | Registration Date | Modification Date | Reference | Service Code | Unauthorized Use Reported | Assignment Notes |\n" +
	"|---|---|---|---|---|---|---|---|---|---|---|---|\n"

func TestParseMarkdownRowShapes(t *testing.T) {
	contacts := "Contact Information\n| ID | Name | Organization | Contact URI | Last Updated |\n|---|---|---|---|---|\n" +
		"| [A_B] | A B | | mailto:a&b | 2020-01-02 |\n| [IETF_Chair] | IETF Chair | IETF | mailto:chair&ietf.org | |\n"
	cases := []struct {
		name string
		rows string
		want []Record
	}{
		{
			name: "a gap shows a positional row: its dates are determined",
			rows: "| foo | 1234 | tcp | Foo | [A_B] | [A_B] | | 2020-01-02 | | | | |\n" +
				"| bar | 1235 | udp | Bar | [A_B] | [A_B] | 2019-01-01 | 2020-01-02 | [RFC1] | | | Defined TXT keys: None |\n",
			want: []Record{
				{Name: "foo", Protocol: ProtoTCP, PortLow: 1234, PortHigh: 1234, Description: "Foo", Assignee: "A_B", Contact: "A_B", Modified: "2020-01-02"},
				{Name: "bar", Protocol: ProtoUDP, PortLow: 1235, PortHigh: 1235, Description: "Bar", Assignee: "A_B", Contact: "A_B", Registered: "2019-01-01", Modified: "2020-01-02",
					References: []string{"RFC1"}, Notes: "Defined TXT keys: None"},
			},
		},
		{
			name: "a compact row keeps a lone date undetermined",
			rows: "| foo | 1234 | tcp | Foo | [A_B] | [A_B] | 2020-01-02 | |||||\n",
			want: []Record{{Name: "foo", Protocol: ProtoTCP, PortLow: 1234, PortHigh: 1234, Description: "Foo", Assignee: "A_B", Contact: "A_B", Date: "2020-01-02"}},
		},
		{
			name: "rows broken inside a cell, escaped pipes, unnamed and DNS-SD-only rows",
			rows: "| iax | 4569 | tcp | Inter-Asterisk\neXchange | [A_B] | [A_B] | [RFC5456] | Defined TXT keys: auth plaintext \\| md5 |\n||||\n" +
				"| 19195-19219 | Unassigned | Unauthorized Use Known on port 19200 | |||||||||\n" +
				"| x-on | x-on services synchronisation protocol | [A_B] | [A_B] | Defined TXT keys: Proprietary | |||||||\n",
			want: []Record{
				{Name: "iax", Protocol: ProtoTCP, PortLow: 4569, PortHigh: 4569, Description: "Inter-Asterisk eXchange", Assignee: "A_B", Contact: "A_B",
					References: []string{"RFC5456"}, Notes: "Defined TXT keys: auth plaintext | md5"},
				{Status: StatusUnassigned, PortLow: 19195, PortHigh: 19219, Description: "Unassigned", Unauthorized: "Unauthorized Use Known on port 19200"},
				{Name: "x-on", PortLow: -1, PortHigh: -1, Description: "x-on services synchronisation protocol", Assignee: "A_B", Contact: "A_B", Notes: "Defined TXT keys: Proprietary"},
			},
		},
		{
			name: "an alias with an empty description, a service code, unauthorized use and notes",
			rows: "| acmaint_dbd | 774 | udp | This entry is an alias to \"acmaint-dbd\". | ||||||||\n" +
				"| discard | 9 | dccp | Discard | [A_B] | [A_B] | [RFC4340] | 1145656131 | yes | Formerly something | ||\n",
			want: []Record{
				{Name: "acmaint_dbd", Protocol: ProtoUDP, PortLow: 774, PortHigh: 774, Status: StatusAlias, AliasOf: "acmaint-dbd", Notes: `This entry is an alias to "acmaint-dbd".`},
				{Name: "discard", Protocol: ProtoDCCP, PortLow: 9, PortHigh: 9, Description: "Discard", Assignee: "A_B", Contact: "A_B",
					References: []string{"RFC4340"}, ServiceCode: "1145656131", Unauthorized: "yes", Notes: "Formerly something"},
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src, err := ParseMarkdown(strings.NewReader(mdHeader+c.rows+contacts), "shapes.md")
			require.NoError(t, err)
			assert.Empty(t, src.Problems)
			require.Len(t, src.Records, len(c.want))
			for i, w := range c.want {
				got := src.Records[i]
				got.Source, got.Line, got.TXTKeys, got.Subtypes = "", 0, TXTKeys{}, nil
				assert.Equal(t, w, got)
			}
			assert.Equal(t, []Contact{
				{ID: "A_B", Name: "A B", URI: "mailto:a&b", Updated: "2020-01-02"},
				{ID: "IETF_Chair", Name: "IETF Chair", Organization: "IETF", URI: "mailto:chair&ietf.org"},
			}, src.Contacts)
		})
	}
}

func TestParseMarkdownBadRows(t *testing.T) {
	rows := "| echo | 7 | tcp | Echo | ||||||||\n" + // 6
		"stray words outside a row\n" + // 7 (a row was complete)
		"| a | b | c | d | e | f | g | h | i | j | k | l | m | n |\n" + // 8: 14 cells
		"| 99999 | tcp | Out of range | |||||||||\n" + // 9
		"| [X] | 1 | tcp | Bracketed name | ||||||||\n" + // 10
		"| discard | 9 | udp | Discard | ||||||||\n" // 11
	src, err := ParseMarkdown(strings.NewReader(mdHeader+rows+"Contact Information\n| ID | Name |\n|---|---|\n| no id | x |\n"), "bad.md")
	require.NoError(t, err)
	var names []string
	for _, r := range src.Records {
		names = append(names, r.Name)
	}
	assert.Equal(t, []string{"echo", "discard"}, names)
	got := map[int]string{}
	for _, p := range src.Problems {
		assert.Equal(t, "bad.md", p.File)
		got[p.Line] = p.Msg
	}
	want := map[int]string{
		7:  "outside any table row",
		8:  "row has 14 cells, the table header 12",
		9:  `row starts with "99999"`,
		10: `row starts with "[X]"`,
		15: "contact row does not start with a bracketed ID",
	}
	require.Len(t, got, len(want), "problems: %v", got)
	for line, msg := range want {
		assert.Contains(t, got[line], msg, "line %d", line)
	}
}

func FuzzParseMarkdown(f *testing.F) {
	fuzzSeeds(f, true)
	f.Add([]byte(mdHeader + "| foo | 1 | tcp | a\nb | [A] | [A] | | 2020-01-02 | | | | |\nContact Information\n| ID | Name |\n|---|---|\n| [A] | A |\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		src, err := ParseMarkdown(bytes.NewReader(b), "fuzz.md")
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.File != "fuzz.md" {
				t.Fatalf("error %v is not a *ParseError naming the file", err)
			}
			return
		}
		checkParsed(t, src, "fuzz.md", bytes.Count(b, []byte("\n"))+1)
	})
}
