package config

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/svcreg/svcreg/fetch"
	"github.com/svcreg/svcreg/mdns"
	"github.com/svcreg/svcreg/proxy"
	"github.com/svcreg/svcreg/resolver"
)

// CacheDirectory is registry.cache_dir or, unset, fetch's default for the
// environment.
func (c *Config) CacheDirectory() string {
	if c.Registry.CacheDir != "" {
		return c.Registry.CacheDir
	}
	return fetch.DefaultCacheDir(os.Getenv)
}

// SerialFilePath is where the resolver keeps the SOA serial across
// restarts (dns.serial_file): "" = zone-<zone>.serial in the cache
// directory, "none" = nowhere (""), else the path given.
func (c *Config) SerialFilePath() string {
	switch c.DNS.SerialFile {
	case SerialFileNone:
		return ""
	case "":
		return filepath.Join(c.CacheDirectory(), "zone-"+fileSafe(strings.TrimSuffix(c.DNS.Zone, "."))+".serial")
	}
	return c.DNS.SerialFile
}

// JournalFilePath is where the resolver keeps the zone and its IXFR
// journal across restarts: next to the serial file, its name ending in
// .journal instead of .serial (or with .journal added); "" when the
// serial is not kept either, or dns.ixfr_journal_max_bytes is 0.
func (c *Config) JournalFilePath() string {
	p := c.SerialFilePath()
	if p == "" || c.DNS.IXFRJournalMaxBytes == 0 {
		return ""
	}
	return strings.TrimSuffix(p, ".serial") + ".journal"
}

// fileSafe keeps letters, digits, '.', '-' and '_' of a zone name for a
// file name; anything else (a zone may hold escaped bytes) becomes '_'.
func fileSafe(zone string) string {
	if zone == "" {
		return "root"
	}
	b := []byte(strings.ToLower(zone))
	for i, c := range b {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '.' && c != '-' && c != '_' {
			b[i] = '_'
		}
	}
	return string(b)
}

// dnsDefaults is the dns section's defaults: the resolver's own, except
// that the SRV target, NS names and SOA mailbox stay unset so that the
// resolver derives them from the zone actually served.
func dnsDefaults() DNS {
	rc := resolver.DefaultConfig()
	return DNS{
		Zone:                 rc.Zone,
		Listen:               rc.Listen,
		TTL:                  int(rc.TTL),
		NegTTL:               int(rc.NegTTL),
		AXFRAllow:            rc.AXFRAllow,
		Addresses:            rc.Addresses,
		NotifyRetries:        rc.NotifyRetries,
		NotifyTimeout:        rc.NotifyTimeout,
		UDPSize:              int(rc.UDPSize),
		QueryLog:             rc.QueryLog,
		UDPWorkers:           rc.UDPWorkers,
		UDPBatch:             rc.UDPBatch,
		TCPMaxConns:          rc.TCPMaxConns,
		TCPIdleTimeout:       rc.TCPIdleTimeout,
		TCPReadTimeout:       rc.TCPReadTimeout,
		TCPMaxConnsPerSource: rc.TCPMaxConnsPerSource,
		TCPReservedConns:     rc.TCPReservedConns,
		RRLRate:              rc.RRLRate,
		RRLSlip:              rc.RRLSlip,
		RRLIPv4Prefix:        rc.RRLIPv4Prefix,
		RRLIPv6Prefix:        rc.RRLIPv6Prefix,
		SOARefresh:           int(rc.SOARefresh),
		SOARetry:             int(rc.SOARetry),
		SOAExpire:            int(rc.SOAExpire),
		Enumerate:            rc.Enumerate,
		EnumerateMaxRecords:  rc.EnumerateMaxRecords,
		SerialPolicy:         rc.SerialPolicy,
		IXFRJournalMaxBytes:  rc.JournalMaxBytes,
		Catalog:              rc.Catalog,
	}
}

