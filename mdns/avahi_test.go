package mdns

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/internal/testutil"
)

func parseAvahiFile(t testing.TB, path string) ([]*Advertisement, error) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return ParseAvahi(bytes.NewReader(b), filepath.Base(path), "myhost")
}

func TestParseAvahiGood(t *testing.T) {
	dir := testutil.Testdata("mdns", "avahi", "good")
	ads, err := parseAvahiFile(t, filepath.Join(dir, "printer.service"))
	require.NoError(t, err)
	require.Len(t, ads, 2)
	assert.Equal(t, &Advertisement{Instance: "Office Printer on myhost", Service: "_ipp", Proto: "_tcp", Domain: "local",
		Subtypes: []string{"_universal"}, Port: 631, HasTXT: true,
		TXT:    []string{"txtvers=1", "rp=ipp/print", "ty=Office Printer", "qtotal=1", "pdl=application/pdf,image/urf", "note=2nd floor"},
		Origin: "printer.service:6"}, ads[0])
	assert.Equal(t, &Advertisement{Instance: "Office Printer on myhost", Service: "_http", Proto: "_tcp", Domain: "local",
		Host: "printer.local.", Port: 80, HasTXT: true, TXT: []string{"path=/", "u=admin"}, Origin: "printer.service:17"}, ads[1])

	ads, err = parseAvahiFile(t, filepath.Join(dir, "ssh.service"))
	require.NoError(t, err)
	require.Len(t, ads, 1)
	assert.Equal(t, &Advertisement{Instance: "myhost", Service: "_ssh", Proto: "_tcp", Domain: "local", Port: 22,
		Origin: "ssh.service:6"}, ads[0])
}

// TestAvahiFindings validates the good files: the compliant ones have no
// findings, the deliberately bad advertisement has exactly these.
func TestAvahiFindings(t *testing.T) {
	v := NewValidator(testSnapshot(t), Policy{})
	dir := testutil.Testdata("mdns", "avahi", "good")
	cases := map[string][]want{
		"printer.service": {},
		"ssh.service":     {{RuleUnregistered, SeverityWarning, "_ssh"}}, // not in the small test registry
		"bad-advert.service": {
			{RuleNameSyntax, SeverityError, "_androidtvremote2"},
			{RuleUnregistered, SeverityWarning, "_androidtvremote2"},
			{RulePortMismatch, SeverityInfo, "8080"},
			{RuleTXTUnknownKey, SeverityInfo, "port"},
			{RuleTXTUnknownKey, SeverityInfo, "txtvers"},
			{RuleTXTFormat, SeverityWarning, "Path"},
			{RuleTXTFormat, SeverityError, "=novalue"},
			{RuleTXTFormat, SeverityWarning, "port=8080"},
			{RuleTXTFormat, SeverityInfo, "txtvers=1"},
			{RuleSubtype, SeverityInfo, "_color"},
		},
	}
	for file, wantF := range cases {
		t.Run(file, func(t *testing.T) {
			ads, err := parseAvahiFile(t, filepath.Join(dir, file))
			require.NoError(t, err)
			got := []want{}
			for _, a := range ads {
				fs := v.Validate(a)
				for _, f := range fs {
					assert.Equal(t, a.Origin, f.Origin)
				}
				got = append(got, reduce(fs)...)
			}
			assert.Equal(t, wantF, got)
		})
	}
}

// TestParseAvahiBad pairs every bad file with its exact error.
func TestParseAvahiBad(t *testing.T) {
	cases := map[string]string{
		"not-xml.service":  "not-xml.service:6: XML: element <service> closed by </servic>",
		"no-port.service":  "no-port.service:4: <service> has no <port>",
		"bad-port.service": `bad-port.service:6: port "80800" is not a number from 0 to 65535`,
		"no-name.service":  "no-name.service:7: the service group has no <name>",
		"unknown-element.service": "unknown-element.service:6: unknown element <prot> in <service>\n" +
			"unknown-element.service:4: <service> has no <port>",
		"bad-subtype.service":  `bad-subtype.service:6: subtype "_printer" is not of the form SUBTYPE._sub.TYPE`,
		"bad-hex.service":      "bad-hex.service:7: txt-record: bad binary-hex value: encoding/hex: invalid byte: U+007A 'z'",
		"wrong-root.service":   "wrong-root.service:2: the root element is <service>, not <service-group>",
		"no-service.service":   "no-service.service:4: the service group has no <service>",
		"bad-protocol.service": `bad-protocol.service:4: protocol is "ipx", not ipv4, ipv6 or any`,
		"empty.service":        "empty.service:1: no <service-group> element",
	}
	dir := testutil.Testdata("mdns", "avahi", "bad")
	files, err := filepath.Glob(filepath.Join(dir, "*.service"))
	require.NoError(t, err)
	require.Len(t, files, len(cases), "every bad file has its expected error here")
	for file, msg := range cases {
		t.Run(file, func(t *testing.T) {
			ads, err := parseAvahiFile(t, filepath.Join(dir, file))
			require.Error(t, err)
			assert.Nil(t, ads)
			assert.Equal(t, msg, err.Error())
			assert.True(t, errors.Is(err, ErrAvahiSyntax))
			var ae *AvahiError
			require.True(t, errors.As(err, &ae))
			assert.Equal(t, file, ae.File)
		})
	}
}

