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
	"strings"
	"syscall"
	"time"

	"github.com/svcreg/svcreg/config"
)

// shutdownGrace bounds a graceful stop: the issue asks for an exit within
// 5 s of SIGTERM, so in-flight work gets a little less than that.
const shutdownGrace = 4 * time.Second

// httpShutdownGrace bounds the wait for HTTP requests in flight. It is
// shorter than shutdownGrace because http.Server.Shutdown waits up to 5 s
// for connections that were opened but never sent a request (browsers
// open such speculative connections); after it, the rest are closed.
const httpShutdownGrace = 2 * time.Second

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

// register adds the flags serve and config check share.
func (c *configFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.path, "config", "", "read the config `FILE` (YAML; default $"+config.EnvConfig+", else none)")
	c.listFlag(fs, "registry", "registry.sources", "registry `PATH or URL` (repeatable; default: the host's services file plus the built-in table)")
	c.valueFlag(fs, "format", "registry.format", "read every registry file as `FORMAT` (xml, csv, text, markdown, services; default detect)")
	c.valueFlag(fs, "services-file", "registry.services_file", "services `FILE` the default registry reads (default /etc/services)")
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

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("svcreg serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf configFlags
	cf.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: svcreg serve [FLAGS]\n\nRun the daemon: authoritative DNS for the registry zone, the HTTP API,\nmetrics and web UI, and (with --mdns-interface) LAN validation.\nSIGHUP reloads; SIGTERM or SIGINT stop it.")
		fs.PrintDefaults()
	}
	if code, ok := parseFlagsOnly(fs, args, "serve", stderr); !ok {
		return code
	}
	environ := os.Environ()
	cfg, err := cf.load(environ)
	if err == nil {
		_, err = mdnsPolicy(cfg) // rule IDs need the mdns catalogue
	}
	if err != nil {
		fmt.Fprintf(stderr, "svcreg serve: %v\n", err)
		return exitUsage
	}
	level := new(slog.LevelVar)
	logger := newDaemonLogger(stderr, cfg.Log, level)
	for _, name := range config.UnknownEnv(environ) {
		logger.Warn("config: environment variable names no config key; ignored", "variable", name)
	}

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	d := &daemon{flags: cf, environ: environ, logger: logger, level: level, version: buildVersion()}
	if err := d.run(ctx, cfg, hup); err != nil {
		if ctx.Err() != nil {
			// SIGTERM during start-up (a large registry takes seconds to
			// load) is an ordinary stop.
			logger.Info("svcreg: stopped during start-up", "error", err)
			return exitOK
		}
		logger.Error("svcreg serve: stopped", "error", err)
		return 1
	}
	return exitOK
}

// newDaemonLogger is the daemon's slog logger on w in the configured
// format, at a level that a reload can change.
func newDaemonLogger(w io.Writer, lc config.Log, level *slog.LevelVar) *slog.Logger {
	level.Set(parseLevel(lc.Level))
	opts := &slog.HandlerOptions{Level: level}
	if lc.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func parseLevel(s string) slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(s))); err != nil {
		return slog.LevelInfo
	}
	return l
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
