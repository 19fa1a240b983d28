package web

import (
	"html/template"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/svcreg/svcreg/mdns"
	"github.com/svcreg/svcreg/registry"
)

// recordRows renders the rows of a results table. It is written out by
// hand rather than as a template range: a search may list hundreds of
// rows, and html/template's reflective calls and escapers cost about 60 us
// per row where this costs about 1 us, which keeps the worst search page
// well under 50 ms. Every value goes through template.HTMLEscapeString;
// the surrounding table is still a template (partials.html, "records").
func recordRows(recs []*registry.Record) template.HTML {
	var b strings.Builder
	b.Grow(len(recs) * 320)
	for _, r := range recs {
		writeRecordRow(&b, r)
	}
	return template.HTML(b.String()) //nolint:gosec // every field escaped above
}

func writeRecordRow(b *strings.Builder, r *registry.Record) {
	esc := template.HTMLEscapeString
	b.WriteString("<tr>\n    <td data-label=\"Name\">")
	if r.Name != "" {
		b.WriteString(`<a href="`)
		b.WriteString(esc(serviceURL(r.Name)))
		b.WriteString(`">`)
		b.WriteString(esc(r.Name))
		b.WriteString("</a>")
	} else {
		b.WriteString(`<span class="muted">(none)</span>`)
	}
	b.WriteString("</td>\n    <td data-label=\"Protocol\">")
	if r.Protocol != registry.ProtoNone {
		b.WriteString(esc(string(r.Protocol)))
	} else {
		b.WriteString(`<span class="muted" title="no transport protocol registered">-</span>`)
	}
	b.WriteString(`</td>` + "\n    " + `<td data-label="Port" data-sort="`)
	b.WriteString(strconv.Itoa(int(r.PortLow)))
	b.WriteString(`">`)
	if r.HasPort() {
		if r.IsRange() {
			b.WriteString(portText(r))
		} else {
			b.WriteString(`<a href="`)
			b.WriteString(portURL(r.Protocol, r.PortLow))
			b.WriteString(`">`)
			b.WriteString(portText(r))
			b.WriteString("</a>")
		}
	}
	st := esc(r.Status.String())
	b.WriteString("</td>\n    <td data-label=\"Status\"><span class=\"status st-")
	b.WriteString(st)
	b.WriteString(`">`)
	b.WriteString(st)
	b.WriteString("</span></td>\n    <td data-label=\"Description\">")
	b.WriteString(esc(r.Description))
	b.WriteString("</td>\n    <td data-label=\"TXT keys\">")
	b.WriteString(esc(txtSummary(r.TXTKeys)))
	b.WriteString("</td>\n  </tr>\n")
}

// groupRows renders search results, one row per service: the protocols,
// ports, statuses and descriptions of its records together. Like
// recordRows it is written out by hand for speed.
func groupRows(groups []registry.SearchGroup) template.HTML {
	var b strings.Builder
	b.Grow(len(groups) * 360)
	for i := range groups {
		writeGroupRow(&b, &groups[i])
	}
	return template.HTML(b.String()) //nolint:gosec // every field escaped below
}

