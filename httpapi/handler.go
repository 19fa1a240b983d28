package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/svcreg/svcreg/mdns"
	"github.com/svcreg/svcreg/proxy"
	"github.com/svcreg/svcreg/registry"
)

// ErrNoStore is returned by New without a registry store.
var ErrNoStore = errors.New("httpapi: Options.Store is required")

// LAN is what the API reads from the mDNS monitor (*mdns.Monitor).
type LAN interface {
	Advertisements() []mdns.Advertisement
	Findings() []mdns.Finding
}

// Options configures the handler.
type Options struct {
	Store *registry.Store // required
	// LAN is the mDNS monitor; nil when mDNS validation is off.
	LAN LAN
	// Ready reports why the daemon is not ready (nil = ready); nil means
	// ready once the store holds a snapshot.
	Ready func() error
	// Gatherer serves /metrics (nil: /metrics is 404).
	Gatherer prometheus.Gatherer
	// Published lists the zones of the discovery proxy (nil: none).
	Published func() []proxy.Published
	// UI is mounted at "/" (the web interface); nil serves a JSON index.
	UI     http.Handler
	Logger *slog.Logger
}

type api struct {
	opts Options
	log  *slog.Logger
}

// New returns the daemon's HTTP handler.
func New(opts Options) (http.Handler, error) {
	if opts.Store == nil {
		return nil, ErrNoStore
	}
	a := &api{opts: opts, log: opts.Logger}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/search", a.get(a.search))
	mux.Handle("/v1/services/{name}", a.get(a.service))
	mux.Handle("/v1/ports/{proto}/{port}", a.get(a.port))
	mux.Handle("/v1/registry", a.get(a.registry))
	mux.Handle("/v1/findings", a.get(a.findings))
	mux.Handle("/v1/advertisements", a.get(a.advertisements))
	mux.Handle("/v1/published", a.get(a.published))
	mux.Handle("/v1/", a.get(func(w http.ResponseWriter, r *http.Request) {
		a.error(w, http.StatusNotFound, "no such API endpoint: %s", r.URL.Path)
	}))
	mux.Handle("/healthz", a.get(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}))
	mux.Handle("/readyz", a.get(a.ready))
	if opts.Gatherer != nil {
		metrics := promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{
			ErrorLog: slog.NewLogLogger(a.log.Handler(), slog.LevelError),
		})
		// Read-only like every other endpoint: promhttp itself answers any method.
		mux.Handle("/metrics", a.get(metrics.ServeHTTP))
	}
	if opts.UI != nil {
		mux.Handle("/", opts.UI)
	} else {
		mux.Handle("/", a.get(a.index))
	}
	return mux, nil
}

// get allows GET and HEAD only, answering others with a JSON 405.
func (a *api) get(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			a.error(w, http.StatusMethodNotAllowed, "method %s not allowed", r.Method)
			return
		}
		h(w, r)
	})
}

// apiError is the body of every error response.
type apiError struct {
	Error  string `json:"error"`
	Status int    `json:"status"`
}

func (a *api) error(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, apiError{Error: fmt.Sprintf(format, args...), Status: status})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	writeJSONHeader(w, status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away; nothing to do
}

// writeJSONHeader sends the header of every JSON answer.
func writeJSONHeader(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
}

// snapshot returns the current snapshot or answers 503.
func (a *api) snapshot(w http.ResponseWriter) *registry.Snapshot {
	snap := a.opts.Store.Load()
	if snap == nil {
		a.error(w, http.StatusServiceUnavailable, "no registry loaded yet")
	}
	return snap
}

// searchResponse answers /v1/search.
type searchResponse struct {
	Query string `json:"query"`
	// Kind is "name" (names, types and words), "port" or "range".
	Kind  string `json:"kind"`
	Total int    `json:"total"`
	Count int    `json:"count"`
	// Groups are the matching services, best first, each with all its
	// records (tcp, udp, ... together) and profiles.
	Groups     []registry.SearchGroup `json:"groups"`
	DidYouMean []string               `json:"did_you_mean"`
}

// Search limits: the default and largest number of groups returned.
const (
	searchDefaultLimit = 50
	searchMaxLimit     = 500
)

