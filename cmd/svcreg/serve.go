package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"

	"github.com/svcreg/svcreg/config"
	"github.com/svcreg/svcreg/daemon"
	"github.com/svcreg/svcreg/registry"
)

// configFlags collects the flags that override config keys, in the order
// given, as config.Settings; a repeated flag of a list key accumulates.
type configFlags struct {
	path     string
	settings []config.Setting
}

// listFlag adds a repeatable flag for a list key.
func (c *configFlags) listFlag(fs *flag.FlagSet, name, key, usage string) {
	fs.Func(name, usage, func(s string) error {
		if s == "" {
			return errors.New("empty value")
		}
		for i := range c.settings {
			if c.settings[i].Key == key {
				c.settings[i].Values = append(c.settings[i].Values, s)
				return nil
			}
		}
		c.settings = append(c.settings, config.Setting{Key: key, Values: []string{s}, Origin: "--" + name})
		return nil
	})
}

// valueFlag adds a flag for a single-valued key; the last one wins.
func (c *configFlags) valueFlag(fs *flag.FlagSet, name, key, usage string) {
	fs.Func(name, usage, func(s string) error {
		c.settings = append(c.settings, config.Setting{Key: key, Values: []string{s}, Origin: "--" + name})
		return nil
	})
}

// registerSources adds the flags of every command that reads the
// registry: --config and the registry sources.
func (c *configFlags) registerSources(fs *flag.FlagSet) {
	c.registerSourcesFormat(fs, "format")
}

// registerSourcesFormat is registerSources with the flag that forces the
// sources' format named formatFlag, for a command whose --format names
// its output (svcreg export).
func (c *configFlags) registerSourcesFormat(fs *flag.FlagSet, formatFlag string) {
	fs.StringVar(&c.path, "config", "", "read the config `FILE` (YAML; default $"+config.EnvConfig+", else none); flags override it")
	c.listFlag(fs, "registry", "registry.sources", "read the registry from `PATH|URL` (the IANA XML or CSV, the text or markdown rendering, "+
		"a services file, builtin for svcreg's table of common DNS-SD types, embedded for a release build's IANA copy; "+
		"a URL is read from the cache svcreg fetch fills); repeat to merge several; default: the host's services file plus the built-in table")
	fs.Func(formatFlag, "read every --registry source as `FORMAT`: xml, csv, text, markdown or services (default: detected from the content)", func(s string) error {
		switch fm := registry.Format(s); fm {
		case registry.FormatXML, registry.FormatCSV, registry.FormatText, registry.FormatMarkdown, registry.FormatServices:
			c.settings = append(c.settings, config.Setting{Key: "registry.format", Values: []string{s}, Origin: "--" + formatFlag})
			return nil
		}
		return fmt.Errorf("unknown format %q (want xml, csv, text, markdown or services)", s)
	})
	fs.Func("profiles", "`on|off`: layer svcreg's service profiles (what public specifications define for common DNS-SD types) over the registry (default on; off: the registry-only view)", func(s string) error {
		v, ok := map[string]string{"on": "true", "off": "false", "true": "true", "false": "false"}[s]
		if !ok {
			return fmt.Errorf("want on or off, not %q", s)
		}
		c.settings = append(c.settings, config.Setting{Key: "mdns.profiles", Values: []string{v}, Origin: "--profiles"})
		return nil
	})
	c.valueFlag(fs, "services-file", "registry.services_file", "services `FILE` the built-in default reads (default "+registry.DefaultServicesPath+"; ignored with --registry)")
}

