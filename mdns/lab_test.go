package mdns

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/internal/testutil"
	"github.com/svcreg/svcreg/registry"
)

// The end-to-end test with a real advertiser: avahi-daemon in a network
// namespace of ../shared/tools/mdns-lab publishes good and deliberately
// bad services, and the built svcreg binary scans from the observer
// namespace. Needs root, iproute2 and avahi; skips without them, fails
// under CI=true.

const labPrefix = "svcl1" // unique among the team's lab tests

type lab struct {
	t    *testing.T
	tool string
	env  []string
}

func startLab(t *testing.T) *lab {
	t.Helper()
	testutil.RequireRoot(t)
	testutil.RequireTool(t, "ip", "iproute2")
	testutil.RequireTool(t, "avahi-daemon", "avahi-daemon")
	testutil.RequireTool(t, "avahi-publish-service", "avahi-utils")
	l := &lab{
		t:    t,
		tool: testutil.SharedFile(t, "tools", "mdns-lab"),
		env:  append(os.Environ(), "MDNSLAB_PREFIX="+labPrefix),
	}
	t.Cleanup(func() {
		if out, err := l.cmd(context.Background(), "down").CombinedOutput(); err != nil {
			t.Errorf("mdns-lab down: %v\n%s", err, out)
		}
	})
	l.run("up")
	return l
}

func (l *lab) cmd(ctx context.Context, args ...string) *exec.Cmd {
	c := exec.CommandContext(ctx, l.tool, args...)
	c.Env = l.env
	return c
}

// run runs an mdns-lab command that must succeed.
func (l *lab) run(args ...string) {
	l.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	c := l.cmd(ctx, args...)
	c.Stderr = &stderr
	require.NoError(l.t, c.Run(), "mdns-lab %v: %s", args, stderr.String())
}

// portBoundIn reports whether something in the observer namespace
// listens on UDP 5353 (0x14E9) in the socket table file (/proc/net/udp
// or /proc/net/udp6), i.e. a scan is up.
func (l *lab) portBoundIn(file string) bool {
	out, err := l.cmd(context.Background(), "exec", "cat", file).Output()
	return err == nil && bytes.Contains(out, []byte(":14E9 "))
}

func buildSvcreg(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "svcreg")
	c := exec.Command("go", "build", "-o", bin, "./cmd/svcreg")
	c.Dir = testutil.RepoRoot()
	out, err := c.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// labService is one service the test publishes, and what scan must say.
type labService struct {
	name, typ, port string
	opts            []string // mdns-lab publish options
	txt             []string
	want            []string // "severity rule evidence"
}

