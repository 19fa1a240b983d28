package web

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/mdns"
)

// searchQueries are the benchmark's queries over the full registry, from
// one exact hit to the worst case ("a" matches most records, so the page
// lists maxRows rows).
var searchQueries = []string{"ipp", "_ipp._tcp", "631", "631/udp", "printing protocol", "a"}

// TestFullRegistry runs the pages against the official registry.
func TestFullRegistry(t *testing.T) {
	h := newHandler(t, fullSnapshot(t), nil)
	tests := []struct {
		target string
		want   []string
	}{
		{"/search?q=ipp", []string{`<a href="/services/ipp">ipp</a>`, `/services/ipps`, "Exact match"}},
		{"/search?q=_ipp._tcp", []string{`/ports/tcp/631`}},
		{"/search?q=631", []string{`/services/ipp`}},
		{"/search?q=printing", []string{`/services/ipp`}},
		{"/services/ipp", []string{"dig @127.0.0.1 -p 5300 _ipp._tcp.services.internal. SRV", "https://www.rfc-editor.org/rfc/rfc8011"}},
		{"/services/www", []string{`use <a href="/services/http">http</a> instead`}},
		{"/services/http", []string{`<a href="/services/www">www</a>`, `<td data-label="Key"><code>path</code></td>`}},
		{"/services/www-http", []string{`<li><code>_printer</code></li>`, `use <a href="/services/http">http</a>`}},
		{"/ports/tcp/631", []string{`/services/ipp`}},
		{"/services/914c%2Fg", []string{"<h1>Service <code>914c/g</code></h1>", "not a valid RFC 6335 service name"}},
		{"/search?q=914c/g", []string{`<a href="/services/914c%2Fg">914c/g</a>`}},
		{"/ports/udp/60000", []string{"st-dynamic"}},
		{"/search?q=6000-6063", []string{`/services/x11`, "Ports 6000-6063: every registration overlapping the range"}},
		{"/search?q=_ipp._tcp.local.", []string{`/ports/tcp/631`, "Exact match"}},
		{"/search?q=Multicast+DNS", []string{`/services/mdns`}},
		{"/search?q=RFC8011", []string{`/services/ipp`}},
		{"/search?q=htpp", []string{`Did you mean`, `<a href="/services/http">http</a>`}},
		{"/search?q=ippc", []string{`<td data-label="Protocol"><span class="muted" title="no transport protocol registered">-</span></td>`}},
	}
	for _, tt := range tests {
		res := get(t, h, tt.target)
		require.Equal(t, http.StatusOK, res.Status, tt.target)
		for _, w := range tt.want {
			assert.Contains(t, res.Body, w, tt.target)
		}
	}
	// Related services come before loose substring matches.
	body := get(t, h, "/search?q=ipp").Body
	for _, pair := range [][2]string{{"/services/ipps", "/services/pwgippfax"}, {"/services/pwgippfax", "/services/hippad"}} {
		assert.Less(t, strings.Index(body, pair[0]), strings.Index(body, pair[1]), "%s before %s", pair[0], pair[1])
	}
	assert.Regexp(t, `<dt>Records</dt><dd>\d{1,3}(,\d{3})+</dd>`, get(t, h, "/").Body, "thousands separators")
	res := get(t, h, "/search?q=a")
	assert.Equal(t, maxRows, strings.Count(res.Body, "</tr>")-1, "the page lists maxRows rows plus the header")
	assert.Contains(t, res.Body, "the first 500 shown")
}

// TestSearchRenderTime: a search over the full registry must render in
// under 50 ms of server time. The median of several runs of
// each query is compared (raceFactor allows for the race detector).
func TestSearchRenderTime(t *testing.T) {
	h := newHandler(t, fullSnapshot(t), nil)
	limit := 50 * time.Millisecond * raceFactor
	for _, q := range searchQueries {
		var d []time.Duration
		for range 7 {
			start := time.Now()
			res := get(t, h, "/search?q="+url.QueryEscape(q))
			d = append(d, time.Since(start))
			require.Equal(t, http.StatusOK, res.Status)
		}
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		t.Logf("q=%q median %v", q, d[len(d)/2])
		assert.Less(t, d[len(d)/2], limit, "q=%q", q)
	}
}

// BenchmarkSearch renders the whole search page (handler, index, template)
// over the full registry; ns/op is the server time of one page.
func BenchmarkSearch(b *testing.B) {
	h := newHandler(b, fullSnapshot(b), nil)
	for _, q := range searchQueries {
		b.Run(strings.NewReplacer(" ", "_", "/", "-").Replace(q), func(b *testing.B) {
			target := "/search?q=" + url.QueryEscape(q)
			b.ReportAllocs()
			for b.Loop() {
				if res := get(b, h, target); res.Status != http.StatusOK {
					b.Fatalf("status %d", res.Status)
				}
			}
		})
	}
}

// BenchmarkServicePage renders /services/http, one of the longest pages.
func BenchmarkServicePage(b *testing.B) {
	h := newHandler(b, fullSnapshot(b), nil)
	b.ReportAllocs()
	for b.Loop() {
		get(b, h, "/services/http")
	}
}

// BenchmarkBuildIndex is the one-off cost after each registry reload: a
// fresh snapshot's search index.
func BenchmarkBuildIndex(b *testing.B) {
	snap := fullSnapshot(b)
	b.ReportAllocs()
	for b.Loop() {
		snap.WithProfiles(snap.Profiles()).PrepareSearch()
	}
}

// BenchmarkLANFragment renders the live part of /lan, which every open tab
// fetches after a change, for LANs of 100 and 1000 advertisements (each
// with two findings).
func BenchmarkLANFragment(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			lan := newFakeLAN()
			for i := range n {
				lan.ads = append(lan.ads, *testAd(fmt.Sprintf("Printer %04d", i), "_ipp", 631,
					mdns.Finding{Rule: mdns.RuleTXTUnknownKey, Severity: mdns.SeverityWarning, Message: "key note is not registered", RFC: "RFC 6763 section 6.4", Evidence: "note"},
					mdns.Finding{Rule: mdns.RuleTTL, Severity: mdns.SeverityInfo, Message: "SRV TTL 60, recommended 120", RFC: "RFC 6762 section 10"}))
			}
			h := newHandler(b, smallSnapshot(b), lan)
			b.ReportAllocs()
			for b.Loop() {
				get(b, h, "/lan/fragment")
			}
		})
	}
}
