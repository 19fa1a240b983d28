package resolver

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// ErrConfig is wrapped by every configuration error New and ZoneRRs return.
var ErrConfig = errors.New("invalid resolver configuration")

// Serial policies (Config.SerialPolicy).
const (
	// SerialContent derives the serial from the data: its date (see
	// SerialPolicy) as YYYYMMDD and two digits from the zone content's
	// digest, so every instance serving the same data and zone settings
	// serves the same serial.
	SerialContent = "content"
	// SerialIncrement starts from the data's date as YYYYMMDD00 and adds
	// one for each change this instance sees.
	SerialIncrement = "increment"
	// SerialUnixtime is the time of the change in seconds since 1970.
	SerialUnixtime = "unixtime"
)

// Enumeration policies (Config.Enumerate).
const (
	EnumerateDNSSD = "dnssd"
	EnumerateAll   = "all"
	EnumerateNone  = "none"
)

// DefaultEnumerateMaxRecords bounds _services._dns-sd._udp by default.
const DefaultEnumerateMaxRecords = 100

// Config configures the resolver. The zero value of a field means its
// default (see DefaultConfig), except where noted.
type Config struct {
	Zone   string   // default "services.internal."
	Listen []string // default ["127.0.0.1:5300"]; UDP+TCP on each
	// TTL is the TTL of every record; NegTTL the SOA minimum and the TTL
	// of the SOA in negative answers (RFC 2308 section 5).
	TTL, NegTTL uint32 // 3600, 300
	Target      string // SRV target, "" = zone apex
	NS          []string
	// Mbox is the SOA RNAME, default "hostmaster.<zone>".
	Mbox string
	// VersionBind and IDServer answer CHAOS TXT version.bind. and
	// id.server.; "" answers REFUSED.
	VersionBind, IDServer string
	// NSID is the name server identifier sent to clients that ask for
	// it in their OPT (RFC 5001); "" sends none. At most 128 bytes.
	NSID string
	// AXFRAllow lists the clients that may transfer the zone; nil means
	// loopback (127.0.0.0/8, ::1/128). An empty non-nil slice allows none.
	AXFRAllow []netip.Prefix
	// Notify lists secondaries (host:port) sent a NOTIFY (RFC 1996) when
	// the serial changes.
	Notify []string
	// UDPSize is the largest UDP response svcreg sends to an EDNS client
	// (the smaller of this and the client's buffer size); default 1232.
	UDPSize  uint16
	QueryLog bool

	// Catalog, when set, is the name of a catalog zone (RFC 9432, schema
	// version 2) the server serves beside the others, listing every zone
	// it serves but itself: a fleet of secondaries that consume it picks
	// up each new zone (the LAN zones of a discovery proxy) by itself. It
	// has the server's NOTIFY targets and transfer allow-list.
	Catalog string

	// BrowseDomains are announced under the zone for DNS-SD clients
	// (RFC 6763 section 11): b._dns-sd._udp, db._dns-sd._udp and
	// lb._dns-sd._udp PTRs to each, such as the zones of a discovery
	// proxy. Absolute names.
	BrowseDomains []string

	// Enumerate chooses the types _services._dns-sd._udp lists:
	// EnumerateDNSSD (default: types with DNS-SD data, TXT keys known or
	// no port), EnumerateAll (every TCP and UDP type) or EnumerateNone.
	// EnumerateMaxRecords bounds the list (default 100, which BIND's and
	// PowerDNS's default max-records-per-type accept; negative: no bound),
	// keeping the types a service profile documents first.
	Enumerate           string
	EnumerateMaxRecords int

	// NSAddresses gives in-zone name servers addresses of their own
	// (ns2.<zone> -> 192.0.2.2), instead of Addresses, so two name
	// servers do not share every address.
	NSAddresses map[string][]netip.Addr
	// SOARefresh, SOARetry and SOAExpire are the SOA timers (defaults
	// 14400, 3600 and 1209600 s, as RIPE-203 recommends).
	SOARefresh, SOARetry, SOAExpire uint32
	// CookieSecret is the hex SipHash key (16 bytes) server cookies are
	// made with (RFC 7873, RFC 9018); "" makes a random one at start, so
	// cookies do not survive a restart or match another instance's.
	// CookieSecretPrevious is still accepted, for a rollover.
	// RequireCookies answers UDP queries that bring a client cookie but
	// no valid server cookie BADCOOKIE (with one to retry with).
	CookieSecret, CookieSecretPrevious string
	RequireCookies                     bool

	// TSIGKeys are the shared secrets of TSIG (RFC 8945). AXFRKeys names
	// the keys of which one must sign a transfer request (in addition to
	// AXFRAllow; none: unsigned transfers are allowed); NotifyKey the key
	// NOTIFY is signed with ("": unsigned).
	TSIGKeys  []TSIGKey
	AXFRKeys  []string
	NotifyKey string

	// NotifySource is the address[:port] NOTIFY leaves from, for
	// secondaries that accept NOTIFY from the primary's address only
	// ("" lets the kernel choose).
	NotifySource string

	// Addresses are A/AAAA records at the apex and at every in-zone NS
	// name, so SRV targets (the apex by default) and NS names resolve and
	// zone checkers accept the zone. nil means 127.0.0.1; an empty non-nil
	// slice adds none.
	Addresses []netip.Addr

	// NotifyRetries is how many times a NOTIFY is sent before giving up
	// on a secondary that does not answer (default 5); NotifyTimeout is
	// the wait for each answer (default 2s, doubled on each retry).
	NotifyRetries int
	NotifyTimeout time.Duration

	// UDPWorkers is the number of goroutines reading each UDP socket;
	// 0 means GOMAXPROCS.
	UDPWorkers int
	// UDPBatch is how many datagrams one system call reads or writes
	// (recvmmsg/sendmmsg); default 32, 1 reads one at a time.
	UDPBatch int

	// TCP limits: at most TCPMaxConns connections at once
	// (default 256; further connections are closed at accept), a query
	// must arrive within TCPIdleTimeout of the previous answer (default
	// 10s, RFC 7766 section 6.2.3) and be read completely within
	// TCPReadTimeout once started (default 2s).
	TCPMaxConns    int
	TCPIdleTimeout time.Duration
	TCPReadTimeout time.Duration
	// TCPMaxConnsPerSource bounds the connections of one source (an
	// IPv4 address or an IPv6 /64) at once (default 16), so one client
	// cannot take every connection. TCPReservedConns of TCPMaxConns
	// (default 16, at most a quarter of them; negative: none) are kept for
	// transfer clients (AXFRAllow): a flood from elsewhere cannot block a
	// secondary's refresh.
	TCPMaxConnsPerSource int
	TCPReservedConns     int

	// Response rate limiting (BIND/Knot style): when RRLRate is
	// above 0, each source prefix (RRLIPv4Prefix bits, default 24;
	// RRLIPv6Prefix, default 56) gets RRLRate UDP responses per second
	// (burst RRLRate); beyond that responses are dropped, except that
	// every RRLSlip-th one is sent as an empty TC=1 reply so a real client
	// retries over TCP. TCP is never limited. As in BIND and Knot, RRLSlip
	// 0 means never slip (every response over the rate is dropped) and 1
	// means slip every one; so 0 is not "default" here: DefaultConfig
	// sets 2 (DefaultRRLSlip), and a Config built by hand that enables
	// RRL should set it too.
	RRLRate       int
	RRLSlip       int
	RRLIPv4Prefix int
	RRLIPv6Prefix int

	// SerialPolicy chooses how a zone's serial is made: SerialContent
	// (default), SerialIncrement or SerialUnixtime. Under every policy a
	// serial never goes below one served before (by this process, or
	// by an earlier one when SerialFile is set): when the policy's serial
	// is not newer, the previous serial plus one is served instead. The
	// data's date is the newest of the registry's date and its records'
	// registration and modification dates that is not in the future.
	SerialPolicy string

	// SerialFile, when set, keeps the SOA serial across restarts so that
	// it never goes backwards for a secondary (see Server.SetSnapshot):
	// a small JSON file (zone, serial, content digest) replaced
	// atomically, its directory created if missing. "" keeps no state:
	// each process starts again from the registry date.
	SerialFile string
	// JournalFile, when set, keeps the zone as last served and its IXFR
	// journal across restarts (replaced atomically at every change), so
	// that a secondary can still get a difference after one, even when
	// the data changed meanwhile. "" keeps the journal in memory only.
	JournalFile string
	// JournalMaxBytes bounds the record data of the IXFR journal (RFC
	// 1995): the oldest changes go first, and so do changes older than
	// the SOA expire. 0 is DefaultJournalMaxBytes; negative keeps no
	// journal (every IXFR gets the whole zone).
	JournalMaxBytes int
}

