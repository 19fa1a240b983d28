package main

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tsig-keygen's three forms carry one secret; svcreg's form is a config
// file config check accepts, and two keys differ.
func TestTSIGKeygen(t *testing.T) {
	code, out, errOut := runCmd(t, "tsig-keygen", "--json", "--algorithm", "hmac-sha512", "Transfer.Services.Internal")
	require.Equal(t, exitOK, code, errOut)
	var k struct{ Name, Algorithm, Secret string }
	require.NoError(t, json.Unmarshal([]byte(out), &k))
	assert.Equal(t, "transfer.services.internal.", k.Name)
	assert.Equal(t, "hmac-sha512", k.Algorithm)
	raw, err := base64.StdEncoding.DecodeString(k.Secret)
	require.NoError(t, err)
	assert.Len(t, raw, 64)

	code, out, _ = runCmd(t, "tsig-keygen", "transfer.services.internal")
	require.Equal(t, exitOK, code)
	svcregForm, rest, ok := strings.Cut(out, "\n\n")
	require.True(t, ok, out)
	assert.Contains(t, rest, `key "transfer.services.internal." {`)
	assert.Contains(t, rest, "  - id: transfer.services.internal.")
	cfg := filepath.Join(t.TempDir(), "svcreg.yml")
	require.NoError(t, os.WriteFile(cfg, []byte(svcregForm+"\n"), 0o600))
	code, out, errOut = runCmd(t, "config", "check", "--config", cfg, "--registry", "builtin")
	require.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "tsig_keys:")

	_, first, _ := runCmd(t, "tsig-keygen", "-q", "k.example")
	_, second, _ := runCmd(t, "tsig-keygen", "-q", "k.example")
	assert.NotEqual(t, first, second)
	code, _, errOut = runCmd(t, "tsig-keygen")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "one key NAME expected")
}
