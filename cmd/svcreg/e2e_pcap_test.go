package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/internal/testutil"
)

// findingKeys reads scan --json output: one "severity rule instance type"
// line per finding, sorted, and the decoded objects.
func findingKeys(t *testing.T, out string) ([]string, []map[string]any) {
	t.Helper()
	var keys []string
	var objs []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var f map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &f), "%s", sc.Text())
		objs = append(objs, f)
		keys = append(keys, strings.Join([]string{f["severity"].(string), f["rule"].(string), f["instance"].(string), f["service_type"].(string)}, " "))
	}
	slices.Sort(keys)
	return keys, objs
}

// startCapture runs mdns-lab capture into file (tcpdump in the observer
// host, flushing every packet) until the returned function stops it.
func startCapture(t *testing.T, l *robustLab, file string) (stop func()) {
	t.Helper()
	capCmd := exec.Command(l.tool, "capture", file, "120")
	capCmd.Env = l.env
	var capErr bytes.Buffer
	capCmd.Stderr = &capErr
	require.NoError(t, capCmd.Start())
	// tcpdump stopped by SIGINT exits non-zero; its output is what counts.
	capDone := make(chan struct{})
	go func() {
		_ = capCmd.Wait()
		close(capDone)
	}()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		_ = capCmd.Process.Signal(syscall.SIGINT)
		select {
		case <-capDone:
		case <-time.After(15 * time.Second):
			_ = capCmd.Process.Kill()
			t.Error("tcpdump did not stop")
		}
	}
	t.Cleanup(stop)
	require.Eventually(t, func() bool {
		st, err := os.Stat(file)
		return err == nil && st.Size() >= 24
	}, 20*time.Second, 50*time.Millisecond, "tcpdump never wrote the pcap header: %s", &capErr)
	return stop
}

// startLiveScan runs svcreg scan in the lab's observer host for d
// (listening only, JSON findings) and waits until it has bound udp/5353.
// wait waits for the scan to end and returns its output; ctx bounds the
// scan and whatever the test runs beside it.
func startLiveScan(t *testing.T, l *robustLab, bin, registryPath string, d time.Duration) (ctx context.Context, wait func() string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d+90*time.Second)
	t.Cleanup(cancel)
	scan := exec.CommandContext(ctx, l.tool, "exec", bin, "scan", "--interface", "lab0", "--duration", d.String(), "--json",
		"--no-browse", "--fail-on", "none", "-q", "--registry", registryPath)
	scan.Env = l.env
	var out, errOut bytes.Buffer
	scan.Stdout, scan.Stderr = &out, &errOut
	require.NoError(t, scan.Start())
	require.Eventually(t, func() bool {
		procUDP, err := l.run(10*time.Second, "exec", "cat", "/proc/net/udp")
		return err == nil && strings.Contains(procUDP, ":14E9 ")
	}, 15*time.Second, 100*time.Millisecond, "the live scan never bound udp/5353")
	return ctx, func() string {
		t.Helper()
		require.NoError(t, scan.Wait(), "live scan: %s", &errOut)
		return out.String()
	}
}

