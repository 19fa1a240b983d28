package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/svcreg/svcreg/registry"
	"github.com/svcreg/svcreg/resolver"
)

// exportFormats are the formats svcreg export writes.
var exportFormats = []string{"services", "csv", "json", "zone"}

// runExport implements "svcreg export --format services|csv|json|zone":
// the loaded registry as a services(5) file (netbase style, for systems
// and containers without one), IANA's CSV, JSON lines, or the zone svcreg
// serves. --registry-format forces the sources' format, since --format
// names the output.
func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("svcreg export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var rf registryFlags
	rf.registerSourcesFormat(fs, "registry-format")
	var zf zoneFlags
	zf.register(fs)
	format := fs.String("format", "services", "output `FORMAT`: "+strings.Join(exportFormats, ", "))
	dnssd := fs.Bool("dnssd-names", false, "services: list the names registered without a port (DNS-SD only) as comments at the end")
	out := fs.String("o", "", "write to `FILE` (replaced atomically) instead of standard output")
	quiet := quietFlag(fs, "log only warnings and errors to stderr")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: svcreg export [--config FILE] [--registry PATH]... [--registry-format FORMAT] [--format services|csv|json|zone] [--dnssd-names] [zone flags] [-o FILE] [-q]")
		fmt.Fprintln(fs.Output(), "\nWrites the registry as a services(5) file (netbase style: entries with their aliases; ranges as their first port),")
		fmt.Fprintln(fs.Output(), "IANA's CSV (with its header), one JSON object per record, or the zone svcreg serves (the zone flags as for svcreg zone).")
		fmt.Fprintln(fs.Output(), "\nflags:")
		fs.PrintDefaults()
	}
	if code, ok := parseRegistryFlags(fs, args, "export", stderr); !ok {
		return code
	}
	write, ok := exportWriter(*format, *dnssd, &rf, &zf)
	if !ok {
		fmt.Fprintf(stderr, "svcreg export: unknown --format %q (want %s)\n", *format, strings.Join(exportFormats, ", "))
		return exitUsage
	}
	snap, err := rf.load(ctx, newCLILogger(stderr, *quiet))
	if err != nil {
		fmt.Fprintf(stderr, "svcreg export: %v\n", err)
		return exitUsage
	}
	if *out == "" {
		bw := bufio.NewWriter(stdout)
		err = write(bw, snap)
		if err == nil {
			err = bw.Flush()
		}
	} else {
		err = writeZoneFile(*out, func(w io.Writer) error { return write(w, snap) })
	}
	if err != nil {
		fmt.Fprintf(stderr, "svcreg export: %v\n", err)
		return exitUsage
	}
	return exitOK
}

// exportWriter returns the writer of one format; ok is false for an
// unknown format.
func exportWriter(format string, dnssd bool, rf *registryFlags, zf *zoneFlags) (func(io.Writer, *registry.Snapshot) error, bool) {
	switch format {
	case "services":
		return func(w io.Writer, snap *registry.Snapshot) error {
			_, err := registry.WriteServices(w, snap, registry.ServicesOptions{Header: servicesHeader(snap), DNSSDNames: dnssd})
			return err
		}, true
	case "csv":
		return registry.WriteCSV, true
	case "json":
		return registry.WriteJSONLines, true
	case "zone":
		return func(w io.Writer, snap *registry.Snapshot) error {
			cfg := rf.cfg.Resolver()
			cfg.SerialFile = "" // an export keeps no serial state
			return resolver.WriteZone(w, snap, zf.over(cfg))
		}, true
	}
	return nil, false
}

// servicesHeader says where a services file came from, without a time
// stamp, so that the same registry gives the same file.
func servicesHeader(snap *registry.Snapshot) []string {
	var srcs []string
	for _, s := range snap.Sources() {
		srcs = append(srcs, s.Name)
	}
	h := []string{
		"Network services, Internet style: services(5), written by svcreg export",
		"from " + strings.Join(srcs, ", ") + ".",
	}
	if u := snap.Updated(); u != "" {
		h = append(h, "Registry last updated "+u+".")
	}
	return append(h, "Port ranges are written as their first port, the range in the comment.")
}
