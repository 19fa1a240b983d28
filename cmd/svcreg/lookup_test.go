package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/registry"
)

// The human table on the seed excerpts, compared with golden files.
func TestLookupGolden(t *testing.T) {
	cases := []struct {
		golden string
		args   []string
	}{
		// Named rows, an unnamed private-use row, Unassigned and
		// protocol-less Reserved rows, historic aliases, TXT "None", a
		// DNS-SD type query.
		{"lookup_seed000.golden", []string{"--registry", seed(0), "53", "57/tcp", "60", "51", "whois++", "sql*net", "bootps", "_auditd._udp"}},
		// A port inside an Unassigned range, names registered on one
		// protocol each.
		{"lookup_seed001.golden", []string{"--registry", seed(1), "19230", "cora", "_cora-disc._udp", "19220/udp", "keysrvr"}},
		// DNS-SD-only registrations and their TXT keys of every kind.
		{"lookup_seed002.golden", []string{"--registry", seed(2), "z-wave", "x-on", "xul-http", "zigbee-bridge", "xmp", "_xtimelicence._tcp"}},
		// Text and markdown renderings merged; flags after the queries.
		{"lookup_seeds_merged.golden", []string{"--registry", seed(0), "whois++", "whoispp", "--registry", seed(3), "4321", "-q"}},
		// Seed 004 on its own, a dynamic port, and a query that matches nothing.
		{"lookup_seed004.golden", []string{"--registry", seed(4), "ftps", "3713/udp", "_6619._tcp", "60000", "nosuch"}},
	}
	for _, tc := range cases {
		t.Run(tc.golden, func(t *testing.T) {
			stdout, stderr, code := cli(t, append([]string{"lookup"}, tc.args...)...)
			assert.Equal(t, exitOK, code, stderr)
			golden(t, tc.golden, stdout)
		})
	}
}

// The documented JSON example, field by field, from the official XML.
func TestLookupJSONHTTP(t *testing.T) {
	stdout, stderr, code := cli(t, "lookup", "--registry", ianaXML(t), "--json", "_http._tcp")
	require.Equal(t, exitOK, code, stderr)
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	require.Len(t, lines, 1, "_http._tcp is one registration")
	assert.Contains(t, lines[0], `"hint":"<username>"`, "no HTML escaping")
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &got))
	want := map[string]any{
		"name": "http", "protocol": "tcp", "port": 80.0, "port_high": 80.0, "status": "assigned",
		"description": "World Wide Web HTTP", "assignee": "IESG", "contact": "IETF_Chair",
		"registered": "", "modified": "2021-10-01", "references": []any{"RFC9110"},
		"txt_keys": map[string]any{"kind": "defined", "keys": []any{
			map[string]any{"name": "u", "hint": "<username>"},
			map[string]any{"name": "p", "hint": "<password>"},
			map[string]any{"name": "path", "hint": "<path to document>"},
		}, "raw": "u=<username> p=<password> path=<path to document>"},
		"subtypes": []any{}, "alias_of": "", "valid_name": true, "source": "service-names-port-numbers.xml",
	}
	for k, v := range want {
		assert.Equal(t, v, got[k], "field %s", k)
	}
	for _, k := range []string{"notes", "line"} {
		assert.Contains(t, got, k)
	}
}

// lookupJSON runs a --json lookup and decodes each line.
func lookupJSON(t *testing.T, args ...string) ([]map[string]any, string, int) {
	t.Helper()
	stdout, stderr, code := cli(t, append([]string{"lookup", "--json"}, args...)...)
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m), "line %q", l)
		out = append(out, m)
	}
	return out, stderr, code
}

