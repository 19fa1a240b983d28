package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/internal/testutil"
)

// The official files in ../shared/iana. Tests read them there and never
// copy them (TEAM.md).
const (
	ianaXML     = "service-names-port-numbers.xml"
	ianaXML2023 = "service-names-port-numbers-2023-09-12.xml"
	ianaCSV     = "service-names-port-numbers.csv"
)

// shared caches the parsed official files: parsing them once per test
// binary keeps -race runs short.
var shared struct {
	sync.Mutex
	src  map[string]*Source
	data map[string][]byte
}

func sharedBytes(t testing.TB, name string) []byte {
	t.Helper()
	p := testutil.SharedFile(t, "iana", name)
	shared.Lock()
	defer shared.Unlock()
	if b, ok := shared.data[name]; ok {
		return b
	}
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	if shared.data == nil {
		shared.data = map[string][]byte{}
	}
	shared.data[name] = b
	return b
}

// sharedSource parses an official file through Parse with format
// detection, as `svcreg --registry` does.
func sharedSource(t testing.TB, name string) *Source {
	t.Helper()
	b := sharedBytes(t, name)
	shared.Lock()
	defer shared.Unlock()
	if s, ok := shared.src[name]; ok {
		return s
	}
	s, err := Parse(bytes.NewReader(b), name, "")
	require.NoError(t, err, name)
	if shared.src == nil {
		shared.src = map[string]*Source{}
	}
	shared.src[name] = s
	return s
}

// xmlScan is an independent count of an XML file's records with plain
// byte scanning: the line of every "<record" start tag and the text of its
// <protocol> element.
type xmlScan struct {
	lines   []int
	protos  map[string]int
	persons int
	updated string
}

func scanXML(data []byte) xmlScan {
	sc := xmlScan{protos: map[string]int{}}
	line, last := 1, 0
	for off := 0; ; {
		i := bytes.Index(data[off:], []byte("<record"))
		if i < 0 {
			break
		}
		i += off
		if c := data[i+len("<record")]; c != '>' && c != ' ' {
			off = i + 1
			continue
		}
		line += bytes.Count(data[last:i], []byte("\n"))
		last = i
		sc.lines = append(sc.lines, line)
		end := bytes.Index(data[i:], []byte("</record>"))
		body := data[i : i+end]
		proto := ""
		if _, rest, ok := bytes.Cut(body, []byte("<protocol>")); ok {
			p, _, _ := bytes.Cut(rest, []byte("</protocol>"))
			proto = string(p)
		}
		sc.protos[proto]++
		off = i + end
	}
	sc.persons = bytes.Count(data, []byte("<person id="))
	if i := bytes.Index(data, []byte("<updated>")); i >= 0 {
		rest := data[i+len("<updated>"):]
		sc.updated = string(rest[:bytes.IndexByte(rest, '<')])
	}
	return sc
}

func protoCounts(recs []Record) map[string]int {
	m := map[string]int{}
	for i := range recs {
		m[string(recs[i].Protocol)]++
	}
	return m
}

func TestParseXMLOfficialFiles(t *testing.T) {
	for _, name := range []string{ianaXML, ianaXML2023} {
		t.Run(name, func(t *testing.T) {
			src := sharedSource(t, name)
			sc := scanXML(sharedBytes(t, name))
			require.NotEmpty(t, sc.lines)
			assert.Equal(t, FormatXML, src.Format)
			// Every record is parsed or reported, at its own line.
			for _, p := range src.Problems {
				t.Errorf("problem: %v", p.Error())
			}
			require.Equal(t, len(sc.lines), len(src.Records)+len(src.Problems), "records + problems = <record> tags")
			for i := range src.Records {
				if src.Records[i].Line != sc.lines[i] {
					t.Fatalf("record %d: line %d, scan says %d", i+1, src.Records[i].Line, sc.lines[i])
				}
				require.Equal(t, name, src.Records[i].Source)
			}
			assert.Equal(t, sc.protos, protoCounts(src.Records), "per protocol (\"\" = none)")
			assert.Equal(t, sc.persons, len(src.Contacts), "contacts")
			assert.Equal(t, sc.updated, src.Updated)
			t.Logf("%s: %d records %v, %d contacts, updated %s", name, len(src.Records), sc.protos, sc.persons, src.Updated)
		})
	}
}

// find returns the records of src matching name (case-sensitive, as
// registered), protocol and port column ("80", "19195-19219", "").
func find(src *Source, name string, proto Protocol, port string) []*Record {
	var out []*Record
	for i := range src.Records {
		r := &src.Records[i]
		if r.Name == name && r.Protocol == proto && portColumn(r) == port {
			out = append(out, r)
		}
	}
	return out
}

