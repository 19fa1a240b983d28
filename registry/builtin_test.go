package registry

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/internal/testutil"
)

func TestBuiltinTable(t *testing.T) {
	src := Builtin()
	assert.Equal(t, BuiltinName, src.Name)
	assert.Equal(t, FormatBuiltin, src.Format)
	assert.Empty(t, src.Problems)
	// The common types the README names, and the matter pair; the
	// profiles of unregistered types are not part of the table.
	for _, typ := range []string{
		"_http._tcp", "_https._tcp", "_ipp._tcp", "_ipps._tcp", "_printer._tcp", "_pdl-datastream._tcp",
		"_scanner._tcp", "_airplay._tcp", "_raop._tcp", "_googlecast._tcp",
		"_hap._tcp", "_hap._udp", "_matter._tcp", "_matterc._udp", "_ssh._tcp", "_sftp-ssh._tcp", "_smb._tcp",
		"_afpovertcp._tcp", "_nfs._tcp", "_webdav._tcp", "_webdavs._tcp", "_daap._tcp", "_dpap._tcp", "_rfb._tcp",
		"_workstation._tcp", "_device-info._tcp", "_sleep-proxy._udp", "_mqtt._tcp",
		"_homekit._tcp", "_ftp._tcp", "_telnet._tcp", "_rtsp._tcp", "_sip._udp",
		"_xmpp-client._tcp", "_ldap._tcp", "_kerberos._udp", "_domain._udp", "_ntp._udp", "_snmp._udp",
	} {
		q, err := ParseQuery(typ)
		require.NoError(t, err)
		found := false
		for _, r := range src.Records {
			if r.Name == q.Name && r.Protocol == q.Protocol {
				found = true
			}
		}
		assert.True(t, found, "built-in table lacks %s", typ)
	}
	for _, r := range src.Records {
		assert.NotContains(t, []string{"uscan", "uscans", "companion-link", "spotify-connect", "esphomelib"}, r.Name,
			"an unregistered type in the built-in registry")
	}
	seen := map[string]bool{}
	for _, r := range src.Records {
		key := r.Name + "/" + string(r.Protocol)
		assert.False(t, seen[key], "%s twice", key)
		seen[key] = true
		assert.True(t, r.ValidName(), "%s is not an RFC 6335 name", r.Name)
		assert.Contains(t, []Protocol{ProtoTCP, ProtoUDP}, r.Protocol, key)
		assert.Equal(t, StatusAssigned, r.Status, key)
		assert.NotEmpty(t, r.Description, key)
		assert.Equal(t, BuiltinName, r.Source, key)
		assert.Positive(t, r.Line, key)
		if r.HasPort() {
			assert.Equal(t, r.PortLow, r.PortHigh, key)
			assert.LessOrEqual(t, r.PortHigh, int32(65535), key)
		} else {
			assert.Equal(t, int32(-1), r.PortHigh, key)
		}
		switch r.TXTKeys.Kind {
		case TXTDefined:
			assert.NotEmpty(t, r.TXTKeys.Keys, key)
		default:
			assert.Empty(t, r.TXTKeys.Keys, key)
		}
		for _, k := range r.TXTKeys.Keys {
			name := strings.TrimSuffix(k.Name, "*")
			assert.True(t, plausibleKey(name) || multiWordKeys[name], "%s: key %q", key, k.Name)
		}
	}
	// Each call is a fresh copy: callers may not change each other's table.
	a, b := Builtin(), Builtin()
	a.Records[0].TXTKeys.Keys[0].Name = "changed"
	a.Records[0].Subtypes[0] = "changed"
	assert.NotEqual(t, "changed", b.Records[0].TXTKeys.Keys[0].Name)
	assert.NotEqual(t, "changed", b.Records[0].Subtypes[0])
}

// The table is ours, but where the IANA registry assigns the same name and
// protocol a port, the ports must agree; and where the registry defines
// TXT keys, ours must include them, except where the registry is wrong or
// we know less.
func TestBuiltinAgreesWithIANA(t *testing.T) {
	snap := ianaSnapshot(t)
	profiles := BuiltinProfiles()
	compared := 0
	for _, b := range Builtin().Records {
		prof := profiles.Lookup(b.Name, b.Protocol)
		require.NotNil(t, prof, b.Name)
		// ByType includes the registry's protocol-less DNS-SD names.
		for _, r := range snap.ByType(b.Name, b.Protocol) {
			if b.HasPort() && r.HasPort() {
				compared++
				assert.Equal(t, r.PortLow, b.PortLow, "port of %s/%s (IANA %s:%d)", b.Name, b.Protocol, r.Source, r.Line)
			}
			if r.TXTKeys.Kind == TXTDefined {
				for _, k := range r.TXTKeys.Keys {
					// The profile's dk* covers IANA's "dkX".
					assert.NotNil(t, prof.Key(k.Name), "%s/%s: IANA defines TXT key %q, the profile lacks it", b.Name, b.Protocol, k.Name)
				}
			}
		}
	}
	assert.Greater(t, compared, 30, "ports compared with the registry")
}

