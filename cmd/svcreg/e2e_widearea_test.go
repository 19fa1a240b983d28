package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/svcreg/svcreg/internal/testutil"
)

// TestE2EWideAreaClient is the discovery proxy as a real wide-area
// DNS-SD client uses it (RFC 6763 section 11): avahi publishes a printer
// on the lab's link; svcreg, in another lab host, publishes the link's
// zone and answers unicast DNS on port 53; a third lab host runs its own
// avahi-daemon with enable-wide-area=yes, the link's zone in
// browse-domains and a resolv.conf naming svcreg (both bind-mounted into
// a private mount namespace), and `avahi-browse -d ZONE -r _ipp._tcp`
// lists and resolves the printer through unicast DNS: the instance, the
// rewritten host name, its address, port and TXT. The zone is not .local,
// so nothing of it can come from multicast. After an unpublish (avahi's
// goodbye) the printer is gone from the next browse.
func TestE2EWideAreaClient(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireTool(t, "avahi-daemon", "avahi-daemon")
	testutil.RequireTool(t, "avahi-browse", "avahi-utils")
	testutil.RequireTool(t, "avahi-publish-service", "avahi-utils")
	testutil.RequireTool(t, "dbus-daemon", "dbus-daemon")
	testutil.RequireTool(t, "unshare", "util-linux")
	testutil.RequireTool(t, "dig", "bind9-dnsutils")
	const prefix = "svcdp4"
	bin := svcregBinary(t)
	l := newRobustLab(t, prefix)
	lab := func(args ...string) (string, error) { return l.run(60*time.Second, args...) }

	// svcreg in the observer (198.18.0.2), DNS on port 53 there, as a
	// resolver's nameserver line can only name port 53.
	srv := l.serve(bin, `dns:
  listen: ["127.0.0.1:5300", "198.18.0.2:53"]
http:
  listen: ["127.0.0.1:8053"]
mdns:
  interfaces: [lab0]
  family: ipv4
  publish:
    - {interface: lab0}
`)
	const zone = "lab0.lan.services.internal"
	dig := func(args ...string) string {
		out, _ := lab(append([]string{"exec", "--", "dig", "@198.18.0.2", "+time=2", "+tries=1", "+norec"}, args...)...)
		return out
	}
	_, err := lab("publish", "Wide Printer", "_ipp._tcp", "631", "txtvers=1", "rp=ipp/print", "ty=Wide Area")
	require.NoError(t, err)
	srv.waitFor(t, "the printer in the link's zone", 45*time.Second, func() bool {
		return strings.Contains(dig("+short", "_ipp._tcp."+zone+".", "PTR"), `Wide\032Printer._ipp._tcp.`+zone+".")
	})

	// The wide-area client: its own D-Bus, avahi-daemon and resolv.conf.
	_, err = lab("add-host", "wac")
	require.NoError(t, err)
	cdir := t.TempDir()
	run, bus := filepath.Join(cdir, "run"), filepath.Join(cdir, "bus")
	require.NoError(t, os.MkdirAll(run, 0o755))
	require.NoError(t, os.MkdirAll(bus, 0o755))
	sock := filepath.Join(bus, "system_bus_socket")
	write := func(name, text string) string {
		p := filepath.Join(cdir, name)
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
		return p
	}
	dbusConf := write("dbus.conf", `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <listen>unix:path=`+sock+`</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
`)
	avahiConf := write("avahi-daemon.conf", `[server]
host-name=`+prefix+`-wac
domain-name=local
browse-domains=`+zone+`
use-ipv4=yes
use-ipv6=no
allow-interfaces=lab0
enable-dbus=yes

[wide-area]
enable-wide-area=yes

[publish]
disable-publishing=yes
`)
	resolv := write("resolv.conf", "nameserver 198.18.0.2\n")
	busEnv := "DBUS_SYSTEM_BUS_ADDRESS=unix:path=" + sock

	busLog := &syncBuffer{}
	dbusCmd := exec.Command(l.tool, "exec", "--ns", "wac", "--", "dbus-daemon", "--config-file="+dbusConf, "--nofork", "--nopidfile", "--nosyslog")
	dbusCmd.Env = l.env
	dbusCmd.Stdout, dbusCmd.Stderr = busLog, busLog
	testutil.StartProcess(t, dbusCmd, busLog)
	srv.waitFor(t, "the client's D-Bus socket", 15*time.Second, func() bool { _, err := os.Stat(sock); return err == nil })

	avahiLog := &syncBuffer{}
	avahi := exec.Command(l.tool, "exec", "--ns", "wac", "--", "unshare", "--mount", "--propagation", "private", "--",
		"sh", "-c", `mount --bind "$1" /etc/resolv.conf && mount --bind "$2" /run/avahi-daemon &&
exec env "$3" avahi-daemon -f "$4" --no-rlimits --no-drop-root --no-chroot`,
		"sh", resolv, run, busEnv, avahiConf)
	avahi.Env = l.env
	avahi.Stdout, avahi.Stderr = avahiLog, avahiLog
	avahiDone := testutil.StartProcess(t, avahi, avahiLog)
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(avahiLog.String(), "Server startup complete") {
		select {
		case err := <-avahiDone:
			t.Fatalf("the client's avahi-daemon exited: %v\n%s", err, avahiLog.String())
		default:
		}
		require.True(t, time.Now().Before(deadline), "the client's avahi-daemon did not start:\n%s", avahiLog.String())
		time.Sleep(200 * time.Millisecond)
	}

	browse := func() string {
		out, _ := lab("exec", "--ns", "wac", "--", "env", busEnv,
			"timeout", "20", "avahi-browse", "-d", zone, "-r", "-t", "-p", "-k", "_ipp._tcp")
		return out
	}
	// A resolved line of avahi-browse -p -k (names escaped as in DNS
	// presentation format, "n/a" for the interface and protocol of a
	// wide-area answer): =;IFACE;PROTO;NAME;TYPE;DOMAIN;HOST;ADDRESS;PORT;TXT
	var resolved []string
	srv.waitFor(t, "avahi-browse to resolve the printer through unicast DNS", 60*time.Second, func() bool {
		resolved = resolved[:0]
		for line := range strings.SplitSeq(browse(), "\n") {
			if f := strings.Split(line, ";"); len(f) >= 10 && f[0] == "=" && f[3] == `Wide\032Printer` {
				resolved = f
				return true
			}
		}
		return false
	})
	assert.Equal(t, "n/a", resolved[1], "a wide-area answer, not one heard on an interface")
	assert.Equal(t, "_ipp._tcp", resolved[4])
	assert.Equal(t, zone, resolved[5], "found in the published domain, not .local")
	assert.Equal(t, prefix+"-adv."+zone, resolved[6], "the host name rewritten into the zone")
	assert.Equal(t, "198.18.0.1", resolved[7], "the advertiser's address")
	assert.Equal(t, "631", resolved[8])
	for _, kv := range []string{`"txtvers=1"`, `"rp=ipp/print"`, `"ty=Wide Area"`} {
		assert.Contains(t, resolved[9], kv)
	}

	// The goodbye takes it out of the zone, and out of what the client
	// browses.
	_, err = lab("unpublish", "Wide Printer", "_ipp._tcp")
	require.NoError(t, err)
	srv.waitFor(t, "the printer gone from the zone", 30*time.Second, func() bool {
		return !strings.Contains(dig("+short", "_ipp._tcp."+zone+".", "PTR"), "Wide")
	})
	// The client may hold the answers it had for their TTL (at most
	// mdns.publish_max_ttl, 10 s).
	srv.waitFor(t, "the printer gone from the client's browse", 30*time.Second, func() bool {
		return !strings.Contains(browse(), `Wide\032Printer`)
	})
}