func writeGroupRow(b *strings.Builder, g *registry.SearchGroup) {
	esc := template.HTMLEscapeString
	b.WriteString("<tr>\n    <td data-label=\"Name\">")
	if g.Name != "" {
		b.WriteString(`<a href="`)
		b.WriteString(esc(serviceURL(g.Name)))
		b.WriteString(`">`)
		b.WriteString(esc(g.Name))
		b.WriteString("</a>")
	} else {
		b.WriteString(`<span class="muted">(none)</span>`)
	}
	b.WriteString("</td>\n    <td data-label=\"Protocol\">")
	if len(g.Protocols) == 0 {
		b.WriteString(`<span class="muted" title="no transport protocol registered">-</span>`)
	}
	for i, p := range g.Protocols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(esc(string(p)))
	}
	// Ports: each distinct port or range once, linked to the page of its
	// protocol, or to the page of every protocol when several share it.
	sortKey := -1
	var ports []string
	var portProtos [][]registry.Protocol
	var portRecs []*registry.Record
	for _, r := range g.Records {
		if !r.HasPort() {
			continue
		}
		if sortKey < 0 {
			sortKey = int(r.PortLow)
		}
		t := portText(r)
		i := slices.Index(ports, t)
		if i < 0 {
			i = len(ports)
			ports, portProtos, portRecs = append(ports, t), append(portProtos, nil), append(portRecs, r)
		}
		if !slices.Contains(portProtos[i], r.Protocol) {
			portProtos[i] = append(portProtos[i], r.Protocol)
		}
	}
	if sortKey < 0 {
		for _, p := range g.Profiles {
			if p.Port >= 0 {
				sortKey = int(p.Port)
				ports = append(ports, strconv.Itoa(int(p.Port)))
				portProtos, portRecs = append(portProtos, nil), append(portRecs, nil)
				break
			}
		}
	}
	b.WriteString("</td>\n    <td data-label=\"Port\" data-sort=\"")
	b.WriteString(strconv.Itoa(sortKey))
	b.WriteString(`">`)
	for i, t := range ports {
		if i > 0 {
			b.WriteString(", ")
		}
		r := portRecs[i]
		switch {
		case r == nil || r.IsRange():
			b.WriteString(t)
		case len(portProtos[i]) > 1:
			b.WriteString(`<a href="/ports/`)
			b.WriteString(t)
			b.WriteString(`">`)
			b.WriteString(t)
			b.WriteString("</a>")
		default:
			b.WriteString(`<a href="`)
			b.WriteString(portURL(r.Protocol, r.PortLow))
			b.WriteString(`">`)
			b.WriteString(t)
			b.WriteString("</a>")
		}
	}
	b.WriteString("</td>\n    <td data-label=\"Status\">")
	var statuses []registry.Status
	for _, r := range g.Records {
		if !slices.Contains(statuses, r.Status) {
			statuses = append(statuses, r.Status)
		}
	}
	for _, st := range statuses {
		s := esc(st.String())
		b.WriteString(`<span class="status st-`)
		b.WriteString(s)
		b.WriteString(`">`)
		b.WriteString(s)
		b.WriteString("</span> ")
	}
	if len(g.Records) == 0 {
		b.WriteString(`<span class="status st-profile" title="known from a public specification, not listed by IANA">profile</span>`)
	}
	b.WriteString("</td>\n    <td data-label=\"Description\">")
	var descs []string
	for _, r := range g.Records {
		if r.Description != "" && !slices.Contains(descs, r.Description) {
			descs = append(descs, r.Description)
		}
	}
	for _, p := range g.Profiles {
		if len(descs) == 0 && p.Description != "" {
			descs = append(descs, p.Description)
		}
	}
	b.WriteString(esc(strings.Join(descs, "; ")))
	b.WriteString("</td>\n    <td data-label=\"TXT keys\">")
	for _, r := range g.Records {
		if t := txtSummary(r.TXTKeys); t != "" {
			b.WriteString(esc(t))
			break
		}
	}
	b.WriteString("</td>\n  </tr>\n")
}

// adRows renders the rows of the LAN table, by hand for the same reason
// as recordRows: every open tab refetches the table after each change,
// and a LAN may hold a thousand instances. Raw bytes from the network go
// through displayRaw and then template.HTMLEscapeString.
func adRows(ads []adView) template.HTML {
	var b strings.Builder
	b.Grow(len(ads) * 1200)
	for i := range ads {
		writeAdRow(&b, &ads[i])
	}
	return template.HTML(b.String()) //nolint:gosec // every field escaped
}

// writeAdRow writes one advertisement as a table row, one cell per
// column of the advertisements table, every field escaped.
func writeAdRow(b *strings.Builder, a *adView) {
	b.WriteString(`<tr id="`)
	b.WriteString(template.HTMLEscapeString(a.ID))
	b.WriteString(`"`)
	if a.Worst != "" {
		b.WriteString(` class="worst-`)
		b.WriteString(a.Worst)
		b.WriteString(`"`)
	}
	b.WriteString(">")
	for _, cell := range adCells {
		b.WriteString("\n    ")
		cell(b, a)
	}
	b.WriteString("\n  </tr>\n")
}

// adCells are the columns of the advertisements table, in order.
var adCells = [...]func(*strings.Builder, *adView){
	writeInstanceCell, writeTypeCell, writeHostCell, writeAddrCell,
	writeTXTCell, writeSeenCell, writeInterfaceCell, writeFindingsCell,
}

func writeInstanceCell(b *strings.Builder, a *adView) {
	b.WriteString(`<td class="instance" data-label="Instance">`)
	b.WriteString(template.HTMLEscapeString(displayRaw(a.Instance)))
	b.WriteString("</td>")
}

// writeTypeCell writes the service type, its domain and its subtypes.
func writeTypeCell(b *strings.Builder, a *adView) {
	esc := template.HTMLEscapeString
	w := func(s string) { b.WriteString(s) }
	w(`<td data-label="Type"><code>`)
	w(esc(displayRaw(a.ServiceType())))
	w("</code>")
	if a.Domain != "" {
		w(`<span class="muted">.`)
		w(esc(displayRaw(a.Domain)))
		w("</span>")
	}
	if len(a.Subtypes) > 0 {
		w(`<br><span class="muted">subtypes:</span> `)
		for i, s := range a.Subtypes {
			if i > 0 {
				w(", ")
			}
			w("<code>")
			w(esc(displayRaw(s)))
			w("</code>")
		}
	}
	w("</td>")
}

