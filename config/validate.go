package config

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/svcreg/svcreg/internal/embedded"
	"github.com/svcreg/svcreg/mdns"
	"github.com/svcreg/svcreg/proxy"
	"github.com/svcreg/svcreg/registry"
	"github.com/svcreg/svcreg/resolver"
)

// LocalSourceName names the registry source built from registry.local.
const LocalSourceName = registry.LocalName

// MinRefreshInterval keeps a mistyped interval from hammering the
// registry's publisher.
const MinRefreshInterval = time.Minute

// MinTTL and MaxTTL bound dns.ttl and dns.negative_ttl (and svcreg zone's
// --ttl and --neg-ttl): TTLs are 31-bit (RFC 2181 section 8), and 0 would
// make every answer uncacheable.
const (
	MinTTL = 1
	MaxTTL = 1<<31 - 1
)

// validator collects errors, each located through the origins map.
type validator struct {
	l    *Loaded
	errs []error
}

func (v *validator) fail(key, format string, args ...any) {
	v.errs = append(v.errs, &Error{Origin: v.l.Origin(key), Key: key, Msg: fmt.Sprintf(format, args...)})
}

// validate checks every key and normalises names (absolute, lower case).
func (l *Loaded) validate() error {
	v := &validator{l: l}
	c := &l.Config
	v.registry(&c.Registry)
	v.dns(&c.DNS)
	v.listeners("http.listen", c.HTTP.Listen)
	v.mdns(&c.MDNS)
	v.publish(&c.MDNS, c.DNS.Zone)
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	case "warning":
		c.Log.Level = "warn"
	default:
		v.fail("log.level", "%q: want debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		v.fail("log.format", "%q: want text or json", c.Log.Format)
	}
	return errors.Join(v.errs...)
}

func (v *validator) registry(r *Registry) {
	for i, s := range r.Sources {
		key := fmt.Sprintf("registry.sources[%d]", i)
		switch {
		case s == "":
			v.fail(key, "empty source")
		case IsURL(s):
			u, err := url.Parse(s)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				v.fail(key, "%q: a URL source must be http:// or https:// with a host", s)
			}
		}
	}
	switch registry.Format(r.Format) {
	case "", registry.FormatXML, registry.FormatCSV, registry.FormatText, registry.FormatMarkdown, registry.FormatServices:
	default:
		v.fail("registry.format", "%q: want xml, csv, text, markdown or services", r.Format)
	}
	if r.RefreshInterval != 0 && r.RefreshInterval < MinRefreshInterval {
		v.fail("registry.refresh_interval", "%s: want 0 (off) or at least %s", r.RefreshInterval, MinRefreshInterval)
	}
	if r.MaxDownloadBytes <= 0 {
		v.fail("registry.max_download_bytes", "must be positive")
	}
	seen := map[string]int{}
	for i := range r.Local {
		v.local(i, &r.Local[i], seen)
	}
}

// IsURL reports whether a registry source is a URL rather than a path.
func IsURL(s string) bool { return registry.IsURL(s) }

// SourceOptions are the registry section as registry.LoadSources takes
// it: the forced format, the default's services file, the cache, the
// download cap, the local additions and, in a release build, the embedded
// IANA registry. Callers add the logger and HTTP client.
func (c *Config) SourceOptions() registry.SourceOptions {
	emb, _ := embedded.Registry()
	return registry.SourceOptions{
		Format:           registry.Format(c.Registry.Format),
		ServicesFile:     c.Registry.ServicesFile,
		Embedded:         emb,
		CacheDir:         c.Registry.CacheDir,
		MaxDownloadBytes: c.Registry.MaxDownloadBytes,
		Local:            c.LocalSource(),
		NoProfiles:       !c.MDNS.Profiles,
	}
}

