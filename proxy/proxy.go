// Package proxy turns the DNS-SD advertisements the mDNS monitor sees on
// a link into the records of a unicast DNS zone for that link (a
// discovery proxy, RFC 8766), so that clients on other subnets can browse
// them with wide-area DNS-SD (RFC 6763 section 11). It decides what is
// published by a policy over the monitor's verdicts, and rewrites what
// only makes sense on the link: ".local" host names and link-local
// addresses. It builds records only; package resolver serves them.
package proxy

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"

	"github.com/svcreg/svcreg/mdns"
)

// Policy chooses which advertisements of a link are published.
type Policy string

const (
	// PolicyValid publishes advertisements without an error-level
	// finding.
	PolicyValid Policy = "valid"
	// PolicyRegistered publishes, besides those, the advertisements of
	// registered types (or local additions) whatever their findings.
	PolicyRegistered Policy = "registered"
	// PolicyAll publishes everything seen.
	PolicyAll Policy = "all"
)

// DefaultMaxTTL caps the TTL of published records: RFC 8766 section 5.5.1
// recommends ten seconds for answers derived from mDNS, whose records
// change without the unicast side hearing of it.
const DefaultMaxTTL = 10

// MaxInstancesPerType bounds the instances of one type published on a
// link: their PTR RRset is one answer, which must fit in a DNS message
// (64 KB) with room to spare. The rest are left out, with the reason.
const MaxInstancesPerType = 1000

// Link is one published link: the interface whose advertisements are
// published, the zone they go into and the policy.
type Link struct {
	Interface string
	// Zone is the absolute, lower-case domain of the link's zone
	// ("lab0.lan.services.internal.").
	Zone   string
	Policy Policy
	// MaxTTL caps every record's TTL (0: DefaultMaxTTL).
	MaxTTL uint32
	// Reverse announces Zone as a browse domain under the reverse names
	// of the interface's IPv4 subnets too (see BrowseZones).
	Reverse bool
	// Prefixes are the interface's subnets; when set, an advertised
	// address outside all of them (a device announcing an address it
	// does not have on this link, by mistake or to mislead) is left out
	// of the zone, with a note.
	Prefixes []netip.Prefix
}

// BrowseZones are the zones that announce link's zone as a browse domain
// from the reverse name of each IPv4 subnet in prefixes (RFC 6763 section
// 11: "b._dns-sd._udp.0.1.168.192.in-addr.arpa." for 192.168.1.0/24):
// each zone's name and its b, db and lb PTRs. IPv6 subnets get none (the
// RFC gives no form for them), nor do IPv4 link-local ones.
func BrowseZones(link Link, prefixes []netip.Prefix) map[string][]dns.RR {
	out := map[string][]dns.RR{}
	maxTTL := link.MaxTTL
	if maxTTL == 0 {
		maxTTL = DefaultMaxTTL
	}
	for _, p := range prefixes {
		if !p.Addr().Is4() || p.Addr().IsLinkLocalUnicast() || p.Addr().IsLoopback() {
			continue
		}
		b := p.Masked().Addr().As4()
		zone := fmt.Sprintf("%d.%d.%d.%d.in-addr.arpa.", b[3], b[2], b[1], b[0])
		for _, label := range [...]string{"b", "db", "lb"} {
			out[zone] = append(out[zone], &dns.PTR{Hdr: dns.RR_Header{Name: label + "._dns-sd._udp." + zone, Rrtype: dns.TypePTR,
				Class: dns.ClassINET, Ttl: maxTTL}, Ptr: link.Zone})
		}
	}
	return out
}

// Exclusion is an advertisement of the link left out, and why.
type Exclusion struct {
	Instance    string `json:"instance"`
	ServiceType string `json:"service_type"`
	Reason      string `json:"reason"`
}

// Published describes one link's zone as served: what is in it and what
// was left out, and why (for the HTTP API and the web UI).
type Published struct {
	Interface string      `json:"interface"`
	Zone      string      `json:"zone"`
	Policy    string      `json:"policy"`
	Serial    uint32      `json:"serial"`
	Instances int         `json:"instances"`
	Records   int         `json:"records"`
	Excluded  []Exclusion `json:"excluded"`
	Dropped   []Exclusion `json:"dropped"`
}

// Result is a link's zone content.
type Result struct {
	// Records are the zone's records (no SOA or apex NS), in the order
	// of the advertisements (the monitor's, sorted by type and instance).
	Records []dns.RR
	// Published counts the instances the records describe.
	Published int
	// Excluded lists the advertisements of the link left out.
	Excluded []Exclusion
	// Dropped lists what was left out of published advertisements:
	// addresses outside the link's prefixes.
	Dropped []Exclusion
}

