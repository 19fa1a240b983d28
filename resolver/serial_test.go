package resolver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/registry"
	"github.com/svcreg/svcreg/resolver"
)

// rcServicesSnap builds a snapshot from services-file text; updated, when
// set, is the registry date (so the date serial is updated as YYYYMMDD00).
func rcServicesSnap(t testing.TB, text, updated string) *registry.Snapshot {
	t.Helper()
	src, err := registry.ParseServices(strings.NewReader(text), "services")
	require.NoError(t, err)
	src.Updated = updated
	snap, err := registry.Build(src)
	require.NoError(t, err)
	return snap
}

const (
	rcSvcA = "alpha 1111/tcp\n"
	rcSvcB = rcSvcA + "bravo 2222/tcp\n"
	rcSvcC = rcSvcB + "charlie 3333/tcp\n"
)

// rcSerialRun is one "process" under the increment policy, whose serials
// the serial-file tests can name: a server with the serial file, fed the
// snapshots in order; it returns the serials served after each, and the
// metrics registry.
func rcSerialRun(t *testing.T, path string, snaps ...*registry.Snapshot) ([]uint32, *prometheus.Registry, *bytes.Buffer) {
	t.Helper()
	return rcSerialRunPolicy(t, resolver.SerialIncrement, path, snaps...)
}

// rcSerialRunPolicy is rcSerialRun under the given serial policy.
func rcSerialRunPolicy(t *testing.T, policy, path string, snaps ...*registry.Snapshot) ([]uint32, *prometheus.Registry, *bytes.Buffer) {
	t.Helper()
	reg := prometheus.NewRegistry()
	var logs bytes.Buffer
	s, err := resolver.New(resolver.Config{Zone: rcZ, SerialFile: path, SerialPolicy: policy},
		slog.New(slog.NewTextHandler(&logs, nil)), reg)
	require.NoError(t, err)
	defer func() { _ = s.Shutdown(context.Background()) }()
	var out []uint32
	for _, snap := range snaps {
		require.NoError(t, s.SetSnapshot(context.Background(), snap))
		out = append(out, s.Serial())
		// What is served is what Serial says.
		r := rcQuery(s, rcMsg(rcZ, dns.TypeSOA, 0), false, "127.0.0.1:5353").msgs[0]
		require.Len(t, r.Answer, 1)
		assert.Equal(t, s.Serial(), r.Answer[0].(*dns.SOA).Serial)
	}
	return out, reg, &logs
}

// rcSerialFile reads the serial file as JSON.
func rcSerialFile(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m), "%s", b)
	return m
}

