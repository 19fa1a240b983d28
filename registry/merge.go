package registry

import (
	"reflect"
	"strconv"
	"strings"
)

// Conflict records one registration that two sources describe differently.
type Conflict struct {
	Key    string   `json:"key"`    // "name/proto/port"
	Kept   string   `json:"kept"`   // source:line of the record kept
	Other  string   `json:"other"`  // source:line of the record dropped
	Fields []string `json:"fields"` // fields that differ
}

// recordKey identifies a registration across sources: name
// (case-insensitive), protocol and port or range. Unnamed rows are keyed
// by their status too, so "Reserved" and "Unassigned" rows never collapse.
func recordKey(r *Record) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(r.Name))
	b.WriteByte('/')
	b.WriteString(string(r.Protocol))
	b.WriteByte('/')
	if r.HasPort() {
		b.WriteString(strconv.Itoa(int(r.PortLow)))
		if r.PortHigh != r.PortLow {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(int(r.PortHigh)))
		}
	}
	if r.Name == "" {
		b.WriteByte('/')
		b.WriteString(r.Status.String())
	}
	return b.String()
}

// recordDate is the date a record was last touched, for "newer wins".
func recordDate(r *Record) string {
	switch {
	case r.Modified != "":
		return r.Modified
	case r.Registered != "":
		return r.Registered
	}
	return r.Date
}

// Merge combines sources in order. Records with the same key collapse when
// identical; when they differ, the one with the newer record date wins,
// then the one from the source with the newer "Last Updated", then the
// later source; each such difference is reported as a Conflict. An
// undetermined Date is settled from the other record when that one says
// whether the date is a registration or a modification.
func Merge(sources ...*Source) ([]Record, []Conflict) {
	if len(sources) == 1 {
		out := make([]Record, len(sources[0].Records))
		copy(out, sources[0].Records)
		return out, nil
	}
	type slot struct {
		idx     int
		updated string
	}
	var out []Record
	var conflicts []Conflict
	seen := map[string]slot{}
	for _, src := range sources {
		// One source may hold two records with the same key (the
		// DNS-SD-only "rdp" is registered twice): they never collapse
		// into each other; the n-th of a source pairs with the n-th of
		// the sources before it.
		occ := map[string]int{}
		for i := range src.Records {
			r := src.Records[i]
			k := recordKey(&r)
			if n := occ[k]; n > 0 {
				occ[k]++
				k += "#" + strconv.Itoa(n)
			} else {
				occ[k] = 1
			}
			prev, ok := seen[k]
			if !ok {
				seen[k] = slot{idx: len(out), updated: src.Updated}
				out = append(out, r)
				continue
			}
			old := &out[prev.idx]
			settleDate(old, &r)
			settleDate(&r, old)
			diff := differingFields(old, &r)
			if len(diff) == 0 {
				continue
			}
			keepNew := recordDate(&r) > recordDate(old) ||
				(recordDate(&r) == recordDate(old) && src.Updated >= prev.updated)
			c := Conflict{Key: k, Fields: diff}
			if keepNew {
				c.Kept, c.Other = where(&r), where(old)
				*old = r
				seen[k] = slot{idx: prev.idx, updated: src.Updated}
			} else {
				c.Kept, c.Other = where(old), where(&r)
			}
			conflicts = append(conflicts, c)
		}
	}
	return out, conflicts
}

// settleDate resolves r's undetermined Date using other, a record of the
// same registration from a source that knows the date's role.
func settleDate(r, other *Record) {
	if r.Date == "" || other.Date != "" {
		return
	}
	switch r.Date {
	case other.Registered:
		r.Registered, r.Date = r.Date, ""
	case other.Modified:
		r.Modified, r.Date = r.Date, ""
	}
}

func where(r *Record) string { return r.Source + ":" + strconv.Itoa(r.Line) }

// differingFields names the registry fields (not provenance) that differ.
func differingFields(a, b *Record) []string {
	var out []string
	add := func(name string, x, y any) {
		if !reflect.DeepEqual(x, y) {
			out = append(out, name)
		}
	}
	add("name", a.Name, b.Name)
	add("status", a.Status, b.Status)
	// Free text compares with its white space collapsed: the plain-text
	// and markdown renderings fold the XML's line breaks and indentation
	// into single spaces, which is no change of the registry.
	add("description", spaced(a.Description), spaced(b.Description))
	add("assignee", a.Assignee, b.Assignee)
	add("contact", a.Contact, b.Contact)
	add("registered", a.Registered, b.Registered)
	add("modified", a.Modified, b.Modified)
	add("date", a.Date, b.Date)
	add("references", nilIfEmpty(a.References), nilIfEmpty(b.References))
	add("service_code", a.ServiceCode, b.ServiceCode)
	add("unauthorized", spaced(a.Unauthorized), spaced(b.Unauthorized))
	add("notes", spaced(a.Notes), spaced(b.Notes))
	ta, tb := a.TXTKeys, b.TXTKeys
	ta.Raw, tb.Raw = spaced(ta.Raw), spaced(tb.Raw)
	add("txt_keys", ta, tb)
	add("subtypes", nilIfEmpty(a.Subtypes), nilIfEmpty(b.Subtypes))
	add("alias_of", a.AliasOf, b.AliasOf)
	return out
}

// spaced collapses runs of white space to one space and trims the ends.
func spaced(s string) string {
	if !strings.ContainsAny(s, "\t\n\r\v\f") && !strings.Contains(s, "  ") && strings.TrimSpace(s) == s {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}