// TestE2EScanPcapMatchesLive records the lab's mDNS traffic with tcpdump
// (mdns-lab capture) while a live scan listens and the test publishes a
// good printer, an advertisement with a broken TXT record and one it then
// withdraws; scan --pcap of the capture reports the same findings as the
// live scan did, each attributed to the sender's MAC and packets, and a
// capture cut short is reported with the findings before the cut.
func TestE2EScanPcapMatchesLive(t *testing.T) {
	l := newRobustLab(t, "svcpc1")
	testutil.RequireTool(t, "tcpdump", "tcpdump")
	bin := svcregBinary(t)
	iana := ianaXML(t)
	pcapFile := filepath.Join(t.TempDir(), "lan.pcap")

	stopCapture := startCapture(t, l, pcapFile)

	_, waitScan := startLiveScan(t, l, bin, iana, 25*time.Second)

	start := time.Now()
	for _, args := range [][]string{
		{"publish", "Good Printer", "_ipp._tcp", "631", "txtvers=1", "qtotal=1", "rp=ipp/print", "ty=Lab Printer",
			"pdl=application/pdf,image/urf", "UUID=564e4333-4c38-3442-3633-a45d36c0ffee"},
		{"publish", "Broken TXT", "_http._tcp", "8080", "=novalue", "path=/"},
		{"publish", "Short Lived", "_ssh._tcp", "22"},
		{"unpublish", "Short Lived", "_ssh._tcp"},
	} {
		_, err := l.run(60*time.Second, args...)
		require.NoError(t, err)
	}
	require.Less(t, time.Since(start), 19*time.Second, "publishing took too long for the 25 s scan")
	liveOut := waitScan()

	stopCapture()

	live, _ := findingKeys(t, liveOut)
	require.NotEmpty(t, live, "the live scan found nothing")
	stdout, stderr, code := cli(t, "scan", "--pcap", pcapFile, "--json", "--fail-on", "none", "--registry", iana)
	require.Equal(t, exitOK, code, stderr)
	replay, objs := findingKeys(t, stdout)
	assert.Equal(t, live, replay, "the capture's findings are the live scan's")
	assert.Contains(t, strings.Join(replay, "\n"), "error txt-format Broken TXT _http._tcp")
	assert.NotContains(t, strings.Join(replay, "\n"), "Short Lived", "withdrawn with a goodbye")
	for _, f := range objs {
		if f["instance"] == "" {
			continue
		}
		assert.Regexp(t, `^([0-9a-f]{2}:){5}[0-9a-f]{2}$`, f["mac"], "finding %v", f)
		assert.Greater(t, f["first_packet"], 0.0, "finding %v", f)
		assert.GreaterOrEqual(t, f["last_packet"], f["first_packet"], "finding %v", f)
	}
	assert.Contains(t, stderr, "packets=")

	// The table names the sender, its MAC and the packets.
	stdout, _, _ = cli(t, "scan", "--pcap", pcapFile, "--fail-on", "none", "-q", "--registry", iana)
	assert.Regexp(t, `(198\.18\.0\.1|\[fd42::1\]):5353 ([0-9a-f]{2}:){5}[0-9a-f]{2} packets? \d+`, stdout)

	// svcreg validate --pcap is the same check.
	stdout, stderr, code = cli(t, "validate", "--pcap", pcapFile, "--json", "--fail-on", "none", "-q", "--registry", iana)
	require.Equal(t, exitOK, code, stderr)
	validated, _ := findingKeys(t, stdout)
	assert.Equal(t, replay, validated)
	_, stderr, code = cli(t, "validate", "--pcap", pcapFile, "--instance", "x", "-q", "--registry", iana)
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr, "--instance does not go with it")
	_, _, code = cli(t, "validate", "--pcap", pcapFile, "-q", "--registry", iana)
	assert.Equal(t, exitNotFound, code, "the txt-format error reaches the default --fail-on error")

	// From standard input, as tcpdump -w - | svcreg scan --pcap - runs.
	data, err := os.ReadFile(pcapFile)
	require.NoError(t, err)
	cmd := exec.Command(bin, "scan", "--pcap", "-", "--json", "--fail-on", "none", "-q", "--registry", iana)
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	require.NoError(t, err)
	piped, _ := findingKeys(t, string(out))
	assert.Equal(t, replay, piped)

	// Cut inside the last packet: the findings before it, then the error.
	cut := filepath.Join(t.TempDir(), "cut.pcap")
	require.NoError(t, os.WriteFile(cut, data[:len(data)-3], 0o644))
	_, stderr, code = cli(t, "scan", "--pcap", cut, "--json", "--fail-on", "none", "-q", "--registry", iana)
	assert.Equal(t, exitUsage, code)
	assert.Regexp(t, `capture: packet \d+ \(byte \d+\): reading \d+ bytes of packet data: truncated capture`, stderr)
	assert.Contains(t, stderr, "the findings above are those of the packets before it")
}