// portColumn renders a record's port as the registry writes it.
func portColumn(r *Record) string {
	switch {
	case !r.HasPort():
		return ""
	case r.IsRange():
		return strconv.Itoa(int(r.PortLow)) + "-" + strconv.Itoa(int(r.PortHigh))
	}
	return strconv.Itoa(int(r.PortLow))
}

// TestKnownRecords checks well-known records, in every official file
// that holds them.
func TestKnownRecords(t *testing.T) {
	all := []string{ianaXML, ianaXML2023, ianaCSV}
	cases := []struct {
		name, rec   string
		proto       Protocol
		port        string
		files       []string
		check       func(t *testing.T, r *Record)
		wantRecords int
	}{
		{name: "http/tcp", rec: "http", proto: ProtoTCP, port: "80", files: all, check: func(t *testing.T, r *Record) {
			assert.Equal(t, StatusAssigned, r.Status)
			assert.Equal(t, "World Wide Web HTTP", r.Description)
			assert.Equal(t, "IESG", r.Assignee)
			assert.Equal(t, "IETF_Chair", r.Contact)
			assert.Equal(t, "", r.Registered)
			assert.Equal(t, "2021-10-01", r.Modified)
			assert.Equal(t, []string{"RFC9110"}, r.References)
			assert.Equal(t, "Defined TXT keys: u=<username> p=<password> path=<path to document>", r.Notes)
			assert.True(t, r.ValidName())
		}},
		{name: "whois++ alias", rec: "whois++", proto: ProtoTCP, port: "63", files: all, check: func(t *testing.T, r *Record) {
			assert.Equal(t, StatusAlias, r.Status)
			assert.Equal(t, "whoispp", r.AliasOf)
			assert.False(t, r.ValidName())
		}},
		{name: "whoispp description across <br/>", rec: "whoispp", proto: ProtoUDP, port: "63", files: all, check: func(t *testing.T, r *Record) {
			assert.Equal(t, StatusAssigned, r.Status)
			assert.Equal(t, `whois++ IANA assigned this well-formed service name as a replacement for "whois++".`, r.Description)
		}},
		{name: "www duplicate", rec: "www", proto: ProtoTCP, port: "80", files: all, check: func(t *testing.T, r *Record) {
			assert.Equal(t, StatusDuplicate, r.Status)
			assert.Equal(t, "http", r.AliasOf)
		}},
		{name: "www-http duplicate", rec: "www-http", proto: ProtoUDP, port: "80", files: all, check: func(t *testing.T, r *Record) {
			assert.Equal(t, StatusDuplicate, r.Status)
			assert.Equal(t, "http", r.AliasOf)
			assert.Equal(t, "Tim_Berners_Lee", r.Assignee)
			assert.Equal(t, "Tim_Berners_Lee", r.Contact)
		}},
		{name: "unassigned range", rec: "", proto: ProtoNone, port: "19195-19219", files: all, check: func(t *testing.T, r *Record) {
			assert.Equal(t, StatusUnassigned, r.Status)
			assert.True(t, r.IsRange())
			assert.True(t, r.Covers(19200))
			assert.False(t, r.Covers(19220))
		}},
		{name: "51 protocol-less reserved", rec: "", proto: ProtoNone, port: "51", files: all, check: func(t *testing.T, r *Record) {
			assert.Equal(t, StatusReserved, r.Status)
			assert.Equal(t, "2013-05-24", r.Modified)
			assert.Equal(t, "This entry is being removed on 2013-05-24.", r.Notes)
		}},
		{name: "EtherNet-IP-1 keeps case", rec: "EtherNet-IP-1", proto: ProtoTCP, port: "2222", files: all, check: func(t *testing.T, r *Record) {
			assert.True(t, r.ValidName())
			assert.Equal(t, "Brian_Batke_2", r.Assignee)
		}},
		{name: "EtherNet/IP-1 legacy", rec: "EtherNet/IP-1", proto: ProtoUDP, port: "2222", files: all, check: func(t *testing.T, r *Record) {
			assert.False(t, r.ValidName())
		}},
		{name: "x-on: no port, no protocol", rec: "x-on", proto: ProtoNone, port: "", files: all, check: func(t *testing.T, r *Record) {
			assert.False(t, r.HasPort())
			assert.Equal(t, int32(-1), r.PortLow)
			assert.Equal(t, int32(-1), r.PortHigh)
			assert.Equal(t, "Matthias_Burghardt", r.Assignee)
			assert.Equal(t, "Matthias_Burghardt", r.Contact)
			assert.Equal(t, "Defined TXT keys: Proprietary", r.Notes)
		}},
		{name: "two contacts, no assignee element", rec: "nas", proto: ProtoTCP, port: "991", files: all, check: func(t *testing.T, r *Record) {
			assert.Equal(t, "Vera_Heinau, Heiko_Schlichting", r.Assignee)
			assert.Equal(t, "Vera_Heinau, Heiko_Schlichting", r.Contact)
		}},
		{name: "assignee without contact", rec: "h323hostcall", proto: ProtoSCTP, port: "1720", files: all, check: func(t *testing.T, r *Record) {
			assert.Equal(t, "ITU-T", r.Assignee)
			assert.Equal(t, "", r.Contact)
		}},
		{name: "note reference and two RFCs", rec: "exp1", proto: ProtoDCCP, port: "1021", files: all, check: func(t *testing.T, r *Record) {
			assert.Equal(t, []string{"1", "RFC4727", "RFC6335"}, r.References)
		}},
		{name: "service code", rec: "discard", proto: ProtoDCCP, port: "9", files: all, check: func(t *testing.T, r *Record) {
			assert.Equal(t, "1145656131", r.ServiceCode)
		}},
		{name: "unauthorized use", rec: "finger", proto: ProtoTCP, port: "79", files: all, check: func(t *testing.T, r *Record) {
			assert.Equal(t, "Unauthorized use by some mail users (see [RFC4146] for details)", r.Unauthorized)
		}},
		{name: "xref with text and uri", rec: "pon-ictp", proto: ProtoTCP, port: "7202", files: all, check: func(t *testing.T, r *Record) {
			require.Len(t, r.References, 2)
			assert.Equal(t, "TR-352", r.References[0])
			assert.True(t, strings.HasPrefix(r.References[1], "Inter-Channel-Termination protocol (ICTP)"), r.References[1])
			assert.Equal(t, "2017-02-22", r.Registered)
			assert.Equal(t, "2019-12-16", r.Modified)
		}},
		{name: "<br/> in notes", rec: "lanrevagent", proto: ProtoTCP, port: "3970", files: all, check: func(t *testing.T, r *Record) {
			assert.Equal(t, "Defined TXT keys: txtvers server=<main LANrev server for agent> vers=<version of LANrev Agent> build=<build number of LANrev Agent> id=<agent identifier>", r.Notes)
		}},
		{name: "nested xref in a note", rec: "", proto: ProtoTCP, port: "2", files: []string{ianaXML}, check: func(t *testing.T, r *Record) {
			assert.Equal(t, "De-assigned on 2025-02-13, previously compressnet by [Bernie_Volz]", r.Notes)
			assert.Equal(t, StatusReserved, r.Status)
		}},
		{name: "rfc xref with its own text", rec: "dns-push-tls", proto: ProtoTCP, port: "", files: all, check: func(t *testing.T, r *Record) {
			assert.Equal(t, []string{"RFC8765, Section 6.1"}, r.References)
		}},
		{name: "<paragraph> notes", rec: "wot", proto: ProtoTCP, port: "", files: all, check: func(t *testing.T, r *Record) {
			assert.True(t, strings.HasPrefix(r.Notes, "Defined TXT keys:\n      td: Absolute pathname"), "%q", r.Notes)
			assert.True(t, strings.HasSuffix(r.Notes, "assumed to be http."), "%q", r.Notes)
		}},
	}
	for _, tc := range cases {
		for _, file := range tc.files {
			t.Run(tc.name+"/"+file, func(t *testing.T) {
				src := sharedSource(t, file)
				got := find(src, tc.rec, tc.proto, tc.port)
				require.Len(t, got, 1, "%q %q %q in %s", tc.rec, tc.proto, tc.port, file)
				tc.check(t, got[0])
			})
		}
	}
}

