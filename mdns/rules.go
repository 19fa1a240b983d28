package mdns

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Rule IDs, as config and --severity/--disable name them.
const (
	RuleNameSyntax    = "name-syntax"
	RuleProtoLabel    = "proto-label"
	RuleUnregistered  = "unregistered"
	RuleAliasName     = "alias-name"
	RuleDuplicateName = "duplicate-name"
	RuleProtoMismatch = "proto-mismatch"
	RulePortMismatch  = "port-mismatch"
	RuleTXTUnknownKey = "txt-unknown-key"
	RuleTXTKeysNone   = "txt-keys-none"
	RuleTXTKeyMissing = "txt-key-missing"
	RuleTXTValue      = "txt-value"
	RuleTXTFormat     = "txt-format"
	RuleInstanceName  = "instance-name"
	RuleSubtype       = "subtype"
	RuleTTL           = "ttl"
	RuleSRVTarget     = "srv-target"
	RuleMDNSPacket    = "mdns-packet"
	RuleNameConflict  = "name-conflict"
	RuleReflected     = "reflected"
	RuleLinkLocalOnly = "link-local-only"
	RuleMDNSRate      = "mdns-rate"
	RuleRenameLoop    = "rename-loop"
	RuleGoodbye       = "goodbye-missing"
)

// ErrUnknownRule is returned by Policy.Check for a rule ID that is not in
// the catalogue.
var ErrUnknownRule = errors.New("unknown rule")

// ruleIndex numbers the rules; the catalogue and the validator's resolved
// policy are arrays in this order.
type ruleIndex int

const (
	rNameSyntax ruleIndex = iota
	rProtoLabel
	rUnregistered
	rAliasName
	rDuplicateName
	rProtoMismatch
	rPortMismatch
	rTXTUnknownKey
	rTXTKeysNone
	rTXTKeyMissing
	rTXTValue
	rTXTFormat
	rInstanceName
	rSubtype
	rTTL
	rSRVTarget
	rMDNSPacket
	rNameConflict
	rReflected
	rLinkLocalOnly
	rMDNSRate
	rRenameLoop
	rGoodbye
	numRules
)

