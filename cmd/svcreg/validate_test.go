package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/internal/testutil"
	"github.com/svcreg/svcreg/mdns"
)

// validateArgs pins the registry: the small services file plus the
// built-in table.
func validateArgs(args ...string) []string {
	return append([]string{"validate", "-q", "--services-file", filepath.Join("testdata", "default.services")}, args...)
}

func avahiFile(dir, name string) string {
	return testutil.Testdata("mdns", "avahi", dir, name)
}

func TestValidateExitStatus(t *testing.T) {
	good := []string{"_ipp._tcp", "--instance", "Office Printer", "--port", "631", "--txt", "txtvers=1", "--txt", "rp=ipp/print"}
	cases := []struct {
		name  string
		args  []string
		code  int
		rules []string // rules of the findings, in order
	}{
		{"good", good, exitOK, nil},
		{"good flags after type", []string{"--instance", "Office Printer", "_ipp._tcp", "--port", "631"}, exitOK, nil},
		{"port info below fail-on", []string{"_ipp._tcp", "--instance", "P", "--port", "8631"}, exitOK, []string{"port-mismatch"}},
		{"port info fail-on info", []string{"_ipp._tcp", "--instance", "P", "--port", "8631", "--fail-on", "info"}, exitNotFound,
			[]string{"port-mismatch"}},
		{"alias fail-on warning", []string{"_www._tcp", "--instance", "W", "--port", "80", "--fail-on", "warning"}, exitNotFound,
			[]string{"alias-name"}},
		{"alias fail-on error", []string{"_www._tcp", "--instance", "W", "--port", "80"}, exitOK, []string{"alias-name"}},
		// A profiled vendor type: the long name is a warning, and the
		// profile says what the type is.
		{"16 chars", []string{"_androidtvremote2._tcp", "--instance", "TV"}, exitOK, []string{"name-syntax", "unregistered"}},
		{"16 chars no profiles", []string{"_androidtvremote2._tcp", "--instance", "TV", "--profiles", "off"}, exitNotFound,
			[]string{"name-syntax", "unregistered"}},
		{"16 chars lowered", []string{"_androidtvremote2._tcp", "--instance", "TV", "--severity", "name-syntax=warning"}, exitOK,
			[]string{"name-syntax", "unregistered"}},
		{"16 chars off", []string{"_androidtvremote2._tcp", "--instance", "TV", "--severity", "name-syntax=off", "--fail-on", "warning",
			"--profiles", "off"}, exitNotFound, []string{"unregistered"}},
		{"disable list", []string{"_androidtvremote2._tcp", "--instance", "TV", "--disable", "name-syntax,unregistered", "--fail-on", "info"},
			exitOK, nil},
		{"fail-on none", []string{"_ipp._udp", "--instance", "", "--fail-on", "none"}, exitOK, []string{"proto-mismatch", "instance-name"}},
		{"bad txt", []string{"_ipp._tcp", "--instance", "P", "--txt", "=x", "--txt", "rp=a", "--txt", "RP=b", "--txt", "txtvers=1"},
			exitNotFound, []string{"txt-format", "txt-format", "txt-format"}},
		{"empty txt string", []string{"_ipp._tcp", "--instance", "P", "--txt", ""}, exitOK, nil},
		{"subtypes", []string{"_ipp._tcp", "--instance", "P", "--subtype", "_universal", "--subtype", "_colour"}, exitOK, []string{"subtype"}},
		{"proto label", []string{"_ipp._sctp.local", "--instance", "P"}, exitNotFound, []string{"proto-label"}},
		{"no srv target check offline", []string{"_ipp._tcp", "--instance", "P", "--host", "printer.local", "--port", "631"}, exitOK, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := cli(t, validateArgs(append([]string{"--json"}, tc.args...)...)...)
			assert.Equal(t, tc.code, code, stderr)
			assert.Empty(t, stderr)
			var got []string
			for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
				if line == "" {
					continue
				}
				var f mdns.Finding
				require.NoError(t, json.Unmarshal([]byte(line), &f), line)
				assert.Equal(t, "command line", f.Origin)
				got = append(got, f.Rule)
			}
			assert.Equal(t, tc.rules, got)
		})
	}
}