// TestHTTPRecordJSON checks the http/tcp record of the current XML against
// the documented JSON example, field by field.
func TestHTTPRecordJSON(t *testing.T) {
	const want = `{"name":"http","protocol":"tcp","port":80,"port_high":80,"status":"assigned",
	 "description":"World Wide Web HTTP","assignee":"IESG","contact":"IETF_Chair",
	 "registered":"","modified":"2021-10-01","references":["RFC9110"],
	 "txt_keys":{"kind":"defined","keys":[{"name":"u","hint":"<username>"},{"name":"p","hint":"<password>"},{"name":"path","hint":"<path to document>"}]},
	 "subtypes":[],"alias_of":"","valid_name":true,"source":"service-names-port-numbers.xml"}`
	src := sharedSource(t, ianaXML)
	recs := find(src, "http", ProtoTCP, "80")
	require.Len(t, recs, 1)
	b, err := json.Marshal(recs[0])
	require.NoError(t, err)
	var got, exp map[string]any
	require.NoError(t, json.Unmarshal(b, &got))
	require.NoError(t, json.Unmarshal([]byte(want), &exp))
	for k, v := range exp {
		if k == "txt_keys" {
			// Only the fields the example shows: Raw is extra.
			tk := got[k].(map[string]any)
			ev := v.(map[string]any)
			assert.Equal(t, ev["kind"], tk["kind"], "txt_keys.kind")
			assert.Equal(t, ev["keys"], tk["keys"], "txt_keys.keys")
			continue
		}
		assert.Equal(t, v, got[k], k)
	}
}

