package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/svcreg/svcreg/config"
	"github.com/svcreg/svcreg/httpapi"
	"github.com/svcreg/svcreg/mdns"
	"github.com/svcreg/svcreg/proxy"
	"github.com/svcreg/svcreg/registry"
	"github.com/svcreg/svcreg/resolver"
	"github.com/svcreg/svcreg/web"
)

// ShutdownGrace bounds a graceful stop: the daemon exits within 5 s of
// SIGTERM, so in-flight work gets a little less than that.
const ShutdownGrace = 4 * time.Second

// httpShutdownGrace bounds the wait for HTTP requests in flight. It is
// shorter than ShutdownGrace because http.Server.Shutdown waits up to 5 s
// for connections that were opened but never sent a request (browsers
// open such speculative connections); after it, the rest are closed.
const httpShutdownGrace = 2 * time.Second

// Option adjusts a Daemon built by New.
type Option func(*Daemon)

// WithVersion sets the version reported in metrics, logs and the
// User-Agent of downloads (default "devel").
func WithVersion(v string) Option { return func(d *Daemon) { d.version = v } }

// WithLevel lets a reload apply log.level to the logger New was given,
// whose handler must read its level from lv.
func WithLevel(lv *slog.LevelVar) Option { return func(d *Daemon) { d.level = lv } }

// WithHTTPClient sets the client of URL downloads (default: a client with
// a 2-minute timeout).
func WithHTTPClient(c *http.Client) Option { return func(d *Daemon) { d.client = c } }

// Daemon is one svcreg serve process.
type Daemon struct {
	logger  *slog.Logger
	level   *slog.LevelVar
	version string
	client  *http.Client
	reg     *prometheus.Registry

	mu      sync.Mutex     // serialises reloads
	cfg     *config.Loaded // the config in force, guarded by mu
	watched []string       // files whose change triggers a reload, guarded by mu
	// rewatch tells the watcher that a reload may have changed the files.
	rewatch chan struct{}
	// reloads queues reload requests; one waiting absorbs the others.
	reloads chan string

	store   *registry.Store
	dns     *resolver.Server
	metrics *httpapi.Metrics
	monitor *mdns.Monitor
	// publish keeps the zones of mdns.publish (nil: none).
	publish *publisher
	ready   atomic.Bool
}

// New loads the registry cfg names and builds every component, ready for
// Run; nothing listens yet. reg receives the daemon's metrics and is what
// /metrics serves (nil: a new registry with the Go and process
// collectors).
func New(ctx context.Context, cfg *config.Loaded, logger *slog.Logger, reg *prometheus.Registry, opts ...Option) (*Daemon, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if reg == nil {
		reg = httpapi.NewRegistry()
	}
	// A monitor that cannot listen must stop the start, as svcreg scan
	// does, not leave a LAN that looks clean; checked first, before the
	// registry is read.
	if err := mdns.CheckInterfaces(cfg.MDNS.Interfaces); err != nil {
		return nil, fmt.Errorf("mdns.interfaces (%s): %w", cfg.Origin("mdns.interfaces"), err)
	}
	d := &Daemon{
		logger: logger, version: "devel", reg: reg, cfg: cfg,
		rewatch: make(chan struct{}, 1), reloads: make(chan string, 1),
	}
	for _, o := range opts {
		o(d)
	}
	if d.client == nil {
		d.client = &http.Client{Timeout: 2 * time.Minute}
	}
	metrics, err := httpapi.NewMetrics(reg, d.version)
	if err != nil {
		return nil, err
	}
	d.metrics = metrics

	loaded, err := d.loadRegistry(ctx, &cfg.Config)
	if err != nil {
		return nil, fmt.Errorf("loading the registry: %w", err)
	}
	d.watched = loaded.Watched
	d.store = registry.NewStore(loaded.Snapshot)
	d.metrics.ObserveLoad(loaded.Snapshot, nil, time.Now())

	d.dns, err = resolver.New(cfg.Resolver(), d.logger.With("component", "dns"), reg)
	if err != nil {
		return nil, fmt.Errorf("configuring DNS: %w", err)
	}
	if err := d.dns.SetSnapshot(ctx, loaded.Snapshot); err != nil {
		return nil, fmt.Errorf("building the DNS zone: %w", err)
	}
	if len(cfg.MDNS.Interfaces) > 0 {
		mc, err := cfg.Monitor()
		if err != nil {
			return nil, err
		}
		if d.monitor, err = mdns.NewMonitor(mc, d.store, d.logger.With("component", "mdns"), reg); err != nil {
			return nil, fmt.Errorf("configuring mDNS: %w", err)
		}
		if links, notify := cfg.PublishLinks(); len(links) > 0 {
			d.publish = &publisher{links: links, notify: notify, dns: d.dns, monitor: d.monitor, store: d.store,
				logger: d.logger.With("component", "mdns"), misses: make(chan string, 64)}
			d.publish.publish(ctx) // each link's zone is served, empty, from the start
		}
	} else if err := mdns.RegisterIdleMetrics(reg); err != nil {
		return nil, err
	}
	return d, nil
}