// register adds the flags serve and config check share.
func (c *configFlags) register(fs *flag.FlagSet) {
	c.registerSources(fs)
	c.valueFlag(fs, "zone", "dns.zone", "DNS `ZONE` served (default "+config.DefaultZone+")")
	c.listFlag(fs, "dns-listen", "dns.listen", "DNS listen `ADDR` host:port, UDP and TCP (repeatable; default "+config.DefaultDNSListen+")")
	c.listFlag(fs, "http-listen", "http.listen", "HTTP listen `ADDR` host:port (repeatable; default "+config.DefaultHTTPListen+")")
	c.listFlag(fs, "mdns-interface", "mdns.interfaces", "validate mDNS advertisements on `IFACE` (repeatable; default none: off)")
	c.valueFlag(fs, "log-level", "log.level", "log `LEVEL`: debug, info, warn, error (default info)")
	c.valueFlag(fs, "log-format", "log.format", "log `FORMAT`: text or json (default text)")
	fs.BoolFunc("query-log", "log every DNS query", func(s string) error {
		c.settings = append(c.settings, config.Setting{Key: "dns.query_log", Values: []string{s}, Origin: "--query-log"})
		return nil
	})
	c.valueFlag(fs, "refresh-interval", "registry.refresh_interval", "re-fetch URL registry sources every `DURATION` (default 0: off)")
	c.valueFlag(fs, "rrl-rate", "dns.rrl_rate", "rate-limit UDP answers to `N` per second per source prefix (default 0: off)")
}

// load builds the effective config: flags > env > file > defaults.
func (c *configFlags) load(environ []string) (*config.Loaded, error) {
	return config.Load(config.Options{Path: c.path, Environ: environ, Flags: c.settings})
}

func runServe(ctx context.Context, args []string, _, stderr io.Writer) int {
	fs := flag.NewFlagSet("svcreg serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf configFlags
	cf.register(fs)
	quiet := func(origin string) func(string) error {
		return func(s string) error {
			if on, err := strconv.ParseBool(s); err != nil || !on {
				return err
			}
			cf.settings = append(cf.settings, config.Setting{Key: "log.level", Values: []string{"warn"}, Origin: origin})
			return nil
		}
	}
	fs.BoolFunc("q", "log only warnings and errors (log.level warn)", quiet("-q"))
	fs.BoolFunc("quiet", "same as -q", quiet("--quiet"))
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: svcreg serve [FLAGS]\n\nRun the daemon: authoritative DNS for the registry zone, the HTTP API,\nmetrics and web UI, and (with --mdns-interface) LAN validation.\nSIGHUP reloads; SIGTERM or SIGINT stop it. Exit 2 for bad usage, a bad config\nor an unreadable registry; 1 when a listener cannot be opened or the\ndaemon stops on a failure.\n\nflags:")
		fs.PrintDefaults()
	}
	if code, ok := parseFlagsOnly(fs, args, "serve", stderr); !ok {
		return code
	}
	environ := os.Environ()
	cfg, err := cf.load(environ)
	if err != nil {
		printErrorLines(stderr, "serve", err)
		return exitUsage
	}
	level := new(slog.LevelVar)
	logger := newDaemonLogger(stderr, cfg.Log, level)
	for _, name := range config.UnknownEnv(environ) {
		logger.Warn("config: environment variable names no config key; ignored", "variable", name)
	}

	d, err := daemon.New(ctx, cfg, logger, nil, daemon.WithVersion(buildVersion()), daemon.WithLevel(level))
	if err != nil {
		if ctx.Err() != nil {
			// SIGTERM during start-up (a large registry takes seconds to
			// load) is an ordinary stop.
			logger.Info("svcreg: stopped during start-up", "error", err)
			return exitOK
		}
		logger.Error("svcreg serve: cannot start", "error", err)
		return exitUsage
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				d.RequestReload("SIGHUP")
			}
		}
	}()
	if err := d.Run(ctx); err != nil {
		if ctx.Err() != nil {
			logger.Info("svcreg: stopped during start-up", "error", err)
			return exitOK
		}
		logger.Error("svcreg serve: stopped", "error", err)
		return 1
	}
	return exitOK
}

// printErrorLines prints each line of err (joined errors print one per
// line) prefixed with the command.
func printErrorLines(w io.Writer, cmd string, err error) {
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(w, "svcreg %s: %s\n", cmd, line)
	}
}

// newDaemonLogger is the daemon's slog logger on w in the configured
// format, at a level that a reload can change.
func newDaemonLogger(w io.Writer, lc config.Log, level *slog.LevelVar) *slog.Logger {
	level.Set(daemon.ParseLevel(lc.Level))
	opts := &slog.HandlerOptions{Level: level}
	if lc.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// buildVersion is the module version the binary was built from, or
// "devel" for a build from a work tree.
func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if bi.Main.Version == "" || bi.Main.Version == "(devel)" {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "devel-" + s.Value[:12]
			}
		}
		return "devel"
	}
	return bi.Main.Version
}