func TestParseXMLMapping(t *testing.T) {
	const head = `<?xml version='1.0' encoding='UTF-8'?>
<registry xmlns="http://www.iana.org/assignments" id="service-names-port-numbers">
  <title>T</title>
  <updated>2026-01-02</updated>
`
	const tail = `
  <people>
    <person id="A_B">
      <name>A B</name>
      <org>Org &amp; Co</org>
      <uri>mailto:a&amp;example.org</uri>
      <updated>2020-01</updated>
    </person>
    <person id="C"><uri/></person>
  </people>
</registry>
`
	cases := []struct {
		name string
		body string
		want Record
	}{
		{
			name: "assignee element and contact",
			body: `<record date="2010-01-02" updated="2021-10-01">
    <name>Svc-A</name>
    <protocol>TCP</protocol>
    <assignee>
      <xref type="person" data="IESG"/>
    </assignee>
    <description>Svc &lt;A&gt;</description>
    <number>80</number>
    <xref type="person" data="IETF_Chair"/>
    <xref type="rfc" data="rfc9110"/>
    <xref type="draft" data="draft-x-01"/>
    <xref type="uri" data="https://example.org/a"/>
    <xref type="text">free text</xref>
    <xref type="note" data="1"/>
    <sc>1234</sc>
    <unauthorized>Unauthorized use</unauthorized>
    <note>Defined TXT keys: None</note>
  </record>`,
			want: Record{Name: "Svc-A", Protocol: ProtoTCP, PortLow: 80, PortHigh: 80, Description: "Svc <A>",
				Assignee: "IESG", Contact: "IETF_Chair", Registered: "2010-01-02", Modified: "2021-10-01",
				References:  []string{"RFC9110", "draft-x-01", "https://example.org/a", "free text", "1"},
				ServiceCode: "1234", Unauthorized: "Unauthorized use", Notes: "Defined TXT keys: None", Line: 5},
		},
		{
			name: "one person, no assignee element: both columns",
			body: `<record>
    <name>x-on</name>
    <description>x</description>
    <xref type="person" data="M_B"/>
  </record>`,
			want: Record{Name: "x-on", PortLow: -1, PortHigh: -1, Description: "x", Assignee: "M_B", Contact: "M_B", Line: 5},
		},
		{
			name: "range without name or protocol",
			body: `<record><description>Unassigned</description><number>19195-19219</number></record>`,
			want: Record{PortLow: 19195, PortHigh: 19219, Status: StatusUnassigned, Description: "Unassigned", Line: 5},
		},
		{
			name: "br, nested xref and rfc text",
			body: `<record>
    <name>a</name>
    <protocol>udp</protocol>
    <description>one<br/><br/>
two   <xref type="rfc" data="rfc1"/></description>
    <number>0</number>
    <xref type="rfc" data="rfc8765">RFC8765, Section 6.1</xref>
    <note><paragraph>p1</paragraph>
      <paragraph>p2</paragraph></note>
  </record>`,
			want: Record{Name: "a", Protocol: ProtoUDP, PortLow: 0, PortHigh: 0, Description: "one two   [RFC1]",
				References: []string{"RFC8765, Section 6.1"}, Notes: "p1\n      p2", Line: 5},
		},
		{
			name: "empty name element and unknown elements",
			body: `<record><name/><protocol>sctp</protocol><description>Reserved</description><number>5</number><future a="b"><x>y</x></future></record>`,
			want: Record{Protocol: ProtoSCTP, PortLow: 5, PortHigh: 5, Status: StatusReserved, Description: "Reserved", Line: 5},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src, err := ParseXML(strings.NewReader(head+"  "+tc.body+tail), "t.xml")
			require.NoError(t, err)
			require.Empty(t, src.Problems)
			require.Len(t, src.Records, 1)
			want := tc.want
			want.Source = "t.xml"
			want.TXTKeys = ParseTXTKeys(want.Notes) // another parser's job
			assert.Equal(t, want, src.Records[0])
			assert.Equal(t, "2026-01-02", src.Updated)
			assert.Equal(t, []Contact{
				{ID: "A_B", Name: "A B", Organization: "Org & Co", URI: "mailto:a&example.org", Updated: "2020-01"},
				{ID: "C"},
			}, src.Contacts)
		})
	}
}