func TestLookupJSONQueries(t *testing.T) {
	xml := ianaXML(t)
	type row struct{ name, proto, status, aliasOf string }
	pick := func(objs []map[string]any) []row {
		var out []row
		for _, o := range objs {
			out = append(out, row{o["name"].(string), o["protocol"].(string), o["status"].(string), o["alias_of"].(string)})
		}
		return out
	}
	t.Run("port inside a range", func(t *testing.T) {
		objs, _, code := lookupJSON(t, "--registry", xml, "6010/tcp")
		require.Equal(t, exitOK, code)
		require.Len(t, objs, 1)
		assert.Equal(t, "x11", objs[0]["name"])
		assert.Equal(t, 6000.0, objs[0]["port"])
		assert.Equal(t, 6063.0, objs[0]["port_high"])
	})
	t.Run("_80._tcp is a port query", func(t *testing.T) {
		objs, _, code := lookupJSON(t, "--registry", xml, "_80._tcp")
		require.Equal(t, exitOK, code)
		assert.Equal(t, []row{{"http", "tcp", "assigned", ""}, {"www", "tcp", "duplicate", "http"}, {"www-http", "tcp", "duplicate", "http"}}, pick(objs))
	})
	t.Run("port 80 on every protocol", func(t *testing.T) {
		objs, _, code := lookupJSON(t, "--registry", xml, "80")
		require.Equal(t, exitOK, code)
		protos := map[string]int{}
		for _, o := range objs {
			protos[o["protocol"].(string)]++
			assert.Equal(t, 80.0, o["port"])
		}
		assert.Equal(t, map[string]int{"tcp": 3, "udp": 3, "sctp": 1}, protos)
	})
	t.Run("unnamed Reserved row covering a port", func(t *testing.T) {
		objs, _, code := lookupJSON(t, "--registry", xml, "0/udp")
		require.Equal(t, exitOK, code)
		assert.Equal(t, []row{{"", "udp", "reserved", ""}}, pick(objs))
		assert.Equal(t, false, objs[0]["valid_name"])
	})
	t.Run("dynamic ports", func(t *testing.T) {
		objs, _, code := lookupJSON(t, "--registry", xml, "49152", "65535/udp", "50000")
		require.Equal(t, exitOK, code)
		assert.Equal(t, []row{{"", "", "dynamic", ""}, {"", "udp", "dynamic", ""}}, pick(objs), "one row per protocol asked")
		assert.Equal(t, 49152.0, objs[0]["port"])
		assert.Equal(t, 65535.0, objs[0]["port_high"])
		assert.Equal(t, []any{"RFC6335"}, objs[0]["references"])
	})
	t.Run("legacy names are names, compared case-insensitively", func(t *testing.T) {
		objs, _, code := lookupJSON(t, "--registry", xml, "WHOIS++", "ethernet/ip-1", "914C/G")
		require.Equal(t, exitOK, code)
		assert.Equal(t, []row{
			{"whois++", "tcp", "alias", "whoispp"}, {"whois++", "udp", "alias", "whoispp"},
			{"EtherNet/IP-1", "tcp", "alias", "EtherNet-IP-1"}, {"EtherNet/IP-1", "udp", "alias", "EtherNet-IP-1"},
			{"914c/g", "tcp", "alias", "914c-g"}, {"914c/g", "udp", "alias", "914c-g"},
		}, pick(objs))
	})
	t.Run("DNS-SD-only name has null ports", func(t *testing.T) {
		objs, _, code := lookupJSON(t, "--registry", xml, "_x-on._tcp")
		require.Equal(t, exitOK, code)
		require.Len(t, objs, 1)
		assert.Nil(t, objs[0]["port"])
		assert.Nil(t, objs[0]["port_high"])
		assert.Equal(t, "", objs[0]["protocol"])
		assert.Equal(t, "proprietary", objs[0]["txt_keys"].(map[string]any)["kind"])
	})
	t.Run("each record once across queries", func(t *testing.T) {
		objs, _, code := lookupJSON(t, "--registry", xml, "http", "_http._tcp", "80/tcp")
		require.Equal(t, exitOK, code)
		seen := map[float64]bool{}
		for _, o := range objs {
			line := o["line"].(float64)
			assert.False(t, seen[line], "record at line %v twice", line)
			seen[line] = true
		}
		assert.Len(t, objs, 5, "http tcp/udp/sctp, www and www-http on tcp")
	})
	t.Run("undetermined date", func(t *testing.T) {
		objs, _, code := lookupJSON(t, "--registry", seed(1), "cora")
		require.Equal(t, exitOK, code)
		require.Len(t, objs, 1)
		assert.Equal(t, "2016-11-10", objs[0]["date_undetermined"])
		assert.Equal(t, "", objs[0]["registered"])
		// Merged with the XML, the date is settled as a registration.
		objs, _, code = lookupJSON(t, "--registry", seed(1), "--registry", xml, "cora")
		require.Equal(t, exitOK, code)
		require.Len(t, objs, 1)
		assert.Equal(t, "2016-11-10", objs[0]["registered"])
		assert.NotContains(t, objs[0], "date_undetermined")
	})
}