// labServices are written like the devices people own (a printer, an
// Apple TV, a Chromecast, a Matter device, a NAS), which must get no
// finding with the IANA registry and the service profiles, and like the
// mistakes firmware makes, each with its exact findings.
var labServices = []labService{
	{name: "Good Printer", typ: "_ipp._tcp", port: "631", opts: []string{"--subtype", "_universal._sub._ipp._tcp"},
		txt: []string{"txtvers=1", "qtotal=1", "rp=ipp/print", "ty=HP LaserJet M404",
			"pdl=application/pdf,image/urf,image/pwg-raster", "UUID=564e4333-4c38-3442-3633-a45d36c0ffee",
			"Color=F", "Duplex=T", "URF=W8,SRGB24,CP1,RS600"}},
	{name: "Living Room", typ: "_airplay._tcp", port: "7000",
		txt: []string{"deviceid=AA:BB:CC:DD:EE:FF", "features=0x4A7FDFD5,0xBC177FDE", "flags=0x3344",
			"model=AppleTV6,2", "srcvers=670.6.2", "pi=2E1A5B6C-7D8E-4F90-A1B2-C3D4E5F60718", "vv=2"}},
	{name: "Chromecast-6a5d2e1c7b3f4e0a9c8d1f2e3d4c5b6a", typ: "_googlecast._tcp", port: "8009",
		txt: []string{"id=6a5d2e1c7b3f4e0a9c8d1f2e3d4c5b6a", "md=Chromecast", "fn=Living Room TV", "ve=05", "st=0", "ca=465413"}},
	{name: "DD200C20D25AE5F7", typ: "_matterc._udp", port: "5540",
		opts: []string{"--subtype", "_L3840._sub._matterc._udp", "--subtype", "_CM._sub._matterc._udp"},
		txt:  []string{"D=3840", "CM=1", "VP=65521+32769", "DT=257", "SII=5000", "SAI=300", "T=1"}},
	{name: "nas", typ: "_smb._tcp", port: "445"},
	{name: "nas", typ: "_adisk._tcp", port: "9", txt: []string{"sys=waMa=0,adVF=0x100", "dk0=adVN=TimeMachine,adVF=0x82"}},
	// raw bytes: a space, a dot and UTF-8 in the instance label
	{name: "Café Dot.Name", typ: "_http._tcp", port: "80", txt: []string{"path=/"}},
	{name: "Bad Keys", typ: "_http._tcp", port: "8080",
		txt: []string{"=novalue", "path=/", "PATH=/x", "averyverylongkey=1"},
		want: []string{
			"info port-mismatch 8080",
			"info txt-unknown-key averyverylongkey",
			"error txt-format =novalue",
			"warning txt-format PATH",
			"warning txt-format averyverylongkey",
		}},
	{name: "TV", typ: "_androidtvremote2._tcp", port: "6466", txt: []string{"bt=1"},
		want: []string{"warning name-syntax _androidtvremote2", "info unregistered _androidtvremote2", "warning txt-value bt=1"}},
	{name: "Mystery", typ: "_zzqqxx._tcp", port: "1234",
		want: []string{"warning unregistered _zzqqxx"}},
	{name: "Sub Printer", typ: "_ipp._tcp", port: "631", opts: []string{"--subtype", "_nonsense._sub._ipp._tcp"},
		txt: []string{"txtvers=1"}, want: []string{"info subtype _nonsense"}},
	{name: "0000000000000001", typ: "_matterc._udp", port: "5540", txt: []string{"CM=3"},
		want: []string{"warning txt-key-missing D", "warning txt-value CM=3"}},
}

