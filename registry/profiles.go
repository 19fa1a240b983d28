package registry

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// ProfilesName names the built-in service profiles in citations and logs.
const ProfilesName = "profiles.yaml"

// builtinProfiles is svcreg's own profile data (see profiles.yaml): read
// only, parsed by BuiltinProfiles.
//
//go:embed profiles.yaml
var builtinProfiles []byte

// ErrProfile marks a profile file that cannot be used; the message names
// the file, the line and the field.
var ErrProfile = errors.New("bad service profile")

// Profile is what public specifications define for one DNS-SD service
// name: the layer between the registry, whose notes are often sparse or
// dated, and the advertisements devices actually send.
type Profile struct {
	Name      string
	Protocols []Protocol
	Port      int32 // -1 when the service picks its port
	// Registered says whether IANA lists the name; a profile of an
	// unregistered name documents a widely deployed vendor type.
	Registered  bool
	Description string
	// Source is the public specification the profile is written from.
	Source string
	Refs   []string
	// TXT is TXTDefined when Keys lists keys, TXTNone when the type
	// publishes none, TXTUnknown when the profile says nothing about TXT.
	TXT TXTKind
	// Complete is true when the specification's key list is closed, so a
	// key outside it is worth a warning.
	Complete bool
	// Subtypes are the known subtype labels; one ending in '*' matches
	// any label with that prefix.
	Subtypes []string
	Keys     []ProfileKey
	Line     int // of the entry in its file

	exact    map[string]int // lowercased key name -> index in Keys
	prefixes []int          // indexes of keys whose name ends in '*'
}

// ProfileKey is one TXT key of a profile.
type ProfileKey struct {
	Name     string      `json:"name"` // "rp"; "dk*" matches dk0, dk1, ...
	Required bool        `json:"required,omitempty"`
	Syntax   ValueSyntax `json:"syntax"`
	Hint     string      `json:"hint,omitempty"`
}

// Cite is the profile as a verdict's source: "profile:matterc (Matter
// Core Specification 1.3, section 4.3.1 ...)".
func (p *Profile) Cite() string { return "profile:" + p.Name + " (" + p.Source + ")" }

// Key returns the profile's key matching name case-insensitively (RFC
// 6763 section 6.4), nil when there is none. It does not allocate for
// names up to 64 bytes.
func (p *Profile) Key(name string) *ProfileKey {
	var buf [64]byte
	if len(name) <= len(buf) {
		lower := buf[:len(name)]
		for i := 0; i < len(name); i++ {
			lower[i] = toLowerASCII(name[i])
		}
		if i, ok := p.exact[string(lower)]; ok {
			return &p.Keys[i]
		}
	} else if i, ok := p.exact[strings.ToLower(name)]; ok {
		return &p.Keys[i]
	}
	for _, i := range p.prefixes {
		k := p.Keys[i].Name
		if prefix := k[:len(k)-1]; len(name) > len(prefix) && hasPrefixFold(name, prefix) {
			return &p.Keys[i]
		}
	}
	return nil
}

// HasSubtype reports whether label is one of the profile's subtypes
// (case-insensitively, a trailing '*' matching any rest).
func (p *Profile) HasSubtype(label string) bool {
	for _, s := range p.Subtypes {
		if prefix, ok := strings.CutSuffix(s, "*"); ok {
			if len(label) > len(prefix) && hasPrefixFold(label, prefix) {
				return true
			}
		} else if strings.EqualFold(s, label) {
			return true
		}
	}
	return false
}

// HasProtocol reports whether the profile describes the name on p.
func (p *Profile) HasProtocol(proto Protocol) bool {
	for _, q := range p.Protocols {
		if q == proto {
			return true
		}
	}
	return false
}

// Profiles is a set of profiles, looked up by service type. It is
// immutable and safe for concurrent use.
type Profiles struct {
	name   string
	list   []*Profile
	byType map[string]*Profile // as Snapshot.byType: lower(name) + "." + proto
}

// Name is the file the profiles were read from.
func (ps *Profiles) Name() string { return ps.name }

// All returns the profiles in file order; the slice must not be modified.
func (ps *Profiles) All() []*Profile {
	if ps == nil {
		return nil
	}
	return ps.list
}

// Lookup returns the profile of name on proto (case-insensitive), nil
// when there is none or ps is nil. It does not allocate.
func (ps *Profiles) Lookup(name string, proto Protocol) *Profile {
	if ps == nil {
		return nil
	}
	var buf [128]byte
	key, ok := lookupTypeKey(&buf, name, proto)
	if !ok {
		return nil
	}
	return ps.byType[string(key)]
}

// ByName returns the profiles of name on any protocol (a profile of both
// tcp and udp once), case-insensitively.
func (ps *Profiles) ByName(name string) []*Profile {
	var out []*Profile
	for _, proto := range []Protocol{ProtoTCP, ProtoUDP} {
		if p := ps.Lookup(name, proto); p != nil && (len(out) == 0 || out[len(out)-1] != p) {
			out = append(out, p)
		}
	}
	return out
}

