package registry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Protocol is a transport protocol as the registry spells it: "tcp", "udp",
// "sctp", "dccp", or "" for DNS-SD-only registrations and protocol-less port
// rows ("51 Reserved").
type Protocol string

// Transport protocols known to the registry.
const (
	ProtoNone Protocol = ""
	ProtoTCP  Protocol = "tcp"
	ProtoUDP  Protocol = "udp"
	ProtoSCTP Protocol = "sctp"
	ProtoDCCP Protocol = "dccp"
)

// Protocols lists the transport protocols in index order (see protoIndex).
var Protocols = [...]Protocol{ProtoTCP, ProtoUDP, ProtoSCTP, ProtoDCCP}

// ParseProtocol maps a case-insensitive protocol token to a Protocol.
// ok is false for anything that is not one of the four registry protocols.
func ParseProtocol(s string) (p Protocol, ok bool) {
	switch {
	case strings.EqualFold(s, "tcp"):
		return ProtoTCP, true
	case strings.EqualFold(s, "udp"):
		return ProtoUDP, true
	case strings.EqualFold(s, "sctp"):
		return ProtoSCTP, true
	case strings.EqualFold(s, "dccp"):
		return ProtoDCCP, true
	}
	return ProtoNone, false
}

// Status is what the registry says about an assignment.
type Status uint8

// Status values. StatusDynamic never appears on a loaded record: port
// lookups synthesise it for 49152-65535 (RFC 6335 section 6).
const (
	StatusAssigned Status = iota
	StatusReserved
	StatusUnassigned
	StatusAlias     // historic alias such as whois++ of whoispp
	StatusDuplicate // www, www-http: "should not be used for discovery"
	StatusDynamic
)

var statusNames = [...]string{"assigned", "reserved", "unassigned", "alias", "duplicate", "dynamic"}

func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// ParseStatus is the inverse of Status.String.
func ParseStatus(s string) (Status, bool) {
	for i, n := range statusNames {
		if n == s {
			return Status(i), true
		}
	}
	return 0, false
}

// MarshalText implements encoding.TextMarshaler.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Status) UnmarshalText(b []byte) error {
	v, ok := ParseStatus(string(b))
	if !ok {
		return fmt.Errorf("unknown status %q", b)
	}
	*s = v
	return nil
}

// TXTKind classifies a registration's "Defined TXT keys:" note.
type TXTKind uint8

// TXT key kinds. TXTUnknown means the registry says nothing about TXT keys.
const (
	TXTUnknown     TXTKind = iota
	TXTNone                // "None", "none", "None at present"
	TXTProprietary         // "Proprietary"
	TXTUnspecified         // "TBD", "Will be described at ..."
	TXTExternal            // "see ...", a URL: Ref keeps the reference
	TXTDefined             // Keys holds the list
)

var txtKindNames = [...]string{"unknown", "none", "proprietary", "unspecified", "external", "defined"}

func (k TXTKind) String() string {
	if int(k) < len(txtKindNames) {
		return txtKindNames[k]
	}
	return fmt.Sprintf("txtkind(%d)", uint8(k))
}

// MarshalText implements encoding.TextMarshaler.
func (k TXTKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *TXTKind) UnmarshalText(b []byte) error {
	for i, n := range txtKindNames {
		if n == string(b) {
			*k = TXTKind(i)
			return nil
		}
	}
	return fmt.Errorf("unknown TXT key kind %q", b)
}

// TXTKey is one key a registration defines for its DNS-SD TXT record.
type TXTKey struct {
	Name string `json:"name"`
	Hint string `json:"hint,omitempty"` // "<username>", "(string)", "1", ...
}

// TXTKeys is the parsed "Defined TXT keys:" note of a registration.
type TXTKeys struct {
	Kind TXTKind  `json:"kind"`
	Keys []TXTKey `json:"keys"`
	Ref  string   `json:"ref,omitempty"` // for TXTExternal: the URL or document named
	Raw  string   `json:"raw,omitempty"` // the note text after "Defined TXT keys:"
}

// Has reports whether key (compared case-insensitively, RFC 6763 section
// 6.4) is in a defined key list.
func (t *TXTKeys) Has(key string) bool {
	for i := range t.Keys {
		if strings.EqualFold(t.Keys[i].Name, key) {
			return true
		}
	}
	return false
}

// Record is one row of the registry: a service name and/or a port (range)
// for one transport protocol. Records are values; a Snapshot owns them and
// never changes them after Build.
type Record struct {
	Name     string   // as registered, case kept ("EtherNet-IP-1"); "" for unnamed rows
	Protocol Protocol // "" when the registry gives none
	// PortLow/PortHigh are the port or range; both -1 when the
	// registration has no port (DNS-SD-only names).
	PortLow, PortHigh int32
	Status            Status
	Description       string
	Assignee          string // person/org ID without brackets ("IESG")
	Contact           string // person ID without brackets ("IETF_Chair")
	Registered        string // registration date, YYYY-MM-DD or YYYY-MM
	Modified          string // modification date
	// Date is a date whose role the source could not tell (the plain-text
	// rendering drops empty columns). A merge with a structured source
	// settles it into Registered or Modified.
	Date         string
	References   []string // "RFC9110", "https://...", "draft-..."
	ServiceCode  string
	Unauthorized string   // "Unauthorized Use Reported" text
	Notes        string   // assignment notes, verbatim
	TXTKeys      TXTKeys  // parsed from Notes
	Subtypes     []string // "Known Subtypes:" ("_printer")
	AliasOf      string   // for StatusAlias/StatusDuplicate: the name to use instead
	Source       string   // file name (base) the record came from
	Line         int      // line in Source where the row (or XML <record>) starts
}

