package config

import (
	"net/netip"
	"time"

	"github.com/svcreg/svcreg/mdns"
	"github.com/svcreg/svcreg/proxy"
	"github.com/svcreg/svcreg/resolver"
)

// Defaults of the keys that are not the packages' own: the dns section's
// defaults are resolver.DefaultConfig's (see Default).
const (
	DefaultZone         = resolver.DefaultZone
	DefaultDNSListen    = resolver.DefaultListen
	DefaultHTTPListen   = "127.0.0.1:8053"
	DefaultMaxInstances = mdns.DefaultMaxInstances
	// DefaultMaxDownload bounds one registry download; the official XML
	// is about 4 MB.
	DefaultMaxDownload = 64 << 20
	// DefaultRegistryURL is the official IANA registry in XML.
	DefaultRegistryURL = "https://www.iana.org/assignments/service-names-port-numbers/service-names-port-numbers.xml"
)

// Config is svcreg's whole configuration. The yaml tags are the file's
// key names; the environment variable of a key is SVCREG_ followed by its
// dotted path in upper case with dots as underscores (dns.negative_ttl
// -> SVCREG_DNS_NEGATIVE_TTL).
type Config struct {
	Registry Registry `yaml:"registry"`
	DNS      DNS      `yaml:"dns"`
	HTTP     HTTP     `yaml:"http"`
	MDNS     MDNS     `yaml:"mdns"`
	Log      Log      `yaml:"log"`
}

// Registry says where the registry comes from and how it is kept fresh.
type Registry struct {
	// Sources are file paths and/or http(s) URLs, merged in order. Empty:
	// the host's services file plus the built-in table.
	Sources []string `yaml:"sources"`
	// Format forces the format of every file source ("" = detect).
	Format string `yaml:"format"`
	// ServicesFile is the services file the built-in default reads.
	ServicesFile string `yaml:"services_file"`
	// RefreshInterval re-downloads URL sources and re-reads files on this
	// interval; 0 (the default) turns it off.
	RefreshInterval time.Duration `yaml:"refresh_interval"`
	// Watch reloads when a source file or the config file changes.
	Watch bool `yaml:"watch"`
	// CacheDir holds downloaded registry files ("" = $XDG_CACHE_HOME/svcreg,
	// else /var/cache/svcreg).
	CacheDir string `yaml:"cache_dir"`
	// MaxDownloadBytes bounds one download.
	MaxDownloadBytes int64 `yaml:"max_download_bytes"`
	// Local are private service types added to the registry as a source
	// named "local".
	Local []LocalService `yaml:"local"`
}

// LocalService is one private service type from the config file.
type LocalService struct {
	// Name is the service name (RFC 6335 section 5.1), without underscore.
	Name string `yaml:"name"`
	// Protocols default to ["tcp"].
	Protocols []string `yaml:"protocols"`
	// Port is a port ("8443"), a range ("9000-9010") or "" for a DNS-SD
	// type without a fixed port.
	Port string `yaml:"port"`
	// Description is free text.
	Description string `yaml:"description"`
	// TXTKeys are "key" or "key=hint" (RFC 6763 section 6.4 key syntax).
	TXTKeys []string `yaml:"txt_keys"`
	// Subtypes are DNS-SD subtypes, with their leading underscore.
	Subtypes []string `yaml:"subtypes"`
	// References are RFCs or URLs documenting the service.
	References []string `yaml:"references"`

	line int // line of the entry in the config file, 0 when unknown
}

// NSEntry is one name server of the zone: written as its name, or as
// {name, addresses} to give an in-zone name server addresses of its own.
type NSEntry struct {
	Name      string       `yaml:"name"`
	Addresses []netip.Addr `yaml:"addresses"`
}

// UnmarshalText reads the short form, the name alone.
func (e *NSEntry) UnmarshalText(b []byte) error {
	e.Name, e.Addresses = string(b), nil
	return nil
}

// TSIGKey is one TSIG key (RFC 8945): the secret base64 as BIND and Knot
// write it, given inline (secret; config check prints it) or in a file
// of its own (secret_file, relative to the config file, which keeps it
// out of the config and of config check's output).
type TSIGKey struct {
	Name       string `yaml:"name"`
	Algorithm  string `yaml:"algorithm"`
	Secret     string `yaml:"secret"`
	SecretFile string `yaml:"secret_file"`

	secret string // Secret, or the content of SecretFile, once validated
}

