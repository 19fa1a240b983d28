package mdns

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/miekg/dns"

	"github.com/svcreg/svcreg/registry"
)

// Validator checks advertisements against one registry snapshot and one
// policy. It is immutable after NewValidator and safe for concurrent use;
// build a new one when the snapshot or the policy changes.
type Validator struct {
	snap     *registry.Snapshot
	enabled  [numRules]bool
	override [numRules]bool
	severity [numRules]Severity // valid where override is set
	// registryOn is false when every registry rule is disabled, so the
	// lookups can be skipped.
	registryOn bool
	// keys holds, per record with a defined TXT key list, its keys
	// lowercased: one map probe per advertised key instead of a
	// case-insensitive walk of the list (RFC 6763 section 6.4).
	keys map[*registry.Record]map[string]struct{}
}

// NewValidator resolves the policy against the catalogue. snap may be nil
// before the first registry load: then the rules that need the registry
// (unregistered, alias-name, duplicate-name, proto-mismatch,
// port-mismatch, txt-unknown-key, txt-keys-none, subtype) are skipped
// rather than reporting every name as unregistered. Unknown rule IDs in
// p are ignored here; Policy.Check reports them.
func NewValidator(snap *registry.Snapshot, p Policy) *Validator {
	v := &Validator{snap: snap}
	for i := range catalogue {
		id := catalogue[i].ID
		v.enabled[i] = !p.Disabled[id]
		if s, ok := p.Severity[id]; ok {
			v.severity[i], v.override[i] = s, true
		}
	}
	for _, r := range []ruleIndex{rUnregistered, rAliasName, rDuplicateName, rProtoMismatch, rPortMismatch,
		rTXTUnknownKey, rTXTKeysNone, rTXTKeyMissing, rTXTValue, rTXTFormat, rSubtype} {
		v.registryOn = v.registryOn || v.enabled[r]
	}
	if snap != nil {
		recs := snap.Records()
		v.keys = make(map[*registry.Record]map[string]struct{})
		for i := range recs {
			r := &recs[i]
			if r.TXTKeys.Kind != registry.TXTDefined {
				continue
			}
			set := make(map[string]struct{}, len(r.TXTKeys.Keys))
			for _, k := range r.TXTKeys.Keys {
				set[strings.ToLower(k.Name)] = struct{}{}
			}
			v.keys[r] = set
		}
	}
	return v
}

// Enabled reports whether the policy leaves rule id on.
func (v *Validator) Enabled(id string) bool {
	i, ok := lookupRule(id)
	return ok && v.enabled[i]
}

// check is the state of one Validate call: the advertisement, what the
// registry says about its type, and the findings so far.
type check struct {
	v   *Validator
	a   *Advertisement
	typ string // a.ServiceType(), computed on the first finding
	out []Finding

	name    string            // service name without the underscore
	proto   registry.Protocol // "" when the proto label is not _tcp/_udp
	byName  []*registry.Record
	byType  []*registry.Record
	view    []*registry.Record // byType, or byName when byType is empty
	prof    *registry.Profile  // the type's service profile, nil when none
	srvSeen bool
}

// add records a finding of rule r at level sev (unless the policy
// overrides it); rfc "" means the rule's section.
func (c *check) add(r ruleIndex, sev Severity, rfc, msg, evidence string) {
	c.addFrom(r, sev, rfc, msg, evidence, "")
}

// addFrom is add with the layer the verdict rests on (Finding.Source).
func (c *check) addFrom(r ruleIndex, sev Severity, rfc, msg, evidence, source string) {
	if c.v.override[r] {
		sev = c.v.severity[r]
	}
	if rfc == "" {
		rfc = catalogue[r].RFC
	}
	if c.typ == "" {
		c.typ = c.a.ServiceType()
	}
	src := c.a.Origin
	if src == "" && c.a.Source.IsValid() {
		src = c.a.Source.String()
	}
	c.out = append(c.out, Finding{Rule: catalogue[r].ID, Severity: sev, Instance: c.a.Instance,
		ServiceType: c.typ, Message: msg, RFC: rfc, Evidence: evidence, Source: source, Origin: src})
}

func (c *check) on(r ruleIndex) bool { return c.v.enabled[r] }

