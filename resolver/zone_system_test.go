package resolver_test

// System tests against real DNS software: the zone file passes BIND's, NSD's and Knot's
// checkers; Unbound resolves through a stub-zone pointing at svcreg; Knot
// follows svcreg as an AXFR/NOTIFY secondary. Each needs its tool
// (testutil.RequireTool: skipped outside CI, failed under CI=true).

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/internal/testutil"
	"github.com/svcreg/svcreg/registry"
	"github.com/svcreg/svcreg/resolver"
)

// TestSystemZoneCheckers writes the zone of the seeds and of the full IANA
// XML and runs named-checkzone (integrity checks of in-zone names only,
// so no lookups of out-of-zone NS names), nsd-checkzone and Knot's zone check
// (kzonecheck where installed, else knotc zone-check on a Knot
// configuration that names the file) on it.
func TestSystemZoneCheckers(t *testing.T) {
	namedCheck := testutil.RequireTool(t, "named-checkzone", "bind9-utils")
	nsdCheck := testutil.RequireTool(t, "nsd-checkzone", "nsd")
	knotc := testutil.RequireTool(t, "knotc", "knot")
	kzonecheck, _ := exec.LookPath("kzonecheck")

	all := make([]string, len(zoneSeeds))
	for i := range zoneSeeds {
		all[i] = seedPath(i)
	}
	custom := resolver.Config{Zone: "svc.example.", NS: []string{"a.ns.example.", "ns1.svc.example."}, Target: "host.example."}
	seeds := func(t *testing.T) *registry.Snapshot { return zoneSnapshot(t, all...) }
	cases := []struct {
		name string
		snap func(t *testing.T) *registry.Snapshot
		cfg  resolver.Config
	}{
		{"seeds", seeds, resolver.Config{}},
		{"seeds_custom", seeds, custom},
		{"iana_xml", func(t *testing.T) *registry.Snapshot { return ianaSnapshot(t) }, resolver.Config{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			snap := tc.snap(t)
			zone := tc.cfg.Zone
			if zone == "" {
				zone = resolver.DefaultZone
			}
			dir := t.TempDir()
			file := filepath.Join(dir, "zone.db")
			var buf bytes.Buffer
			require.NoError(t, resolver.WriteZone(&buf, snap, tc.cfg))
			require.NoError(t, os.WriteFile(file, buf.Bytes(), 0o644))
			want, err := resolver.ZoneRRs(snap, tc.cfg)
			require.NoError(t, err)
			serial := want[0].(*dns.SOA).Serial

			out := sysRun(t, namedCheck, "-i", "local", "-k", "fail", "-n", "fail", zone, file)
			assert.Contains(t, out, fmt.Sprintf("loaded serial %d", serial))
			assert.Contains(t, out, "OK")
			assert.NotContains(t, out, "warning", "named-checkzone warned")

			out = sysRun(t, nsdCheck, zone, file)
			assert.Contains(t, out, "is ok")

			if kzonecheck != "" {
				out = sysRun(t, kzonecheck, "-o", zone, file)
				assert.NotContains(t, strings.ToLower(out), "error")
			}
			conf := sysKnotConf(t, dir, 0, fmt.Sprintf("zone:\n  - domain: %q\n    file: %q\n    semantic-checks: on\n", zone, file))
			out = sysRun(t, knotc, "-c", conf, "zone-check", zone)
			assert.NotContains(t, strings.ToLower(out), "error", "knotc zone-check")
			assert.NotContains(t, strings.ToLower(out), "warning", "knotc zone-check")
		})
	}
}

// TestSystemKnotLoadsZoneFile starts knotd as the primary for the zone
// file of the full registry and checks that it answers like svcreg for a
// sample of names: Knot loads and serves exactly what svcreg serves.
func TestSystemKnotLoadsZoneFile(t *testing.T) {
	knotd := testutil.RequireTool(t, "knotd", "knot")
	snap := ianaSnapshot(t)
	cfg := resolver.Config{}
	dir := t.TempDir()
	file := filepath.Join(dir, "zone.db")
	var buf bytes.Buffer
	require.NoError(t, resolver.WriteZone(&buf, snap, cfg))
	require.NoError(t, os.WriteFile(file, buf.Bytes(), 0o644))

	_, svcAddr := sysStartServer(t, snap, cfg)
	port := testutil.FreePort(t)
	conf := sysKnotConf(t, dir, port, fmt.Sprintf("zone:\n  - domain: %q\n    file: %q\n    zonefile-sync: -1\n    journal-content: none\n",
		resolver.DefaultZone, file))
	sysStartProcess(t, "knotd", knotd, "-c", conf)
	knotAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))

	want, err := resolver.ZoneRRs(snap, cfg)
	require.NoError(t, err)
	serial := want[0].(*dns.SOA).Serial
	sysWaitSerial(t, knotAddr, serial, 30*time.Second)
	sysCompareSample(t, knotAddr, svcAddr, sysSample(want, 300, 1))
}

