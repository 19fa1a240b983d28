package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/svcreg/svcreg/mdns"
	"github.com/svcreg/svcreg/proxy"
	"github.com/svcreg/svcreg/registry"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Defaults for the dig commands shown on service pages.
const (
	DefaultDNSServer = "127.0.0.1"
	DefaultDNSPort   = 5300
	DefaultZone      = "services.internal."
)

// ErrNoStore is returned by New when Options.Store is nil.
var ErrNoStore = errors.New("web: Options.Store is required")

// Options configures the handler New returns.
type Options struct {
	Store *registry.Store // required; its current snapshot is read per request
	LAN   LANSource       // nil when mDNS is not enabled
	// Published lists the discovery proxy's zones (nil: none).
	Published func() []proxy.Published
	// DNSServer, DNSPort and Zone are where svcreg's resolver answers; they
	// only appear in the dig commands of service pages.
	DNSServer string // default "127.0.0.1"
	DNSPort   int    // default 5300
	Zone      string // default "services.internal."
	// Answers returns the records the DNS server answers for an owner
	// and type, as zone-file lines (nil: the service pages show only the
	// dig commands).
	Answers func(owner string, qtype uint16) ([]string, error)
	Logger  *slog.Logger
}

// LANSource is what the LAN page reads: *mdns.Monitor implements it.
type LANSource interface {
	Advertisements() []mdns.Advertisement
	Findings() []mdns.Finding
	// Subscribe returns a channel signalled after each change; it is
	// closed (or abandoned) once ctx is done.
	Subscribe(ctx context.Context) <-chan struct{}
}

type server struct {
	store     *registry.Store
	lan       LANSource
	published func() []proxy.Published
	dnsServer string
	dnsPort   int
	zone      string
	answers   func(owner string, qtype uint16) ([]string, error)
	log       *slog.Logger

	pages  map[string]*template.Template
	assets map[string]string // file name -> versioned URL
	static http.Handler

	bufs sync.Pool
}

// New returns the UI's handler, to be mounted at "/". It serves GET
// /, /search, /services/{name}, /ports/{proto}/{port}, /lan, /lan/events,
// /lan/fragment, /rules and /static/; anything else is a 404 page.
func New(opts Options) (http.Handler, error) {
	if opts.Store == nil {
		return nil, ErrNoStore
	}
	s := &server{
		store:     opts.Store,
		lan:       opts.LAN,
		published: opts.Published,
		dnsServer: dnsServer(opts.DNSServer),
		dnsPort:   opts.DNSPort,
		zone:      normZone(opts.Zone),
		answers:   opts.Answers,
		log:       opts.Logger,
		bufs:      sync.Pool{New: func() any { return new(bytes.Buffer) }},
	}
	if s.dnsPort <= 0 || s.dnsPort > 65535 {
		s.dnsPort = DefaultDNSPort
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, fmt.Errorf("web: static files: %w", err)
	}
	if s.assets, err = versionAssets(sub); err != nil {
		return nil, err
	}
	if s.pages, err = parsePages(); err != nil {
		return nil, err
	}
	s.static = http.StripPrefix("/static/", cacheStatic(http.FileServerFS(sub)))
	if snap := s.store.Load(); snap != nil {
		snap.PrepareSearch() // build the search index now, not on the first search
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.handleHome)
	mux.HandleFunc("GET /search", s.handleSearch)
	mux.HandleFunc("GET /services/{name}", s.handleService)
	mux.HandleFunc("GET /ports/{proto}/{port}", s.handlePort)
	mux.HandleFunc("GET /ports/{port}", s.handlePortAnyProto)
	mux.HandleFunc("GET /lan", s.handleLAN)
	mux.HandleFunc("GET /lan/fragment", s.handleLANFragment)
	mux.HandleFunc("GET /lan/events", s.handleLANEvents)
	mux.HandleFunc("GET /rules", s.handleRules)
	mux.Handle("GET /static/", s.static)
	mux.HandleFunc("/", s.handleNotFound)
	return secureHeaders(mux), nil
}

// dnsServer maps an unspecified listen address (0.0.0.0, ::) to loopback,
// which is where a user on the daemon's host can reach it with dig.
func dnsServer(host string) string {
	if host == "" {
		return DefaultDNSServer
	}
	if a, err := netip.ParseAddr(host); err == nil && a.IsUnspecified() {
		if a.Is4() {
			return "127.0.0.1"
		}
		return "::1"
	}
	return host
}