// Validate runs every enabled rule on a and returns the findings in
// catalogue order (nil when there are none). It does not modify a.
func (v *Validator) Validate(a *Advertisement) []Finding {
	c := check{v: v, a: a}
	// The key of each TXT string, on the stack for usual records.
	var kb [16]string
	keys := kb[:0]
	for _, s := range a.TXT {
		keys = append(keys, txtKey(s))
	}
	c.name = strings.TrimPrefix(a.Service, "_")
	switch {
	case strings.EqualFold(a.Proto, "_tcp"):
		c.proto = registry.ProtoTCP
	case strings.EqualFold(a.Proto, "_udp"):
		c.proto = registry.ProtoUDP
	}
	// A goodbye or a packet without SRV leaves Host empty; port rules
	// need the SRV.
	c.srvSeen = a.Host != "" || (a.Origin != "" && a.Port != 0)
	if v.registryOn && v.snap != nil && c.name != "" {
		c.byName = v.snap.ByName(c.name)
		if c.proto != "" && len(c.byName) > 0 {
			c.byType = v.snap.ByType(c.name, c.proto)
		}
		c.view = c.byType
		if len(c.view) == 0 {
			c.view = c.byName
		}
		if c.proto != "" {
			c.prof = v.snap.Profile(c.name, c.proto)
		}
	}
	// pkeys[i] is the profile's key for TXT string i (nil: none, or no
	// profile), looked up once for the rules that ask.
	var pkb [16]*registry.ProfileKey
	pkeys := pkb[:0]
	if c.prof != nil {
		for _, k := range keys {
			var pk *registry.ProfileKey
			if k != "" {
				pk = c.prof.Key(k)
			}
			pkeys = append(pkeys, pk)
		}
	}
	c.nameSyntax()
	c.protoLabel()
	c.registered()
	c.portMismatch()
	c.txtKeys(keys, pkeys)
	c.txtRequired(keys)
	c.txtValues(keys, pkeys)
	c.txtFormat(keys)
	c.instanceName()
	c.subtypes()
	c.ttl()
	c.srvTarget()
	c.crossSender()
	c.linkLocalOnly()
	return c.out
}

// crossSender reports what the store saw across packets and senders: a
// second claim on the name with other data, or a second copy of the
// same data.
func (c *check) crossSender() {
	if c.a.Conflict != "" && c.on(rNameConflict) {
		c.add(rNameConflict, SeverityWarning, "", "two senders claim this instance name with different data: "+c.a.Conflict, c.a.Conflict)
	}
	if c.a.HostConflict != "" && c.on(rNameConflict) {
		c.add(rNameConflict, SeverityWarning, "", "two senders use the host name "+c.a.Host+": "+c.a.HostConflict, c.a.HostConflict)
	}
	if c.a.ReflectedBy != "" && c.on(rReflected) {
		c.add(rReflected, SeverityWarning, "", "the records arrive twice from different senders within a second (a reflector, a bridged loop or a sleep proxy): "+c.a.ReflectedBy, c.a.ReflectedBy)
	}
}

// linkLocalOnly: a host reachable only by link-local addresses cannot be
// used from another link (RFC 3927 section 2.7, RFC 4291 section 2.5.6),
// which is what a discovery proxy publishes for (RFC 8766 section 5.5.2).
func (c *check) linkLocalOnly() {
	a := c.a
	if !c.on(rLinkLocalOnly) || len(a.Addrs) == 0 {
		return
	}
	for _, ad := range a.Addrs {
		if !ad.IsLinkLocalUnicast() {
			return
		}
	}
	c.add(rLinkLocalOnly, SeverityInfo, "", "the SRV target "+a.Host+" has only link-local addresses: unreachable from other links",
		a.Host)
}

// nameSyntax: RFC 6335 section 5.1 names, behind the underscore RFC 6763
// section 7 prefixes them with.
func (c *check) nameSyntax() {
	if !c.on(rNameSyntax) {
		return
	}
	s := c.a.Service
	if !strings.HasPrefix(s, "_") {
		c.add(rNameSyntax, SeverityError, "RFC 6763 section 7",
			"the service label "+strconv.Quote(s)+" lacks the leading underscore", s)
		return
	}
	if why := serviceNameProblem(c.name); why != "" {
		// A deployed vendor type over RFC 6335's 15 characters
		// (androidtvremote2) still works with every DNS-SD client.
		if c.prof != nil && len(c.name) > 15 {
			c.addFrom(rNameSyntax, SeverityWarning, "", "the service name "+strconv.Quote(c.name)+" "+why+
				"; it is deployed this way and clients accept it, but it cannot be registered", s, c.prof.Cite())
			return
		}
		c.add(rNameSyntax, SeverityError, "", "the service name "+strconv.Quote(c.name)+" "+why, s)
	}
}

