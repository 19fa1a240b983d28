package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/svcreg/svcreg/fetch"
)

// Source specs that name no file: SpecBuiltin is svcreg's own table of
// common DNS-SD types (Builtin), SpecEmbedded the IANA registry a release
// build carries (SourceOptions.Embedded). A file with one of these names
// is given as ./builtin.
const (
	SpecBuiltin  = "builtin"
	SpecEmbedded = "embedded"
)

// EmbeddedName labels the embedded IANA registry in logs, errors and
// Record.Source.
const EmbeddedName = "iana-embedded.xml"

// ErrNoEmbedded is returned for the "embedded" spec by a build that
// carries no registry.
var ErrNoEmbedded = errors.New("this build embeds no registry (build with -tags ianaembed)")

// ErrNotCached is the reason an Offline load gives for a URL source
// that has no cached copy.
var ErrNotCached = errors.New("not cached (svcreg fetch or svcreg serve downloads it)")

// maxLoggedProblems is how many skipped rows of one source are logged one
// by one; the rest are counted.
const maxLoggedProblems = 10

// IsURL reports whether a source spec is a URL rather than a path.
func IsURL(s string) bool {
	return strings.Contains(s, "://")
}

// IsKeywordSpec reports whether a source spec names no file (SpecBuiltin,
// SpecEmbedded), so it is neither a path to resolve nor a file to watch.
func IsKeywordSpec(s string) bool {
	return s == SpecBuiltin || s == SpecEmbedded
}

// SourceOptions say how LoadSources reads its specs. The zero value reads
// files with format detection, the host's services file for the default,
// and the default cache directory for URLs.
type SourceOptions struct {
	// Format forces the format of every file and URL source ("" = detect
	// from the content).
	Format Format
	// ServicesFile is the services file of the default sources ("" =
	// DefaultServicesPath).
	ServicesFile string
	// Embedded is the IANA XML a release build carries (nil: none). When
	// set, the default sources are it plus the built-in table instead of
	// the host's services file plus the built-in table.
	Embedded []byte
	// CacheDir holds downloaded URL sources under fetch.CacheName ("" =
	// fetch.DefaultCacheDir of the environment), the cache svcreg fetch
	// fills and svcreg serve refreshes.
	CacheDir string
	// Client, UserAgent and MaxDownloadBytes shape the download of a URL
	// source that is not cached yet (nil client: fetch's default).
	Client           *http.Client
	UserAgent        string
	MaxDownloadBytes int64
	// SkipUnavailable skips a URL source that is neither cached nor
	// downloadable, with an error logged, instead of failing: a daemon
	// must not stop over a network failure. When every spec is skipped the
	// default sources are served.
	SkipUnavailable bool
	// Offline never downloads: a URL source that is not cached is
	// unavailable (ErrNotCached), for commands that check a configuration
	// without changing the cache.
	Offline bool
	// Local are additions merged last (the config's registry.local).
	Local *Source
	// NoProfiles leaves out the service-profile layer (BuiltinProfiles),
	// for the registry-only view.
	NoProfiles bool
	// Logger receives what was loaded and the rows skipped (nil: none).
	Logger *slog.Logger
}

// LoadedSource describes one source LoadSources read.
type LoadedSource struct {
	// Spec is the source as given (a path, a URL, "builtin", "embedded"),
	// or "" for one of the default sources.
	Spec string
	// Path is the file read: the path, a URL's cache file, the services
	// file of the default; "" for the built-in table and embedded data.
	Path   string
	Source *Source
}

// Loaded is what LoadSources built.
type Loaded struct {
	Snapshot *Snapshot
	// Sources are the sources merged, in order (local additions last).
	Sources []LoadedSource
	// Watched are the files whose change should trigger a reload,
	// including a default services file that does not exist yet.
	Watched []string
	// Skipped are URL specs that were neither cached nor downloadable
	// (only with SkipUnavailable), with the reason.
	Skipped map[string]error
	// Default is true when the default sources were used, because no spec
	// was given or none was available.
	Default bool
}

