package resolver_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/internal/testutil"
	"github.com/svcreg/svcreg/registry"
	"github.com/svcreg/svcreg/resolver"
)

// ixfrSnapshot is the first four seeds plus n added registrations, so
// that each step changes a few names and the rest of the zone stays.
func ixfrSnapshot(t *testing.T, n int) *registry.Snapshot {
	t.Helper()
	var srcs []*registry.Source
	for i := range 4 {
		src, err := registry.LoadFile(context.Background(), seedPath(i), "")
		require.NoError(t, err)
		srcs = append(srcs, src)
	}
	var csv strings.Builder
	csv.WriteString("Service Name,Port Number,Transport Protocol,Description,Assignee,Contact,Registration Date,Modification Date,Reference,Service Code,Unauthorized Use Reported,Assignment Notes\n")
	for i := range n {
		fmt.Fprintf(&csv, "svcreg-ixfr-%d,%d,tcp,Added at step %d,[x],[x],2030-01-01,,,,,\n", i, 39000+i, i)
	}
	if n > 0 {
		added, err := registry.Parse(strings.NewReader(csv.String()), "added.csv", registry.FormatCSV)
		require.NoError(t, err)
		srcs = append(srcs, added)
	}
	snap, err := registry.Build(srcs...)
	require.NoError(t, err)
	return snap
}

// TestSystemSecondariesIXFR: Knot and NSD secondaries follow a sequence
// of changes by IXFR (svcreg's log says which client got a difference,
// and Knot's own log says it received one), through a restart of
// svcreg between two changes; after a restart with a journal too small
// to hold a change, the next IXFR gets the whole zone and both follow
// it as well. Each step ends with both answering like svcreg.
func TestSystemSecondariesIXFR(t *testing.T) {
	knotd := testutil.RequireTool(t, "knotd", "knot")
	nsd := testutil.RequireTool(t, "nsd", "nsd")

	knotPort, nsdPort := testutil.FreePort(t), testutil.FreePort(t)
	knotAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(knotPort))
	nsdAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(nsdPort))
	svcAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(testutil.FreePort(t)))
	_, svcPort, _ := net.SplitHostPort(svcAddr)
	dir := t.TempDir()
	cfg := resolver.Config{Listen: []string{svcAddr}, Notify: []string{knotAddr, nsdAddr},
		SerialFile: filepath.Join(dir, "zone.serial"), JournalFile: filepath.Join(dir, "zone.journal")}

	// start runs svcreg on svcAddr with cfg and snap; the returned stop
	// shuts it down (the test's cleanup does too).
	start := func(cfg resolver.Config, snap *registry.Snapshot) (*resolver.Server, *sysLog, *prometheus.Registry, func()) {
		t.Helper()
		logs := &sysLog{}
		reg := prometheus.NewRegistry()
		srv, err := resolver.New(cfg, slog.New(slog.NewTextHandler(logs, nil)), reg)
		require.NoError(t, err)
		require.NoError(t, srv.SetSnapshot(context.Background(), snap))
		require.NoError(t, srv.Start(context.Background()))
		var once sync.Once
		stop := func() {
			once.Do(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				assert.NoError(t, srv.Shutdown(ctx))
			})
		}
		t.Cleanup(func() {
			stop()
			if t.Failed() {
				t.Logf("svcreg log:\n%s", logs.String())
			}
		})
		return srv, logs, reg, stop
	}

	snap := ixfrSnapshot(t, 0)
	srv, logs, reg, stop := start(cfg, snap)

	// Knot transfers from 127.0.0.2, NSD from 127.0.0.1: svcreg's log
	// tells them apart.
	knotDir := t.TempDir()
	knotLog := sysStartProcess(t, "knotd", knotd, "-c", knotSecondaryConf(t, knotDir, knotPort, svcPort, "127.0.0.2", "", ""))
	nsdDir := t.TempDir()
	nsdConf := nsdSecondaryConf(t, nsdDir, nsdPort, "127.0.0.1@"+svcPort+" NOKEY", "", "NOKEY")
	sysStartProcess(t, "nsd", nsd, "-d", "-c", nsdConf)
	t.Cleanup(func() {
		if t.Failed() {
			if b, err := os.ReadFile(filepath.Join(nsdDir, "nsd.log")); err == nil {
				t.Logf("nsd.log:\n%s", b)
			}
		}
	})

	follow := func(step string, snap *registry.Snapshot, serial uint32) {
		t.Helper()
		sysWaitSerial(t, knotAddr, serial, 30*time.Second)
		sysWaitSerial(t, nsdAddr, serial, 30*time.Second)
		want, err := resolver.ZoneRRs(snap, resolver.Config{})
		require.NoError(t, err)
		qs := sysSample(want, 60, 3)
		for _, rr := range want {
			if strings.Contains(rr.Header().Name, "svcreg-ixfr-") {
				qs = append(qs, sysQuestion{rr.Header().Name, rr.Header().Rrtype})
			}
		}
		sysCompareSample(t, knotAddr, srv.Addrs()[0].String(), qs)
		sysCompareSample(t, nsdAddr, srv.Addrs()[0].String(), qs)
		t.Logf("%s: Knot and NSD at serial %d, answering like svcreg", step, serial)
	}
	// transferred counts svcreg's "zone transferred" lines of a kind for
	// a client.
	transferred := func(logs *sysLog, kind, client string) int {
		return strings.Count(logs.String(), "kind="+kind+" client="+client+" ")
	}
	follow("start", snap, srv.Serial())

	for step := 1; step <= 3; step++ {
		if step == 2 {
			// svcreg restarts between two changes, on its serial and
			// journal files.
			stop()
			srv, logs, reg, stop = start(cfg, snap)
		}
		snap = ixfrSnapshot(t, step)
		require.NoError(t, srv.SetSnapshot(context.Background(), snap))
		follow(fmt.Sprintf("change %d", step), snap, srv.Serial())
		require.Eventually(t, func() bool {
			return transferred(logs, "ixfr", "127.0.0.2") >= 1 && transferred(logs, "ixfr", "127.0.0.1") >= 1
		}, 10*time.Second, 50*time.Millisecond, "change %d: both secondaries got a difference", step)
	}
	assert.Contains(t, knotLog.String(), "IXFR, incoming", "Knot's log shows the incremental transfers")
	v, _ := rcMetric(t, reg, "svcreg_dns_transfers_total", map[string]string{"kind": "ixfr"})
	assert.Positive(t, v)

	// A journal too small for any change: the next IXFR is answered with
	// the whole zone, which both secondaries take.
	stop()
	small := cfg
	small.JournalMaxBytes = 64
	srv, logs, _, _ = start(small, snap)
	snap = ixfrSnapshot(t, 4)
	require.NoError(t, srv.SetSnapshot(context.Background(), snap))
	follow("journal trimmed", snap, srv.Serial())
	assert.Positive(t, transferred(logs, "ixfr_full", "127.0.0.2"), "Knot's IXFR got the whole zone")
	assert.Positive(t, transferred(logs, "ixfr_full", "127.0.0.1"), "NSD's IXFR got the whole zone")
	assert.Zero(t, transferred(logs, "ixfr", "127.0.0.2")+transferred(logs, "ixfr", "127.0.0.1"))
}
