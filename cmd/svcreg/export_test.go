package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/internal/testutil"
	"github.com/svcreg/svcreg/registry"
)

func TestExport(t *testing.T) {
	xml := ianaXML(t)
	t.Run("services", func(t *testing.T) {
		stdout, stderr, code := cli(t, "export", "-q", "--registry", xml, "--dnssd-names")
		require.Equal(t, exitOK, code, stderr)
		assert.Contains(t, stdout, "# Registry last updated 2026-08-17.")
		assert.Regexp(t, `(?m)^ipp +631/tcp +# `, stdout)
		assert.Regexp(t, `(?m)^# ippc `, stdout)
		src, err := registry.ParseServices(strings.NewReader(stdout), "exported")
		require.NoError(t, err)
		assert.Empty(t, src.Problems)
	})
	t.Run("csv reads back", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "registry.csv")
		_, stderr, code := cli(t, "export", "-q", "--registry", xml, "--format", "csv", "-o", out)
		require.Equal(t, exitOK, code, stderr)
		stdout, stderr, code := cli(t, "lookup", "-q", "--registry", out, "--json", "ipp")
		require.Equal(t, exitOK, code, stderr)
		assert.Contains(t, stdout, `"port":631`)
	})
	t.Run("json", func(t *testing.T) {
		stdout, stderr, code := cli(t, "export", "-q", "--registry", xml, "--format", "json")
		require.Equal(t, exitOK, code, stderr)
		assert.Greater(t, strings.Count(stdout, "\n"), 14000)
	})
	t.Run("zone", func(t *testing.T) {
		stdout, stderr, code := cli(t, "export", "-q", "--registry", xml, "--format", "zone", "--zone", "svc.example.")
		require.Equal(t, exitOK, code, stderr)
		assert.Contains(t, stdout, "_ipp._tcp.svc.example.")
	})
	t.Run("input format flag", func(t *testing.T) {
		_, stderr, code := cli(t, "export", "-q", "--registry", xml, "--registry-format", "csv")
		assert.Equal(t, exitUsage, code)
		assert.Contains(t, stderr, "svcreg export:")
	})
	t.Run("unknown format", func(t *testing.T) {
		_, stderr, code := cli(t, "export", "--registry", xml, "--format", "yaml")
		assert.Equal(t, exitUsage, code)
		assert.Contains(t, stderr, `unknown --format "yaml" (want services, csv, json, zone)`)
	})
}

// The exported services file is one glibc reads: getent services answers
// from it, in a mount namespace whose /etc holds only it and an
// nsswitch.conf using files.
func TestExportServicesGetent(t *testing.T) {
	testutil.RequireRoot(t)
	getent := testutil.RequireTool(t, "getent", "libc-bin")
	unshare := testutil.RequireTool(t, "unshare", "util-linux")
	etc := t.TempDir()
	_, stderr, code := cli(t, "export", "-q", "--registry", ianaXML(t), "-o", filepath.Join(etc, "services"))
	require.Equal(t, exitOK, code, stderr)
	require.NoError(t, os.WriteFile(filepath.Join(etc, "nsswitch.conf"), []byte("services: files\n"), 0o644))

	cases := map[string]string{
		"http":     `^http +80/tcp www www-http$`,
		"www":      `^http +80/tcp www www-http$`,
		"631/udp":  `^ipp +631/udp$`,
		"5353/udp": `^mdns +5353/udp$`,
		"x11":      `^x11 +6000/tcp$`,
		"whois++":  `^whoispp +63/tcp whois\+\+$`,
		"_domain":  ``, // not a name: getent finds nothing
	}
	for key, want := range cases {
		cmd := exec.Command(unshare, "--mount", "--propagation", "private", "sh", "-c",
			`mount --bind "$1" /etc && exec "$2" services "$3"`, "sh", etc, getent, key)
		out, err := cmd.CombinedOutput()
		if want == "" {
			var exitErr *exec.ExitError
			assert.ErrorAs(t, err, &exitErr, "%s: %s", key, out)
			continue
		}
		require.NoError(t, err, "getent services %s: %s", key, out)
		assert.Regexp(t, want, strings.TrimSpace(string(out)), key)
	}
}
