package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/svcreg/svcreg/registry"
)

// runLookup implements "svcreg lookup [--registry PATH]... [--json] QUERY...".
// A QUERY is a name ("http", "whois++", "914c/g"), a DNS-SD type
// ("_http._tcp", also with a domain), a port ("80", "80/tcp",
// "_80._tcp"), a range ("6000-6063") or words of descriptions; see
// registry.Snapshot.Search. A query with an exact match prints it; one
// without prints its best matches (unless --exact). Exit status: 0 when
// something matched, 1 when nothing did, 2 for bad usage or a registry
// that cannot be read.
func runLookup(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("svcreg lookup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var rf registryFlags
	rf.register(fs)
	asJSON := fs.Bool("json", false, "print one JSON object per matching record, one per line")
	exact := fs.Bool("exact", false, "print exact matches only: a query without one matches nothing")
	limit := fs.Int("limit", 10, "services to print for a query without an exact match")
	quiet := quietFlag(fs, "log only warnings and errors to stderr")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: svcreg lookup [--registry PATH]... [--format FORMAT] [--json] [--exact] [--limit N] [-q] QUERY...")
		fmt.Fprintln(fs.Output(), "\nQUERY is a service name (http, whois++), a DNS-SD type (_http._tcp, _ipp._tcp.local.), a subtype\n(_printer._sub._http._tcp), a port (80, 80/tcp, _80._tcp), a range (6000-6063) or words of\ndescriptions, assignees and references (\"Multicast DNS\", RFC6763). A query without an exact match\nprints its best matches, most alike first.")
		fmt.Fprintln(fs.Output(), "Exit status: 0 found, 1 nothing found, 2 bad usage or input.")
		fmt.Fprintln(fs.Output(), "\nflags:")
		fs.PrintDefaults()
	}
	rawQueries, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if len(rawQueries) == 0 {
		fmt.Fprintln(stderr, "svcreg lookup: no QUERY given")
		fs.Usage()
		return exitUsage
	}
	if *limit < 1 {
		fmt.Fprintf(stderr, "svcreg lookup: --limit %d: want at least 1\n", *limit)
		return exitUsage
	}
	queries := make([]registry.Query, 0, len(rawQueries))
	for _, a := range rawQueries {
		q, err := registry.ParseQuery(strings.TrimSpace(a))
		if err == nil && len(a) > registry.MaxSearchLen {
			err = fmt.Errorf("%w: %d bytes long; the longest accepted is %d", registry.ErrBadQuery, len(a), registry.MaxSearchLen)
		}
		if err != nil {
			fmt.Fprintf(stderr, "svcreg lookup: %v\n", err)
			return exitUsage
		}
		queries = append(queries, q)
	}
	snap, err := rf.load(ctx, newCLILogger(stderr, *quiet))
	if err != nil {
		fmt.Fprintf(stderr, "svcreg lookup: %v\n", err)
		return exitUsage
	}
	recs, missed := lookupRecords(snap, queries, *exact, *limit, stderr)
	profs := lookupProfiles(snap, queries)
	for _, m := range missed {
		if len(queryProfiles(snap, m.q)) > 0 {
			continue
		}
		if len(m.suggest) > 0 {
			fmt.Fprintf(stderr, "svcreg lookup: %s: no match; did you mean %s?\n", m.q.Raw, strings.Join(m.suggest, ", "))
		} else {
			fmt.Fprintf(stderr, "svcreg lookup: %s: no match\n", m.q.Raw)
		}
	}
	if len(recs) == 0 && len(profs) == 0 {
		return exitNotFound
	}
	w := bufio.NewWriter(stdout)
	if *asJSON {
		err = writeLookupJSON(w, snap, recs)
		if err == nil {
			err = writeProfilesJSON(w, unattached(snap, recs, profs))
		}
	} else {
		if len(recs) > 0 {
			writeLookupTable(w, recs)
		}
		writeProfiles(w, profs, len(recs) > 0)
	}
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		fmt.Fprintf(stderr, "svcreg lookup: writing output: %v\n", err)
		return exitUsage
	}
	return exitOK
}

// dynamicRecord is the row a port query reports for the Dynamic and/or
// Private range, which the registry leaves without records (RFC 6335
// section 6).
func dynamicRecord(proto registry.Protocol) *registry.Record {
	return &registry.Record{
		Protocol: proto, PortLow: registry.DynamicLow, PortHigh: 65535, Status: registry.StatusDynamic,
		Description: "Dynamic and/or Private Ports", References: []string{"RFC6335"},
	}
}

// missedQuery is a query that matched nothing, with the names it is a few
// edits from.
type missedQuery struct {
	q       registry.Query
	suggest []string
}