// TestSerialFileRestart: the serial never goes backwards across
// restarts. Each case runs a first process over some snapshots, then a
// second one over others, with one serial file.
func TestSerialFileRestart(t *testing.T) {
	undated := func(s string) func(testing.TB) *registry.Snapshot {
		return func(t testing.TB) *registry.Snapshot { return rcServicesSnap(t, s, "") }
	}
	dated := func(s, d string) func(testing.TB) *registry.Snapshot {
		return func(t testing.TB) *registry.Snapshot { return rcServicesSnap(t, s, d) }
	}
	type snapFn = func(testing.TB) *registry.Snapshot
	for _, tc := range []struct {
		name          string
		first, second []snapFn
		want1, want2  []uint32
	}{
		{"same data keeps the serial", []snapFn{undated(rcSvcA), undated(rcSvcB)}, []snapFn{undated(rcSvcB)},
			[]uint32{1, 2}, []uint32{2}},
		{"changed data goes past the file", []snapFn{undated(rcSvcA), undated(rcSvcB)}, []snapFn{undated(rcSvcC)},
			[]uint32{1, 2}, []uint32{3}},
		// The daemon-2 scenario: A -> B (2), restart on B, then C must
		// not be 2 again.
		{"restart then reload", []snapFn{undated(rcSvcA), undated(rcSvcB)}, []snapFn{undated(rcSvcB), undated(rcSvcC)},
			[]uint32{1, 2}, []uint32{2, 3}},
		{"back to older data is still newer", []snapFn{undated(rcSvcA), undated(rcSvcB)}, []snapFn{undated(rcSvcA)},
			[]uint32{1, 2}, []uint32{3}},
		{"dated: file above the date serial", []snapFn{dated(rcSvcA, "2026-11-20"), dated(rcSvcB, "2026-11-20"), dated(rcSvcC, "2026-11-20")},
			[]snapFn{dated(rcSvcA, "2026-11-20")},
			[]uint32{2026112000, 2026112001, 2026112002}, []uint32{2026112003}},
		{"dated: a newer date wins", []snapFn{dated(rcSvcA, "2026-11-20"), dated(rcSvcB, "2026-11-20")},
			[]snapFn{dated(rcSvcB, "2026-11-27")},
			[]uint32{2026112000, 2026112001}, []uint32{2026112700}},
		{"dated: an older date is raised past the file", []snapFn{dated(rcSvcA, "2026-11-27")},
			[]snapFn{dated(rcSvcA, "2026-11-20")},
			[]uint32{2026112700}, []uint32{2026112701}},
		{"undated after dated", []snapFn{dated(rcSvcA, "2026-11-20")}, []snapFn{undated(rcSvcA)},
			[]uint32{2026112000}, []uint32{2026112001}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state", "zone.serial") // the directory is created
			build := func(fns []snapFn) []*registry.Snapshot {
				var out []*registry.Snapshot
				for _, f := range fns {
					out = append(out, f(t))
				}
				return out
			}
			got1, _, _ := rcSerialRun(t, path, build(tc.first)...)
			assert.Equal(t, tc.want1, got1, "first run")
			assert.Equal(t, float64(tc.want1[len(tc.want1)-1]), rcSerialFile(t, path)["serial"])
			got2, reg, _ := rcSerialRun(t, path, build(tc.second)...)
			assert.Equal(t, tc.want2, got2, "second run")
			st := rcSerialFile(t, path)
			assert.Equal(t, float64(tc.want2[len(tc.want2)-1]), st["serial"])
			assert.Equal(t, rcZ, st["zone"])
			assert.Len(t, st["digest"], 64)
			v, _ := rcMetric(t, reg, "svcreg_dns_serial_file_errors_total", nil)
			assert.Zero(t, v)

			fi, err := os.Stat(path)
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm())
			entries, err := os.ReadDir(filepath.Dir(path))
			require.NoError(t, err)
			assert.Len(t, entries, 1, "no temporary file left behind")
		})
	}
}

// TestSerialFileOff: without SerialFile nothing is kept, today's
// behaviour: a second process starts from the date serial again.
func TestSerialFileOff(t *testing.T) {
	for range 2 {
		got, _, _ := rcSerialRun(t, "", rcServicesSnap(t, rcSvcA, ""), rcServicesSnap(t, rcSvcB, ""))
		assert.Equal(t, []uint32{1, 2}, got)
	}
}