// The built-in default: the services file given by --services-file plus
// the built-in table.
func TestLookupDefault(t *testing.T) {
	services := filepath.Join("testdata", "default.services")
	t.Run("built-in DNS-SD types", func(t *testing.T) {
		objs, stderr, code := lookupJSON(t, "--services-file", services, "_matterc._udp", "_ipp._tcp")
		require.Equal(t, exitOK, code)
		assert.Contains(t, stderr, "using the built-in default")
		require.Len(t, objs, 2)
		assert.Equal(t, "matterc", objs[0]["name"])
		assert.Equal(t, "builtin", objs[0]["source"])
		assert.Nil(t, objs[0]["port"])
		assert.Equal(t, 631.0, objs[1]["port"])
	})
	t.Run("services file aliases", func(t *testing.T) {
		objs, _, code := lookupJSON(t, "--services-file", services, "www")
		require.Equal(t, exitOK, code)
		require.Len(t, objs, 1)
		assert.Equal(t, "alias", objs[0]["status"])
		assert.Equal(t, "http", objs[0]["alias_of"])
		assert.Equal(t, "default.services", objs[0]["source"])
		assert.Equal(t, 2.0, objs[0]["line"])
	})
	t.Run("a local service in the dynamic range", func(t *testing.T) {
		objs, _, code := lookupJSON(t, "--services-file", services, "50000/tcp")
		require.Equal(t, exitOK, code)
		require.Len(t, objs, 2)
		assert.Equal(t, "custom-app", objs[0]["name"])
		assert.Equal(t, "dynamic", objs[1]["status"])
	})
	t.Run("no services file: built-in table alone", func(t *testing.T) {
		objs, stderr, code := lookupJSON(t, "--services-file", filepath.Join(t.TempDir(), "none"), "ssh", "www")
		require.Equal(t, exitOK, code)
		require.Len(t, objs, 1)
		assert.Equal(t, "builtin", objs[0]["source"])
		assert.Contains(t, stderr, "no services file, using the built-in table alone")
		assert.Contains(t, stderr, "svcreg lookup: www: no match")
	})
	t.Run("quiet", func(t *testing.T) {
		_, stderr, code := cli(t, "lookup", "-q", "--services-file", services, "ssh")
		assert.Equal(t, exitOK, code)
		assert.Empty(t, stderr)
	})
}

func TestLookupExitStatus(t *testing.T) {
	xml := ianaXML(t)
	cases := []struct {
		name   string
		args   []string
		code   int
		stdout bool   // output expected on stdout
		stderr string // substring expected on stderr
	}{
		{"found", []string{"--registry", xml, "http"}, exitOK, true, ""},
		{"found as JSON", []string{"--registry", xml, "--json", "http"}, exitOK, true, ""},
		{"nothing found", []string{"--registry", xml, "-q", "no-such-service"}, exitNotFound, false, "svcreg lookup: no-such-service: no match"},
		{"nothing found, JSON", []string{"--registry", xml, "-q", "--json", "_no-such._udp"}, exitNotFound, false, "_no-such._udp: no match"},
		{"some found", []string{"--registry", xml, "-q", "http", "no-such-service"}, exitOK, true, "no-such-service: no match"},
		{"port without records", []string{"--registry", seed(4), "-q", "12345"}, exitNotFound, false, "12345: no match"},
		{"dynamic port", []string{"--registry", seed(4), "-q", "55555"}, exitOK, true, ""},
		{"no query", []string{"--registry", xml}, exitUsage, false, "svcreg lookup: no QUERY given"},
		{"port out of range", []string{"--registry", xml, "70000"}, exitUsage, false, `svcreg lookup: bad query: port "70000" out of range 0-65535`},
		{"empty query", []string{"--registry", xml, ""}, exitUsage, false, "svcreg lookup: bad query: empty query"},
		{"unknown flag", []string{"--registry", xml, "--bogus", "http"}, exitUsage, false, "flag provided but not defined: --bogus"},
		{"flag without value", []string{"http", "--registry"}, exitUsage, false, "flag needs an argument: --registry"},
		{"bad --format", []string{"--format", "yaml", "http"}, exitUsage, false, `unknown format "yaml"`},
		{"missing registry", []string{"--registry", "/nonexistent/registry.xml", "http"}, exitUsage, false, "svcreg lookup: loading /nonexistent/registry.xml: open /nonexistent/registry.xml: no such file or directory"},
		{"help", []string{"-h"}, exitOK, false, "usage: svcreg lookup"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := cli(t, append([]string{"lookup"}, tc.args...)...)
			assert.Equal(t, tc.code, code, "stderr: %s", stderr)
			assert.Equal(t, tc.stdout, stdout != "", "stdout: %q", stdout)
			assert.Contains(t, stderr, tc.stderr)
		})
	}
}