// DNS configures the authoritative server (package resolver).
type DNS struct {
	Zone   string    `yaml:"zone"`
	Listen []string  `yaml:"listen"`
	TTL    int       `yaml:"ttl"`
	NegTTL int       `yaml:"negative_ttl"`
	Target string    `yaml:"target"`
	NS     []NSEntry `yaml:"ns"`
	Mbox   string    `yaml:"mbox"`
	// Addresses are the A/AAAA records of the apex and of in-zone NS
	// names; [] adds none.
	Addresses   []netip.Addr `yaml:"addresses"`
	VersionBind string       `yaml:"version_bind"`
	NSID        string       `yaml:"nsid"`
	// SOA timers, seconds.
	SOARefresh int `yaml:"soa_refresh"`
	SOARetry   int `yaml:"soa_retry"`
	SOAExpire  int `yaml:"soa_expire"`
	// NotifySource is the address[:port] NOTIFY is sent from.
	NotifySource string `yaml:"notify_source"`
	// DNS cookies (RFC 7873): the server secret (hex, 16 bytes; "" a random
	// one per start), the previous one during a rollover, and whether UDP
	// queries need a valid server cookie.
	CookieSecret         string `yaml:"cookie_secret"`
	CookieSecretPrevious string `yaml:"cookie_secret_previous"`
	RequireCookies       bool   `yaml:"require_cookies"`
	// TSIGKeys are the shared secrets; AXFRKeys the keys of which one
	// must sign a transfer; NotifyKey the key NOTIFY is signed with.
	TSIGKeys  []TSIGKey `yaml:"tsig_keys"`
	AXFRKeys  []string  `yaml:"axfr_keys"`
	NotifyKey string    `yaml:"notify_key"`
	// Enumerate picks what _services._dns-sd._udp lists (dnssd, all,
	// none), EnumerateMaxRecords how many at most (0: no bound).
	Enumerate           string         `yaml:"enumerate"`
	EnumerateMaxRecords int            `yaml:"enumerate_max_records"`
	IDServer            string         `yaml:"id_server"`
	AXFRAllow           []netip.Prefix `yaml:"axfr_allow"`
	Notify              []string       `yaml:"notify"`
	NotifyRetries       int            `yaml:"notify_retries"`
	NotifyTimeout       time.Duration  `yaml:"notify_timeout"`
	UDPSize             int            `yaml:"udp_size"`
	QueryLog            bool           `yaml:"query_log"`
	// UDPWorkers reads each UDP socket with this many goroutines (0 =
	// GOMAXPROCS); UDPBatch datagrams per system call.
	UDPWorkers int `yaml:"udp_workers"`
	UDPBatch   int `yaml:"udp_batch"`
	// TCP limits (RFC 7766 section 6.2.3 for the idle timeout).
	TCPMaxConns    int           `yaml:"tcp_max_conns"`
	TCPIdleTimeout time.Duration `yaml:"tcp_idle_timeout"`
	TCPReadTimeout time.Duration `yaml:"tcp_read_timeout"`
	// TCPMaxConnsPerSource bounds one source's connections (an IPv4
	// address, an IPv6 /64); TCPReservedConns of TCPMaxConns are kept for
	// the transfer clients of axfr_allow (0: none).
	TCPMaxConnsPerSource int `yaml:"tcp_max_conns_per_source"`
	TCPReservedConns     int `yaml:"tcp_reserved_conns"`
	// Response rate limiting: RRLRate UDP responses per second per source
	// prefix, 0 = off; every RRLSlip-th response over the rate goes out
	// as an empty TC=1 reply, the rest are dropped (RRLSlip 0: none slips,
	// all are dropped, as BIND's and Knot's slip 0).
	RRLRate       int `yaml:"rrl_rate"`
	RRLSlip       int `yaml:"rrl_slip"`
	RRLIPv4Prefix int `yaml:"rrl_ipv4_prefix"`
	RRLIPv6Prefix int `yaml:"rrl_ipv6_prefix"`
	// SerialFile keeps the SOA serial across restarts so it never goes
	// backwards for a secondary: "" (the default) is zone-<zone>.serial in
	// the cache directory (registry.cache_dir or its default), SerialFileNone
	// turns persistence off, anything else is the file's path.
	SerialFile string `yaml:"serial_file"`
	// SerialPolicy makes the serial from the data (content, the
	// default: the same on every instance with the same data and
	// settings), counts changes (increment) or takes the time (unixtime).
	SerialPolicy string `yaml:"serial_policy"`
	// Catalog names a catalog zone (RFC 9432) listing every zone served
	// ("": none).
	Catalog string `yaml:"catalog"`
	// IXFRJournalMaxBytes bounds the record data of the IXFR journal
	// (0: no journal, every IXFR gets the whole zone).
	IXFRJournalMaxBytes int `yaml:"ixfr_journal_max_bytes"`
}

