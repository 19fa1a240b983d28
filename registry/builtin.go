package registry

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"strings"
)

// DefaultServicesPath is the host's services file DefaultSources reads.
const DefaultServicesPath = "/etc/services"

// BuiltinName names the built-in table as a source.
const BuiltinName = "builtin"

// LocalName names the local additions (the config's registry.local) as a
// source.
const LocalName = "local"

// Builtin returns svcreg's own table of common DNS-SD service types: the
// service profiles (BuiltinProfiles) of the names IANA registers, one
// record per type and protocol, with Source "builtin" and Line the line of
// the profile in profiles.yaml. Profiles of unregistered vendor types are
// left out, so the table never makes an unregistered name look
// registered. Each call returns a new Source.
func Builtin() *Source {
	src := &Source{Name: BuiltinName, Format: FormatBuiltin}
	for _, p := range BuiltinProfiles().All() {
		if !p.Registered {
			continue
		}
		txt := TXTKeys{Kind: p.TXT}
		for _, k := range p.Keys {
			txt.Keys = append(txt.Keys, TXTKey{Name: k.Name, Hint: k.Hint})
		}
		// Patterns (Matter's _L*) describe labels; only whole ones are records' subtypes.
		var subtypes []string
		for _, st := range p.Subtypes {
			if !strings.HasSuffix(st, "*") {
				subtypes = append(subtypes, st)
			}
		}
		for _, proto := range p.Protocols {
			r := Record{
				Name: p.Name, Protocol: proto, PortLow: p.Port, PortHigh: p.Port,
				Status: StatusAssigned, Description: p.Description,
				TXTKeys:  TXTKeys{Kind: txt.Kind, Keys: append([]TXTKey(nil), txt.Keys...)},
				Subtypes: append([]string(nil), subtypes...), References: append([]string(nil), p.Refs...),
				Source: BuiltinName, Line: p.Line,
			}
			src.Records = append(src.Records, r)
		}
	}
	return src
}

// DefaultSources is what svcreg loads when no registry is given: the
// host's services file (servicesPath, "" for DefaultServicesPath) when it
// exists, then the built-in table, which therefore wins where both
// describe the same name, protocol and port. It logs which it uses. A
// services file that exists but cannot be read or parsed is an error
// naming the file (and line); its skipped lines are logged at debug level.
func DefaultSources(ctx context.Context, servicesPath string, logger *slog.Logger) ([]*Source, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if servicesPath == "" {
		servicesPath = DefaultServicesPath
	}
	var out []*Source
	src, err := LoadFile(ctx, servicesPath, FormatServices)
	switch {
	case err == nil:
		logger.Info("registry: using the host's services file", "path", servicesPath,
			"records", len(src.Records), "skipped_lines", len(src.Problems))
		for i := range src.Problems {
			logger.Debug("registry: services file line skipped", "problem", src.Problems[i].Error())
		}
		out = append(out, src)
	case errors.Is(err, fs.ErrNotExist):
		logger.Info("registry: no services file, using the built-in table alone", "path", servicesPath)
	default:
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b := Builtin()
	logger.Info("registry: using the built-in table of common DNS-SD service types", "records", len(b.Records))
	return append(out, b), nil
}