// Build makes the records of link from ads (the monitor's
// advertisements, in its order; those of other interfaces are ignored)
// at once. registered reports whether a service name ("ipp") and
// protocol ("tcp") are in the registry or the local additions, for
// PolicyRegistered. A Builder gives the same records change by change.
func Build(link Link, ads []mdns.Advertisement, registered func(name, proto string) bool) Result {
	maxTTL := link.MaxTTL
	if maxTTL == 0 {
		maxTTL = DefaultMaxTTL
	}
	zone := link.Zone
	var res Result
	types := map[string]bool{}      // "_ipp._tcp" present
	perType := map[string]int{}     // instances published, by type
	addrSeen := map[hostAddr]bool{} // instances on one host share its addresses
	hdr := func(name string, t uint16, ttl uint32) dns.RR_Header {
		if ttl == 0 || ttl > maxTTL {
			ttl = maxTTL
		}
		return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: ttl}
	}
	for i := range ads {
		a := &ads[i]
		if a.Interface != link.Interface || !strings.EqualFold(a.Domain, "local") {
			continue
		}
		r := buildAd(a, zone, maxTTL, hdr)
		if why := excluded(link.Policy, a, registered); why != "" {
			res.Excluded = append(res.Excluded, Exclusion{Instance: a.Instance, ServiceType: r.typ, Reason: why})
			continue
		}
		if r.problem != "" {
			res.Excluded = append(res.Excluded, Exclusion{Instance: a.Instance, ServiceType: r.typ, Reason: r.problem})
			continue
		}
		if perType[r.ltyp] >= MaxInstancesPerType {
			res.Excluded = append(res.Excluded, Exclusion{Instance: a.Instance, ServiceType: r.typ, Reason: reasonBound})
			continue
		}
		perType[r.ltyp]++
		if r.instance == "" {
			res.Excluded = append(res.Excluded, Exclusion{Instance: a.Instance, ServiceType: r.typ, Reason: reasonNameTooLong(zone)})
			continue
		}
		res.Published++
		types[r.ltyp] = true
		res.Records = append(res.Records, r.rrs...)
		for _, addr := range a.Addrs {
			if r.host == "" || !routable(addr) || addrSeen[hostAddr{r.host, addr}] {
				continue
			}
			if !onLink(addr, link.Prefixes) {
				res.Dropped = append(res.Dropped, offLink(a, r, addr, link))
				continue
			}
			addrSeen[hostAddr{r.host, addr}] = true
			res.Records = append(res.Records, addrRR(r.host, addr, a, hdr))
		}
		if r.txt != nil {
			res.Records = append(res.Records, r.txt)
		}
	}
	for _, t := range slices.Sorted(maps.Keys(types)) {
		res.Records = append(res.Records, &dns.PTR{Hdr: hdr("_services._dns-sd._udp."+zone, dns.TypePTR, maxTTL), Ptr: t + "." + zone})
	}
	return res
}

// hostAddr is one address of one host (rewritten into the zone).
type hostAddr struct {
	host string
	addr netip.Addr
}

// adRecords are the records made for one advertisement, with what they
// were made from.
type adRecords struct {
	src      mdns.Advertisement // Host, Port, TXT, HasTXT, Subtypes, TTL as built
	zone     string
	maxTTL   uint32
	typ      string   // a.ServiceType(), as advertised
	ltyp     string   // typ lower-cased
	problem  string   // why it cannot be in unicast DNS at all ("" if it can)
	instance string   // owner of the SRV and TXT; "" when not a DNS name
	host     string   // the SRV target rewritten into the zone
	rrs      []dns.RR // PTR, subtype PTRs, SRV
	txt      dns.RR   // nil without a TXT record
}

// sameSource reports whether a publishes what r was built from.
func (r *adRecords) sameSource(a *mdns.Advertisement, zone string, maxTTL uint32) bool {
	s := &r.src
	return r.zone == zone && r.maxTTL == maxTTL && s.Host == a.Host && s.Port == a.Port && s.HasTXT == a.HasTXT &&
		s.TTL == a.TTL && slices.Equal(s.TXT, a.TXT) && slices.Equal(s.Subtypes, a.Subtypes)
}

// The reasons an advertisement that passes the policy is left out.
var reasonBound = fmt.Sprintf("more than %d instances of the type on the link", MaxInstancesPerType)

func reasonNameTooLong(zone string) string {
	return "the instance name does not fit in a DNS name under " + zone
}

// offLink is the note for an address of a outside link's prefixes.
func offLink(a *mdns.Advertisement, r *adRecords, addr netip.Addr, link Link) Exclusion {
	return Exclusion{Instance: a.Instance, ServiceType: r.typ,
		Reason: "address " + addr.String() + " is outside the prefixes of " + link.Interface + ": not published"}
}

// addrRR is the A or AAAA record of a host's address, with the TTL a
// gives addresses of its family.
func addrRR(host string, addr netip.Addr, a *mdns.Advertisement, hdr func(string, uint16, uint32) dns.RR_Header) dns.RR {
	if addr.Is4() {
		return &dns.A{Hdr: hdr(host, dns.TypeA, a.TTL.Of(dns.TypeA)), A: addr.AsSlice()}
	}
	return &dns.AAAA{Hdr: hdr(host, dns.TypeAAAA, a.TTL.Of(dns.TypeAAAA)), AAAA: addr.AsSlice()}
}