func (l *lab) publish(s labService) {
	l.t.Helper()
	args := append([]string{"publish"}, s.opts...)
	args = append(args, s.name, s.typ, s.port)
	args = append(args, s.txt...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	c := l.cmd(ctx, args...)
	c.Stdout, c.Stderr = &stdout, &stderr
	if err := c.Run(); err != nil {
		// Seen once under heavy load: avahi-publish-service gave up
		// before avahi-daemon answered on D-Bus. Say so, try once more.
		l.t.Logf("mdns-lab publish %q failed (%v), retrying: %s%s", s.name, err, stdout.String(), stderr.String())
		stdout.Reset()
		stderr.Reset()
		c = l.cmd(ctx, args...)
		c.Stdout, c.Stderr = &stdout, &stderr
		require.NoError(l.t, c.Run(), "mdns-lab publish %q: %s", s.name, stderr.String())
	}
	require.Equal(l.t, s.name, strings.TrimSpace(stdout.String()), "avahi renamed the service")
}

func TestLabScan(t *testing.T) {
	l := startLab(t)
	bin := buildSvcreg(t)
	iana := testutil.SharedFile(t, "iana", "service-names-port-numbers.xml")

	// Phase 1: two scans run while the services are published, one over
	// IPv4 and one over IPv6 (the lab's fd42::/64), so they hear avahi's
	// announcements, the only place subtype PTRs appear unasked (RFC
	// 6763 section 7.1). Both must find exactly the same.
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	families := []struct {
		family, origin, procFile string
	}{{"ipv4", "198.18.0.1:5353", "/proc/net/udp"}, {"ipv6", "[fd42::1]:5353", "/proc/net/udp6"}}
	const scanFor = 45 * time.Second
	outs := make([]*bytes.Buffer, len(families))
	errOuts := make([]*bytes.Buffer, len(families))
	scans := make([]*exec.Cmd, len(families))
	for i, f := range families {
		outs[i], errOuts[i] = &bytes.Buffer{}, &bytes.Buffer{}
		scans[i] = l.cmd(ctx, "exec", bin, "scan", "--interface", "lab0", "--family", f.family, "--duration", scanFor.String(),
			"--json", "--registry", iana)
		scans[i].Stdout, scans[i].Stderr = outs[i], errOuts[i]
		require.NoError(t, scans[i].Start())
		require.Eventually(t, func() bool { return l.portBoundIn(f.procFile) }, 10*time.Second, 50*time.Millisecond,
			"the %s scan never bound udp/5353", f.family)
	}
	start := time.Now()
	for _, s := range labServices {
		l.publish(s)
	}
	// Each publish waits for avahi's probing (about 1.5 s on a loaded
	// machine), so the scans run long enough for all of them plus the
	// announcements that follow the last one.
	require.Less(t, time.Since(start), scanFor-6*time.Second, "publishing took too long for the %v scans", scanFor)

	var want []string
	for _, s := range labServices {
		for _, w := range s.want {
			want = append(want, s.name+" "+s.typ+" "+w)
		}
	}
	for i, f := range families {
		err := scans[i].Wait()
		var exitErr *exec.ExitError
		require.ErrorAs(t, err, &exitErr, "%s scan must exit 1 (error findings); stderr: %s", f.family, errOuts[i].String())
		assert.Equal(t, 1, exitErr.ExitCode(), "stderr: %s", errOuts[i].String())
		var got []string
		sc := bufio.NewScanner(outs[i])
		for sc.Scan() {
			var fd Finding
			require.NoError(t, json.Unmarshal(sc.Bytes(), &fd), "line %q", sc.Text())
			got = append(got, fd.Instance+" "+fd.ServiceType+" "+fd.Severity.String()+" "+fd.Rule+" "+fd.Evidence)
			assert.Equal(t, f.origin, fd.Origin, "%s finding origin", f.family)
			assert.NotEmpty(t, fd.Message)
			assert.True(t, strings.HasPrefix(fd.RFC, "RFC "), "rfc %q", fd.RFC)
			if fd.Rule == RuleTXTValue || fd.Rule == RuleTXTKeyMissing {
				assert.True(t, strings.HasPrefix(fd.Source, "profile:"), "source %q", fd.Source)
			}
		}
		// Exactly these: avahi's packets are clean (no mdns-packet
		// finding), and the real-world devices and the good services
		// have none.
		assert.ElementsMatch(t, want, got, "findings over %s", f.family)
	}

	// Phase 2: everything is published; the browser alone must find it
	// all (enumeration, browse, resolve), with raw instance names.
	var wantNames []string
	for _, s := range labServices {
		wantNames = append(wantNames, s.name+" "+s.typ)
	}
	adNames := func(ads []Advertisement) []string {
		var names []string
		for _, a := range ads {
			names = append(names, a.Instance+" "+a.ServiceType())
		}
		return names
	}
	ads := scanAds(t, l, "obs", bin, iana)
	assert.ElementsMatch(t, wantNames, adNames(ads))
	for _, a := range ads {
		if a.Instance != "Good Printer" {
			continue
		}
		assert.Equal(t, labPrefix+"-adv.local.", a.Host)
		assert.Equal(t, uint16(631), a.Port)
		assert.Equal(t, labServices[0].txt, a.TXT)
		assert.Contains(t, a.Addrs, mustAddr(t, "198.18.0.1"))
		assert.Equal(t, "lab0", a.Interface)
		assert.Empty(t, a.Findings)
		assert.False(t, a.LastSeen.Before(a.FirstSeen))
		assert.True(t, a.Expires.After(a.LastSeen))
	}

	// Phase 3: scan on the advertiser itself, sharing udp/5353 with the
	// running avahi-daemon (SO_REUSEADDR/SO_REUSEPORT on both sides).
	assert.ElementsMatch(t, wantNames, adNames(scanAds(t, l, "adv", bin, iana)), "scan next to avahi-daemon")
	l.run("status") // avahi is still up

	// --no-browse sends nothing: with every service established and no
	// announcement due, a passive scan hears nothing at all.
	quiet := l.cmd(ctx, "exec", bin, "scan", "--interface", "lab0", "--duration", "2s", "--json", "--advertisements",
		"--no-browse", "--registry", iana)
	b, err := quiet.Output()
	require.NoError(t, err)
	assert.Empty(t, string(b), "a passive scan must not provoke answers")

	// --fail-on none: the same findings, exit 0.
	c := l.cmd(ctx, "exec", bin, "scan", "--interface", "lab0", "--duration", "2s", "--json", "--fail-on", "none", "--registry", iana)
	b, err = c.Output()
	require.NoError(t, err)
	assert.NotEmpty(t, b)
}

func mustAddr(t *testing.T, s string) netip.Addr {
	t.Helper()
	a, err := netip.ParseAddr(s)
	require.NoError(t, err)
	return a
}

// scanAds runs a 4 s scan in lab host ns and returns its advertisements.
func scanAds(t *testing.T, l *lab, ns, bin, iana string) []Advertisement {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := l.cmd(ctx, "exec", "--ns", ns, bin, "scan", "--interface", "lab0", "--duration", "4s", "--json", "--advertisements",
		"--fail-on", "none", "--registry", iana)
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.Output()
	require.NoError(t, err, "stderr: %s", stderr.String())
	var ads []Advertisement
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var a Advertisement
		require.NoError(t, json.Unmarshal(sc.Bytes(), &a), "line %q", sc.Text())
		ads = append(ads, a)
	}
	return ads
}

