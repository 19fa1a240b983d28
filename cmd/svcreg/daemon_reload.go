package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/svcreg/svcreg/config"
	"github.com/svcreg/svcreg/fetch"
	"github.com/svcreg/svcreg/httpapi"
	"github.com/svcreg/svcreg/internal/embedded"
	"github.com/svcreg/svcreg/registry"
	"github.com/svcreg/svcreg/web"
)

// watchDebounce collects the burst of events one save makes (write,
// chmod, rename) into one reload.
const watchDebounce = 300 * time.Millisecond

// loadRegistry reads every source the config names (or the built-in
// default) plus the local additions and builds a snapshot. It also
// returns the files whose change should trigger a reload. URL sources
// are read from the cache; one not cached yet is downloaded first, and
// one that can be neither downloaded nor found in the cache is skipped
// with an error logged, because a network failure must not stop the
// daemon. A file that cannot be read or parsed is an error.
func (d *daemon) loadRegistry(ctx context.Context, cfg *config.Config) (*registry.Snapshot, []string, error) {
	var srcs []*registry.Source
	var watched []string
	if len(cfg.Registry.Sources) == 0 {
		var err error
		if srcs, err = d.defaultSources(ctx, cfg); err != nil {
			return nil, nil, err
		}
		if _, ok := embedded.Registry(); !ok {
			watched = append(watched, cfg.Registry.ServicesFile)
		}
	}
	for _, s := range cfg.Registry.Sources {
		path := s
		if config.IsURL(s) {
			path = cachePath(cfg, s)
			if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
				if _, err := d.download(ctx, cfg, s); err != nil {
					d.logger.Error("registry: URL source not available and not cached; skipped", "url", s, "error", err)
					continue
				}
			}
		}
		src, err := registry.LoadFile(ctx, path, registry.Format(cfg.Registry.Format))
		if err != nil {
			return nil, nil, err
		}
		logSource(d.logger, s, path, src)
		srcs = append(srcs, src)
		watched = append(watched, path)
	}
	if len(srcs) == 0 {
		// Every source was an unreachable URL: serve the default rather
		// than nothing.
		d.logger.Warn("registry: no configured source is available; using the built-in default until a refresh succeeds")
		var err error
		if srcs, err = d.defaultSources(ctx, cfg); err != nil {
			return nil, nil, err
		}
	}
	if local := cfg.LocalSource(); local != nil {
		d.logger.Info("registry: local additions from the config", "records", len(local.Records))
		srcs = append(srcs, local)
	}
	snap, err := registry.Build(srcs...)
	if err != nil {
		return nil, nil, err
	}
	warnShadowed(d.logger, snap)
	return snap, watched, nil
}

// warnShadowed logs local additions whose name and protocol another
// source registers too: legal (the local entry wins where it describes the
// same port), but usually a private name chosen without looking.
func warnShadowed(logger *slog.Logger, snap *registry.Snapshot) {
	for _, r := range snap.Records() {
		if r.Source != config.LocalSourceName {
			continue
		}
		for _, o := range snap.ByName(r.Name) {
			if o.Source != config.LocalSourceName && o.Protocol == r.Protocol {
				logger.Warn("registry: a local addition uses a name another source registers",
					"name", r.Name, "protocol", string(r.Protocol), "other_source", o.Source, "other_line", o.Line)
				break
			}
		}
	}
}

// defaultSources is the registry without configured sources: a build
// with -tags ianaembed serves its embedded IANA snapshot (then the
// built-in table, as DefaultSources orders the host's services file);
// other builds serve registry.DefaultSources, the host's services file
// plus the built-in table.
func (d *daemon) defaultSources(ctx context.Context, cfg *config.Config) ([]*registry.Source, error) {
	if b, ok := embedded.Registry(); ok {
		src, err := registry.Parse(bytes.NewReader(b), embedded.Name, registry.FormatXML)
		if err != nil {
			return nil, fmt.Errorf("embedded registry: %w", err)
		}
		logSource(d.logger, "embedded", "", src)
		return []*registry.Source{src, registry.Builtin()}, nil
	}
	return registry.DefaultSources(ctx, cfg.Registry.ServicesFile, d.logger)
}

