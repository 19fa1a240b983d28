package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/internal/testutil"
)

// resolverNetns is the network namespace of TestE2EResolvers: loopback
// only, so the resolvers' root-server priming goes nowhere.
const resolverNetns = "svcres1"

// TestE2EResolvers puts svcreg, serving the full IANA registry, behind the
// recursive resolvers operators run, each with its default limits and
// DNSSEC validation off for the zone: BIND 9 (forward zone), PowerDNS
// Recursor (forward-zones) and Knot Resolver (policy.STUB). Each must
// answer the SRV, TXT, PTR and enumeration questions the README shows.
// The enumeration is 100 types by default, what BIND's and PowerDNS's
// max-records-per-type accept; with the whole list (1,700 types) BIND
// answers SERVFAIL, which is why the default is what it is.
func TestE2EResolvers(t *testing.T) {
	testutil.RequireRoot(t)
	ip := testutil.RequireTool(t, "ip", "iproute2")
	named := testutil.RequireTool(t, "named", "bind9")
	pdns := testutil.RequireTool(t, "pdns_recursor", "pdns-recursor")
	kresd := testutil.RequireTool(t, "kresd", "knot-resolver")
	testutil.RequireTool(t, "dig", "bind9-dnsutils")
	bin := svcregBinary(t)
	iana := ianaXML(t)

	run := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
		return string(out), err
	}
	_, _ = run(ip, "netns", "del", resolverNetns) // a leftover of a killed run
	out, err := run(ip, "netns", "add", resolverNetns)
	require.NoError(t, err, out)
	t.Cleanup(func() {
		if out, err := run(ip, "netns", "del", resolverNetns); err != nil {
			t.Errorf("ip netns del: %v %s", err, out)
		}
	})
	out, err = run(ip, "netns", "exec", resolverNetns, "ip", "link", "set", "lo", "up")
	require.NoError(t, err, out)
	inNS := func(args ...string) *exec.Cmd {
		return exec.Command(ip, append([]string{"netns", "exec", resolverNetns}, args...)...)
	}
	dig := func(port int, args ...string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		full := append([]string{"netns", "exec", resolverNetns, "dig", "@127.0.0.1", "-p", strconv.Itoa(port),
			"+time=5", "+tries=2"}, args...)
		out, _ := exec.CommandContext(ctx, ip, full...).CombinedOutput()
		return string(out)
	}
	start := func(name string, cmd *exec.Cmd) *syncBuffer {
		t.Helper()
		logs := &syncBuffer{}
		cmd.Stdout, cmd.Stderr = logs, logs
		done := testutil.StartProcess(t, cmd, logs)
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("%s output:\n%s", name, logs.String())
			}
		})
		select {
		case err := <-done:
			t.Fatalf("%s exited at once: %v\n%s", name, err, logs.String())
		case <-time.After(300 * time.Millisecond):
		}
		return logs
	}
	waitAnswer := func(name string, port int) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(dig(port, "services.internal", "SOA"), "status: NOERROR") {
			require.True(t, time.Now().Before(deadline), "%s never answered on port %d", name, port)
			time.Sleep(200 * time.Millisecond)
		}
	}

	dir := t.TempDir()
	const svcPort, namedPort, pdnsPort, kresdPort, secondaryPort = 5300, 5301, 5302, 5303, 5304
	// The first instance also feeds a BIND secondary: transfers need the
	// TSIG key, NOTIFY is signed and leaves from 127.0.0.2, the only
	// address the secondary takes NOTIFY from.
	const tsigKey, tsigSecret = "transfer.services.internal.", "c3ZjcmVnLXRlc3Qtc2VjcmV0LTMyLWJ5dGVzLWxvbmc="
	cfg := filepath.Join(dir, "svcreg.yml")
	writeCfg := func(local string) {
		require.NoError(t, os.WriteFile(cfg, []byte(fmt.Sprintf(`registry:
  sources: [%q]
  cache_dir: %q
  watch: false
%s
dns:
  listen: ["127.0.0.1:%d"]
  notify: ["127.0.0.1:%d"]
  notify_source: 127.0.0.2
  tsig_keys:
    - {name: %s, algorithm: hmac-sha256, secret: %s}
  axfr_keys: [%s]
  notify_key: %s
http:
  listen: ["127.0.0.1:18053"]
`, iana, filepath.Join(dir, "cache"), local, svcPort, secondaryPort, tsigKey, tsigSecret, tsigKey, tsigKey)), 0o644))
	}
	writeCfg("")
	svcCmd := inNS(bin, "serve", "--config", cfg, "-q")
	start("svcreg", svcCmd)
	waitAnswer("svcreg", svcPort)
	// A second instance serving the whole enumeration, as zone all.internal.
	const allPort = 5310
	cfgAll := filepath.Join(dir, "svcreg-all.yml")
	require.NoError(t, os.WriteFile(cfgAll, []byte(fmt.Sprintf(`registry:
  sources: [%q]
  cache_dir: %q
  watch: false
dns:
  zone: all.internal.
  listen: ["127.0.0.1:%d"]
  enumerate_max_records: 0
  serial_file: %q
http:
  listen: ["127.0.0.1:18054"]
`, iana, filepath.Join(dir, "cache"), allPort, filepath.Join(dir, "all.serial"))), 0o644))
	start("svcreg (whole enumeration)", inNS(bin, "serve", "--config", cfgAll, "-q"))

	namedDir := filepath.Join(dir, "named")
	require.NoError(t, os.MkdirAll(namedDir, 0o755))
	namedConf := filepath.Join(namedDir, "named.conf")
	require.NoError(t, os.WriteFile(namedConf, []byte(fmt.Sprintf(`options {
	directory %q;
	pid-file %q;
	listen-on port %d { 127.0.0.1; };
	listen-on-v6 { none; };
	recursion yes;
	allow-query { any; };
	allow-recursion { any; };
	dnssec-validation no;
};
controls { };
zone "services.internal" {
	type forward;
	forward only;
	forwarders { 127.0.0.1 port %d; };
};
zone "all.internal" {
	type forward;
	forward only;
	forwarders { 127.0.0.1 port %d; };
};
`, namedDir, filepath.Join(namedDir, "named.pid"), namedPort, svcPort, allPort)), 0o644))
	start("named", inNS(named, "-g", "-4", "-c", namedConf))

	pdnsDir := filepath.Join(dir, "pdns")
	require.NoError(t, os.MkdirAll(pdnsDir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(pdnsDir, "recursor.conf"), []byte(fmt.Sprintf(
		"local-address=127.0.0.1\nlocal-port=%d\nforward-zones=services.internal=127.0.0.1:%d\ndnssec=off\nsocket-dir=%s\n",
		pdnsPort, svcPort, pdnsDir)), 0o644))
	start("pdns_recursor", inNS(pdns, "--config-dir="+pdnsDir, "--daemon=no", "--write-pid=no", "--disable-syslog"))

	kresdDir := filepath.Join(dir, "kresd")
	require.NoError(t, os.MkdirAll(kresdDir, 0o755))
	kresdConf := filepath.Join(kresdDir, "kresd.conf")
	require.NoError(t, os.WriteFile(kresdConf, []byte(fmt.Sprintf(`net.listen('127.0.0.1', %d, { kind = 'dns' })
trust_anchors.remove('.')
policy.add(policy.suffix(policy.STUB({'127.0.0.1@%d'}), {todname('services.internal.')}))
`, kresdPort, svcPort)), 0o644))
	start("kresd", inNS(kresd, "-n", "-c", kresdConf, kresdDir))

	for _, r := range []struct {
		name string
		port int
	}{{"BIND 9", namedPort}, {"PowerDNS Recursor", pdnsPort}, {"Knot Resolver", kresdPort}} {
		t.Run(r.name, func(t *testing.T) {
			waitAnswer(r.name, r.port)
			srv := dig(r.port, "+short", "_ipp._tcp.services.internal", "SRV")
			assert.Equal(t, "0 0 631 services.internal.", strings.TrimSpace(srv), "SRV")
			assert.Contains(t, dig(r.port, "+short", "_ipp._tcp.services.internal", "TXT"), `"name=ipp"`, "TXT")
			assert.Contains(t, dig(r.port, "+short", "_631._tcp.services.internal", "PTR"), "_ipp._tcp.services.internal.", "PTR")
			enum := dig(r.port, "_services._dns-sd._udp.services.internal", "PTR")
			assert.Contains(t, enum, "status: NOERROR", "enumeration")
			assert.Contains(t, enum, "ANSWER: 100,", "enumeration: 100 types")
			assert.Contains(t, enum, "_ipp._tcp.services.internal.", "enumeration: a profiled type")
		})
	}
	// Why the bound: the whole list is more than BIND takes by default.
	whole := dig(namedPort, "_services._dns-sd._udp.all.internal", "PTR")
	assert.Contains(t, whole, "status: SERVFAIL", "BIND with the whole enumeration")

	// A BIND secondary with TSIG, following NOTIFY from dns.notify_source.
	secDir := filepath.Join(dir, "secondary")
	require.NoError(t, os.MkdirAll(secDir, 0o755))
	secConf := filepath.Join(secDir, "named.conf")
	require.NoError(t, os.WriteFile(secConf, []byte(fmt.Sprintf(`key %q {
	algorithm hmac-sha256;
	secret %q;
};
options {
	directory %q;
	pid-file %q;
	listen-on port %d { 127.0.0.1; };
	listen-on-v6 { none; };
	recursion no;
	notify no;
};
controls { };
zone "services.internal" {
	type secondary;
	primaries port %d { 127.0.0.1 key %q; };
	file "services.internal.zone";
	allow-notify { 127.0.0.2; };
};
`, tsigKey, tsigSecret, secDir, filepath.Join(secDir, "named.pid"), secondaryPort, svcPort, tsigKey)), 0o644))
	secLog := start("named (secondary)", inNS(named, "-g", "-4", "-c", secConf))
	serialOf := func(port int) string {
		return strings.Fields(strings.TrimSpace(dig(port, "+short", "services.internal", "SOA")) + " x x x")[2]
	}
	want := serialOf(svcPort)
	deadline := time.Now().Add(30 * time.Second)
	for serialOf(secondaryPort) != want {
		require.True(t, time.Now().Before(deadline), "the BIND secondary never got serial %s", want)
		time.Sleep(200 * time.Millisecond)
	}
	// A change: a local addition and SIGHUP give a new serial, whose
	// NOTIFY the secondary follows at once (its refresh is 4 hours away).
	writeCfg(`  local:
    - {name: e2e-added, protocols: [tcp], port: 39999, description: added by the test}`)
	require.NoError(t, svcCmd.Process.Signal(syscall.SIGHUP))
	deadline = time.Now().Add(30 * time.Second)
	for serialOf(svcPort) == want {
		require.True(t, time.Now().Before(deadline), "svcreg never reloaded")
		time.Sleep(200 * time.Millisecond)
	}
	want = serialOf(svcPort)
	deadline = time.Now().Add(20 * time.Second)
	for serialOf(secondaryPort) != want {
		require.True(t, time.Now().Before(deadline), "the BIND secondary did not follow the NOTIFY to serial %s", want)
		time.Sleep(200 * time.Millisecond)
	}
	assert.Contains(t, dig(secondaryPort, "+short", "_e2e-added._tcp.services.internal", "SRV"), "39999")
	// The first transfer is the whole zone; the one after the change an
	// IXFR difference of a few records, TSIG-signed like the first.
	done := regexp.MustCompile(`Transfer completed: \d+ messages, (\d+) records`).FindAllStringSubmatch(secLog.String(), -1)
	require.GreaterOrEqual(t, len(done), 2, "two transfers in the BIND secondary's log")
	first, _ := strconv.Atoi(done[0][1])
	last, _ := strconv.Atoi(done[len(done)-1][1])
	assert.Greater(t, first, 50000, "the first transfer is the whole zone")
	assert.Less(t, last, 100, "the transfer after one change is an IXFR difference")
	// Unsigned, svcreg refuses the transfer.
	assert.Contains(t, dig(svcPort, "services.internal", "AXFR"), "Transfer failed")
}
