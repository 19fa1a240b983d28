package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStatsGolden(t *testing.T) {
	cases := []struct {
		golden string
		args   []string
	}{
		{"stats_seed000.golden", []string{"--registry", seed(0)}},
		{"stats_seed002.golden", []string{"--registry", seed(2)}},
		{"stats_seeds_all.golden", []string{"--registry", seed(0), "--registry", seed(1), "--registry", seed(2), "--registry", seed(3), "--registry", seed(4)}},
	}
	for _, tc := range cases {
		t.Run(tc.golden, func(t *testing.T) {
			stdout, stderr, code := cli(t, append([]string{"stats", "-q"}, tc.args...)...)
			require.Equal(t, exitOK, code, stderr)
			assert.Empty(t, stderr)
			golden(t, tc.golden, stdout)
		})
	}
}

// statsJSON is the part of svcreg stats --json the tests read.
type statsJSON struct {
	Records      int            `json:"records"`
	Names        int            `json:"distinct_names"`
	PerProtocol  map[string]int `json:"per_protocol"`
	Ranges       int            `json:"ranges"`
	NoPort       int            `json:"without_port"`
	TXTByKind    map[string]int `json:"names_with_txt_keys_by_kind"`
	Aliases      int            `json:"aliases"`
	Duplicates   int            `json:"duplicates"`
	InvalidNames int            `json:"invalid_names"`
	ByStatus     map[string]int `json:"by_status"`
	Conflicts    int            `json:"conflicts"`
	Updated      string         `json:"updated"`
	Sources      []struct {
		Name        string `json:"name"`
		Format      string `json:"format"`
		Updated     string `json:"updated"`
		Records     int    `json:"records"`
		Path        string `json:"path"`
		SkippedRows int    `json:"skipped_rows"`
	} `json:"sources"`
	ConflictList []struct {
		Key    string   `json:"key"`
		Kept   string   `json:"kept"`
		Other  string   `json:"other"`
		Fields []string `json:"fields"`
	} `json:"conflict_list"`
}

func statsOf(t *testing.T, args ...string) statsJSON {
	t.Helper()
	stdout, stderr, code := cli(t, append([]string{"stats", "--json", "-q"}, args...)...)
	require.Equal(t, exitOK, code, stderr)
	require.Equal(t, 1, strings.Count(stdout, "\n"), "one JSON object, one line")
	var s statsJSON
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&s))
	return s
}

// xmlCounts counts, with regular expressions over the file (not the
// registry package), what svcreg stats reports for the official XML.
type xmlCounts struct {
	records, ranges, noPort, aliases, duplicates int
	perProto, byStatus                           map[string]int
	names, invalid, txtNames                     map[string]bool
	updated                                      string
}

func countXML(t *testing.T, path string) xmlCounts {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	s := string(b)
	c := xmlCounts{perProto: map[string]int{}, byStatus: map[string]int{}, names: map[string]bool{}, invalid: map[string]bool{}, txtNames: map[string]bool{}}
	c.updated = regexp.MustCompile(`<updated>([0-9-]+)</updated>`).FindStringSubmatch(s)[1]
	field := func(rec, tag string) (string, bool) {
		m := regexp.MustCompile(`<` + tag + `>([^<]*)</` + tag + `>`).FindStringSubmatch(rec)
		if m == nil {
			return "", false
		}
		return m[1], true
	}
	phrase := regexp.MustCompile(`(?i)defined\s+txt\s+keys`)
	for _, rec := range regexp.MustCompile(`(?s)<record[ >].*?</record>`).FindAllString(s, -1) {
		c.records++
		name, _ := field(rec, "name")
		proto, ok := field(rec, "protocol")
		if !ok || proto == "" {
			proto = "none"
		}
		c.perProto[proto]++
		num, ok := field(rec, "number")
		switch {
		case !ok:
			c.noPort++
		case strings.Contains(num, "-"):
			// "4748-4748" is written as a range but covers one port.
			lo, hi, _ := strings.Cut(num, "-")
			if lo != hi {
				c.ranges++
			}
		}
		desc, _ := field(rec, "description")
		status := "assigned"
		switch {
		case strings.Contains(rec, "This entry is an alias to &quot;") || strings.Contains(rec, `This entry is an alias to "`):
			status = "alias"
			c.aliases++
		case strings.Contains(rec, "This is a duplicate of the &quot;") || strings.Contains(rec, `This is a duplicate of the "`):
			status = "duplicate"
			c.duplicates++
		case name == "" && strings.HasPrefix(strings.ToLower(desc), "unassigned"):
			status = "unassigned"
		case name == "" && (desc == "" || strings.HasPrefix(strings.ToLower(desc), "reserved") || strings.HasPrefix(strings.ToLower(desc), "iana reserved")):
			status = "reserved"
		case name == "" && (desc == "De-registered" || desc == "Removed" || desc == "Deprecated"):
			status = "reserved" // withdrawn registrations: nobody's, not handed out again
		}
		c.byStatus[status]++
		if name == "" {
			continue
		}
		c.names[strings.ToLower(name)] = true
		if !rfc6335Name(name) {
			c.invalid[name] = true
		}
		if phrase.MatchString(rec) {
			c.txtNames[strings.ToLower(name)] = true
		}
	}
	return c
}

