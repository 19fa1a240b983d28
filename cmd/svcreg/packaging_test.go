package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/internal/testutil"
)

// TestSystemdUnit runs `systemd-analyze verify` on packaging/svcreg.service
// with ExecStart pointing at the freshly built binary.
func TestSystemdUnit(t *testing.T) {
	analyze := testutil.RequireTool(t, "systemd-analyze", "systemd")
	bin := svcregBinary(t)
	b, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), "packaging", "svcreg.service"))
	require.NoError(t, err)
	unit := string(b)
	require.Contains(t, unit, "ExecStart=/usr/local/bin/svcreg serve --config /etc/svcreg/svcreg.yml")
	for _, want := range []string{"DynamicUser=yes", "CacheDirectory=svcreg", "ExecReload=/bin/kill -HUP $MAINPID",
		"NoNewPrivileges=yes", "ProtectSystem=strict"} {
		assert.Contains(t, unit, "\n"+want+"\n")
	}
	path := filepath.Join(t.TempDir(), "svcreg.service")
	require.NoError(t, os.WriteFile(path, []byte(strings.ReplaceAll(unit, "/usr/local/bin/svcreg", bin)), 0o644))
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Empty(t, strings.TrimSpace(string(out)), "systemd-analyze verify is silent")
}

// TestDockerfile checks what the image must be, since no Docker
// engine runs here: static build, embedded registry, non-root runtime,
// the ports, a shell-free healthcheck through the binary.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), "Dockerfile"))
	require.NoError(t, err)
	df := string(b)
	for _, re := range []string{
		`(?m)^FROM golang:\S+ AS build$`,
		`CGO_ENABLED=0`,
		`svcreg-bootstrap fetch --url "\$\{REGISTRY_URL\}" --out internal/embedded/registry.xml`,
		`go build -tags ianaembed `,
		`(?m)^FROM gcr.io/distroless/static-debian12:nonroot$`,
		`(?m)^USER nonroot:nonroot$`,
		`(?m)^EXPOSE 5300/udp 5300/tcp 8053$`,
		`(?m)^HEALTHCHECK .*\n\s+CMD \["/usr/local/bin/svcreg", "healthcheck"`,
		`(?m)^ENTRYPOINT \["/usr/local/bin/svcreg"\]$`,
	} {
		assert.Regexp(t, regexp.MustCompile(re), df)
	}
	// The embedded file path is the one the ianaembed package embeds.
	src, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), "internal", "embedded", "embed.go"))
	require.NoError(t, err)
	assert.Contains(t, string(src), "//go:embed registry.xml")
}
