package registry

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/internal/testutil"
)

func TestBuiltinProfiles(t *testing.T) {
	ps := BuiltinProfiles()
	assert.Equal(t, ProfilesName, ps.Name())
	// The types found on real networks that the profiles must cover.
	for _, typ := range []string{
		"_ipp._tcp", "_ipps._tcp", "_printer._tcp", "_pdl-datastream._tcp", "_uscan._tcp", "_uscans._tcp",
		"_scanner._tcp", "_airplay._tcp", "_raop._tcp", "_companion-link._tcp", "_hap._tcp", "_hap._udp",
		"_googlecast._tcp", "_matter._tcp", "_matterc._udp", "_matterd._udp", "_meshcop._udp", "_trel._udp",
		"_srpl-tls._tcp", "_spotify-connect._tcp", "_sonos._tcp", "_home-assistant._tcp", "_esphomelib._tcp",
		"_hue._tcp", "_adisk._tcp", "_device-info._tcp", "_smb._tcp", "_afpovertcp._tcp", "_sftp-ssh._tcp",
		"_ssh._tcp", "_http._tcp", "_https._tcp", "_workstation._tcp", "_rfb._tcp", "_daap._tcp", "_dacp._tcp",
		"_touch-able._tcp", "_sleep-proxy._udp", "_nfs._tcp", "_webdav._tcp",
		"_shelly._tcp", "_androidtvremote2._tcp", "_octoprint._tcp", "_wled._tcp",
	} {
		q, err := ParseQuery(typ)
		require.NoError(t, err)
		assert.NotNil(t, ps.Lookup(q.Name, q.Protocol), "no profile for %s", typ)
	}
	for _, p := range ps.All() {
		assert.NotEmpty(t, p.Source, p.Name)
		assert.NotEmpty(t, p.Description, p.Name)
		assert.Positive(t, p.Line, p.Name)
		assert.True(t, strings.HasPrefix(p.Cite(), "profile:"+p.Name+" ("), p.Cite())
		if p.TXT == TXTDefined {
			assert.NotEmpty(t, p.Keys, p.Name)
		}
	}
	// Lookups are case-insensitive and protocol-exact.
	assert.Equal(t, "ipp", ps.Lookup("IPP", ProtoTCP).Name)
	assert.Nil(t, ps.Lookup("ipp", ProtoUDP))
	assert.Nil(t, ps.Lookup("no-such-type", ProtoTCP))
	var none *Profiles
	assert.Nil(t, none.Lookup("ipp", ProtoTCP))
	assert.Empty(t, none.All())

	matterc := ps.Lookup("matterc", ProtoUDP)
	require.NotNil(t, matterc)
	assert.True(t, matterc.Complete)
	d := matterc.Key("d")
	require.NotNil(t, d)
	assert.True(t, d.Required)
	assert.True(t, d.Syntax.Check("3840"))
	assert.False(t, d.Syntax.Check("4096"))
	assert.True(t, matterc.HasSubtype("_L3840"))
	assert.True(t, matterc.HasSubtype("_cm"))
	assert.False(t, matterc.HasSubtype("_L"), "a pattern needs a rest")
	assert.False(t, matterc.HasSubtype("_X1"))

	adisk := ps.Lookup("adisk", ProtoTCP)
	require.NotNil(t, adisk)
	assert.Equal(t, "dk*", adisk.Key("dk0").Name)
	assert.Equal(t, "dk*", adisk.Key("DK12").Name)
	assert.Nil(t, adisk.Key("dk"))
	assert.Nil(t, adisk.Key(strings.Repeat("x", 100)))

	ipp := ps.Lookup("ipp", ProtoTCP)
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		_ = ps.Lookup("IPP", ProtoTCP)
		_ = ipp.Key("PDL")
	}), "profile lookups allocate")
}

// registered must say what the official registry says.
func TestProfilesAgreeWithIANA(t *testing.T) {
	snap := ianaSnapshot(t)
	for _, p := range BuiltinProfiles().All() {
		recs := snap.ByName(p.Name)
		assert.Equal(t, p.Registered, len(recs) > 0, "%s (profiles.yaml:%d): registered is %v", p.Name, p.Line, p.Registered)
		for _, proto := range p.Protocols {
			for _, r := range snap.ByType(p.Name, proto) {
				if r.HasPort() && p.Port >= 0 && !r.IsRange() {
					assert.Equal(t, r.PortLow, p.Port, "port of %s/%s (IANA line %d)", p.Name, proto, r.Line)
				}
			}
		}
	}
}