// rfc6335Name is RFC 6335 section 5.1, written out again for the test.
func rfc6335Name(n string) bool {
	ok := regexp.MustCompile(`^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$`).MatchString(n)
	return ok && len(n) <= 15 && strings.ContainsAny(strings.ToLower(n), "abcdefghijklmnopqrstuvwxyz")
}

func TestStatsJSONOfficialXML(t *testing.T) {
	path := ianaXML(t)
	want := countXML(t, path)
	got := statsOf(t, "--registry", path)
	assert.Equal(t, want.records, got.Records)
	assert.Equal(t, len(want.names), got.Names)
	assert.Equal(t, want.perProto, got.PerProtocol)
	assert.Equal(t, want.ranges, got.Ranges)
	assert.Equal(t, want.noPort, got.NoPort)
	assert.Equal(t, want.aliases, got.Aliases)
	assert.Equal(t, want.duplicates, got.Duplicates)
	assert.Equal(t, len(want.invalid), got.InvalidNames)
	assert.Equal(t, want.byStatus, got.ByStatus)
	txt := 0
	for kind, n := range got.TXTByKind {
		assert.NotEqual(t, "unknown", kind)
		txt += n
	}
	assert.Equal(t, len(want.txtNames), txt, "names whose notes define TXT keys")
	assert.Equal(t, want.updated, got.Updated)
	require.Len(t, got.Sources, 1)
	assert.Equal(t, "service-names-port-numbers.xml", got.Sources[0].Name)
	assert.Equal(t, "xml", got.Sources[0].Format)
	assert.Equal(t, want.updated, got.Sources[0].Updated)
	assert.Equal(t, want.records, got.Sources[0].Records)
	assert.Equal(t, path, got.Sources[0].Path)
	assert.Zero(t, got.Sources[0].SkippedRows)
	assert.Zero(t, got.Conflicts)
	assert.NotNil(t, got.ConflictList)
	assert.Empty(t, got.ConflictList)
}

// Two registry versions merged: per-source Last Updated, the newer date
// overall, and every conflict listed in the JSON.
func TestStatsJSONMergedVersions(t *testing.T) {
	old := ianaXMLAt(t, "service-names-port-numbers-2023-09-12.xml")
	cur := ianaXML(t)
	got := statsOf(t, "--registry", old, "--registry", cur)
	require.Len(t, got.Sources, 2)
	assert.Equal(t, "2023-09-12", got.Sources[0].Updated)
	assert.Equal(t, "2026-08-17", got.Sources[1].Updated)
	assert.Equal(t, "2026-08-17", got.Updated)
	assert.Positive(t, got.Conflicts, "the registry changed between the two versions")
	assert.Len(t, got.ConflictList, got.Conflicts)
	for _, c := range got.ConflictList {
		assert.NotEmpty(t, c.Fields, c.Key)
		assert.True(t, strings.HasPrefix(c.Kept, "service-names-port-numbers"), c.Kept)
	}
	stdout, _, code := cli(t, "stats", "-q", "--registry", old, "--registry", cur)
	require.Equal(t, exitOK, code)
	assert.Contains(t, stdout, "Conflicts:           ")
	assert.Contains(t, stdout, "more (svcreg stats --json lists them all)")
	assert.Equal(t, statsMaxConflicts, strings.Count(stdout, ": kept "))
}

func ianaXMLAt(t *testing.T, name string) string {
	p := ianaXML(t)
	return filepath.Join(filepath.Dir(p), name)
}

func TestStatsDefault(t *testing.T) {
	got := statsOf(t, "--services-file", filepath.Join("testdata", "default.services"))
	require.Len(t, got.Sources, 2)
	assert.Equal(t, "default.services", got.Sources[0].Name)
	assert.Equal(t, "services", got.Sources[0].Format)
	assert.Equal(t, 1, got.Sources[0].SkippedRows, "the ddp line")
	assert.Equal(t, "builtin", got.Sources[1].Name)
	assert.Equal(t, 1, got.Aliases, "www of http")
	// http/tcp/80 and ssh/tcp/22 are in both: the built-in table wins and
	// the difference is reported.
	assert.Equal(t, 2, got.Conflicts)
	keys := []string{}
	for _, c := range got.ConflictList {
		keys = append(keys, c.Key)
		assert.Contains(t, c.Kept, "builtin:")
	}
	assert.ElementsMatch(t, []string{"http/tcp/80", "ssh/tcp/22"}, keys)
	assert.Empty(t, got.Updated, "neither source has a Last Updated date")
}

func TestStatsExitStatus(t *testing.T) {
	cases := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"ok", []string{"--registry", seed(4), "-q"}, exitOK, ""},
		{"stray argument", []string{"--registry", seed(4), "http"}, exitUsage, `svcreg stats: unexpected argument "http" (use --registry PATH)`},
		{"unknown flag", []string{"--bogus"}, exitUsage, "flag provided but not defined: --bogus"},
		{"missing file", []string{"--registry", "/nonexistent.csv"}, exitUsage, "svcreg stats: loading /nonexistent.csv: open /nonexistent.csv: no such file or directory"},
		{"help", []string{"--help"}, exitOK, "usage: svcreg stats"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := cli(t, append([]string{"stats"}, tc.args...)...)
			assert.Equal(t, tc.code, code, stderr)
			assert.Contains(t, stderr, tc.stderr)
		})
	}
}