// serviceNameProblem says what is wrong with a service name under RFC
// 6335 section 5.1, "" when nothing is.
func serviceNameProblem(n string) string {
	if registry.ValidServiceName(n) {
		return ""
	}
	switch {
	case n == "":
		return "is empty"
	case len(n) > 15:
		return "is " + strconv.Itoa(len(n)) + " characters long, over the limit of 15"
	case n[0] == '-' || n[len(n)-1] == '-':
		return "starts or ends with a hyphen"
	case strings.Contains(n, "--"):
		return "holds two consecutive hyphens"
	}
	letter := false
	for i := 0; i < len(n); i++ {
		b := n[i]
		switch {
		case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z':
			letter = true
		case b >= '0' && b <= '9', b == '-':
		default:
			return "holds " + strconv.QuoteRune(rune(b)) + "; only letters, digits and hyphens are allowed"
		}
	}
	if !letter {
		return "has no letter"
	}
	return "is not a valid service name"
}

// protoLabel: RFC 6763 section 7, _tcp for TCP and _udp for everything
// else.
func (c *check) protoLabel() {
	if !c.on(rProtoLabel) || c.proto != "" {
		return
	}
	p := c.a.Proto
	msg := "the protocol label " + strconv.Quote(p) + " is neither _tcp nor _udp"
	if p == "" {
		msg = "the service type has no protocol label (_tcp or _udp)"
	} else if _, ok := registry.ParseProtocol(strings.TrimPrefix(p, "_")); ok {
		msg += "; services on transports other than TCP use _udp"
	}
	c.add(rProtoLabel, SeverityError, "", msg, p)
}

// registrySource names the registry layer of the type's records:
// "registry:FILE" or "local:registry.local".
func (c *check) registrySource() string {
	if len(c.view) == 0 {
		return ""
	}
	if src := c.view[0].Source; src != registry.LocalName {
		return "registry:" + src
	}
	return "local:registry.local"
}

