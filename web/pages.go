package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/svcreg/svcreg/mdns"
	"github.com/svcreg/svcreg/registry"
)

type homeView struct {
	Stats    registry.Stats
	Examples []string
}

func (s *server) handleHome(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	snap := s.snapshot(w, r, start)
	if snap == nil {
		return
	}
	v := homeView{Stats: snap.Stats(), Examples: []string{"ipp", "_http._tcp", "631", "53/udp", "printer", "whois++"}}
	p := s.newPage(snap, "Search the service registry", "search", v)
	p.HomeSearch = true
	s.render(w, r, http.StatusOK, "home", p, start)
}

// maxRows is how many services a results page lists; the count says how
// many more matched, and a narrower query finds them.
const maxRows = 500

type searchView struct {
	Query   string
	Error   string
	IsPort  bool
	Port    int
	High    int // range queries: the last port
	Proto   registry.Protocol
	Status  registry.Status // single-port queries: the verdict on the port
	Groups  []registry.SearchGroup
	Exact   int // groups that match the name exactly (shown first)
	Total   int // matches before the maxRows cut
	Suggest []string
	Elapsed time.Duration
}

// handleSearch takes a name, a DNS-SD type (_ipp._tcp, also with a
// domain), a port (631, 631/udp, _631._udp), a range (6000-6063) or words
// from descriptions, as a plain GET form; registry.Snapshot.Search does
// the work for every interface.
func (s *server) handleSearch(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	snap := s.snapshot(w, r, start)
	if snap == nil {
		return
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if q == "" {
		s.handleHome(w, r)
		return
	}
	v := searchView{Query: q}
	status := http.StatusOK
	if res, err := snap.Search(q, maxRows); err != nil {
		v.Error = queryError(err)
		status = http.StatusBadRequest
	} else {
		v.Groups, v.Total, v.Exact, v.Suggest = res.Groups, res.Total, res.Exact(), res.DidYouMean
		if pq := res.Query; pq.IsPort {
			v.IsPort, v.Port, v.High, v.Proto = true, pq.Port, pq.PortHigh, pq.Protocol
			if pq.Port == pq.PortHigh {
				v.Status = snap.PortStatus(pq.Port, pq.Protocol)
			}
			v.Exact = 0
		}
	}
	v.Elapsed = time.Since(start)
	p := s.newPage(snap, "Search: "+q, "search", v)
	p.Query = q
	s.render(w, r, status, "search", p, start)
}

// canonicalService is where a service page asked by another name the API
// accepts belongs: a DNS-SD type, also with a domain or subtype
// (_ipp._tcp.local. is /services/ipp), another case (/services/IPP), or
// a port (/services/631 is /ports/631); "" when name is the canonical
// name or not known.
func canonicalService(snap *registry.Snapshot, name string) string {
	q, err := registry.ParseQuery(name)
	switch {
	case err != nil:
		return ""
	case q.IsPort && q.Port == q.PortHigh && q.Protocol != registry.ProtoNone:
		return portURL(q.Protocol, q.Port)
	case q.IsPort && q.Port == q.PortHigh:
		return "/ports/" + strconv.Itoa(q.Port)
	case q.IsPort:
		return "/search?q=" + url.QueryEscape(name)
	}
	canon := ""
	if recs := snap.ByName(q.Name); len(recs) > 0 {
		canon = recs[0].Name
	} else if ps := snap.NameProfiles(q.Name); len(ps) > 0 {
		canon = ps[0].Name
	}
	if canon == "" || canon == name {
		return ""
	}
	return serviceURL(canon)
}

// served returns the SRV and TXT records the DNS server answers for
// owner, one zone-file line each, or "" when there is no server to ask or
// it answers nothing.
func (s *server) served(owner string) string {
	if s.answers == nil {
		return ""
	}
	var lines []string
	for _, t := range []uint16{dns.TypeSRV, dns.TypeTXT} {
		rrs, err := s.answers(owner, t)
		if err != nil {
			s.log.Debug("web: served records", "owner", owner, "error", err)
			return ""
		}
		lines = append(lines, rrs...)
	}
	return strings.Join(lines, "\n")
}

func queryError(err error) string {
	msg := err.Error()
	if errors.Is(err, registry.ErrBadQuery) {
		msg = strings.TrimPrefix(msg, registry.ErrBadQuery.Error()+": ")
	}
	return "Cannot search for that: " + msg + "."
}

type serviceView struct {
	Name      string
	Records   []recordView
	Aliases   []string // names that are aliases or duplicates of this one
	UseName   string   // for an alias or duplicate: the name to use
	UseStatus registry.Status
	ValidName bool
	Digs      []digCommand
	// Profiles are svcreg's service profiles of the name: what public
	// specifications define beside the registration.
	Profiles []profileView
}

type profileView struct {
	*registry.Profile
	Types []string // "_hap._tcp", "_hap._udp"
}

func profileViews(ps []*registry.Profile) []profileView {
	out := make([]profileView, 0, len(ps))
	for _, p := range ps {
		pv := profileView{Profile: p}
		for _, proto := range p.Protocols {
			pv.Types = append(pv.Types, "_"+p.Name+"._"+string(proto))
		}
		out = append(out, pv)
	}
	return out
}

type recordView struct {
	*registry.Record
	Assignee string
	Contact  string
	JSON     string // the record as /v1/services gives it, indented
}

type digCommand struct {
	ID    string // element id prefix for the copy buttons
	Type  string // "_ipp._tcp"
	Owner string // "_ipp._tcp.services.internal."
	SRV   string
	TXT   string
	// Served are the SRV and TXT records the server answers for Owner,
	// as zone-file lines ("" without a DNS server to ask).
	Served string
}

func (s *server) handleService(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	snap := s.snapshot(w, r, start)
	if snap == nil {
		return
	}
	name := r.PathValue("name")
	if to := canonicalService(snap, name); to != "" {
		http.Redirect(w, r, to, http.StatusMovedPermanently)
		return
	}
	recs := snap.ByName(name)
	profiles := snap.NameProfiles(name)
	if len(recs) == 0 && len(profiles) > 0 {
		// A deployed type IANA does not list: the profile is all there is.
		v := serviceView{Name: profiles[0].Name, ValidName: registry.ValidServiceName(profiles[0].Name),
			Profiles: profileViews(profiles)}
		s.render(w, r, http.StatusOK, "service", s.newPage(snap, v.Name, "search", v), start)
		return
	}
	if len(recs) == 0 {
		ev := errorView{
			Heading: "Unknown service name",
			Message: fmt.Sprintf("The registry has no service named %q.", name),
			Status:  http.StatusNotFound,
		}
		if res, err := snap.Search(name, 8); err == nil && !res.Query.IsPort {
			for _, g := range res.Groups {
				if g.Name != "" && g.Rank <= registry.RankName {
					ev.Suggest = append(ev.Suggest, g.Name)
				}
			}
			for _, n := range res.DidYouMean {
				if len(ev.Suggest) < 8 && !registry.HasName(ev.Suggest, n) {
					ev.Suggest = append(ev.Suggest, n)
				}
			}
		}
		s.renderErrorView(w, r, ev, name, start)
		return
	}
	v := serviceView{Name: recs[0].Name, ValidName: recs[0].ValidName(), Profiles: profileViews(profiles)}
	for _, rec := range recs {
		rv := recordView{Record: rec, Assignee: contactName(snap, rec.Assignee), Contact: contactName(snap, rec.Contact)}
		if b, err := rec.MarshalJSON(); err == nil {
			var ind bytes.Buffer
			if json.Indent(&ind, b, "", "  ") == nil {
				rv.JSON = ind.String()
			}
		}
		v.Records = append(v.Records, rv)
		if rec.AliasOf != "" && v.UseName == "" {
			v.UseName, v.UseStatus = rec.AliasOf, rec.Status
		}
	}
	v.Aliases = snap.Aliases(v.Name)
	if v.ValidName {
		lname := strings.ToLower(v.Name)
		for _, proto := range []registry.Protocol{registry.ProtoTCP, registry.ProtoUDP} {
			if len(snap.ByType(lname, proto)) == 0 {
				continue
			}
			owner := "_" + lname + "._" + string(proto) + "." + strings.TrimPrefix(s.zone, ".")
			if s.zone == "." {
				owner = "_" + lname + "._" + string(proto) + "."
			}
			at := "dig @" + s.dnsServer + " -p " + strconv.Itoa(s.dnsPort) + " "
			v.Digs = append(v.Digs, digCommand{
				ID:     "dig-" + string(proto),
				Type:   "_" + lname + "._" + string(proto),
				Owner:  owner,
				SRV:    at + owner + " SRV",
				TXT:    at + owner + " TXT",
				Served: s.served(owner),
			})
		}
	}
	s.render(w, r, http.StatusOK, "service", s.newPage(snap, v.Name, "search", v), start)
}

func contactName(snap *registry.Snapshot, id string) string {
	if id == "" {
		return ""
	}
	if c, ok := snap.Contact(id); ok {
		switch {
		case c.Name != "" && c.Organization != "":
			return c.Name + " (" + c.Organization + ")"
		case c.Name != "":
			return c.Name
		case c.Organization != "":
			return c.Organization
		}
	}
	return strings.ReplaceAll(id, "_", " ")
}

type portView struct {
	Port      int
	Proto     registry.Protocol
	Status    registry.Status
	Named     []*registry.Record // named registrations covering the port
	Ranges    []*registry.Record // ranges covering it (named or not)
	Rows      []*registry.Record // unnamed single-port rows (Reserved, Unassigned)
	Others    []registry.Protocol
	Dynamic   bool
	Neighbors [2]int // previous and next port, -1 at the ends
}

func (s *server) handlePort(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	snap := s.snapshot(w, r, start)
	if snap == nil {
		return
	}
	proto, ok := registry.ParseProtocol(r.PathValue("proto"))
	if !ok || proto == registry.ProtoNone {
		s.renderError(w, r, http.StatusBadRequest, "Bad protocol",
			fmt.Sprintf("%q is not a transport protocol of the registry (tcp, udp, sctp or dccp).", r.PathValue("proto")), start)
		return
	}
	ps := r.PathValue("port")
	port, err := strconv.Atoi(ps)
	if !allDigits(ps) || len(ps) > 5 || err != nil || port > 65535 {
		s.renderError(w, r, http.StatusBadRequest, "Bad port number",
			fmt.Sprintf("%q is not a port number: ports run from 0 to 65535.", ps), start)
		return
	}
	v := portView{Port: port, Proto: proto, Status: snap.PortStatus(port, proto), Dynamic: port >= registry.DynamicLow}
	for _, rec := range snap.ByPort(port, proto) {
		switch {
		case rec.IsRange():
			v.Ranges = append(v.Ranges, rec)
		case rec.Name != "":
			v.Named = append(v.Named, rec)
		default:
			v.Rows = append(v.Rows, rec)
		}
	}
	for _, p := range registry.Protocols {
		if p != proto {
			v.Others = append(v.Others, p)
		}
	}
	v.Neighbors = [2]int{port - 1, port + 1}
	if port == 65535 {
		v.Neighbors[1] = -1
	}
	title := fmt.Sprintf("Port %d/%s", port, proto)
	s.render(w, r, http.StatusOK, "port", s.newPage(snap, title, "search", v), start)
}

// handlePortAnyProto sends /ports/631 to the search for 631, which lists
// every protocol.
func (s *server) handlePortAnyProto(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/search?q="+url.QueryEscape(r.PathValue("port")), http.StatusFound)
}

type rulesView struct {
	Rules []mdns.Rule
}

func (s *server) handleRules(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	v := rulesView{Rules: mdns.Rules()}
	s.render(w, r, http.StatusOK, "rules", s.newPage(s.store.Load(), "Validation rules", "rules", v), start)
}
