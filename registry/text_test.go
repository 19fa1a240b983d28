package registry

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/internal/testutil"
)

// seedFiles returns the seed excerpts of one rendering: the text ones
// (000, 001, 002, 004) or the markdown one (003), told apart by their
// first lines the way a reader would, not by the parser's detector.
func seedFiles(t testing.TB, markdown bool) []string {
	t.Helper()
	all, err := filepath.Glob(testutil.Testdata("seeds", "*.txt"))
	require.NoError(t, err)
	require.Len(t, all, 5, "testdata/seeds holds the five seed excerpts")
	var out []string
	for _, p := range all {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		if bytes.Contains(b, []byte("\n- Last Updated\n")) == markdown {
			out = append(out, p)
		}
	}
	require.NotEmpty(t, out)
	return out
}

// seedLayout is what a test reads from a seed by simple rules of its
// own, to check the parser against.
type seedLayout struct {
	lines    []string       // physical lines, 1-based (lines[0] unused)
	updated  string         // the line after "Last Updated"
	starts   []int          // lines that start a record
	rows     map[int]string // start line -> its lines joined by spaces
	contacts []int          // lines of contact rows
}

// readTextLayout applies the layout rules of the plain-text seeds: the
// table runs from the column header to "Contact Information"; a record
// starts on a non-blank line that neither starts with "[" nor follows a
// blank line (the blank line of a <br/><br/> description, whose columns
// resume on a "[" line).
func readTextLayout(t testing.TB, path string) seedLayout {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	lay := seedLayout{lines: append([]string{""}, strings.Split(string(b), "\n")...), rows: map[int]string{}}
	state, prevBlank, cur := 0, false, 0
	for n := 1; n < len(lay.lines); n++ {
		l := strings.TrimSpace(lay.lines[n])
		switch {
		case state == 0 && l == "Last Updated" && lay.updated == "":
			lay.updated = strings.TrimSpace(lay.lines[n+1])
		case state == 0 && strings.HasPrefix(l, "Service Name Port Number"):
			state, prevBlank = 1, false
		case state == 1 && l == "Contact Information":
			state = 2
		case state == 1 && l == "":
			prevBlank = true
		case state == 1:
			if !strings.HasPrefix(l, "[") && !prevBlank {
				cur = n
				lay.starts = append(lay.starts, n)
				lay.rows[n] = l
			} else {
				lay.rows[cur] += " " + l
			}
			prevBlank = false
		case state == 2 && strings.HasPrefix(l, "["):
			lay.contacts = append(lay.contacts, n)
		}
	}
	return lay
}

// render writes a record back as the plain text lays it out, empty
// columns dropped, so that a test can check no word was lost or moved
// between columns it cannot see.
func render(r *Record) string {
	var f []string
	add := func(s string) {
		if s != "" {
			f = append(f, s)
		}
	}
	add(r.Name)
	if r.HasPort() {
		p := strconv.Itoa(int(r.PortLow))
		if r.PortHigh != r.PortLow {
			p += "-" + strconv.Itoa(int(r.PortHigh))
		}
		add(p)
	}
	add(string(r.Protocol))
	add(r.Description)
	people := func(s string) string {
		if s == "" {
			return ""
		}
		return "[" + strings.Join(strings.Split(s, ", "), "][") + "]"
	}
	add(people(r.Assignee))
	add(people(r.Contact))
	add(r.Registered)
	add(r.Date)
	add(r.Modified)
	for _, ref := range r.References {
		add("[" + ref + "]")
	}
	add(r.ServiceCode)
	add(r.Unauthorized)
	add(r.Notes)
	return normWords(strings.Join(f, " "))
}

// normWords collapses white space and separates adjacent brackets, the
// two things a rendering may write either way.
func normWords(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "][", "] [")), " ")
}

