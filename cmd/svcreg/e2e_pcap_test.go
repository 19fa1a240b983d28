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

	capCmd := exec.Command(l.tool, "capture", pcapFile, "120")
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
	t.Cleanup(func() {
		_ = capCmd.Process.Signal(syscall.SIGINT)
		select {
		case <-capDone:
		case <-time.After(10 * time.Second):
			_ = capCmd.Process.Kill()
		}
	})
	require.Eventually(t, func() bool {
		st, err := os.Stat(pcapFile)
		return err == nil && st.Size() >= 24
	}, 20*time.Second, 50*time.Millisecond, "tcpdump never wrote the pcap header: %s", &capErr)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	scan := exec.CommandContext(ctx, l.tool, "exec", bin, "scan", "--interface", "lab0", "--duration", "25s", "--json",
		"--no-browse", "--fail-on", "none", "-q", "--registry", iana)
	scan.Env = l.env
	var liveOut, liveErr bytes.Buffer
	scan.Stdout, scan.Stderr = &liveOut, &liveErr
	require.NoError(t, scan.Start())
	require.Eventually(t, func() bool {
		out, err := l.run(10*time.Second, "exec", "cat", "/proc/net/udp")
		return err == nil && strings.Contains(out, ":14E9 ")
	}, 15*time.Second, 100*time.Millisecond, "the live scan never bound udp/5353")

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
	require.NoError(t, scan.Wait(), "live scan: %s", &liveErr)

	// Stop the capture: tcpdump flushed every packet (-U).
	require.NoError(t, capCmd.Process.Signal(syscall.SIGINT))
	select {
	case <-capDone:
	case <-time.After(15 * time.Second):
		t.Fatal("tcpdump did not stop")
	}

	live, _ := findingKeys(t, liveOut.String())
	require.NotEmpty(t, live, "the live scan found nothing: %s", &liveErr)
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
