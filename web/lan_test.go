package web

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/mdns"
	"github.com/svcreg/svcreg/proxy"
	"github.com/svcreg/svcreg/registry"
)

func lanFixture() *fakeLAN {
	lan := newFakeLAN()
	lan.push(testAd("Office Printer", "_ipp", 631,
		mdns.Finding{Rule: mdns.RuleTXTUnknownKey, Severity: mdns.SeverityWarning, Message: "key note is not registered", RFC: "RFC 6763 section 6.4", Evidence: "note"}))
	lan.push(testAd("Bad\x01Name", "_http", 80,
		mdns.Finding{Rule: mdns.RuleInstanceName, Severity: mdns.SeverityError, Message: "control byte in instance name", RFC: "RFC 6763 section 4.1.1", Evidence: "\x01"},
		mdns.Finding{Rule: mdns.RuleTTL, Severity: mdns.SeverityInfo, Message: "SRV TTL 60, recommended 120", RFC: "RFC 6762 section 10"}))
	lan.push(testAd("Clean Camera", "_rtsp", 554))
	lan.push(nil, mdns.Finding{Rule: mdns.RuleMDNSPacket, Severity: mdns.SeverityWarning, Message: "source port 5354, not 5353",
		RFC: "RFC 6762 section 11", Evidence: "5354", Origin: "192.0.2.99:5354"})
	return lan
}

func TestLANPage(t *testing.T) {
	h := newHandler(t, smallSnapshot(t), lanFixture())
	tests := []struct {
		name    string
		target  string
		want    []string
		notWant []string
	}{
		{"all", "/lan", []string{
			`id="lan-live"`, "3 of 3 advertisements",
			`<td class="instance" data-label="Instance">Office Printer</td>`, `<td class="instance" data-label="Instance">Bad\001Name</td>`, `<td class="instance" data-label="Instance">Clean Camera</td>`,
			`<span class="badge sev-warning">warning</span> <code class="rule-id">txt-unknown-key</code>`,
			`<span class="badge sev-error">error</span> <code class="rule-id">instance-name</code>`,
			`<span class="badge sev-error">1 error</span>`, `<span class="badge sev-warning">1 warning</span>`, `<span class="badge sev-info">1 info</span>`,
			`class="worst-error">` + "\n    " + `<td class="instance" data-label="Instance">Bad\001Name</td>`, `<span class="ok">no findings</span>`,
			`<code>_ipp._tcp</code><span class="muted">.local</span>`, `<code>host-ipp.local.</code>:631`, `<code>192.0.2.10</code>`,
			`<li><code>note=&lt;b&gt;hi&lt;/b&gt;</code></li>`, "TTL PTR 4500, SRV 120", "from 192.0.2.10:5353", "veth-test",
			`<time datetime="2026-11-29T08:00:00Z">08:00:00</time>`,
			`href="https://www.rfc-editor.org/rfc/rfc6763#section-4.1.1"`,
			"Packet findings", "source port 5354, not 5353", "192.0.2.99:5354",
			`<option value="txt-format">txt-format</option>`, `<option value="_rtsp._tcp">`,
		}, []string{"<b>hi</b>", "Nothing seen yet"}},
		{"severity error", "/lan?severity=error", []string{"1 of 3 advertisements match the filter", "Bad\\001Name", `<option value="error" selected>`},
			[]string{"Office Printer", "Clean Camera", "Packet findings"}},
		{"severity warning or worse", "/lan?severity=warning", []string{"2 of 3", "Office Printer", "Bad\\001Name", "Packet findings"}, []string{"Clean Camera"}},
		{"rule", "/lan?rule=ttl", []string{"1 of 3", "Bad\\001Name", `<option value="ttl" selected>ttl</option>`}, []string{"Office Printer"}},
		{"type", "/lan?type=_RTSP._tcp", []string{"1 of 3", "Clean Camera", `value="_RTSP._tcp"`}, []string{"Office Printer", "Packet findings"}},
		{"no match", "/lan?rule=subtype", []string{"0 of 3", "No advertisement matches the filter"}, nil},
		{"bad severity ignored", "/lan?severity=%3Cscript%3E", []string{"3 of 3"}, []string{"<script>", "match the filter"}},
		{"script in type", "/lan?type=%3Cscript%3E", []string{`value="&lt;script&gt;"`}, []string{"<script>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := get(t, h, tt.target)
			require.Equal(t, http.StatusOK, res.Status)
			for _, w := range tt.want {
				assert.Contains(t, res.Body, w)
			}
			for _, w := range tt.notWant {
				assert.NotContains(t, res.Body, w)
			}
		})
	}
}