// SerialFileNone as dns.serial_file turns serial persistence off.
const SerialFileNone = "none"

// HTTP configures the API, metrics and web UI listeners.
type HTTP struct {
	Listen []string `yaml:"listen"`
}

// MDNS configures the LAN validator; no interfaces means it is off.
type MDNS struct {
	Interfaces   []string `yaml:"interfaces"`
	MaxInstances int      `yaml:"max_instances"`
	Browse       bool     `yaml:"browse"`
	// Profiles layers svcreg's service profiles over the registry (see
	// registry.BuiltinProfiles); false gives the registry-only view.
	Profiles       bool          `yaml:"profiles"`
	BrowseInterval time.Duration `yaml:"browse_interval"`
	// Family is the IP version mDNS runs over: both, ipv4 or ipv6.
	Family string `yaml:"family"`
	// Rules overrides rule severities: rule ID -> info, warning, error or
	// off.
	Rules map[string]string `yaml:"rules"`
	// Publish lists the links whose advertisements are published in
	// unicast DNS (a discovery proxy, RFC 8766), one entry per interface.
	Publish []PublishLink `yaml:"publish"`
	// PublishMaxTTL caps the TTL of published records, in seconds.
	PublishMaxTTL int `yaml:"publish_max_ttl"`
	// RatePackets and RateBytes are the mdns-rate thresholds, per second
	// averaged over 10 s, per sender.
	RatePackets int `yaml:"rate_packets"`
	RateBytes   int `yaml:"rate_bytes"`
	// ReflectWindow and RenameWindow are the time windows of the
	// reflected and rename-loop rules.
	ReflectWindow time.Duration `yaml:"reflect_window"`
	RenameWindow  time.Duration `yaml:"rename_window"`
	// FlushInterval is how often changes reach the web UI and the
	// discovery proxy's zones.
	FlushInterval time.Duration `yaml:"flush_interval"`
}

// PublishLink is one link of mdns.publish.
type PublishLink struct {
	// Interface is one of mdns.interfaces.
	Interface string `yaml:"interface"`
	// Domain is the link's zone; "" is <interface>.lan.<dns.zone>.
	Domain string `yaml:"domain"`
	// Policy is valid (the default), registered or all.
	Policy string `yaml:"policy"`
	// Notify lists secondaries of the link's zone, sent NOTIFY at each
	// change.
	Notify []string `yaml:"notify"`
	// Reverse also announces the zone as a browse domain under the
	// reverse names of the interface's IPv4 subnets (RFC 6763 section
	// 11), for clients that look for browse domains from their address.
	Reverse bool `yaml:"reverse"`
}

// Log configures the daemon's slog handler.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text, json
}

// Default returns the configuration used when nothing is set.
func Default() Config {
	return Config{
		Registry: Registry{
			ServicesFile:     "/etc/services",
			Watch:            true,
			MaxDownloadBytes: DefaultMaxDownload,
		},
		DNS:  dnsDefaults(),
		HTTP: HTTP{Listen: []string{DefaultHTTPListen}},
		MDNS: MDNS{MaxInstances: DefaultMaxInstances, Browse: true, Profiles: true, Family: string(mdns.FamilyBoth),
			BrowseInterval: mdns.DefaultBrowseInterval, PublishMaxTTL: proxy.DefaultMaxTTL,
			RatePackets: mdns.DefaultRatePackets, RateBytes: mdns.DefaultRateBytes,
			ReflectWindow: mdns.DefaultReflectWindow, RenameWindow: mdns.DefaultRenameWindow,
			FlushInterval: mdns.DefaultFlushInterval},
		Log: Log{Level: "info", Format: "text"},
	}
}
