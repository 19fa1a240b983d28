package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testZone = `$ORIGIN services.internal.
$TTL 3600
services.internal.	3600	IN	SOA	ns1.services.internal. hostmaster.services.internal. 2024122000 3600 600 1209600 300
services.internal.	3600	IN	TXT	"registry-updated=2024-12-20"
_http._tcp.services.internal.	3600	IN	TXT	"name=http"
_http._tcp.services.internal.	3600	IN	SRV	0 0 80 services.internal.
_xmpp._tcp.services.internal.	3600	IN	TXT	"name=xmpp"
_80._tcp.services.internal.	3600	IN	TXT	"port=80"
_80._udp.services.internal.	3600	IN	TXT	"port=80"
_printer._sub._http._tcp.services.internal.	3600	IN	TXT	"subtype=printer"
_services._dns-sd._udp.services.internal.	3600	IN	PTR	_http._tcp.services.internal.
`

func TestQueryMix(t *testing.T) {
	path := filepath.Join(t.TempDir(), "z.zone")
	require.NoError(t, os.WriteFile(path, []byte(testZone), 0o644))
	var out, errb bytes.Buffer
	require.Equal(t, 0, run([]string{"-zone-file", path, "-n", "20000", "-seed", "7"}, &out, &errb), errb.String())
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	require.Len(t, lines, 20000)
	count := map[string]int{}
	for _, l := range lines {
		switch l {
		case "_http._tcp.services.internal. TXT", "_xmpp._tcp.services.internal. TXT":
			count["serviceTXT"]++
		case "_http._tcp.services.internal. SRV":
			count["serviceSRV"]++
		case "_80._tcp.services.internal. TXT":
			count["portTXT"]++
		default:
			require.Regexp(t, `^_nx-[0-9a-f]{8}\._tcp\.services\.internal\. (TXT|SRV)$`, l)
			count["nonexistent"]++
		}
	}
	for kind, pct := range map[string]int{"serviceTXT": 55, "serviceSRV": 20, "portTXT": 15, "nonexistent": 10} {
		assert.InDelta(t, pct*200, count[kind], 400, kind)
	}

	var again bytes.Buffer
	require.Equal(t, 0, run([]string{"-zone-file", path, "-n", "20000", "-seed", "7"}, &again, &errb))
	assert.Equal(t, out.String(), again.String(), "same seed, same file")
}

func TestQueryMixBadZone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "z.zone")
	require.NoError(t, os.WriteFile(path, []byte("$ORIGIN x.\nx. 60 IN A 192.0.2.1\n"), 0o644))
	var out, errb bytes.Buffer
	assert.Equal(t, 1, run([]string{"-zone-file", path}, &out, &errb))
	assert.Contains(t, errb.String(), "no SOA")
	assert.Equal(t, 2, run(nil, &out, &errb))
}