// TestLabKnownAnswers captures a scan's queries with tcpdump: once the
// scan has heard the two printers, its repeated queries for _ipp._tcp
// list both as known answers (RFC 6762 section 7.1) and avahi stays
// silent about them, so later rounds cost one small query each.
func TestLabKnownAnswers(t *testing.T) {
	testutil.RequireTool(t, "tcpdump", "tcpdump")
	l := startLab(t)
	bin := buildSvcreg(t)
	l.publish(labService{name: "Good Printer", typ: "_ipp._tcp", port: "631", txt: []string{"txtvers=1"}})
	l.publish(labService{name: "Other Printer", typ: "_ipp._tcp", port: "632", txt: []string{"txtvers=1"}})
	time.Sleep(4 * time.Second) // avahi's announcements are over

	pcap := filepath.Join(t.TempDir(), "kas.pcap")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	capture := l.cmd(ctx, "capture", pcap, "9")
	var capErr bytes.Buffer
	capture.Stderr = &capErr
	require.NoError(t, capture.Start())
	time.Sleep(1500 * time.Millisecond) // tcpdump is listening
	scan := l.cmd(ctx, "exec", bin, "scan", "--interface", "lab0", "--family", "ipv4", "--duration", "6s",
		"--json", "--advertisements", "--fail-on", "none", "-q")
	out, err := scan.Output()
	require.NoError(t, err)
	assert.Contains(t, string(out), `"instance":"Other Printer"`)
	require.NoError(t, capture.Wait(), "capture: %s", capErr.String())

	text, err := exec.CommandContext(ctx, "tcpdump", "-r", pcap, "-nn", "-tt").Output()
	require.NoError(t, err)
	var (
		firstKnown                  float64 // time of the first query with known answers
		plain, withKnown, afterward int
	)
	for _, line := range strings.Split(string(text), "\n") {
		stamp, _, _ := strings.Cut(line, " ")
		at, _ := strconv.ParseFloat(stamp, 64)
		switch {
		case strings.Contains(line, "198.18.0.2.5353 > 224.0.0.251.5353: 0 PTR (QM)? _ipp._tcp.local."):
			plain++
		case strings.Contains(line, "198.18.0.2.5353 > 224.0.0.251.5353: 0 [2a] PTR (QM)? _ipp._tcp.local."):
			withKnown++
			if firstKnown == 0 {
				firstKnown = at
			}
		case strings.Contains(line, "198.18.0.1.5353 >") && strings.Contains(line, "PTR Good Printer._ipp._tcp.local.") &&
			firstKnown != 0 && at > firstKnown:
			afterward++
		}
	}
	t.Logf("queries for _ipp._tcp: %d without known answers, %d with both printers as known answers", plain, withKnown)
	assert.Positive(t, plain, "the first query knows nothing\n%s", text)
	assert.GreaterOrEqual(t, withKnown, 2, "repeated queries list the known answers\n%s", text)
	assert.Zero(t, afterward, "avahi answered a query that already knew its answer\n%s", text)
}

