package web

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/mdns"
	"github.com/svcreg/svcreg/registry"
)

// layoutPages are the pages the layout test opens at each width: the
// longest tables and names of the full registry, and a LAN with findings.
var layoutPages = []string{
	"/", "/search?q=ipp", "/search?q=http", "/search?q=printing+protocol", "/search?q=6000-6063",
	"/services/ipp", "/services/http", "/services/matterc", "/ports/tcp/631", "/ports/631", "/rules", "/lan", "/search?q=htpp",
}

// TestBrowserLayout opens every page in Chromium at a phone's width (360
// and 390 px) and a desktop's (1280 px): nothing may scroll sideways
// (scrollWidth <= clientWidth), the home page's search box and its button
// must be on screen without scrolling, the search label one line, and
// rule IDs never broken over lines. Screenshots of each go to the test's
// temp dir (or $SVCREG_SCREENSHOT_DIR).
func TestBrowserLayout(t *testing.T) {
	snap := fullSnapshot(t).WithProfiles(registry.BuiltinProfiles())
	lan := newFakeLAN()
	h, err := New(Options{Store: registry.NewStore(snap), LAN: lan, DNSServer: "127.0.0.1", DNSPort: 5300, Zone: "services.internal."})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	lan.push(testAd("Brother HL-L2350DW series (a rather long instance name)", "_ipp", 631,
		mdns.Finding{Rule: mdns.RuleTXTFormat, Severity: mdns.SeverityError, Message: "TXT string starts with '='",
			RFC: "RFC 6763 section 6.4", Evidence: "=x"},
		mdns.Finding{Rule: mdns.RuleTTL, Severity: mdns.SeverityInfo, Message: "SRV TTL 60, recommended 120", RFC: "RFC 6762 section 10"}))
	lan.push(testAd("Living Room", "_googlecast", 8009))

	br := newBrowser(t)
	for _, width := range []int64{360, 390, 1280} {
		height := int64(800)
		if width > 1000 {
			height = 900
		}
		_, err := chromedp.Call(br.ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
			Width: width, Height: height, DeviceScaleFactor: 1, Mobile: width < 1000,
		})
		require.NoError(t, err)
		for _, page := range layoutPages {
			name := fmt.Sprintf("%d %s", width, page)
			br.step(name, 30*time.Second, chromedp.Navigate(srv.URL+page), chromedp.WaitVisible(chromedp.CSS("footer.site")))
			overflow, err := chromedp.Run(br.ctx, chromedp.Evaluate[string](`(() => {
				const d = document.documentElement;
				if (d.scrollWidth <= d.clientWidth) return "";
				// Name the widest elements, to say what to fix.
				const wide = [...document.querySelectorAll("body *")]
					.filter(e => e.getBoundingClientRect().right > d.clientWidth + 1)
					.slice(0, 5).map(e => e.tagName.toLowerCase() + (e.className ? "." + e.className : "") + " " + Math.round(e.getBoundingClientRect().right));
				return "scrollWidth " + d.scrollWidth + " > clientWidth " + d.clientWidth + ": " + wide.join(", ");
			})()`))
			require.NoError(t, err, name)
			assert.Empty(t, overflow, "%s scrolls sideways", name)
			broken, err := chromedp.Run(br.ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("code.rule-id, .rule-id")]
				.filter(e => e.getClientRects().length > 1).map(e => e.textContent).join(", ")`))
			require.NoError(t, err, name)
			assert.Empty(t, broken, "%s: rule IDs broken over lines", name)
			br.shot(fmt.Sprintf("layout-%d-%s.png", width, strings.Trim(strings.NewReplacer("/", "-", "?", "-", "=", "-", "+", "-").Replace(page), "-")))
		}
		br.step("home", 15*time.Second, chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.ID("q")))
		onScreen, err := chromedp.Run(br.ctx, chromedp.Evaluate[string](`(() => {
			const vw = document.documentElement.clientWidth, vh = window.innerHeight;
			const box = document.querySelector("main form[role=search] input[type=search]");
			const btn = box.form.querySelector("button[type=submit]");
			const label = box.labels[0];
			for (const [what, e] of [["search box", box], ["search button", btn]]) {
				const r = e.getBoundingClientRect();
				if (r.top < 0 || r.bottom > vh || r.left < 0 || r.right > vw || r.width < 20) return what + " off screen: " + JSON.stringify(r);
			}
			const lh = parseFloat(getComputedStyle(label).lineHeight) || 24;
			if (label.getBoundingClientRect().height > lh * 1.5) return "label wraps: " + label.getBoundingClientRect().height;
			return "";
		})()`))
		require.NoError(t, err)
		assert.Empty(t, onScreen, "home at %d px", width)
	}
}
