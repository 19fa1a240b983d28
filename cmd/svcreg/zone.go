package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"

	"github.com/miekg/dns"

	"github.com/svcreg/svcreg/config"
	"github.com/svcreg/svcreg/resolver"
)

// zoneFlags are the flags of svcreg zone that shape the zone; they mirror
// the dns keys of the serve configuration (zone, ttl, negative_ttl, mbox,
// ns, addresses, target) so that a secondary loading the file serves what
// svcreg serves.
type zoneFlags struct {
	cfg   resolver.Config
	ns    []string
	addrs []netip.Addr
}

func (z *zoneFlags) register(fs *flag.FlagSet) {
	// Unset fields stay zero so that ZoneRRs derives them (NS, SOA
	// mailbox, SRV target) from the zone actually given.
	def := resolver.DefaultConfig()
	fs.Func("zone", "zone `NAME` (default "+def.Zone+")", func(s string) error {
		n, err := zoneAbsName(s)
		z.cfg.Zone = n
		return err
	})
	ttlFlag := func(name, label, what string, def uint32, dst *uint32) {
		fs.Func(name, what+" in `SECONDS`, "+config.RangeText(config.MinTTL, config.MaxTTL)+" (default "+strconv.FormatUint(uint64(def), 10)+")", func(s string) error {
			v, err := strconv.Atoi(s)
			if err != nil || v < config.MinTTL || v > config.MaxTTL {
				return fmt.Errorf("%s: %s", label, config.RangeText(config.MinTTL, config.MaxTTL))
			}
			*dst = uint32(v)
			return nil
		})
	}
	ttlFlag("ttl", "TTL", "TTL of every record", def.TTL, &z.cfg.TTL)
	ttlFlag("neg-ttl", "negative TTL", "negative-caching TTL, the SOA minimum,", def.NegTTL, &z.cfg.NegTTL)
	fs.Func("mbox", "SOA mailbox `NAME`, the @ written as a dot (default hostmaster.<zone>)", func(s string) error {
		n, err := zoneAbsName(s)
		z.cfg.Mbox = n
		return err
	})
	fs.Func("ns", "authoritative name server `NAME` for the apex NS RRset (repeat for several; default ns1.<zone>)", func(s string) error {
		n, err := zoneAbsName(s)
		z.ns = append(z.ns, n)
		return err
	})
	fs.Func("addr", "`IP` for the A/AAAA records at the apex and at in-zone NS names (repeat for several; default 127.0.0.1; \"none\" for none)", func(s string) error {
		if s == "none" {
			z.addrs = []netip.Addr{}
			return nil
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return fmt.Errorf("%q is not an IP address", s)
		}
		z.addrs = append(z.addrs, a.Unmap())
		return nil
	})
	fs.Func("target", "SRV target `NAME` (default: the zone apex)", func(s string) error {
		n, err := zoneAbsName(s)
		z.cfg.Target = n
		return err
	})
}

// over returns base with every zone flag that was given applied on top.
func (z *zoneFlags) over(base resolver.Config) resolver.Config {
	if z.cfg.Zone != "" {
		base.Zone = z.cfg.Zone
	}
	if z.cfg.TTL != 0 {
		base.TTL = z.cfg.TTL
	}
	if z.cfg.NegTTL != 0 {
		base.NegTTL = z.cfg.NegTTL
	}
	if z.cfg.Mbox != "" {
		base.Mbox = z.cfg.Mbox
	}
	if z.cfg.Target != "" {
		base.Target = z.cfg.Target
	}
	if len(z.ns) > 0 {
		base.NS = z.ns
	}
	if z.addrs != nil {
		base.Addresses = z.addrs
	}
	return base
}

// zoneAbsName checks a domain name and makes it absolute.
func zoneAbsName(s string) (string, error) {
	if _, ok := dns.IsDomainName(s); !ok || s == "" {
		return "", fmt.Errorf("%q is not a domain name", s)
	}
	return dns.CanonicalName(s), nil
}

// runZone implements "svcreg zone [--config FILE] [--registry PATH]... [--format F]
// [--zone Z] [--ttl N] [--neg-ttl N] [--mbox NAME] [--ns NAME]...
// [--target NAME] [--addr IP]... [-o FILE]".
func runZone(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("svcreg zone", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var rf registryFlags
	rf.register(fs)
	var zf zoneFlags
	zf.register(fs)
	out := fs.String("o", "", "write the zone to `FILE` (replaced atomically) instead of standard output")
	quiet := quietFlag(fs, "log only warnings and errors to stderr")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: svcreg zone [--config FILE] [--registry PATH]... [--format FORMAT] [--zone Z] [--ttl N] [--neg-ttl N] [--mbox NAME] [--ns NAME]... [--target NAME] [--addr IP]... [-o FILE] [-q]")
		fmt.Fprintln(fs.Output(), "\nPrints the zone svcreg serves as an RFC 1035 zone file for BIND, NSD, Knot or CoreDNS's file plugin.")
		fmt.Fprintln(fs.Output(), "\nflags:")
		fs.PrintDefaults()
	}
	if code, ok := parseRegistryFlags(fs, args, "zone", stderr); !ok {
		return code
	}
	logger := newCLILogger(stderr, *quiet)
	// The registry, its local additions and the dns settings come from the
	// config as serve reads them, so that a secondary loading the file
	// serves what svcreg serve serves; the zone flags apply on top.
	snap, err := rf.load(ctx, logger)
	var cfg resolver.Config
	if err == nil {
		cfg = rf.cfg.Resolver()
		cfg.SerialFile = "" // svcreg zone keeps no serial state
		cfg = zf.over(cfg)
	}
	if err != nil {
		fmt.Fprintf(stderr, "svcreg zone: %v\n", err)
		return exitUsage
	}
	if *out == "" {
		bw := bufio.NewWriter(stdout)
		err = resolver.WriteZone(bw, snap, cfg)
		if err == nil {
			err = bw.Flush()
		}
	} else {
		err = writeZoneFile(*out, func(w io.Writer) error { return resolver.WriteZone(w, snap, cfg) })
	}
	if err != nil {
		fmt.Fprintf(stderr, "svcreg zone: %v\n", err)
		return exitUsage
	}
	return exitOK
}

// writeZoneFile writes path through a temporary file in the same
// directory and renames it into place, so that a name server reloading
// the file never reads half of it.
func writeZoneFile(path string, write func(io.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	bw := bufio.NewWriter(f)
	if err = write(bw); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