func logSource(logger *slog.Logger, name, path string, src *registry.Source) {
	logger.Info("registry: loaded", "source", name, "path", path, "format", string(src.Format),
		"records", len(src.Records), "updated", src.Updated, "skipped_rows", len(src.Problems))
	for i := range src.Problems {
		if i == maxLoggedProblems {
			logger.Warn("registry: more rows skipped", "path", path, "count", len(src.Problems)-i)
			break
		}
		logger.Warn("registry: row skipped", "problem", src.Problems[i].Error())
	}
}

// download fetches one URL source into the cache, checking that it
// parses before it replaces the cached copy.
func (d *daemon) download(ctx context.Context, cfg *config.Config, rawURL string) (fetch.Result, error) {
	res, err := fetch.Fetch(ctx, fetch.Options{
		URL: rawURL, Path: cachePath(cfg, rawURL), MaxBytes: cfg.Registry.MaxDownloadBytes,
		Client: d.client, UserAgent: "svcreg/" + d.version,
		Validate: func(p string) error {
			_, err := registry.LoadFile(ctx, p, registry.Format(cfg.Registry.Format))
			return err
		},
	})
	if err == nil {
		d.logger.Info("registry: fetched", "url", rawURL, "path", res.Path, "changed", res.Changed, "bytes", res.Size)
	}
	return res, err
}

// reload re-reads the config and the registry and swaps the new snapshot
// in. On any error the previous snapshot stays, the error is logged and
// counted in svcreg_registry_reloads_total{result="failure"}. Queries are
// never interrupted: the resolver swaps its answer table atomically.
func (d *daemon) reload(ctx context.Context, reason string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	start := time.Now()
	log := d.logger.With("reason", reason)
	fail := func(msg string, err error) {
		if ctx.Err() != nil {
			log.Info("registry: reload abandoned: shutting down")
			return
		}
		log.Error(msg+"; still serving the previous registry", "error", err)
		d.metrics.ObserveLoad(nil, err, time.Now())
	}
	cfg, err := d.flags.load(d.environ)
	if err != nil {
		fail("config: reload failed", err)
		return
	}
	d.keepRestartOnly(log, cfg)
	snap, watched, err := d.loadRegistry(ctx, &cfg.Config)
	if err != nil {
		fail("registry: reload failed", err)
		return
	}
	if err := d.dns.SetSnapshot(ctx, snap); err != nil {
		fail("dns: reload failed", err)
		return
	}
	d.store.Swap(snap)
	d.metrics.ObserveLoad(snap, nil, time.Now())
	d.level.Set(parseLevel(cfg.Log.Level))
	d.cfg, d.watched = cfg, watched
	select {
	case d.rewatch <- struct{}{}:
	default:
	}
	log.Info("registry: reloaded", "records", snap.Stats().Records, "services", snap.Stats().Names,
		"serial", d.dns.Serial(), "took", time.Since(start).Round(time.Millisecond))
}

// keepRestartOnly warns about changes that only a restart applies
// (listeners, the DNS zone and its settings, mDNS, the log format) and
// keeps the running values in cfg, so the warning repeats until then.
func (d *daemon) keepRestartOnly(log *slog.Logger, cfg *config.Loaded) {
	old := d.cfg
	check := func(section string, running, next any, set func()) {
		if !reflect.DeepEqual(running, next) {
			log.Warn("config: "+section+" changed; restart svcreg to apply it", "section", section)
			set()
		}
	}
	check("dns", old.DNS, cfg.DNS, func() { cfg.DNS = old.DNS })
	check("http", old.HTTP, cfg.HTTP, func() { cfg.HTTP = old.HTTP })
	check("mdns", old.MDNS, cfg.MDNS, func() { cfg.MDNS = old.MDNS })
	check("log.format", old.Log.Format, cfg.Log.Format, func() { cfg.Log.Format = old.Log.Format })
	check("registry.refresh_interval", old.Registry.RefreshInterval, cfg.Registry.RefreshInterval,
		func() { cfg.Registry.RefreshInterval = old.Registry.RefreshInterval })
	check("registry.watch", old.Registry.Watch, cfg.Registry.Watch, func() { cfg.Registry.Watch = old.Registry.Watch })
}

// watchedFiles are the absolute paths whose change triggers a reload: the
// registry files and the config file.
func (d *daemon) watchedFiles() map[string]bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	files := map[string]bool{}
	add := func(p string) {
		if p == "" {
			return
		}
		if abs, err := filepath.Abs(p); err == nil {
			files[abs] = true
		}
	}
	for _, p := range d.watched {
		add(p)
	}
	add(d.cfg.Path)
	return files
}

