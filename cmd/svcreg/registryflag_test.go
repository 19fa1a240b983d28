package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/internal/testutil"
	"github.com/svcreg/svcreg/registry"
)

// -update rewrites the golden files under testdata/ instead of comparing.
// Registered only once, in case another test file of this package
// registers the same flag.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files in testdata/")
	}
}

func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if updating() {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "golden file missing; run go test ./cmd/svcreg -run %s -update", t.Name())
	assert.Equal(t, string(want), got, "output differs from %s (go test -update rewrites it)", path)
}

// cli runs svcreg in-process, as main does, and returns what it wrote and
// its exit status.
func cli(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), code
}

// seed is the path of one of the five seed excerpts.
func seed(n int) string {
	names := []string{"000_405dc4897ff35f03.txt", "001_880d677b6a70875c.txt", "002_0411c9ada570d720.txt",
		"003_595dab137627a1b7.txt", "004_57b5c43415911c67.txt"}
	return testutil.Testdata("seeds", names[n])
}

func ianaXML(t *testing.T) string {
	return testutil.SharedFile(t, "iana", "service-names-port-numbers.xml")
}

func TestRegistryFlagsLoad(t *testing.T) {
	parse := func(_ *testing.T, args ...string) (*registryFlags, error) {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(&bytes.Buffer{})
		var rf registryFlags
		rf.register(fs)
		return &rf, fs.Parse(args)
	}
	t.Run("repeatable --registry merges in order", func(t *testing.T) {
		rf, err := parse(t, "--registry", seed(0), "--registry", seed(3))
		require.NoError(t, err)
		var logs bytes.Buffer
		snap, err := rf.load(context.Background(), newCLILogger(&logs, false))
		require.NoError(t, err)
		require.Len(t, snap.Sources(), 2)
		assert.Equal(t, registry.FormatText, snap.Sources()[0].Format)
		assert.Equal(t, registry.FormatMarkdown, snap.Sources()[1].Format)
		assert.Len(t, rf.loaded, 2)
		assert.Contains(t, logs.String(), `level=INFO msg="registry: loaded" path=`+seed(0)+" format=text records=101 updated=2024-12-20 skipped_rows=0")
		assert.NotContains(t, logs.String(), "time=", "no timestamps on the command line")
	})
	t.Run("--format forces the format", func(t *testing.T) {
		rf, err := parse(t, "--format", "services", "--registry", seed(0))
		require.NoError(t, err)
		_, err = rf.load(context.Background(), nil)
		require.Error(t, err, "a text rendering read as a services file has no entries")
		assert.Contains(t, err.Error(), "loading "+seed(0)+": "+filepath.Base(seed(0))+":")
	})
	t.Run("unknown --format", func(t *testing.T) {
		_, err := parse(t, "--format", "yaml")
		require.Error(t, err)
		assert.Contains(t, err.Error(), `unknown format "yaml" (want xml, csv, text, markdown or services)`)
	})
	t.Run("--format without --registry", func(t *testing.T) {
		rf, err := parse(t, "--format", "xml")
		require.NoError(t, err)
		_, err = rf.load(context.Background(), nil)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "--format applies to --registry files")
	})
	t.Run("default: services file and built-in table, logged", func(t *testing.T) {
		rf, err := parse(t, "--services-file", filepath.Join("testdata", "default.services"))
		require.NoError(t, err)
		var logs bytes.Buffer
		snap, err := rf.load(context.Background(), newCLILogger(&logs, false))
		require.NoError(t, err)
		require.Len(t, snap.Sources(), 2)
		assert.Equal(t, "default.services", snap.Sources()[0].Name)
		assert.Equal(t, registry.BuiltinName, snap.Sources()[1].Name)
		assert.Equal(t, 1, rf.loaded[0].Skipped, "the ddp line")
		assert.Equal(t, filepath.Join("testdata", "default.services"), rf.loaded[0].Path)
		for _, want := range []string{
			`msg="registry: no --registry given, using the built-in default"`,
			`msg="registry: using the host's services file" path=testdata/default.services records=4 skipped_lines=1`,
			`msg="registry: using the built-in table of common DNS-SD service types"`,
		} {
			assert.Contains(t, logs.String(), want)
		}
	})
	t.Run("quiet logger keeps warnings", func(t *testing.T) {
		var logs bytes.Buffer
		l := newCLILogger(&logs, true)
		l.Info("hidden")
		l.Warn("shown")
		assert.Equal(t, "level=WARN msg=shown\n", logs.String())
	})
}

func TestParseInterspersed(t *testing.T) {
	cases := []struct {
		args []string
		pos  []string
		json bool
	}{
		{[]string{"http", "80"}, []string{"http", "80"}, false},
		{[]string{"--json", "http"}, []string{"http"}, true},
		{[]string{"http", "--json", "80"}, []string{"http", "80"}, true},
		{[]string{"http", "--", "--json"}, []string{"http", "--json"}, false},
		{[]string{"--", "-x"}, []string{"-x"}, false},
		{nil, nil, false},
	}
	for _, tc := range cases {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		j := fs.Bool("json", false, "")
		pos, err := parseInterspersed(fs, tc.args)
		require.NoError(t, err, "%q", tc.args)
		assert.Equal(t, tc.pos, pos, "%q", tc.args)
		assert.Equal(t, tc.json, *j, "%q", tc.args)
	}
}

// Unreadable input exits 2 with the file and line, for every command
// that loads the registry through registryFlags.
func TestRegistryFlagsBadInput(t *testing.T) {
	bad := func(name string) string { return filepath.Join("testdata", "bad", name) }
	cases := []struct {
		path string
		want string // regexp on stderr
	}{
		{bad("truncated.xml"), `loading testdata/bad/truncated\.xml: truncated\.xml:11: record 2: XML ends early`},
		{bad("wrong-header.csv"), `loading testdata/bad/wrong-header\.csv: wrong-header\.csv:1: CSV header`},
		{bad("empty.txt"), `loading testdata/bad/empty\.txt: empty\.txt:1: empty input`},
		{bad("garbage.bin"), `loading testdata/bad/garbage\.bin: garbage\.bin:1: unrecognised registry format: binary data`},
		{bad("missing.xml"), `loading testdata/bad/missing\.xml: open testdata/bad/missing\.xml: no such file or directory`},
		{"testdata", `loading testdata: .*is a directory`},
		// An endless stream of NULs is refused at once, not read.
		{"/dev/zero", `loading /dev/zero: zero:1: unrecognised registry format: binary data`},
	}
	for _, cmd := range []string{"lookup", "stats"} {
		for _, tc := range cases {
			t.Run(cmd+" "+tc.path, func(t *testing.T) {
				args := []string{cmd, "--registry", tc.path}
				if cmd == "lookup" {
					args = append(args, "http")
				}
				stdout, stderr, code := cli(t, args...)
				assert.Equal(t, exitUsage, code)
				assert.Empty(t, stdout)
				assert.Regexp(t, regexp.MustCompile(`(?m)^svcreg `+cmd+`: `+tc.want), stderr)
			})
		}
	}
}
