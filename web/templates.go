package web

import (
	"fmt"
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/svcreg/svcreg/mdns"
	"github.com/svcreg/svcreg/registry"
)

// pageNames are the templates/<name>.html files; each defines "content"
// and is parsed together with layout.html and partials.html.
var pageNames = []string{"home", "search", "service", "port", "lan", "rules", "error"}

func parsePages() (map[string]*template.Template, error) {
	out := make(map[string]*template.Template, len(pageNames)+1)
	for _, n := range pageNames {
		t, err := template.New(n).Funcs(funcs).ParseFS(templateFS,
			"templates/layout.html", "templates/partials.html", "templates/"+n+".html")
		if err != nil {
			return nil, fmt.Errorf("web: parsing template %s: %w", n, err)
		}
		out[n] = t
	}
	return out, nil
}

// funcs holds pure helpers only (no state), shared by every template.
var funcs = template.FuncMap{
	"serviceURL": serviceURL,
	"portURL":    portURL,
	"ports":      portText,
	"refURL":     refURL,
	"rfcURL":     rfcURL,
	"raw":        displayRaw,
	"hhmmss":     func(t time.Time) string { return t.UTC().Format("15:04:05") },
	"isoTime":    func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"sev":        func(s mdns.Severity) string { return s.String() },
	"txtSummary": txtSummary,
	"join":       strings.Join,
	"lower":      strings.ToLower,
	"add":        func(a, b int) int { return a + b },
	"srvType":    func(a *mdns.Advertisement) string { return a.ServiceType() },
	"ttlName":    ttlName,
	"dict":       dict,
	"rows":       recordRows,
	"groupRows":  groupRows,
	"num":        thousands,
	"adRows":     adRows,
}

// thousands writes n with a comma between each group of three digits
// (14,381), as the numbers of a registry are read.
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// dict builds a map from key/value pairs, to pass several values to a
// nested template.
func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, fmt.Errorf("dict: odd number of arguments")
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
		}
		m[k] = kv[i+1]
	}
	return m, nil
}

func serviceURL(name string) string { return "/services/" + url.PathEscape(name) }

// portURL takes the port as int or int32 (Record.PortLow).
func portURL(proto registry.Protocol, port any) string {
	if proto == registry.ProtoNone {
		proto = registry.ProtoTCP
	}
	var n int
	switch p := port.(type) {
	case int:
		n = p
	case int32:
		n = int(p)
	case uint16:
		n = int(p)
	}
	return "/ports/" + string(proto) + "/" + strconv.Itoa(n)
}

func portText(r *registry.Record) string {
	switch {
	case !r.HasPort():
		return ""
	case r.IsRange():
		return strconv.Itoa(int(r.PortLow)) + "-" + strconv.Itoa(int(r.PortHigh))
	}
	return strconv.Itoa(int(r.PortLow))
}

// refURL links a registry reference: RFCs to the RFC Editor, drafts to the
// IETF datatracker, URLs as they are; "" when the reference is plain text.
func refURL(ref string) string {
	ref = strings.TrimSpace(ref)
	lr := strings.ToLower(ref)
	switch {
	case strings.HasPrefix(lr, "rfc"):
		n := strings.TrimSpace(lr[3:])
		if n != "" && allDigits(n) {
			return "https://www.rfc-editor.org/rfc/rfc" + strings.TrimLeft(n, "0")
		}
	case strings.HasPrefix(lr, "draft-"):
		return "https://datatracker.ietf.org/doc/" + url.PathEscape(ref)
	case strings.HasPrefix(lr, "https://"), strings.HasPrefix(lr, "http://"):
		return ref
	}
	return ""
}

// rfcURL links a rule's citation such as "RFC 6763 section 6.4" to the
// section at the RFC Editor; "" when it names no RFC.
func rfcURL(cite string) string {
	f := strings.Fields(strings.ReplaceAll(cite, ",", " "))
	if len(f) < 2 || !strings.EqualFold(f[0], "RFC") || !allDigits(f[1]) {
		if len(f) >= 1 && len(f[0]) > 3 && strings.EqualFold(f[0][:3], "RFC") && allDigits(f[0][3:]) {
			f = append([]string{"RFC", f[0][3:]}, f[1:]...)
		} else {
			return ""
		}
	}
	u := "https://www.rfc-editor.org/rfc/rfc" + f[1]
	if len(f) >= 4 && (strings.EqualFold(f[2], "section") || strings.EqualFold(f[2], "sections")) {
		sec := strings.TrimRight(f[3], ".;:")
		if sec != "" && strings.Trim(sec, "0123456789.") == "" {
			u += "#section-" + sec
		}
	}
	return u
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// displayRaw shows raw DNS label or TXT bytes readably: printable UTF-8 as
// is, control bytes and invalid UTF-8 as \DDD (the master-file escape of
// RFC 1035 section 5.1), so that what a device sent is visible exactly.
func displayRaw(s string) string {
	clean := utf8.ValidString(s)
	if clean {
		for i := 0; i < len(s); i++ {
			if s[i] < 0x20 || s[i] == 0x7f {
				clean = false
				break
			}
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n <= 1) || r < 0x20 || r == 0x7f {
			fmt.Fprintf(&b, `\%03d`, s[i])
			i++
			continue
		}
		b.WriteString(s[i : i+n])
		i += n
	}
	return b.String()
}

func txtSummary(k registry.TXTKeys) string {
	switch k.Kind {
	case registry.TXTUnknown:
		return ""
	case registry.TXTDefined:
		names := make([]string, len(k.Keys))
		for i, key := range k.Keys {
			names[i] = key.Name
		}
		return strings.Join(names, ", ")
	case registry.TXTExternal:
		if k.Ref != "" {
			return "see " + k.Ref
		}
	}
	return k.Kind.String()
}

// ttlName names the record types an Advertisement keeps TTLs for.
func ttlName(rrtype uint16) string {
	switch rrtype {
	case 1:
		return "A"
	case 12:
		return "PTR"
	case 16:
		return "TXT"
	case 28:
		return "AAAA"
	case 33:
		return "SRV"
	}
	return "TYPE" + strconv.Itoa(int(rrtype))
}
