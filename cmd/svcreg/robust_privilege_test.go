package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/internal/testutil"
)

// Least privilege: the daemon runs as an unprivileged user on
// its default ports (above 1024), binds loopback unless told otherwise,
// writes only to its cache directory, serves a read-only HTTP API, and
// refuses zone transfers from outside the allow-list.

// robustPrivPrefix is unique among the team's lab prefixes.
const robustPrivPrefix = "svcrp1"

// nobodyUID is the unprivileged user the tests switch to (Debian's
// nobody/nogroup are both 65534).
const nobodyUID = 65534

// TestRobustHTTPReadOnly sends every state-changing method to every
// endpoint of the real daemon (API, health, metrics, web UI, static
// files, unknown paths): each answers 405 with an Allow header, and the
// registry is the same afterwards.
func TestRobustHTTPReadOnly(t *testing.T) {
	dir := t.TempDir()
	services := filepath.Join(dir, "services")
	require.NoError(t, os.WriteFile(services, []byte("http 80/tcp\nipp 631/tcp\n"), 0o644))
	p := startDaemon(t, dir, services, "")
	code, before := p.get("/v1/registry")
	require.Equal(t, http.StatusOK, code)

	paths := []string{
		"/v1/services/http", "/v1/ports/tcp/80", "/v1/registry", "/v1/findings", "/v1/advertisements",
		"/v1/nosuch", "/healthz", "/readyz", "/metrics",
		"/", "/search?q=http", "/services/http", "/ports/tcp/80", "/ports/80",
		"/lan", "/lan/fragment", "/lan/events", "/rules", "/static/app.css", "/nosuch",
	}
	methods := []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch}
	c := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	for _, path := range paths {
		// Each path exists for GET (or is a 404 page), so a 405 below is
		// about the method, not the path.
		code, _ := p.get(path)
		require.Contains(t, []int{200, 204, 302, 404}, code, "GET %s", path)
		for _, m := range methods {
			t.Run(m+" "+path, func(t *testing.T) {
				req, err := http.NewRequest(m, p.httpURL+path, strings.NewReader(`{"name":"evil","port":666}`))
				require.NoError(t, err)
				req.Header.Set("Content-Type", "application/json")
				resp, err := c.Do(req)
				require.NoError(t, err)
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
				assert.Contains(t, resp.Header.Get("Allow"), "GET")
			})
		}
	}
	code, after := p.get("/v1/registry")
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, before, after, "the registry is unchanged")
	p.stop(syscall.SIGTERM, 5*time.Second)
}

// unprivDir makes a directory the unprivileged user can enter, holding a
// copy of the daemon (the build directory is private to root).
func unprivDir(t *testing.T) (dir, bin string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "svcreg-nonroot-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))
	src, err := os.ReadFile(svcregBinary(t))
	require.NoError(t, err)
	bin = filepath.Join(dir, "svcreg")
	require.NoError(t, os.WriteFile(bin, src, 0o755))
	return dir, bin
}

// userDir makes dir/name owned by the unprivileged user, so that a write
// there by the daemon would succeed and be seen.
func userDir(t *testing.T, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.Mkdir(p, 0o755))
	require.NoError(t, os.Chown(p, nobodyUID, nobodyUID))
	return p
}

// asNobody is the setpriv prefix that runs a command as nobody:nogroup
// with no supplementary groups and no capabilities.
func asNobody(t *testing.T) []string {
	t.Helper()
	return []string{testutil.RequireTool(t, "setpriv", "util-linux"),
		"--reuid=" + strconv.Itoa(nobodyUID), "--regid=" + strconv.Itoa(nobodyUID), "--clear-groups",
		"--inh-caps=-all", "--bounding-set=-all", "--"}
}

// asNobodyBind is asNobody keeping only CAP_NET_BIND_SERVICE, as an
// ambient capability (what systemd's AmbientCapabilities= does).
func asNobodyBind(t *testing.T) []string {
	t.Helper()
	return []string{testutil.RequireTool(t, "setpriv", "util-linux"),
		"--reuid=" + strconv.Itoa(nobodyUID), "--regid=" + strconv.Itoa(nobodyUID), "--clear-groups",
		"--inh-caps=-all,+net_bind_service", "--ambient-caps=+net_bind_service",
		"--bounding-set=-all,+net_bind_service", "--"}
}