func TestLANEmpty(t *testing.T) {
	h := newHandler(t, smallSnapshot(t), newFakeLAN())
	res := get(t, h, "/lan")
	require.Equal(t, http.StatusOK, res.Status)
	assert.Contains(t, res.Body, "Nothing seen yet")
	assert.Contains(t, res.Body, `<span class="badge sev-error zero">0 error</span>`)
	assert.Contains(t, res.Body, "mdns.interfaces")
	assert.Contains(t, res.Body, "--mdns-interface")
	assert.Contains(t, res.Body, `id="lan-live"`)
	assert.NotContains(t, res.Body, `id="lan-down"`, "a running monitor shows no alert")
}

// passiveLAN is a monitor that only listens.
type passiveLAN struct{ *fakeLAN }

func (passiveLAN) Browsing() bool { return false }

// TestLANEmptySaysMode: the empty page says whether svcreg browses or only
// listens, and what a listener alone will not see.
func TestLANEmptySaysMode(t *testing.T) {
	res := get(t, newHandler(t, smallSnapshot(t), passiveLAN{newFakeLAN()}), "/lan")
	require.Equal(t, http.StatusOK, res.Status)
	assert.Contains(t, res.Body, "It only listens (<code>mdns.browse: false</code>)")
	assert.Contains(t, res.Body, "Services published before svcreg started appear only then")
	assert.NotContains(t, res.Body, "It also browses")

	res = get(t, newHandler(t, smallSnapshot(t), newFakeLAN()), "/lan")
	assert.Contains(t, res.Body, "It also browses")
	assert.NotContains(t, res.Body, "It only listens")
}

// stoppedLAN is a monitor that has stopped on an error.
type stoppedLAN struct {
	*fakeLAN
	why string
}

func (s stoppedLAN) Stopped() string { return s.why }

// TestLANMonitorStopped: a stopped monitor shows an alert with the reason
// on the page and in the live fragment, and never "listening".
func TestLANMonitorStopped(t *testing.T) {
	h := newHandler(t, smallSnapshot(t), stoppedLAN{newFakeLAN(), "reading lab0: network is down"})
	for _, path := range []string{"/lan", "/lan/fragment"} {
		res := get(t, h, path)
		require.Equal(t, http.StatusOK, res.Status, path)
		assert.Contains(t, res.Body, `<p class="banner-down" id="lan-down" role="alert"><strong>The mDNS monitor has stopped:</strong> reading lab0: network is down.`, path)
		assert.NotContains(t, res.Body, "Nothing seen yet", path)
		assert.NotContains(t, res.Body, "svcreg is listening", path)
	}
}

func TestLANFragment(t *testing.T) {
	lan := newFakeLAN()
	h := newHandler(t, smallSnapshot(t), lan)
	res := get(t, h, "/lan/fragment")
	require.Equal(t, http.StatusOK, res.Status)
	assert.NotContains(t, res.Body, "<html")
	assert.Contains(t, res.Body, "Nothing seen yet")

	lan.push(testAd("New One", "_ipp", 631, mdns.Finding{Rule: mdns.RuleSubtype, Severity: mdns.SeverityInfo, Message: "m"}))
	res = get(t, h, "/lan/fragment?severity=info")
	assert.Contains(t, res.Body, `<td class="instance" data-label="Instance">New One</td>`)
	assert.Contains(t, res.Body, `<span class="badge sev-info">info</span> <code class="rule-id">subtype</code>`)
	res = get(t, h, "/lan/fragment?severity=error")
	assert.NotContains(t, res.Body, "New One")
}