func TestParseXMLErrors(t *testing.T) {
	const head = "<?xml version='1.0'?>\n<registry>\n"
	good := "<record><name>a</name><protocol>tcp</protocol><number>1</number></record>\n"
	many := strings.Repeat("<record><name>a</name><number>70000</number></record>\n", MaxProblems+1)
	cases := []struct {
		name    string
		in      string
		err     error  // nil: parses, with problems
		line    int    // error or first problem line
		record  int    // error or first problem record
		msg     string // substring of the error or first problem
		records int
	}{
		{name: "empty", in: "", err: ErrEmpty, line: 1, msg: "no XML elements"},
		{name: "truncated in a record", in: head + good + "<record><name>b</na", err: ErrSyntax, line: 4, record: 2, msg: "XML syntax error"},
		{name: "truncated between records", in: head + good + good, err: ErrSyntax, line: 5, msg: "XML ends early"},
		{name: "mismatched tags", in: head + "<record><name>a</number></record></registry>", err: ErrSyntax, line: 3, record: 1, msg: "element <name> closed by </number>"},
		{name: "wrong root", in: "<?xml version='1.0'?>\n<html><body/></html>", err: ErrSyntax, line: 2, msg: "root element is <html>"},
		{name: "no records", in: head + "</registry>", err: ErrEmpty, line: 3, msg: "no <record> elements"},
		{name: "text after root", in: head + good + "</registry>\njunk", err: ErrSyntax, line: 5, msg: "text after </registry>"},
		{name: "undefined entity", in: head + "<record><name>&foo;</name></record></registry>", err: ErrSyntax, line: 3, record: 1, msg: "invalid character entity &foo;"},
		{name: "nesting bomb", in: head + "<record><note>" + strings.Repeat("<a>", 100), err: ErrSyntax, line: 3, record: 1, msg: "nested more than"},
		{name: "bad port is a problem", in: head + "<record><name>a</name><number>65536</number></record>\n" + good + "</registry>", line: 3, record: 1, msg: "port 65536 out of range", records: 1},
		{name: "backwards range is a problem", in: head + good + "<record><number>9-3</number></record>\n</registry>", line: 4, record: 2, msg: "runs backwards", records: 1},
		{name: "unknown protocol is a problem", in: head + "<record><name>a</name><protocol>quic</protocol><number>1</number></record>\n" + good + "</registry>", line: 3, record: 1, msg: `unknown transport protocol "quic"`, records: 1},
		{name: "neither name nor port is a problem", in: head + "<record><description>x</description></record>\n" + good + "</registry>", line: 3, record: 1, msg: "neither a name nor a port", records: 1},
		{name: "too many problems", in: head + many + "</registry>", err: ErrSyntax, line: 3 + MaxProblems, record: MaxProblems + 1, msg: fmt.Sprintf("more than %d unusable records", MaxProblems)},
		{name: "one huge text node", in: head + "<record><note>" + strings.Repeat("x", 3<<20) + "</note></record></registry>", err: ErrTooLarge, line: 3, msg: "longer than"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src, err := ParseXML(strings.NewReader(tc.in), "bad.xml")
			if tc.err != nil {
				require.Error(t, err)
				require.Nil(t, src)
				assert.ErrorIs(t, err, tc.err)
				var pe *ParseError
				require.ErrorAs(t, err, &pe)
				assert.Equal(t, "bad.xml", pe.File)
				assert.Equal(t, tc.line, pe.Line, err.Error())
				assert.Equal(t, tc.record, pe.Record, err.Error())
				assert.Contains(t, err.Error(), tc.msg)
				assert.True(t, strings.HasPrefix(err.Error(), "bad.xml"), err.Error())
				return
			}
			require.NoError(t, err)
			require.NotEmpty(t, src.Problems)
			p := src.Problems[0]
			assert.ErrorIs(t, &p, ErrSyntax)
			assert.Equal(t, tc.line, p.Line)
			assert.Equal(t, tc.record, p.Record)
			assert.Contains(t, p.Error(), tc.msg)
			assert.Len(t, src.Records, tc.records)
		})
	}
}