// writeHostCell writes the SRV target and port.
func writeHostCell(b *strings.Builder, a *adView) {
	w := func(s string) { b.WriteString(s) }
	w(`<td data-label="Host and port">`)
	if a.Host != "" {
		w("<code>")
		w(template.HTMLEscapeString(displayRaw(a.Host)))
		w("</code>")
	} else {
		w(`<span class="muted">no SRV</span>`)
	}
	if a.Port != 0 {
		w(":")
		w(strconv.Itoa(int(a.Port)))
	}
	w("</td>")
}

func writeAddrCell(b *strings.Builder, a *adView) {
	b.WriteString(`<td data-label="Addresses">`)
	for _, addr := range a.Addrs {
		b.WriteString("<code>")
		b.WriteString(template.HTMLEscapeString(addr.String()))
		b.WriteString("</code><br>")
	}
	b.WriteString("</td>")
}

// writeTXTCell writes the TXT strings, or says there is no TXT record or
// an empty one.
func writeTXTCell(b *strings.Builder, a *adView) {
	w := func(s string) { b.WriteString(s) }
	w(`<td data-label="TXT">`)
	switch {
	case !a.HasTXT:
		w(`<span class="muted">no TXT</span>`)
	case len(a.TXT) == 0:
		w(`<span class="muted">empty TXT record</span>`)
	default:
		w(`<ul class="txt">`)
		for _, s := range a.TXT {
			w("<li><code>")
			w(template.HTMLEscapeString(displayRaw(s)))
			w("</code></li>")
		}
		w("</ul>")
	}
	w("</td>")
}

// writeSeenCell writes when the advertisement was first and last seen
// (sortable by the last) and the TTLs it carried.
func writeSeenCell(b *strings.Builder, a *adView) {
	w := func(s string) { b.WriteString(s) }
	last := a.LastSeen.UTC().Format(time.RFC3339)
	w(`<td data-label="Seen" data-sort="`)
	w(last)
	w(`">first <time datetime="`)
	w(a.FirstSeen.UTC().Format(time.RFC3339))
	w(`">`)
	w(a.FirstSeen.UTC().Format("15:04:05"))
	w(`</time><br>` + "\n      " + `last <time datetime="`)
	w(last)
	w(`">`)
	w(a.LastSeen.UTC().Format("15:04:05"))
	w("</time>")
	if len(a.TTLs) > 0 {
		w(`<br><span class="muted">TTL `)
		for i, t := range a.TTLs {
			if i > 0 {
				w(", ")
			}
			w(t.Type)
			w(" ")
			w(strconv.FormatUint(uint64(t.TTL), 10))
		}
		w("</span>")
	}
	w("</td>")
}

// writeInterfaceCell writes the interface and the address the
// advertisement came from.
func writeInterfaceCell(b *strings.Builder, a *adView) {
	esc := template.HTMLEscapeString
	b.WriteString(`<td data-label="Interface">`)
	b.WriteString(esc(a.Interface))
	if a.Source.IsValid() {
		b.WriteString(`<br><span class="muted">from `)
		b.WriteString(esc(a.Source.String()))
		b.WriteString("</span>")
	}
	b.WriteString("</td>")
}

// writeFindingsCell writes the findings (sortable by the worst severity),
// each expandable to its message, evidence and RFC.
func writeFindingsCell(b *strings.Builder, a *adView) {
	w := func(s string) { b.WriteString(s) }
	w(`<td data-label="Findings" data-sort="`)
	w(a.Worst)
	w(`">`)
	if len(a.Findings) == 0 {
		w(`<span class="ok">no findings</span>`)
	} else {
		w(`<ul class="findings">`)
		for i := range a.Findings {
			writeFinding(b, &a.Findings[i])
		}
		w("</ul>")
	}
	w("</td>")
}

func writeFinding(b *strings.Builder, f *mdns.Finding) {
	esc := template.HTMLEscapeString
	w := func(s string) { b.WriteString(s) }
	sev := esc(f.Severity.String())
	w("<li>\n      <details><summary><span class=\"badge sev-")
	w(sev)
	w(`">`)
	w(sev)
	w(`</span> <code class="rule-id">`)
	w(esc(f.Rule))
	w("</code></summary>\n      <p>")
	w(esc(f.Message))
	w("</p>")
	if f.Source != "" {
		w(`<p><span class="muted">from:</span> `)
		w(esc(f.Source))
		w("</p>")
	}
	if f.Evidence != "" {
		w(`<p><span class="muted">evidence:</span> <code>`)
		w(esc(displayRaw(f.Evidence)))
		w("</code></p>")
	}
	if f.RFC != "" {
		w("\n      <p>")
		if u := rfcURL(f.RFC); u != "" {
			w(`<a href="`)
			w(esc(u))
			w(`" rel="noreferrer">`)
			w(esc(f.RFC))
			w("</a>")
		} else {
			w(esc(f.RFC))
		}
		w("</p>")
	}
	w("\n      </details></li>")
}
