package registry

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mrec is a small hand-written record for the merge tests.
func mrec(name string, proto Protocol, port int32, desc, src string, line int) Record {
	return Record{Name: name, Protocol: proto, PortLow: port, PortHigh: port, Description: desc,
		Assignee: "IESG", Contact: "IETF_Chair", References: []string{"RFC9110"}, Source: src, Line: line}
}

func msrc(name, updated string, recs ...Record) *Source {
	return &Source{Name: name, Format: FormatXML, Updated: updated, Records: recs}
}

func TestMergeIdenticalRecordsCollapse(t *testing.T) {
	a := mrec("http", ProtoTCP, 80, "World Wide Web HTTP", "a.xml", 10)
	b := a
	b.Source, b.Line = "b.csv", 20 // provenance differs, the registration does not
	b.References = []string{"RFC9110"}
	out, conflicts := Merge(msrc("a.xml", "2026-08-17", a), msrc("b.csv", "2026-08-17", b))
	require.Len(t, out, 1)
	assert.Empty(t, conflicts)
	assert.Equal(t, "a.xml", out[0].Source, "the first source's provenance is kept")
	assert.Equal(t, 10, out[0].Line)

	// Empty and nil lists are the same registration.
	c, d := a, a
	c.References, d.References = nil, []string{}
	c.Subtypes, d.Subtypes = []string{}, nil
	out, conflicts = Merge(msrc("c", "", c), msrc("d", "", d))
	assert.Len(t, out, 1)
	assert.Empty(t, conflicts)
}

func TestMergeKeepsDistinctRegistrations(t *testing.T) {
	recs := []Record{
		mrec("http", ProtoTCP, 80, "x", "a", 1),
		mrec("http", ProtoUDP, 80, "x", "a", 2),  // other protocol
		mrec("http", ProtoSCTP, 80, "x", "a", 3), // another
		mrec("www", ProtoTCP, 80, "x", "a", 4),   // other name, same port
		mrec("http", ProtoTCP, 8080, "x", "a", 5),
		{Name: "http", PortLow: -1, PortHigh: -1, Source: "a", Line: 6}, // DNS-SD only, no port
	}
	// Unnamed rows over the same range are keyed by status: a Reserved
	// row and an Unassigned row never collapse into one.
	res := Record{PortLow: 19195, PortHigh: 19219, Description: "Reserved", Source: "a", Line: 7}
	una := Record{PortLow: 19195, PortHigh: 19219, Description: "Unassigned", Source: "b", Line: 1}
	Finish(&res)
	Finish(&una)
	require.Equal(t, StatusReserved, res.Status)
	require.Equal(t, StatusUnassigned, una.Status)
	out, conflicts := Merge(msrc("a", "", append(recs, res)...), msrc("b", "", una))
	assert.Len(t, out, len(recs)+2)
	assert.Empty(t, conflicts)
	// Source order is kept.
	for i := range recs {
		assert.Equal(t, recs[i].Line, out[i].Line)
	}
}

func TestMergeNewerRecordDateWins(t *testing.T) {
	old := mrec("http", ProtoTCP, 80, "World Wide Web HTTP", "new.xml", 5)
	old.Modified = "2017-01-01"
	upd := mrec("http", ProtoTCP, 80, "HTTP", "old.xml", 7)
	upd.Modified = "2021-10-01"
	// The record's own date beats the source's "Last Updated": the older
	// file carries the newer record, in either order.
	for _, order := range [][]*Source{
		{msrc("new.xml", "2026-08-17", old), msrc("old.xml", "2023-09-12", upd)},
		{msrc("old.xml", "2023-09-12", upd), msrc("new.xml", "2026-08-17", old)},
	} {
		out, conflicts := Merge(order...)
		require.Len(t, out, 1)
		assert.Equal(t, "HTTP", out[0].Description)
		assert.Equal(t, "2021-10-01", out[0].Modified)
		require.Len(t, conflicts, 1)
		assert.Equal(t, Conflict{Key: "http/tcp/80", Kept: "old.xml:7", Other: "new.xml:5",
			Fields: []string{"description", "modified"}}, conflicts[0])
	}
	// A registration date counts when there is no modification date.
	reg := mrec("cora", ProtoTCP, 2000, "new text", "a", 1)
	reg.Registered = "2016-11-10"
	undated := mrec("cora", ProtoTCP, 2000, "old text", "b", 1)
	out, conflicts := Merge(msrc("a", "", reg), msrc("b", "2099-01-01", undated))
	assert.Equal(t, "new text", out[0].Description)
	require.Len(t, conflicts, 1)
	assert.Equal(t, "a:1", conflicts[0].Kept)
}

