package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/internal/testutil"
)

// The end-to-end tests build the real binary once and run it as an
// operator would: a config file, free loopback ports, signals.

var (
	raceBuild bool // set by e2e_race_test.go
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func svcregBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the daemon; skipped with -short")
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "svcreg-e2e-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "svcreg")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		args := []string{"build", "-o", binPath}
		if raceBuild {
			args = append(args, "-race")
		}
		out, err := exec.CommandContext(ctx, "go", append(args, ".")...).CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	require.NoError(t, buildErr)
	return binPath
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer = testutil.SyncBuffer

// daemonProc is one running svcreg serve.
type daemonProc struct {
	t       *testing.T
	cmd     *exec.Cmd
	log     *syncBuffer
	dnsAddr string
	httpURL string
	zone    string
	done    <-chan error
}

// writeAtomic replaces path the way editors and svcreg fetch do.
func writeAtomic(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	require.NoError(t, os.WriteFile(tmp, []byte(content), 0o644))
	require.NoError(t, os.Rename(tmp, path))
}

// startDaemon writes a config (registryExtra is YAML appended under
// registry:) and starts serve with it, waiting until /readyz says ready.
func startDaemon(t *testing.T, dir, registryPath, registryExtra string) *daemonProc {
	t.Helper()
	return startDaemonRaw(t, dir, fmt.Sprintf("registry:\n  sources: [%q]\n  format: services\n%s", registryPath, registryExtra))
}

// startDaemonRaw starts serve with registrySection as the config's
// registry part, free loopback ports and the test zone.
func startDaemonRaw(t *testing.T, dir, registrySection string) *daemonProc {
	t.Helper()
	return startDaemonDNS(t, dir, registrySection, "")
}

// startDaemonDNS is startDaemonRaw with dnsExtra (YAML lines indented by
// two spaces) appended to the dns section.
func startDaemonDNS(t *testing.T, dir, registrySection, dnsExtra string) *daemonProc {
	t.Helper()
	// A port free when picked can be taken before the daemon binds it
	// (another test's outgoing connection draws it from the same
	// ephemeral range): then start again on other ports.
	for attempt := 1; ; attempt++ {
		p, inUse := tryStartDaemonDNS(t, dir, registrySection, dnsExtra)
		if !inUse {
			return p
		}
		require.Less(t, attempt, 3, "ports taken three times over:\n%s", p.log.String())
		t.Logf("a port was taken before the daemon bound it; starting again:\n%s", p.log.String())
	}
}

// tryStartDaemonDNS starts the daemon and waits until it is ready;
// inUse reports that it exited because a port was taken meanwhile.
func tryStartDaemonDNS(t *testing.T, dir, registrySection, dnsExtra string) (p *daemonProc, inUse bool) {
	t.Helper()
	bin := svcregBinary(t)
	dnsPort, httpPort := testutil.FreePort(t), testutil.FreePort(t)
	zone := "svc.test."
	cfgPath := filepath.Join(dir, "svcreg.yml")
	cfg := fmt.Sprintf(`%sdns:
  zone: %s
  listen: ["127.0.0.1:%d"]
%shttp:
  listen: ["127.0.0.1:%d"]
log:
  format: json
  level: debug
`, registrySection, zone, dnsPort, dnsExtra, httpPort)
	require.NoError(t, os.WriteFile(cfgPath, []byte(cfg), 0o644))

	p = &daemonProc{t: t, log: &syncBuffer{}, zone: zone,
		dnsAddr: fmt.Sprintf("127.0.0.1:%d", dnsPort), httpURL: fmt.Sprintf("http://127.0.0.1:%d", httpPort)}
	p.cmd = exec.Command(bin, "serve", "--config", cfgPath)
	p.cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+filepath.Join(dir, "cache"))
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	p.done = testutil.StartProcess(t, p.cmd, p.log)
	deadline := time.Now().Add(120 * time.Second)
	for {
		if code, _ := p.get("/readyz"); code == 200 {
			return p, false
		}
		select {
		case err := <-p.done:
			if strings.Contains(p.log.String(), "address already in use") {
				return p, true
			}
			t.Fatalf("daemon exited while waiting for ready: %v\n%s", err, p.log.String())
		default:
		}
		require.True(t, time.Now().Before(deadline), "timed out waiting for ready:\n%s", p.log.String())
		time.Sleep(50 * time.Millisecond)
	}
}