// HasPort reports whether the record carries a port or range.
func (r *Record) HasPort() bool { return r.PortLow >= 0 }

// IsRange reports whether the record covers more than one port.
func (r *Record) IsRange() bool { return r.PortLow >= 0 && r.PortHigh > r.PortLow }

// Covers reports whether port lies in the record's port or range.
func (r *Record) Covers(port int) bool {
	return r.PortLow >= 0 && int32(port) >= r.PortLow && int32(port) <= r.PortHigh
}

// ValidName reports whether the record's name is a valid RFC 6335 service name.
func (r *Record) ValidName() bool { return ValidServiceName(r.Name) }

// ValidServiceName applies RFC 6335 section 5.1: 1-15 characters from
// [A-Za-z0-9-], at least one letter, no leading, trailing or consecutive
// hyphens.
func ValidServiceName(name string) bool {
	if len(name) < 1 || len(name) > 15 {
		return false
	}
	letter := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			letter = true
		case c >= '0' && c <= '9':
		case c == '-':
			if i == 0 || i == len(name)-1 || name[i-1] == '-' {
				return false
			}
		default:
			return false
		}
	}
	return letter
}

// recordJSON is the wire form documented in the README.
type recordJSON struct {
	Name        string   `json:"name"`
	Protocol    string   `json:"protocol"`
	Port        *int32   `json:"port"`
	PortHigh    *int32   `json:"port_high"`
	Status      Status   `json:"status"`
	Description string   `json:"description"`
	Assignee    string   `json:"assignee"`
	Contact     string   `json:"contact"`
	Registered  string   `json:"registered"`
	Modified    string   `json:"modified"`
	Date        string   `json:"date_undetermined,omitempty"`
	References  []string `json:"references"`
	ServiceCode string   `json:"service_code,omitempty"`
	Unauth      string   `json:"unauthorized_use,omitempty"`
	Notes       string   `json:"notes,omitempty"`
	TXTKeys     TXTKeys  `json:"txt_keys"`
	Subtypes    []string `json:"subtypes"`
	AliasOf     string   `json:"alias_of"`
	ValidName   bool     `json:"valid_name"`
	Source      string   `json:"source"`
	Line        int      `json:"line,omitempty"`
}

// MarshalJSON renders the record in svcreg's documented JSON shape: port
// and port_high are null without a port, lists are never null.
func (r Record) MarshalJSON() ([]byte, error) {
	j := recordJSON{
		Name: r.Name, Protocol: string(r.Protocol), Status: r.Status,
		Description: r.Description, Assignee: r.Assignee, Contact: r.Contact,
		Registered: r.Registered, Modified: r.Modified, Date: r.Date,
		References: r.References, ServiceCode: r.ServiceCode, Unauth: r.Unauthorized,
		Notes: r.Notes, TXTKeys: r.TXTKeys, Subtypes: r.Subtypes, AliasOf: r.AliasOf,
		ValidName: r.ValidName(), Source: r.Source, Line: r.Line,
	}
	if r.HasPort() {
		lo, hi := r.PortLow, r.PortHigh
		j.Port, j.PortHigh = &lo, &hi
	}
	if j.References == nil {
		j.References = []string{}
	}
	if j.Subtypes == nil {
		j.Subtypes = []string{}
	}
	if j.TXTKeys.Keys == nil {
		j.TXTKeys.Keys = []TXTKey{}
	}
	// Without HTML escaping: hints read "<username>", not "\u003cusername\u003e".
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(j); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// UnmarshalJSON accepts what MarshalJSON writes.
func (r *Record) UnmarshalJSON(b []byte) error {
	var j recordJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = Record{
		Name: j.Name, Protocol: Protocol(j.Protocol), PortLow: -1, PortHigh: -1, Status: j.Status,
		Description: j.Description, Assignee: j.Assignee, Contact: j.Contact,
		Registered: j.Registered, Modified: j.Modified, Date: j.Date, References: j.References,
		ServiceCode: j.ServiceCode, Unauthorized: j.Unauth, Notes: j.Notes, TXTKeys: j.TXTKeys,
		Subtypes: j.Subtypes, AliasOf: j.AliasOf, Source: j.Source, Line: j.Line,
	}
	if j.Port != nil {
		r.PortLow = *j.Port
		r.PortHigh = *j.Port
		if j.PortHigh != nil {
			r.PortHigh = *j.PortHigh
		}
	}
	return nil
}

// Contact is one row of the registry's people/contact table.
type Contact struct {
	ID           string `json:"id"`
	Name         string `json:"name,omitempty"`
	Organization string `json:"organization,omitempty"`
	URI          string `json:"uri,omitempty"`
	Updated      string `json:"updated,omitempty"`
}

// Format names a source format.
type Format string

// Source formats.
const (
	FormatXML      Format = "xml"
	FormatCSV      Format = "csv"
	FormatText     Format = "text"     // plain-text rendering of the web page
	FormatMarkdown Format = "markdown" // markdown-table rendering
	FormatServices Format = "services" // /etc/services syntax
	FormatBuiltin  Format = "builtin"
)

// Source is what one parser read from one input.
type Source struct {
	Name     string    `json:"name"`   // file base name or "builtin"
	Format   Format    `json:"format"` // detected or forced
	Updated  string    `json:"updated,omitempty"`
	Records  []Record  `json:"-"`
	Contacts []Contact `json:"-"`
	// Problems are rows the parser could not use, each naming its line or
	// record; a source with more than MaxProblems is rejected instead.
	Problems []ParseError `json:"-"`
}

// HasName reports whether list holds name, compared as service names and
// DNS labels are: without regard to case (RFC 6335 section 5.1).
func HasName(list []string, name string) bool {
	for _, x := range list {
		if strings.EqualFold(x, name) {
			return true
		}
	}
	return false
}