// search answers ?q= the way the CLI and the web UI do (see
// registry.Snapshot.Search), with ?limit= groups (default 50, at most
// 500).
func (a *api) search(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("q")
	if strings.TrimSpace(q) == "" {
		a.error(w, http.StatusBadRequest, "missing query: /v1/search?q=ipp")
		return
	}
	limit := searchDefaultLimit
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > searchMaxLimit {
			a.error(w, http.StatusBadRequest, "limit %q: want 1 to %d", l, searchMaxLimit)
			return
		}
		limit = n
	}
	snap := a.snapshot(w)
	if snap == nil {
		return
	}
	res, err := snap.Search(q, limit)
	if err != nil {
		a.error(w, http.StatusBadRequest, "%v", err)
		return
	}
	out := searchResponse{Query: q, Kind: "name", Total: res.Total, Count: len(res.Groups), Groups: res.Groups,
		DidYouMean: res.DidYouMean}
	switch {
	case res.Query.IsPort && res.Query.PortHigh > res.Query.Port:
		out.Kind = "range"
	case res.Query.IsPort:
		out.Kind = "port"
	}
	if out.Groups == nil {
		out.Groups = []registry.SearchGroup{}
	}
	if out.DidYouMean == nil {
		out.DidYouMean = []string{}
	}
	writeJSON(w, http.StatusOK, out)
}

// serviceResponse answers /v1/services/{name}.
type serviceResponse struct {
	Query    string             `json:"query"`
	Name     string             `json:"name"`
	Protocol registry.Protocol  `json:"protocol,omitempty"`
	Records  []*registry.Record `json:"records"`
	// Profiles are svcreg's service profiles of the name (or type), what
	// public specifications define beside the registration; [] with
	// mdns.profiles off.
	Profiles []*registry.Profile `json:"profiles"`
}

// service looks a name up: "http", "_http._tcp" (a DNS-SD type), with an
// optional ?proto=tcp.
func (a *api) service(w http.ResponseWriter, r *http.Request) {
	raw := r.PathValue("name")
	q, err := registry.ParseQuery(raw)
	if err != nil {
		a.error(w, http.StatusBadRequest, "%v", err)
		return
	}
	if q.IsPort {
		a.error(w, http.StatusBadRequest, "%q is a port; ask /v1/ports/{proto}/{port}", raw)
		return
	}
	if p := r.URL.Query().Get("proto"); p != "" {
		proto, ok := registry.ParseProtocol(p)
		if !ok {
			a.error(w, http.StatusBadRequest, "unknown protocol %q (want tcp, udp, sctp or dccp)", p)
			return
		}
		q.Protocol = proto
	}
	snap := a.snapshot(w)
	if snap == nil {
		return
	}
	recs := snap.Lookup(q)
	profiles := []*registry.Profile{}
	switch {
	case q.Protocol == "":
		profiles = append(profiles, snap.NameProfiles(q.Name)...)
	case snap.Profile(q.Name, q.Protocol) != nil:
		profiles = append(profiles, snap.Profile(q.Name, q.Protocol))
	}
	if len(recs) == 0 && len(profiles) == 0 {
		a.error(w, http.StatusNotFound, "no service named %q", raw)
		return
	}
	if recs == nil {
		recs = []*registry.Record{}
	}
	writeJSON(w, http.StatusOK, serviceResponse{Query: raw, Name: q.Name, Protocol: q.Protocol, Records: recs, Profiles: profiles})
}

// portResponse answers /v1/ports/{proto}/{port}.
type portResponse struct {
	Port     int                `json:"port"`
	Protocol registry.Protocol  `json:"protocol,omitempty"`
	Status   registry.Status    `json:"status"`
	Records  []*registry.Record `json:"records"`
}

// port reports a port's status and registrations; proto "any" means every
// protocol. An unassigned port is an answer (200), not an error.
func (a *api) port(w http.ResponseWriter, r *http.Request) {
	var proto registry.Protocol
	if p := r.PathValue("proto"); p != "any" {
		var ok bool
		if proto, ok = registry.ParseProtocol(p); !ok {
			a.error(w, http.StatusBadRequest, "unknown protocol %q (want tcp, udp, sctp, dccp or any)", p)
			return
		}
	}
	port, err := strconv.Atoi(r.PathValue("port"))
	if err != nil || port < 0 || port > 65535 {
		a.error(w, http.StatusBadRequest, "bad port %q (want 0-65535)", r.PathValue("port"))
		return
	}
	snap := a.snapshot(w)
	if snap == nil {
		return
	}
	recs := snap.ByPort(port, proto)
	if recs == nil {
		recs = []*registry.Record{}
	}
	writeJSON(w, http.StatusOK, portResponse{Port: port, Protocol: proto, Status: snap.PortStatus(port, proto), Records: recs})
}

func (a *api) registry(w http.ResponseWriter, _ *http.Request) {
	snap := a.snapshot(w)
	if snap == nil {
		return
	}
	writeJSON(w, http.StatusOK, snap.Stats())
}

