package mdns

import (
	"github.com/miekg/dns"

	"github.com/svcreg/svcreg/registry"
)

// Validator checks advertisements against one registry snapshot and one
// policy. It is immutable after NewValidator and safe for concurrent use;
// build a new one when the snapshot or the policy changes.
type Validator struct {
	snap     *registry.Snapshot
	enabled  [numRules]bool
	severity [numRules]Severity // override, valid when overridden[i]
	override [numRules]bool
}

// NewValidator resolves the policy against the catalogue. snap may be nil
// (then registry rules report every name as unregistered). Unknown rule
// IDs in p are ignored here; Policy.Check reports them.
func NewValidator(snap *registry.Snapshot, p Policy) *Validator {
	v := &Validator{snap: snap}
	for i := range catalogue {
		id := catalogue[i].ID
		v.enabled[i] = !p.Disabled[id]
		if s, ok := p.Severity[id]; ok {
			v.severity[i], v.override[i] = s, true
		}
	}
	return v
}

// Validate runs every enabled rule on a and returns the findings in
// catalogue order. It does not modify a.
func (v *Validator) Validate(a *Advertisement) []Finding {
	return nil
}

// ValidatePacket assembles the advertisements a received mDNS packet
// carries and validates each (setting its Findings); packet-level
// findings (rule mdns-packet) are returned separately.
func (v *Validator) ValidatePacket(msg *dns.Msg, meta PacketMeta) ([]*Advertisement, []Finding) {
	return nil, nil
}
