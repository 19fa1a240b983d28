package resolver_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/internal/testutil"
	"github.com/svcreg/svcreg/registry"
	"github.com/svcreg/svcreg/resolver"
)

// -update rewrites the golden files under testdata/ instead of comparing.
// Registered only once, in case another test file of this package
// registers the same flag.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files in testdata/")
	}
}

func zoneUpdating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// zoneSeeds are the five registry excerpts under the repository's
// testdata/seeds.
var zoneSeeds = []string{"000_405dc4897ff35f03.txt", "001_880d677b6a70875c.txt", "002_0411c9ada570d720.txt",
	"003_595dab137627a1b7.txt", "004_57b5c43415911c67.txt"}

// zoneSnapshot builds a snapshot from registry files.
func zoneSnapshot(t testing.TB, paths ...string) *registry.Snapshot {
	t.Helper()
	var srcs []*registry.Source
	for _, p := range paths {
		src, err := registry.LoadFile(context.Background(), p, "")
		require.NoError(t, err)
		srcs = append(srcs, src)
	}
	snap, err := registry.Build(srcs...)
	require.NoError(t, err)
	return snap
}

// zoneSnapshotFrom builds a snapshot from one CSV source held in a string.
func zoneSnapshotFrom(t testing.TB, csv string) *registry.Snapshot {
	t.Helper()
	src, err := registry.Parse(strings.NewReader(csv), "inline.csv", registry.FormatCSV)
	require.NoError(t, err)
	snap, err := registry.Build(src)
	require.NoError(t, err)
	return snap
}

// ianaSnapshotOnce builds the full IANA registry once per test binary:
// several tests need it, and under the race detector each build costs
// seconds.
var ianaSnapshotOnce = sync.OnceValues(func() (*registry.Snapshot, error) {
	p := filepath.Join(testutil.RepoRoot(), "..", "shared", "iana", "service-names-port-numbers.xml")
	src, err := registry.LoadFile(context.Background(), p, "")
	if err != nil {
		return nil, err
	}
	return registry.Build(src)
})

// ianaSnapshot is the snapshot of ../shared/iana/service-names-port-numbers.xml
// (skipped outside CI, failed under CI, when the file is missing).
func ianaSnapshot(t testing.TB) *registry.Snapshot {
	t.Helper()
	testutil.SharedFile(t, "iana", "service-names-port-numbers.xml")
	snap, err := ianaSnapshotOnce()
	require.NoError(t, err)
	return snap
}

func seedPath(n int) string { return testutil.Testdata("seeds", zoneSeeds[n]) }

// zoneCases are the registries the golden and round-trip tests print.
func zoneCases() []struct {
	golden string
	paths  []string
} {
	all := make([]string, len(zoneSeeds))
	for i := range zoneSeeds {
		all[i] = seedPath(i)
	}
	return []struct {
		golden string
		paths  []string
	}{
		{"zone_seed000.golden", []string{seedPath(0)}},
		{"zone_seed001.golden", []string{seedPath(1)}},
		{"zone_seed002.golden", []string{seedPath(2)}},
		{"zone_seed003.golden", []string{seedPath(3)}},
		{"zone_seed004.golden", []string{seedPath(4)}},
		{"zone_seeds_all.golden", all},
	}
}

func writeZoneString(t testing.TB, snap *registry.Snapshot, cfg resolver.Config) string {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, resolver.WriteZone(&buf, snap, cfg))
	return buf.String()
}

func TestWriteZoneGolden(t *testing.T) {
	for _, tc := range zoneCases() {
		t.Run(tc.golden, func(t *testing.T) {
			got := writeZoneString(t, zoneSnapshot(t, tc.paths...), resolver.DefaultConfig())
			path := filepath.Join("testdata", tc.golden)
			if zoneUpdating() {
				require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
				return
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "golden file missing; run go test ./resolver -run %s -update", t.Name())
			assert.Equal(t, string(want), got, "output differs from %s (go test -update rewrites it)", path)
		})
	}
}