func TestParseAvahiInline(t *testing.T) {
	cases := []struct {
		name, in, err string
	}{
		{"base64", `<service-group><name>n</name><service><type>_http._tcp</type><port>1</port>` +
			`<txt-record value-format="binary-base64">k=AAE=</txt-record></service></service-group>`, ""},
		{"two names", `<service-group><name>a</name><name>b</name></service-group>`,
			"x:1: more than one <name>\nx:1: the service group has no <service>"},
		{"two ports", `<service-group><name>a</name><service><type>_a._tcp</type><port>1</port><port>2</port></service></service-group>`,
			"x:1: more than one <port> in <service>"},
		{"trailing element", `<service-group><name>a</name><service><type>_a._tcp</type><port>1</port></service></service-group><x/>`,
			"x:1: <x> after </service-group>"},
		{"text in group ignored", `<service-group>hello<name>n</name><service>ignored<type>_http._tcp</type><port>1</port>` +
			`<txt-record value-format="binary-hex">k=0001</txt-record></service></service-group>`, ""},
		{"nested in leaf", `<service-group><name>a<b/></name></service-group>`,
			"x:1: element <b> inside <name>\nx:1: the service group has no <service>"},
		{"bad wildcard", `<service-group><name replace-wildcards="maybe">a</name></service-group>`,
			"x:1: replace-wildcards is \"maybe\", not yes or no\nx:1: the service group has no <service>"},
		{"bad format", `<service-group><name>a</name><service><type>_a._tcp</type><port>1</port>` +
			`<txt-record value-format="rot13">k=v</txt-record></service></service-group>`,
			`x:1: txt-record: value-format "rot13" is not text, binary-hex or binary-base64`},
		{"long txt", `<service-group><name>a</name><service><type>_a._tcp</type><port>1</port><txt-record>` +
			strings.Repeat("v", 256) + `</txt-record></service></service-group>`, "x:1: txt-record is 256 bytes; a TXT string holds at most 255"},
		{"truncated", `<service-group><name>a</name><service>`, "x:1: XML: unexpected EOF"},
		{"too large", `<service-group><name>` + strings.Repeat("a", maxAvahiBytes) + `</name></service-group>`,
			"x: file larger than 1048576 bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ads, err := ParseAvahi(strings.NewReader(tc.in), "x", "h")
			if tc.err == "" {
				require.NoError(t, err)
				require.Len(t, ads, 1)
				assert.Equal(t, []string{"k=\x00\x01"}, ads[0].TXT)
				return
			}
			require.Error(t, err)
			assert.Equal(t, tc.err, err.Error())
			assert.ErrorIs(t, err, ErrAvahiSyntax)
		})
	}
}

// A bad element does not hide the rest of the file: every problem is
// reported with its line, and the services that parsed come back.
func TestParseAvahiKeepsGoing(t *testing.T) {
	in := `<?xml version="1.0" standalone='no'?>
<service-group>
  <name replace-wildcards="yes">Printer on %h</name>
  <colour>blue</colour>
  <service>
    <type>_ipp._tcp</type>
    <port>80800</port>
    <txt-record value-format="binary-hex">k=zz</txt-record>
  </service>
  <service>
    <type>_http._tcp</type>
    <port>80</port>
    <txt-record>path=/</txt-record>
  </service>
  <service protocol="ipx">
    <type>_ssh._tcp</type>
  </service>
</service-group>
`
	ads, err := ParseAvahi(strings.NewReader(in), "p.service", "lab1")
	require.Error(t, err)
	assert.Equal(t, strings.Join([]string{
		"p.service:4: unknown element <colour> in <service-group>",
		`p.service:7: port "80800" is not a number from 0 to 65535`,
		"p.service:8: txt-record: bad binary-hex value: encoding/hex: invalid byte: U+007A 'z'",
		`p.service:15: protocol is "ipx", not ipv4, ipv6 or any`,
		"p.service:15: <service> has no <port>",
	}, "\n"), err.Error())
	assert.ErrorIs(t, err, ErrAvahiSyntax)
	var ae *AvahiError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 4, ae.Line)
	require.Len(t, ads, 1, "the good service")
	assert.Equal(t, "Printer on lab1", ads[0].Instance)
	assert.Equal(t, "_http", ads[0].Service)
	assert.Equal(t, "p.service:10", ads[0].Origin)
}

// FuzzParseAvahi: arbitrary input never panics; success yields
// advertisements with a service label and an origin, and errors name the
// file.
func FuzzParseAvahi(f *testing.F) {
	for _, sub := range []string{"good", "bad"} {
		files, _ := filepath.Glob(filepath.Join(testutil.Testdata("mdns", "avahi", sub), "*.service"))
		for _, p := range files {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ads, err := ParseAvahi(bytes.NewReader(b), "f.service", "h")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.service") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if len(ads) == 0 {
			t.Fatal("no error and no advertisement")
		}
		for _, a := range ads {
			if a.Service == "" || !strings.HasPrefix(a.Origin, "f.service:") {
				t.Fatalf("incomplete advertisement %+v", a)
			}
		}
	})
}

// TestParseAvahiNameAsWritten: the name is published as written, so a
// line break inside <name> reaches the instance-name rule.
func TestParseAvahiNameAsWritten(t *testing.T) {
	in := "<service-group><name>\n  Printer\n</name><service><type>_ipp._tcp</type><port>631</port></service></service-group>"
	ads, err := ParseAvahi(strings.NewReader(in), "x", "h")
	require.NoError(t, err)
	require.Len(t, ads, 1)
	assert.Equal(t, "\n  Printer\n", ads[0].Instance)
	fs := NewValidator(testSnapshot(t), Policy{}).Validate(ads[0])
	assert.Equal(t, []want{{RuleInstanceName, SeverityError, `"\n  Printer\n"`}}, reduce(fs))
}