// local validates one private service type as the registry would: an RFC
// 6335 name, registry protocols, a port or range, RFC 6763 TXT key names
// and subtypes.
func (v *validator) local(i int, ls *LocalService, seen map[string]int) {
	key := fmt.Sprintf("registry.local[%d]", i)
	if !registry.ValidServiceName(ls.Name) {
		v.fail(key+".name", "%q is not a valid service name (RFC 6335 section 5.1: 1-15 letters, digits and inner hyphens, at least one letter)", ls.Name)
	}
	if len(ls.Protocols) == 0 {
		ls.Protocols = []string{"tcp"}
	}
	for j, p := range ls.Protocols {
		proto, ok := registry.ParseProtocol(p)
		if !ok {
			v.fail(fmt.Sprintf("%s.protocols[%d]", key, j), "%q: want tcp, udp, sctp or dccp", p)
			continue
		}
		ls.Protocols[j] = string(proto)
		id := strings.ToLower(ls.Name) + "/" + string(proto)
		if prev, dup := seen[id]; dup {
			v.fail(key+".name", "%s is already defined by registry.local[%d]", id, prev)
		} else {
			seen[id] = i
		}
	}
	if _, _, err := ParsePortRange(ls.Port); err != nil {
		v.fail(key+".port", "%v", err)
	}
	for j, k := range ls.TXTKeys {
		name, _, _ := strings.Cut(k, "=")
		if err := checkTXTKey(name); err != nil {
			v.fail(fmt.Sprintf("%s.txt_keys[%d]", key, j), "%q: %v", k, err)
		}
	}
	for j, s := range ls.Subtypes {
		if len(s) < 2 || s[0] != '_' || len(s) > 64 || strings.ContainsAny(s, ". ") {
			v.fail(fmt.Sprintf("%s.subtypes[%d]", key, j), "%q: want _ and a label of 1-63 bytes (RFC 6763 section 7.1)", s)
		}
	}
}

// checkTXTKey applies RFC 6763 section 6.4: at least one printable
// US-ASCII character other than '='; 9 or fewer are recommended, not
// required.
func checkTXTKey(k string) error {
	if k == "" {
		return errors.New("empty key (RFC 6763 section 6.4)")
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return errors.New("keys are printable US-ASCII (RFC 6763 section 6.4)")
		}
	}
	return nil
}

// ParsePortRange parses "", "8080" or "9000-9010"; "" gives -1, -1 (no
// fixed port).
func ParsePortRange(s string) (lo, hi int32, err error) {
	if s == "" {
		return -1, -1, nil
	}
	a, b, isRange := strings.Cut(s, "-")
	if !isRange {
		b = a
	}
	l, err1 := strconv.ParseUint(a, 10, 16)
	h, err2 := strconv.ParseUint(b, 10, 16)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("%q: want a port 0-65535 or a range low-high", s)
	}
	if l > h {
		return 0, 0, fmt.Errorf("%q: range ends before it starts", s)
	}
	return int32(l), int32(h), nil
}