// waitFor polls cond until it holds or the deadline passes (never a bare
// sleep: the condition is what the test waits for).
func (p *daemonProc) waitFor(what string, limit time.Duration, cond func() bool) {
	p.t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		select {
		case err := <-p.done:
			p.t.Fatalf("daemon exited while waiting for %s: %v\n%s", what, err, p.log.String())
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *daemonProc) get(path string) (int, string) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(p.httpURL + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// srvPort asks for the SRV of _name._tcp and returns its port, or an
// error for anything but one NOERROR answer.
func (p *daemonProc) srvPort(c *dns.Client, name string) (uint16, error) {
	m := new(dns.Msg)
	m.SetQuestion("_"+name+"._tcp."+p.zone, dns.TypeSRV)
	r, _, err := c.Exchange(m, p.dnsAddr)
	if err != nil {
		return 0, err
	}
	if r.Rcode != dns.RcodeSuccess {
		return 0, fmt.Errorf("%s: rcode %s", name, dns.RcodeToString[r.Rcode])
	}
	for _, rr := range r.Answer {
		if srv, ok := rr.(*dns.SRV); ok {
			return srv.Port, nil
		}
	}
	return 0, fmt.Errorf("%s: no SRV in the answer", name)
}

func (p *daemonProc) metric(name string) float64 {
	_, body := p.get("/metrics")
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindStringSubmatch(body)
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

func (p *daemonProc) stop(sig syscall.Signal, limit time.Duration) {
	p.t.Helper()
	start := time.Now()
	require.NoError(p.t, p.cmd.Process.Signal(sig))
	select {
	case err := <-p.done:
		require.NoError(p.t, err, "exit status 0 after %s", sig)
		assert.Less(p.t, time.Since(start), limit)
	case <-time.After(limit):
		p.t.Fatalf("still running %s after %s", limit, sig)
	}
}

// queryLoop runs workers that ask for _name._tcp until stopped (or a
// bound on count and time), counting queries and failures.
type queryLoop struct {
	stop     chan struct{}
	wg       sync.WaitGroup
	queries  atomic.Int64
	failures atomic.Int64
	mu       sync.Mutex
	first    error
}

func (p *daemonProc) startQueryLoop(name string, want uint16, workers int) *queryLoop {
	q := &queryLoop{stop: make(chan struct{})}
	deadline := time.Now().Add(150 * time.Second)
	for range workers {
		q.wg.Go(func() {
			c := &dns.Client{Timeout: 2 * time.Second}
			for i := 0; i < 200000 && time.Now().Before(deadline); i++ {
				select {
				case <-q.stop:
					return
				default:
				}
				q.queries.Add(1)
				port, err := p.srvPort(c, name)
				if err == nil && port != want {
					err = fmt.Errorf("%s: port %d, want %d", name, port, want)
				}
				if err != nil {
					q.failures.Add(1)
					q.mu.Lock()
					if q.first == nil {
						q.first = err
					}
					q.mu.Unlock()
				}
			}
		})
	}
	return q
}

func (q *queryLoop) finish() { close(q.stop); q.wg.Wait() }

const servicesV1 = `# test registry, version 1
svcone		1111/tcp		# first service
svcshared	3333/tcp		# in every version
`

const servicesV2 = servicesV1 + `svctwo		2222/tcp		# added in version 2
`

func TestE2EServeReloadAndStop(t *testing.T) {
	dir := t.TempDir()
	reg := filepath.Join(dir, "services")
	writeAtomic(t, reg, servicesV1)
	// watch: false, so that SIGHUP alone causes the reloads here.
	p := startDaemon(t, dir, reg, `  watch: false
  local:
    - name: acme-sync
      port: 7420
      txt_keys: [txtvers=1, path]
`)
	c := &dns.Client{Timeout: 2 * time.Second}

	// DNS: registry and local additions; HTTP API.
	port, err := p.srvPort(c, "svcone")
	require.NoError(t, err)
	assert.Equal(t, uint16(1111), port)
	port, err = p.srvPort(c, "acme-sync")
	require.NoError(t, err)
	assert.Equal(t, uint16(7420), port, "local additions are served")
	_, err = p.srvPort(c, "svctwo")
	require.Error(t, err, "not in version 1")
	code, body := p.get("/v1/services/svcone")
	assert.Equal(t, 200, code)
	assert.Contains(t, body, `"port": 1111`)
	code, body = p.get("/v1/services/acme-sync")
	assert.Equal(t, 200, code)
	assert.Contains(t, body, `"source": "local"`)
	code, _ = p.get("/v1/services/svctwo")
	assert.Equal(t, 404, code)
	code, body = p.get("/healthz")
	assert.Equal(t, 200, code, body)
	code, body = p.get("/")
	assert.Equal(t, 200, code, "the web UI is mounted at /")
	assert.Contains(t, body, "<html")
	assert.Equal(t, 1.0, p.metric(`svcreg_registry_reloads_total{result="success"}`))

	// Replace the registry and SIGHUP under a concurrent query loop: the
	// new name appears and not one query fails.
	loop := p.startQueryLoop("svcshared", 3333, 2)
	p.waitFor("queries flowing", 10*time.Second, func() bool { return loop.queries.Load() > 20 })
	writeAtomic(t, reg, servicesV2)
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGHUP))
	p.waitFor("svctwo after SIGHUP", 20*time.Second, func() bool {
		port, err := p.srvPort(c, "svctwo")
		return err == nil && port == 2222
	})
	before := loop.queries.Load()
	p.waitFor("queries after the reload", 10*time.Second, func() bool { return loop.queries.Load() > before+20 })
	loop.finish()
	assert.Zero(t, loop.failures.Load(), "failed queries during reload (first: %v)", loop.first)
	t.Logf("%d queries during the reload, %d failed", loop.queries.Load(), loop.failures.Load())
	assert.Equal(t, 2.0, p.metric(`svcreg_registry_reloads_total{result="success"}`))
	code, _ = p.get("/v1/services/svctwo")
	assert.Equal(t, 200, code)

	// A broken registry: the reload fails, is counted, old answers stay.
	writeAtomic(t, reg, "this is not a registry\n")
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGHUP))
	p.waitFor("failed reload counted", 20*time.Second, func() bool {
		return p.metric(`svcreg_registry_reloads_total{result="failure"}`) == 1
	})
	port, err = p.srvPort(c, "svctwo")
	require.NoError(t, err, "old snapshot still served")
	assert.Equal(t, uint16(2222), port)
	assert.Equal(t, 2.0, p.metric(`svcreg_registry_reloads_total{result="success"}`))
	code, _ = p.get("/readyz")
	assert.Equal(t, 200, code, "a failed reload does not make the daemon unready")
	assert.Contains(t, p.log.String(), "reload failed; still serving the previous registry")

	// The real exposition passes promtool's lint.
	promtool := testutil.RequireTool(t, "promtool", "prometheus")
	_, metrics := p.get("/metrics")
	for _, m := range []string{"svcreg_dns_requests_total", "svcreg_dns_responses_total", "svcreg_dns_request_duration_seconds",
		"svcreg_registry_records", "svcreg_registry_services", "svcreg_registry_last_reload_timestamp_seconds",
		"svcreg_build_info", "go_goroutines", "process_cpu_seconds_total"} {
		assert.Contains(t, metrics, "\n"+m, "metric %s exported", m)
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(metrics)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "promtool check metrics:\n%s", out)

	p.stop(syscall.SIGTERM, 5*time.Second)
	assert.Contains(t, p.log.String(), `"msg":"svcreg: stopped"`)
}

