package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/internal/testutil"
	"github.com/svcreg/svcreg/mdns"
	"github.com/svcreg/svcreg/proxy"
	"github.com/svcreg/svcreg/registry"
)

const services = `http		80/tcp		www		# WorldWideWeb HTTP
domain		53/tcp				# Domain Name Server
domain		53/udp
kerberos	88/tcp		kerberos5 krb5	# Kerberos v5
`

func testSnapshot(t testing.TB) *registry.Snapshot {
	t.Helper()
	src, err := registry.ParseServices(strings.NewReader(services), "services")
	require.NoError(t, err)
	snap, err := registry.Build(src, registry.Builtin())
	require.NoError(t, err)
	return snap
}

type fakeLAN struct {
	ads      []mdns.Advertisement
	findings []mdns.Finding
}

func (f *fakeLAN) Advertisements() []mdns.Advertisement { return f.ads }
func (f *fakeLAN) Findings() []mdns.Finding             { return f.findings }

func get(t *testing.T, h http.Handler, method, path string) (int, http.Header, []byte) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec.Code, rec.Header(), rec.Body.Bytes()
}

func TestAPI(t *testing.T) {
	snap := testSnapshot(t)
	lan := &fakeLAN{
		ads:      []mdns.Advertisement{{Instance: "Office Printer", Service: "_ipp", Proto: "_tcp", Domain: "local", Port: 631}},
		findings: []mdns.Finding{{Rule: "txt-unknown-key", Severity: mdns.SeverityWarning, Instance: "Office Printer", ServiceType: "_ipp._tcp"}},
	}
	h, err := New(Options{Store: registry.NewStore(snap), LAN: lan})
	require.NoError(t, err)

	tests := []struct {
		name, method, path string
		status             int
		contains           []string // substrings of the body
	}{
		{"search", "GET", "/v1/search?q=http", 200, []string{`"kind": "name"`, `"name": "http"`, `"rank": "exact"`,
			`"protocols": [`, `"did_you_mean": []`}},
		{"search DNS-SD type with domain", "GET", "/v1/search?q=_http._tcp.local.", 200, []string{`"name": "http"`, `"protocols": [
        "tcp"
      ]`}},
		{"search port", "GET", "/v1/search?q=53/udp", 200, []string{`"kind": "port"`, `"name": "domain"`}},
		{"search range", "GET", "/v1/search?q=50-100", 200, []string{`"kind": "range"`, `"name": "http"`, `"name": "domain"`}},
		{"search words", "GET", "/v1/search?q=web+applications", 200, []string{`"rank": "text"`, `"name": "http"`}},
		{"search near miss", "GET", "/v1/search?q=htpp", 200, []string{`"total": 0`, `"groups": []`, `"did_you_mean": [
    "http"`}},
		{"search limit", "GET", "/v1/search?q=h&limit=1", 200, []string{`"count": 1`}},
		{"search no query", "GET", "/v1/search", 400, []string{"missing query"}},
		{"search bad limit", "GET", "/v1/search?q=http&limit=0", 400, []string{"want 1 to 500"}},
		{"search bad range", "GET", "/v1/search?q=90-50", 400, []string{"ends before it starts"}},
		{"service", "GET", "/v1/services/http", 200, []string{`"query": "http"`, `"port": 80`, `"protocol": "tcp"`}},
		{"service case-insensitive", "GET", "/v1/services/KERBEROS", 200, []string{`"port": 88`}},
		{"service DNS-SD type", "GET", "/v1/services/_domain._udp", 200, []string{`"protocol": "udp"`}},
		{"service with proto", "GET", "/v1/services/domain?proto=udp", 200, []string{`"protocol": "udp"`}},
		{"alias", "GET", "/v1/services/www", 200, []string{`"status": "alias"`, `"alias_of": "http"`}},
		{"service unknown", "GET", "/v1/services/nosuchservice", 404, []string{`"error": "no service named \"nosuchservice\""`, `"status": 404`}},
		{"service is a port", "GET", "/v1/services/80", 400, []string{"is a port"}},
		{"service bad proto", "GET", "/v1/services/http?proto=quic", 400, []string{`unknown protocol \"quic\"`}},
		{"port", "GET", "/v1/ports/tcp/80", 200, []string{`"status": "assigned"`, `"name": "http"`}},
		{"port any", "GET", "/v1/ports/any/53", 200, []string{`"protocol": "udp"`, `"protocol": "tcp"`}},
		{"port unassigned", "GET", "/v1/ports/tcp/4", 200, []string{`"status": "unassigned"`, `"records": []`}},
		{"port dynamic", "GET", "/v1/ports/udp/50000", 200, []string{`"status": "dynamic"`}},
		{"port bad number", "GET", "/v1/ports/tcp/65536", 400, []string{`bad port \"65536\"`}},
		{"port bad proto", "GET", "/v1/ports/icmp/1", 400, []string{`unknown protocol \"icmp\"`}},
		{"registry", "GET", "/v1/registry", 200, []string{`"records":`, `"sources":`, `"name": "builtin"`}},
		{"findings", "GET", "/v1/findings", 200, []string{`"mdns_enabled": true`, `"count": 1`, `"rule": "txt-unknown-key"`}},
		{"advertisements", "GET", "/v1/advertisements", 200, []string{`"count": 1`, `"instance": "Office Printer"`, `"findings": []`}},
		{"unknown endpoint", "GET", "/v1/nothing", 404, []string{`"status": 404`}},
		{"method", "POST", "/v1/registry", 405, []string{`"error": "method POST not allowed"`}},
		{"healthz", "GET", "/healthz", 200, []string{`"status": "ok"`}},
		{"readyz", "GET", "/readyz", 200, []string{`"status": "ready"`}},
		{"index", "GET", "/", 200, []string{`/v1/services/{name}`}},
		{"not found", "GET", "/nothing", 404, []string{`"status": 404`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, hdr, body := get(t, h, tc.method, tc.path)
			assert.Equal(t, tc.status, code, string(body))
			assert.Equal(t, "application/json; charset=utf-8", hdr.Get("Content-Type"))
			assert.True(t, json.Valid(body), "body is JSON: %s", body)
			for _, s := range tc.contains {
				assert.Contains(t, string(body), s)
			}
		})
	}
}