// TestRobustServeNonRootWritesOnlyCache runs serve as nobody with a URL
// registry source: it downloads into its cache directory, serves DNS and
// HTTP, reloads, and stops cleanly, and no file appears anywhere else the
// user could write (its HOME, its working directory, /tmp, /var/tmp,
// /dev/shm).
func TestRobustServeNonRootWritesOnlyCache(t *testing.T) {
	testutil.RequireRoot(t)
	setpriv := asNobody(t)
	dir, bin := unprivDir(t)
	home, cwd, cache := userDir(t, dir, "home"), userDir(t, dir, "cwd"), userDir(t, dir, "cache")

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "http 80/tcp\nipp 631/tcp\nsvcregtest 4242/tcp\n")
	}))
	// A file source next to the URL, rewritten below to make a reload.
	local := filepath.Join(dir, "local.services")
	require.NoError(t, os.WriteFile(local, []byte("svcregone 4141/tcp\n"), 0o644))
	t.Cleanup(srv.Close)
	dnsPort, httpPort := testutil.FreePort(t), testutil.FreePort(t)
	cfg := filepath.Join(dir, "svcreg.yml")
	require.NoError(t, os.WriteFile(cfg, []byte(fmt.Sprintf(`registry:
  sources: [%q, %q]
  format: services
dns:
  zone: svc.test.
  listen: ["127.0.0.1:%d"]
http:
  listen: ["127.0.0.1:%d"]
`, srv.URL+"/services", local, dnsPort, httpPort)), 0o644))

	start := time.Now().Add(-time.Second) // file times have coarse resolution
	logs := &syncBuffer{}
	cmd := exec.Command(setpriv[0], append(setpriv[1:], bin, "serve", "--config", cfg)...)
	cmd.Dir = cwd
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + home, "CACHE_DIRECTORY=" + cache}
	cmd.Stdout, cmd.Stderr = logs, logs
	done := testutil.StartProcess(t, cmd, logs)
	p := &daemonProc{t: t, cmd: cmd, log: logs, done: done, zone: "svc.test.",
		dnsAddr: fmt.Sprintf("127.0.0.1:%d", dnsPort), httpURL: fmt.Sprintf("http://127.0.0.1:%d", httpPort)}
	p.waitFor("ready", 60*time.Second, func() bool {
		code, _ := p.get("/readyz")
		return code == 200
	})

	// It runs as nobody with no capabilities.
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	require.NoError(t, err)
	want := strconv.Itoa(nobodyUID)
	assert.Contains(t, string(status), "\nUid:\t"+want+"\t"+want+"\t"+want+"\t"+want+"\n")
	assert.Contains(t, string(status), "\nGid:\t"+want+"\t"+want+"\t"+want+"\t"+want+"\n")
	assert.Contains(t, string(status), "\nCapEff:\t0000000000000000\n")

	// It serves the downloaded registry, and reloads.
	dc := &dns.Client{Timeout: 2 * time.Second}
	port, err := p.srvPort(dc, "svcregtest")
	require.NoError(t, err)
	assert.Equal(t, uint16(4242), port)
	writeAtomic(t, local, "svcregone 4141/tcp\nsvcregtwo 4343/tcp\n")
	require.NoError(t, cmd.Process.Signal(syscall.SIGHUP))
	p.waitFor("the reload", 30*time.Second, func() bool {
		_, err := p.srvPort(dc, "svcregtwo")
		return err == nil
	})
	p.stop(syscall.SIGTERM, 5*time.Second)

	// The cache holds the download; nothing else was written.
	var cached []string
	require.NoError(t, filepath.WalkDir(cache, func(path string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		if !d.IsDir() {
			cached = append(cached, strings.TrimPrefix(path, cache+"/"))
		}
		return nil
	}))
	assert.NotEmpty(t, cached, "the download is cached")
	t.Logf("cache directory after the run: %v", cached)
	for _, d := range []string{home, cwd} {
		entries, err := os.ReadDir(d)
		require.NoError(t, err)
		assert.Empty(t, entries, "nothing written in %s", d)
	}
	written := writtenBy(t, nobodyUID, start, dir, "/tmp", "/var/tmp", "/dev/shm")
	assert.Empty(t, written, "files the unprivileged daemon created outside its cache directory")
}