func TestValidateUsage(t *testing.T) {
	cases := []struct {
		name string
		args []string
		msg  string
	}{
		{"no type", []string{"--instance", "x"}, "no service TYPE given"},
		{"two types", []string{"_a._tcp", "_b._tcp", "--instance", "x"}, "one service TYPE expected, got 2 arguments"},
		{"no instance", []string{"_ipp._tcp"}, "--instance is required"},
		{"bad port", []string{"_ipp._tcp", "--instance", "x", "--port", "70000"}, `"70000" is not a port from 0 to 65535`},
		{"unknown rule", []string{"_ipp._tcp", "--instance", "x", "--disable", "nosuch"}, "unknown rule: nosuch"},
		{"bad level", []string{"_ipp._tcp", "--instance", "x", "--severity", "ttl=loud"}, `unknown severity "loud"`},
		{"bad fail-on", []string{"_ipp._tcp", "--instance", "x", "--fail-on", "always"}, `unknown severity "always"`},
		{"avahi with flags", []string{"--avahi", "--instance", "x", "f.service"}, "--instance does not apply to --avahi files"},
		{"avahi without files", []string{"--avahi"}, "--avahi needs at least one FILE"},
		{"hostname without avahi", []string{"_ipp._tcp", "--instance", "x", "--hostname", "h"}, "--hostname applies only to --avahi"},
		{"missing file", []string{"--avahi", "/nonexistent/x.service"}, "open /nonexistent/x.service: no such file or directory"},
		{"bad avahi file", []string{"--avahi", avahiFile("bad", "bad-port.service")}, `bad-port.service:6: port "80800" is not a number`},
		{"bad registry", []string{"_ipp._tcp", "--instance", "x", "--registry", "/nonexistent/reg.xml"}, "/nonexistent/reg.xml"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := cli(t, validateArgs(tc.args...)...)
			assert.Equal(t, exitUsage, code)
			assert.Contains(t, stderr, tc.msg)
		})
	}
}

func TestValidateConfig(t *testing.T) {
	base := []string{"_acme-sync._tcp", "--instance", "A", "--port", "7421", "--txt", "txtvers=1", "--txt", "colour=1",
		"--subtype", "_backup", "--json", "--fail-on", "info"}
	cfg := filepath.Join("testdata", "validate-config.yml")
	cases := []struct {
		name  string
		args  []string
		code  int
		rules []string
	}{
		{"without config", nil, exitNotFound, []string{"unregistered"}},
		{"local additions and rules", []string{"--config", cfg}, exitNotFound, []string{"txt-unknown-key"}},
		{"flag turns a rule back on", []string{"--config", cfg, "--severity", "port-mismatch=error"}, exitNotFound,
			[]string{"port-mismatch", "txt-unknown-key"}},
		{"flag disables", []string{"--config", cfg, "--disable", "txt-unknown-key"}, exitOK, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := cli(t, validateArgs(append(append([]string{}, base...), tc.args...)...)...)
			assert.Equal(t, tc.code, code, stderr)
			var got []string
			for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
				if line == "" {
					continue
				}
				var f mdns.Finding
				require.NoError(t, json.Unmarshal([]byte(line), &f), line)
				got = append(got, f.Rule)
			}
			assert.Equal(t, tc.rules, got)
		})
	}
	// The file's levels: name-syntax lowered to warning.
	stdout, _, code := cli(t, validateArgs("--config", cfg, "--json", "_androidtvremote2._tcp", "--instance", "TV")...)
	assert.Equal(t, exitOK, code)
	assert.Contains(t, stdout, `"rule":"name-syntax","severity":"warning"`)

	_, stderr, code := cli(t, validateArgs("--config", "/nonexistent/svcreg.yml", "_ipp._tcp", "--instance", "x")...)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "/nonexistent/svcreg.yml")
}

func TestValidateTableGolden(t *testing.T) {
	stdout, stderr, code := cli(t, validateArgs("_androidtvremote2._tcp", "--instance", "Bad\tKeys", "--port", "6466",
		"--txt", "=x", "--txt", "a=1", "--txt", "A=2", "--subtype", "_foo")...)
	require.Equal(t, exitNotFound, code, stderr)
	golden(t, "validate_table.golden", stdout)

	stdout, _, code = cli(t, validateArgs("_ipp._tcp", "--instance", "Office Printer", "--port", "631")...)
	require.Equal(t, exitOK, code)
	assert.Equal(t, "no findings\n", stdout)
}