func TestMergeSameDateNewerSourceWins(t *testing.T) {
	a := mrec("x-on", ProtoNone, -1, "x-on services synchronisation protocol", "2023.xml", 3)
	a.PortLow, a.PortHigh = -1, -1
	b := a
	b.Description, b.Source, b.Line = "x-on services synchronization protocol", "2026.xml", 4
	for _, order := range [][]*Source{
		{msrc("2023.xml", "2023-09-12", a), msrc("2026.xml", "2026-08-17", b)},
		{msrc("2026.xml", "2026-08-17", b), msrc("2023.xml", "2023-09-12", a)},
	} {
		out, conflicts := Merge(order...)
		require.Len(t, out, 1)
		assert.Equal(t, "x-on services synchronization protocol", out[0].Description)
		require.Len(t, conflicts, 1)
		assert.Equal(t, Conflict{Key: "x-on//", Kept: "2026.xml:4", Other: "2023.xml:3", Fields: []string{"description"}}, conflicts[0])
	}
	// Equal dates and equal "Last Updated": the later source wins.
	out, conflicts := Merge(msrc("first", "", a), msrc("second", "", b))
	assert.Equal(t, b.Description, out[0].Description)
	assert.Equal(t, "2026.xml:4", conflicts[0].Kept)
}

func TestMergeConflictFields(t *testing.T) {
	a := mrec("EtherNet-IP-1", ProtoTCP, 2222, "EtherNet/IP I/O", "a", 1)
	b := a
	b.Name = "ethernet-ip-1" // names compare case-insensitively
	b.Assignee, b.Contact = "ODVA", "Brian_Batke"
	b.References = []string{"RFC1", "RFC2"}
	b.Notes = "Defined TXT keys: None"
	b.TXTKeys = ParseTXTKeys(b.Notes)
	b.Subtypes = []string{"_x"}
	b.Status, b.AliasOf = StatusAlias, "x"
	b.Source, b.Line = "b", 9
	out, conflicts := Merge(msrc("a", "", a), msrc("b", "", b))
	require.Len(t, out, 1)
	require.Len(t, conflicts, 1)
	assert.Equal(t, "ethernet-ip-1/tcp/2222", conflicts[0].Key)
	assert.Equal(t, []string{"name", "status", "assignee", "contact", "references", "notes", "txt_keys", "subtypes", "alias_of"}, conflicts[0].Fields)
	assert.Equal(t, "b:9", conflicts[0].Kept, "equal dates and Last Updated: the later source")
}