func (v *validator) dns(d *DNS) {
	if d.Zone == "" {
		v.fail("dns.zone", "must not be empty")
	} else if n, ok := domainName(d.Zone); !ok || n == "." {
		v.fail("dns.zone", "%q is not a domain name", d.Zone)
	} else {
		d.Zone = n
	}
	v.listeners("dns.listen", d.Listen)
	v.intRange("dns.ttl", d.TTL, MinTTL, MaxTTL, "RFC 2181 section 8")
	v.intRange("dns.negative_ttl", d.NegTTL, MinTTL, MaxTTL, "RFC 2181 section 8")
	if d.Target != "" {
		if n, ok := domainName(d.Target); ok {
			d.Target = n
		} else {
			v.fail("dns.target", "%q is not a domain name", d.Target)
		}
	}
	for i, ns := range d.NS {
		key := fmt.Sprintf("dns.ns[%d]", i)
		n, ok := domainName(ns.Name)
		if !ok || n == "." {
			v.fail(key, "%q is not a domain name", ns.Name)
			continue
		}
		d.NS[i].Name = n
		if zone, zok := domainName(d.Zone); zok && len(ns.Addresses) > 0 && (n == zone || !dns.IsSubDomain(zone, n)) {
			v.fail(key+".addresses", "%s is not a name inside the zone %s; only in-zone name servers get addresses", n, zone)
		}
	}
	v.intRange("dns.soa_refresh", d.SOARefresh, 60, MaxTTL, "RFC 1912 section 2.2")
	v.intRange("dns.soa_retry", d.SOARetry, 60, MaxTTL, "RFC 1912 section 2.2")
	v.intRange("dns.soa_expire", d.SOAExpire, 60, MaxTTL, "RFC 1912 section 2.2")
	if d.SOARetry >= d.SOARefresh && d.SOARefresh >= 60 {
		v.fail("dns.soa_retry", "%d: less than dns.soa_refresh (%d), or secondaries retry slower than they refresh", d.SOARetry, d.SOARefresh)
	}
	if d.SOAExpire < d.SOARefresh+d.SOARetry && d.SOAExpire >= 60 {
		v.fail("dns.soa_expire", "%d: at least dns.soa_refresh + dns.soa_retry (%d)", d.SOAExpire, d.SOARefresh+d.SOARetry)
	}
	v.tsig(d)
	for key, s := range map[string]string{"dns.cookie_secret": d.CookieSecret, "dns.cookie_secret_previous": d.CookieSecretPrevious} {
		if b, err := hex.DecodeString(s); s != "" && (err != nil || len(b) != 16) {
			v.fail(key, "want 16 bytes of hex (32 characters), e.g. from: head -c16 /dev/urandom | xxd -p")
		}
	}
	switch d.Enumerate {
	case resolver.EnumerateDNSSD, resolver.EnumerateAll, resolver.EnumerateNone:
	default:
		v.fail("dns.enumerate", "%q: want dnssd, all or none", d.Enumerate)
	}
	v.intRange("dns.enumerate_max_records", d.EnumerateMaxRecords, 0, 65535)
	v.intRange("dns.ixfr_journal_max_bytes", d.IXFRJournalMaxBytes, 0, 1<<30)
	if d.Catalog != "" {
		n := strings.ToLower(dns.Fqdn(d.Catalog))
		if _, ok := dns.IsDomainName(n); !ok || n == "." || n == d.Zone {
			v.fail("dns.catalog", "%q: want a domain name other than dns.zone", d.Catalog)
		} else {
			d.Catalog = n
		}
	}
	switch d.SerialPolicy {
	case resolver.SerialContent, resolver.SerialIncrement, resolver.SerialUnixtime:
	default:
		v.fail("dns.serial_policy", "%q: want content, increment or unixtime", d.SerialPolicy)
	}
	if d.NotifySource != "" {
		if _, err := netip.ParseAddrPort(d.NotifySource); err != nil {
			if _, err := netip.ParseAddr(d.NotifySource); err != nil {
				v.fail("dns.notify_source", "%q: want an IP address with an optional :port", d.NotifySource)
			}
		}
	}
	if d.Mbox != "" {
		if n, ok := domainName(d.Mbox); ok {
			d.Mbox = n
		} else {
			v.fail("dns.mbox", "%q is not a domain name (write the mailbox with a dot for the @: hostmaster.example.com.)", d.Mbox)
		}
	}
	for i, t := range d.Notify {
		if n, ok := v.notifyTarget(fmt.Sprintf("dns.notify[%d]", i), t); ok {
			d.Notify[i] = n
		}
	}
	v.intRange("dns.udp_size", d.UDPSize, 512, 4096, "RFC 6891 section 6.2.5")
	if len(d.NSID) > 128 {
		v.fail("dns.nsid", "%d bytes: at most 128", len(d.NSID))
	}
	for i, a := range d.Addresses {
		if !a.IsValid() || a.Zone() != "" || a.IsUnspecified() {
			v.fail(fmt.Sprintf("dns.addresses[%d]", i), "%q: want an IPv4 or IPv6 address without a zone, not unspecified", a.String())
		}
	}
	v.intRange("dns.notify_retries", d.NotifyRetries, 1, maxNotifyRetries)
	v.durRange("dns.notify_timeout", d.NotifyTimeout, 100*time.Millisecond, time.Minute)
	v.intRange("dns.udp_workers", d.UDPWorkers, 0, maxUDPWorkers)
	v.intRange("dns.udp_batch", d.UDPBatch, 1, maxUDPBatch)
	v.intRange("dns.tcp_max_conns", d.TCPMaxConns, 1, maxTCPConns)
	v.intRange("dns.tcp_max_conns_per_source", d.TCPMaxConnsPerSource, 1, maxTCPConns)
	if d.TCPMaxConns >= 1 && (d.TCPReservedConns < 0 || d.TCPReservedConns >= d.TCPMaxConns) {
		v.fail("dns.tcp_reserved_conns", "%d: want 0 to dns.tcp_max_conns - 1 (%d)", d.TCPReservedConns, d.TCPMaxConns-1)
	}
	v.durRange("dns.tcp_idle_timeout", d.TCPIdleTimeout, 100*time.Millisecond, time.Hour)
	v.durRange("dns.tcp_read_timeout", d.TCPReadTimeout, 100*time.Millisecond, time.Minute)
	v.intRange("dns.rrl_rate", d.RRLRate, 0, maxRRLRate)
	// 0 never slips (every response over the rate is dropped), as in BIND
	// and Knot; the default is 2.
	v.intRange("dns.rrl_slip", d.RRLSlip, 0, maxRRLSlip)
	v.intRange("dns.rrl_ipv4_prefix", d.RRLIPv4Prefix, 1, 32)
	v.intRange("dns.rrl_ipv6_prefix", d.RRLIPv6Prefix, 1, 128)
}