func TestValidateAvahi(t *testing.T) {
	// Relative to the package directory, so that the golden file holds
	// the same paths in every checkout.
	dir := filepath.Join("..", "..", "testdata", "mdns", "avahi", "good")
	stdout, stderr, code := cli(t, validateArgs("--avahi", "--hostname", "myhost",
		filepath.Join(dir, "printer.service"), filepath.Join(dir, "bad-advert.service"))...)
	require.Equal(t, exitNotFound, code, stderr)
	golden(t, "validate_avahi.golden", stdout)

	stdout, _, code = cli(t, validateArgs("--avahi", "--json", "--fail-on", "warning", filepath.Join(dir, "ssh.service"))...)
	assert.Equal(t, exitOK, code)
	assert.Empty(t, stdout)

	// A directory is its *.service files in name order, as avahi-daemon
	// reads /etc/avahi/services.
	want, _, _ := cli(t, validateArgs("--avahi", "--json", "--hostname", "myhost",
		filepath.Join(dir, "bad-advert.service"), filepath.Join(dir, "printer.service"), filepath.Join(dir, "ssh.service"))...)
	stdout, stderr, code = cli(t, validateArgs("--avahi", "--json", "--hostname", "myhost", dir)...)
	assert.Equal(t, exitNotFound, code, stderr)
	assert.NotEmpty(t, want)
	assert.Equal(t, want, stdout)
	empty := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(empty, "README"), []byte("not a service file\n"), 0o644))
	_, stderr, code = cli(t, validateArgs("--avahi", empty)...)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, empty+": no *.service files in the directory")

	// A bad file among good ones: its error, the others' findings, exit 2.
	stdout, stderr, code = cli(t, validateArgs("--avahi", "--json", filepath.Join(dir, "bad-advert.service"),
		avahiFile("bad", "no-port.service"))...)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "no-port.service:4: <service> has no <port>")
	assert.Len(t, strings.Split(strings.TrimSpace(stdout), "\n"), 10)

	// A file with several bad elements: every problem with its line, and
	// the file's good service still validated.
	mixed := filepath.Join(t.TempDir(), "mixed.service")
	require.NoError(t, os.WriteFile(mixed, []byte(`<service-group>
  <name>Mixed</name>
  <service><type>_ipp._tcp</type><port>x</port></service>
  <service><type>_http._tcp</type><port>8080</port><colour/></service>
  <service><type>_workstation._tcp</type><port>9</port><txt-record>a=1</txt-record></service>
</service-group>
`), 0o644))
	stdout, stderr, code = cli(t, validateArgs("--avahi", mixed)...)
	assert.Equal(t, exitUsage, code)
	assert.Equal(t, "svcreg validate: "+mixed+`:3: port "x" is not a number from 0 to 65535`+"\n"+
		"svcreg validate: "+mixed+":4: unknown element <colour> in <service>\n", stderr)
	assert.Contains(t, stdout, mixed+":5")
	assert.Contains(t, stdout, "txt-keys-none")
	assert.Contains(t, stdout, "(in the 1 service that parsed; services with the errors above were not validated)")

	// Nothing readable: no table (and no "no findings"), exit 2.
	stdout, stderr, code = cli(t, validateArgs("--avahi", avahiFile("bad", "no-port.service"))...)
	assert.Equal(t, exitUsage, code)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "no-port.service:4")
}

func TestRules(t *testing.T) {
	stdout, stderr, code := cli(t, "rules")
	require.Equal(t, exitOK, code, stderr)
	golden(t, "rules.golden", stdout)

	stdout, _, code = cli(t, "rules", "--json")
	require.Equal(t, exitOK, code)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	want := mdns.Rules()
	require.Len(t, lines, len(want))
	for i, line := range lines {
		var r mdns.Rule
		require.NoError(t, json.Unmarshal([]byte(line), &r))
		assert.Equal(t, want[i], r)
	}
	_, _, code = cli(t, "rules", "extra")
	assert.Equal(t, exitUsage, code)
}
