package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/svcreg/svcreg/internal/embedded"
	"github.com/svcreg/svcreg/registry"
)

// maxLoggedProblems is how many skipped rows of one source load logs one
// by one; the rest are counted.
const maxLoggedProblems = 10

// registryFlags are the flags of every command that reads the registry:
// a repeatable --registry PATH, --format to force the format of those
// files, and --services-file for the built-in default. Without
// --registry, the default is the host's services file plus svcreg's
// built-in table of common DNS-SD types (registry.DefaultSources).
type registryFlags struct {
	paths        []string
	format       registry.Format
	servicesPath string // "" = registry.DefaultServicesPath

	// loaded describes what load read, in order, for commands that report
	// it (svcreg stats).
	loaded []loadedSource
}

// loadedSource is one source load read and how many of its rows it had to
// skip.
type loadedSource struct {
	Name     string
	Path     string // "" for the built-in table
	Skipped  int
	Problems []registry.ParseError
}

// register adds the flags to fs.
func (f *registryFlags) register(fs *flag.FlagSet) {
	fs.Func("registry", "read the registry from `PATH` (the IANA XML or CSV, the text or markdown rendering, or a services file; "+
		"repeat to merge several); default: the host's services file plus the built-in table", func(s string) error {
		if s == "" {
			return errors.New("empty path")
		}
		f.paths = append(f.paths, s)
		return nil
	})
	fs.Func("format", "read every --registry file as `FORMAT`: xml, csv, text, markdown or services (default: detected from the content)", func(s string) error {
		switch fm := registry.Format(s); fm {
		case registry.FormatXML, registry.FormatCSV, registry.FormatText, registry.FormatMarkdown, registry.FormatServices:
			f.format = fm
			return nil
		}
		return fmt.Errorf("unknown format %q (want xml, csv, text, markdown or services)", s)
	})
	fs.StringVar(&f.servicesPath, "services-file", registry.DefaultServicesPath,
		"services `FILE` the built-in default reads (ignored with --registry)")
}

// load reads the sources the flags name (or the built-in default), logs
// what it uses and the rows it skipped, and builds the snapshot. Errors
// name the file and, where known, the line or record.
func (f *registryFlags) load(ctx context.Context, logger *slog.Logger) (*registry.Snapshot, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	f.loaded = f.loaded[:0]
	var srcs []*registry.Source
	if len(f.paths) == 0 {
		if f.format != "" {
			return nil, errors.New("--format applies to --registry files, and none was given")
		}
		logger.Info("registry: no --registry given, using the built-in default")
		if b, ok := embedded.Registry(); ok {
			// A release build (-tags ianaembed) answers from its embedded
			// IANA snapshot plus the built-in table, as serve does.
			src, err := registry.Parse(bytes.NewReader(b), embedded.Name, registry.FormatXML)
			if err != nil {
				return nil, fmt.Errorf("embedded registry: %w", err)
			}
			srcs = []*registry.Source{src, registry.Builtin()}
		} else {
			var err error
			if srcs, err = registry.DefaultSources(ctx, f.servicesPath, logger); err != nil {
				return nil, err
			}
		}
		for _, s := range srcs {
			path := ""
			if s.Format == registry.FormatServices {
				path = f.servicesPath
			}
			f.loaded = append(f.loaded, loadedSource{Name: s.Name, Path: path, Skipped: len(s.Problems), Problems: s.Problems})
		}
	} else {
		for _, p := range f.paths {
			src, err := registry.LoadFile(ctx, p, f.format)
			if err != nil {
				return nil, err
			}
			logger.Info("registry: loaded", "path", p, "format", string(src.Format), "records", len(src.Records),
				"updated", src.Updated, "skipped_rows", len(src.Problems))
			for i := range src.Problems {
				if i == maxLoggedProblems {
					logger.Warn("registry: more rows skipped", "path", p, "count", len(src.Problems)-i)
					break
				}
				logger.Warn("registry: row skipped", "problem", src.Problems[i].Error())
			}
			srcs = append(srcs, src)
			f.loaded = append(f.loaded, loadedSource{Name: src.Name, Path: p, Skipped: len(src.Problems), Problems: src.Problems})
		}
	}
	snap, err := registry.Build(srcs...)
	if err != nil {
		return nil, err
	}
	if n := len(snap.Conflicts()); n > 0 {
		logger.Info("registry: sources disagree on some registrations; svcreg stats lists them", "conflicts", n)
	}
	return snap, nil
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
		if err := fs.Parse(args); err != nil {
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
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "svcreg %s: unexpected argument %q (use --registry PATH)\n", cmd, rest[0])
		return exitUsage, false
	}
	return exitOK, true
}
