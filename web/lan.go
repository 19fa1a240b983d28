package web

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/svcreg/svcreg/mdns"
	"github.com/svcreg/svcreg/proxy"
)

// heartbeat keeps idle event streams (and proxies in between) open.
const heartbeat = 25 * time.Second

// maxPacketFindings bounds the packet-level findings the LAN page lists.
const maxPacketFindings = 50

// maxAds bounds the advertisements one page lists (the store may hold
// 10,000); the filter narrows the rest.
const maxAds = 1000

// minEventGap spaces change events: a LAN in turmoil (a flood of
// announcements) costs each open tab at most two refreshes a second.
const minEventGap = 500 * time.Millisecond

type lanFilter struct {
	Severity string // "", "info", "warning", "error": at least this severe
	Rule     string
	Type     string // "_ipp._tcp"
	minSev   mdns.Severity
	hasSev   bool
}

func parseLANFilter(q url.Values) lanFilter {
	f := lanFilter{Rule: strings.TrimSpace(q.Get("rule")), Type: strings.TrimSpace(q.Get("type"))}
	if sv, err := mdns.ParseSeverity(q.Get("severity")); err == nil {
		f.Severity, f.minSev, f.hasSev = sv.String(), sv, true
	}
	if len(f.Rule) > 64 {
		f.Rule = ""
	}
	if len(f.Type) > 128 {
		f.Type = ""
	}
	return f
}

// Active reports whether any filter narrows the list.
func (f lanFilter) Active() bool { return f.hasSev || f.Rule != "" || f.Type != "" }

// Query is the filter as a URL query string ("severity=error&rule=ttl").
func (f lanFilter) Query() string {
	v := url.Values{}
	if f.hasSev {
		v.Set("severity", f.Severity)
	}
	if f.Rule != "" {
		v.Set("rule", f.Rule)
	}
	if f.Type != "" {
		v.Set("type", f.Type)
	}
	return v.Encode()
}

func (f lanFilter) finding(fd *mdns.Finding) bool {
	if f.hasSev && fd.Severity < f.minSev {
		return false
	}
	return f.Rule == "" || fd.Rule == f.Rule
}

func (f lanFilter) ad(a *mdns.Advertisement) bool {
	if f.Type != "" && !strings.EqualFold(a.ServiceType(), f.Type) {
		return false
	}
	if !f.hasSev && f.Rule == "" {
		return true
	}
	for i := range a.Findings {
		if f.finding(&a.Findings[i]) {
			return true
		}
	}
	return false
}

type lanView struct {
	Enabled        bool
	Down           string // why the monitor stopped, "" while it runs
	Passive        bool   // the monitor only listens (mdns.browse: false)
	Filter         lanFilter
	Rules          []mdns.Rule
	Types          []string
	Ads            []adView
	Total          int // advertisements before filtering
	Matched        int // advertisements the filter keeps (Ads holds at most maxAds)
	Counts         [3]int
	PacketFindings []mdns.Finding
	PacketTotal    int
	// Published are the discovery proxy's zones: what each holds and
	// what it left out.
	Published []proxy.Published
	Rendered  time.Time
}

type adView struct {
	*mdns.Advertisement
	Worst string // most severe finding's severity, "" without findings
	TTLs  []ttlView
	ID    string // element id
}

type ttlView struct {
	Type string
	TTL  uint32
}

// Severities lists the filter choices in increasing order.
func (lanView) Severities() []string { return []string{"info", "warning", "error"} }

