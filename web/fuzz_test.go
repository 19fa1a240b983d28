package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FuzzSearch feeds arbitrary queries to the search page: it answers 200 or
// 400, and whatever the query holds, the page carries exactly the one
// script element of the layout (nothing the user typed becomes markup).
func FuzzSearch(f *testing.F) {
	for _, s := range []string{"ipp", "_ipp._tcp", "631", "631/udp", "_631._udp", "70000", "printing protocol",
		"<script>alert(1)</script>", `"><img src=x onerror=alert(1)>`, "whois++", "914c/g", "\x00\xff", "_._", "a/b/c", "%2F"} {
		f.Add(s)
	}
	h := newHandler(f, smallSnapshot(f), nil)
	f.Fuzz(func(t *testing.T, q string) {
		res := get(t, h, "/search?q="+url.QueryEscape(q))
		require.Contains(t, []int{http.StatusOK, http.StatusBadRequest}, res.Status, "q=%q", q)
		assert.Equal(t, 1, strings.Count(strings.ToLower(res.Body), "<script"), "q=%q", q)
		assert.Equal(t, 0, strings.Count(strings.ToLower(res.Body), "<img"), "q=%q", q)
	})
}

// FuzzServicePath does the same for the name in /services/{name}.
func FuzzServicePath(f *testing.F) {
	for _, s := range []string{"ipp", "IPP", "whois++", "<script>", "a/b", "..", "%", "\x00"} {
		f.Add(s)
	}
	h := newHandler(f, smallSnapshot(f), nil)
	f.Fuzz(func(t *testing.T, name string) {
		if name == "" {
			return
		}
		res := get(t, h, "/services/"+url.PathEscape(name))
		// ServeMux redirects unclean paths ("..") to their clean form.
		require.Contains(t, []int{http.StatusOK, http.StatusNotFound, http.StatusMovedPermanently, http.StatusTemporaryRedirect}, res.Status, "name=%q", name)
		assert.LessOrEqual(t, strings.Count(strings.ToLower(res.Body), "<script"), 1, "name=%q", name)
	})
}

// FuzzDisplayRaw: the display form of raw bytes is valid UTF-8 without
// control characters, and unchanged for clean text.
func FuzzDisplayRaw(f *testing.F) {
	for _, s := range []string{"Office Printer", "a\x00b", "\xff\xfe", "été", "\x7f", "tab\t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := displayRaw(s)
		require.True(t, utf8.ValidString(out), "%q -> %q", s, out)
		for _, r := range out {
			require.False(t, r < 0x20 || r == 0x7f, "%q -> %q", s, out)
		}
		if utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			require.Equal(t, s, out)
		}
	})
}