// Store is the registry store the daemon serves from.
func (d *Daemon) Store() *registry.Store { return d.store }

// DNS is the authoritative server (its addresses are known once Run has
// started it).
func (d *Daemon) DNS() *resolver.Server { return d.dns }

// Ready is the /readyz verdict: nil once a registry is loaded and every
// listener is up, not while starting or stopping, nor after the mDNS
// monitor stopped.
func (d *Daemon) Ready() error {
	if !d.ready.Load() {
		return errors.New("listeners not up (starting or stopping)")
	}
	if d.monitor != nil {
		if why := d.monitor.Stopped(); why != "" {
			return fmt.Errorf("mdns monitor stopped: %s", why)
		}
	}
	if d.store.Load() == nil {
		return errors.New("no registry loaded")
	}
	return nil
}

// Run serves until ctx is done, reloading on RequestReload, on file
// changes and on the refresh interval. It returns nil after a clean
// shutdown and an error when a component cannot start.
func (d *Daemon) Run(ctx context.Context) error {
	d.mu.Lock()
	cfg := d.cfg
	d.mu.Unlock()
	// Background work lives until shutdown, not until ctx ends, so that
	// shutdown can order it.
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBG()
	var wg sync.WaitGroup

	if d.monitor != nil {
		wg.Go(func() {
			if err := d.monitor.Run(bg); err != nil && !errors.Is(err, context.Canceled) {
				d.logger.Error("mdns: monitor stopped", "error", err)
			}
		})
	}
	if d.publish != nil {
		changes := d.monitor.Subscribe(bg)
		wg.Go(func() { d.publish.run(bg, changes) })
	}
	if err := d.dns.Start(ctx); err != nil {
		stopBG()
		wg.Wait()
		return fmt.Errorf("starting DNS: %w", err)
	}
	handler, err := d.httpHandler(cfg)
	if err != nil {
		d.shutdown(nil, stopBG, &wg)
		return err
	}
	servers, err := d.startHTTP(bg, cfg.HTTP.Listen, handler)
	if err != nil {
		d.shutdown(nil, stopBG, &wg)
		return err
	}
	d.ready.Store(true)
	d.logger.Info("svcreg: serving", "version", d.version, "zone", cfg.DNS.Zone,
		"dns", addrStrings(d.dns.Addrs()), "http", listenAddrs(servers), "mdns", cfg.MDNS.Interfaces,
		"rrl_rate", cfg.DNS.RRLRate, "records", d.store.Load().Stats().Records)

	// Reloads run one at a time off the caller's loop, so a slow reload
	// never delays a stop; requests that arrive during one coalesce into
	// one more.
	wg.Go(func() {
		for {
			select {
			case <-bg.Done():
				return
			case reason := <-d.reloads:
				_ = d.reload(bg, reason)
			}
		}
	})
	wg.Go(func() { d.watch(bg) })
	wg.Go(func() { d.refreshLoop(bg) })

	<-ctx.Done()
	d.logger.Info("svcreg: shutting down")
	d.shutdown(servers, stopBG, &wg)
	d.logger.Info("svcreg: stopped")
	return nil
}