func TestE2EWatchFiles(t *testing.T) {
	dir := t.TempDir()
	reg := filepath.Join(dir, "services")
	writeAtomic(t, reg, servicesV1)
	p := startDaemon(t, dir, reg, "")
	c := &dns.Client{Timeout: 2 * time.Second}
	_, err := p.srvPort(c, "svctwo")
	require.Error(t, err)

	// A registry file replaced in place is picked up without a signal.
	writeAtomic(t, reg, servicesV2)
	p.waitFor("svctwo after the file changed", 20*time.Second, func() bool {
		port, err := p.srvPort(c, "svctwo")
		return err == nil && port == 2222
	})

	// So is a change of the config file: a new local addition.
	cfgPath := filepath.Join(dir, "svcreg.yml")
	b, err := os.ReadFile(cfgPath)
	require.NoError(t, err)
	cfg := strings.Replace(string(b), "  format: services\n", "  format: services\n  local:\n    - name: acme-new\n      port: 7421\n", 1)
	writeAtomic(t, cfgPath, cfg)
	p.waitFor("acme-new after the config changed", 20*time.Second, func() bool {
		port, err := p.srvPort(c, "acme-new")
		return err == nil && port == 7421
	})

	p.stop(syscall.SIGINT, 5*time.Second)
}

func TestE2EBadConfigExits(t *testing.T) {
	bin := svcregBinary(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "svcreg.yml")
	require.NoError(t, os.WriteFile(cfgPath, []byte("dns:\n  listen: [\"127.0.0.1:99999\"]\n"), 0o644))
	cmd := exec.Command(bin, "serve", "--config", cfgPath)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, exitUsage, ee.ExitCode())
	assert.Equal(t, "svcreg serve: "+cfgPath+`:2: dns.listen[0]: "127.0.0.1:99999": the port must be 0-65535`+"\n", string(out))
}