func TestCleanCell(t *testing.T) {
	cases := map[string]string{
		"World Wide Web HTTP":          "World Wide Web HTTP",
		"two\nlines":                   "two lines",
		"tab\there":                    "tab here",
		"escape \x1b[31mred\x1b[0m":    "escape [31mred [0m",
		"bad \xff utf-8":               "bad \uFFFD utf-8",
		"  padded   out  ":             "padded out",
		"Ronny_Krüger":                 "Ronny_Krüger",
		"carriage\r\nreturn\u0085next": "carriage return next",
	}
	for in, want := range cases {
		assert.Equal(t, want, cleanCell(in), "%q", in)
	}
}

func TestTXTSummary(t *testing.T) {
	cases := []struct {
		t    registry.TXTKeys
		want string
	}{
		{registry.TXTKeys{}, ""},
		{registry.TXTKeys{Kind: registry.TXTNone}, "none"},
		{registry.TXTKeys{Kind: registry.TXTProprietary, Keys: []registry.TXTKey{{Name: "txtvers"}}}, "proprietary: txtvers"},
		{registry.TXTKeys{Kind: registry.TXTUnspecified, Ref: "www.exbiblio.com"}, "unspecified: see www.exbiblio.com"},
		{registry.TXTKeys{Kind: registry.TXTExternal, Ref: "BonjourPrinting.pdf"}, "external: see BonjourPrinting.pdf"},
		{registry.TXTKeys{Kind: registry.TXTDefined, Keys: []registry.TXTKey{{Name: "u", Hint: "<username>"}, {Name: "path"}}}, "defined: u=<username>, path"},
		{registry.TXTKeys{Kind: registry.TXTDefined, Keys: []registry.TXTKey{{Name: "dn"}, {Name: "dt"}}, Ref: "https://x.example/"}, "defined: dn, dt (see https://x.example/)"},
		// A hint with a comma: keys are separated by semicolons.
		{registry.TXTKeys{Kind: registry.TXTDefined, Keys: []registry.TXTKey{{Name: "auth", Hint: "plaintext | md5"}, {Name: "userid", Hint: "alphanumeric, additionally '_'"}}},
			"defined: auth=plaintext | md5; userid=alphanumeric, additionally '_'"},
		{registry.TXTKeys{Kind: registry.TXTDefined, Keys: []registry.TXTKey{{Name: "a\nb", Hint: "\x1b[2J"}}}, "defined: a b= [2J"},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, txtSummary(&tc.t))
	}
}

// TestLookupSubtype: a subtype query answers with the type's records when
// the registry knows the subtype, through a duplicate name too (IANA
// lists _printer under www-http, the duplicate of http), and exits 1
// for one it does not know.
func TestLookupSubtype(t *testing.T) {
	xml := ianaXML(t)
	stdout, stderr, code := cli(t, "lookup", "-q", "--registry", xml, "--json", "_printer._sub._http._tcp")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, `"name":"http","protocol":"tcp","port":80`)
	_, _, code = cli(t, "lookup", "-q", "--registry", xml, "_nosuchsub._sub._http._tcp")
	assert.Equal(t, exitNotFound, code)
	// A subtype only a profile knows (Matter's long discriminator).
	stdout, stderr, code = cli(t, "lookup", "-q", "--registry", xml, "_L3840._sub._matterc._udp")
	require.Equal(t, exitOK, code, stderr)
	assert.Contains(t, stdout, "PROFILE _matterc._udp")
}