func TestParseTextSeeds(t *testing.T) {
	for _, path := range seedFiles(t, false) {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			lay := readTextLayout(t, path)
			f, err := os.Open(path)
			require.NoError(t, err)
			defer f.Close()
			src, err := Parse(f, name, "")
			require.NoError(t, err)
			assert.Equal(t, FormatText, src.Format, "detected from content")
			assert.Empty(t, src.Problems, "every row of a seed parses")

			require.Regexp(t, `^\d{4}-\d{2}-\d{2}$`, lay.updated)
			assert.Equal(t, lay.updated, src.Updated)

			// Counts and positions against the test's own layout rule.
			var lines []int
			for _, r := range src.Records {
				lines = append(lines, r.Line)
			}
			assert.Equal(t, lay.starts, lines, "one record per start line, in order")
			assert.Len(t, src.Contacts, len(lay.contacts))

			known := map[string]bool{}
			for _, c := range src.Contacts {
				assert.NotEmpty(t, c.ID)
				assert.False(t, known[c.ID], "contact %s listed once", c.ID)
				known[c.ID] = true
				assert.NotEmpty(t, c.Name+c.Organization, "contact %s has a name or organisation", c.ID)
			}
			for i := range src.Records {
				r := &src.Records[i]
				assert.Equal(t, name, r.Source)
				raw := lay.rows[r.Line]
				// Nothing dropped, nothing invented: the record's
				// columns, written back, are the row's words.
				assert.Equal(t, normWords(raw), render(r), "line %d", r.Line)
				head := render(&Record{Name: r.Name, PortLow: r.PortLow, PortHigh: r.PortHigh, Protocol: r.Protocol})
				assert.True(t, strings.HasPrefix(normWords(raw)+" ", head+" "), "line %d starts with %q", r.Line, head)
				for _, id := range append(strings.Split(r.Assignee, ", "), strings.Split(r.Contact, ", ")...) {
					if id != "" {
						assert.True(t, known[id], "line %d: person %s is in the contact table", r.Line, id)
					}
				}
				if r.Date != "" {
					assert.Empty(t, r.Registered+r.Modified, "line %d: a lone date stays undetermined", r.Line)
				}
			}
		})
	}
}

// seedRecord finds one record of a parsed seed by name, protocol and
// port (-1: none).
func seedRecord(t *testing.T, src *Source, name string, proto Protocol, port int32) *Record {
	t.Helper()
	for i := range src.Records {
		r := &src.Records[i]
		if r.Name == name && r.Protocol == proto && r.PortLow == port {
			return r
		}
	}
	t.Fatalf("%s: no record %q/%s/%d", src.Name, name, proto, port)
	return nil
}

func parseSeed(t *testing.T, prefix string) *Source {
	t.Helper()
	paths, err := filepath.Glob(testutil.Testdata("seeds", prefix+"_*.txt"))
	require.NoError(t, err)
	require.Len(t, paths, 1)
	f, err := os.Open(paths[0])
	require.NoError(t, err)
	defer f.Close()
	src, err := Parse(f, filepath.Base(paths[0]), "")
	require.NoError(t, err)
	return src
}