type findingsResponse struct {
	MDNSEnabled bool           `json:"mdns_enabled"`
	Count       int            `json:"count"`
	Findings    []mdns.Finding `json:"findings"`
}

type publishedResponse struct {
	Count int               `json:"count"`
	Zones []proxy.Published `json:"zones"`
}

// published lists the discovery proxy's zones (none when mdns.publish
// is empty).
func (a *api) published(w http.ResponseWriter, _ *http.Request) {
	resp := publishedResponse{Zones: []proxy.Published{}}
	if a.opts.Published != nil {
		for _, z := range a.opts.Published() {
			if z.Excluded == nil {
				z.Excluded = []proxy.Exclusion{}
			}
			if z.Dropped == nil {
				z.Dropped = []proxy.Exclusion{}
			}
			resp.Zones = append(resp.Zones, z)
		}
	}
	resp.Count = len(resp.Zones)
	writeJSON(w, http.StatusOK, resp)
}

type advertisementsResponse struct {
	MDNSEnabled    bool                 `json:"mdns_enabled"`
	Count          int                  `json:"count"`
	Advertisements []mdns.Advertisement `json:"advertisements"`
}

// findings lists the LAN monitor's findings; with mDNS off the list is
// empty and mdns_enabled false (a monitoring probe need not branch on 404).
func (a *api) findings(w http.ResponseWriter, _ *http.Request) {
	resp := findingsResponse{Findings: []mdns.Finding{}}
	if a.opts.LAN != nil {
		resp.MDNSEnabled = true
		if f := a.opts.LAN.Findings(); f != nil {
			resp.Findings = f
		}
	}
	resp.Count = len(resp.Findings)
	writeJSON(w, http.StatusOK, resp)
}

func (a *api) advertisements(w http.ResponseWriter, _ *http.Request) {
	var ads []mdns.Advertisement
	if a.opts.LAN != nil {
		ads = a.opts.LAN.Advertisements() // copies
		for i := range ads {
			if ads[i].Findings == nil {
				ads[i].Findings = []mdns.Finding{} // lists in the API are never null
			}
		}
	}
	writeAdvertisements(w, a.opts.LAN != nil, ads)
}

// writeAdvertisements writes what writeJSON would for an
// advertisementsResponse, one advertisement at a time: a store of ten
// thousand is never held encoded (and indented) whole.
func writeAdvertisements(w http.ResponseWriter, enabled bool, ads []mdns.Advertisement) {
	writeJSONHeader(w, http.StatusOK)
	bw := bufio.NewWriterSize(w, 32<<10)
	fmt.Fprintf(bw, "{\n  \"mdns_enabled\": %t,\n  \"count\": %d,\n  \"advertisements\": [", enabled, len(ads))
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("    ", "  ")
	for i := range ads {
		buf.Reset()
		if err := enc.Encode(&ads[i]); err != nil {
			return // an Advertisement always encodes; nothing sensible to send
		}
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString("\n    ")
		bw.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
	}
	if len(ads) > 0 {
		bw.WriteString("\n  ")
	}
	bw.WriteString("]\n}\n")
	_ = bw.Flush() // the client went away; nothing to do
}

func (a *api) ready(w http.ResponseWriter, _ *http.Request) {
	err := error(nil)
	if a.opts.Ready != nil {
		err = a.opts.Ready()
	} else if a.opts.Store.Load() == nil {
		err = errors.New("no registry loaded yet")
	}
	if err != nil {
		a.error(w, http.StatusServiceUnavailable, "not ready: %v", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// index lists the endpoints when no web UI is mounted.
func (a *api) index(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		a.error(w, http.StatusNotFound, "not found: %s", r.URL.Path)
		return
	}
	writeJSON(w, http.StatusOK, map[string][]string{"endpoints": {
		"/v1/search?q=", "/v1/services/{name}", "/v1/ports/{proto}/{port}", "/v1/registry", "/v1/findings",
		"/v1/advertisements", "/v1/published", "/healthz", "/readyz", "/metrics",
	}})
}

// Probe fetches url and returns nil when it answers 200 within ctx (for
// svcreg healthcheck).
func Probe(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("probing %s: %w", url, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("probing %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var body apiError
		_ = json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 4096)).Decode(&body)
		msg := strings.TrimSpace(body.Error)
		if msg == "" {
			msg = http.StatusText(resp.StatusCode)
		}
		return fmt.Errorf("probing %s: %d %s", url, resp.StatusCode, msg)
	}
	return nil
}