func TestBuiltinSnapshot(t *testing.T) {
	snap, err := Build(Builtin())
	require.NoError(t, err)
	ipp := snap.ByType("IPP", ProtoTCP)
	require.Len(t, ipp, 1)
	assert.True(t, ipp[0].TXTKeys.Has("rp"))
	var at631 []string
	for _, r := range snap.ByPort(631, ProtoTCP) {
		at631 = append(at631, r.Name)
	}
	assert.ElementsMatch(t, []string{"ipp", "ipps"}, at631)
	assert.Len(t, snap.ByType("hap", ProtoUDP), 1)
	assert.Empty(t, snap.Conflicts())
}

func TestDefaultSources(t *testing.T) {
	dir := t.TempDir()
	services := filepath.Join(dir, "services")
	require.NoError(t, os.WriteFile(services, []byte("http 80/tcp www # web\nrtmp 1/ddp\n"), 0o644))
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	t.Run("services file and built-in table", func(t *testing.T) {
		logs.Reset()
		srcs, err := DefaultSources(context.Background(), services, logger)
		require.NoError(t, err)
		require.Len(t, srcs, 2)
		assert.Equal(t, "services", srcs[0].Name)
		assert.Equal(t, FormatServices, srcs[0].Format)
		assert.Len(t, srcs[0].Records, 2)
		assert.Equal(t, BuiltinName, srcs[1].Name)
		out := logs.String()
		assert.Contains(t, out, `msg="registry: using the host's services file" path=`+services+" records=2 skipped_lines=1")
		assert.Contains(t, out, `services:2: protocol \"ddp\"`)
		assert.Contains(t, out, "msg=\"registry: using the built-in table of common DNS-SD service types\" records=")
		// The built-in table comes last, so it wins http/tcp/80.
		snap, err := Build(srcs...)
		require.NoError(t, err)
		http := snap.ByType("http", ProtoTCP)
		require.Len(t, http, 1)
		assert.Equal(t, BuiltinName, http[0].Source)
		www := snap.ByName("www")
		require.Len(t, www, 1)
		assert.Equal(t, StatusAlias, www[0].Status)
		assert.Equal(t, "http", www[0].AliasOf)
	})
	t.Run("no services file", func(t *testing.T) {
		logs.Reset()
		missing := filepath.Join(dir, "nope")
		srcs, err := DefaultSources(context.Background(), missing, logger)
		require.NoError(t, err)
		require.Len(t, srcs, 1)
		assert.Equal(t, BuiltinName, srcs[0].Name)
		assert.Contains(t, logs.String(), `msg="registry: no services file, using the built-in table alone" path=`+missing)
	})
	t.Run("unusable services file", func(t *testing.T) {
		bad := filepath.Join(dir, "bad")
		require.NoError(t, os.WriteFile(bad, []byte("rtmp 1/ddp\n"), 0o644))
		_, err := DefaultSources(context.Background(), bad, logger)
		require.Error(t, err)
		assert.ErrorIs(t, err, ErrSyntax)
		assert.True(t, strings.HasPrefix(err.Error(), "loading "+bad+": bad:1: no usable service entries"), err.Error())
	})
	t.Run("unreadable services file", func(t *testing.T) {
		_, err := DefaultSources(context.Background(), dir, logger) // a directory
		require.Error(t, err)
		assert.Contains(t, err.Error(), dir)
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := DefaultSources(ctx, services, logger)
		assert.ErrorIs(t, err, context.Canceled)
	})
	t.Run("nil logger and default path", func(t *testing.T) {
		srcs, err := DefaultSources(context.Background(), "", nil)
		if err != nil {
			if testutil.InCI() {
				t.Fatalf("host %s unusable: %v (Debian package netbase)", DefaultServicesPath, err)
			}
			t.Skipf("host %s unusable: %v (Debian package netbase)", DefaultServicesPath, err)
		}
		assert.Equal(t, BuiltinName, srcs[len(srcs)-1].Name)
	})
}

// docs/registry.md lists the built-in table; it must not drift from the
// code.
func TestBuiltinDocumented(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), "docs", "registry.md"))
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(b), "## The built-in default table")
	require.True(t, ok)
	section, _, _ = strings.Cut(section, "\n## ")
	var documented []string
	for _, l := range strings.Split(section, "\n") {
		if strings.HasPrefix(l, "| `_") {
			documented = append(documented, l)
		}
	}
	var want []string
	for _, r := range Builtin().Records {
		port := "-"
		if r.HasPort() {
			port = strconv.Itoa(int(r.PortLow))
		}
		txt := "-"
		switch {
		case len(r.TXTKeys.Keys) > 0:
			var ks []string
			for _, k := range r.TXTKeys.Keys {
				ks = append(ks, k.Name)
			}
			txt = strings.Join(ks, ", ")
		case r.TXTKeys.Kind != TXTUnknown:
			txt = r.TXTKeys.Kind.String()
		}
		want = append(want, "| `_"+r.Name+"._"+string(r.Protocol)+"` | "+port+" | "+r.Description+" | "+txt+" |")
	}
	assert.Equal(t, want, documented)
}