// recordDiff is one difference between two sources of the registry.
type recordDiff struct {
	kind   string // how the difference is explained
	key    string
	fields []string
	detail string
}

// diffKey identifies a registration in both sources: name
// (case-insensitive), protocol, port column; unnamed rows also by status.
func diffKey(r *Record) string {
	k := strings.ToLower(r.Name) + "/" + string(r.Protocol) + "/" + portColumn(r)
	if r.Name == "" {
		k += "/" + r.Status.String()
	}
	return k
}

func recDate(r *Record) string { return max(r.Registered, r.Modified) }

// newestDate is the newest registration or modification date in src: the
// date a file without a "Last Updated" header (the CSV) is as of.
func newestDate(src *Source) string {
	d := ""
	for i := range src.Records {
		d = max(d, recDate(&src.Records[i]))
	}
	return d
}

// compareSources compares an older and a newer rendering of the registry
// field by field and explains every difference, or marks it "unexplained":
//   - "reflowed": the texts differ in white space only (IANA's CSV joins
//     lines that end in a space);
//   - "changed": the newer record's date is after asOf (the older source's
//     date), so the registry changed it;
//   - "added": only in the newer source, registered or modified after asOf;
//   - "removed": only in the older source, and the newer source has a
//     record of the same name, or on the same port, dated after asOf;
//   - "re-split": an unnamed Unassigned/Reserved row only on one side:
//     ranges are cut anew around new assignments;
//   - "person renamed": only assignee/contact differ, and each old ID is
//     missing from the newer contact table (or each new ID from the older
//     one): IANA renamed the person entry ("ThreeGPP_2" -> "_3GPP_2");
//   - "port withdrawn": only in the newer source, without a port, under a
//     name the older source lists with one (netconf-beep lost port 831).
func compareSources(older, newer *Source, asOf string) []recordDiff {
	om, nm := map[string][]*Record{}, map[string][]*Record{}
	var keys []string
	for i := range older.Records {
		k := diffKey(&older.Records[i])
		if len(om[k]) == 0 {
			keys = append(keys, k)
		}
		om[k] = append(om[k], &older.Records[i])
	}
	for i := range newer.Records {
		k := diffKey(&newer.Records[i])
		if len(om[k]) == 0 && len(nm[k]) == 0 {
			keys = append(keys, k)
		}
		nm[k] = append(nm[k], &newer.Records[i])
	}
	// Newer records dated after asOf, by name and by port, to explain
	// removals.
	changedName, changedPort := map[string]bool{}, map[string]bool{}
	for i := range newer.Records {
		r := &newer.Records[i]
		if recDate(r) <= asOf {
			continue
		}
		if r.Name != "" {
			changedName[strings.ToLower(r.Name)] = true
		}
		if r.HasPort() {
			for p := r.PortLow; p <= r.PortHigh && p < r.PortLow+64; p++ {
				changedPort[strconv.Itoa(int(p))] = true
			}
		}
	}
	var out []recordDiff
	for _, k := range keys {
		os, ns := om[k], nm[k]
		for i := 0; i < max(len(os), len(ns)); i++ {
			switch {
			case i >= len(os):
				r := ns[i]
				d := recordDiff{key: k, kind: "unexplained", detail: fmt.Sprintf("only in %s:%d", newer.Name, r.Line)}
				switch {
				case recDate(r) > asOf:
					d.kind = "added"
				case r.Name == "" && r.Status != StatusAssigned:
					d.kind = "re-split"
				case !r.HasPort() && hasPorted(older, r.Name):
					d.kind = "port withdrawn"
				}
				out = append(out, d)
			case i >= len(ns):
				r := os[i]
				d := recordDiff{key: k, kind: "unexplained", detail: fmt.Sprintf("only in %s:%d", older.Name, r.Line)}
				switch {
				case r.Name != "" && changedName[strings.ToLower(r.Name)],
					r.HasPort() && changedPort[strconv.Itoa(int(r.PortLow))]:
					d.kind = "removed"
				case r.Name == "" && r.Status != StatusAssigned:
					d.kind = "re-split"
				}
				out = append(out, d)
			default:
				o, n := os[i], ns[i]
				fields := differingFields(o, n)
				if len(fields) == 0 {
					continue
				}
				d := recordDiff{key: k, fields: fields, detail: fmt.Sprintf("%s:%d vs %s:%d", older.Name, o.Line, newer.Name, n.Line)}
				switch {
				case whitespaceOnly(o, n, fields):
					d.kind = "reflowed"
				case recDate(n) > asOf:
					d.kind = "changed"
				case personRenamed(older, newer, o, n, fields):
					d.kind = "person renamed"
				default:
					d.kind = "unexplained"
					for _, f := range fields {
						d.detail += fmt.Sprintf("\n\t%s: %q -> %q", f, fieldString(o, f), fieldString(n, f))
					}
				}
				out = append(out, d)
			}
		}
	}
	return out
}