// Bounds of the resolver's tuning keys: past them a value is a typo, and
// some (udp_batch: a 64 KiB buffer per datagram per worker) cost memory.
const (
	maxNotifyRetries = 10 // the wait doubles per retry: 2s -> 17 min
	maxUDPWorkers    = 256
	maxUDPBatch      = 256
	maxTCPConns      = 65536
	maxRRLRate       = 1000000
	maxRRLSlip       = 100
)

// intRange checks that key's value n is from lo to hi; why, when given,
// is the source of the bounds.
func (v *validator) intRange(key string, n, lo, hi int, why ...string) {
	if n < lo || n > hi {
		msg := RangeText(lo, hi)
		if len(why) > 0 {
			msg += " (" + why[0] + ")"
		}
		v.fail(key, "%d: %s", n, msg)
	}
}

// RangeText states an integer key's range the one way every message
// and flag states it: "want LO-HI".
func RangeText(lo, hi int) string {
	return fmt.Sprintf("want %d-%d", lo, hi)
}

func (v *validator) durRange(key string, d, lo, hi time.Duration) {
	if d < lo || d > hi {
		v.fail(key, "%s: want %s to %s", fmtDuration(d), fmtDuration(lo), fmtDuration(hi))
	}
}

// domainName returns s as an absolute lower-case name when it is a valid
// domain name.
func domainName(s string) (string, bool) {
	if _, ok := dns.IsDomainName(s); !ok || strings.ContainsAny(s, " \t") {
		return "", false
	}
	return dns.CanonicalName(s), true
}

func (v *validator) listeners(key string, addrs []string) {
	if len(addrs) == 0 {
		v.fail(key, "at least one address is needed")
	}
	seen := map[string]bool{}
	for i, a := range addrs {
		k := fmt.Sprintf("%s[%d]", key, i)
		_, port, err := net.SplitHostPort(a)
		if err != nil {
			v.fail(k, "%q: want host:port, e.g. 127.0.0.1:5300 or [::1]:5300", a)
			continue
		}
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			v.fail(k, "%q: the port must be 0-65535", a)
			continue
		}
		if seen[a] {
			v.fail(k, "%q is listed twice", a)
		}
		seen[a] = true
	}
}

// notifyTarget checks a NOTIFY target (address[:port]) and returns it
// as host:port, the port 53 when none is given.
func (v *validator) notifyTarget(key, t string) (string, bool) {
	host, port, err := net.SplitHostPort(t)
	if err != nil {
		// A bare address means the standard port.
		host, port = strings.Trim(t, "[]"), "53"
	}
	if net.ParseIP(host) == nil {
		v.fail(key, "%q: want an IP address with an optional :port", t)
		return "", false
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
		v.fail(key, "%q: the port must be 1-65535", t)
		return "", false
	}
	return net.JoinHostPort(host, port), true
}

