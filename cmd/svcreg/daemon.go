package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/svcreg/svcreg/config"
	"github.com/svcreg/svcreg/fetch"
	"github.com/svcreg/svcreg/httpapi"
	"github.com/svcreg/svcreg/mdns"
	"github.com/svcreg/svcreg/registry"
	"github.com/svcreg/svcreg/resolver"
	"github.com/svcreg/svcreg/web"
)

// daemon is one svcreg serve process: the registry store, the resolver,
// the HTTP servers and the optional mDNS monitor, and the reload logic.
type daemon struct {
	flags   configFlags
	environ []string
	logger  *slog.Logger
	level   *slog.LevelVar
	version string

	mu      sync.Mutex     // serialises reloads
	cfg     *config.Loaded // the config in force, guarded by mu
	watched []string       // files whose change triggers a reload, guarded by mu
	// rewatch tells the watcher that a reload may have changed the files.
	rewatch chan struct{}

	store   *registry.Store
	dns     *resolver.Server
	metrics *httpapi.Metrics
	monitor *mdns.Monitor
	ready   atomic.Bool
	client  *http.Client
}

// run serves until ctx is done, reloading on hup, on file changes and on
// the refresh interval. It returns nil after a clean shutdown.
func (d *daemon) run(ctx context.Context, cfg *config.Loaded, hup <-chan os.Signal) error {
	d.cfg = cfg
	d.rewatch = make(chan struct{}, 1)
	d.client = &http.Client{Timeout: 2 * time.Minute}
	reg := httpapi.NewRegistry()
	metrics, err := httpapi.NewMetrics(reg, d.version)
	if err != nil {
		return err
	}
	d.metrics = metrics

	snap, watched, err := d.loadRegistry(ctx, &cfg.Config)
	if err != nil {
		return fmt.Errorf("loading the registry: %w", err)
	}
	d.watched = watched
	d.store = registry.NewStore(snap)
	d.metrics.ObserveLoad(snap, nil, time.Now())

	rc := resolverConfig(cfg.DNS)
	rc.SerialFile = serialFilePath(&cfg.Config)
	d.dns, err = resolver.New(rc, d.logger.With("component", "dns"), reg)
	if err != nil {
		return fmt.Errorf("configuring DNS: %w", err)
	}
	if err := d.dns.SetSnapshot(ctx, snap); err != nil {
		return fmt.Errorf("building the DNS zone: %w", err)
	}

	// Background work lives until shutdown, not until the signal context
	// ends, so that shutdown can order it.
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBG()
	var wg sync.WaitGroup

	if len(cfg.MDNS.Interfaces) > 0 {
		if d.monitor, err = d.newMonitor(cfg, reg); err != nil {
			return err
		}
		wg.Go(func() {
			if err := d.monitor.Run(bg); err != nil && !errors.Is(err, context.Canceled) {
				d.logger.Error("mdns: monitor stopped", "error", err)
			}
		})
	}

	if err := d.dns.Start(ctx); err != nil {
		stopBG()
		wg.Wait()
		return fmt.Errorf("starting DNS: %w", err)
	}
	handler, err := d.httpHandler(cfg, reg)
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
		"rrl_rate", cfg.DNS.RRLRate, "records", snap.Stats().Records)

	// Reloads run one at a time off the signal loop, so a slow reload
	// never delays SIGTERM; requests that arrive during one coalesce into
	// one more.
	reloads := make(chan string, 1)
	wg.Go(func() {
		for {
			select {
			case <-bg.Done():
				return
			case reason := <-reloads:
				d.reload(bg, reason)
			}
		}
	})
	wg.Go(func() { d.watch(bg, reloads) })
	wg.Go(func() { d.refreshLoop(bg, reloads) })

	for {
		select {
		case <-ctx.Done():
			d.logger.Info("svcreg: shutting down")
			d.shutdown(servers, stopBG, &wg)
			d.logger.Info("svcreg: stopped")
			return nil
		case <-hup:
			requestReload(reloads, "SIGHUP")
		}
	}
}

// requestReload queues a reload unless one is already waiting.
func requestReload(reloads chan<- string, reason string) {
	select {
	case reloads <- reason:
	default:
	}
}