// TestWriteZoneRoundTrip parses WriteZone's output back with miekg/dns's
// zone parser and compares every record, in wire form, with ZoneRRs: what
// the file says is exactly what the server serves by AXFR.
func TestWriteZoneRoundTrip(t *testing.T) {
	custom := resolver.DefaultConfig()
	custom.Zone = "svc.example."
	custom.TTL = 600
	custom.Target = "host.example."
	custom.NS = []string{"a.ns.example.", "b.ns.example."}
	cases := []struct {
		name string
		snap func(t *testing.T) *registry.Snapshot
		cfg  resolver.Config
	}{
		{"escapes", func(t *testing.T) *registry.Snapshot { return zoneSnapshotFrom(t, zoneEscapesCSV) }, resolver.DefaultConfig()},
		{"seeds_all_custom", func(t *testing.T) *registry.Snapshot {
			return zoneSnapshot(t, seedPath(0), seedPath(1), seedPath(2), seedPath(3), seedPath(4))
		}, custom},
		{"iana_xml", func(t *testing.T) *registry.Snapshot { return ianaSnapshot(t) }, resolver.DefaultConfig()},
	}
	for _, tc := range zoneCases() {
		paths := tc.paths
		cases = append(cases, struct {
			name string
			snap func(t *testing.T) *registry.Snapshot
			cfg  resolver.Config
		}{strings.TrimSuffix(tc.golden, ".golden"), func(t *testing.T) *registry.Snapshot { return zoneSnapshot(t, paths...) }, resolver.DefaultConfig()})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			snap := tc.snap(t)
			want, err := resolver.ZoneRRs(snap, tc.cfg)
			require.NoError(t, err)
			require.NotEmpty(t, want)
			out := writeZoneString(t, snap, tc.cfg)

			for i, line := range strings.Split(out, "\n") {
				require.Truef(t, zoneLineSafe(line), "line %d holds a byte outside printable ASCII: %q", i+1, line)
			}
			got := parseZoneText(t, out)
			require.Len(t, got, len(want), "records in the file vs ZoneRRs")
			_, isSOA := got[0].(*dns.SOA)
			assert.True(t, isSOA, "first record is %s, want SOA", got[0].Header())
			for i := range want {
				require.Equalf(t, wireRR(t, want[i]), wireRR(t, got[i]), "record %d: ZoneRRs %q, file %q", i, want[i].String(), got[i].String())
			}
		})
	}
}

// zoneEscapesCSV carries what a zone file must escape: UTF-8 (the XML's
// "FORTÉ"), quotes, backslashes, a semicolon and parentheses (comment
// and grouping characters outside quotes).
const zoneEscapesCSV = "Service Name,Port Number,Transport Protocol,Description,Assignee,Contact,Registration Date,Modification Date,Reference,Service Code,Unauthorized Use Reported,Assignment Notes\n" +
	"forte-vision,19221,tcp,FORTÉ Vision Monitoring platform,[FORTÉ],[FORTÉ],2016-11-10,,,,,\n" +
	"quoted,19222,tcp,\"a \"\"quoted\"\" back\\slash; (grouped) desc\",[x],[x],,,,,,\n" +
	"quoted,19222,udp,tab\there,[x],[x],,,,,,\n"

func TestWriteZoneEscapes(t *testing.T) {
	out := writeZoneString(t, zoneSnapshotFrom(t, zoneEscapesCSV), resolver.DefaultConfig())
	assert.Contains(t, out, `FORT\195\137 Vision Monitoring platform`)
	assert.Contains(t, out, `a \"quoted\" back\\slash; (grouped) desc`)
	assert.NotContains(t, out, "É")
	for i, line := range strings.Split(out, "\n") {
		assert.Truef(t, zoneLineSafe(line), "line %d: %q", i+1, line)
	}
	got := parseZoneText(t, out)
	var descs []string
	for _, rr := range got {
		if txt, ok := rr.(*dns.TXT); ok && strings.HasPrefix(txt.Hdr.Name, "_forte-vision._tcp.") {
			descs = append(descs, txt.Txt...)
		}
	}
	assert.Contains(t, descs, `desc=FORT\195\137 Vision Monitoring platform`, "miekg/dns keeps TXT strings in presentation form")
}

func TestWriteZoneHeader(t *testing.T) {
	cfg := resolver.DefaultConfig()
	cfg.Zone = "svc.example."
	cfg.TTL = 1234
	out := writeZoneString(t, zoneSnapshot(t, seedPath(0)), cfg)
	lines := strings.Split(out, "\n")
	assert.Contains(t, lines, "$ORIGIN svc.example.")
	assert.Contains(t, lines, "$TTL 1234")
	assert.Contains(t, out, "; registry updated 2024-12-20;")
	assert.Contains(t, out, "; source 000_405dc4897ff35f03.txt (text, updated 2024-12-20, 101 registry records)")
}

// zoneLineSafe reports whether s holds only printable ASCII and tabs.
func zoneLineSafe(s string) bool {
	return !strings.ContainsFunc(s, func(r rune) bool { return r != '\t' && (r < ' ' || r > '~') })
}

// parseZoneText parses a zone file with miekg/dns's zone parser.
func parseZoneText(t testing.TB, text string) []dns.RR {
	t.Helper()
	zp := dns.NewZoneParser(strings.NewReader(text), "", "zone")
	var rrs []dns.RR
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		rrs = append(rrs, rr)
	}
	require.NoError(t, zp.Err())
	return rrs
}

// wireRR is rr in uncompressed wire form, hex-encoded for readable diffs.
func wireRR(t testing.TB, rr dns.RR) string {
	t.Helper()
	buf := make([]byte, dns.Len(rr)+1) // Len is the uncompressed wire length
	n, err := dns.PackRR(rr, buf, 0, nil, false)
	require.NoError(t, err, "packing %s", rr)
	return hex.EncodeToString(buf[:n])
}

func BenchmarkWriteZoneIANA(b *testing.B) {
	snap := ianaSnapshot(b)
	cfg := resolver.DefaultConfig()
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := resolver.WriteZone(&buf, snap, cfg); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
}