// publish checks mdns.publish: each entry names one of mdns.interfaces,
// once, with a domain of its own (made absolute and lower case; "" is
// <interface>.lan.<dns.zone>) and a known policy.
func (v *validator) publish(m *MDNS, zone string) {
	ifaces, domains := map[string]bool{}, map[string]bool{}
	for i := range m.Publish {
		p := &m.Publish[i]
		key := fmt.Sprintf("mdns.publish[%d]", i)
		switch {
		case !slices.Contains(m.Interfaces, p.Interface):
			v.fail(key+".interface", "%q is not one of mdns.interfaces", p.Interface)
		case ifaces[p.Interface]:
			v.fail(key+".interface", "%q is published twice", p.Interface)
		}
		ifaces[p.Interface] = true
		if p.Domain == "" {
			p.Domain = strings.ToLower(p.Interface) + ".lan." + zone
		}
		p.Domain = strings.ToLower(dns.Fqdn(p.Domain))
		if _, ok := dns.IsDomainName(p.Domain); !ok || p.Domain == "." || p.Domain == zone {
			v.fail(key+".domain", "%q: want a domain name other than dns.zone", p.Domain)
		} else if domains[p.Domain] {
			v.fail(key+".domain", "%q is used twice", p.Domain)
		}
		domains[p.Domain] = true
		switch proxy.Policy(p.Policy) {
		case "":
			p.Policy = string(proxy.PolicyValid)
		case proxy.PolicyValid, proxy.PolicyRegistered, proxy.PolicyAll:
		default:
			v.fail(key+".policy", "%q: want valid, registered or all", p.Policy)
		}
		for j, t := range p.Notify {
			if n, ok := v.notifyTarget(fmt.Sprintf("%s.notify[%d]", key, j), t); ok {
				p.Notify[j] = n
			}
		}
	}
	v.intRange("mdns.publish_max_ttl", m.PublishMaxTTL, 1, 4500)
	v.intRange("mdns.rate_packets", m.RatePackets, 1, 1_000_000)
	v.intRange("mdns.rate_bytes", m.RateBytes, 1, 1_000_000_000)
	if m.ReflectWindow < 10*time.Millisecond || m.ReflectWindow > time.Minute {
		v.fail("mdns.reflect_window", "%s: want 10ms to 1m", m.ReflectWindow)
	}
	if m.RenameWindow < time.Minute || m.RenameWindow > 24*time.Hour {
		v.fail("mdns.rename_window", "%s: want 1m to 24h", m.RenameWindow)
	}
	if m.FlushInterval < 10*time.Millisecond || m.FlushInterval > 10*time.Second {
		v.fail("mdns.flush_interval", "%s: want 10ms to 10s", m.FlushInterval)
	}
}

func (v *validator) mdns(m *MDNS) {
	for i, name := range m.Interfaces {
		if name == "" || strings.ContainsAny(name, " /") || len(name) > 15 {
			v.fail(fmt.Sprintf("mdns.interfaces[%d]", i), "%q is not an interface name", name)
		}
	}
	if m.MaxInstances < 1 {
		v.fail("mdns.max_instances", "must be at least 1")
	}
	if _, err := mdns.ParseFamily(m.Family); err != nil {
		v.fail("mdns.family", "%v", err)
	}
	if m.Browse && m.BrowseInterval < 10*time.Second {
		v.fail("mdns.browse_interval", "%s: at least 10s, so browsing does not flood the link", m.BrowseInterval)
	}
	known := map[string]bool{}
	for _, r := range mdns.Rules() {
		known[r.ID] = true
	}
	for _, rule := range slices.Sorted(maps.Keys(m.Rules)) {
		key := "mdns.rules." + rule
		if !known[rule] {
			v.errs = append(v.errs, &Error{Origin: v.l.Origin(key), Key: key,
				Msg: mdns.ErrUnknownRule.Error() + " (svcreg rules lists them)", Err: mdns.ErrUnknownRule})
			continue
		}
		switch m.Rules[rule] {
		case "info", "warning", "error", "off":
		default:
			v.fail(key, "%q: want info, warning, error or off", m.Rules[rule])
		}
	}
}

