package main

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/internal/testutil"
)

// mdnsLabPrefix is unique among the team's lab tests.
const mdnsLabPrefix = "svcdm1"

// TestE2EServeMDNS runs serve with --mdns-interface in the observer
// namespace of ../shared/tools/mdns-lab while avahi in the advertiser
// namespace publishes a good and an unregistered service: the API lists
// both advertisements and the finding, and the mDNS metrics appear.
// Needs root, iproute2, avahi and curl; skips without them, fails under
// CI=true.
func TestE2EServeMDNS(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireTool(t, "ip", "iproute2")
	testutil.RequireTool(t, "avahi-daemon", "avahi-daemon")
	testutil.RequireTool(t, "avahi-publish-service", "avahi-utils")
	testutil.RequireTool(t, "curl", "curl")
	bin := svcregBinary(t)
	l := newRobustLab(t, mdnsLabPrefix)
	tool, env := l.tool, l.env
	lab := func(args ...string) (string, error) { return l.run(60*time.Second, args...) }
	var err error

	// The namespace has its own loopback, so fixed ports are free there.
	srv := l.serve(bin, `dns:
  listen: ["127.0.0.1:5300"]
http:
  listen: ["127.0.0.1:8053"]
mdns:
  max_instances: 100
log:
  format: json
`, "--mdns-interface", "lab0")
	cmd, done := srv.cmd, srv.done
	get := func(path string) string {
		out, err := lab("exec", "--", "curl", "-sf", "--max-time", "5", "http://127.0.0.1:8053"+path)
		if err != nil {
			return ""
		}
		return out
	}
	srv.waitFor(t, "ready", 45*time.Second, func() bool { return strings.Contains(get("/readyz"), `"ready"`) })

	// Published after the daemon is up: avahi's announcements reach the
	// passive listener.
	_, err = lab("publish", "Lab Printer", "_ipp._tcp", "631", "txtvers=1", "rp=ipp/print", "ty=Lab")
	require.NoError(t, err)
	_, err = lab("publish", "Mystery Box", "_zzqqxx._tcp", "4242")
	require.NoError(t, err)

	srv.waitFor(t, "both advertisements", 45*time.Second, func() bool {
		ads := get("/v1/advertisements")
		return strings.Contains(ads, `"instance": "Lab Printer"`) && strings.Contains(ads, `"instance": "Mystery Box"`)
	})
	ads := get("/v1/advertisements")
	assert.Contains(t, ads, `"mdns_enabled": true`)
	assert.Contains(t, ads, `"service": "_ipp"`)
	assert.Contains(t, ads, `"port": 631`)

	srv.waitFor(t, "the unregistered finding", 45*time.Second, func() bool {
		return strings.Contains(get("/v1/findings"), `"rule": "unregistered"`)
	})
	findings := get("/v1/findings")
	assert.Contains(t, findings, `"service_type": "_zzqqxx._tcp"`)

	metrics := get("/metrics")
	assert.Contains(t, metrics, "svcreg_mdns_packets_total{")
	assert.Contains(t, metrics, "svcreg_mdns_advertisements ")
	assert.Contains(t, metrics, `svcreg_mdns_findings_total{rule="unregistered"`)

	start := time.Now()
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-done:
		require.NoError(t, err, "exit status 0")
		assert.Less(t, time.Since(start), 5*time.Second)
	case <-time.After(5 * time.Second):
		t.Fatal("still running 5 s after SIGTERM")
	}

	// The same daemon on an interface that cannot work does not start:
	// exit 2 with the reason, and config check says the same. Run in the
	// observer namespace, whose lab0 the test takes down and strips of
	// multicast.
	run := func(args ...string) (int, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c := exec.CommandContext(ctx, tool, append([]string{"exec", "--", bin}, args...)...)
		c.Env = env
		out, err := c.CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), string(out)
		}
		require.NoError(t, err, "%s", out)
		return 0, string(out)
	}
	for _, tc := range []struct {
		name, iface, setup, undo, want string
	}{
		{"missing", "nonexist0", "", "", "no such network interface"},
		{"down", "lab0", "down", "up", "is down"},
		{"no multicast", "lab0", "multicast off", "multicast on", "has no multicast"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != "" {
				_, err := lab(append([]string{"exec", "--", "ip", "link", "set", "lab0"}, strings.Fields(tc.setup)...)...)
				require.NoError(t, err)
				defer func() {
					_, err := lab(append([]string{"exec", "--", "ip", "link", "set", "lab0"}, strings.Fields(tc.undo)...)...)
					require.NoError(t, err)
				}()
			}
			code, out := run("serve", "--config", srv.cfgPath, "--mdns-interface", tc.iface)
			assert.Equal(t, exitUsage, code, out)
			assert.Contains(t, out, `"msg":"svcreg serve: cannot start"`)
			assert.Contains(t, out, tc.iface)
			assert.Contains(t, out, tc.want)
			code, out = run("config", "check", "--config", srv.cfgPath, "--mdns-interface", tc.iface)
			assert.Equal(t, exitUsage, code, out)
			assert.Contains(t, out, tc.iface)
			assert.Contains(t, out, tc.want)
		})
	}
}