func TestParseTextSeedRows(t *testing.T) {
	seeds := map[string]*Source{}
	for _, p := range []string{"000", "001", "002", "004"} {
		seeds[p] = parseSeed(t, p)
	}
	cases := []struct {
		seed, name string
		proto      Protocol
		port, high int32
		want       Record // fields compared: those set below, plus Status
		line       int
	}{
		{"000", "mpm-snd", ProtoTCP, 46, 46, Record{Description: "MPM [default send]", Assignee: "Jon_Postel", Contact: "Jon_Postel"}, 63},
		{"000", "", ProtoTCP, 47, 47, Record{Status: StatusReserved, Description: "Reserved", Date: "2017-05-18", Notes: "This entry has been removed on 2017-05-18."}, 65},
		{"000", "", ProtoNone, 51, 51, Record{Status: StatusReserved, Description: "Reserved", Date: "2013-05-24", Notes: "This entry is being removed on 2013-05-24."}, 73},
		{"000", "", ProtoTCP, 57, 57, Record{Description: "any private terminal access", Assignee: "Jon_Postel", Contact: "Jon_Postel"}, 84},
		{"000", "whoispp", ProtoTCP, 63, 63, Record{Description: `whois++ IANA assigned this well-formed service name as a replacement for "whois++".`, Assignee: "Rickard_Schoultz", Contact: "Rickard_Schoultz"}, 96},
		{"000", "whois++", ProtoUDP, 63, 63, Record{Status: StatusAlias, AliasOf: "whoispp", Description: "whois++", Assignee: "Rickard_Schoultz", Contact: "Rickard_Schoultz", Notes: `This entry is an alias to "whoispp". This entry is now historic, not usable for use with many common service discovery mechanisms.`}, 105},
		{"000", "sql*net", ProtoTCP, 66, 66, Record{Status: StatusAlias, AliasOf: "sql-net", Description: "Oracle SQL*NET", Assignee: "Jack_Haverty", Contact: "Jack_Haverty", Notes: `This entry is an alias to "sql-net". This entry is now historic, not usable for use with many common service discovery mechanisms.`}, 114},
		{"000", "bootps", ProtoTCP, 67, 67, Record{Description: "Bootstrap Protocol Server", Assignee: "Bill_Croft", Contact: "Bill_Croft", References: []string{"RFC951"}, Notes: "Defined TXT keys: None"}, 120},
		{"000", "bootps", ProtoUDP, 67, 67, Record{Description: "Bootstrap Protocol Server"}, 121},
		{"000", "finger", ProtoTCP, 79, 79, Record{Description: "Finger", Assignee: "David_Zimmerman", Contact: "David_Zimmerman", Unauthorized: "Unauthorized use by some mail users (see [RFC4146] for details)"}, 144},
		{"000", "http", ProtoTCP, 80, 80, Record{Description: "World Wide Web HTTP", Assignee: "IESG", Contact: "IETF_Chair", Date: "2021-10-01", References: []string{"RFC9110"}, Notes: "Defined TXT keys: u=<username> p=<password> path=<path to document>"}, 146},
		{"000", "www", ProtoUDP, 80, 80, Record{Status: StatusDuplicate, AliasOf: "http", Description: "World Wide Web HTTP", Assignee: "IESG", Contact: "IETF_Chair", Date: "2021-10-01", References: []string{"RFC9110"}, Notes: `This is a duplicate of the "http" service and should not be used for discovery purposes.`}, 149},
		{"000", "", ProtoNone, 81, 81, Record{Status: StatusUnassigned, Description: "Unassigned", Date: "2007-09-06"}, 153},
		{"000", "dnsix", ProtoTCP, 90, 90, Record{Description: "DNSIX Securit Attribute Token Map", Assignee: "Charles_Watt", Contact: "Charles_Watt", Unauthorized: "PORT 90 also being used unofficially by Pointcast"}, 170},
		{"001", "", ProtoNone, 19195, 19219, Record{Status: StatusUnassigned, Description: "Unassigned"}, 61},
		{"001", "cora", ProtoTCP, 19220, 19220, Record{Description: "Client Connection Management and Data Exchange Service", Assignee: "Softvise_GmbH", Contact: "Ronny_Krüger", Date: "2016-11-10"}, 62},
		{"001", "fxuptp", ProtoUDP, 19539, 19539, Record{Description: "FXUPTP", Assignee: "Keiji_Okuma", Contact: "Keiji_Okuma", Date: "2005-08"}, 82},
		{"001", "", ProtoTCP, 19788, 19788, Record{Status: StatusReserved, Description: "Reserved"}, 89},
		{"001", "", ProtoNone, 27018, 27344, Record{Status: StatusUnassigned, Description: "Unassigned", Unauthorized: "Unauthorized Use Known on ports 27018 and 27019"}, 100},
		{"001", "iceedcp_tx", ProtoTCP, 31948, 31948, Record{Status: StatusAlias, AliasOf: "iceedcp-tx", Description: "Embedded Device Configuration Protocol TX", Assignee: "Oliver_Lewis", Contact: "Oliver_Lewis", Date: "2006-08", Notes: `This entry is an alias to "iceedcp-tx". This entry is now historic, not usable for use with many common service discovery mechanisms.`}, 113},
		{"001", "iceedcp-rx", ProtoUDP, 31949, 31949, Record{Description: `Embedded Device Configuration Protocol RX IANA assigned this well-formed service name as a replacement for "iceedcp_rx".`, Assignee: "Oliver_Lewis", Contact: "Oliver_Lewis", Date: "2006-08"}, 124},
		{"002", "x-on", ProtoNone, -1, -1, Record{Description: "x-on services synchronisation protocol", Assignee: "Matthias_Burghardt", Contact: "Matthias_Burghardt", Notes: "Defined TXT keys: Proprietary"}, 63},
		{"002", "x-plane9", ProtoUDP, -1, -1, Record{Description: "x-plane9", Assignee: "Austin_Meyer", Contact: "Austin_Meyer", Notes: "Defined TXT keys: None"}, 64},
		{"002", "xcodedistcc", ProtoNone, -1, -1, Record{Description: "Xcode Distributed Compiler", Assignee: "Scott_Tooker", Contact: "Scott_Tooker", Notes: "Defined TXT keys: None"}, 65},
		{"002", "zigbee-gateway", ProtoUDP, -1, -1, Record{Description: "ZigBee IP Gateway", Assignee: "ZigBee_Alliances_Network_Device_working_group", Contact: "Leslie_Mulder", Date: "2013-05-28", Notes: "Defined TXT keys: see: http://www.zigbee.org/Standards/ZigBeeNetworkDevices"}, 84},
		{"004", "odette-ftps", ProtoTCP, 6619, 6619, Record{Description: "ODETTE-FTP over TLS/SSL", Assignee: "Ieuan_Friend", Contact: "Ieuan_Friend", Date: "2006-03", References: []string{"RFC5024"}}, 67},
		{"004", "ftps-data", ProtoUDP, 989, 989, Record{Description: "ftp protocol, data, over TLS/SSL"}, 62},
	}
	for _, c := range cases {
		t.Run(c.seed+"/"+c.name+"/"+string(c.proto)+"/"+strconv.Itoa(int(c.port)), func(t *testing.T) {
			r := seedRecord(t, seeds[c.seed], c.name, c.proto, c.port)
			assert.Equal(t, c.high, r.PortHigh)
			assert.Equal(t, c.line, r.Line)
			assert.Equal(t, c.want.Status, r.Status)
			assert.Equal(t, c.want.AliasOf, r.AliasOf)
			assert.Equal(t, c.want.Description, r.Description)
			assert.Equal(t, c.want.Assignee, r.Assignee)
			assert.Equal(t, c.want.Contact, r.Contact)
			assert.Equal(t, c.want.Date, r.Date)
			assert.Empty(t, r.Registered+r.Modified, "the text never tells a lone date's role")
			assert.Equal(t, c.want.References, r.References)
			assert.Equal(t, c.want.Unauthorized, r.Unauthorized)
			assert.Equal(t, c.want.Notes, r.Notes)
		})
	}
}