func normZone(z string) string {
	z = strings.ToLower(strings.TrimSpace(z))
	if z == "" {
		return DefaultZone
	}
	if !strings.HasSuffix(z, ".") {
		z += "."
	}
	return z
}

// versionAssets names each static file with a hash of its content, so
// browsers may cache it for a long time and still see a new release.
func versionAssets(fsys fs.FS) (map[string]string, error) {
	out := map[string]string{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		h := sha256.Sum256(b)
		out[p] = "/static/" + p + "?v=" + hex.EncodeToString(h[:6])
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: hashing static files: %w", err)
	}
	return out, nil
}

func cacheStatic(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r) // no directory listings
			return
		}
		if r.URL.Query().Get("v") != "" {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		h.ServeHTTP(w, r)
	})
}

// secureHeaders forbids every resource from other hosts and inline script
// or style: the UI needs neither.
func secureHeaders(h http.Handler) http.Handler {
	const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", csp)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		h.ServeHTTP(w, r)
	})
}

// page is what every template receives; Data holds the page's own view.
type page struct {
	Title string
	Nav   string // "search", "lan", "rules" or ""
	Query string // search box content
	// HomeSearch is set on the home page, whose own search box (id q)
	// replaces the header's.
	HomeSearch bool
	Footer     footer
	Data       any
	assets     map[string]string
}

// Asset returns the versioned URL of a static file.
func (p *page) Asset(name string) string { return p.assets[name] }

type footer struct {
	Records int
	Updated string
	Sources []registry.SourceInfo
	Loaded  bool
}

func (s *server) newPage(snap *registry.Snapshot, title, nav string, data any) *page {
	p := &page{Title: title, Nav: nav, Data: data, assets: s.assets}
	if snap != nil {
		st := snap.Stats()
		p.Footer = footer{Records: st.Records, Updated: snap.Updated(), Sources: snap.Sources(), Loaded: true}
	}
	return p
}

// render executes a page template into a buffer, so a template error is a
// clean 500 and the Server-Timing header can carry the render time.
func (s *server) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page, start time.Time) {
	t, ok := s.pages[name]
	if !ok {
		s.log.Error("web: no such template", "template", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	buf := s.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 1<<20 {
			s.bufs.Put(buf)
		}
	}()
	if err := t.ExecuteTemplate(buf, "layout", p); err != nil {
		s.log.Error("web: rendering page", "template", name, "path", r.URL.Path, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	s.write(w, r, status, "text/html; charset=utf-8", buf.Bytes(), start)
}

func (s *server) write(w http.ResponseWriter, r *http.Request, status int, ctype string, body []byte, start time.Time) {
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	h.Set("Server-Timing", fmt.Sprintf("render;dur=%.3f", float64(time.Since(start).Microseconds())/1000))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

type errorView struct {
	Heading string
	Message string
	Status  int
	Suggest []string // service names to offer
}

func (s *server) renderError(w http.ResponseWriter, r *http.Request, status int, heading, msg string, start time.Time) {
	s.renderErrorView(w, r, errorView{Heading: heading, Message: msg, Status: status}, "", start)
}

func (s *server) renderErrorView(w http.ResponseWriter, r *http.Request, ev errorView, query string, start time.Time) {
	p := s.newPage(s.store.Load(), ev.Heading, "", ev)
	p.Query = query
	s.render(w, r, ev.Status, "error", p, start)
}

func (s *server) handleNotFound(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		s.renderError(w, r, http.StatusMethodNotAllowed, "Method not allowed",
			"This interface is read-only: only GET and HEAD are served.", start)
		return
	}
	s.renderError(w, r, http.StatusNotFound, "Page not found",
		"There is no page at "+r.URL.Path+".", start)
}

// snapshot returns the current registry or renders a 503 page.
func (s *server) snapshot(w http.ResponseWriter, r *http.Request, start time.Time) *registry.Snapshot {
	snap := s.store.Load()
	if snap == nil {
		w.Header().Set("Retry-After", "5")
		s.renderError(w, r, http.StatusServiceUnavailable, "Registry not loaded",
			"The registry has not been loaded yet; try again in a few seconds.", start)
	}
	return snap
}