// CachePath is where a URL source is cached in dir ("" = the default
// cache directory).
func CachePath(dir, rawURL string) string {
	if dir == "" {
		dir = fetch.DefaultCacheDir(os.Getenv)
	}
	return filepath.Join(dir, fetch.CacheName(rawURL))
}

// LoadSources reads every spec in order and builds one snapshot, the
// single way svcreg turns a list of sources into a registry. A spec is a
// file path, an http(s) URL (read from the cache, downloaded into it first
// when absent), SpecBuiltin or SpecEmbedded; no spec means the default
// sources (see SourceOptions.Embedded and DefaultSources). Local additions
// are merged last. Errors name the spec and, where known, the file and
// line or record.
func LoadSources(ctx context.Context, specs []string, opts SourceOptions) (*Loaded, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	out := &Loaded{}
	for _, spec := range specs {
		ls, err := loadSpec(ctx, spec, &opts, log)
		if err != nil {
			var unavailable *unavailableError
			if opts.SkipUnavailable && errors.As(err, &unavailable) {
				log.Error("registry: URL source not available and not cached; skipped", "url", spec, "error", unavailable.err)
				if out.Skipped == nil {
					out.Skipped = map[string]error{}
				}
				out.Skipped[spec] = unavailable.err
				continue
			}
			return nil, err
		}
		out.Sources = append(out.Sources, ls)
		if ls.Path != "" {
			out.Watched = append(out.Watched, ls.Path)
		}
	}
	if len(out.Sources) == 0 {
		if len(specs) > 0 {
			log.Warn("registry: no configured source is available; using the built-in default until a refresh succeeds")
		} else {
			log.Info("registry: no --registry given, using the built-in default")
		}
		def, err := defaultSources(ctx, &opts, log)
		if err != nil {
			return nil, err
		}
		out.Sources, out.Default = def, true
		if opts.Embedded == nil {
			out.Watched = append(out.Watched, servicesPath(&opts))
		}
	}
	if opts.Local != nil && len(opts.Local.Records) > 0 {
		log.Info("registry: local additions", "source", opts.Local.Name, "records", len(opts.Local.Records))
		out.Sources = append(out.Sources, LoadedSource{Source: opts.Local})
	}
	srcs := make([]*Source, len(out.Sources))
	for i := range out.Sources {
		srcs[i] = out.Sources[i].Source
	}
	snap, err := Build(srcs...)
	if err != nil {
		return nil, err
	}
	if n := len(snap.Conflicts()); n > 0 {
		log.Info("registry: sources disagree on some registrations; svcreg stats lists them", "conflicts", n)
	}
	if opts.Local != nil {
		warnShadowed(log, snap, opts.Local.Name)
	}
	if !opts.NoProfiles {
		snap = snap.WithProfiles(BuiltinProfiles())
	}
	out.Snapshot = snap
	return out, nil
}

// unavailableError marks a URL source that is neither cached nor
// downloadable, which SkipUnavailable tolerates.
type unavailableError struct {
	url string
	err error
}

func (e *unavailableError) Error() string {
	return fmt.Sprintf("registry %s: not cached and not downloadable: %v", e.url, e.err)
}

func (e *unavailableError) Unwrap() error { return e.err }

// loadSpec reads one spec.
func loadSpec(ctx context.Context, spec string, opts *SourceOptions, log *slog.Logger) (LoadedSource, error) {
	switch spec {
	case "":
		return LoadedSource{}, errors.New("registry: empty source")
	case SpecBuiltin:
		b := Builtin()
		log.Info("registry: loaded", "source", spec, "records", len(b.Records))
		return LoadedSource{Spec: spec, Source: b}, nil
	case SpecEmbedded:
		src, err := embeddedSource(opts)
		if err != nil {
			return LoadedSource{}, err
		}
		logSource(log, spec, "", src)
		return LoadedSource{Spec: spec, Source: src}, nil
	}
	path := spec
	if IsURL(spec) {
		path = CachePath(opts.CacheDir, spec)
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			if opts.Offline {
				return LoadedSource{}, &unavailableError{url: spec, err: fmt.Errorf("%w (%s)", ErrNotCached, path)}
			}
			if _, err := Download(ctx, spec, *opts); err != nil {
				return LoadedSource{}, &unavailableError{url: spec, err: err}
			}
		}
	}
	src, err := LoadFile(ctx, path, opts.Format)
	if err != nil {
		if path != spec {
			return LoadedSource{}, fmt.Errorf("registry %s (cached): %w", spec, err)
		}
		return LoadedSource{}, err
	}
	logSource(log, spec, path, src)
	return LoadedSource{Spec: spec, Path: path, Source: src}, nil
}

