package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/internal/testutil"
)

// dnsdistNetns is the network namespace of TestE2EDnsdistOneSerial:
// loopback only, so nothing dnsdist might try to reach leaves it.
const dnsdistNetns = "svcdd1"

// TestE2EDnsdistOneSerial runs two svcreg primaries behind dnsdist, as
// docs/zone-secondaries.md tells operators to, and asks dnsdist for the
// SOA again and again: under the default serial policy every answer
// carries one serial, when both start, after both reload a change, when
// one restarts on its serial file, and when one is replaced by a fresh
// instance with no state at all, which only a serial made from the data
// can match (a counted serial differs there: the long-running primary
// counted a change the new one never saw).
func TestE2EDnsdistOneSerial(t *testing.T) {
	testutil.RequireRoot(t)
	ip := testutil.RequireTool(t, "ip", "iproute2")
	dnsdist := testutil.RequireTool(t, "dnsdist", "dnsdist")
	testutil.RequireTool(t, "dig", "bind9-dnsutils")
	bin := svcregBinary(t)
	seed := testutil.Testdata("seeds", "000_405dc4897ff35f03.txt")

	run := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
		return string(out), err
	}
	_, _ = run(ip, "netns", "del", dnsdistNetns) // a leftover of a killed run
	out, err := run(ip, "netns", "add", dnsdistNetns)
	require.NoError(t, err, out)
	t.Cleanup(func() {
		if out, err := run(ip, "netns", "del", dnsdistNetns); err != nil {
			t.Errorf("ip netns del: %v %s", err, out)
		}
	})
	out, err = run(ip, "netns", "exec", dnsdistNetns, "ip", "link", "set", "lo", "up")
	require.NoError(t, err, out)
	inNS := func(args ...string) *exec.Cmd {
		return exec.Command(ip, append([]string{"netns", "exec", dnsdistNetns}, args...)...)
	}

	dir := t.TempDir()
	const portA, portB, portLB = 5320, 5321, 5330
	// v1 has one local addition; v2 adds a second. Both keep the seed's
	// registry date, so only the content tells the serials apart.
	local := func(extra int) string {
		s := "  local:\n    - {name: acme-sync, port: \"7420\", description: ACME file synchroniser}\n"
		if extra >= 0 {
			s += fmt.Sprintf("    - {name: acme-extra%d, port: \"%d\", description: ACME extra}\n", extra, 7500+extra)
		}
		return s
	}
	writeCfg := func(name, state string, port int, localSection string) string {
		path := filepath.Join(dir, name+".yml")
		require.NoError(t, os.WriteFile(path, []byte(fmt.Sprintf(`registry:
  sources: [%q]
  cache_dir: %q
  watch: false
%sdns:
  listen: ["127.0.0.1:%d"]
  serial_file: %q
http:
  listen: ["127.0.0.1:%d"]
`, seed, filepath.Join(dir, "cache"), localSection, port, state, port+13000)), 0o644))
		return path
	}
	// zoneSerial is the serial svcreg zone prints for a config: what a
	// fresh instance serves.
	zoneSerial := func(cfg string) uint32 {
		t.Helper()
		out, err := run(bin, "zone", "--config", cfg, "-q")
		require.NoError(t, err, out)
		for _, l := range strings.Split(out, "\n") {
			if f := strings.Fields(l); len(f) >= 7 && f[3] == "SOA" {
				n, err := strconv.ParseUint(f[6], 10, 32)
				require.NoError(t, err, l)
				return uint32(n)
			}
		}
		t.Fatalf("no SOA in svcreg zone's output:\n%s", out)
		return 0
	}
	// A v2 whose content serial is above v1's, so that the primary that
	// reloads serves v2's content serial rather than v1's plus one: the
	// case of two serials from one date the docs describe.
	probe := writeCfg("probe", filepath.Join(dir, "probe.serial"), 1, local(-1))
	s1 := zoneSerial(probe)
	v2 := -1
	for i := 0; i < 12 && v2 < 0; i++ {
		writeCfg("probe", filepath.Join(dir, "probe.serial"), 1, local(i))
		if zoneSerial(probe) > s1 {
			v2 = i
		}
	}
	require.GreaterOrEqual(t, v2, 0, "no candidate change raised the content serial")

	type instance struct {
		cmd  *exec.Cmd
		done <-chan error
		logs *syncBuffer
	}
	start := func(name, cfg string) *instance {
		t.Helper()
		in := &instance{cmd: inNS(bin, "serve", "--config", cfg), logs: &syncBuffer{}}
		in.cmd.Stdout, in.cmd.Stderr = in.logs, in.logs
		in.done = testutil.StartProcess(t, in.cmd, in.logs)
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("%s output:\n%s", name, in.logs.String())
			}
		})
		return in
	}
	stop := func(in *instance) {
		t.Helper()
		require.NoError(t, in.cmd.Process.Signal(syscall.SIGTERM))
		select {
		case err := <-in.done:
			t.Logf("svcreg stopped: %v", err)
		case <-time.After(10 * time.Second):
			t.Fatal("svcreg did not stop on SIGTERM")
		}
	}
	// soas asks port n times in one dig run and returns the serials.
	soas := func(port, n int) []string {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		args := []string{"netns", "exec", dnsdistNetns, "dig", "@127.0.0.1", "-p", strconv.Itoa(port), "+time=2", "+tries=2"}
		for range n {
			args = append(args, "services.internal", "SOA", "+short")
		}
		out, _ := exec.CommandContext(ctx, ip, args...).CombinedOutput()
		var serials []string
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if f := strings.Fields(l); len(f) == 7 {
				serials = append(serials, f[2])
			}
		}
		return serials
	}
	waitSerial := func(port int, want uint32) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			got := soas(port, 1)
			if len(got) == 1 && got[0] == strconv.FormatUint(uint64(want), 10) {
				return
			}
			require.True(t, time.Now().Before(deadline), "port %d: serial %v, want %d", port, got, want)
			time.Sleep(200 * time.Millisecond)
		}
	}
	// oneSerial asks dnsdist 40 times: round robin sends half to each
	// primary, and every answer must carry want.
	oneSerial := func(step string, want uint32) {
		t.Helper()
		got := soas(portLB, 40)
		require.Len(t, got, 40, "%s: every query through dnsdist answered", step)
		slices.Sort(got)
		require.Equal(t, []string{strconv.FormatUint(uint64(want), 10)}, slices.Compact(got), "%s: one serial", step)
	}

	cfgA := writeCfg("a", filepath.Join(dir, "a.serial"), portA, local(-1))
	cfgB := writeCfg("b", filepath.Join(dir, "b.serial"), portB, local(-1))
	a, b := start("primary a", cfgA), start("primary b", cfgB)
	waitSerial(portA, s1)
	waitSerial(portB, s1)

	lbConf := filepath.Join(dir, "dnsdist.conf")
	require.NoError(t, os.WriteFile(lbConf, []byte(fmt.Sprintf(`setLocal("127.0.0.1:%d")
setACL({"127.0.0.0/8"})
setSecurityPollSuffix("")
newServer({address="127.0.0.1:%d", name="a", checkName="services.internal.", checkType="SOA", checkInterval=1, mustResolve=true})
newServer({address="127.0.0.1:%d", name="b", checkName="services.internal.", checkType="SOA", checkInterval=1, mustResolve=true})
setServerPolicy(roundrobin)
`, portLB, portA, portB)), 0o644))
	lbLogs := &syncBuffer{}
	lb := inNS(dnsdist, "--supervised", "--disable-syslog", "-C", lbConf)
	lb.Stdout, lb.Stderr = lbLogs, lbLogs
	lbDone := testutil.StartProcess(t, lb, lbLogs)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("dnsdist output:\n%s", lbLogs.String())
		}
	})
	select {
	case err := <-lbDone:
		t.Fatalf("dnsdist exited at once: %v\n%s", err, lbLogs.String())
	case <-time.After(500 * time.Millisecond):
	}
	waitSerial(portLB, s1)
	oneSerial("both started", s1)

	// Both reload a change.
	writeCfg("a", filepath.Join(dir, "a.serial"), portA, local(v2))
	writeCfg("b", filepath.Join(dir, "b.serial"), portB, local(v2))
	s2 := zoneSerial(cfgA)
	require.NotEqual(t, s1, s2)
	require.NoError(t, a.cmd.Process.Signal(syscall.SIGHUP))
	require.NoError(t, b.cmd.Process.Signal(syscall.SIGHUP))
	waitSerial(portA, s2)
	waitSerial(portB, s2)
	oneSerial("both reloaded", s2)

	// b restarts on its serial file.
	stop(b)
	b = start("primary b, restarted", cfgB)
	waitSerial(portB, s2)
	time.Sleep(2 * time.Second) // dnsdist's health check takes b back
	oneSerial("b restarted", s2)

	// b is replaced by a new instance with no state: no serial file and
	// nothing served before.
	stop(b)
	cfgFresh := writeCfg("fresh", filepath.Join(dir, "fresh", "zone.serial"), portB, local(v2))
	start("primary b, replaced", cfgFresh)
	waitSerial(portB, s2)
	time.Sleep(2 * time.Second)
	oneSerial("b replaced by a fresh instance", s2)
	stop(a)
}