// DefaultZone is the zone served when Config.Zone is empty, DefaultListen
// the address listened on when Config.Listen is nil.
const (
	DefaultZone   = "services.internal."
	DefaultListen = "127.0.0.1:5300"
)

// DefaultRRLSlip is DefaultConfig's RRLSlip: every second response over
// the rate goes out truncated (BIND's and Knot's default).
const DefaultRRLSlip = 2

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	c := Config{RRLSlip: DefaultRRLSlip}
	c, _ = c.withDefaults()
	return c
}

// withDefaults fills unset fields and checks the rest. It is applied by
// New and ZoneRRs, so callers may pass a partly filled Config.
func (c Config) withDefaults() (Config, error) {
	if c.Zone == "" {
		c.Zone = DefaultZone
	}
	z, err := absName(c.Zone, "zone")
	if err != nil {
		return c, err
	}
	c.Zone = z
	if c.Listen == nil {
		c.Listen = []string{DefaultListen}
	}
	if c.TTL == 0 {
		c.TTL = 3600
	}
	if c.NegTTL == 0 {
		c.NegTTL = 300
	}
	if c.Target == "" {
		c.Target = c.Zone
	}
	if c.Target, err = absName(c.Target, "SRV target"); err != nil {
		return c, err
	}
	if len(c.NS) == 0 {
		c.NS = []string{"ns1." + c.Zone}
	}
	ns := make([]string, len(c.NS))
	for i, n := range c.NS {
		if ns[i], err = absName(n, "NS"); err != nil {
			return c, err
		}
	}
	c.NS = ns
	var nsAddrs map[string][]netip.Addr
	for n, addrs := range c.NSAddresses {
		if nsAddrs == nil {
			nsAddrs = map[string][]netip.Addr{}
		}
		abs, err := absName(n, "NS")
		if err != nil {
			return c, err
		}
		if !slices.Contains(c.NS, abs) || !dns.IsSubDomain(c.Zone, abs) || abs == c.Zone {
			return c, fmt.Errorf("%w: addresses for %s, which is not an in-zone NS name", ErrConfig, abs)
		}
		nsAddrs[abs] = addrs
	}
	c.NSAddresses = nsAddrs
	if c.JournalMaxBytes == 0 {
		c.JournalMaxBytes = DefaultJournalMaxBytes
	}
	if c.Catalog != "" {
		c.Catalog = strings.ToLower(dns.Fqdn(c.Catalog))
		if _, ok := dns.IsDomainName(c.Catalog); !ok || c.Catalog == "." || c.Catalog == c.Zone {
			return c, fmt.Errorf("%w: catalog zone %q: want a domain name other than the zone", ErrConfig, c.Catalog)
		}
	}
	browse := make([]string, 0, len(c.BrowseDomains))
	for _, d := range c.BrowseDomains {
		n := strings.ToLower(dns.Fqdn(d))
		if _, ok := dns.IsDomainName(n); !ok || n == "." {
			return c, fmt.Errorf("%w: browse domain %q", ErrConfig, d)
		}
		browse = append(browse, n)
	}
	if len(browse) > 0 {
		c.BrowseDomains = browse
	}
	switch c.SerialPolicy {
	case "":
		c.SerialPolicy = SerialContent
	case SerialContent, SerialIncrement, SerialUnixtime:
	default:
		return c, fmt.Errorf("%w: serial_policy %q: want content, increment or unixtime", ErrConfig, c.SerialPolicy)
	}
	switch c.Enumerate {
	case "":
		c.Enumerate = EnumerateDNSSD
	case EnumerateDNSSD, EnumerateAll, EnumerateNone:
	default:
		return c, fmt.Errorf("%w: enumerate %q: want dnssd, all or none", ErrConfig, c.Enumerate)
	}
	if c.EnumerateMaxRecords == 0 {
		c.EnumerateMaxRecords = DefaultEnumerateMaxRecords
	}
	if c.SOARefresh == 0 {
		c.SOARefresh = 14400
	}
	if c.SOARetry == 0 {
		c.SOARetry = 3600
	}
	if c.SOAExpire == 0 {
		c.SOAExpire = 1209600
	}
	var scratch [cookieSecretSize]byte
	for _, sec := range []string{c.CookieSecret, c.CookieSecretPrevious} {
		if sec != "" {
			if err := readCookieSecret(sec, &scratch); err != nil {
				return c, err
			}
		}
	}
	keys, err := checkTSIGKeys(c.TSIGKeys)
	if err != nil {
		return c, err
	}
	axfrKeys := make([]string, 0, len(c.AXFRKeys))
	for _, k := range c.AXFRKeys {
		n := strings.ToLower(dns.Fqdn(k))
		if _, ok := keys[n]; !ok {
			return c, fmt.Errorf("%w: transfer key %q is not among the TSIG keys", ErrConfig, k)
		}
		axfrKeys = append(axfrKeys, n)
	}
	if len(c.AXFRKeys) > 0 {
		c.AXFRKeys = axfrKeys
	}
	if c.NotifyKey != "" {
		c.NotifyKey = strings.ToLower(dns.Fqdn(c.NotifyKey))
		if _, ok := keys[c.NotifyKey]; !ok {
			return c, fmt.Errorf("%w: NOTIFY key %q is not among the TSIG keys", ErrConfig, c.NotifyKey)
		}
	}
	if c.NotifySource != "" {
		if _, err := notifySourceAddr(c.NotifySource); err != nil {
			return c, fmt.Errorf("%w: NOTIFY source %q: %w", ErrConfig, c.NotifySource, err)
		}
	}
	if c.Mbox == "" {
		c.Mbox = "hostmaster." + c.Zone
	}
	if c.Mbox, err = absName(c.Mbox, "SOA mailbox"); err != nil {
		return c, err
	}
	if c.AXFRAllow == nil {
		c.AXFRAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	}
	if c.UDPSize == 0 {
		c.UDPSize = 1232
	}
	if len(c.NSID) > 128 {
		return c, fmt.Errorf("%w: NSID is %d bytes, over 128", ErrConfig, len(c.NSID))
	}
	if c.UDPSize < 512 {
		return c, fmt.Errorf("%w: UDP size %d below 512", ErrConfig, c.UDPSize)
	}
	if c.Addresses == nil {
		c.Addresses = []netip.Addr{netip.MustParseAddr("127.0.0.1")}
	}
	if c.NotifyRetries == 0 {
		c.NotifyRetries = 5
	}
	if c.NotifyTimeout == 0 {
		c.NotifyTimeout = 2 * time.Second
	}
	if c.UDPBatch == 0 {
		c.UDPBatch = 32
	}
	if c.TCPMaxConns == 0 {
		c.TCPMaxConns = 256
	}
	if c.TCPIdleTimeout == 0 {
		c.TCPIdleTimeout = 10 * time.Second
	}
	if c.TCPReadTimeout == 0 {
		c.TCPReadTimeout = 2 * time.Second
	}
	if c.TCPMaxConnsPerSource == 0 {
		c.TCPMaxConnsPerSource = 16
	}
	switch {
	case c.TCPReservedConns == 0:
		c.TCPReservedConns = min(16, c.TCPMaxConns/4)
	case c.TCPReservedConns < 0: // none
		c.TCPReservedConns = 0
	}
	if c.TCPMaxConnsPerSource < 0 || (c.TCPReservedConns > 0 && c.TCPReservedConns >= c.TCPMaxConns) {
		return c, fmt.Errorf("%w: TCP limits: %d reserved of %d connections, %d per source", ErrConfig,
			c.TCPReservedConns, c.TCPMaxConns, c.TCPMaxConnsPerSource)
	}
	if c.RRLIPv4Prefix == 0 {
		c.RRLIPv4Prefix = 24
	}
	if c.RRLIPv6Prefix == 0 {
		c.RRLIPv6Prefix = 56
	}
	if c.RRLRate < 0 || c.RRLSlip < 0 || c.RRLIPv4Prefix > 32 || c.RRLIPv6Prefix > 128 || c.RRLIPv4Prefix < 0 || c.RRLIPv6Prefix < 0 {
		return c, fmt.Errorf("%w: bad rate-limit settings", ErrConfig)
	}
	for _, t := range c.Notify {
		if _, _, err := net.SplitHostPort(t); err != nil {
			return c, fmt.Errorf("%w: NOTIFY target %q: %w", ErrConfig, t, err)
		}
	}
	return c, nil
}

// absName lowercases name, makes it absolute and checks it is a domain
// name miekg/dns can pack.
func absName(name, what string) (string, error) {
	n := dns.Fqdn(strings.ToLower(strings.TrimSpace(name)))
	if _, ok := dns.IsDomainName(n); !ok || strings.Contains(n, "..") {
		return "", fmt.Errorf("%w: %s %q is not a domain name", ErrConfig, what, name)
	}
	return n, nil
}