func TestAPIWithoutMDNSOrSnapshot(t *testing.T) {
	store := registry.NewStore(nil)
	h, err := New(Options{Store: store})
	require.NoError(t, err)
	code, _, body := get(t, h, "GET", "/v1/findings")
	assert.Equal(t, 200, code)
	assert.JSONEq(t, `{"mdns_enabled": false, "count": 0, "findings": []}`, string(body))
	code, _, body = get(t, h, "GET", "/v1/advertisements")
	assert.Equal(t, 200, code)
	assert.JSONEq(t, `{"mdns_enabled": false, "count": 0, "advertisements": []}`, string(body))
	code, _, body = get(t, h, "GET", "/v1/published")
	assert.Equal(t, 200, code)
	assert.JSONEq(t, `{"count": 0, "zones": []}`, string(body))
	code, _, body = get(t, h, "GET", "/readyz")
	assert.Equal(t, 503, code)
	assert.JSONEq(t, `{"error": "not ready: no registry loaded yet", "status": 503}`, string(body))
	code, _, _ = get(t, h, "GET", "/v1/services/http")
	assert.Equal(t, 503, code)
	code, _, _ = get(t, h, "GET", "/healthz")
	assert.Equal(t, 200, code, "alive even before the registry loads")
	code, _, _ = get(t, h, "GET", "/metrics")
	assert.Equal(t, 404, code, "no gatherer, no metrics")

	store.Swap(testSnapshot(t))
	code, _, _ = get(t, h, "GET", "/readyz")
	assert.Equal(t, 200, code)

	_, err = New(Options{})
	assert.ErrorIs(t, err, ErrNoStore)
}

func TestReadyFunc(t *testing.T) {
	notReady := errors.New("listeners not up")
	h, err := New(Options{Store: registry.NewStore(testSnapshot(t)), Ready: func() error { return notReady }})
	require.NoError(t, err)
	code, _, body := get(t, h, "GET", "/readyz")
	assert.Equal(t, 503, code)
	assert.Contains(t, string(body), "listeners not up")
	notReady = nil
	code, _, _ = get(t, h, "GET", "/readyz")
	assert.Equal(t, 200, code)
}

