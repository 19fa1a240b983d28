package web

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/internal/testutil"
	"github.com/svcreg/svcreg/mdns"
	"github.com/svcreg/svcreg/registry"
)

// TestBrowser drives Debian's Chromium (headless) through the UI served
// over loopback with the full registry and a fake LAN feed: search for
// ipp, open the service page and read the dig command, then open /lan and
// see an advertisement pushed by the test appear, with its error badge,
// without a reload. Screenshots go to the test's temp dir (or to
// $SVCREG_SCREENSHOT_DIR when set, to keep them).
func TestBrowser(t *testing.T) {
	snap := fullSnapshot(t)
	lan := newFakeLAN()
	h, err := New(Options{Store: registry.NewStore(snap), LAN: lan, DNSServer: "127.0.0.1", DNSPort: 5300, Zone: "services.internal."})
	require.NoError(t, err)
	srv := httptest.NewServer(h) // 127.0.0.1:0
	t.Cleanup(srv.Close)

	br := newBrowser(t)
	bctx, shot, step := br.ctx, br.shot, br.step

	// 1. Search for ipp with the plain form.
	step("home page", 30*time.Second,
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(chromedp.ID("q")),
		chromedp.SendKeys(chromedp.ID("q"), "ipp"),
	)
	_, err = chromedp.RunResponse(bctx, chromedp.Click(chromedp.CSS(`form[role="search"] button[type="submit"]`)))
	require.NoError(t, err)
	step("results", 15*time.Second, chromedp.WaitVisible(chromedp.CSS(`table.records a[href="/services/ipp"]`)))
	loc, err := chromedp.Run(bctx, chromedp.Location())
	require.NoError(t, err)
	assert.Equal(t, srv.URL+"/search?q=ipp", loc)
	br.checkA11y("search")

	// The script turned the headers into sort buttons; sort by port.
	step("sort by port", 10*time.Second,
		chromedp.Click(chromedp.CSS(`table.records thead th:nth-child(3) button.sort`)),
	)
	sorted, err := chromedp.Run(bctx, chromedp.Evaluate[string](
		`document.querySelector("table.records thead th:nth-child(3)").getAttribute("aria-sort")`))
	require.NoError(t, err)
	assert.Equal(t, "ascending", sorted)
	inOrder, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`(() => {
		const v = [...document.querySelectorAll("table.records tbody tr td:nth-child(3)")].map(td => Number(td.dataset.sort));
		return v.length > 10 && v.every((x, i) => i === 0 || v[i-1] <= x);
	})()`))
	require.NoError(t, err)
	assert.True(t, inOrder, "rows sorted by port")
	shot("search-ipp.png")

	// 2. Open the service page from the results and read the dig command.
	_, err = chromedp.RunResponse(bctx, chromedp.Click(chromedp.CSS(`table.records a[href="/services/ipp"]`)))
	require.NoError(t, err)
	step("service page", 15*time.Second, chromedp.WaitVisible(chromedp.ID("dig-tcp-srv")))
	dig, err := chromedp.Run(bctx, chromedp.Text(chromedp.ID("dig-tcp-srv")))
	require.NoError(t, err)
	assert.Equal(t, "dig @127.0.0.1 -p 5300 _ipp._tcp.services.internal. SRV", dig)
	digTXT, err := chromedp.Run(bctx, chromedp.Text(chromedp.ID("dig-tcp-txt")))
	require.NoError(t, err)
	assert.Equal(t, "dig @127.0.0.1 -p 5300 _ipp._tcp.services.internal. TXT", digTXT)
	// The copy button is shown once the script runs, and reacts.
	step("copy button", 10*time.Second,
		chromedp.WaitVisible(chromedp.CSS(`button.copy[data-copy="dig-tcp-srv"]`)),
		chromedp.Click(chromedp.CSS(`button.copy[data-copy="dig-tcp-srv"]`)),
	)
	label, err := chromedp.Run(bctx, chromedp.Poll[string](
		`(() => { const t = document.querySelector('button.copy[data-copy="dig-tcp-srv"]').textContent; return t !== "Copy" ? t : null; })()`,
		chromedp.WithPollingTimeout(5*time.Second)))
	require.NoError(t, err)
	assert.Contains(t, []string{"Copied", "Press Ctrl+C"}, label)
	shot("service-ipp.png")

	// 3. The LAN page, empty, then live.
	step("lan page", 15*time.Second,
		chromedp.Navigate(srv.URL+"/lan"),
		chromedp.WaitVisible(chromedp.ID("none-h")),
		chromedp.Evaluate[chromedp.Void](`window.svcregNoReload = 42`),
	)
	require.Eventually(t, func() bool { return lan.subscribers() >= 1 }, 15*time.Second, 20*time.Millisecond,
		"the page subscribes to /lan/events")
	br.checkA11y("lan")
	shot("lan-empty.png")

	lan.push(testAd("Test Printer", "_ipp", 631,
		mdns.Finding{Rule: mdns.RuleTXTFormat, Severity: mdns.SeverityError, Message: "TXT string starts with '='", RFC: "RFC 6763 section 6.4", Evidence: "=x"},
		mdns.Finding{Rule: mdns.RuleTTL, Severity: mdns.SeverityInfo, Message: "SRV TTL 60, recommended 120", RFC: "RFC 6762 section 10"}))
	step("badge appears", 15*time.Second,
		chromedp.WaitVisible(chromedp.CSS(`table.ads tr.worst-error span.badge.sev-error`)))
	instance, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(`table.ads td.instance`)))
	require.NoError(t, err)
	assert.Equal(t, "Test Printer", instance)
	badge, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(`table.ads span.badge.sev-error`)))
	require.NoError(t, err)
	assert.Equal(t, "error", badge)
	same, err := chromedp.Run(bctx, chromedp.Evaluate[int](`window.svcregNoReload || 0`))
	require.NoError(t, err)
	assert.Equal(t, 42, same, "the page was updated in place, not reloaded")
	shot("lan-live.png")

	// The filter applies without a reload too: errors only hides a clean ad.
	lan.push(testAd("Clean Camera", "_rtsp", 554))
	step("second ad", 15*time.Second, chromedp.WaitVisible(chromedp.CSS(`table.ads tr:nth-child(2) td.instance`)))
	step("filter", 15*time.Second,
		chromedp.SetValue(chromedp.ID("f-sev"), "error"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("f-sev").dispatchEvent(new Event("change"))`),
		chromedp.WaitNotPresent(chromedp.CSS(`table.ads tr:nth-child(2)`)),
	)
	loc, err = chromedp.Run(bctx, chromedp.Location())
	require.NoError(t, err)
	assert.Equal(t, srv.URL+"/lan?severity=error", loc)

	// Dark scheme renders too (a screenshot to look at, and a colour check).
	_, err = chromedp.Call(bctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}},
	})
	require.NoError(t, err)
	bg, err := chromedp.Run(bctx, chromedp.Evaluate[string](`getComputedStyle(document.documentElement).backgroundColor`))
	require.NoError(t, err)
	assert.Equal(t, "rgb(20, 23, 26)", bg)
	shot("lan-dark.png")
}

// browser is one headless Chromium for one test, with its console
// watched: a script error or a Content-Security-Policy violation fails
// the test when it ends.
type browser struct {
	t     *testing.T
	ctx   context.Context
	shots string

	mu      sync.Mutex
	console []string
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	chromium := testutil.RequireTool(t, "chromium", "chromium")
	br := &browser{t: t, shots: os.Getenv("SVCREG_SCREENSHOT_DIR")}
	if br.shots == "" {
		br.shots = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(t.Context(), 120*time.Second)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	br.ctx = bctx
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		cancel()
		br.mu.Lock()
		defer br.mu.Unlock()
		for _, m := range br.console {
			low := strings.ToLower(m)
			assert.False(t, strings.HasPrefix(low, "error") || strings.HasPrefix(low, "exception") ||
				strings.Contains(low, "content security policy"), "console: %s", m)
			t.Log("console:", m)
		}
	})
	// Start the browser, then collect its console messages.
	require.NoError(t, chromedp.Do(bctx, chromedp.Navigate("about:blank")))
	messages := chromedp.Console(bctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			br.mu.Lock()
			br.console = append(br.console, fmt.Sprintf("%s %s:%d %s", m.Type, m.URL, m.Line+1, m))
			br.mu.Unlock()
		}
	}()
	return br
}

// checkA11y asserts what a screen reader and a keyboard user need on the
// current page: every form control has a label, one h1, a main landmark,
// and the first Tab reaches the skip link.
func (br *browser) checkA11y(page string) {
	br.t.Helper()
	ok, err := chromedp.Run(br.ctx, chromedp.Evaluate[string](`(() => {
		const bad = [...document.querySelectorAll("input:not([type=hidden]), select, textarea")]
			.filter(el => el.labels.length === 0 && !el.getAttribute("aria-label")).map(el => el.id || el.name);
		if (bad.length) return "unlabelled: " + bad.join(", ");
		if (document.querySelectorAll("h1").length !== 1) return "h1 count " + document.querySelectorAll("h1").length;
		if (!document.querySelector("main")) return "no main";
		const unnamed = [...document.querySelectorAll("button")].filter(b => !b.textContent.trim() && !b.getAttribute("aria-label"));
		if (unnamed.length) return "button without a name";
		return "ok";
	})()`))
	require.NoError(br.t, err)
	assert.Equal(br.t, "ok", ok, page)
	br.step("tab to skip link", 5*time.Second,
		chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur()`),
		chromedp.KeyEvent("\t"))
	focused, err := chromedp.Run(br.ctx, chromedp.Evaluate[string](`document.activeElement.className + ":" + document.activeElement.getAttribute("href")`))
	require.NoError(br.t, err)
	assert.Equal(br.t, "skip:#main", focused, "%s: first Tab stop", page)
}

// shot saves a full-page PNG screenshot under the test's temp dir.
func (br *browser) shot(name string) {
	br.t.Helper()
	buf, err := chromedp.Run(br.ctx, chromedp.FullScreenshot(100)) // quality 100 gives a PNG
	require.NoError(br.t, err)
	p := filepath.Join(br.shots, name)
	require.NoError(br.t, os.WriteFile(p, buf, 0o644))
	br.t.Logf("screenshot %s (%d bytes)", p, len(buf))
}

// step runs actions with their own deadline.
func (br *browser) step(what string, d time.Duration, actions ...chromedp.Action[chromedp.Void]) {
	br.t.Helper()
	sctx, cancel := context.WithTimeout(br.ctx, d)
	defer cancel()
	require.NoError(br.t, chromedp.Do(sctx, actions...), what)
}