func TestParseProfilesErrors(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"not a list", "name: x\n", []string{"x.yaml:1: want a list of profiles"}},
		{"yaml syntax", "- {name: [\n", []string{"x.yaml: yaml:"}},
		{"missing fields", "- name: foo\n  protocols: [tcp]\n", []string{
			"x.yaml:1: foo: registered is missing", "x.yaml:1: foo: description is missing", "x.yaml:1: foo: source is missing"}},
		{"bad name and protocol", "- {name: foo_bar, protocols: [sctp], registered: false, description: d, source: s}\n", []string{
			`x.yaml:1: foo_bar: name "foo_bar" is not an RFC 6335 service name`, `protocol "sctp": DNS-SD types are _tcp or _udp`}},
		{"misspelt field", "- {name: foo, protocols: [tcp], registered: false, description: d, source: s,\n   keys: [{name: a, mandatory: true}]}\n",
			[]string{`x.yaml:1: foo: line 2: unknown key field "mandatory"`}},
		{"unknown entry field", "- {name: foo, protocols: [tcp], registered: false, description: d, source: s, colour: red}\n",
			[]string{`unknown profile field "colour"`}},
		{"bad syntax", "- {name: foo, protocols: [tcp], registered: false, description: d, source: s, keys: [{name: a, syntax: int 5-1}]}\n",
			[]string{`x.yaml:1: foo: key a: bad value syntax "int 5-1": want int LO-HI`}},
		{"duplicate key", "- {name: foo, protocols: [tcp], registered: false, description: d, source: s, keys: [{name: a}, {name: A}]}\n",
			[]string{"key A is listed twice"}},
		{"duplicate type", "- {name: foo, protocols: [tcp], registered: false, description: d, source: s}\n" +
			"- {name: FOO, protocols: [tcp], registered: false, description: d, source: s}\n",
			[]string{"x.yaml:2: FOO: FOO/tcp is already profiled at line 1"}},
		{"txt none with keys", "- {name: foo, protocols: [tcp], registered: false, description: d, source: s, txt: none, keys: [{name: a}]}\n",
			[]string{"txt: none, but keys are listed"}},
		{"bad port", "- {name: foo, protocols: [tcp], port: 70000, registered: false, description: d, source: s}\n",
			[]string{"port 70000 is outside 0-65535"}},
		{"wrong type", "- {name: foo, protocols: tcp, registered: false, description: d, source: s}\n",
			[]string{"x.yaml:1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseProfiles(strings.NewReader(tt.in), "x.yaml")
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrProfile)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
	ps, err := ParseProfiles(strings.NewReader(""), "empty.yaml")
	require.NoError(t, err)
	assert.Empty(t, ps.All())
}

func TestValueSyntax(t *testing.T) {
	tests := []struct {
		spec      string
		good, bad []string
	}{
		{"", []string{"", "anything"}, nil},
		{"int 0-4095", []string{"0", "3840", "4095"}, []string{"", "-1", "4096", "+5", "0x10", "12a"}},
		{"enum T|F", []string{"T", "f"}, []string{"", "true", "TF"}},
		{"uuid", []string{"6a5d2e1c-7b3f-4e0a-9c8d-1f2e3d4c5b6a"}, []string{"6a5d2e1c7b3f4e0a9c8d1f2e3d4c5b6a", "zzzzzzzz-7b3f-4e0a-9c8d-1f2e3d4c5b6a"}},
		{"hex", []string{"00AAbb", "1"}, []string{"", "0x1", "g"}},
		{"hexflags", []string{"0x5A7FFFF7,0x1E", "0x44"}, []string{"5A", "0x", "0x1,", "0x1,0x2,0x3"}},
		{"mac", []string{"AA:BB:CC:DD:EE:FF", "aa-bb-cc-dd-ee-ff"}, []string{"AABBCCDDEEFF", "AA:BB:CC:DD:EE:GG"}},
		{"version", []string{"1.1", "670.6.2", "2024.6.0.dev0"}, []string{"", "v1", "1 .2"}},
		{"mime-list", []string{"application/pdf,image/urf", "image/pwg-raster"}, []string{"pdf", "application/pdf,", "a/b/c"}},
		{"relpath", []string{"ipp/print", ""}, []string{"/ipp/print", "a b"}},
		{"abspath", []string{"/", "/setup/icon.png"}, []string{"setup", ""}},
		{"url", []string{"http://printer.local/", "https://[fd42::1]:631/admin"}, []string{"printer.local", "http://", "http://a b"}},
		{`pattern ^[0-9]+(\+[0-9]+)?$`, []string{"65521+32769", "4"}, []string{"a+b", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			v, err := ParseValueSyntax(tt.spec)
			require.NoError(t, err)
			assert.NotEmpty(t, v.Describe())
			assert.Equal(t, tt.spec == "", v.IsText())
			for _, g := range tt.good {
				assert.True(t, v.Check(g), "%q should be accepted", g)
			}
			for _, b := range tt.bad {
				assert.False(t, v.Check(b), "%q should be refused", b)
			}
		})
	}
	for _, bad := range []string{"int", "int 1", "int a-b", "enum", "enum a||b", "pattern (", "pattern", "uuid x", "colour"} {
		_, err := ParseValueSyntax(bad)
		assert.ErrorIs(t, err, ErrSyntaxSpec, bad)
	}
}

