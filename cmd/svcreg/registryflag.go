package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/svcreg/svcreg/config"
	"github.com/svcreg/svcreg/registry"
)

// registryFlags are the flags of every command that reads the registry,
// with the same meaning as serve's: --config FILE, a repeatable
// --registry PATH|URL (or builtin, embedded), --format to force the
// format of those sources, and --services-file for the built-in default.
// Like serve, the command reads the config file (--config, else
// $SVCREG_CONFIG), then SVCREG_* variables, then the flags. Without any
// source the default is the host's services file plus svcreg's built-in
// table (registry.LoadSources).
type registryFlags struct {
	configFlags

	// cfg is the configuration load read; loaded describes the sources,
	// in merge order, for commands that report them (svcreg stats).
	cfg    *config.Loaded
	loaded []loadedSource

	// offline makes load read URL sources from the cache only, skipping
	// those not cached (listed in skipped), for commands that check a
	// configuration without downloading.
	offline bool
	skipped map[string]error
}

// loadedSource is one source load read and how many of its rows it had to
// skip.
type loadedSource struct {
	Name     string
	Path     string // "" for the built-in table, embedded data and local additions
	Skipped  int
	Problems []registry.ParseError
}

// register adds the flags to fs.
func (f *registryFlags) register(fs *flag.FlagSet) {
	f.registerSources(fs)
}

// load reads the configuration and the sources it names (or the
// built-in default), logs what it uses and the rows it skipped, and
// builds the snapshot. Errors name the file and, where known, the line or
// record.
func (f *registryFlags) load(ctx context.Context, logger *slog.Logger) (*registry.Snapshot, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg, err := f.configFlags.load(os.Environ())
	if err != nil {
		return nil, err
	}
	f.cfg = cfg
	if cfg.Registry.Format != "" && len(cfg.Registry.Sources) == 0 {
		return nil, fmt.Errorf("--format applies to --registry files, and none was given (%s sets registry.format)", cfg.Origin("registry.format"))
	}
	opts := cfg.SourceOptions()
	opts.Logger, opts.UserAgent = logger, "svcreg/"+buildVersion()
	opts.Offline, opts.SkipUnavailable = f.offline, f.offline
	res, err := registry.LoadSources(ctx, cfg.Registry.Sources, opts)
	if err != nil {
		return nil, err
	}
	f.skipped = res.Skipped
	f.loaded = f.loaded[:0]
	for _, s := range res.Sources {
		f.loaded = append(f.loaded, loadedSource{Name: s.Source.Name, Path: s.Path, Skipped: len(s.Source.Problems), Problems: s.Source.Problems})
	}
	return res.Snapshot, nil
}

// newCLILogger is the logger of the one-shot commands: text to w, without
// timestamps (the output of a command is read, not archived), at info
// level, or warnings only when quiet.
func newCLILogger(w io.Writer, quiet bool) *slog.Logger {
	level := slog.LevelInfo
	if quiet {
		level = slog.LevelWarn
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
}

// parseInterspersed parses fs from args and returns the positional
// arguments, allowing flags after them ("svcreg lookup http --json"), as
// users type them. Everything after "--" is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// parseRegistryFlags parses the flags of a command that reads the registry
// and takes no positional arguments (flags may come in any order). A stray
// argument is most often a registry path given without --registry, so the
// error says how to give one. It returns false and the exit status when the
// command must stop.
func parseRegistryFlags(fs *flag.FlagSet, args []string, cmd string, stderr io.Writer) (int, bool) {
	return parseNoArgs(fs, args, cmd, " (use --registry PATH)", stderr)
}