func TestLANEventsOff(t *testing.T) {
	res := get(t, newHandler(t, smallSnapshot(t), nil), "/lan/events")
	assert.Equal(t, http.StatusNoContent, res.Status)
}

// TestLANEvents reads the event stream over a real connection: one event
// at once, one per change, and the subscription ends with the request.
func TestLANEvents(t *testing.T) {
	lan := newFakeLAN()
	srv := httptest.NewServer(newHandler(t, smallSnapshot(t), lan))
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/lan/events", nil)
	require.NoError(t, err)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))

	events := make(chan string, 16)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		var ev []string
		for sc.Scan() {
			if sc.Text() == "" {
				events <- strings.Join(ev, "|")
				ev = nil
				continue
			}
			ev = append(ev, sc.Text())
		}
	}()
	next := func() string {
		t.Helper()
		select {
		case e, ok := <-events:
			require.True(t, ok, "stream ended")
			return e
		case <-time.After(5 * time.Second):
			t.Fatal("no event within 5 s")
		}
		return ""
	}
	assert.Equal(t, "retry: 3000", next())
	assert.Equal(t, "event: change|id: 1|data: 1", next())
	require.Eventually(t, func() bool { return lan.subscribers() == 1 }, 5*time.Second, 10*time.Millisecond)
	lan.push(testAd("A", "_ipp", 631))
	assert.Equal(t, "event: change|id: 2|data: 2", next())
	lan.push(testAd("B", "_ipp", 631))
	assert.Equal(t, "event: change|id: 3|data: 3", next())

	cancel()
	require.Eventually(t, func() bool { return lan.subscribers() == 0 }, 5*time.Second, 10*time.Millisecond)
}

// TestLANEventsOutliveWriteTimeout: the daemon's HTTP server has a write
// timeout for pages; an event stream clears its deadline and keeps going.
func TestLANEventsOutliveWriteTimeout(t *testing.T) {
	lan := newFakeLAN()
	srv := httptest.NewUnstartedServer(newHandler(t, smallSnapshot(t), lan))
	const writeTimeout = 300 * time.Millisecond
	srv.Config.WriteTimeout = writeTimeout
	srv.Start()
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/lan/events", nil)
	require.NoError(t, err)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	rd := bufio.NewReader(resp.Body)
	readEvent := func() string {
		var lines []string
		for {
			l, err := rd.ReadString('\n')
			require.NoError(t, err)
			if l == "\n" {
				return strings.Join(lines, "|")
			}
			lines = append(lines, strings.TrimSuffix(l, "\n"))
		}
	}
	assert.Equal(t, "retry: 3000", readEvent())
	assert.Equal(t, "event: change|id: 1|data: 1", readEvent())
	require.Eventually(t, func() bool { return lan.subscribers() == 1 }, 5*time.Second, 10*time.Millisecond)
	// Outlast the write timeout: with the deadline left in place the next
	// write would fail and the stream would end.
	<-time.After(3 * writeTimeout)
	lan.push(testAd("Late", "_ipp", 631))
	assert.Equal(t, "event: change|id: 2|data: 2", readEvent())
}

// TestLANEventsCoalesce: a burst of changes becomes a few events, spaced
// by minEventGap, and the last change is never lost.
func TestLANEventsCoalesce(t *testing.T) {
	lan := newFakeLAN()
	h := newHandler(t, smallSnapshot(t), lan)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/lan/events", nil)
	require.NoError(t, err)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()

	got := make(chan time.Time, 100)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "event: change") {
				got <- time.Now()
			}
		}
	}()
	<-got // the initial event
	require.Eventually(t, func() bool { return lan.subscribers() == 1 }, 5*time.Second, 10*time.Millisecond)
	start := time.Now()
	const burst = 50
	for i := range burst {
		lan.push(testAd(fmt.Sprintf("Burst %d", i), "_ipp", 631))
	}
	// Every change is in the fragment the next refresh fetches.
	res := get(t, h, "/lan/fragment")
	assert.Contains(t, res.Body, fmt.Sprintf("%d of %d advertisements", burst, burst))

	var events []time.Time
	deadline := time.After(3 * minEventGap)
	for collecting := true; collecting; {
		select {
		case at := <-got:
			events = append(events, at)
		case <-deadline:
			collecting = false
		}
	}
	require.NotEmpty(t, events, "the burst produced no event")
	assert.LessOrEqual(t, len(events), 3, "burst of %d changes in %v", burst, time.Since(start))
	for i := 1; i < len(events); i++ {
		assert.GreaterOrEqual(t, events[i].Sub(events[i-1]), minEventGap-50*time.Millisecond)
	}
}

