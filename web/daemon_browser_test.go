package web

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/internal/testutil"
)

// TestBrowserDaemon is the user's end-to-end path through the real
// binary: build cmd/svcreg, run `svcreg serve` with the full registry on
// free loopback ports, search for ipp in Chromium, open the service page,
// read the dig command and run it against the daemon's DNS listener.
func TestBrowserDaemon(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the daemon; skipped with -short")
	}
	dig := testutil.RequireTool(t, "dig", "bind9-dnsutils")
	registryPath := testutil.SharedFile(t, "iana", "service-names-port-numbers.xml")
	br := newBrowser(t)

	bin := filepath.Join(t.TempDir(), "svcreg")
	bctx, cancelBuild := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancelBuild()
	build := exec.CommandContext(bctx, "go", "build", "-o", bin, "./cmd/svcreg")
	build.Dir = testutil.RepoRoot()
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build:\n%s", out)

	dnsPort := testutil.FreePort(t)
	d := startServe(t, bin, "--registry", registryPath, "--dns-listen", "127.0.0.1:"+strconv.Itoa(dnsPort),
		"--http-listen", "127.0.0.1:0", "--log-format", "text")
	base := "http://" + d.httpAddr

	br.step("home page", 30*time.Second,
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.ID("q")),
		chromedp.SendKeys(chromedp.ID("q"), "ipp"),
	)
	_, err = chromedp.RunResponse(br.ctx, chromedp.Click(chromedp.CSS(`form[role="search"] button[type="submit"]`)))
	require.NoError(t, err)
	br.step("results", 15*time.Second, chromedp.WaitVisible(chromedp.CSS(`table.records a[href="/services/ipp"]`)))
	_, err = chromedp.RunResponse(br.ctx, chromedp.Click(chromedp.CSS(`table.records a[href="/services/ipp"]`)))
	require.NoError(t, err)
	br.step("service page", 15*time.Second, chromedp.WaitVisible(chromedp.ID("dig-tcp-srv")))
	br.shot("daemon-service-ipp.png")

	want := map[string]string{
		"dig-tcp-srv": fmt.Sprintf("dig @127.0.0.1 -p %d _ipp._tcp.services.internal. SRV", dnsPort),
		"dig-tcp-txt": fmt.Sprintf("dig @127.0.0.1 -p %d _ipp._tcp.services.internal. TXT", dnsPort),
	}
	answers := map[string]string{}
	for id, cmd := range want {
		text, err := chromedp.Run(br.ctx, chromedp.Text(chromedp.ID(id)))
		require.NoError(t, err)
		require.Equal(t, cmd, text, id)
		// Run the command as shown (dig from PATH replaced by the path
		// RequireTool found), answers only.
		args := strings.Fields(text)[1:]
		args = append(args, "+short", "+time=2", "+tries=3")
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		out, err := exec.CommandContext(ctx, dig, args...).CombinedOutput()
		cancel()
		require.NoError(t, err, "%s:\n%s", text, out)
		answers[id] = strings.TrimSpace(string(out))
		t.Logf("%s\n%s", text, out)
	}
	assert.Regexp(t, `(?m)^\d+ \d+ 631 \S+\.$`, answers["dig-tcp-srv"], "SRV answer names port 631")
	// The page shows the records themselves, as the daemon's DNS server
	// answers them: the same SRV data dig printed.
	served, err := chromedp.Run(br.ctx, chromedp.Text(chromedp.ID("dig-tcp-zone")))
	require.NoError(t, err)
	srvData := strings.Fields(strings.SplitN(answers["dig-tcp-srv"], "\n", 2)[0])
	for i, f := range srvData {
		srvData[i] = regexp.QuoteMeta(f)
	}
	assert.Regexp(t, `(?m)^_ipp\._tcp\.services\.internal\.\s+\d+\s+IN\s+SRV\s+`+strings.Join(srvData, `\s+`)+`$`, served)
	assert.Regexp(t, `(?m)^_ipp\._tcp\.services\.internal\.\s+\d+\s+IN\s+TXT\s+"`, served)
	d.stop(t)
}

type serveProc struct {
	cmd      *exec.Cmd
	httpAddr string
	done     chan error
	mu       sync.Mutex
	log      strings.Builder
}

var httpAddrRE = regexp.MustCompile(`msg="svcreg: serving".* http=\[([0-9.]+:\d+)`)

// startServe runs `svcreg serve` and waits for its "serving" log line,
// which names the HTTP address it bound (port 0 = any free one).
func startServe(t *testing.T, bin string, args ...string) *serveProc {
	t.Helper()
	p := &serveProc{cmd: exec.Command(bin, append([]string{"serve"}, args...)...), done: make(chan error, 1)}
	// A private cache directory: serve keeps its zone serial there.
	p.cmd.Env = append(os.Environ(), "SVCREG_CONFIG=", "CACHE_DIRECTORY="+t.TempDir())
	stderr, err := p.cmd.StderrPipe()
	require.NoError(t, err)
	p.cmd.Stdout = nil
	require.NoError(t, p.cmd.Start())
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.log.WriteString(line + "\n")
			p.mu.Unlock()
			if m := httpAddrRE.FindStringSubmatch(line); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
		p.done <- p.cmd.Wait()
	}()
	t.Cleanup(func() {
		if p.cmd.Process.Signal(syscall.Signal(0)) == nil { // still running (Signal reads no state Wait writes)
			_ = p.cmd.Process.Kill() // only our own child, by its PID
			t.Logf("killed after the deadline: %v", <-p.done)
		}
		if t.Failed() {
			p.mu.Lock()
			t.Logf("svcreg serve log:\n%s", p.log.String())
			p.mu.Unlock()
		}
	})
	select {
	case p.httpAddr = <-addr:
	case err := <-p.done:
		p.mu.Lock()
		defer p.mu.Unlock()
		t.Fatalf("svcreg serve exited early: %v\n%s", err, p.log.String())
	case <-time.After(90 * time.Second):
		t.Fatal("svcreg serve did not report serving within 90 s")
	}
	return p
}

// stop sends SIGTERM and expects a clean exit.
func (p *serveProc) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-p.done:
		assert.NoError(t, err, "svcreg serve exit")
	case <-time.After(10 * time.Second):
		t.Error("svcreg serve did not stop within 10 s of SIGTERM")
	}
}