// registered covers unregistered, alias-name, duplicate-name and
// proto-mismatch: what the registry says about the name itself.
func (c *check) registered() {
	if c.name == "" || c.v.snap == nil {
		return
	}
	if len(c.byName) == 0 {
		if !c.on(rUnregistered) {
			return
		}
		if p := c.prof; p != nil {
			msg := strconv.Quote(c.name) + " is not registered with IANA; known as " + p.Description + " from " + p.Source
			if p.Registered {
				msg = strconv.Quote(c.name) + " is not in the loaded registry (IANA registers it); known as " +
					p.Description + " from " + p.Source
			}
			c.addFrom(rUnregistered, SeverityInfo, "", msg, c.a.Service, p.Cite())
			return
		}
		c.add(rUnregistered, SeverityWarning, "",
			"the service name "+strconv.Quote(c.name)+" is neither in the registry, nor in the local additions, nor in a service profile", c.a.Service)
		return
	}
	// A name is an alias (or a duplicate) when no record of it is a
	// registration in its own right.
	var alias *registry.Record
	for _, r := range c.view {
		if r.Status != registry.StatusAlias && r.Status != registry.StatusDuplicate {
			alias = nil
			break
		}
		if alias == nil {
			alias = r
		}
	}
	if alias != nil {
		use := alias.AliasOf
		if alias.Status == registry.StatusAlias && c.on(rAliasName) {
			msg := strconv.Quote(c.name) + " is a historic alias"
			if use != "" {
				msg += "; advertise _" + use + " instead"
			}
			c.addFrom(rAliasName, SeverityWarning, "", msg, c.a.Service, c.registrySource())
		}
		if alias.Status == registry.StatusDuplicate && c.on(rDuplicateName) {
			msg := "the registry says " + strconv.Quote(c.name) + " must not be used for discovery"
			if use != "" {
				msg += "; advertise _" + use + " instead"
			}
			c.addFrom(rDuplicateName, SeverityWarning, "", msg, c.a.Service, c.registrySource())
		}
	}
	if c.on(rProtoMismatch) && c.proto != "" && len(c.byType) == 0 && c.prof == nil {
		var protos []string
		for _, r := range c.byName {
			if p := string(r.Protocol); p != "" && !contains(protos, p) {
				protos = append(protos, p)
			}
		}
		if len(protos) > 0 {
			c.addFrom(rProtoMismatch, SeverityWarning, "",
				strconv.Quote(c.name)+" is registered only for "+strings.Join(protos, ", ")+
					" but advertised under _"+string(c.proto), c.a.Proto, c.registrySource())
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// portMismatch: the SRV port (RFC 6763 section 5) against the registered
// port or range of the type, else the profile's usual port.
func (c *check) portMismatch() {
	if !c.on(rPortMismatch) || !c.srvSeen {
		return
	}
	var ports []string
	for _, r := range c.byType {
		if !r.HasPort() {
			continue
		}
		if r.Covers(int(c.a.Port)) {
			return
		}
		p := strconv.Itoa(int(r.PortLow))
		if r.IsRange() {
			p += "-" + strconv.Itoa(int(r.PortHigh))
		}
		if !contains(ports, p) {
			ports = append(ports, p)
		}
	}
	if len(ports) > 0 {
		c.addFrom(rPortMismatch, SeverityInfo, "", "the SRV port "+strconv.Itoa(int(c.a.Port))+
			" differs from the registered port "+strings.Join(ports, ", "), strconv.Itoa(int(c.a.Port)), c.registrySource())
		return
	}
	if p := c.prof; p != nil && p.Port >= 0 && int32(c.a.Port) != p.Port {
		c.addFrom(rPortMismatch, SeverityInfo, "", "the SRV port "+strconv.Itoa(int(c.a.Port))+
			" differs from the usual port "+strconv.Itoa(int(p.Port)), strconv.Itoa(int(c.a.Port)), p.Cite())
	}
}

// txtKind is what the registry says about the type's TXT keys: defined
// when any record defines a list, else none when any says none.
func (c *check) txtKind() registry.TXTKind {
	kind := registry.TXTUnknown
	for _, r := range c.view {
		switch r.TXTKeys.Kind {
		case registry.TXTDefined:
			return registry.TXTDefined
		case registry.TXTNone:
			kind = registry.TXTNone
		}
	}
	return kind
}

// definesKey reports whether a record of the type defines key
// (case-insensitively).
func (c *check) definesKey(key string) bool {
	var buf [32]byte
	lower := buf[:0]
	if len(key) <= len(buf) {
		for i := 0; i < len(key); i++ {
			b := key[i]
			if 'A' <= b && b <= 'Z' {
				b += 'a' - 'A'
			}
			lower = append(lower, b)
		}
	}
	for _, r := range c.view {
		if r.TXTKeys.Kind != registry.TXTDefined {
			continue
		}
		if set, ok := c.v.keys[r]; ok && len(key) <= len(buf) {
			if _, ok := set[string(lower)]; ok {
				return true
			}
		} else if r.TXTKeys.Has(key) {
			return true
		}
	}
	return false
}

// txtKey returns the key of a TXT string (RFC 6763 section 6.3: up to
// the first '=').
func txtKey(s string) string {
	if i := strings.IndexByte(s, '='); i >= 0 {
		return s[:i]
	}
	return s
}

// hasKeys reports whether the TXT record holds any key: a record of one
// empty string is the empty TXT record (RFC 6763 section 6.1).
func (c *check) hasKeys() bool {
	for _, s := range c.a.TXT {
		if s != "" {
			return true
		}
	}
	return false
}

// layers names the layers that define the type's TXT keys, for the
// source of a key verdict.
func (c *check) layers(registryDefines bool) string {
	var parts []string
	if registryDefines {
		parts = append(parts, c.registrySource())
	}
	if c.prof != nil {
		parts = append(parts, c.prof.Cite())
	}
	return strings.Join(parts, " + ")
}

// unknownKeySeverity: unknown keys are legal (RFC 6763 section 6.3:
// clients ignore them), so they are information, unless the profile
// says its specification's key list is closed.
func (c *check) unknownKeySeverity() Severity {
	if c.prof != nil && c.prof.Complete {
		return SeverityWarning
	}
	return SeverityInfo
}

// txtKeys covers txt-unknown-key and txt-keys-none (RFC 6763 sections 6.3
// and 6.4, the registry's "Defined TXT keys" and the profile's keys,
// merged: a profile's keys extend what the registry defines).
func (c *check) txtKeys(keys []string, pkeys []*registry.ProfileKey) {
	if (len(c.view) == 0 && c.prof == nil) || !c.hasKeys() {
		return
	}
	regKind := c.txtKind()
	profKind := registry.TXTUnknown
	if c.prof != nil {
		profKind = c.prof.TXT
	}
	switch {
	case regKind == registry.TXTDefined || profKind == registry.TXTDefined:
		if !c.on(rTXTUnknownKey) {
			return
		}
		regDefines := regKind == registry.TXTDefined
		for i, k := range keys {
			if k == "" || firstKey(keys, i, k) != i || (regDefines && c.definesKey(k)) ||
				(profKind == registry.TXTDefined && pkeys[i] != nil) {
				continue
			}
			by := "the registration of " + c.name
			switch {
			case regDefines && c.prof != nil:
				by += " or its profile"
			case !regDefines:
				by = "the profile of " + c.name
			}
			c.addFrom(rTXTUnknownKey, c.unknownKeySeverity(), "", "the TXT key "+strconv.Quote(k)+" is not one "+by+
				" defines", k, c.layers(regDefines))
		}
	case regKind == registry.TXTNone || profKind == registry.TXTNone:
		if !c.on(rTXTKeysNone) {
			return
		}
		var present []string
		for _, k := range keys {
			if k != "" && !contains(present, k) {
				present = append(present, k)
			}
		}
		src := c.registrySource()
		if profKind == registry.TXTNone {
			src = c.prof.Cite()
		}
		c.addFrom(rTXTKeysNone, c.unknownKeySeverity(), "", "the registration of "+c.name+
			" defines no TXT keys, but the advertisement has "+strconv.Itoa(len(present)), strings.Join(present, ","), src)
	}
}

// txtRequired: a key the profile's specification requires is missing
// (clients that need it cannot use the service).
func (c *check) txtRequired(keys []string) {
	if !c.on(rTXTKeyMissing) || c.prof == nil || !c.a.HasTXT {
		return
	}
	for i := range c.prof.Keys {
		k := &c.prof.Keys[i]
		if !k.Required || hasKey(keys, k.Name) {
			continue
		}
		msg := "the TXT key " + k.Name + " is required"
		if k.Hint != "" {
			msg += " (" + k.Name + "=" + k.Hint + ")"
		}
		c.addFrom(rTXTKeyMissing, SeverityWarning, "", msg+" but missing", k.Name, c.prof.Cite())
	}
}

// hasKey reports whether keys holds k (case-insensitively).
func hasKey(keys []string, k string) bool {
	for _, x := range keys {
		if len(x) == len(k) && strings.EqualFold(x, k) {
			return true
		}
	}
	return false
}

// txtValues: a value outside the syntax the profile's specification
// gives for its key. Only the first string of a key counts (RFC 6763
// section 6.4).
func (c *check) txtValues(keys []string, pkeys []*registry.ProfileKey) {
	if !c.on(rTXTValue) || c.prof == nil {
		return
	}
	for i, s := range c.a.TXT {
		k := keys[i]
		if k == "" || firstKey(keys, i, k) != i {
			continue
		}
		pk := pkeys[i]
		if pk == nil || pk.Syntax.IsText() {
			continue
		}
		_, val, hasVal := strings.Cut(s, "=")
		switch {
		case !hasVal:
			c.addFrom(rTXTValue, SeverityWarning, "", "the TXT key "+k+" has no value; it should be "+pk.Syntax.Describe(), s, c.prof.Cite())
		case !pk.Syntax.Check(val):
			c.addFrom(rTXTValue, SeverityWarning, "", "the value of "+k+", "+strconv.Quote(val)+", is not "+
				pk.Syntax.Describe(), s, c.prof.Cite())
		}
	}
}

// firstKey is the index of the first TXT string before or at i whose key
// is k (case-insensitively, RFC 6763 section 6.4).
func firstKey(keys []string, i int, k string) int {
	for j := 0; j < i; j++ {
		if len(keys[j]) == len(k) && strings.EqualFold(keys[j], k) {
			return j
		}
	}
	return i
}

// TXT size thresholds of RFC 6763 section 6.2.
const (
	txtSizeInfo    = 400
	txtSizeWarning = 1300
)

// txtFormat: the syntax rules of RFC 6763 section 6.
func (c *check) txtFormat(keys []string) {
	a := c.a
	if !c.on(rTXTFormat) || !a.HasTXT {
		return
	}
	if len(a.TXT) == 0 {
		c.add(rTXTFormat, SeverityError, "RFC 6763 section 6.1",
			"the TXT record has no strings; an empty TXT record holds one empty string", "")
		return
	}
	size := 0
	for i, s := range a.TXT {
		size += 1 + len(s)
		if s == "" {
			continue
		}
		if s[0] == '=' {
			c.add(rTXTFormat, SeverityError, "RFC 6763 section 6.4", "a TXT string starts with '=' (no key)", s)
			continue
		}
		k := keys[i]
		if j := badKeyByte(k); j >= 0 {
			c.add(rTXTFormat, SeverityError, "RFC 6763 section 6.4", "the TXT key "+strconv.Quote(k)+
				" holds byte 0x"+strconv.FormatUint(uint64(k[j]), 16)+"; keys are printable US-ASCII (0x20-0x7E)", k)
			continue
		}
		if j := firstKey(keys, i, k); j != i {
			c.add(rTXTFormat, SeverityWarning, "RFC 6763 section 6.4", "the TXT key "+strconv.Quote(k)+
				" is repeated (string "+strconv.Itoa(i+1)+" repeats string "+strconv.Itoa(j+1)+"); clients use only the first", k)
			continue
		}
		// A key a specification defines is the specification's choice,
		// not the device's (Home Assistant's location_name).
		if len(k) > 9 && !c.definesKey(k) && (c.prof == nil || c.prof.Key(k) == nil) {
			c.add(rTXTFormat, SeverityWarning, "RFC 6763 section 6.4", "the TXT key "+strconv.Quote(k)+" is "+
				strconv.Itoa(len(k))+" characters long; keys should be at most 9", k)
		}
		if isHostPortKey(k) && !c.definesKey(k) {
			c.add(rTXTFormat, SeverityWarning, "RFC 6763 section 6", "the TXT key "+strconv.Quote(k)+
				" repeats what the SRV record already says", s)
		}
		if i > 0 && strings.EqualFold(k, "txtvers") {
			c.add(rTXTFormat, SeverityInfo, "RFC 6763 section 6.7", "txtvers should be the first TXT string, it is string "+
				strconv.Itoa(i+1), s)
		}
	}
	switch {
	case size > txtSizeWarning:
		c.add(rTXTFormat, SeverityWarning, "RFC 6763 section 6.2", "the TXT record is "+strconv.Itoa(size)+
			" bytes; over 1300 is not recommended", strconv.Itoa(size))
	case size > txtSizeInfo:
		c.add(rTXTFormat, SeverityInfo, "RFC 6763 section 6.2", "the TXT record is "+strconv.Itoa(size)+
			" bytes; it should be kept under 400", strconv.Itoa(size))
	}
}

// badKeyByte is the index of the first byte of key outside 0x20-0x7E,
// -1 when there is none.
func badKeyByte(k string) int {
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return i
		}
	}
	return -1
}

// isHostPortKey reports keys that restate the SRV record's target or port.
func isHostPortKey(k string) bool {
	switch len(k) {
	case 4:
		return strings.EqualFold(k, "host") || strings.EqualFold(k, "port")
	case 8:
		return strings.EqualFold(k, "hostname")
	}
	return false
}

// maxLabel is the longest DNS label, RFC 1035 section 2.3.4.
const maxLabel = 63

// instanceName: RFC 6763 section 4.1.1, a UTF-8 label without control
// characters.
func (c *check) instanceName() {
	if !c.on(rInstanceName) {
		return
	}
	n := c.a.Instance
	switch {
	case n == "":
		c.add(rInstanceName, SeverityError, "", "the instance name is empty", "")
	case len(n) > maxLabel:
		c.add(rInstanceName, SeverityError, "", "the instance name is "+strconv.Itoa(len(n))+
			" bytes long; a DNS label holds at most 63", n)
	case !utf8.ValidString(n):
		c.add(rInstanceName, SeverityError, "", "the instance name is not valid UTF-8", strconv.Quote(n))
	default:
		for i := 0; i < len(n); i++ {
			if n[i] < 0x20 || n[i] == 0x7f {
				c.add(rInstanceName, SeverityError, "", "the instance name holds the control character 0x"+
					strconv.FormatUint(uint64(n[i]), 16), strconv.Quote(n))
				return
			}
		}
	}
}

// subtypes: RFC 6763 section 7.1; the registry's "Known Subtypes" and the
// profile's.
func (c *check) subtypes() {
	// An unknown name has no subtype list to compare with; the
	// unregistered finding says enough.
	if !c.on(rSubtype) || len(c.a.Subtypes) == 0 || (len(c.view) == 0 && c.prof == nil) {
		return
	}
	var known []string
	if c.proto != "" && len(c.byType) > 0 {
		known = c.v.snap.Subtypes(c.name, c.proto)
	} else {
		for _, r := range c.view {
			known = append(known, r.Subtypes...)
		}
	}
	var profKnown []string
	if c.prof != nil {
		profKnown = c.prof.Subtypes
	}
	for _, st := range c.a.Subtypes {
		if registry.HasName(known, st) || (c.prof != nil && c.prof.HasSubtype(st)) {
			continue
		}
		all := append([]string(nil), known...)
		for _, p := range profKnown {
			if !registry.HasName(all, p) {
				all = append(all, p)
			}
		}
		var msg string
		switch {
		case st == "" || len(st) > maxLabel:
			msg = "the subtype label " + strconv.Quote(st) + " is not 1-63 bytes long"
		case len(all) == 0:
			msg = "neither the registry nor a profile lists subtypes for " + c.a.ServiceType()
		case !strings.HasPrefix(st, "_") && (registry.HasName(all, "_"+st) || (c.prof != nil && c.prof.HasSubtype("_"+st))):
			msg = "the subtype " + strconv.Quote(st) + " is known as _" + st +
				" (a leading underscore is optional in general, but the label must match)"
		default:
			msg = "the subtype " + strconv.Quote(st) + " is not among the known " + strings.Join(all, ", ")
		}
		c.addFrom(rSubtype, SeverityInfo, "", msg, st, c.layers(len(known) > 0))
	}
}

// Recommended TTLs, RFC 6762 section 10: host name records (and SRV,
// which names a host) 120 s, everything else 75 minutes.
const (
	ttlHost  = 120
	ttlOther = 4500
)

var ttlChecks = [...]struct {
	typ  uint16
	want uint32
}{{dns.TypePTR, ttlOther}, {dns.TypeSRV, ttlHost}, {dns.TypeTXT, ttlOther}, {dns.TypeA, ttlHost}, {dns.TypeAAAA, ttlHost}}

// ttl compares the TTLs seen with RFC 6762 section 10's recommendations;
// zero is a goodbye (section 10.1), not a finding.
func (c *check) ttl() {
	if !c.on(rTTL) || c.a.TTL.IsZero() {
		return
	}
	for _, t := range ttlChecks {
		got, ok := c.a.TTL.Get(t.typ)
		if !ok || got == 0 || got == t.want {
			continue
		}
		name := dns.TypeToString[t.typ]
		c.add(rTTL, SeverityInfo, "", "the "+name+" TTL is "+strconv.FormatUint(uint64(got), 10)+
			" s; "+strconv.FormatUint(uint64(t.want), 10)+" s is recommended", name+" "+strconv.FormatUint(uint64(got), 10))
	}
}

// srvTarget: RFC 6763 section 12.2, a responder sends the target's
// address records with the SRV. Offline advertisements (Origin set) and
// services declared absent with target "." are not checked.
func (c *check) srvTarget() {
	a := c.a
	if !c.on(rSRVTarget) || a.Origin != "" || a.Host == "" || a.Host == "." || len(a.Addrs) > 0 {
		return
	}
	if ttl, ok := a.TTL.Get(dns.TypeSRV); ok && ttl == 0 {
		return
	}
	c.add(rSRVTarget, SeverityWarning, "", "no A or AAAA record was seen for the SRV target "+a.Host, a.Host)
}