// Resolver is the dns section as the resolver's configuration, the serial
// file resolved against the cache directory. NS and Mbox left unset stay
// unset, so the resolver derives them from the zone actually served.
func (c *Config) Resolver() resolver.Config {
	d := &c.DNS
	rc := resolver.DefaultConfig()
	rc.Zone = d.Zone
	rc.Listen = slices.Clone(d.Listen)
	rc.TTL, rc.NegTTL = uint32(d.TTL), uint32(d.NegTTL) // validated: 1 to 2^31-1
	rc.Target = d.Target
	rc.NS, rc.Mbox, rc.NSAddresses = nil, "", nil
	for _, ns := range d.NS {
		rc.NS = append(rc.NS, ns.Name)
		if len(ns.Addresses) > 0 {
			if rc.NSAddresses == nil {
				rc.NSAddresses = map[string][]netip.Addr{}
			}
			rc.NSAddresses[ns.Name] = slices.Clone(ns.Addresses)
		}
	}
	rc.SOARefresh, rc.SOARetry, rc.SOAExpire = uint32(d.SOARefresh), uint32(d.SOARetry), uint32(d.SOAExpire)
	rc.NotifySource = d.NotifySource
	rc.TSIGKeys = nil
	for _, k := range d.TSIGKeys {
		rc.TSIGKeys = append(rc.TSIGKeys, resolver.TSIGKey{Name: k.Name, Algorithm: k.Algorithm, Secret: k.secret})
	}
	rc.AXFRKeys, rc.NotifyKey = slices.Clone(d.AXFRKeys), d.NotifyKey
	rc.CookieSecret, rc.CookieSecretPrevious, rc.RequireCookies = d.CookieSecret, d.CookieSecretPrevious, d.RequireCookies
	rc.Enumerate, rc.EnumerateMaxRecords = d.Enumerate, d.EnumerateMaxRecords
	rc.SerialPolicy = d.SerialPolicy
	if rc.EnumerateMaxRecords == 0 {
		rc.EnumerateMaxRecords = -1 // 0 in the config: no bound
	}
	if d.Mbox != "" {
		rc.Mbox = d.Mbox
	}
	rc.VersionBind, rc.IDServer, rc.NSID = d.VersionBind, d.IDServer, d.NSID
	rc.AXFRAllow = slices.Clone(d.AXFRAllow)
	if rc.AXFRAllow == nil {
		rc.AXFRAllow = []netip.Prefix{} // an empty list in the config allows no one
	}
	rc.Notify = slices.Clone(d.Notify)
	rc.UDPSize = uint16(d.UDPSize) // validated: 512-4096
	rc.QueryLog = d.QueryLog
	rc.Addresses = slices.Clone(d.Addresses)
	if rc.Addresses == nil {
		rc.Addresses = []netip.Addr{} // [] in the config: no A/AAAA, not the resolver's 127.0.0.1
	}
	rc.NotifyRetries, rc.NotifyTimeout = d.NotifyRetries, d.NotifyTimeout
	rc.UDPWorkers, rc.UDPBatch = d.UDPWorkers, d.UDPBatch
	rc.TCPMaxConns, rc.TCPIdleTimeout, rc.TCPReadTimeout = d.TCPMaxConns, d.TCPIdleTimeout, d.TCPReadTimeout
	rc.TCPMaxConnsPerSource, rc.TCPReservedConns = d.TCPMaxConnsPerSource, d.TCPReservedConns
	if rc.TCPReservedConns == 0 {
		rc.TCPReservedConns = -1 // 0 in the config: none kept, not the resolver's default
	}
	rc.RRLRate, rc.RRLSlip = d.RRLRate, d.RRLSlip
	rc.RRLIPv4Prefix, rc.RRLIPv6Prefix = d.RRLIPv4Prefix, d.RRLIPv6Prefix
	rc.Catalog = d.Catalog
	rc.BrowseDomains = nil
	for _, p := range c.MDNS.Publish {
		rc.BrowseDomains = append(rc.BrowseDomains, p.Domain)
	}
	rc.SerialFile = c.SerialFilePath()
	rc.JournalFile = c.JournalFilePath()
	rc.JournalMaxBytes = d.IXFRJournalMaxBytes
	if rc.JournalMaxBytes == 0 {
		rc.JournalMaxBytes = -1 // 0 in the config: no journal
	}
	return rc
}

// MDNSPolicy turns mdns.rules (rule -> info|warning|error|off) into the
// validator's policy. Every rule ID the catalogue lacks and every bad
// level is reported, each naming where it was set.
func (l *Loaded) MDNSPolicy() (mdns.Policy, error) {
	known := map[string]bool{}
	for _, r := range mdns.Rules() {
		known[r.ID] = true
	}
	var p mdns.Policy
	var errs []error
	for _, id := range slices.Sorted(maps.Keys(l.MDNS.Rules)) {
		key := "mdns.rules." + id
		if !known[id] {
			errs = append(errs, fmt.Errorf("%s: %s: %w (svcreg rules lists them)", l.Origin(key), key, mdns.ErrUnknownRule))
			continue
		}
		sev := l.MDNS.Rules[id]
		if sev == "off" {
			if p.Disabled == nil {
				p.Disabled = map[string]bool{}
			}
			p.Disabled[id] = true
			continue
		}
		s, err := mdns.ParseSeverity(sev)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %s: %w", l.Origin(key), key, err))
			continue
		}
		if p.Severity == nil {
			p.Severity = map[string]mdns.Severity{}
		}
		p.Severity[id] = s
	}
	if err := errors.Join(errs...); err != nil {
		return p, err
	}
	return p, p.Check()
}

// Monitor is the mdns section as the LAN monitor's configuration.
func (l *Loaded) Monitor() (mdns.MonitorConfig, error) {
	pol, err := l.MDNSPolicy()
	if err != nil {
		return mdns.MonitorConfig{}, err
	}
	return mdns.MonitorConfig{
		Interfaces:     slices.Clone(l.MDNS.Interfaces),
		MaxInstances:   l.MDNS.MaxInstances,
		Browse:         l.MDNS.Browse,
		BrowseInterval: l.MDNS.BrowseInterval,
		Policy:         pol,
		Family:         mdns.Family(strings.ToLower(l.MDNS.Family)),
		RatePackets:    l.MDNS.RatePackets,
		RateBytes:      l.MDNS.RateBytes,
		ReflectWindow:  l.MDNS.ReflectWindow,
		RenameWindow:   l.MDNS.RenameWindow,
		FlushInterval:  l.MDNS.FlushInterval,
	}, nil
}

// PublishLinks is mdns.publish as the discovery proxy's links (domains
// and policies filled in by validation), with each link's NOTIFY
// targets.
func (c *Config) PublishLinks() ([]proxy.Link, [][]string) {
	var links []proxy.Link
	var notify [][]string
	for _, p := range c.MDNS.Publish {
		links = append(links, proxy.Link{Interface: p.Interface, Zone: p.Domain, Policy: proxy.Policy(p.Policy),
			MaxTTL: uint32(c.MDNS.PublishMaxTTL), Reverse: p.Reverse})
		n := slices.Clone(p.Notify)
		if p.Notify == nil && c.DNS.Catalog != "" {
			// The catalog's consumers are dns.notify: they serve the
			// link's zone too.
			n = slices.Clone(c.DNS.Notify)
		}
		notify = append(notify, n)
	}
	return links, notify
}