func TestMergeSettlesUndeterminedDate(t *testing.T) {
	// The plain text shows one lone date; the XML says what it is.
	text := mrec("cora", ProtoTCP, 2000, "Cora", "seed.txt", 12)
	text.Date = "2016-11-10"
	xmlReg := mrec("cora", ProtoTCP, 2000, "Cora", "registry.xml", 400)
	xmlReg.Registered = "2016-11-10"
	xmlMod := mrec("cora", ProtoTCP, 2000, "Cora", "registry.xml", 400)
	xmlMod.Modified = "2016-11-10"
	cases := []struct {
		name    string
		sources []*Source
		reg     string
		mod     string
		kept    string
	}{
		{"text then xml, registration", []*Source{msrc("seed.txt", "2026-08-17", text), msrc("registry.xml", "2026-08-17", xmlReg)}, "2016-11-10", "", "seed.txt"},
		{"xml then text, registration", []*Source{msrc("registry.xml", "2026-08-17", xmlReg), msrc("seed.txt", "2026-08-17", text)}, "2016-11-10", "", "registry.xml"},
		{"text then xml, modification", []*Source{msrc("seed.txt", "2026-08-17", text), msrc("registry.xml", "2026-08-17", xmlMod)}, "", "2016-11-10", "seed.txt"},
		{"xml then text, modification", []*Source{msrc("registry.xml", "2026-08-17", xmlMod), msrc("seed.txt", "2026-08-17", text)}, "", "2016-11-10", "registry.xml"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, conflicts := Merge(tc.sources...)
			require.Len(t, out, 1)
			assert.Empty(t, conflicts, "a settled date is no conflict")
			assert.Equal(t, tc.reg, out[0].Registered)
			assert.Equal(t, tc.mod, out[0].Modified)
			assert.Empty(t, out[0].Date, "the date's role is settled")
			assert.Equal(t, tc.kept, out[0].Source)
		})
	}
	t.Run("a date that matches neither stays undetermined", func(t *testing.T) {
		other := xmlReg
		other.Registered = "2001-01-01"
		out, conflicts := Merge(msrc("seed.txt", "", text), msrc("registry.xml", "", other))
		require.Len(t, out, 1)
		require.Len(t, conflicts, 1)
		assert.Equal(t, []string{"registered", "date"}, conflicts[0].Fields)
		assert.Equal(t, "seed.txt:12", conflicts[0].Kept, "2016-11-10 is newer than 2001-01-01")
		assert.Equal(t, "2016-11-10", out[0].Date)
	})
	t.Run("two undetermined dates are compared as they are", func(t *testing.T) {
		a, b := text, text
		b.Source = "seed2.txt"
		out, conflicts := Merge(msrc("seed.txt", "", a), msrc("seed2.txt", "", b))
		require.Len(t, out, 1)
		assert.Empty(t, conflicts)
		assert.Equal(t, "2016-11-10", out[0].Date)
	})
}

func TestMergeDoesNotModifySources(t *testing.T) {
	text := mrec("cora", ProtoTCP, 2000, "Cora", "seed.txt", 12)
	text.Date = "2016-11-10"
	xmlReg := mrec("cora", ProtoTCP, 2000, "Cora", "registry.xml", 400)
	xmlReg.Registered = "2016-11-10"
	s1, s2 := msrc("seed.txt", "", text), msrc("registry.xml", "", xmlReg)
	out, _ := Merge(s1, s2)
	out[0].Description = "changed"
	assert.Equal(t, "2016-11-10", s1.Records[0].Date, "settling works on the merged copy")
	assert.Equal(t, "Cora", s1.Records[0].Description)

	one := msrc("one", "", mrec("http", ProtoTCP, 80, "x", "one", 1))
	out, conflicts := Merge(one)
	assert.Nil(t, conflicts)
	out[0].Description = "changed"
	assert.Equal(t, "x", one.Records[0].Description, "a single source is copied too")
}

func TestMergeConflictsReachSnapshotStats(t *testing.T) {
	a := mrec("http", ProtoTCP, 80, "one", "a", 1)
	b := mrec("http", ProtoTCP, 80, "two", "b", 1)
	c := mrec("ssh", ProtoTCP, 22, "same", "a", 2)
	d := mrec("ssh", ProtoTCP, 22, "same", "b", 2)
	snap, err := Build(msrc("a", "2023-09-12", a, c), msrc("b", "2026-08-17", b, d))
	require.NoError(t, err)
	require.Len(t, snap.Conflicts(), 1)
	assert.Equal(t, 1, snap.Stats().Conflicts)
	assert.Equal(t, 2, snap.Stats().Records)
	assert.Equal(t, "2026-08-17", snap.Updated())
	require.Len(t, snap.ByName("http"), 1)
	assert.Equal(t, "two", snap.ByName("http")[0].Description)
}