// hasPorted reports whether src has a record named name with a port.
func hasPorted(src *Source, name string) bool {
	for i := range src.Records {
		if r := &src.Records[i]; r.HasPort() && strings.EqualFold(r.Name, name) {
			return true
		}
	}
	return false
}

func hasContact(src *Source, id string) bool {
	for _, c := range src.Contacts {
		if c.ID == id {
			return true
		}
	}
	return false
}

// personRenamed reports whether o and n differ only in person IDs that one
// side's contact table does not know.
func personRenamed(older, newer *Source, o, n *Record, fields []string) bool {
	for _, f := range fields {
		if f != "assignee" && f != "contact" {
			return false
		}
		oi, ni := strings.Split(fieldString(o, f), ", "), strings.Split(fieldString(n, f), ", ")
		if len(oi) != len(ni) {
			return false
		}
		for i := range oi {
			if oi[i] == ni[i] {
				continue
			}
			gone := len(newer.Contacts) > 0 && !hasContact(newer, oi[i])
			fresh := len(older.Contacts) > 0 && !hasContact(older, ni[i])
			if !gone && !fresh {
				return false
			}
		}
	}
	return true
}

func fieldString(r *Record, field string) string {
	switch field {
	case "name":
		return r.Name
	case "status":
		return r.Status.String()
	case "description":
		return r.Description
	case "assignee":
		return r.Assignee
	case "contact":
		return r.Contact
	case "registered":
		return r.Registered
	case "modified":
		return r.Modified
	case "date":
		return r.Date
	case "references":
		return strings.Join(r.References, " | ")
	case "service_code":
		return r.ServiceCode
	case "unauthorized":
		return r.Unauthorized
	case "notes":
		return r.Notes
	case "subtypes":
		return strings.Join(r.Subtypes, " ")
	case "alias_of":
		return r.AliasOf
	}
	return fmt.Sprintf("%+v", r.TXTKeys)
}

// whitespaceOnly reports whether every differing field differs in white
// space only (txt_keys follow notes: their Raw text keeps the spacing).
func whitespaceOnly(a, b *Record, fields []string) bool {
	for _, f := range fields {
		if f == "txt_keys" {
			ka, kb := a.TXTKeys, b.TXTKeys
			ka.Raw, kb.Raw = "", ""
			if !assert.ObjectsAreEqual(ka, kb) && strings.Join(strings.Fields(a.TXTKeys.Raw), " ") != strings.Join(strings.Fields(b.TXTKeys.Raw), " ") {
				return false
			}
			continue
		}
		if strings.Join(strings.Fields(fieldString(a, f)), " ") != strings.Join(strings.Fields(fieldString(b, f)), " ") {
			return false
		}
	}
	return true
}