// The profile of a type is shown beside its registration; a type only a
// profile knows is found; --profiles off is the registry alone.
func TestLookupProfiles(t *testing.T) {
	iana := ianaXML(t)
	stdout, stderr, code := cli(t, "lookup", "-q", "--registry", iana, "_matterc._udp", "spotify-connect")
	require.Equal(t, exitOK, code, stderr)
	assert.Empty(t, stderr)
	assert.Contains(t, stdout, "matterc  udp")
	assert.Contains(t, stdout, "\nPROFILE _matterc._udp  Matter node waiting to be commissioned")
	assert.Contains(t, stdout, "    source: Matter Core Specification 1.3, section 4.3.1")
	assert.Contains(t, stdout, "    registered with IANA; key list complete\n")
	assert.Contains(t, stdout, "    TXT D (required, int 0-4095), CM (required, int 0-2), VP (")
	assert.Contains(t, stdout, "    subtypes: _L*, _S*, _V*, _T*, _CM\n")
	assert.Contains(t, stdout, "PROFILE _spotify-connect._tcp  Spotify Connect playback device\n")
	assert.Contains(t, stdout, "    not registered with IANA\n")

	// JSON: a record carries its type's profile; a name only a profile
	// knows is a {"profile": ...} line.
	stdout, stderr, code = cli(t, "lookup", "-q", "--json", "--registry", iana, "_hap._tcp", "spotify-connect")
	require.Equal(t, exitOK, code, stderr)
	type profileJSON struct {
		Name       string   `json:"name"`
		Protocols  []string `json:"protocols"`
		Complete   bool     `json:"complete"`
		Registered bool     `json:"registered"`
		Keys       []struct {
			Name     string `json:"name"`
			Required bool   `json:"required"`
			Syntax   string `json:"syntax"`
		} `json:"keys"`
	}
	var withProfile, alone []profileJSON
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var obj struct {
			Name    string       `json:"name"`
			Profile *profileJSON `json:"profile"`
		}
		require.NoError(t, json.Unmarshal([]byte(line), &obj), line)
		require.NotNil(t, obj.Profile, line)
		if obj.Name != "" {
			withProfile = append(withProfile, *obj.Profile)
		} else {
			alone = append(alone, *obj.Profile)
		}
	}
	require.NotEmpty(t, withProfile)
	hap := withProfile[0]
	assert.Equal(t, "hap", hap.Name)
	assert.Equal(t, []string{"tcp", "udp"}, hap.Protocols, "one profile for both protocols")
	assert.True(t, hap.Complete)
	require.NotEmpty(t, hap.Keys)
	assert.Equal(t, "c#", hap.Keys[0].Name)
	assert.True(t, hap.Keys[0].Required)
	assert.Equal(t, "int 1-4294967295", hap.Keys[0].Syntax)
	require.Len(t, alone, 1)
	assert.Equal(t, "spotify-connect", alone[0].Name)
	assert.False(t, alone[0].Registered)

	_, stderr, code = cli(t, "lookup", "-q", "--profiles", "off", "spotify-connect")
	assert.Equal(t, exitNotFound, code)
	assert.Contains(t, stderr, "spotify-connect: no match")
	stdout, _, code = cli(t, "lookup", "-q", "--profiles", "off", "_ipp._tcp")
	assert.Equal(t, exitOK, code)
	assert.NotContains(t, stdout, "PROFILE")
	_, stderr, code = cli(t, "lookup", "--profiles", "maybe", "ipp")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "--profiles")
}

// lookup understands what the web UI and /v1/search do: ranges, types
// with a domain, description words, and suggests names for a near miss.
func TestLookupSearch(t *testing.T) {
	xml := ianaXML(t)
	cases := []struct {
		name       string
		args       []string
		code       int
		wantOut    []string // substrings of stdout
		notOut     []string
		wantStderr string
	}{
		{"range", []string{"6000-6063"}, exitOK, []string{"x11", "6000-6063"}, nil, ""},
		{"range and protocol", []string{"5350-5360/udp"}, exitOK, []string{"mdns ", "5353"}, []string{" tcp "}, ""},
		{"type with a domain", []string{"_ipp._tcp.local."}, exitOK, []string{"ipp ", "631"}, []string{" udp "}, ""},
		{"description words", []string{"Multicast DNS"}, exitOK, []string{"mdns "},
			nil, "Multicast DNS: no service of that name"},
		{"exact only", []string{"--exact", "Multicast DNS"}, exitNotFound, nil, nil, "Multicast DNS: no match"},
		{"near miss", []string{"htpp"}, exitNotFound, nil, nil, "htpp: no match; did you mean"},
		{"limit", []string{"--limit", "1", "printing"}, exitOK, nil, nil, "the best 1 below"},
		{"bad limit", []string{"--limit", "0", "ipp"}, exitUsage, nil, nil, "--limit 0: want at least 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := cli(t, append([]string{"lookup", "--registry", xml}, tc.args...)...)
			assert.Equal(t, tc.code, code, "stderr: %s", stderr)
			for _, w := range tc.wantOut {
				assert.Contains(t, stdout, w)
			}
			for _, w := range tc.notOut {
				assert.NotContains(t, stdout, w)
			}
			assert.Contains(t, stderr, tc.wantStderr)
		})
	}
	// The near miss names the registered name it is one edit from.
	_, stderr, _ := cli(t, "lookup", "--registry", xml, "htpp")
	assert.Regexp(t, `did you mean [^\n]*\bhttp\b`, stderr)
	// Description matches rank like the web's: mdns before mdnsresponder.
	stdout, _, _ := cli(t, "lookup", "--registry", xml, "--json", "Multicast DNS")
	assert.Less(t, strings.Index(stdout, `"name":"mdns"`), strings.Index(stdout, `"name":"mdnsresponder"`), stdout)
}