// TestE2ECrossPacketRules: two lab hosts claim one instance name with
// other SRV ports, then one floods the link; the live scan and the scan
// of the capture both report name-conflict and mdns-rate, the same
// findings.
func TestE2ECrossPacketRules(t *testing.T) {
	l := newRobustLab(t, "svcpc2")
	testutil.RequireTool(t, "tcpdump", "tcpdump")
	bin := svcregBinary(t)
	flooder := mdnsfloodBinary(t)
	iana := ianaXML(t)
	for _, h := range []string{"b", "c"} {
		_, err := l.run(60*time.Second, "add-host", h)
		require.NoError(t, err)
	}
	pcapFile := filepath.Join(t.TempDir(), "lan.pcap")
	stopCapture := startCapture(t, l, pcapFile)

	_, waitScan := startLiveScan(t, l, bin, iana, 25*time.Second)

	start := time.Now()
	send := func(host string, args ...string) {
		t.Helper()
		out, err := l.run(30*time.Second, append([]string{"exec", "--ns", host, "--", flooder, "-malformed-every", "0", "-settle", "0"}, args...)...)
		require.NoError(t, err, "%s", out)
	}
	// Two senders, one name, other SRV ports: neither probed.
	send("b", "-instances", "1", "-prefix", "conf", "-port", "8080", "-rate", "2", "-max-time", "3s", "-addr", "198.18.0.3")
	send("c", "-instances", "1", "-prefix", "conf", "-port", "9090", "-rate", "2", "-max-time", "3s", "-addr", "198.18.0.4")
	// A flood: 300 packets a second for 4 s (a new instance in each), over
	// 50 a second averaged over 10 s.
	send("c", "-instances", "1200", "-prefix", "flood", "-rate", "300", "-max-time", "5s", "-addr", "198.18.0.4")
	require.Less(t, time.Since(start), 19*time.Second, "sending took too long for the 25 s scan")
	liveOut := waitScan()
	stopCapture()

	live, liveObjs := findingKeys(t, liveOut)
	joined := strings.Join(live, "\n")
	assert.Contains(t, joined, "warning name-conflict conf-0 _http._tcp")
	rateFrom := ""
	for _, f := range liveObjs {
		if f["rule"] == "mdns-rate" {
			rateFrom = f["origin"].(string)
		}
	}
	assert.Equal(t, "198.18.0.4:5353", rateFrom, "the flooding host is named")

	stdout, stderr, code := cli(t, "scan", "--pcap", pcapFile, "--json", "--fail-on", "none", "-q", "--registry", iana)
	require.Equal(t, exitOK, code, stderr)
	replay, replayObjs := findingKeys(t, stdout)
	assert.Equal(t, live, replay, "the capture's findings are the live scan's")
	// Both hosts also call their SRV target conf-0.local, each with its
	// own address: a second conflict, on the host name.
	var conflicts []string
	for _, f := range replayObjs {
		if f["rule"] == "mdns-rate" {
			assert.Equal(t, "02:00:c6:12:00:04", f["mac"], "the flooder's MAC, from the capture")
		}
		if f["rule"] == "name-conflict" {
			conflicts = append(conflicts, f["message"].(string))
		}
	}
	joinedConflicts := strings.Join(conflicts, "\n")
	assert.Regexp(t, `198\.18\.0\.[34]:5353 claims it with SRV conf-0\.local\.:(8080|9090) \(was conf-0\.local\.:(8080|9090)\)`, joinedConflicts)
	assert.Regexp(t, `two senders use the host name conf-0\.local\.: 198\.18\.0\.[34] gives conf-0\.local\. the address`, joinedConflicts)
}

// TestE2ERenameLoop: a lab host keeps claiming "Lab Printer", then a
// second one "Lab Printer #2", while avahi publishes "Lab Printer": avahi
// renames to #2, then to #3. The live scan and the scan of the capture
// both report avahi's rename-loop.
func TestE2ERenameLoop(t *testing.T) {
	l := newRobustLab(t, "svcpc3")
	testutil.RequireTool(t, "tcpdump", "tcpdump")
	bin := svcregBinary(t)
	flooder := mdnsfloodBinary(t)
	iana := ianaXML(t)
	for _, h := range []string{"b", "c"} {
		_, err := l.run(60*time.Second, "add-host", h)
		require.NoError(t, err)
	}
	pcapFile := filepath.Join(t.TempDir(), "lan.pcap")
	stopCapture := startCapture(t, l, pcapFile)

	ctx, waitScan := startLiveScan(t, l, bin, iana, 35*time.Second)

	// claim announces one name from a lab host for 25 s, in bursts (the
	// flooder paces every 50 packets), as a device that does not probe.
	claim := func(host, name, addr string) *exec.Cmd {
		c := exec.CommandContext(ctx, l.tool, "exec", "--ns", host, "--", flooder, "-name", name, "-service", "_ipp._tcp",
			"-instances", "500", "-rate", "20", "-max-time", "25s", "-malformed-every", "0", "-settle", "0", "-addr", addr)
		c.Env = l.env
		require.NoError(t, c.Start())
		return c
	}
	start := time.Now()
	first := claim("b", "Lab Printer", "198.18.0.3")
	time.Sleep(time.Second)
	// Without waiting: avahi's probing is what the claims disturb.
	_, err := l.run(60*time.Second, "publish", "--no-wait", "Lab Printer", "_ipp._tcp", "631", "txtvers=1", "rp=ipp/print")
	require.NoError(t, err)
	time.Sleep(4 * time.Second)
	second := claim("c", "Lab Printer #2", "198.18.0.4")
	require.Less(t, time.Since(start), 20*time.Second)
	_ = first.Wait()
	_ = second.Wait()
	liveOut := waitScan()
	stopCapture()

	live, liveObjs := findingKeys(t, liveOut)
	var loop map[string]any
	for _, f := range liveObjs {
		if f["rule"] == "rename-loop" {
			loop = f
		}
	}
	require.NotNil(t, loop, "no rename-loop; findings: %s", strings.Join(live, "\n"))
	assert.Regexp(t, `Lab Printer #\d`, loop["message"])
	assert.Regexp(t, `^(198\.18\.0\.1|\[fd42::1\]):5353$`, loop["origin"], "avahi's host renamed")

	stdout, stderr, code := cli(t, "scan", "--pcap", pcapFile, "--json", "--fail-on", "none", "-q", "--registry", iana)
	require.Equal(t, exitOK, code, stderr)
	replay, _ := findingKeys(t, stdout)
	assert.Equal(t, live, replay, "the capture's findings are the live scan's")
}
