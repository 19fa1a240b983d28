package mdns

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Severity grades a Finding. The zero value is SeverityInfo.
type Severity int

// Severities, in increasing order: comparisons such as
// f.Severity >= SeverityWarning are meaningful.
const (
	SeverityInfo Severity = iota
	SeverityWarning
	SeverityError
)

// ErrBadSeverity is returned by ParseSeverity for an unknown level.
var ErrBadSeverity = errors.New("unknown severity")

var severityNames = [...]string{"info", "warning", "error"}

func (s Severity) String() string {
	if s >= 0 && int(s) < len(severityNames) {
		return severityNames[s]
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// MarshalText implements encoding.TextMarshaler ("info", "warning",
// "error").
func (s Severity) MarshalText() ([]byte, error) {
	if s < 0 || int(s) >= len(severityNames) {
		return nil, fmt.Errorf("%w: %d", ErrBadSeverity, int(s))
	}
	return []byte(severityNames[s]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler; it accepts what
// ParseSeverity accepts.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// ParseSeverity reads "info", "warning" (or "warn") and "error",
// case-insensitively.
func ParseSeverity(s string) (Severity, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "info":
		return SeverityInfo, nil
	case "warning", "warn":
		return SeverityWarning, nil
	case "error":
		return SeverityError, nil
	}
	return 0, fmt.Errorf("%w %q (want info, warning or error)", ErrBadSeverity, s)
}

// Rule is one entry of the validation catalogue (see Rules).
type Rule struct {
	ID       string   `json:"id"`
	Severity Severity `json:"severity"` // default; a Policy may change it
	RFC      string   `json:"rfc"`      // "RFC 6763 section 6.4"
	Summary  string   `json:"summary"`
}

// Finding is one thing a rule found wrong with an advertisement or a
// packet.
type Finding struct {
	Rule        string   `json:"rule"`
	Severity    Severity `json:"severity"`
	Instance    string   `json:"instance"`     // raw instance name, "" for packet-level findings
	ServiceType string   `json:"service_type"` // "_http._tcp", "" when not known
	Message     string   `json:"message"`
	RFC         string   `json:"rfc"`
	Evidence    string   `json:"evidence"` // the offending value (a key, a TXT string, a TTL)
	// Source is the layer the verdict rests on, beside the RFC: the
	// registry file ("registry:service-names-port-numbers.xml"), the local
	// additions ("local:svcreg.yaml") or a service profile
	// ("profile:matterc (Matter Core Specification 1.3, section 4.3.1)");
	// "" for rules of the RFCs alone.
	Source string `json:"source,omitempty"`
	// Origin says where the advertisement came from: the sender's
	// address and port for packets, "file:line" for Avahi files,
	// "command line" for svcreg validate.
	Origin string `json:"origin,omitempty"`
	// Interface, MAC and the packet numbers attribute a finding on
	// traffic: the interface it arrived on, and for a capture the
	// sender's MAC and the first and last packets that carried the
	// advertisement (or the packet, for a packet finding).
	Interface   string `json:"interface,omitempty"`
	MAC         string `json:"mac,omitempty"`
	FirstPacket int    `json:"first_packet,omitempty"`
	LastPacket  int    `json:"last_packet,omitempty"`
}

// Layer is the short form of Source for tables: "registry", "local",
// "profile", or "" for the RFCs alone.
func (f *Finding) Layer() string {
	layer, _, _ := strings.Cut(f.Source, ":")
	return layer
}

// Advertisement is one DNS-SD service instance as advertised: assembled
// from the PTR, SRV, TXT and address records of mDNS packets, from an
// Avahi .service file, or from svcreg validate's flags.
type Advertisement struct {
	// Instance is the instance label as raw bytes (RFC 6763 section
	// 4.1.1: UTF-8, may hold spaces and dots), never DNS presentation
	// escapes: "Office Printer", not `Office\ Printer`.
	Instance string `json:"instance"`
	// Service and Proto are the first two labels of the service type as
	// advertised, underscores included ("_ipp", "_tcp"); Domain is the
	// rest without the trailing dot ("local").
	Service string `json:"service"`
	Proto   string `json:"proto"`
	Domain  string `json:"domain"`
	// Subtypes are the subtype labels advertised for the instance
	// (the first label of "_printer._sub._ipp._tcp.local."), raw.
	Subtypes []string `json:"subtypes,omitempty"`
	// Host is the SRV target, fully qualified with a trailing dot
	// ("printer.local."), "" when no SRV was seen.
	Host string `json:"host,omitempty"`
	Port uint16 `json:"port"`
	// TXT holds the TXT record's strings as raw bytes; HasTXT tells a
	// TXT record with zero strings (malformed) from no TXT record.
	TXT    []string     `json:"txt,omitempty"`
	HasTXT bool         `json:"has_txt"`
	Addrs  []netip.Addr `json:"addrs,omitempty"` // of Host
	// TTL is the TTL last seen per record type (dns.TypePTR, TypeSRV,
	// TypeTXT, TypeA, TypeAAAA); none for offline advertisements.
	TTL TTLs `json:"ttl,omitzero"`

	Source    netip.AddrPort `json:"source"` // sender, zero when offline
	Interface string         `json:"interface,omitempty"`
	// MAC is the sender's link-layer address and FirstPacket and
	// LastPacket number the packets that carried the instance, for
	// advertisements read from a capture ("" and 0 when live).
	MAC         string `json:"mac,omitempty"`
	FirstPacket int    `json:"first_packet,omitempty"`
	LastPacket  int    `json:"last_packet,omitempty"`
	// Conflict describes a second sender that claimed the instance name
	// with other SRV or TXT data while the first sender's was current
	// (RFC 6762 section 9); ReflectedBy names a second sender of the same
	// address family that repeated the records unchanged within a
	// second. Both stay for the life of the entry; "" when not seen.
	Conflict    string `json:"conflict,omitempty"`
	ReflectedBy string `json:"reflected_by,omitempty"`
	// HostConflict describes a second sender giving the SRV target host
	// name an address of the same family (two hosts using one name).
	HostConflict string `json:"host_conflict,omitempty"`
	// Origin names an offline advertisement's origin ("printer.service:3",
	// "command line"); findings carry it as their Source.
	Origin    string    `json:"origin,omitempty"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	Expires   time.Time `json:"expires"`
	Findings  []Finding `json:"findings"`
}

// ServiceType is the advertised type, "_ipp._tcp".
func (a *Advertisement) ServiceType() string {
	if a.Proto == "" {
		return a.Service
	}
	return a.Service + "." + a.Proto
}

// Policy adjusts the catalogue (from config or flags): Severity overrides a
// rule's level (for every check of that rule), Disabled turns rules off.
// Keys are rule IDs; Check reports unknown ones.
type Policy struct {
	Severity map[string]Severity `json:"severity,omitempty" yaml:"severity,omitempty"`
	Disabled map[string]bool     `json:"disabled,omitempty" yaml:"disabled,omitempty"`
}

// PacketMeta is what the listener knows about a received packet besides
// its DNS content.
type PacketMeta struct {
	Source    netip.AddrPort // sender; zero when unknown
	Interface string
	HopLimit  int // IPv4 TTL or IPv6 hop limit, -1 when unknown
	Size      int // UDP payload bytes, 0 when unknown
	Received  time.Time
	// MAC is the sender's link-layer address and Packet the packet's
	// number, for packets read from a capture ("" and 0 when live).
	MAC    string
	Packet int
}