func TestParseTextContacts(t *testing.T) {
	cases := []struct {
		seed string
		want Contact
	}{
		{"000", Contact{ID: "B_Clifford_Neuman", Name: "B. Clifford Neuman", URI: "mailto:bcn&isi.edu", Updated: "2022-02-18"}},
		{"000", Contact{ID: "IETF_Chair", Name: "IETF Chair", Organization: "IETF", URI: "mailto:chair&ietf.org"}},
		{"000", Contact{ID: "Randall_Stewart", Name: "Randall Stewart", Organization: "IETF TSVWG", URI: "mailto:rrs&lakerest.net"}},
		{"000", Contact{ID: "David_Reed", Name: "David Reed"}},
		{"001", Contact{ID: "Michael_Bowers", Name: "Michael Bowers", Organization: "FairCom Corporation", URI: "mailto:mike.bowers&faircom.com", Updated: "2020-12-04"}},
		{"001", Contact{ID: "ThreeGPP_2", Name: "3GPP2", URI: "mailto:lizhiming&huawei.com", Updated: "2012-01-11"}},
		{"001", Contact{ID: "Ronny_Krüger", Name: "Ronny Krüger", URI: "mailto:from-iana&softvise.de", Updated: "2016-11-10"}},
		{"001", Contact{ID: "Keiji_Okuma", Name: "Keiji Okuma", URI: "mailto:okuma&silex.jp", Updated: "2005-08"}},
		// One field with the ID's words: name or organisation cannot be
		// told, and it is kept as the name.
		{"002", Contact{ID: "Sigma_Designs_Inc", Name: "Sigma Designs, Inc.", URI: "mailto:anders_brandt&sigmadesigns.com", Updated: "2011-10-03"}},
		{"002", Contact{ID: "Anders_Brandt_2", Name: "Anders Brandt", Organization: "Sigma Designs, Inc.", URI: "mailto:anders_brandt&sigmadesigns.com", Updated: "2011-10-03"}},
		{"002", Contact{ID: "Leslie_Mulder", Name: "Leslie Mulder", Organization: "ZigBee Alliance's Network Device working group", URI: "mailto:ljm&exegin.com", Updated: "2013-05-28"}},
		// Seed 004's table has no Organization column.
		{"004", Contact{ID: "Ieuan_Friend", Name: "Ieuan Friend", URI: "mailto:ieuan.friend&dip.co.uk", Updated: "2006-03"}},
	}
	seeds := map[string]*Source{}
	for _, c := range cases {
		if seeds[c.seed] == nil {
			seeds[c.seed] = parseSeed(t, c.seed)
		}
		var got *Contact
		for i := range seeds[c.seed].Contacts {
			if seeds[c.seed].Contacts[i].ID == c.want.ID {
				got = &seeds[c.seed].Contacts[i]
			}
		}
		if assert.NotNil(t, got, "%s: contact %s", c.seed, c.want.ID) {
			assert.Equal(t, c.want, *got)
		}
	}
}