// TestE2EReloadIANA reloads the full official registry (about 14,500
// records, seconds of parsing and table building on a busy machine) while
// a query loop runs: not one query may fail or see a wrong answer.
func TestE2EReloadIANA(t *testing.T) {
	xml := testutil.SharedFile(t, "iana", "service-names-port-numbers.xml")
	dir := t.TempDir()
	extra := filepath.Join(dir, "services")
	writeAtomic(t, extra, servicesV1)
	// No forced format: the XML and the services file are detected.
	p := startDaemonRaw(t, dir, fmt.Sprintf(`registry:
  sources: [%q, %q]
  watch: false
`, xml, extra))
	c := &dns.Client{Timeout: 2 * time.Second}
	port, err := p.srvPort(c, "http")
	require.NoError(t, err)
	require.Equal(t, uint16(80), port)

	loop := p.startQueryLoop("http", 80, 2)
	p.waitFor("queries flowing", 10*time.Second, func() bool { return loop.queries.Load() > 20 })
	writeAtomic(t, extra, servicesV2)
	start := time.Now()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGHUP))
	p.waitFor("svctwo after SIGHUP", 120*time.Second, func() bool {
		port, err := p.srvPort(c, "svctwo")
		return err == nil && port == 2222
	})
	took := time.Since(start)
	loop.finish()
	assert.Zero(t, loop.failures.Load(), "failed queries during the reload (first: %v)", loop.first)
	t.Logf("reload of the IANA registry visible after %s; %d queries meanwhile, %d failed",
		took.Round(time.Millisecond), loop.queries.Load(), loop.failures.Load())
	p.stop(syscall.SIGTERM, 5*time.Second)
}

// TestE2EStopDuringStartup: SIGTERM while the official registry is still
// being turned into a zone is an ordinary stop (exit 0, in time).
func TestE2EStopDuringStartup(t *testing.T) {
	xml := testutil.SharedFile(t, "iana", "service-names-port-numbers.xml")
	bin := svcregBinary(t)
	logs := &syncBuffer{}
	cmd := exec.Command(bin, "serve", "--registry", xml, "--log-format", "json",
		"--dns-listen", fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t)), "--http-listen", fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t)))
	cmd.Stdout, cmd.Stderr = logs, logs
	p := &daemonProc{t: t, cmd: cmd, log: logs, done: testutil.StartProcess(t, cmd, nil)}
	p.waitFor("the registry read", 30*time.Second, func() bool {
		return strings.Contains(logs.String(), `"msg":"registry: loaded"`)
	})
	servedFirst := strings.Contains(logs.String(), `"msg":"svcreg: serving"`)
	p.stop(syscall.SIGTERM, 5*time.Second)
	if servedFirst {
		// A fast machine finished start-up before the signal; the stop
		// is still checked (exit 0 in time), just not the start-up path.
		t.Log("start-up finished before SIGTERM was sent")
		return
	}
	assert.Contains(t, logs.String(), "stopped during start-up")
}

// TestE2EStopWithIdleConnections: browsers open HTTP connections they
// never send a request on, and a client may hold a TCP DNS connection
// idle; http.Server.Shutdown alone waits 5 s for the former. SIGTERM
// still ends the daemon in time.
func TestE2EStopWithIdleConnections(t *testing.T) {
	dir := t.TempDir()
	services := filepath.Join(dir, "services")
	require.NoError(t, os.WriteFile(services, []byte("http 80/tcp www\n"), 0o644))
	p := startDaemon(t, dir, services, "")
	httpConn, err := net.Dial("tcp", strings.TrimPrefix(p.httpURL, "http://"))
	require.NoError(t, err)
	defer httpConn.Close()
	dnsConn, err := net.Dial("tcp", p.dnsAddr)
	require.NoError(t, err)
	defer dnsConn.Close()
	// A third connection sends half a request and stalls.
	half, err := net.Dial("tcp", strings.TrimPrefix(p.httpURL, "http://"))
	require.NoError(t, err)
	defer half.Close()
	_, err = half.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n"))
	require.NoError(t, err)
	// Under 4 s, the whole-stop grace: waiting that long for these
	// connections would leave nothing for the rest of the 5 s budget.
	p.stop(syscall.SIGTERM, 4*time.Second)
}