// profileJSON is a profile's JSON shape.
type profileJSON struct {
	Name        string       `json:"name"`
	Protocols   []Protocol   `json:"protocols"`
	Port        *int32       `json:"port"`
	Registered  bool         `json:"registered"`
	Description string       `json:"description"`
	Source      string       `json:"source"`
	Refs        []string     `json:"refs"`
	TXT         TXTKind      `json:"txt"`
	Complete    bool         `json:"complete"`
	Subtypes    []string     `json:"subtypes"`
	Keys        []ProfileKey `json:"keys"`
}

// MarshalJSON renders the profile: port is null when the service picks
// one, lists are never null.
func (p *Profile) MarshalJSON() ([]byte, error) {
	j := profileJSON{Name: p.Name, Protocols: p.Protocols, Registered: p.Registered, Description: p.Description,
		Source: p.Source, Refs: p.Refs, TXT: p.TXT, Complete: p.Complete, Subtypes: p.Subtypes, Keys: p.Keys}
	if p.Port >= 0 {
		port := p.Port
		j.Port = &port
	}
	if j.Refs == nil {
		j.Refs = []string{}
	}
	if j.Subtypes == nil {
		j.Subtypes = []string{}
	}
	if j.Keys == nil {
		j.Keys = []ProfileKey{}
	}
	// Hints such as "<username>" stay readable: no HTML escaping.
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(j); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// KeySummary is the keys in one line: "D (required, int 0-4095), CM
// (required, int 0-2), VP, ...".
func (p *Profile) KeySummary() string {
	var b strings.Builder
	for i, k := range p.Keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k.Name)
		var attrs []string
		if k.Required {
			attrs = append(attrs, "required")
		}
		if syn := k.Syntax.String(); syn != "" {
			attrs = append(attrs, syn)
		}
		if len(attrs) > 0 {
			b.WriteString(" (" + strings.Join(attrs, ", ") + ")")
		}
	}
	return b.String()
}

// BuiltinProfiles parses svcreg's own profiles. The data is part of the
// program and tested, so a parse error is a bug and panics. Each call
// returns a new set.
func BuiltinProfiles() *Profiles {
	ps, err := ParseProfiles(strings.NewReader(string(builtinProfiles)), ProfilesName)
	if err != nil {
		panic(err)
	}
	return ps
}

// profileYAML is one entry of a profile file as written.
type profileYAML struct {
	Name        string    `yaml:"name"`
	Protocols   []string  `yaml:"protocols"`
	Port        *int      `yaml:"port"`
	Registered  *bool     `yaml:"registered"`
	Description string    `yaml:"description"`
	Source      string    `yaml:"source"`
	Refs        []string  `yaml:"refs"`
	TXT         string    `yaml:"txt"`
	Complete    bool      `yaml:"complete"`
	Subtypes    []string  `yaml:"subtypes"`
	Keys        []keyYAML `yaml:"keys"`
}

type keyYAML struct {
	Name     string `yaml:"name"`
	Required bool   `yaml:"required"`
	Syntax   string `yaml:"syntax"`
	Hint     string `yaml:"hint"`
}

// ParseProfiles reads a profile file (the format of profiles.yaml: a
// list of entries). Every problem is reported, each naming the file, the
// line and the entry, joined in one error wrapping ErrProfile.
func ParseProfiles(r io.Reader, name string) (*Profiles, error) {
	var doc yaml.Node
	if err := yaml.NewDecoder(r).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return &Profiles{name: name, byType: map[string]*Profile{}}, nil
		}
		return nil, fmt.Errorf("%w: %s: %w", ErrProfile, name, err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%w: %s:%d: want a list of profiles", ErrProfile, name, root.Line)
	}
	ps := &Profiles{name: name, byType: map[string]*Profile{}}
	var errs []error
	bad := func(line int, entry, format string, args ...any) {
		where := name + ":" + strconv.Itoa(line)
		if entry != "" {
			where += ": " + entry
		}
		errs = append(errs, fmt.Errorf("%w: %s: %s", ErrProfile, where, fmt.Sprintf(format, args...)))
	}
	for _, n := range root.Content {
		var e profileYAML
		if err := n.Decode(&e); err != nil {
			var te *yaml.TypeError
			if errors.As(err, &te) {
				err = errors.New(strings.Join(te.Errors, "; "))
			}
			bad(n.Line, e.Name, "%v", err)
			continue
		}
		if problems := unknownFields(n); len(problems) > 0 {
			for _, msg := range problems {
				bad(n.Line, e.Name, "%s", msg)
			}
			continue
		}
		p, problems := buildProfile(&e, n.Line)
		for _, msg := range problems {
			bad(n.Line, e.Name, "%s", msg)
		}
		if p == nil {
			continue
		}
		for _, proto := range p.Protocols {
			key := strings.ToLower(p.Name) + "." + string(proto)
			if prev, ok := ps.byType[key]; ok {
				bad(n.Line, e.Name, "%s/%s is already profiled at line %d", p.Name, proto, prev.Line)
				continue
			}
			ps.byType[key] = p
		}
		ps.list = append(ps.list, p)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return ps, nil
}