// Download fetches one URL source into the cache (conditionally, with the
// size cap), checking that it parses before it replaces the cached copy.
func Download(ctx context.Context, rawURL string, opts SourceOptions) (fetch.Result, error) {
	res, err := fetch.Fetch(ctx, fetch.Options{
		URL: rawURL, Path: CachePath(opts.CacheDir, rawURL), MaxBytes: opts.MaxDownloadBytes,
		Client: opts.Client, UserAgent: opts.UserAgent,
		Validate: func(p string) error {
			_, err := LoadFile(ctx, p, opts.Format)
			return err
		},
	})
	if err != nil {
		return res, err
	}
	if opts.Logger != nil {
		opts.Logger.Info("registry: fetched", "url", rawURL, "path", res.Path, "changed", res.Changed, "bytes", res.Size)
	}
	return res, nil
}

func servicesPath(opts *SourceOptions) string {
	if opts.ServicesFile == "" {
		return DefaultServicesPath
	}
	return opts.ServicesFile
}

func embeddedSource(opts *SourceOptions) (*Source, error) {
	if opts.Embedded == nil {
		return nil, ErrNoEmbedded
	}
	src, err := Parse(bytes.NewReader(opts.Embedded), EmbeddedName, FormatXML)
	if err != nil {
		return nil, fmt.Errorf("embedded registry: %w", err)
	}
	return src, nil
}

// defaultSources is the registry when no source is given: the embedded
// IANA registry when the build has one, else the host's services file;
// then the built-in table, which therefore wins where both describe the
// same name, protocol and port.
func defaultSources(ctx context.Context, opts *SourceOptions, log *slog.Logger) ([]LoadedSource, error) {
	if opts.Embedded != nil {
		src, err := embeddedSource(opts)
		if err != nil {
			return nil, err
		}
		logSource(log, SpecEmbedded, "", src)
		return []LoadedSource{{Source: src}, {Source: Builtin()}}, nil
	}
	path := servicesPath(opts)
	srcs, err := DefaultSources(ctx, path, log)
	if err != nil {
		return nil, err
	}
	out := make([]LoadedSource, len(srcs))
	for i, s := range srcs {
		out[i].Source = s
		if s.Format == FormatServices {
			out[i].Path = path
		}
	}
	return out, nil
}

func logSource(log *slog.Logger, spec, path string, src *Source) {
	var where []any
	switch {
	case spec == path:
		where = []any{"path", path}
	case path == "":
		where = []any{"source", spec}
	default:
		where = []any{"url", spec, "path", path}
	}
	log.Info("registry: loaded", append(where, "format", string(src.Format),
		"records", len(src.Records), "updated", src.Updated, "skipped_rows", len(src.Problems))...)
	for i := range src.Problems {
		if i == maxLoggedProblems {
			log.Warn("registry: more rows skipped", "source", spec, "count", len(src.Problems)-i)
			break
		}
		log.Warn("registry: row skipped", "problem", src.Problems[i].Error())
	}
}

// warnShadowed logs local additions whose name and protocol another
// source registers too: legal (the local entry wins where it describes the
// same port), but usually a private name chosen without looking.
func warnShadowed(log *slog.Logger, snap *Snapshot, local string) {
	for _, r := range snap.Records() {
		if r.Source != local {
			continue
		}
		for _, o := range snap.ByName(r.Name) {
			if o.Source != local && o.Protocol == r.Protocol {
				log.Warn("registry: a local addition uses a name another source registers",
					"name", r.Name, "protocol", string(r.Protocol), "other_source", o.Source, "other_line", o.Line)
				break
			}
		}
	}
}