// lookupRecords answers every query, in order, each record once. A port
// query includes the unnamed Reserved/Unassigned rows and ranges covering
// the port, and for 49152-65535 the dynamic range. A name query prints
// its exact match, or without one (and unless exact) the records of its
// limit best-ranked services, saying so on stderr. missed lists the
// queries that matched nothing.
func lookupRecords(snap *registry.Snapshot, queries []registry.Query, exact bool, limit int, stderr io.Writer) (recs []*registry.Record, missed []missedQuery) {
	seen := map[*registry.Record]bool{}
	dynamic := map[registry.Protocol]bool{}
	add := func(found []*registry.Record) {
		for _, r := range found {
			if !seen[r] {
				seen[r] = true
				recs = append(recs, r)
			}
		}
	}
	for _, q := range queries {
		if q.IsPort {
			found := snap.Lookup(q)
			add(found)
			if q.PortHigh >= registry.DynamicLow {
				if !dynamic[q.Protocol] {
					dynamic[q.Protocol] = true
					recs = append(recs, dynamicRecord(q.Protocol))
				}
				continue
			}
			if len(found) == 0 {
				missed = append(missed, missedQuery{q: q})
			}
			continue
		}
		if found := snap.Lookup(q); len(found) > 0 {
			add(found)
			continue
		}
		res, err := snap.Search(q.Raw, 0)
		if err != nil || exact || len(res.Groups) == 0 {
			missed = append(missed, missedQuery{q: q, suggest: res.DidYouMean})
			continue
		}
		if res.Groups[0].Rank == registry.RankExact {
			// A name only a profile knows: the profile block shows it.
			continue
		}
		shown := min(limit, len(res.Groups))
		fmt.Fprintf(stderr, "svcreg lookup: %s: no service of that name; %d %s match it, the best %d below\n",
			q.Raw, res.Total, plural(res.Total, "service"), shown)
		for _, g := range res.Groups[:shown] {
			add(g.Records)
		}
	}
	return recs, missed
}

// queryProfiles are the service profiles a name, type or subtype query
// matches (none for ports).
func queryProfiles(snap *registry.Snapshot, q registry.Query) []*registry.Profile {
	switch {
	case q.IsPort || q.Name == "":
		return nil
	case q.Protocol != "":
		// A subtype query matches a profile that knows the subtype.
		if p := snap.Profile(q.Name, q.Protocol); p != nil && (q.Subtype == "" || p.HasSubtype(q.Subtype)) {
			return []*registry.Profile{p}
		}
		return nil
	}
	return snap.NameProfiles(q.Name)
}