// shutdown stops accepting, lets in-flight requests finish within the
// grace period, and stops background work (which also ends long-lived
// HTTP requests such as the web UI's event stream).
func (d *daemon) shutdown(servers []*http.Server, stopBG context.CancelFunc, wg *sync.WaitGroup) {
	d.ready.Store(false)
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	stopBG()
	var sw sync.WaitGroup
	for _, s := range servers {
		sw.Go(func() {
			hctx, hcancel := context.WithTimeout(sctx, httpShutdownGrace)
			defer hcancel()
			if err := s.Shutdown(hctx); err != nil {
				d.logger.Info("http: closing connections still open after the grace period", "addr", s.Addr, "error", err)
				s.Close()
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

// newMonitor builds the LAN monitor from the mdns section; rule IDs in
// mdns.rules must exist in the catalogue.
func (d *daemon) newMonitor(cfg *config.Loaded, reg prometheus.Registerer) (*mdns.Monitor, error) {
	mc := cfg.MDNS
	pol, err := mdnsPolicy(cfg)
	if err != nil {
		return nil, err
	}
	m, err := mdns.NewMonitor(mdns.MonitorConfig{
		Interfaces:     slices.Clone(mc.Interfaces),
		MaxInstances:   mc.MaxInstances,
		Browse:         mc.Browse,
		BrowseInterval: mc.BrowseInterval,
		Policy:         pol,
	}, d.store, d.logger.With("component", "mdns"), reg)
	if err != nil {
		return nil, fmt.Errorf("configuring mDNS: %w", err)
	}
	return m, nil
}

// mdnsPolicy turns mdns.rules (rule -> info|warning|error|off) into the
// validator's policy. A rule ID the catalogue lacks is an error naming
// where it was set.
func mdnsPolicy(cfg *config.Loaded) (mdns.Policy, error) {
	known := map[string]bool{}
	for _, r := range mdns.Rules() {
		known[r.ID] = true
	}
	var p mdns.Policy
	var errs []error
	ids := slices.Sorted(maps.Keys(cfg.MDNS.Rules))
	for _, id := range ids {
		key := "mdns.rules." + id
		if !known[id] {
			errs = append(errs, fmt.Errorf("%s: %s: %w (svcreg rules lists them)", cfg.Origin(key), key, mdns.ErrUnknownRule))
			continue
		}
		sev := cfg.MDNS.Rules[id]
		if sev == "off" {
			if p.Disabled == nil {
				p.Disabled = map[string]bool{}
			}
			p.Disabled[id] = true
			continue
		}
		s, err := mdns.ParseSeverity(sev)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %s: %w", cfg.Origin(key), key, err))
			continue
		}
		if p.Severity == nil {
			p.Severity = map[string]mdns.Severity{}
		}
		p.Severity[id] = s
	}
	if err := errors.Join(errs...); err != nil {
		return p, err
	}
	return p, p.Check()
}

// resolverConfig maps the config's dns section onto the resolver's. The
// serial file is not set here: it depends on the cache directory (see
// serialFilePath), and svcreg zone keeps no serial state.
func resolverConfig(c config.DNS) resolver.Config {
	rc := resolver.DefaultConfig()
	rc.Zone = c.Zone
	rc.Listen = slices.Clone(c.Listen)
	rc.TTL, rc.NegTTL = c.TTL, c.NegTTL
	rc.Target = c.Target
	// DefaultConfig derived NS and Mbox from the default zone; unset, they
	// must follow the zone served (ns1.<zone>, hostmaster.<zone>).
	rc.NS, rc.Mbox = nil, ""
	if len(c.NS) > 0 {
		rc.NS = slices.Clone(c.NS)
	}
	if c.Mbox != "" {
		rc.Mbox = c.Mbox
	}
	rc.VersionBind, rc.IDServer = c.VersionBind, c.IDServer
	rc.AXFRAllow = slices.Clone(c.AXFRAllow)
	if rc.AXFRAllow == nil {
		rc.AXFRAllow = []netip.Prefix{} // an empty list in the config allows no one
	}
	rc.Notify = slices.Clone(c.Notify)
	rc.UDPSize = c.UDPSize
	rc.QueryLog = c.QueryLog
	rc.Addresses = slices.Clone(c.Addresses)
	if rc.Addresses == nil {
		rc.Addresses = []netip.Addr{} // [] in the config: no A/AAAA, not the resolver's 127.0.0.1
	}
	rc.NotifyRetries, rc.NotifyTimeout = c.NotifyRetries, c.NotifyTimeout
	rc.UDPWorkers, rc.UDPBatch = c.UDPWorkers, c.UDPBatch
	rc.MaxTCPConns, rc.TCPIdleTimeout, rc.TCPReadTimeout = c.TCPMaxConns, c.TCPIdleTimeout, c.TCPReadTimeout
	rc.RRLRate, rc.RRLSlip = c.RRLRate, c.RRLSlip
	rc.RRLIPv4Prefix, rc.RRLIPv6Prefix = c.RRLIPv4Prefix, c.RRLIPv6Prefix
	return rc
}

func addrStrings(addrs []net.Addr) []string {
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = a.String()
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

// cacheDir is registry.cache_dir or its default.
func cacheDir(cfg *config.Config) string {
	if cfg.Registry.CacheDir != "" {
		return cfg.Registry.CacheDir
	}
	return fetch.DefaultCacheDir(os.Getenv)
}

// cachePath is where a URL source is cached.
func cachePath(cfg *config.Config, rawURL string) string {
	return filepath.Join(cacheDir(cfg), fetch.CacheName(rawURL))
}

// serialFilePath is where the resolver keeps the SOA serial across
// restarts (dns.serial_file): "" = zone-<zone>.serial in the cache
// directory, "none" = nowhere (""), else the path given.
func serialFilePath(cfg *config.Config) string {
	switch cfg.DNS.SerialFile {
	case config.SerialFileNone:
		return ""
	case "":
		return filepath.Join(cacheDir(cfg), "zone-"+fileSafe(strings.TrimSuffix(cfg.DNS.Zone, "."))+".serial")
	}
	return cfg.DNS.SerialFile
}

// fileSafe keeps letters, digits, '.', '-' and '_' of a zone name for a
// file name; anything else (a zone may hold escaped bytes) becomes '_'.
func fileSafe(zone string) string {
	if zone == "" {
		return "root"
	}
	b := []byte(strings.ToLower(zone))
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}