// shutdown stops accepting, lets in-flight requests finish within the
// grace period, and stops background work (which also ends long-lived
// HTTP requests such as the web UI's event stream).
func (d *Daemon) shutdown(servers []*http.Server, stopBG context.CancelFunc, wg *sync.WaitGroup) {
	d.ready.Store(false)
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
	defer cancel()
	stopBG()
	var sw sync.WaitGroup
	for _, s := range servers {
		sw.Go(func() {
			hctx, hcancel := context.WithTimeout(sctx, httpShutdownGrace)
			defer hcancel()
			if err := s.Shutdown(hctx); err != nil {
				d.logger.Info("http: closing connections still open after the grace period", "addr", s.Addr, "error", err)
				_ = s.Close()
			}
		})
	}
	sw.Go(func() {
		if err := d.dns.Shutdown(sctx); err != nil {
			d.logger.Warn("dns: shutdown", "error", err)
		}
	})
	sw.Wait()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-sctx.Done():
		d.logger.Warn("svcreg: background work did not stop in time")
	}
}

// httpHandler is the API with the web UI at "/".
func (d *Daemon) httpHandler(cfg *config.Loaded) (http.Handler, error) {
	var apiLAN httpapi.LAN
	var webLAN web.LANSource
	if d.monitor != nil {
		apiLAN, webLAN = d.monitor, d.monitor
	}
	var published func() []proxy.Published
	if d.publish != nil {
		published = d.publish.zones
	}
	host, port := dnsEndpoint(d.dns.Addrs())
	ui, err := web.New(web.Options{
		Store: d.store, LAN: webLAN, DNSServer: host, DNSPort: port, Zone: cfg.DNS.Zone, Published: published,
		Answers: d.answerLines, Logger: d.logger.With("component", "web"),
	})
	if err != nil {
		d.logger.Error("web: UI unavailable; serving the API only", "error", err)
		ui = nil
	}
	return httpapi.New(httpapi.Options{
		Store: d.store, LAN: apiLAN, Ready: d.Ready, Gatherer: d.reg, UI: ui, Published: published,
		Logger: d.logger.With("component", "http"),
	})
}

// answerLines is what the DNS server answers for owner and qtype, as
// zone-file lines, for the web UI's service pages.
func (d *Daemon) answerLines(owner string, qtype uint16) ([]string, error) {
	rrs, _, err := d.dns.Answer(owner, qtype)
	if err != nil {
		return nil, err
	}
	lines := make([]string, len(rrs))
	for i, rr := range rrs {
		lines[i] = rr.String()
	}
	return lines, nil
}

// startHTTP listens on every address before serving on any, so a bad
// address fails the start cleanly.
func (d *Daemon) startHTTP(ctx context.Context, addrs []string, h http.Handler) ([]*http.Server, error) {
	var lc net.ListenConfig
	var lns []net.Listener
	for _, a := range addrs {
		ln, err := lc.Listen(ctx, "tcp", a)
		if err != nil {
			for _, l := range lns {
				_ = l.Close()
			}
			return nil, fmt.Errorf("listening on http %s: %w", a, err)
		}
		lns = append(lns, ln)
	}
	errLog := slog.NewLogLogger(d.logger.With("component", "http").Handler(), slog.LevelWarn)
	servers := make([]*http.Server, len(lns))
	for i, ln := range lns {
		s := &http.Server{
			Addr: ln.Addr().String(), Handler: h, ErrorLog: errLog,
			ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
			BaseContext: func(net.Listener) context.Context { return ctx },
		}
		servers[i] = s
		go func() {
			if err := s.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				d.logger.Error("http: server stopped", "addr", s.Addr, "error", err)
			}
		}()
	}
	return servers, nil
}

func addrStrings(addrs []net.Addr) []string {
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = a.String()
	}
	return out
}

// listenAddrs returns the HTTP servers' addresses for the log.
func listenAddrs(servers []*http.Server) []string {
	out := make([]string, len(servers))
	for i, s := range servers {
		out[i] = s.Addr
	}
	return out
}

// dnsEndpoint is the first DNS listener as host and port, for the dig
// commands the web UI shows.
func dnsEndpoint(addrs []net.Addr) (string, int) {
	for _, a := range addrs {
		host, port, err := net.SplitHostPort(a.String())
		if err != nil {
			continue
		}
		p, _ := strconv.Atoi(port)
		if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
			host = "127.0.0.1"
		}
		return host, p
	}
	return web.DefaultDNSServer, web.DefaultDNSPort
}