// catalogue is the rule table, in ruleIndex order. A rule whose checks
// differ in level lists the level of its usual case and names the others
// in its summary: txt-format its highest (its RFC section also varies per
// check), unregistered and the TXT key rules the case without a service
// profile.
var catalogue = [numRules]Rule{
	rNameSyntax: {RuleNameSyntax, SeverityError, "RFC 6335 section 5.1",
		"the service name is 1-15 letters, digits and hyphens, with at least one letter and no leading, trailing or double hyphen, after a leading underscore"},
	rProtoLabel: {RuleProtoLabel, SeverityError, "RFC 6763 section 7",
		"the second label of the service type is _tcp or _udp (every transport other than TCP uses _udp)"},
	rUnregistered: {RuleUnregistered, SeverityWarning, "RFC 6335 section 5",
		"the service name is in the registry or in the local additions (warning); a name only a service profile documents is information"},
	rAliasName: {RuleAliasName, SeverityWarning, "RFC 6335 section 5",
		"the service name is not a historic alias; advertise the registered name instead"},
	rDuplicateName: {RuleDuplicateName, SeverityWarning, "RFC 6763 section 7",
		"the service name is not one the registry says must not be used for discovery (www, www-http)"},
	rProtoMismatch: {RuleProtoMismatch, SeverityWarning, "RFC 6763 section 7",
		"the service is advertised under a transport the registry lists it for"},
	rPortMismatch: {RulePortMismatch, SeverityInfo, "RFC 6763 section 5",
		"the SRV port is the registered port"},
	rTXTUnknownKey: {RuleTXTUnknownKey, SeverityInfo, "RFC 6763 section 6.3",
		"every TXT key is one the registration or the service profile defines; clients ignore other keys, so this is information unless the profile's key list is complete (warning)"},
	rTXTKeysNone: {RuleTXTKeysNone, SeverityInfo, "RFC 6763 section 6.3",
		"no TXT keys are advertised when the registration says it defines none and no profile defines any; information unless the profile is complete (warning)"},
	rTXTKeyMissing: {RuleTXTKeyMissing, SeverityWarning, "RFC 6763 section 6",
		"every TXT key the service profile's specification requires is present (Matter D and CM, HomeKit c#, id, md, s#, sf, ci)"},
	rTXTValue: {RuleTXTValue, SeverityWarning, "RFC 6763 section 6",
		"each TXT value has the syntax the service profile's specification gives (Matter D=0-4095, txtvers=1, pdl= a MIME list, ...)"},
	rTXTFormat: {RuleTXTFormat, SeverityError, "RFC 6763 section 6",
		"TXT record syntax: at least one string, no string starting with '=', keys of printable ASCII (error); " +
			"no repeated keys, keys of at most 9 characters, at most 1300 bytes, no host or port copied from SRV (warning); " +
			"at most 400 bytes, txtvers first (info)"},
	rInstanceName: {RuleInstanceName, SeverityError, "RFC 6763 section 4.1.1",
		"the instance name is 1-63 bytes of UTF-8 without control characters (0x00-0x1F, 0x7F)"},
	rSubtype: {RuleSubtype, SeverityInfo, "RFC 6763 section 7.1",
		"each subtype is one the registry lists for the service (subtypes need no leading underscore)"},
	rTTL: {RuleTTL, SeverityInfo, "RFC 6762 section 10",
		"record TTLs are the recommended 120 s for SRV, A and AAAA and 4500 s for PTR and TXT"},
	rSRVTarget: {RuleSRVTarget, SeverityWarning, "RFC 6763 section 12.2",
		"an address record (A or AAAA) was seen for the SRV target host"},
	rMDNSPacket: {RuleMDNSPacket, SeverityWarning, "RFC 6762 sections 11 and 18",
		"a multicast response has ID 0, opcode 0, AA set, TC clear, rcode 0, no cache-flush bit on shared PTR records, source port 5353, IP TTL/hop limit 255, and at most 9000 bytes"},
	rNameConflict: {RuleNameConflict, SeverityWarning, "RFC 6762 section 9",
		"no two senders claim the instance name with different SRV or TXT data, or give the SRV target host name addresses of one family (one of them should have probed and renamed); seen across packets"},
	rReflected: {RuleReflected, SeverityWarning, "RFC 6762 section 11",
		"the instance's records do not arrive unchanged from a second sender of the same address family within a second (a reflector, a bridged loop, or a sleep proxy answering for a host that is awake)"},
	rLinkLocalOnly: {RuleLinkLocalOnly, SeverityInfo, "RFC 8766 section 5.5.2",
		"the SRV target has an address that is not link-local (169.254/16, fe80::/10): with only link-local ones it cannot be reached from another link, and a discovery proxy does not publish it"},
	rMDNSRate: {RuleMDNSRate, SeverityWarning, "RFC 6762 sections 6 and 8.3",
		"no sender multicasts more than mdns.rate_packets packets or mdns.rate_bytes bytes a second, averaged over 10 s (a responder sends a record at most once a second, and few announcements)"},
	rRenameLoop: {RuleRenameLoop, SeverityWarning, "RFC 6762 section 9",
		"no sender renames an instance again and again (Printer (2), Printer (3), or avahi's Printer #2, #3 within 10 minutes): it keeps losing a conflict, often to its own reflected announcements"},
	rGoodbye: {RuleGoodbye, SeverityInfo, "RFC 6762 section 10.1",
		"an instance that goes away says goodbye (its records again with TTL 0); one that expires instead lingers in every cache until its TTL runs out"},
}

// Rules returns the catalogue with default severities, in a fixed order
// (the order findings are reported in). The slice is a copy.
func Rules() []Rule {
	out := make([]Rule, numRules)
	copy(out, catalogue[:])
	return out
}

// lookupRule returns a rule's index.
func lookupRule(id string) (ruleIndex, bool) {
	for i := range catalogue {
		if catalogue[i].ID == id {
			return ruleIndex(i), true
		}
	}
	return 0, false
}

// Check reports rule IDs in the policy that the catalogue does not have,
// all of them, wrapping ErrUnknownRule.
func (p Policy) Check() error {
	var bad []string
	for id := range p.Severity {
		if _, ok := lookupRule(id); !ok {
			bad = append(bad, id)
		}
	}
	for id := range p.Disabled {
		if _, ok := lookupRule(id); !ok {
			bad = append(bad, id)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	return fmt.Errorf("%w: %s (see svcreg rules)", ErrUnknownRule, strings.Join(bad, ", "))
}
