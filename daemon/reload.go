package daemon

import (
	"context"
	"log/slog"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/svcreg/svcreg/config"
	"github.com/svcreg/svcreg/registry"
)

// watchDebounce collects the burst of events one save makes (write,
// chmod, rename) into one reload.
const watchDebounce = 300 * time.Millisecond

// sourceOptions are the options every registry load of the daemon uses:
// URL sources unavailable and uncached are skipped, because a network
// failure must not stop the daemon.
func (d *Daemon) sourceOptions(cfg *config.Config) registry.SourceOptions {
	opts := cfg.SourceOptions()
	opts.Client, opts.UserAgent, opts.Logger = d.client, "svcreg/"+d.version, d.logger
	opts.SkipUnavailable = true
	return opts
}

// loadRegistry reads every source cfg names (or the built-in default)
// plus the local additions and builds a snapshot.
func (d *Daemon) loadRegistry(ctx context.Context, cfg *config.Config) (*registry.Loaded, error) {
	return registry.LoadSources(ctx, cfg.Registry.Sources, d.sourceOptions(cfg))
}

// RequestReload asks the running daemon for a reload and returns at once;
// a request made while one is already waiting is absorbed by it.
func (d *Daemon) RequestReload(reason string) {
	select {
	case d.reloads <- reason:
	default:
	}
}

// Reload re-reads the config and the registry now and swaps the new
// snapshot in. On any error the previous snapshot stays, the error is
// logged, counted in svcreg_registry_reloads_total{result="failure"} and
// returned. Queries are never interrupted: the resolver swaps its answer
// table atomically.
func (d *Daemon) Reload(ctx context.Context) error {
	return d.reload(ctx, "requested")
}

func (d *Daemon) reload(ctx context.Context, reason string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	start := time.Now()
	log := d.logger.With("reason", reason)
	fail := func(msg string, err error) error {
		if ctx.Err() != nil {
			log.Info("registry: reload abandoned: shutting down")
			return err
		}
		log.Error(msg+"; still serving the previous registry", "error", err)
		d.metrics.ObserveLoad(nil, err, time.Now())
		return err
	}
	cfg, err := d.cfg.Reread()
	if err != nil {
		return fail("config: reload failed", err)
	}
	d.keepRestartOnly(log, cfg)
	loaded, err := d.loadRegistry(ctx, &cfg.Config)
	if err != nil {
		return fail("registry: reload failed", err)
	}
	snap := loaded.Snapshot
	if err := d.dns.SetSnapshot(ctx, snap); err != nil {
		return fail("dns: reload failed", err)
	}
	d.store.Swap(snap)
	if d.monitor != nil {
		d.monitor.Reloaded()
	}
	d.metrics.ObserveLoad(snap, nil, time.Now())
	if d.level != nil {
		d.level.Set(ParseLevel(cfg.Log.Level))
	}
	d.cfg, d.watched = cfg, loaded.Watched
	select {
	case d.rewatch <- struct{}{}:
	default:
	}
	log.Info("registry: reloaded", "records", snap.Stats().Records, "services", snap.Stats().Names,
		"serial", d.dns.Serial(), "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// ParseLevel is a log.level value as a slog level (info when unknown).
func ParseLevel(s string) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(s))); err != nil {
		return slog.LevelInfo
	}
	return l
}

// keepRestartOnly warns about changes that only a restart applies
// (listeners, the DNS zone and its settings, mDNS, the log format) and
// keeps the running values in cfg, so the warning repeats until then.
func (d *Daemon) keepRestartOnly(log *slog.Logger, cfg *config.Loaded) {
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
func (d *Daemon) watchedFiles() map[string]bool {
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
func (d *Daemon) watch(ctx context.Context) {
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
	defer func() { _ = w.Close() }()
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
			d.RequestReload("file changed: " + changed)
		case <-d.rewatch:
			files = sync()
		}
	}
}

// refreshLoop re-downloads URL sources every registry.refresh_interval
// and asks for a reload when one changed. Failures are logged and retried
// at the next tick; they never stop the daemon.
func (d *Daemon) refreshLoop(ctx context.Context) {
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
		if d.refresh(ctx) {
			d.RequestReload("refresh")
		}
	}
}

// refresh downloads every URL source once and reports whether one
// changed.
func (d *Daemon) refresh(ctx context.Context) bool {
	d.mu.Lock()
	cfg := d.cfg.Config
	d.mu.Unlock()
	opts := d.sourceOptions(&cfg)
	changed := false
	for _, s := range cfg.Registry.Sources {
		if !registry.IsURL(s) {
			continue
		}
		res, err := registry.Download(ctx, s, opts)
		if err != nil {
			d.logger.Warn("registry: refresh failed; keeping the cached copy", "url", s, "error", err)
			continue
		}
		changed = changed || res.Changed
	}
	return changed
}