// buildAd makes the records of one advertisement (its addresses apart):
// PTR, subtype PTRs, SRV and TXT; none when it cannot be published in
// unicast DNS at all.
func buildAd(a *mdns.Advertisement, zone string, maxTTL uint32, hdr func(string, uint16, uint32) dns.RR_Header) *adRecords {
	r := &adRecords{zone: zone, maxTTL: maxTTL}
	r.src = mdns.Advertisement{Host: a.Host, Port: a.Port, HasTXT: a.HasTXT, TTL: a.TTL,
		TXT: slices.Clone(a.TXT), Subtypes: slices.Clone(a.Subtypes)}
	r.typ = a.ServiceType()
	r.ltyp = strings.ToLower(r.typ)
	if r.problem = unicastProblem(a); r.problem != "" {
		return r
	}
	typeName := r.ltyp + "." + zone
	instance := mdns.EscapeLabel(a.Instance) + "." + typeName
	if _, ok := dns.IsDomainName(instance); !ok {
		return r
	}
	r.instance = instance
	r.rrs = append(r.rrs, &dns.PTR{Hdr: hdr(typeName, dns.TypePTR, a.TTL.Of(dns.TypePTR)), Ptr: instance})
	for _, st := range a.Subtypes {
		r.rrs = append(r.rrs, &dns.PTR{Hdr: hdr(mdns.EscapeLabel(strings.ToLower(st))+"._sub."+typeName, dns.TypePTR, a.TTL.Of(dns.TypePTR)), Ptr: instance})
	}
	if a.Host != "" {
		r.host = rewriteHost(a.Host, zone)
		r.rrs = append(r.rrs, &dns.SRV{Hdr: hdr(instance, dns.TypeSRV, a.TTL.Of(dns.TypeSRV)), Port: a.Port, Target: r.host})
	}
	if a.HasTXT {
		txt := a.TXT
		if len(txt) == 0 {
			txt = []string{""} // RFC 6763 section 6.1: an empty TXT is one empty string
		}
		escaped := make([]string, len(txt))
		for i, s := range txt {
			escaped[i] = escapeTXT(s)
		}
		r.txt = &dns.TXT{Hdr: hdr(instance, dns.TypeTXT, a.TTL.Of(dns.TypeTXT)), Txt: escaped}
	}
	return r
}

// excluded says why policy leaves a out ("" to publish it).
func excluded(policy Policy, a *mdns.Advertisement, registered func(name, proto string) bool) string {
	if policy == PolicyAll {
		return ""
	}
	var errs []string
	for _, f := range a.Findings {
		if f.Severity == mdns.SeverityError {
			errs = append(errs, f.Rule+": "+f.Message)
		}
	}
	if len(errs) == 0 {
		return ""
	}
	if policy == PolicyRegistered && registered != nil &&
		registered(strings.TrimPrefix(a.Service, "_"), strings.TrimPrefix(a.Proto, "_")) {
		return ""
	}
	return fmt.Sprintf("policy %s: %s", policy, strings.Join(errs, "; "))
}

// unicastProblem says why a cannot be published in unicast DNS at all,
// whatever the policy.
func unicastProblem(a *mdns.Advertisement) string {
	switch {
	case a.Instance == "":
		return "no instance name"
	case len(a.Instance) > 63:
		return fmt.Sprintf("the instance name is %d bytes, more than a DNS label holds (63)", len(a.Instance))
	case a.Service == "" || a.Proto == "":
		return "no service type"
	}
	if _, ok := dns.IsDomainName(a.ServiceType() + "."); !ok {
		return "the service type is not a DNS name"
	}
	return ""
}

// rewriteHost moves a ".local" host name into zone (RFC 8766 section
// 5.5.1): "printer.local." -> "printer.lab0.lan.services.internal.". A
// host outside .local keeps its first label.
func rewriteHost(host, zone string) string {
	h := strings.ToLower(dns.Fqdn(host))
	if base, ok := strings.CutSuffix(h, ".local."); ok {
		return base + "." + zone
	}
	labels := dns.SplitDomainName(h)
	if len(labels) == 0 {
		return zone
	}
	return labels[0] + "." + zone
}

// routable reports whether an address is of use off the link: not
// link-local (IPv4 169.254/16, IPv6 fe80::/10), loopback or unspecified.
func routable(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsValid() && !a.IsLinkLocalUnicast() && !a.IsLoopback() && !a.IsUnspecified() && !a.IsMulticast()
}

// onLink reports whether a is in one of prefixes (true when there are
// none to check against).
func onLink(a netip.Addr, prefixes []netip.Prefix) bool {
	if len(prefixes) == 0 {
		return true
	}
	a = a.Unmap()
	for _, p := range prefixes {
		if p.Masked().Contains(a) {
			return true
		}
	}
	return false
}

// escapeTXT writes a raw TXT string as miekg/dns reads it: backslash and
// double quote escaped, bytes outside printable ASCII as \DDD.
func escapeTXT(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' || c == '"':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c > 0x7e:
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