// Fields a profile entry and a key may have.
var (
	profileFields = []string{"name", "protocols", "port", "registered", "description", "source", "refs",
		"txt", "complete", "subtypes", "keys"}
	keyFields = []string{"name", "required", "syntax", "hint"}
)

// unknownFields lists the fields of profile entry n, and of its keys,
// that the format does not have, so a misspelt field name does not pass
// silently.
func unknownFields(n *yaml.Node) []string {
	out := fieldProblems(n, profileFields, "profile")
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "keys" {
			for _, item := range n.Content[i+1].Content {
				out = append(out, fieldProblems(item, keyFields, "key")...)
			}
		}
	}
	return out
}

// fieldProblems checks the field names of mapping m.
func fieldProblems(m *yaml.Node, allowed []string, what string) []string {
	var out []string
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; !HasName(allowed, k.Value) {
			out = append(out, fmt.Sprintf("line %d: unknown %s field %q (want %s)", k.Line, what, k.Value, strings.Join(allowed, ", ")))
		}
	}
	return out
}

// buildProfile checks one entry; it returns nil and the problems when the
// entry cannot be used.
func buildProfile(e *profileYAML, line int) (*Profile, []string) {
	var problems []string
	p := &Profile{Name: e.Name, Port: -1, Description: e.Description, Source: e.Source, Refs: e.Refs,
		Complete: e.Complete, Subtypes: e.Subtypes, Line: line, exact: map[string]int{}}
	// Deployed vendor types may break RFC 6335's 15-character limit
	// (androidtvremote2); the validator still says so.
	if !ValidServiceName(e.Name) && (len(e.Name) > 63 || !ValidServiceName(e.Name[:min(len(e.Name), 15)])) {
		problems = append(problems, fmt.Sprintf("name %q is not an RFC 6335 service name", e.Name))
	}
	if len(e.Protocols) == 0 {
		problems = append(problems, "protocols is missing")
	}
	for _, s := range e.Protocols {
		switch Protocol(s) {
		case ProtoTCP, ProtoUDP:
			p.Protocols = append(p.Protocols, Protocol(s))
		default:
			problems = append(problems, fmt.Sprintf("protocol %q: DNS-SD types are _tcp or _udp", s))
		}
	}
	if e.Port != nil {
		if *e.Port < 0 || *e.Port > 65535 {
			problems = append(problems, fmt.Sprintf("port %d is outside 0-65535", *e.Port))
		}
		p.Port = int32(*e.Port)
	}
	if e.Registered == nil {
		problems = append(problems, "registered is missing (true when IANA lists the name)")
	} else {
		p.Registered = *e.Registered
	}
	if e.Description == "" {
		problems = append(problems, "description is missing")
	}
	if e.Source == "" {
		problems = append(problems, "source is missing: every profile cites the public specification it is written from")
	}
	for _, s := range e.Subtypes {
		if s == "" || s == "*" || len(s) > 63 {
			problems = append(problems, fmt.Sprintf("subtype %q is not a 1-63 byte label", s))
		}
	}
	switch e.TXT {
	case "":
		if len(e.Keys) > 0 {
			p.TXT = TXTDefined
		}
	case "none":
		p.TXT = TXTNone
		if len(e.Keys) > 0 {
			problems = append(problems, "txt: none, but keys are listed")
		}
	default:
		problems = append(problems, fmt.Sprintf("txt %q: want none, or leave it out", e.TXT))
	}
	for _, k := range e.Keys {
		problems = append(problems, p.addKey(k)...)
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return p, nil
}

// addKey appends one key and indexes it.
func (p *Profile) addKey(k keyYAML) []string {
	name := k.Name
	if name == "" || name == "*" || strings.ContainsAny(name, "=") || badKeyName(name) {
		return []string{fmt.Sprintf("key %q: keys are printable US-ASCII without '=' (RFC 6763 section 6.4)", name)}
	}
	syn, err := ParseValueSyntax(k.Syntax)
	if err != nil {
		return []string{fmt.Sprintf("key %s: %v", name, err)}
	}
	lower := strings.ToLower(name)
	if _, dup := p.exact[lower]; dup {
		return []string{fmt.Sprintf("key %s is listed twice", name)}
	}
	i := len(p.Keys)
	p.Keys = append(p.Keys, ProfileKey{Name: name, Required: k.Required, Syntax: syn, Hint: k.Hint})
	if strings.HasSuffix(name, "*") {
		if k.Required {
			return []string{fmt.Sprintf("key %s: a pattern cannot be required", name)}
		}
		p.prefixes = append(p.prefixes, i)
	}
	p.exact[lower] = i
	return nil
}

func badKeyName(k string) bool {
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return true
		}
	}
	return false
}

func toLowerASCII(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}
