package web

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/mdns"
	"github.com/svcreg/svcreg/registry"
)

func TestNewNeedsStore(t *testing.T) {
	_, err := New(Options{})
	require.ErrorIs(t, err, ErrNoStore)
}

func TestPages(t *testing.T) {
	h := newHandler(t, smallSnapshot(t), nil)
	tests := []struct {
		name    string
		target  string
		status  int
		want    []string
		notWant []string
	}{
		{"home", "/", 200, []string{"<h1>Service names and port numbers</h1>", `<dt>Records</dt><dd>10</dd>`, `action="/search"`}, nil},
		{"empty query is home", "/search?q=", 200, []string{"<h1>Service names and port numbers</h1>"}, nil},
		{"name", "/search?q=ipp", 200,
			// One row for the service: its tcp and udp rows share port 631,
			// so the port links to the page of every protocol.
			[]string{`<a href="/services/ipp">ipp</a>`, `<td data-label="Protocol">tcp, udp</td>`, `<a href="/ports/631">631</a>`,
				"Exact match", "1 service found"}, []string{`/ports/tcp/631`}},
		{"dns-sd type", "/search?q=_ipp._tcp", 200, []string{`/ports/tcp/631`, "1 service found"}, []string{`/ports/udp/631`}},
		{"dns-sd name with domain", "/search?q=_ipp._tcp.local.", 200, []string{`/ports/tcp/631`, "1 service found"}, nil},
		{"lone underscore label", "/search?q=_ipp", 200, []string{`<a href="/ports/631">631</a>`}, nil},
		{"dns-sd type includes DNS-SD-only names", "/search?q=_printer-only._udp", 200, []string{`/services/printer-only`}, nil},
		{"port", "/search?q=631", 200, []string{`/services/ipp`, `Port 631: <span class="status st-assigned">`}, nil},
		{"port and proto", "/search?q=631/udp", 200, []string{`/ports/udp/631`}, []string{`/ports/tcp/631"`}},
		{"unassigned port", "/search?q=635/tcp", 200, []string{`st-unassigned`, "632-639"}, nil},
		{"description words", "/search?q=printing+PROTOCOL", 200, []string{`/services/ipp`}, []string{`/services/http"`}},
		{"txt key", "/search?q=pdl", 200, []string{`/services/ipp`}, nil},
		{"prefix", "/search?q=who", 200, []string{`/services/whoispp`, `/services/whois++`}, nil},
		{"nothing", "/search?q=zzzz-nothing", 200, []string{"0 services found", "Nothing in the registry matches"}, nil},
		{"port out of range", "/search?q=70000", 400, []string{"out of range 0-65535"}, []string{"<table"}},
		{"query too long", "/search?q=" + strings.Repeat("a", 201), 400, []string{"longest accepted is 200"}, nil},
		{"script in query", "/search?q=%3Cscript%3Ealert(1)%3C/script%3E", 200,
			[]string{"&lt;script&gt;alert(1)&lt;/script&gt;"}, []string{"<script>alert"}},
		{"script in attribute", `/search?q=%22%3E%3Cimg+src%3Dx%3E`, 200, []string{`value="&#34;&gt;&lt;img src=x&gt;"`}, []string{`<img src=x>`}},

		{"service", "/services/ipp", 200, []string{
			"<h1>Service <code>ipp</code></h1>",
			`<code id="dig-tcp-srv">dig @127.0.0.1 -p 5300 _ipp._tcp.services.internal. SRV</code>`,
			`<code id="dig-tcp-txt">dig @127.0.0.1 -p 5300 _ipp._tcp.services.internal. TXT</code>`,
			`<code id="dig-udp-srv">dig @127.0.0.1 -p 5300 _ipp._udp.services.internal. SRV</code>`,
			`data-copy="dig-tcp-srv"`,
			`<a href="https://www.rfc-editor.org/rfc/rfc8011" rel="noreferrer">RFC8011</a>`,
			`<td data-label="Key"><code>rp</code></td><td data-label="Hint">&lt;queue name&gt;</td>`,
			`<li><code>_print</code></li>`, `<li><code>_universal</code></li>`,
			`<dt>Registered</dt><dd><time datetime="2001-03-04">2001-03-04</time></dd>`,
			`<dt>Modified</dt><dd><time datetime="2018-07-06">2018-07-06</time></dd>`,
			"2 assignments",
		}, nil},
		{"duplicate", "/services/www", 200, []string{"duplicate that should not be used for discovery", `use <a href="/services/http">http</a> instead`}, nil},
		{"aliased name lists its aliases", "/services/http", 200, []string{`Other names for this service`, `<a href="/services/www">www</a>`,
			`<td data-label="Key"><code>u</code></td><td data-label="Hint">&lt;username&gt;</td>`, `<li><code>_printer</code></li>`}, nil},
		{"historic alias", "/services/whois&#43;&#43;", 404, nil, nil}, // literal entity is not the name
		{"historic alias escaped", "/services/whois%2B%2B", 200, []string{"historic alias", `<a href="/services/whoispp">whoispp</a>`, "not a valid RFC 6335 service name"},
			[]string{"dig @"}},
		{"DNS-SD only", "/services/printer-only", 200, []string{"no port (DNS-SD only)", "None: the TXT record should hold no keys",
			"_printer-only._tcp.services.internal. SRV", "_printer-only._udp.services.internal. SRV"}, nil},
		{"unknown service", "/services/nosuch", 404, []string{"Unknown service name", `no service named &#34;nosuch&#34;`}, nil},
		{"unknown service suggests", "/services/ip", 404, []string{`Did you mean <a href="/services/ipp">ipp</a>`}, nil},
		{"script in service name", "/services/%3Cscript%3Ealert(1)%3C%2Fscript%3E", 404,
			[]string{"&lt;script&gt;alert(1)&lt;/script&gt;"}, []string{"<script>alert"}},

		{"port page", "/ports/tcp/631", 200, []string{"<h1>Port 631/tcp</h1>", `/services/ipp`, `st-assigned`, `href="/ports/udp/631"`, `rel="prev"`}, nil},
		{"port page proto case", "/ports/TCP/80", 200, []string{"<h1>Port 80/tcp</h1>", `/services/http`, `/services/www`}, nil},
		{"port in range", "/ports/tcp/6001", 200, []string{"Covering range", "6000-6063", `/services/x11`}, nil},
		{"unassigned in range", "/ports/tcp/633", 200, []string{"st-unassigned", "632-639", "No service is registered"}, nil},
		{"dynamic", "/ports/udp/50000", 200, []string{"st-dynamic", "Dynamic and/or Private"}, nil},
		{"port 0", "/ports/tcp/0", 200, []string{"st-reserved"}, []string{`rel="prev"`}},
		{"port 65535", "/ports/tcp/65535", 200, nil, []string{`rel="next"`}},
		{"port 70000", "/ports/tcp/70000", 400, []string{"Bad port number", "ports run from 0 to 65535"}, nil},
		{"port 65536", "/ports/udp/65536", 400, []string{"Bad port number"}, nil},
		{"port not a number", "/ports/tcp/http", 400, []string{"Bad port number"}, nil},
		{"negative port", "/ports/tcp/-1", 400, []string{"Bad port number"}, nil},
		{"plus sign port", "/ports/tcp/+80", 400, []string{"Bad port number"}, nil},
		{"long digits", "/ports/tcp/0000000080", 400, []string{"Bad port number"}, nil},
		{"bad protocol", "/ports/ddp/80", 400, []string{"Bad protocol"}, nil},
		{"script in port", "/ports/tcp/%3Cscript%3E", 400, []string{"&lt;script&gt;"}, []string{"<script>"}},

		{"rules", "/rules", 200, []string{"<h1>Validation rules</h1>", `id="rule-txt-format"`,
			`<a href="https://www.rfc-editor.org/rfc/rfc6763#section-6" rel="noreferrer">`}, nil},
		{"unknown path", "/nope", 404, []string{"Page not found"}, nil},
		{"unknown path script", "/%3Cscript%3E", 404, []string{"&lt;script&gt;"}, []string{"<script>"}},
		{"lan off", "/lan", 200, []string{"mDNS monitoring is off", "mdns:\n  interfaces: [eth0]", "--mdns-interface eth0"}, []string{`id="lan-live"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := get(t, h, tt.target)
			assert.Equal(t, tt.status, res.Status, "body:\n%s", res.Body)
			assert.Equal(t, "text/html; charset=utf-8", res.Header.Get("Content-Type"))
			assert.Contains(t, res.Header.Get("Content-Security-Policy"), "default-src 'self'")
			assert.Regexp(t, `^render;dur=\d+\.\d{3}$`, res.Header.Get("Server-Timing"))
			for _, w := range tt.want {
				assert.Contains(t, res.Body, w)
			}
			for _, w := range tt.notWant {
				assert.NotContains(t, res.Body, w)
			}
		})
	}
}

// TestRulesPageListsCatalogue: every rule of the catalogue has a row.
func TestRulesPageListsCatalogue(t *testing.T) {
	res := get(t, newHandler(t, smallSnapshot(t), nil), "/rules")
	require.Equal(t, http.StatusOK, res.Status)
	rules := mdns.Rules()
	require.NotEmpty(t, rules)
	assert.Equal(t, len(rules), strings.Count(res.Body, `<tr id="rule-`))
	for _, r := range rules {
		assert.Contains(t, res.Body, `<tr id="rule-`+r.ID+`">`)
		assert.Contains(t, res.Body, `<span class="badge sev-`+r.Severity.String()+`">`)
		if u := rfcURL(r.RFC); u != "" {
			assert.Contains(t, res.Body, `href="`+u+`"`)
		}
	}
}

func TestMethods(t *testing.T) {
	h := newHandler(t, smallSnapshot(t), nil)
	res := do(t, h, http.MethodPost, "/search?q=ipp")
	assert.Equal(t, http.StatusMethodNotAllowed, res.Status)
	res = do(t, h, http.MethodHead, "/services/ipp")
	assert.Equal(t, http.StatusOK, res.Status)
	assert.Empty(t, res.Body)
	assert.NotEmpty(t, res.Header.Get("Content-Length"))
	res = get(t, h, "/ports/631")
	assert.Equal(t, http.StatusFound, res.Status)
	assert.Equal(t, "/search?q=631", res.Header.Get("Location"))
}

func TestNoSnapshotYet(t *testing.T) {
	h, err := New(Options{Store: registry.NewStore(nil)})
	require.NoError(t, err)
	for _, p := range []string{"/", "/search?q=ipp", "/services/ipp", "/ports/tcp/631"} {
		res := get(t, h, p)
		assert.Equal(t, http.StatusServiceUnavailable, res.Status, p)
		assert.Contains(t, res.Body, "Registry not loaded", p)
	}
	assert.Equal(t, http.StatusOK, get(t, h, "/rules").Status)
	assert.Equal(t, http.StatusOK, get(t, h, "/lan").Status)
}

// TestDigOptions: the dig commands follow the configured server, port and
// zone; an unspecified listen address becomes loopback.
func TestDigOptions(t *testing.T) {
	tests := []struct {
		server string
		port   int
		zone   string
		want   string
	}{
		{"", 0, "", "dig @127.0.0.1 -p 5300 _ipp._tcp.services.internal. SRV"},
		{"192.0.2.1", 53, "Example.ORG", "dig @192.0.2.1 -p 53 _ipp._tcp.example.org. SRV"},
		{"0.0.0.0", 5353, "svc.", "dig @127.0.0.1 -p 5353 _ipp._tcp.svc. SRV"},
		{"::", 5300, "svc.", "dig @::1 -p 5300 _ipp._tcp.svc. SRV"},
		{"::1", 70000, "svc", "dig @::1 -p 5300 _ipp._tcp.svc. SRV"},
	}
	for _, tt := range tests {
		h, err := New(Options{Store: registry.NewStore(smallSnapshot(t)), DNSServer: tt.server, DNSPort: tt.port, Zone: tt.zone})
		require.NoError(t, err)
		res := get(t, h, "/services/ipp")
		require.Equal(t, http.StatusOK, res.Status)
		assert.Contains(t, res.Body, ">"+tt.want+"<")
	}
}

// TestNothingFromOtherHosts: every script, style sheet and image a page
// loads comes from /static/ on this server, and the CSS imports nothing.
func TestNothingFromOtherHosts(t *testing.T) {
	lan := newFakeLAN()
	lan.push(testAd("Printer", "_ipp", 631, mdns.Finding{Rule: "ttl", Severity: mdns.SeverityInfo}))
	h := newHandler(t, smallSnapshot(t), lan)
	load := regexp.MustCompile(`<(?:script|link|img|iframe|source|video|audio|embed|object)\b[^>]*?\s(?:src|href|data)="([^"]*)"`)
	for _, p := range []string{"/", "/search?q=ipp", "/services/ipp", "/ports/tcp/631", "/lan", "/rules", "/nope"} {
		res := get(t, h, p)
		m := load.FindAllStringSubmatch(res.Body, -1)
		require.NotEmpty(t, m, p)
		for _, x := range m {
			assert.True(t, strings.HasPrefix(x[1], "/static/"), "%s loads %s", p, x[1])
			st := get(t, h, x[1])
			assert.Equal(t, http.StatusOK, st.Status, x[1])
			assert.Contains(t, st.Header.Get("Cache-Control"), "immutable", x[1])
		}
	}
	assert.Equal(t, http.StatusNotFound, get(t, h, "/static/").Status, "no directory listing")
	css := get(t, h, "/static/app.css")
	assert.Contains(t, css.Header.Get("Content-Type"), "text/css")
	assert.NotRegexp(t, `(?i)@import|url\(\s*["']?(https?:)?//`, css.Body)
	js := get(t, h, "/static/app.js")
	assert.NotRegexp(t, `(?i)https?://`, js.Body)
}

// TestSearchIndexFollowsSnapshot: the index is per snapshot; a swapped-in
// registry is searched, not the cached one.
func TestSearchIndexFollowsSnapshot(t *testing.T) {
	store := registry.NewStore(smallSnapshot(t))
	hh, err := New(Options{Store: store})
	require.NoError(t, err)
	h := hh
	assert.Contains(t, get(t, h, "/search?q=ipp").Body, "/services/ipp")

	src, err := registry.ParseCSV(strings.NewReader(
		"Service Name,Port Number,Transport Protocol,Description,Assignee,Contact,Registration Date,Modification Date,Reference,Service Code,Unauthorized Use Reported,Assignment Notes\n"+
			"newsvc,4242,tcp,Brand new service,,,,,,,,\n"), "new.csv")
	require.NoError(t, err)
	snap2, err := registry.Build(src)
	require.NoError(t, err)
	store.Swap(snap2)

	res := get(t, h, "/search?q=brand")
	assert.Contains(t, res.Body, "/services/newsvc")
	assert.NotContains(t, get(t, h, "/search?q=ipp").Body, "/services/ipp")
}

// Every form the API accepts for a service leads to its one page.
func TestServiceRedirects(t *testing.T) {
	h := newHandler(t, smallSnapshot(t), nil)
	for from, to := range map[string]string{
		"/services/IPP":                         "/services/ipp",
		"/services/_ipp._tcp":                   "/services/ipp",
		"/services/_ipp._tcp.local.":            "/services/ipp",
		"/services/_printer._sub._http._tcp":    "/services/http",
		"/services/_ipp":                        "/services/ipp",
		"/services/631":                         "/ports/631",
		"/services/631%2Fudp":                   "/ports/udp/631",
		"/services/_631._tcp":                   "/ports/tcp/631",
		"/services/600-700":                     "/search?q=600-700",
		"/services/WHOIS%2B%2B":                 "/services/whois++",
		"/services/_printer-only._udp.example.": "/services/printer-only",
	} {
		res := get(t, h, from)
		assert.Equal(t, http.StatusMovedPermanently, res.Status, from)
		assert.Equal(t, to, res.Header.Get("Location"), from)
	}
	for _, stay := range []string{"/services/ipp", "/services/914c%2Fg", "/services/nosuch", "/services/_nosuch._tcp"} {
		assert.NotEqual(t, http.StatusMovedPermanently, get(t, h, stay).Status, stay)
	}
}

func TestRefURL(t *testing.T) {
	tests := map[string]string{
		"RFC9110":               "https://www.rfc-editor.org/rfc/rfc9110",
		"rfc 0791":              "https://www.rfc-editor.org/rfc/rfc791",
		"draft-ietf-foo-bar-03": "https://datatracker.ietf.org/doc/draft-ietf-foo-bar-03",
		"https://example.org/x": "https://example.org/x",
		"RFCxyz":                "",
		"Jon_Postel":            "",
		"":                      "",
	}
	for in, want := range tests {
		assert.Equal(t, want, refURL(in), in)
	}
}

func TestRFCURL(t *testing.T) {
	tests := map[string]string{
		"RFC 6763 section 6.4":        "https://www.rfc-editor.org/rfc/rfc6763#section-6.4",
		"RFC 6762 sections 11 and 18": "https://www.rfc-editor.org/rfc/rfc6762#section-11",
		"RFC 6335":                    "https://www.rfc-editor.org/rfc/rfc6335",
		"RFC6763 section 7.1":         "https://www.rfc-editor.org/rfc/rfc6763#section-7.1",
		"RFC 6763, section 4.1.1":     "https://www.rfc-editor.org/rfc/rfc6763#section-4.1.1",
		"see the registry":            "",
		"":                            "",
	}
	for in, want := range tests {
		assert.Equal(t, want, rfcURL(in), in)
	}
}

func TestDisplayRaw(t *testing.T) {
	tests := map[string]string{
		"Office Printer":      "Office Printer",
		"Café 1.2":            "Café 1.2",
		"a\x00b":              `a\000b`,
		"tab\there":           `tab\009here`,
		"bad\xffutf8":         `bad\255utf8`,
		"del\x7f":             `del\127`,
		"<script>":            "<script>", // html/template escapes it
		"ok\xe2\x82":          `ok\226\130`,
		"\u00e9t\u00e9\x01\n": `été\001\010`,
	}
	for in, want := range tests {
		assert.Equal(t, want, displayRaw(in), "%q", in)
	}
}

// The service page shows the profile beside the registration, and a type
// only a profile knows has a page of its own.
func TestServicePageProfiles(t *testing.T) {
	snap := smallSnapshot(t).WithProfiles(registry.BuiltinProfiles())
	h := newHandler(t, snap, nil)

	res := get(t, h, "/services/http")
	require.Equal(t, http.StatusOK, res.Status)
	for _, want := range []string{
		`<h2 id="prof-0">Service profile <code>_http._tcp</code></h2>`,
		"<dt>Specification</dt><dd>RFC 6763 section 6 examples and dns-sd.org service type list (u, p, path)</dd>",
		`<td data-label="Key"><code>path</code></td><td data-label="Required">optional</td>`,
		"<code>abspath</code>",
	} {
		assert.Contains(t, res.Body, want)
	}
	assert.Contains(t, res.Body, `id="asg-h"`, "the registration is still shown")

	res = get(t, h, "/services/matterc")
	require.Equal(t, http.StatusOK, res.Status)
	assert.Contains(t, res.Body, "is not in the registry; svcreg knows it from")
	assert.Contains(t, res.Body, `<td data-label="Key"><code>D</code></td><td data-label="Required">required</td>`)
	assert.Contains(t, res.Body, "<code>int 0-4095</code>")
	assert.Contains(t, res.Body, "other keys are reported as warnings")
	assert.Contains(t, res.Body, "<li><code>_L*</code></li>")
	assert.NotContains(t, res.Body, `id="asg-h"`)

	// The registry-only view has no profile section and no page for a
	// name it does not know.
	plain := newHandler(t, smallSnapshot(t), nil)
	assert.NotContains(t, get(t, plain, "/services/http").Body, "Service profile")
	assert.Equal(t, http.StatusNotFound, get(t, plain, "/services/matterc").Status)
}

// The service page puts the registration before the dig commands, and
// offers the served records and each record's JSON to copy.
func TestServicePageCopy(t *testing.T) {
	var asked []string
	h, err := New(Options{Store: registry.NewStore(smallSnapshot(t)), Answers: func(owner string, qtype uint16) ([]string, error) {
		asked = append(asked, fmt.Sprintf("%s %d", owner, qtype))
		return []string{fmt.Sprintf("%s\t3600\tIN\tTYPE%d\t...", owner, qtype)}, nil
	}})
	require.NoError(t, err)
	res := get(t, h, "/services/ipp")
	require.Equal(t, http.StatusOK, res.Status)
	assert.Contains(t, asked, "_ipp._tcp.services.internal. 33")
	assert.Contains(t, asked, "_ipp._tcp.services.internal. 16")
	assert.Contains(t, res.Body, `<code id="dig-tcp-zone">_ipp._tcp.services.internal.	3600	IN	TYPE33	...
_ipp._tcp.services.internal.	3600	IN	TYPE16	...</code>`)
	assert.Contains(t, res.Body, `data-copy="dig-tcp-zone" hidden>Copy zone lines</button>`)
	assert.Contains(t, res.Body, `<summary>JSON</summary>`)
	assert.Regexp(t, `<code id="json-0">\{\n  &#34;name&#34;: &#34;ipp&#34;,`, res.Body)
	assert.Less(t, strings.Index(res.Body, `id="asg-h"`), strings.Index(res.Body, `id="dig-h"`), "registration data first")

	// Without a DNS server to ask, only the commands.
	res = get(t, newHandler(t, smallSnapshot(t), nil), "/services/ipp")
	assert.NotContains(t, res.Body, "dig-tcp-zone")
	assert.Contains(t, res.Body, "dig-tcp-srv")
}