// LocalSource returns the local additions as a registry source named
// "local" (nil when there are none). Each protocol of an entry is one
// record; Line is the entry's line in the config file.
func (c *Config) LocalSource() *registry.Source {
	if len(c.Registry.Local) == 0 {
		return nil
	}
	src := &registry.Source{Name: LocalSourceName, Format: registry.FormatBuiltin}
	for _, ls := range c.Registry.Local {
		lo, hi, err := ParsePortRange(ls.Port)
		if err != nil {
			continue // validated already
		}
		var keys registry.TXTKeys
		if len(ls.TXTKeys) > 0 {
			keys.Kind = registry.TXTDefined
			for _, k := range ls.TXTKeys {
				name, hint, _ := strings.Cut(k, "=")
				keys.Keys = append(keys.Keys, registry.TXTKey{Name: name, Hint: hint})
			}
		}
		for _, p := range ls.Protocols {
			proto, _ := registry.ParseProtocol(p)
			src.Records = append(src.Records, registry.Record{
				Name: ls.Name, Protocol: proto, PortLow: lo, PortHigh: hi,
				Status: registry.StatusAssigned, Description: ls.Description,
				TXTKeys:  registry.TXTKeys{Kind: keys.Kind, Keys: append([]registry.TXTKey(nil), keys.Keys...)},
				Subtypes: append([]string(nil), ls.Subtypes...), References: append([]string(nil), ls.References...),
				Source: LocalSourceName, Line: ls.line,
			})
		}
	}
	return src
}

// tsig checks the TSIG keys (reading secret files) and the names that
// refer to them.
func (v *validator) tsig(d *DNS) {
	names := map[string]bool{}
	for i := range d.TSIGKeys {
		k := &d.TSIGKeys[i]
		key := fmt.Sprintf("dns.tsig_keys[%d]", i)
		n, ok := domainName(k.Name)
		if !ok || n == "." {
			v.fail(key+".name", "%q is not a key name (a domain name, as BIND and Knot write it)", k.Name)
			continue
		}
		k.Name = strings.ToLower(n)
		if names[k.Name] {
			v.fail(key+".name", "%s is given twice", k.Name)
		}
		names[k.Name] = true
		switch strings.ToLower(k.Algorithm) {
		case "hmac-sha256", "hmac-sha384", "hmac-sha512":
			k.Algorithm = strings.ToLower(k.Algorithm)
		default:
			v.fail(key+".algorithm", "%q: want hmac-sha256, hmac-sha384 or hmac-sha512", k.Algorithm)
		}
		switch {
		case k.Secret != "" && k.SecretFile != "":
			v.fail(key, "give secret or secret_file, not both")
			continue
		case k.SecretFile != "":
			// Relative to the config file, like everything it names.
			path := k.SecretFile
			if !filepath.IsAbs(path) && v.l.Path != "" {
				path = filepath.Join(filepath.Dir(v.l.Path), path)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				v.fail(key+".secret_file", "%v", err)
				continue
			}
			k.secret = strings.TrimSpace(string(b))
		default:
			k.secret = k.Secret
		}
		if raw, err := base64.StdEncoding.DecodeString(k.secret); err != nil || len(raw) < 16 {
			v.fail(key+".secret", "not base64 of at least 16 bytes (svcreg tsig-keygen makes one)")
		}
	}
	for i, n := range d.AXFRKeys {
		if abs, _ := domainName(n); !names[strings.ToLower(abs)] {
			v.fail(fmt.Sprintf("dns.axfr_keys[%d]", i), "%q is not among dns.tsig_keys", n)
		}
	}
	if d.NotifyKey != "" {
		if abs, _ := domainName(d.NotifyKey); !names[strings.ToLower(abs)] {
			v.fail("dns.notify_key", "%q is not among dns.tsig_keys", d.NotifyKey)
		}
	}
}
