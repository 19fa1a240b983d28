package registry

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
)

// ServicesOptions shape a services(5) file written by WriteServices.
type ServicesOptions struct {
	// Header lines are written first, each as a comment.
	Header []string
	// DNSSDNames lists the names registered without a port (DNS-SD only,
	// RFC 6335 section 5) as comments at the end: services(5) has no
	// entry without a port, and generated files often drop them.
	DNSSDNames bool
}

// servicesKey names one name on one port and protocol.
type servicesKey struct {
	name  string // lowercase
	port  int32
	proto Protocol
}

// servicesName reports whether a name can be a services(5) entry or
// alias: one field, no comment character.
func servicesName(name string) bool {
	return name != "" && !strings.ContainsFunc(name, func(r rune) bool { return unicode.IsSpace(r) || r == '#' })
}

// servicesComment is a description made one line for a comment.
func servicesComment(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// WriteServices writes the snapshot as a services(5) file in the style of
// netbase and iana-etc: one entry per assigned name, port and protocol,
// in port order, "name port/proto [aliases] # description". The registry's
// aliases and duplicates (www and www-http of http) are aliases on the
// entry of the name they stand for when it has that port and protocol,
// entries of their own otherwise. services(5) has no ranges, so a range
// is written as its first port with the range in the comment (x11
// 6000/tcp # X Window System (ports 6000-6063)). Names a services file
// cannot hold (with white space or '#') and rows without a name or a
// protocol are left out. It returns the number of entries written.
func WriteServices(w io.Writer, s *Snapshot, opts ServicesOptions) (int, error) {
	bw := bufio.NewWriter(w)
	for _, h := range opts.Header {
		fmt.Fprintf(bw, "# %s\n", servicesComment(h))
	}
	recs := s.Records()
	// The entries each alias joins, and the names they join.
	primaries := map[servicesKey]bool{}
	for i := range recs {
		r := &recs[i]
		if r.AliasOf == "" && r.HasPort() && r.Protocol != ProtoNone {
			primaries[servicesKey{strings.ToLower(r.Name), r.PortLow, r.Protocol}] = true
		}
	}
	aliases := map[servicesKey][]string{}
	for i := range recs {
		r := &recs[i]
		if r.AliasOf == "" || !r.HasPort() || !servicesName(r.Name) {
			continue
		}
		k := servicesKey{strings.ToLower(r.AliasOf), r.PortLow, r.Protocol}
		if primaries[k] {
			aliases[k] = append(aliases[k], r.Name)
		}
	}
	written := map[servicesKey]bool{}
	n := 0
	for i := range recs {
		r := &recs[i]
		if r.Name == "" || !r.HasPort() || r.Protocol == ProtoNone || !servicesName(r.Name) {
			continue
		}
		k := servicesKey{strings.ToLower(r.Name), r.PortLow, r.Protocol}
		if written[k] {
			continue
		}
		if r.AliasOf != "" && primaries[servicesKey{strings.ToLower(r.AliasOf), r.PortLow, r.Protocol}] {
			continue // an alias on its primary's line
		}
		written[k] = true
		n++
		line := fmt.Sprintf("%-15s %-11s", r.Name, strconv.Itoa(int(r.PortLow))+"/"+string(r.Protocol))
		if as := aliases[k]; len(as) > 0 {
			line += " " + strings.Join(as, " ")
		}
		comment := servicesComment(r.Description)
		if r.IsRange() {
			comment = strings.TrimSpace(comment + " (ports " + strconv.Itoa(int(r.PortLow)) + "-" + strconv.Itoa(int(r.PortHigh)) + ")")
		}
		if comment != "" {
			line += " # " + comment
		}
		bw.WriteString(strings.TrimRight(line, " "))
		bw.WriteByte('\n')
	}
	if opts.DNSSDNames {
		first := true
		seen := map[string]bool{}
		for i := range recs {
			r := &recs[i]
			k := strings.ToLower(r.Name)
			if r.Name == "" || r.HasPort() || seen[k] {
				continue
			}
			seen[k] = true
			if first {
				bw.WriteString("\n# Service names registered without a port (DNS-SD only, RFC 6335 section 5):\n")
				first = false
			}
			fmt.Fprintf(bw, "# %-15s %s\n", servicesComment(r.Name), servicesComment(r.Description))
		}
	}
	return n, bw.Flush()
}

// WriteCSV writes the snapshot's records in IANA's CSV rendering, with
// its header, so that ParseCSV reads back the same records.
func WriteCSV(w io.Writer, s *Snapshot) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true // as IANA's file
	if err := cw.Write(csvHeader[:]); err != nil {
		return err
	}
	row := make([]string, len(csvHeader))
	recs := s.Records()
	for i := range recs {
		r := &recs[i]
		port := ""
		if r.HasPort() {
			port = strconv.Itoa(int(r.PortLow))
			if r.IsRange() {
				port += "-" + strconv.Itoa(int(r.PortHigh))
			}
		}
		row[csvName] = r.Name
		row[csvPort] = port
		row[csvProto] = string(r.Protocol)
		row[csvDescription] = r.Description
		row[csvAssignee] = bracketed(splitPeople(r.Assignee))
		row[csvContact] = bracketed(splitPeople(r.Contact))
		row[csvRegistered] = r.Registered
		row[csvModified] = r.Modified
		row[csvReference] = bracketed(r.References)
		row[csvServiceCode] = r.ServiceCode
		row[csvUnauthorized] = r.Unauthorized
		row[csvNotes] = r.Notes
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// splitPeople undoes joinPeople.
func splitPeople(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ", ")
}

// bracketed writes a list the way IANA's CSV does: "[RFC9110][RFC9260]".
func bracketed(items []string) string {
	var b strings.Builder
	for _, it := range items {
		b.WriteByte('[')
		b.WriteString(it)
		b.WriteByte(']')
	}
	return b.String()
}

// WriteJSONLines writes one JSON object per record (Record's JSON), one
// per line, in registry order.
func WriteJSONLines(w io.Writer, s *Snapshot) error {
	bw := bufio.NewWriter(w)
	recs := s.Records()
	for i := range recs {
		b, err := recs[i].MarshalJSON()
		if err != nil {
			return err
		}
		bw.Write(b)
		bw.WriteByte('\n')
	}
	return bw.Flush()
}