// textDoc wraps table rows in a minimal plain-text page.
func textDoc(rows string, contacts string) string {
	s := "Service Name and Transport Protocol Port Number Registry\n\nLast Updated\n2025-01-02\n" +
		"Service Name Port Number Transport Protocol Description Assignee Contact Registration Date Modification Date Reference Service Code Unauthorized Use Reported Assignment Notes\n" +
		rows
	if contacts != "" {
		s += "\nContact Information\n\nID Name Organization Contact URI Last Updated\n" + contacts
	}
	return s
}

func TestParseTextRowShapes(t *testing.T) {
	people := "[Jon_Postel] Jon Postel mailto:postel&isi.edu\n[IESG] IESG mailto:iesg&ietf.org\n[IETF_Chair] IETF Chair IETF mailto:chair&ietf.org\n" +
		"[Vera_Heinau] Vera Heinau\n[Heiko_Schlichting] Heiko Schlichting\n[ITU-T] ITU-T\n[Eddie_Kohler] Eddie Kohler\n[Martin_B] Martin B\n"
	cases := []struct {
		name     string
		rows     string
		contacts string
		want     []Record // compared field by field (Source, Line, TXTKeys, Subtypes ignored)
	}{
		{
			name:     "two dates are registration then modification",
			rows:     "nas 991 tcp Netnews Administration System [Vera_Heinau][Heiko_Schlichting] [Vera_Heinau][Heiko_Schlichting] 2004-01-01 2017-02-10 [RFC4707]\n",
			contacts: people,
			want: []Record{{Name: "nas", Protocol: ProtoTCP, PortLow: 991, PortHigh: 991, Description: "Netnews Administration System",
				Assignee: "Vera_Heinau, Heiko_Schlichting", Contact: "Vera_Heinau, Heiko_Schlichting", Registered: "2004-01-01", Modified: "2017-02-10", References: []string{"RFC4707"}}},
		},
		{
			name:     "several references, service code",
			rows:     "exp1 1021 dccp RFC3692-style Experiment 1 [IESG] [IETF_Chair] [1][RFC4727] [RFC6335] 1145656131\n",
			contacts: people,
			want: []Record{{Name: "exp1", Protocol: ProtoDCCP, PortLow: 1021, PortHigh: 1021, Description: "RFC3692-style Experiment 1",
				Assignee: "IESG", Contact: "IETF_Chair", References: []string{"1", "RFC4727", "RFC6335"}, ServiceCode: "1145656131"}},
		},
		{
			name:     "bracketed description words are not people",
			rows:     "ftp 21 tcp File Transfer Protocol [Control] [Jon_Postel] [Jon_Postel] [RFC959]\n",
			contacts: people,
			want: []Record{{Name: "ftp", Protocol: ProtoTCP, PortLow: 21, PortHigh: 21, Description: "File Transfer Protocol [Control]",
				Assignee: "Jon_Postel", Contact: "Jon_Postel", References: []string{"RFC959"}}},
		},
		{
			name: "without a contact table a run of three brackets still leaves one to the description",
			rows: "mpm 45 tcp Message Processing Module [recv] [Jon_Postel] [Jon_Postel]\n",
			want: []Record{{Name: "mpm", Protocol: ProtoTCP, PortLow: 45, PortHigh: 45, Description: "Message Processing Module [recv]",
				Assignee: "Jon_Postel", Contact: "Jon_Postel"}},
		},
		{
			name:     "a reference inside the description, before the people",
			rows:     "brski-reg-cmp tcp BRSKI registrar with CMP capabilities [RFC9483] [IESG] [IETF_Chair] 2024-09-23 [RFC9483][RFC9733] Defined TXT keys: None\n",
			contacts: people,
			want: []Record{{Name: "brski-reg-cmp", Protocol: ProtoTCP, PortLow: -1, PortHigh: -1, Description: "BRSKI registrar with CMP capabilities [RFC9483]",
				Assignee: "IESG", Contact: "IETF_Chair", Date: "2024-09-23", References: []string{"RFC9483", "RFC9733"}, Notes: "Defined TXT keys: None"}},
		},
		{
			name:     "note words inside a description followed by people",
			rows:     `sztp tcp This service name is used to construct the SRV service label "_sztp". [IESG] [IETF_Chair] 2019-01-17 [RFC8572] This protocol uses HTTPS as a substrate.` + "\n",
			contacts: people,
			want: []Record{{Name: "sztp", Protocol: ProtoTCP, PortLow: -1, PortHigh: -1, Description: `This service name is used to construct the SRV service label "_sztp".`,
				Assignee: "IESG", Contact: "IETF_Chair", Date: "2019-01-17", References: []string{"RFC8572"}, Notes: "This protocol uses HTTPS as a substrate."}},
		},
		{
			name: "a lone assignee, a notes-only DNS-SD name, an alias with no description",
			rows: "h323hostcall 1720 sctp H.323 Call Control [ITU-T] 2014-07-30\n" +
				"accountedge MYOB AccountEdge Defined TXT keys: None\n" +
				`acmaint_dbd 774 udp This entry is an alias to "acmaint-dbd".` + "\n",
			contacts: people,
			want: []Record{
				{Name: "h323hostcall", Protocol: ProtoSCTP, PortLow: 1720, PortHigh: 1720, Description: "H.323 Call Control", Assignee: "ITU-T", Date: "2014-07-30"},
				{Name: "accountedge", PortLow: -1, PortHigh: -1, Description: "MYOB AccountEdge", Notes: "Defined TXT keys: None"},
				{Name: "acmaint_dbd", Protocol: ProtoUDP, PortLow: 774, PortHigh: 774, Status: StatusAlias, AliasOf: "acmaint-dbd", Notes: `This entry is an alias to "acmaint-dbd".`},
			},
		},
		{
			name: "unauthorized use, then notes",
			rows: "applus 2037 tcp APplus Application Server [Jon_Postel] [Jon_Postel] 2008-06-06 2021-07-20 Unauthorized Use Known on port 2037 Formerly was P2plus Application Server\n" +
				"6588 Unassigned Unofficial use of port 6588 by AnalogX and Microsoft\n",
			contacts: people,
			want: []Record{
				{Name: "applus", Protocol: ProtoTCP, PortLow: 2037, PortHigh: 2037, Description: "APplus Application Server", Assignee: "Jon_Postel", Contact: "Jon_Postel",
					Registered: "2008-06-06", Modified: "2021-07-20", Unauthorized: "Unauthorized Use Known on port 2037", Notes: "Formerly was P2plus Application Server"},
				{Status: StatusUnassigned, PortLow: 6588, PortHigh: 6588, Description: "Unassigned", Unauthorized: "Unofficial use of port 6588 by AnalogX and Microsoft"},
			},
		},
		{
			name: "a key list on the lines after 'Defined TXT keys:'",
			rows: "lanrevagent 3970 tcp LANrev Agent [Martin_B] [Martin_B] Defined TXT keys:\ntxtvers\nserver=<main LANrev server for agent>\n" +
				"auth plaintext | md5 | rsakeys\nlanrevserver 3971 tcp LANrev Server [Martin_B] [Martin_B] 2005-08\n",
			contacts: people,
			want: []Record{
				{Name: "lanrevagent", Protocol: ProtoTCP, PortLow: 3970, PortHigh: 3970, Description: "LANrev Agent", Assignee: "Martin_B", Contact: "Martin_B",
					Notes: "Defined TXT keys: txtvers server=<main LANrev server for agent> auth plaintext | md5 | rsakeys"},
				{Name: "lanrevserver", Protocol: ProtoTCP, PortLow: 3971, PortHigh: 3971, Description: "LANrev Server", Assignee: "Martin_B", Contact: "Martin_B", Date: "2005-08"},
			},
		},
		{
			name: "a range written with equal ends, a name with spaces (2023 registry)",
			rows: "4748-4748 Unassigned\nApple Remote Desktop (Net Assistant) 3283 tcp Net Assistant [Jon_Postel] [Jon_Postel]\n",
			want: []Record{
				{Status: StatusUnassigned, PortLow: 4748, PortHigh: 4748, Description: "Unassigned"},
				{Name: "Apple Remote Desktop (Net Assistant)", Protocol: ProtoTCP, PortLow: 3283, PortHigh: 3283, Description: "Net Assistant", Assignee: "Jon_Postel", Contact: "Jon_Postel"},
			},
		},
		{
			name: "a description of several lines without people after it",
			rows: "whoispp 63 tcp whois++\n\nIANA assigned this well-formed service name as a replacement for \"whois++\".\n2006-08\nargus ARGUS Protocol\n",
			want: []Record{
				{Name: "whoispp", Protocol: ProtoTCP, PortLow: 63, PortHigh: 63, Description: `whois++ IANA assigned this well-formed service name as a replacement for "whois++".`, Date: "2006-08"},
				{Name: "argus", PortLow: -1, PortHigh: -1, Description: "ARGUS Protocol"},
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src, err := ParseText(strings.NewReader(textDoc(c.rows, c.contacts)), "shapes.txt")
			require.NoError(t, err)
			assert.Empty(t, src.Problems)
			require.Len(t, src.Records, len(c.want))
			for i, w := range c.want {
				got := src.Records[i]
				got.Source, got.Line, got.TXTKeys, got.Subtypes = "", 0, TXTKeys{}, nil
				if w.Status == StatusAssigned && w.Name == "" {
					w.Status = got.Status // unnamed rows: Finish decides
				}
				assert.Equal(t, w, got)
			}
		})
	}
}