// sysRun runs a command to completion and returns its combined output,
// failing the test on a non-zero exit.
func sysRun(t *testing.T, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	require.NoError(t, err, "%s %s:\n%s", name, strings.Join(args, " "), out)
	return string(out)
}

// sysKnotConf writes a Knot configuration with its own run directory and
// storage under dir, one worker of each kind, listening on 127.0.0.1@port
// (no listener when port is 0), followed by extra (remotes, ACLs, zones).
func sysKnotConf(t *testing.T, dir string, port int, extra string) string {
	t.Helper()
	run := filepath.Join(dir, "knot-run")
	storage := filepath.Join(dir, "knot-storage")
	require.NoError(t, os.MkdirAll(run, 0o755))
	require.NoError(t, os.MkdirAll(storage, 0o755))
	var b strings.Builder
	fmt.Fprintf(&b, "server:\n    rundir: %q\n    udp-workers: 1\n    tcp-workers: 1\n    background-workers: 1\n", run)
	if port != 0 {
		fmt.Fprintf(&b, "    listen: 127.0.0.1@%d\n", port)
	}
	b.WriteString("log:\n  - target: stderr\n    any: info\n")
	fmt.Fprintf(&b, "database:\n    storage: %q\n", storage)
	b.WriteString(extra)
	conf := filepath.Join(dir, "knot.conf")
	require.NoError(t, os.WriteFile(conf, []byte(b.String()), 0o644))
	return conf
}

// sysStartServer runs a resolver.Server for snap on a free loopback port
// (UDP and TCP) and returns it and its address.
func sysStartServer(t *testing.T, snap *registry.Snapshot, cfg resolver.Config) (*resolver.Server, string) {
	t.Helper()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(testutil.FreePort(t)))
	cfg.Listen = []string{addr}
	srv, err := resolver.New(cfg, slog.New(slog.NewTextHandler(sysTestWriter{t}, nil)), prometheus.NewRegistry())
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, srv.SetSnapshot(ctx, snap))
	require.NoError(t, srv.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		assert.NoError(t, srv.Shutdown(ctx))
	})
	return srv, addr
}

// sysTestWriter sends a logger's lines to t.Log, dropped once the test has
// finished (a late NOTIFY retry must not log into a finished test).
type sysTestWriter struct{ t *testing.T }

func (w sysTestWriter) Write(p []byte) (int, error) {
	defer func() { _ = recover() }() // t.Log after the test ends panics
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// sysLog collects a process's output for the failure report.
type sysLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *sysLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf.Len() < 1<<20 {
		l.buf.Write(p)
	}
	return len(p), nil
}

func (l *sysLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// sysStartProcess starts a daemon in the foreground; t.Cleanup kills it
// by PID and, when the test failed, logs what it printed.
func sysStartProcess(t *testing.T, label, name string, args ...string) *sysLog {
	t.Helper()
	out := &sysLog{}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = out, out
	// If the test binary dies without running its cleanups (a panic, a
	// -timeout), the kernel kills the daemon rather than orphaning it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	require.NoError(t, cmd.Start(), "starting %s", label)
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Errorf("%s (pid %d) did not exit after SIGKILL", label, cmd.Process.Pid)
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", label, out.String())
		}
	})
	return out
}

// sysExchange sends one query over netw ("udp" or "tcp") to addr.
func sysExchange(netw, addr, name string, qtype uint16) (*dns.Msg, error) {
	c := &dns.Client{Net: netw, Timeout: 2 * time.Second}
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.SetEdns0(1232, false)
	r, _, err := c.Exchange(m, addr)
	return r, err
}