// watch reloads when a watched file changes. It watches the directories,
// not the files, because editors and `svcreg fetch` replace a file by
// renaming a new one over it, which ends a watch on the file itself.
func (d *daemon) watch(ctx context.Context, trigger chan<- string) {
	d.mu.Lock()
	enabled := d.cfg.Registry.Watch
	d.mu.Unlock()
	if !enabled {
		return
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		d.logger.Warn("watch: file watching unavailable; reload with SIGHUP", "error", err)
		return
	}
	defer w.Close()
	dirs := map[string]bool{}
	sync := func() map[string]bool {
		files := d.watchedFiles()
		for f := range files {
			dir := filepath.Dir(f)
			if dirs[dir] {
				continue
			}
			if err := w.Add(dir); err != nil {
				d.logger.Warn("watch: cannot watch directory", "dir", dir, "error", err)
				continue
			}
			dirs[dir] = true
		}
		return files
	}
	files := sync()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var changed string
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if ev.Op == fsnotify.Chmod || !files[filepath.Clean(ev.Name)] {
				continue
			}
			changed = ev.Name
			timer.Reset(watchDebounce)
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			d.logger.Warn("watch: error", "error", err)
		case <-timer.C:
			requestReload(trigger, "file changed: "+changed)
		case <-d.rewatch:
			files = sync()
		}
	}
}

// refreshLoop re-downloads URL sources every registry.refresh_interval
// and asks for a reload when one changed. Failures are logged and retried
// at the next tick; they never stop the daemon.
func (d *daemon) refreshLoop(ctx context.Context, trigger chan<- string) {
	d.mu.Lock()
	interval := d.cfg.Registry.RefreshInterval
	d.mu.Unlock()
	if interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		d.mu.Lock()
		cfg := d.cfg.Config
		d.mu.Unlock()
		changed := false
		for _, s := range cfg.Registry.Sources {
			if !config.IsURL(s) {
				continue
			}
			res, err := d.download(ctx, &cfg, s)
			if err != nil {
				d.logger.Warn("registry: refresh failed; keeping the cached copy", "url", s, "error", err)
				continue
			}
			changed = changed || res.Changed
		}
		if changed {
			requestReload(trigger, "refresh")
		}
	}
}

// readyErr is the /readyz verdict: ready once a registry is loaded and
// every listener is up, not while shutting down.
func (d *daemon) readyErr() error {
	if !d.ready.Load() {
		return errors.New("listeners not up (starting or stopping)")
	}
	if d.store.Load() == nil {
		return errors.New("no registry loaded")
	}
	return nil
}

// httpHandler is the API with the web UI at "/".
func (d *daemon) httpHandler(cfg *config.Loaded, gatherer prometheus.Gatherer) (http.Handler, error) {
	var apiLAN httpapi.LAN
	var webLAN web.LANSource
	if d.monitor != nil {
		apiLAN, webLAN = d.monitor, d.monitor
	}
	host, port := dnsEndpoint(d.dns.Addrs())
	ui, err := web.New(web.Options{
		Store: d.store, LAN: webLAN, DNSServer: host, DNSPort: port, Zone: cfg.DNS.Zone,
		Logger: d.logger.With("component", "web"),
	})
	if err != nil {
		d.logger.Error("web: UI unavailable; serving the API only", "error", err)
		ui = nil
	}
	return httpapi.New(httpapi.Options{
		Store: d.store, LAN: apiLAN, Ready: d.readyErr, Gatherer: gatherer, UI: ui,
		Logger: d.logger.With("component", "http"),
	})
}

// startHTTP listens on every address before serving on any, so a bad
// address fails the start cleanly.
func (d *daemon) startHTTP(ctx context.Context, addrs []string, h http.Handler) ([]*http.Server, error) {
	var lc net.ListenConfig
	var lns []net.Listener
	for _, a := range addrs {
		ln, err := lc.Listen(ctx, "tcp", a)
		if err != nil {
			for _, l := range lns {
				l.Close()
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

// listenAddrs returns the HTTP servers' addresses for the log.
func listenAddrs(servers []*http.Server) []string {
	out := make([]string, len(servers))
	for i, s := range servers {
		out[i] = s.Addr
	}
	return slices.Clip(out)
}