// TestParseTextBadInput pairs each bad input in testdata/text with the
// error it must give: a *ParseError naming the file and line.
func TestParseTextBadInput(t *testing.T) {
	cases := []struct {
		file    string
		parse   func(r *os.File, name string) (*Source, error)
		wantErr error
		line    int
		msg     string
	}{
		{"empty.txt", textParse, ErrEmpty, 0, "empty input"},
		{"blank.txt", textParse, ErrEmpty, 0, "empty input"},
		{"noheader.txt", textParse, ErrSyntax, 1, "no \"Service Name Port Number"},
		{"binary.txt", textParse, ErrSyntax, 3, "binary data"},
		{"markdown-as-text.md", textParse, ErrSyntax, 1, "not the plain-text registry"},
		{"text-as-markdown.txt", mdParse, ErrSyntax, 1, "not the markdown registry"},
		{"empty.txt", mdParse, ErrEmpty, 0, "empty input"},
		{"binary.txt", mdParse, ErrSyntax, 3, "binary data"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", "text", c.file))
			require.NoError(t, err)
			defer f.Close()
			src, err := c.parse(f, c.file)
			require.Error(t, err)
			assert.Nil(t, src)
			var pe *ParseError
			require.ErrorAs(t, err, &pe)
			assert.ErrorIs(t, err, c.wantErr)
			assert.Equal(t, c.file, pe.File)
			assert.Equal(t, c.line, pe.Line)
			assert.Contains(t, err.Error(), c.msg)
			assert.True(t, strings.HasPrefix(err.Error(), c.file), "%q names the file first", err.Error())
		})
	}
}