func TestUIMountedAtRoot(t *testing.T) {
	ui := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ui:"+r.URL.Path) })
	h, err := New(Options{Store: registry.NewStore(testSnapshot(t)), UI: ui})
	require.NoError(t, err)
	_, _, body := get(t, h, "GET", "/services/http")
	assert.Equal(t, "ui:/services/http", string(body))
	code, _, _ := get(t, h, "GET", "/v1/registry")
	assert.Equal(t, 200, code, "the API wins over the UI for /v1/")
}

func metricsBody(t *testing.T, h http.Handler) string {
	t.Helper()
	code, _, body := get(t, h, "GET", "/metrics")
	require.Equal(t, 200, code)
	return string(body)
}

func TestMetrics(t *testing.T) {
	reg := NewRegistry()
	m, err := NewMetrics(reg, "v1.2.3")
	require.NoError(t, err)
	snap := testSnapshot(t)
	h, err := New(Options{Store: registry.NewStore(snap), Gatherer: reg})
	require.NoError(t, err)

	body := metricsBody(t, h)
	assert.Contains(t, body, `svcreg_registry_reloads_total{result="failure"} 0`, "both results exist from the start")
	assert.Contains(t, body, `svcreg_build_info{goversion="go`)
	assert.Contains(t, body, `version="v1.2.3"} 1`)
	assert.Contains(t, body, "go_goroutines ")
	assert.Contains(t, body, "process_start_time_seconds ")

	now := time.Unix(1_800_000_000, 0)
	m.ObserveLoad(snap, nil, now)
	m.ObserveLoad(nil, errors.New("broken"), now.Add(time.Minute))
	body = metricsBody(t, h)
	st := snap.Stats()
	assert.Contains(t, body, "svcreg_registry_records "+strconv.Itoa(st.Records)+"\n")
	assert.Contains(t, body, "svcreg_registry_services "+strconv.Itoa(st.Names)+"\n")
	assert.Contains(t, body, `svcreg_registry_reloads_total{result="success"} 1`)
	assert.Contains(t, body, `svcreg_registry_reloads_total{result="failure"} 1`)
	assert.Contains(t, body, "svcreg_registry_last_reload_timestamp_seconds 1.8e+09\n", "a failure does not move the timestamp")

	_, err = NewMetrics(reg, "again")
	assert.Error(t, err, "registering twice on one registry fails")

	// /metrics is read-only like the rest of the API.
	for _, method := range []string{"POST", "PUT", "DELETE", "PATCH"} {
		code, hdr, _ := get(t, h, method, "/metrics")
		assert.Equal(t, 405, code, method)
		assert.Equal(t, "GET, HEAD", hdr.Get("Allow"), method)
	}
}

// TestMetricsPromtool runs `promtool check metrics` (the linter node_exporter
// runs in CI) on the real exposition.
func TestMetricsPromtool(t *testing.T) {
	promtool := testutil.RequireTool(t, "promtool", "prometheus")
	reg := NewRegistry()
	m, err := NewMetrics(reg, "devel")
	require.NoError(t, err)
	snap := testSnapshot(t)
	m.ObserveLoad(snap, nil, time.Now())
	h, err := New(Options{Store: registry.NewStore(snap), Gatherer: reg})
	require.NoError(t, err)
	body := metricsBody(t, h)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Run(), "promtool check metrics:\n%s", out.String())
	assert.Empty(t, strings.TrimSpace(out.String()), "promtool reports no lint problems")
}

func TestProbe(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			writeJSON(w, 200, map[string]string{"status": "ok"})
			return
		}
		writeJSON(w, 503, apiError{Error: "not ready: starting", Status: 503})
	}))
	defer ts.Close()
	ctx := context.Background()
	require.NoError(t, Probe(ctx, ts.Client(), ts.URL+"/healthz"))
	err := Probe(ctx, ts.Client(), ts.URL+"/readyz")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "503 not ready: starting")
}