// sysWaitSerial polls addr until it serves the default zone with the
// given SOA serial.
func sysWaitSerial(t *testing.T, addr string, serial uint32, timeout time.Duration) {
	t.Helper()
	zone := resolver.DefaultZone
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		r, err := sysExchange("udp", addr, zone, dns.TypeSOA)
		switch {
		case err != nil:
			last = err.Error()
		case r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0:
			last = "rcode " + dns.RcodeToString[r.Rcode]
		default:
			if soa, ok := r.Answer[0].(*dns.SOA); ok {
				if soa.Serial == serial {
					return
				}
				last = fmt.Sprintf("serial %d", soa.Serial)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not serve %s serial %d within %s (last: %s)", addr, zone, serial, timeout, last)
}

// sysQuestion is one name and type to compare between two servers.
type sysQuestion struct {
	Name  string
	Qtype uint16
}

// sysSample picks about n questions from a zone's records: the apex SOA
// and NS, the DNS-SD enumeration PTR set, every k-th RRset by owner and type (k chosen for n), and names
// that do not exist. Deterministic for a given zone.
func sysSample(rrs []dns.RR, n, salt int) []sysQuestion {
	seen := map[sysQuestion]bool{}
	var all []sysQuestion
	for _, rr := range rrs {
		q := sysQuestion{rr.Header().Name, rr.Header().Rrtype}
		if !seen[q] {
			seen[q] = true
			all = append(all, q)
		}
	}
	apex := rrs[0].Header().Name
	out := []sysQuestion{{apex, dns.TypeSOA}, {apex, dns.TypeNS}, {"_services._dns-sd._udp." + apex, dns.TypePTR}}
	step := max(1, len(all)/n)
	for i := salt % step; i < len(all); i += step {
		out = append(out, all[i])
	}
	out = append(out,
		sysQuestion{"_no-such-service-xyz._tcp." + apex, dns.TypeSRV},
		sysQuestion{"_no-such-service-xyz._udp." + apex, dns.TypeTXT},
		sysQuestion{"nope." + apex, dns.TypeA},
	)
	return out
}

// sysCompareSample asks both servers every question over TCP (no
// truncation differences) and compares RCODE, AA and the answer and
// authority sections as sets.
func sysCompareSample(t *testing.T, gotAddr, wantAddr string, qs []sysQuestion) {
	t.Helper()
	for _, q := range qs {
		want, err := sysExchange("tcp", wantAddr, q.Name, q.Qtype)
		require.NoError(t, err, "svcreg %s %s", q.Name, dns.TypeToString[q.Qtype])
		got, err := sysExchange("tcp", gotAddr, q.Name, q.Qtype)
		require.NoError(t, err, "%s %s %s", gotAddr, q.Name, dns.TypeToString[q.Qtype])
		what := q.Name + " " + dns.TypeToString[q.Qtype]
		assert.Equal(t, dns.RcodeToString[want.Rcode], dns.RcodeToString[got.Rcode], what)
		assert.Equal(t, want.Authoritative, got.Authoritative, "AA %s", what)
		sysAssertSame(t, sysRRStrings(want.Answer), sysRRStrings(got.Answer), "answer "+what)
		sysAssertSame(t, sysRRStrings(want.Ns), sysRRStrings(got.Ns), "authority "+what)
	}
}

// sysRRStrings renders RRs sorted, with owner names lowercased, for a
// set comparison.
func sysRRStrings(rrs []dns.RR) []string {
	out := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		c := dns.Copy(rr)
		c.Header().Name = strings.ToLower(c.Header().Name)
		out = append(out, c.String())
	}
	slices.Sort(out)
	return out
}

// sysAssertSame compares two sorted record lists and reports the first
// few records missing or extra rather than both lists in full (an answer
// may hold 1,700 records).
func sysAssertSame(t *testing.T, want, got []string, what string) {
	t.Helper()
	if slices.Equal(want, got) {
		return
	}
	var missing, extra []string
	for _, w := range want {
		if _, found := slices.BinarySearch(got, w); !found && len(missing) < 5 {
			missing = append(missing, w)
		}
	}
	for _, g := range got {
		if _, found := slices.BinarySearch(want, g); !found && len(extra) < 5 {
			extra = append(extra, g)
		}
	}
	t.Errorf("%s: want %d records, got %d; missing (first 5): %q; extra (first 5): %q", what, len(want), len(got), missing, extra)
}