func textParse(f *os.File, name string) (*Source, error) { return ParseText(f, name) }
func mdParse(f *os.File, name string) (*Source, error)   { return ParseMarkdown(f, name) }

// TestParseTextBadRows: rows that cannot be cut are reported with their
// line, the rest is kept.
func TestParseTextBadRows(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "text", "badrows.txt"))
	require.NoError(t, err)
	defer f.Close()
	src, err := ParseText(f, "badrows.txt")
	require.NoError(t, err)
	var names []string
	for _, r := range src.Records {
		names = append(names, r.Name)
	}
	assert.Equal(t, []string{"echo", "discard", ""}, names)
	want := map[int]string{
		8:  `cannot tell which record this line belongs to: "server=<junk>"`,
		9:  `"99999 tcp Port out of range"`,
		11: `cannot tell which record this line belongs to: "lonely"`,
		16: "does not start with a bracketed ID",
	}
	got := map[int]string{}
	for i, p := range src.Problems {
		if i > 0 {
			assert.Less(t, src.Problems[i-1].Line, p.Line, "problems in file order")
		}
		assert.Equal(t, "badrows.txt", p.File)
		assert.ErrorIs(t, &p, ErrSyntax)
		got[p.Line] = p.Msg
	}
	require.Len(t, got, len(want), "problems: %v", got)
	for line, msg := range want {
		assert.Contains(t, got[line], msg, "line %d", line)
	}
}