func (s *server) lanView(r *http.Request) lanView {
	v := lanView{Enabled: s.lan != nil, Filter: parseLANFilter(r.URL.Query()), Rules: mdns.Rules(), Rendered: time.Now()}
	if s.lan == nil {
		return v
	}
	if st, ok := s.lan.(interface{ Stopped() string }); ok {
		v.Down = st.Stopped()
	}
	if b, ok := s.lan.(interface{ Browsing() bool }); ok {
		v.Passive = !b.Browsing()
	}
	ads := s.lan.Advertisements()
	v.Total = len(ads)
	seen := map[string]bool{}
	for i := range ads {
		a := &ads[i]
		if t := a.ServiceType(); !seen[t] {
			seen[t] = true
			v.Types = append(v.Types, t)
		}
		for _, fd := range a.Findings {
			if fd.Severity >= 0 && int(fd.Severity) < len(v.Counts) {
				v.Counts[fd.Severity]++
			}
		}
		if !v.Filter.ad(a) {
			continue
		}
		if v.Matched++; v.Matched > maxAds {
			continue
		}
		av := adView{Advertisement: a, ID: adID(a)}
		worst := mdns.Severity(-1)
		for _, fd := range a.Findings {
			worst = max(worst, fd.Severity)
		}
		if worst >= 0 {
			av.Worst = worst.String()
		}
		for t, ttl := range a.TTL.All() {
			av.TTLs = append(av.TTLs, ttlView{Type: ttlName(t), TTL: ttl})
		}
		slices.SortFunc(av.TTLs, func(x, y ttlView) int { return strings.Compare(x.Type, y.Type) })
		v.Ads = append(v.Ads, av)
	}
	slices.Sort(v.Types)
	for _, fd := range s.lan.Findings() {
		if fd.Instance != "" || !v.Filter.finding(&fd) || (v.Filter.Type != "" && !strings.EqualFold(fd.ServiceType, v.Filter.Type)) {
			continue
		}
		v.PacketTotal++
		v.PacketFindings = append(v.PacketFindings, fd)
	}
	if len(v.PacketFindings) > maxPacketFindings {
		v.PacketFindings = v.PacketFindings[:maxPacketFindings]
	}
	if s.published != nil {
		v.Published = s.published()
	}
	return v
}

// adID names an advertisement's table row stably across refreshes (the
// script keeps open details open by it): a hash of what identifies the
// instance, since raw instance bytes make poor HTML ids.
func adID(a *mdns.Advertisement) string {
	h := fnv.New64a()
	for _, s := range []string{a.Instance, a.Service, a.Proto, a.Domain, a.Interface} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return "ad-" + strconv.FormatUint(h.Sum64(), 36)
}

func (s *server) handleLAN(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	v := s.lanView(r)
	s.render(w, r, http.StatusOK, "lan", s.newPage(s.store.Load(), "LAN advertisements", "lan", v), start)
}

// handleLANFragment renders only the results part of /lan (same filter
// parameters); the page's script swaps it in after each change event.
func (s *server) handleLANFragment(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	v := s.lanView(r)
	p := s.newPage(s.store.Load(), "", "lan", v)
	buf := s.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer s.bufs.Put(buf)
	if err := s.pages["lan"].ExecuteTemplate(buf, "lanresults", p); err != nil {
		s.log.Error("web: rendering LAN fragment", "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	s.write(w, r, http.StatusOK, "text/html; charset=utf-8", buf.Bytes(), start)
}

// handleLANEvents streams a "change" event whenever the LAN source
// signals one (server-sent events, one event per coalesced change). The
// first event is sent at once, so a client that subscribes after its page
// was rendered refreshes and misses nothing in between.
func (s *server) handleLANEvents(w http.ResponseWriter, r *http.Request) {
	if s.lan == nil {
		// 204 tells EventSource to stop reconnecting (HTML, section 9.2).
		w.WriteHeader(http.StatusNoContent)
		return
	}
	rc := http.NewResponseController(w)
	// The daemon's WriteTimeout is for pages; a stream lives as long as
	// the browser tab. Errors mean the writer cannot change deadlines.
	_ = rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}

	ctx := r.Context()
	ch := s.lan.Subscribe(ctx)
	seq := 0
	send := func() bool {
		seq++
		if _, err := fmt.Fprintf(w, "event: change\nid: %d\ndata: %d\n\n", seq, seq); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if _, err := fmt.Fprint(w, "retry: 3000\n\n"); err != nil || !send() {
		return
	}
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	last := time.Now()
	var later <-chan time.Time // set while a change waits for minEventGap
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-ch:
			if !ok {
				return
			}
			if later != nil {
				continue
			}
			if wait := minEventGap - time.Since(last); wait > 0 {
				later = time.After(wait)
				continue
			}
			if !send() {
				return
			}
			last = time.Now()
		case <-later:
			later = nil
			if !send() {
				return
			}
			last = time.Now()
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		}
	}
}