// writtenBy lists entries owned by uid and changed since `since` under
// roots, skipping the test's own directory. An unprivileged process can
// only create entries in directories it may write to, so the walk enters
// only directories that are world-writable or owned by uid.
func writtenBy(t *testing.T, uid int, since time.Time, skip string, roots ...string) []string {
	t.Helper()
	var out []string
	var walk func(dir string, depth int)
	walk = func(dir string, depth int) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return
		}
		for _, e := range entries {
			p := filepath.Join(dir, e.Name())
			if p == skip {
				continue
			}
			info, err := e.Info()
			if err != nil {
				continue
			}
			st, ok := info.Sys().(*syscall.Stat_t)
			if !ok {
				continue
			}
			ctime := time.Unix(st.Ctim.Sec, st.Ctim.Nsec)
			if int(st.Uid) == uid && ctime.After(since) {
				out = append(out, p)
			}
			if e.IsDir() && depth < 8 && (int(st.Uid) == uid || info.Mode().Perm()&0o002 != 0) {
				walk(p, depth+1)
			}
		}
	}
	for _, r := range roots {
		walk(r, 0)
	}
	return out
}

// netnsListeners returns the local addresses of pid's network namespace's
// listening TCP sockets and bound UDP sockets, from /proc/PID/net.
func netnsListeners(t *testing.T, pid int) []string {
	t.Helper()
	var out []string
	for _, f := range []string{"tcp", "tcp6", "udp", "udp6"} {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", pid, f))
		require.NoError(t, err)
		for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			fields := strings.Fields(line)
			if i == 0 || len(fields) < 4 {
				continue
			}
			// TCP state 0A is LISTEN; UDP sockets are all "bound" (07).
			if strings.HasPrefix(f, "tcp") && fields[3] != "0A" {
				continue
			}
			out = append(out, f+" "+procNetAddr(t, fields[1]))
		}
	}
	return out
}

// procNetAddr decodes /proc/net's "0100007F:14B4" (little-endian words).
func procNetAddr(t *testing.T, s string) string {
	t.Helper()
	hexIP, hexPort, ok := strings.Cut(s, ":")
	require.True(t, ok, s)
	port, err := strconv.ParseUint(hexPort, 16, 16)
	require.NoError(t, err)
	var ip net.IP
	for i := 0; i < len(hexIP); i += 8 {
		w, err := strconv.ParseUint(hexIP[i:i+8], 16, 32)
		require.NoError(t, err)
		ip = append(ip, byte(w), byte(w>>8), byte(w>>16), byte(w>>24))
	}
	return net.JoinHostPort(ip.String(), strconv.FormatUint(port, 10))
}