// TestSerialFileBad: a serial file that cannot be used is logged, counted
// and ignored (the date serial is served), then replaced by a good one.
func TestSerialFileBad(t *testing.T) {
	for _, tc := range []struct {
		name, content string
		counted       bool
	}{
		{"not JSON", "\x00garbage{", true},
		{"empty", "", true},
		{"no digest", `{"zone":"` + rcZ + `","serial":7}`, true},
		{"short digest", `{"zone":"` + rcZ + `","serial":7,"digest":"abcd"}`, true},
		{"too large", `{"zone":"` + rcZ + `","serial":7,"digest":"` + strings.Repeat("0", 8000) + `"}`, true},
		{"another zone", `{"zone":"other.example.","serial":4000000000,"digest":"` + strings.Repeat("ab", 32) + `"}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "zone.serial")
			require.NoError(t, os.WriteFile(path, []byte(tc.content), 0o644))
			got, reg, logs := rcSerialRun(t, path, rcServicesSnap(t, rcSvcA, "2026-11-20"))
			assert.Equal(t, []uint32{2026112000}, got)
			v, _ := rcMetric(t, reg, "svcreg_dns_serial_file_errors_total", map[string]string{"op": "read"})
			if tc.counted {
				assert.Equal(t, 1.0, v)
				assert.Contains(t, logs.String(), "DNS serial file ignored")
			} else {
				assert.Zero(t, v)
				assert.Contains(t, logs.String(), "for another zone")
			}
			st := rcSerialFile(t, path)
			assert.Equal(t, float64(2026112000), st["serial"], "the file is rewritten")
			assert.Equal(t, rcZ, st["zone"])
		})
	}
}

// TestSerialFileUnwritable: a serial file that cannot be written (its
// "directory" is a regular file, which stops root as well) is logged and
// counted; the zone is served and reloads go on, each trying again.
func TestSerialFileUnwritable(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "not-a-dir")
	require.NoError(t, os.WriteFile(blocker, nil, 0o644))
	path := filepath.Join(blocker, "zone.serial")
	got, reg, logs := rcSerialRun(t, path, rcServicesSnap(t, rcSvcA, ""), rcServicesSnap(t, rcSvcB, ""), rcServicesSnap(t, rcSvcB, ""))
	assert.Equal(t, []uint32{1, 2, 2}, got)
	v, _ := rcMetric(t, reg, "svcreg_dns_serial_file_errors_total", map[string]string{"op": "write"})
	assert.Equal(t, 3.0, v, "each SetSnapshot tries again")
	assert.Contains(t, logs.String(), "DNS serial file not written")
	// Reading it failed too (ENOTDIR is not "no file yet"): counted once.
	v, _ = rcMetric(t, reg, "svcreg_dns_serial_file_errors_total", map[string]string{"op": "read"})
	assert.Equal(t, 1.0, v)
}

// rcContentSerial is the serial the content policy gives snap in zone rcZ.
func rcContentSerial(t *testing.T, snap *registry.Snapshot) uint32 {
	t.Helper()
	rrs, err := resolver.ZoneRRs(snap, resolver.Config{Zone: rcZ})
	require.NoError(t, err)
	return rrs[0].(*dns.SOA).Serial
}

// rcDatedCSV is a one-registry CSV snapshot dated updated whose record
// was last modified on modified.
func rcDatedCSV(t *testing.T, updated, modified string) *registry.Snapshot {
	t.Helper()
	csv := "Service Name,Port Number,Transport Protocol,Description,Assignee,Contact,Registration Date,Modification Date,Reference,Service Code,Unauthorized Use Reported,Assignment Notes\n" +
		"alpha,1111,tcp,Alpha,,,2020-01-01," + modified + ",,,,\n"
	src, err := registry.ParseCSV(strings.NewReader(csv), "r.csv")
	require.NoError(t, err)
	src.Updated = updated
	snap, err := registry.Build(src)
	require.NoError(t, err)
	return snap
}

// TestSerialPolicyContent: under the default policy the serial is the
// data's date and two digits of the content digest, so two instances
// with the same data serve the same serial whatever each saw before;
// the guard still never lets it go down.
func TestSerialPolicyContent(t *testing.T) {
	const day = "2026-11-20"
	first := rcServicesSnap(t, rcSvcA, day)
	// Same-date edits whose content serials rise, and one that falls
	// below the last of them, picked from candidates so that the test
	// does not depend on what the digest of any one zone happens to be.
	var rising []*registry.Snapshot
	var falling *registry.Snapshot
	last := rcContentSerial(t, first)
	for i := 0; i < 200 && (len(rising) < 2 || falling == nil); i++ {
		snap := rcServicesSnap(t, rcSvcA+"svc"+strconv.Itoa(i)+" "+strconv.Itoa(4000+i)+"/tcp\n", day)
		c := rcContentSerial(t, snap)
		require.Equal(t, uint32(2026112000), c/100*100, "the registry date leads the serial")
		switch {
		case len(rising) < 2 && c > last:
			rising, last = append(rising, snap), c
		case len(rising) == 2 && falling == nil && c < last:
			falling = snap
		}
	}
	require.Len(t, rising, 2)
	require.NotNil(t, falling)

	// One instance sees every edit, one starts on the last, a third
	// restarts from its serial file: one serial.
	path := filepath.Join(t.TempDir(), "zone.serial")
	long, _, _ := rcSerialRunPolicy(t, resolver.SerialContent, path, first, rising[0], rising[1])
	fresh, _, _ := rcSerialRunPolicy(t, resolver.SerialContent, "", rising[1])
	restarted, _, _ := rcSerialRunPolicy(t, resolver.SerialContent, path, rising[1])
	want := rcContentSerial(t, rising[1])
	assert.Equal(t, want, long[2])
	assert.Equal(t, []uint32{want}, fresh)
	assert.Equal(t, []uint32{want}, restarted)
	// The increment policy counts this instance's history instead.
	inc, _, _ := rcSerialRunPolicy(t, resolver.SerialIncrement, "", first, rising[0], rising[1])
	assert.Equal(t, []uint32{2026112000, 2026112001, 2026112002}, inc)

	// An edit whose content serial is lower: previous + 1, and a warning
	// that instances may now differ.
	got, _, logs := rcSerialRunPolicy(t, resolver.SerialContent, "", rising[1], falling)
	assert.Equal(t, []uint32{want, want + 1}, got)
	assert.Contains(t, logs.String(), "DNS serial raised past the content serial")
	// Through the serial file as well.
	got, _, logs = rcSerialRunPolicy(t, resolver.SerialContent, path, falling)
	assert.Equal(t, []uint32{want + 1}, got)
	assert.Contains(t, logs.String(), "DNS serial raised past the content serial")
}

// TestSerialDataDate: the date part is the newest of the registry's date
// and its records' dates, but never a date in the future.
func TestSerialDataDate(t *testing.T) {
	for _, tc := range []struct {
		name, updated, modified string
		want                    uint32
	}{
		{"registry date", "2026-11-20", "2026-01-05", 20261120},
		{"a newer record date", "2026-11-20", "2026-11-25", 20261125},
		{"no registry date", "", "2025-06-30", 20250630},
		{"a record date in the future is left out", "2026-11-20", "2999-01-01", 20261120},
		{"only a registration date", "", "", 20200101},
	} {
		t.Run(tc.name, func(t *testing.T) {
			snap := rcDatedCSV(t, tc.updated, tc.modified)
			for _, policy := range []string{resolver.SerialContent, resolver.SerialIncrement} {
				got, _, _ := rcSerialRunPolicy(t, policy, "", snap)
				assert.Equal(t, tc.want, got[0]/100, policy)
			}
		})
	}
	// No date anywhere (a services file): 1, plus the digest's two
	// digits under the content policy.
	got, _, _ := rcSerialRunPolicy(t, resolver.SerialIncrement, "", rcServicesSnap(t, rcSvcA, ""))
	assert.Equal(t, []uint32{1}, got)
	got, _, _ = rcSerialRunPolicy(t, resolver.SerialContent, "", rcServicesSnap(t, rcSvcA, ""))
	assert.Less(t, got[0], uint32(101))
}

// TestSerialPolicyUnixtime: the serial is the time of the change, and a
// second change within that second still raises it.
func TestSerialPolicyUnixtime(t *testing.T) {
	before := uint32(time.Now().Unix())
	got, _, _ := rcSerialRunPolicy(t, resolver.SerialUnixtime, "",
		rcServicesSnap(t, rcSvcA, ""), rcServicesSnap(t, rcSvcB, ""), rcServicesSnap(t, rcSvcC, ""), rcServicesSnap(t, rcSvcC, ""))
	after := uint32(time.Now().Unix())
	require.Len(t, got, 4)
	assert.GreaterOrEqual(t, got[0], before)
	assert.Less(t, got[0], got[1])
	assert.Less(t, got[1], got[2])
	assert.Equal(t, got[2], got[3], "unchanged data keeps its serial")
	assert.LessOrEqual(t, got[2], after+2)
}

func TestSerialPolicyInvalid(t *testing.T) {
	_, err := resolver.New(resolver.Config{SerialPolicy: "dateserial"}, nil, prometheus.NewRegistry())
	require.ErrorIs(t, err, resolver.ErrConfig)
	assert.Contains(t, err.Error(), `serial_policy "dateserial": want content, increment or unixtime`)
}