func TestParseTextLimits(t *testing.T) {
	t.Run("too many bad rows rejects the source", func(t *testing.T) {
		var b strings.Builder
		for i := 0; i <= MaxProblems; i++ {
			b.WriteString("=junk= row\n")
		}
		_, err := ParseText(strings.NewReader(textDoc(b.String(), "")), "junk.txt")
		var pe *ParseError
		require.ErrorAs(t, err, &pe)
		assert.ErrorIs(t, err, ErrSyntax)
		assert.Equal(t, 6, pe.Line, "the first bad row")
		assert.Contains(t, err.Error(), "rows could not be parsed")
	})
	t.Run("an over-long line", func(t *testing.T) {
		doc := textDoc("echo 7 tcp "+strings.Repeat("x", rowMaxLine)+"\n", "")
		_, err := ParseText(strings.NewReader(doc), "long.txt")
		var pe *ParseError
		require.ErrorAs(t, err, &pe)
		assert.ErrorIs(t, err, ErrSyntax)
		assert.Equal(t, 6, pe.Line)
	})
	t.Run("junk before any header", func(t *testing.T) {
		junk := strings.Repeat("lorem ipsum dolor\n", rowMaxHeader+10) + textDoc("echo 7 tcp Echo\n", "")
		_, err := ParseText(strings.NewReader(junk), "late.txt")
		assert.ErrorIs(t, err, ErrSyntax, "the header must come near the top")
	})
}

var reFuzzLine = regexp.MustCompile(`^[^:]+:\d+: `)

// checkParsed is what every successful parse must satisfy, whatever the
// input: records located, problems located, nothing out of range.
func checkParsed(t *testing.T, src *Source, name string, nlines int) {
	for _, r := range src.Records {
		if r.Source != name || r.Line < 1 || r.Line > nlines {
			t.Fatalf("record %+v: bad location (lines %d)", r, nlines)
		}
		if r.Name == "" && !r.HasPort() {
			t.Fatalf("line %d: record with neither name nor port", r.Line)
		}
		if r.HasPort() && (r.PortLow > r.PortHigh || r.PortHigh > 65535) {
			t.Fatalf("line %d: bad range %d-%d", r.Line, r.PortLow, r.PortHigh)
		}
		if r.Date != "" && r.Registered+r.Modified != "" {
			t.Fatalf("line %d: a lone date next to determined ones", r.Line)
		}
	}
	for _, p := range src.Problems {
		if p.Line < 1 || p.Line > nlines || !reFuzzLine.MatchString(p.Error()) {
			t.Fatalf("problem %q is not located", p.Error())
		}
	}
}

func fuzzSeeds(f *testing.F, markdown bool) {
	for _, p := range seedFiles(f, markdown) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	fixtures, _ := filepath.Glob(filepath.Join("testdata", "text", "*"))
	for _, p := range fixtures {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
}

func FuzzParseText(f *testing.F) {
	fuzzSeeds(f, false)
	f.Add([]byte(textDoc("whoispp 63 tcp whois++\n\nIANA assigned\n[A_B] [A_B] 2006-08\n", "[A_B] A B mailto:a&b 2006-08\n")))
	f.Fuzz(func(t *testing.T, b []byte) {
		src, err := ParseText(bytes.NewReader(b), "fuzz.txt")
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.File != "fuzz.txt" {
				t.Fatalf("error %v is not a *ParseError naming the file", err)
			}
			return
		}
		checkParsed(t, src, "fuzz.txt", bytes.Count(b, []byte("\n"))+1)
	})
}

func BenchmarkParseTextSeed(b *testing.B) {
	for _, p := range seedFiles(b, false) {
		data, err := os.ReadFile(p)
		require.NoError(b, err)
		b.Run(filepath.Base(p)[:3], func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseText(bytes.NewReader(data), "seed"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