// TestRobustNetworkDefaults runs serve as nobody in a lab host with no
// listen addresses configured: it binds its default ports (above 1024,
// so no privilege is needed) on loopback only, and another host on the
// LAN reaches neither DNS nor HTTP. Then, with DNS opened to the LAN and
// the default AXFR allow-list (loopback), a zone transfer from the other
// host is refused while one from loopback succeeds. Last, port 53: refused
// to nobody, served by nobody with CAP_NET_BIND_SERVICE alone.
func TestRobustNetworkDefaults(t *testing.T) {
	testutil.RequireTool(t, "kdig", "knot-dnsutils")
	lab := newRobustLab(t, robustPrivPrefix)
	setpriv := asNobody(t)
	dir, bin := unprivDir(t)
	services := filepath.Join(dir, "services")
	require.NoError(t, os.WriteFile(services, []byte("http 80/tcp\nipp 631/tcp\n"), 0o644))
	env := []string{"HOME=" + userDir(t, dir, "home"), "CACHE_DIRECTORY=" + userDir(t, dir, "cache")}
	serveArgsAs := func(prefix []string, extra ...string) []string {
		args := append([]string{"env"}, env...)
		args = append(args, prefix...)
		return append(append(args, bin, "serve", "--registry", services, "--format", "services"), extra...)
	}
	serveArgs := func(extra ...string) []string { return serveArgsAs(setpriv, extra...) }
	// dig runs kdig in a lab host; stdout and stderr (where kdig reports
	// a refused transfer) together.
	dig := func(ns string, args ...string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c := exec.CommandContext(ctx, lab.tool, append([]string{"exec", "--ns", ns, "--", "kdig", "+time=2", "+retry=0"}, args...)...)
		c.Env = lab.env
		out, _ := c.CombinedOutput()
		return string(out)
	}

	// Defaults: loopback only.
	d := lab.startDaemonCmd(serveArgs()...)
	addrs := netnsListeners(t, d.cmd.Process.Pid)
	assert.ElementsMatch(t, []string{"tcp 127.0.0.1:5300", "tcp 127.0.0.1:8053", "udp 127.0.0.1:5300"}, addrs,
		"every socket in the daemon's namespace")
	assert.Contains(t, dig("obs", "@127.0.0.1", "-p", "5300", "services.internal.", "SOA"), "status: NOERROR")
	assert.NotContains(t, dig("adv", "@198.18.0.2", "-p", "5300", "services.internal.", "SOA"), "status:",
		"DNS unreachable from the LAN")
	assert.NotContains(t, dig("adv", "+tcp", "@198.18.0.2", "-p", "5300", "services.internal.", "SOA"), "status:",
		"DNS over TCP unreachable from the LAN")
	assert.Empty(t, lab.curl("adv", "http://198.18.0.2:8053/healthz"), "HTTP unreachable from the LAN")
	d.stop()

	// DNS on every address, AXFR allow-list left at its default.
	d = lab.startDaemonCmd(serveArgs("--dns-listen", "0.0.0.0:5300")...)
	assert.Contains(t, dig("adv", "@198.18.0.2", "-p", "5300", "services.internal.", "SOA"), "status: NOERROR",
		"queries from the LAN are answered")
	for _, q := range [][]string{{"AXFR"}, {"+notcp", "AXFR"}, {"IXFR=1"}, {"+notcp", "IXFR=1"}} {
		out := dig("adv", append([]string{"@198.18.0.2", "-p", "5300", "services.internal."}, q...)...)
		assert.Contains(t, out, "server replied with error 'REFUSED'", "%v from the LAN\n%s", q, out)
		assert.NotContains(t, out, "SOA", "%v from the LAN: no zone data\n%s", q, out)
	}
	axfr := dig("obs", "@127.0.0.1", "-p", "5300", "services.internal.", "AXFR")
	assert.Equal(t, 2, strings.Count(axfr, "\tSOA\t"), "AXFR from loopback: the zone between two SOAs\n%.500s", axfr)
	assert.Contains(t, axfr, "_http._tcp.services.internal.")
	d.stop()

	// Port 53 needs CAP_NET_BIND_SERVICE, and nothing more.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := exec.CommandContext(ctx, lab.tool, append([]string{"exec", "--ns", "obs", "--"},
		serveArgs("--dns-listen", "127.0.0.1:53")...)...)
	c.Env = lab.env
	out, err := c.CombinedOutput()
	var exitErr *exec.ExitError
	require.ErrorAs(t, err, &exitErr, "serve on port 53 without the capability must fail\n%s", out)
	assert.Equal(t, 1, exitErr.ExitCode(), "start failure")
	assert.Contains(t, string(out), "bind: permission denied")
	d = lab.startDaemonCmd(serveArgsAs(asNobodyBind(t), "--dns-listen", "127.0.0.1:53")...)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", d.cmd.Process.Pid))
	require.NoError(t, err)
	assert.Contains(t, string(status), "\nUid:\t65534\t65534\t65534\t65534\n")
	assert.Contains(t, string(status), "\nCapEff:\t0000000000000400\n", "CAP_NET_BIND_SERVICE (bit 10) only")
	assert.Contains(t, dig("obs", "@127.0.0.1", "-p", "53", "services.internal.", "SOA"), "status: NOERROR")
	d.stop()
}

// startDaemonCmd runs argv in the lab's obs host (argv[0] may be env or setpriv,
// which exec the daemon, so the PID is the daemon's) and waits until its
// /readyz on 127.0.0.1:8053 says ready.
func (l *robustLab) startDaemonCmd(argv ...string) *labDaemon {
	t := l.t
	t.Helper()
	d := &labDaemon{t: t, log: &syncBuffer{}}
	d.cmd = exec.Command(l.tool, append([]string{"exec", "--ns", "obs", "--"}, argv...)...)
	d.cmd.Env = l.env
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	d.done = testutil.StartProcess(t, d.cmd, d.log)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for !strings.Contains(l.curl("obs", "http://127.0.0.1:8053/readyz"), `"ready"`) {
		select {
		case err := <-d.done:
			t.Fatalf("daemon exited before it was ready: %v\n%s", err, d.log.String())
		case <-ctx.Done():
			t.Fatalf("daemon not ready after 60 s\n%s", d.log.String())
		case <-time.After(200 * time.Millisecond):
		}
	}
	return d
}