// /v1/services carries the profiles beside the records, and answers a
// type only a profile knows.
func TestAPIServiceProfiles(t *testing.T) {
	snap := testSnapshot(t).WithProfiles(registry.BuiltinProfiles())
	h, err := New(Options{Store: registry.NewStore(snap)})
	require.NoError(t, err)
	var body struct {
		Records  []json.RawMessage `json:"records"`
		Profiles []struct {
			Name       string `json:"name"`
			Registered bool   `json:"registered"`
			Source     string `json:"source"`
		} `json:"profiles"`
	}
	code, _, b := get(t, h, "GET", "/v1/services/_http._tcp")
	require.Equal(t, http.StatusOK, code, string(b))
	require.NoError(t, json.Unmarshal(b, &body))
	assert.NotEmpty(t, body.Records)
	require.Len(t, body.Profiles, 1)
	assert.Equal(t, "http", body.Profiles[0].Name)

	code, _, b = get(t, h, "GET", "/v1/services/_esphomelib._tcp")
	require.Equal(t, http.StatusOK, code, string(b))
	require.NoError(t, json.Unmarshal(b, &body))
	assert.Empty(t, body.Records)
	require.Len(t, body.Profiles, 1)
	assert.False(t, body.Profiles[0].Registered)
	assert.Contains(t, body.Profiles[0].Source, "ESPHome")

	plain, err := New(Options{Store: registry.NewStore(testSnapshot(t))})
	require.NoError(t, err)
	code, _, _ = get(t, plain, "GET", "/v1/services/_esphomelib._tcp")
	assert.Equal(t, http.StatusNotFound, code)
	code, _, b = get(t, plain, "GET", "/v1/services/http")
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, string(b), `"profiles": []`)
}

// TestPublished: /v1/published shows each zone of the discovery proxy,
// with what it left out and why; lists are never null.
func TestPublished(t *testing.T) {
	h, err := New(Options{Store: registry.NewStore(testSnapshot(t)), Published: func() []proxy.Published {
		return []proxy.Published{
			{Interface: "eth0", Zone: "eth0.lan.services.internal.", Policy: "valid", Serial: 7, Instances: 1, Records: 5,
				Excluded: []proxy.Exclusion{{Instance: "Broken", ServiceType: "_ipp._tcp", Reason: "policy valid: txt-format: bad"}}},
			{Interface: "eth1", Zone: "eth1.lan.services.internal.", Policy: "all"},
		}
	}})
	require.NoError(t, err)
	code, _, body := get(t, h, "GET", "/v1/published")
	assert.Equal(t, 200, code)
	assert.JSONEq(t, `{"count": 2, "zones": [
		{"interface": "eth0", "zone": "eth0.lan.services.internal.", "policy": "valid", "serial": 7, "instances": 1, "records": 5,
		 "excluded": [{"instance": "Broken", "service_type": "_ipp._tcp", "reason": "policy valid: txt-format: bad"}], "dropped": []},
		{"interface": "eth1", "zone": "eth1.lan.services.internal.", "policy": "all", "serial": 0, "instances": 0, "records": 0, "excluded": [], "dropped": []}
	]}`, string(body))
}

// TestWriteAdvertisementsMatchesWriteJSON: the advertisement list,
// streamed one element at a time, is byte for byte what encoding the
// whole response at once gives.
func TestWriteAdvertisementsMatchesWriteJSON(t *testing.T) {
	ad := func(name string) mdns.Advertisement {
		return mdns.Advertisement{Instance: name, Service: "_ipp", Proto: "_tcp", Domain: "local",
			TXT: []string{"txtvers=1", "note=<a&b>"}, HasTXT: true, Findings: []mdns.Finding{},
			TTL: mdns.TTLsOf(map[uint16]uint32{12: 4500, 33: 120})}
	}
	tests := []struct {
		name    string
		enabled bool
		ads     []mdns.Advertisement
	}{
		{"mdns off", false, nil},
		{"none yet", true, nil},
		{"one", true, []mdns.Advertisement{ad("Office Printer")}},
		{"three", true, []mdns.Advertisement{ad("A"), ad("B \"quoted\""), ad("Café")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := httptest.NewRecorder()
			list := tt.ads
			if list == nil {
				list = []mdns.Advertisement{}
			}
			writeJSON(want, http.StatusOK, advertisementsResponse{MDNSEnabled: tt.enabled, Count: len(list), Advertisements: list})
			got := httptest.NewRecorder()
			writeAdvertisements(got, tt.enabled, tt.ads)
			assert.Equal(t, want.Body.String(), got.Body.String())
			assert.Equal(t, want.Header(), got.Header())
		})
	}
}
