package resolver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

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

// rcSerialRun is one "process": a server with the serial file, fed the
// snapshots in order; it returns the serials served after each, and the
// metrics registry.
func rcSerialRun(t *testing.T, path string, snaps ...*registry.Snapshot) ([]uint32, *prometheus.Registry, *bytes.Buffer) {
	t.Helper()
	reg := prometheus.NewRegistry()
	var logs bytes.Buffer
	s, err := resolver.New(resolver.Config{Zone: rcZ, SerialFile: path},
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