// lookupProfiles answers every query with its profiles, each once.
func lookupProfiles(snap *registry.Snapshot, queries []registry.Query) []*registry.Profile {
	var out []*registry.Profile
	for _, q := range queries {
		for _, p := range queryProfiles(snap, q) {
			if !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}

// writeProfiles prints each profile as a block under the records: what
// svcreg's service profiles add to the registration.
func writeProfiles(w io.Writer, profs []*registry.Profile, afterRecords bool) {
	for i, p := range profs {
		if afterRecords || i > 0 {
			fmt.Fprintln(w)
		}
		var types []string
		for _, proto := range p.Protocols {
			types = append(types, "_"+p.Name+"._"+string(proto))
		}
		fmt.Fprintf(w, "PROFILE %s  %s\n", strings.Join(types, ", "), cleanCell(p.Description))
		fmt.Fprintf(w, "    source: %s\n", cleanCell(p.Source))
		facts := []string{"not registered with IANA"}
		if p.Registered {
			facts[0] = "registered with IANA"
		}
		if p.Port >= 0 {
			facts = append(facts, "usual port "+strconv.Itoa(int(p.Port)))
		}
		if p.Complete {
			facts = append(facts, "key list complete")
		}
		fmt.Fprintf(w, "    %s\n", strings.Join(facts, "; "))
		switch {
		case len(p.Keys) > 0:
			fmt.Fprintf(w, "    TXT %s\n", cleanCell(p.KeySummary()))
		case p.TXT == registry.TXTNone:
			fmt.Fprintln(w, "    TXT none")
		}
		if len(p.Subtypes) > 0 {
			fmt.Fprintf(w, "    subtypes: %s\n", cleanCell(strings.Join(p.Subtypes, ", ")))
		}
	}
}

// unattached are the profiles no record's JSON carries: those of names
// only a profile knows.
func unattached(snap *registry.Snapshot, recs []*registry.Record, profs []*registry.Profile) []*registry.Profile {
	var out []*registry.Profile
	for _, p := range profs {
		attached := false
		for _, r := range recs {
			if snap.Profile(r.Name, r.Protocol) == p {
				attached = true
				break
			}
		}
		if !attached {
			out = append(out, p)
		}
	}
	return out
}

// writeProfilesJSON writes one {"profile": {...}} object per line, after
// the records, for names that only a profile knows.
func writeProfilesJSON(w io.Writer, profs []*registry.Profile) error {
	for _, p := range profs {
		b, err := p.MarshalJSON()
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "{\"profile\":%s}\n", b); err != nil {
			return err
		}
	}
	return nil
}

// writeLookupJSON writes registry.Record's JSON, one record per line, with
// the type's service profile as "profile" when it has one. MarshalJSON is
// called directly: json.Marshal would HTML-escape its output again
// ("\u003cusername\u003e").
func writeLookupJSON(w io.Writer, snap *registry.Snapshot, recs []*registry.Record) error {
	for _, r := range recs {
		b, err := r.MarshalJSON()
		if err != nil {
			return err
		}
		if p := snap.Profile(r.Name, r.Protocol); p != nil && r.Name != "" {
			pb, err := p.MarshalJSON()
			if err != nil {
				return err
			}
			b = append(append(append(b[:len(b)-1], `,"profile":`...), pb...), '}')
		}
		b = append(b, '\n')
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// lookupCells is one line of the human table.
type lookupCells [6]string

// lookupHeader heads the human table.
func lookupHeader() lookupCells {
	return lookupCells{"NAME", "PROTO", "PORT", "STATUS", "SOURCE", "DESCRIPTION"}
}

// writeLookupTable prints an aligned table, one row per record; the TXT
// keys and subtypes of a record follow on an indented line of their own,
// so that long key lists do not widen the table.
func writeLookupTable(w io.Writer, recs []*registry.Record) {
	header := lookupHeader()
	rows := make([]lookupCells, 0, len(recs))
	var widths [len(header)]int
	for i, h := range header {
		widths[i] = len(h)
	}
	for _, r := range recs {
		row := lookupRow(r)
		for i, c := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
		rows = append(rows, row)
	}
	writeCells := func(cells lookupCells) {
		var b strings.Builder
		for i, c := range cells {
			b.WriteString(c)
			if i < len(cells)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c)+2))
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	writeCells(header)
	for i, r := range recs {
		writeCells(rows[i])
		if txt := txtSummary(&r.TXTKeys); txt != "" {
			fmt.Fprintf(w, "    TXT %s\n", txt)
		}
		if len(r.Subtypes) > 0 {
			fmt.Fprintf(w, "    subtypes: %s\n", cleanCell(strings.Join(r.Subtypes, ", ")))
		}
	}
}

func lookupRow(r *registry.Record) lookupCells {
	name, proto, port, src := r.Name, string(r.Protocol), "-", "-"
	if name == "" {
		name = "-"
	}
	if proto == "" {
		proto = "-"
	}
	if r.HasPort() {
		port = strconv.Itoa(int(r.PortLow))
		if r.IsRange() {
			port += "-" + strconv.Itoa(int(r.PortHigh))
		}
	}
	status := r.Status.String()
	if r.AliasOf != "" {
		status += " of " + r.AliasOf
	}
	if r.Source != "" {
		src = r.Source
		if r.Line > 0 {
			src += ":" + strconv.Itoa(r.Line)
		}
	}
	desc := r.Description
	if desc == "" {
		desc = "-"
	}
	return lookupCells{cleanCell(name), proto, port, cleanCell(status), cleanCell(src), cleanCell(desc)}
}

// txtSummary renders a record's TXT keys for the table: the kind, and the
// keys (with their hints) or the reference.
func txtSummary(t *registry.TXTKeys) string {
	var b strings.Builder
	switch t.Kind {
	case registry.TXTUnknown:
		return ""
	case registry.TXTExternal, registry.TXTUnspecified:
		b.WriteString(t.Kind.String())
		if t.Ref != "" {
			b.WriteString(": see ")
			b.WriteString(t.Ref)
		}
		return cleanCell(b.String())
	}
	b.WriteString(t.Kind.String())
	// Keys are separated by ", ", or by "; " when a hint holds a comma
	// ("userid=alphanumeric, additionally '_', '+', '-'").
	sep := ", "
	for _, k := range t.Keys {
		if strings.Contains(k.Hint, ",") {
			sep = "; "
		}
	}
	for i, k := range t.Keys {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString(sep)
		}
		b.WriteString(k.Name)
		if k.Hint != "" {
			b.WriteByte('=')
			b.WriteString(k.Hint)
		}
	}
	if t.Ref != "" {
		b.WriteString(" (see ")
		b.WriteString(t.Ref)
		b.WriteByte(')')
	}
	return cleanCell(b.String())
}

// cleanCell makes registry text safe and one line on a terminal: control
// characters (line breaks, escape sequences) become spaces, invalid UTF-8
// the replacement character, runs of spaces one space.
func cleanCell(s string) string {
	clean := true
	for _, c := range s {
		if c == utf8.RuneError || unicode.IsControl(c) {
			clean = false
			break
		}
	}
	if clean && !strings.Contains(s, "  ") {
		return s
	}
	s = strings.Map(func(c rune) rune {
		if unicode.IsControl(c) {
			return ' '
		}
		return c
	}, strings.ToValidUTF8(s, "\uFFFD"))
	return strings.Join(strings.Fields(s), " ")
}
