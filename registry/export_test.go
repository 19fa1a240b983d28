package registry

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The CSV export of the full registry reads back as the same records.
func TestWriteCSVRoundTrip(t *testing.T) {
	for _, name := range []string{ianaXML, ianaCSV} {
		t.Run(name, func(t *testing.T) {
			s := sharedSnapshot(t, name)
			var buf bytes.Buffer
			require.NoError(t, WriteCSV(&buf, s))
			assert.True(t, strings.HasPrefix(buf.String(), strings.Join(csvHeader[:], ",")+"\r\n"), "IANA's header")
			src, err := ParseCSV(&buf, "export.csv")
			require.NoError(t, err)
			assert.Empty(t, src.Problems)
			want := s.Records()
			require.Len(t, src.Records, len(want))
			for i := range want {
				a, b := want[i], src.Records[i]
				a.Source, a.Line, b.Source, b.Line = "", 0, "", 0
				require.Equal(t, a, b, "record %d (%s %d/%s)", i, a.Name, a.PortLow, a.Protocol)
			}
		})
	}
}

// servicesEntries is what a services file says: "name port/proto" for
// each entry and alias, the alias marked with the name it follows.
func servicesEntries(recs []Record) map[string]string {
	out := map[string]string{}
	for _, r := range recs {
		out[fmt.Sprintf("%s %d/%s", strings.ToLower(r.Name), r.PortLow, r.Protocol)] = strings.ToLower(r.AliasOf)
	}
	return out
}

func TestWriteServicesRoundTrip(t *testing.T) {
	s := sharedSnapshot(t, ianaXML)
	var buf bytes.Buffer
	n, err := WriteServices(&buf, s, ServicesOptions{Header: []string{"test export"}, DNSSDNames: true})
	require.NoError(t, err)
	out := buf.String()
	src, err := ParseServices(strings.NewReader(out), "export.services")
	require.NoError(t, err)
	assert.Empty(t, src.Problems, "our parser reads every line")
	got := servicesEntries(src.Records)

	// Every named record with a port and protocol is an entry or an alias.
	want := 0
	for _, r := range s.Records() {
		if r.Name == "" || !r.HasPort() || r.Protocol == ProtoNone || !servicesName(r.Name) {
			continue
		}
		want++
		k := fmt.Sprintf("%s %d/%s", strings.ToLower(r.Name), r.PortLow, r.Protocol)
		alias, ok := got[k]
		require.True(t, ok, "%s missing", k)
		if alias != "" {
			assert.Equal(t, strings.ToLower(r.AliasOf), alias, k)
		}
	}
	assert.Greater(t, n, 10000)
	assert.LessOrEqual(t, n, want)

	// The forms users look for, as netbase writes them.
	assert.Regexp(t, `(?m)^http +80/tcp +www www-http # World Wide Web HTTP$`, out)
	assert.Regexp(t, `(?m)^x11 +6000/tcp .*\(ports 6000-6063\)$`, out)
	assert.Regexp(t, `(?m)^# ippc +`, out, "DNS-SD names as comments")
	assert.Regexp(t, `(?m)^# test export$`, out)
	assert.NotContains(t, out, "\n\n\n")
	without, err := func() (string, error) {
		var b bytes.Buffer
		_, err := WriteServices(&b, s, ServicesOptions{})
		return b.String(), err
	}()
	require.NoError(t, err)
	assert.NotRegexp(t, `(?m)^# ippc `, without)
}

// A services file read and written again keeps its entries and aliases.
func TestWriteServicesFromServices(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "services", "good.services"))
	require.NoError(t, err)
	src, err := ParseServices(bytes.NewReader(in), "in.services")
	require.NoError(t, err)
	s, err := Build(src)
	require.NoError(t, err)
	var buf bytes.Buffer
	_, err = WriteServices(&buf, s, ServicesOptions{})
	require.NoError(t, err)
	again, err := ParseServices(&buf, "out.services")
	require.NoError(t, err)
	assert.Equal(t, servicesEntries(src.Records), servicesEntries(again.Records))
}

func TestWriteJSONLines(t *testing.T) {
	s := sharedSnapshot(t, ianaXML)
	var buf bytes.Buffer
	require.NoError(t, WriteJSONLines(&buf, s))
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	assert.Len(t, lines, len(s.Records()))
	assert.Contains(t, buf.String(), `"name":"http"`)
}