// TestLabGoodbye watches a Monitor run inside the observer namespace
// (this test binary, re-executed there; see TestMain) and checks that avahi's goodbye
// removes the advertisement at once, long before its TTLs (120 s SRV,
// 4500 s PTR) would.
func TestLabGoodbye(t *testing.T) {
	l := startLab(t)
	for _, s := range labServices {
		if s.name == "Good Printer" || s.name == "Bad Keys" {
			l.publish(s)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h := l.cmd(ctx, "exec", os.Args[0])
	h.Env = append(slices.Clone(l.env), "SVCREG_LAB_HELPER=1")
	stdin, err := h.StdinPipe()
	require.NoError(t, err)
	stdout, err := h.StdoutPipe()
	require.NoError(t, err)
	var stderr lockedBuffer // written by exec's copier while we read it
	h.Stderr = &stderr
	require.NoError(t, h.Start())
	defer func() { // before cancel: the helper ends when its stdin closes
		stdin.Close()
		if err := h.Wait(); err != nil {
			t.Errorf("helper: %v\n%s", err, stderr.String())
		}
	}()
	lines := make(chan []string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var names []string
			if json.Unmarshal(sc.Bytes(), &names) != nil {
				continue
			}
			select {
			case lines <- names:
			case <-ctx.Done():
				return
			}
		}
	}()
	waitFor := func(what string, d time.Duration, ok func([]string) bool) {
		t.Helper()
		timeout := time.After(d)
		for {
			select {
			case names, open := <-lines:
				require.True(t, open, "helper ended; stderr: %s", stderr.String())
				if ok(names) {
					return
				}
			case <-timeout:
				t.Fatalf("%s: not within %s; helper stderr: %s", what, d, stderr.String())
			}
		}
	}
	waitFor("both services seen", 15*time.Second, func(n []string) bool {
		return slices.Contains(n, "Bad Keys") && slices.Contains(n, "Good Printer")
	})
	start := time.Now()
	l.run("unpublish", "Bad Keys")
	waitFor("goodbye applied", 10*time.Second, func(n []string) bool {
		return !slices.Contains(n, "Bad Keys") && slices.Contains(n, "Good Printer")
	})
	t.Logf("goodbye removed the advertisement %s after unpublish", time.Since(start).Round(time.Millisecond))
}

// lockedBuffer is a bytes.Buffer safe for one writer and readers.
type lockedBuffer = testutil.SyncBuffer

// TestMain runs the monitor helper of TestLabGoodbye when the test
// binary is re-executed as that helper, and the tests otherwise.
func TestMain(m *testing.M) {
	if os.Getenv("SVCREG_LAB_HELPER") == "1" {
		os.Exit(labMonitorHelper())
	}
	os.Exit(m.Run())
}

// labMonitorHelper is TestLabGoodbye's monitor, run in the observer
// namespace: it prints the instance names as a JSON array after every
// change until its stdin closes (or 60 s pass).
func labMonitorHelper() int {
	snap, err := registry.Build(registry.Builtin())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	m, err := NewMonitor(MonitorConfig{
		Interfaces: []string{"lab0"}, Browse: true, BrowseWindow: 2 * time.Second, BrowseInterval: 10 * time.Second,
	}, registry.NewStore(snap), nil, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	sub := m.Subscribe(ctx)
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	for range sub {
		names := []string{}
		for _, a := range m.Advertisements() {
			names = append(names, a.Instance)
		}
		b, _ := json.Marshal(names)
		fmt.Println(string(b))
	}
	if err := <-done; err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