// summarise logs the differences by kind and returns the unexplained ones
// that are not in known.
func summarise(t *testing.T, diffs []recordDiff, known map[string]string) []recordDiff {
	t.Helper()
	kinds := map[string]int{}
	var bad []recordDiff
	seenKnown := map[string]bool{}
	for _, d := range diffs {
		if d.kind == "unexplained" {
			if why, ok := known[d.key]; ok {
				d.kind = "known: " + why
				seenKnown[d.key] = true
			} else {
				bad = append(bad, d)
			}
		}
		kinds[d.kind]++
	}
	var ks []string
	for k := range kinds {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	for _, k := range ks {
		t.Logf("%5d %s", kinds[k], k)
	}
	for k := range known {
		if !seenKnown[k] {
			t.Errorf("known difference %q no longer occurs: update the list", k)
		}
	}
	return bad
}

// TestXMLVersionsAgree compares the 2023-09-12 XML with the current one:
// every difference must be a registry change dated after 2023-09-12.
func TestXMLVersionsAgree(t *testing.T) {
	old, cur := sharedSource(t, ianaXML2023), sharedSource(t, ianaXML)
	require.Equal(t, "2023-09-12", old.Updated)
	diffs := compareSources(old, cur, old.Updated)
	require.NotEmpty(t, diffs, "the registry changed between the two files")
	bad := summarise(t, diffs, knownSilentEdits2023to2026)
	for _, d := range bad {
		t.Errorf("unexplained difference %s %v: %s", d.key, d.fields, d.detail)
	}
}

// knownSilentEdits2023to2026 are records IANA changed between the two XML
// files without moving their dates.
var knownSilentEdits2023to2026 = map[string]string{
	"smtp/tcp/25":           "reference moved from RFC5321 to the rfc5321bis draft",
	"smtp/udp/25":           "reference moved from RFC5321 to the rfc5321bis draft",
	"dhcpv6-client/udp/546": "reference moved from RFC8415 to RFC9915, which obsoletes it",
	"dhcpv6-server/udp/547": "reference moved from RFC8415 to RFC9915, which obsoletes it",
	"gue/udp/6080":          "reference gained the draft version (-02)",
	"oro/tcp/":              "DNS-SD-only registration added without a date",
}

func TestXMLErrorsAreNotPanics(t *testing.T) {
	// Every prefix of a small valid document is an error or a result,
	// never a panic, and an error always names the file.
	doc := `<?xml version='1.0'?>
<registry><updated>2020-01-01</updated>
<record date="2001-01-01"><name>a</name><protocol>tcp</protocol><assignee><xref type="person" data="P"/></assignee><number>1-2</number><note>n<br/>m</note></record>
<people><person id="P"><name>P</name></person></people>
</registry>`
	for i := 0; i <= len(doc); i++ {
		src, err := ParseXML(strings.NewReader(doc[:i]), "p.xml")
		if err != nil {
			var pe *ParseError
			require.True(t, errors.As(err, &pe), "prefix %d: %v", i, err)
			require.Equal(t, "p.xml", pe.File)
			continue
		}
		require.NotNil(t, src, "prefix %d", i)
	}
}

// FuzzParseXML feeds the XML parser arbitrary bytes: it must not panic,
// must fail with a located *ParseError, or return records with sane ports.
func FuzzParseXML(f *testing.F) {
	f.Add([]byte(`<?xml version='1.0' encoding='UTF-8'?>
<registry xmlns="http://www.iana.org/assignments" id="service-names-port-numbers">
  <updated>2026-08-17</updated>
  <record updated="2021-10-01">
    <name>http</name>
    <protocol>tcp</protocol>
    <assignee>
      <xref type="person" data="IESG"/>
    </assignee>
    <description>World Wide Web HTTP</description>
    <number>80</number>
    <xref type="person" data="IETF_Chair"/>
    <xref type="rfc" data="rfc9110"/>
    <note>Defined TXT keys: u=&lt;username&gt; p=&lt;password&gt; path=&lt;path to document&gt;</note>
  </record>
  <people><person id="IESG"><org>IESG</org><uri>mailto:iesg&amp;ietf.org</uri><updated>2020-01</updated></person></people>
</registry>`))
	f.Add([]byte(`<registry><record><description>Unassigned</description><number>19195-19219</number></record></registry>`))
	f.Add([]byte(`<registry><record><name>whoispp</name><protocol>udp</protocol><description>whois++<br/><br/>
IANA assigned this well-formed service name as a replacement for "whois++".</description><number>63</number></record></registry>`))
	f.Add([]byte(`<registry><record><name>x-on</name><note><paragraph>Defined TXT keys:</paragraph><paragraph>a</paragraph></note><xref type="person" data="M"/></record>`))
	f.Add([]byte(`<registry><record><number>99999</number></record></registry>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		src, err := ParseXML(bytes.NewReader(data), "fuzz.xml")
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.File != "fuzz.xml" || pe.Err == nil {
				t.Fatalf("error %v is not a located *ParseError", err)
			}
			return
		}
		if len(src.Records) == 0 && len(src.Problems) == 0 {
			t.Fatal("success without records")
		}
		for _, r := range src.Records {
			if r.HasPort() && (r.PortHigh < r.PortLow || r.PortHigh > 65535) || !r.HasPort() && r.PortHigh != -1 {
				t.Fatalf("bad ports %d-%d", r.PortLow, r.PortHigh)
			}
			if r.Name == "" && !r.HasPort() {
				t.Fatal("record with neither name nor port")
			}
			if r.Line < 1 || r.Source != "fuzz.xml" {
				t.Fatalf("record without provenance: %+v", r)
			}
		}
	})
}