func TestLANPageBounded(t *testing.T) {
	lan := newFakeLAN()
	for i := range maxAds + 5 {
		lan.ads = append(lan.ads, *testAd(fmt.Sprintf("Printer %04d", i), "_ipp", 631))
	}
	res := get(t, newHandler(t, smallSnapshot(t), lan), "/lan")
	require.Equal(t, http.StatusOK, res.Status)
	assert.Contains(t, res.Body, fmt.Sprintf("%d of %d advertisements (the first %d shown: narrow the filter)", maxAds+5, maxAds+5, maxAds))
	assert.Equal(t, maxAds, strings.Count(res.Body, `<td class="instance" data-label="Instance">`))
}

func TestAdIDStable(t *testing.T) {
	a, b := testAd("Printer", "_ipp", 631), testAd("Printer", "_ipp", 631)
	b.LastSeen = b.LastSeen.Add(time.Hour)
	b.Findings = []mdns.Finding{{Rule: mdns.RuleTTL}}
	assert.Equal(t, adID(a), adID(b), "same instance, later state")
	c := testAd("Printer 2", "_ipp", 631)
	d := testAd("Printer", "_ipps", 631)
	assert.NotEqual(t, adID(a), adID(c))
	assert.NotEqual(t, adID(a), adID(d))
	assert.Regexp(t, `^ad-[0-9a-z]+$`, adID(a))
}

func TestLANEventsHead(t *testing.T) {
	res := do(t, newHandler(t, smallSnapshot(t), newFakeLAN()), http.MethodHead, "/lan/events")
	assert.Equal(t, http.StatusOK, res.Status)
	assert.Equal(t, "text/event-stream", res.Header.Get("Content-Type"))
	assert.Empty(t, res.Body)
}

// TestLANPublished: with the discovery proxy on, the LAN page (and its
// live fragment) shows each published zone and what it left out, and
// why, escaped; without it, no such section.
func TestLANPublished(t *testing.T) {
	h, err := New(Options{Store: registry.NewStore(smallSnapshot(t)), LAN: newFakeLAN(), Published: func() []proxy.Published {
		return []proxy.Published{{Interface: "lab0", Zone: "lab0.lan.services.internal.", Policy: "valid", Serial: 1796314345, Instances: 3,
			Excluded: []proxy.Exclusion{{Instance: "Broken <TXT>", ServiceType: "_ipp._tcp", Reason: "policy valid: txt-format: a TXT string starts with '=' (no key)"}}}}
	}})
	require.NoError(t, err)
	for _, path := range []string{"/lan", "/lan/fragment"} {
		res := get(t, h, path)
		require.Equal(t, http.StatusOK, res.Status, path)
		assert.Contains(t, res.Body, `<h2 id="pub-h">Published in unicast DNS</h2>`, path)
		assert.Contains(t, res.Body, `<td data-label="Interface">lab0</td><td data-label="Zone"><code>lab0.lan.services.internal.</code></td><td data-label="Policy">valid</td><td data-label="Serial">1796314345</td><td data-label="Instances">3</td>`, path)
		assert.Contains(t, res.Body, "<strong>Broken &lt;TXT&gt;</strong> <code>_ipp._tcp</code>: policy valid: txt-format: a TXT string starts with &#39;=&#39; (no key)", path)
	}
	res := get(t, newHandler(t, smallSnapshot(t), newFakeLAN()), "/lan")
	assert.NotContains(t, res.Body, "Published in unicast DNS")
}