func TestSnapshotProfiles(t *testing.T) {
	snap, err := Build(Builtin())
	require.NoError(t, err)
	assert.Nil(t, snap.Profiles())
	assert.Nil(t, snap.Profile("ipp", ProtoTCP), "no layer, no profile")
	with := snap.WithProfiles(BuiltinProfiles())
	require.NotNil(t, with.Profile("ipp", ProtoTCP))
	assert.Nil(t, snap.Profile("ipp", ProtoTCP), "WithProfiles must not change the original")
	assert.Equal(t, snap.Records(), with.Records())
	// The zone's subtypes come from records, never from profile patterns.
	assert.NotContains(t, with.Subtypes("matterc", ProtoUDP), "_L*")
}

func FuzzParseProfiles(f *testing.F) {
	f.Add(string(builtinProfiles))
	f.Add("- {name: foo, protocols: [tcp], registered: false, description: d, source: s, keys: [{name: a, syntax: int 1-2}]}\n")
	f.Add("- name: [\n")
	f.Fuzz(func(t *testing.T, in string) {
		ps, err := ParseProfiles(strings.NewReader(in), "fuzz.yaml")
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, p := range ps.All() {
			for _, proto := range p.Protocols {
				if ps.Lookup(p.Name, proto) == nil {
					t.Fatalf("%s/%s parsed but not found", p.Name, proto)
				}
			}
			for _, k := range p.Keys {
				_ = k.Syntax.Check("x")
				if p.Key(k.Name) == nil && !strings.HasSuffix(k.Name, "*") {
					t.Fatalf("key %q parsed but not found", k.Name)
				}
			}
		}
	})
}

func FuzzValueSyntax(f *testing.F) {
	for _, s := range []string{"int 0-10", "enum a|b", "uuid", "hexflags", "mac", "version", "mime-list", "url", "pattern ^a+$"} {
		f.Add(s, "value")
	}
	f.Fuzz(func(_ *testing.T, spec, value string) {
		v, err := ParseValueSyntax(spec)
		if err != nil {
			return
		}
		_ = v.Check(value)
		_ = v.Describe()
	})
}

func BenchmarkBuiltinProfiles(b *testing.B) {
	for b.Loop() {
		_ = BuiltinProfiles()
	}
}

// Every syntax's example is in it and its counterexample is not.
func TestValueSyntaxExamples(t *testing.T) {
	for _, p := range BuiltinProfiles().All() {
		for _, k := range p.Keys {
			if ex, ok := k.Syntax.Example(); ok {
				assert.True(t, k.Syntax.Check(ex), "%s %s: example %q", p.Name, k.Name, ex)
			}
			if bad, ok := k.Syntax.Counterexample(); ok {
				assert.False(t, k.Syntax.Check(bad), "%s %s: counterexample %q", p.Name, k.Name, bad)
			}
		}
	}
}

// ianaSnapshot is the official registry (skipped outside CI when
// ../shared lacks it), without the profile layer.
func ianaSnapshot(t *testing.T) *Snapshot {
	t.Helper()
	f, err := os.Open(testutil.SharedFile(t, "iana", "service-names-port-numbers.xml"))
	require.NoError(t, err)
	defer f.Close()
	src, err := ParseXML(f, "service-names-port-numbers.xml")
	require.NoError(t, err)
	snap, err := Build(src)
	require.NoError(t, err)
	return snap
}
