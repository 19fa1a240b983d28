package registry

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// ErrSyntaxSpec marks a value syntax a profile cannot use.
var ErrSyntaxSpec = errors.New("bad value syntax")

type syntaxKind uint8

const (
	syntaxText syntaxKind = iota // anything
	syntaxInt
	syntaxEnum
	syntaxUUID
	syntaxHex
	syntaxHexFlags
	syntaxMAC
	syntaxVersion
	syntaxMIMEList
	syntaxRelPath
	syntaxAbsPath
	syntaxURL
	syntaxPattern
)

// ValueSyntax is what a profile says a TXT value looks like, parsed from
// its spec ("int 0-4095", "enum T|F", "uuid", ...) once, when the profile
// is loaded. The zero value accepts anything.
type ValueSyntax struct {
	kind   syntaxKind
	lo, hi int64
	enum   []string
	re     *regexp.Regexp
	spec   string
}

// ParseValueSyntax reads a syntax spec: "" or "text" (anything), "int
// LO-HI", "enum A|B|C" (case-insensitive), "uuid", "hex", "hexflags" (0x1F
// or 0x1F,0x2), "mac", "version" (1.2.3), "mime-list" (type/subtype,
// comma-separated), "relpath" (no leading /), "abspath" (a leading /),
// "url", or "pattern REGEXP" (Go syntax, matched against the whole value
// as written).
func ParseValueSyntax(spec string) (ValueSyntax, error) {
	word, arg, _ := strings.Cut(strings.TrimSpace(spec), " ")
	arg = strings.TrimSpace(arg)
	v := ValueSyntax{spec: strings.TrimSpace(spec)}
	simple := map[string]syntaxKind{"": syntaxText, "text": syntaxText, "uuid": syntaxUUID, "hex": syntaxHex,
		"hexflags": syntaxHexFlags, "mac": syntaxMAC, "version": syntaxVersion, "mime-list": syntaxMIMEList,
		"relpath": syntaxRelPath, "abspath": syntaxAbsPath, "url": syntaxURL}
	if k, ok := simple[word]; ok {
		if arg != "" {
			return ValueSyntax{}, fmt.Errorf("%w %q: %s takes no argument", ErrSyntaxSpec, spec, word)
		}
		v.kind = k
		return v, nil
	}
	switch word {
	case "int":
		a, b, ok := strings.Cut(arg, "-")
		lo, err1 := strconv.ParseInt(a, 10, 64)
		hi, err2 := strconv.ParseInt(b, 10, 64)
		if !ok || err1 != nil || err2 != nil || lo > hi {
			return ValueSyntax{}, fmt.Errorf("%w %q: want int LO-HI", ErrSyntaxSpec, spec)
		}
		v.kind, v.lo, v.hi = syntaxInt, lo, hi
	case "enum":
		v.kind, v.enum = syntaxEnum, strings.Split(arg, "|")
		for _, e := range v.enum {
			if e == "" {
				return ValueSyntax{}, fmt.Errorf("%w %q: want enum A|B|C", ErrSyntaxSpec, spec)
			}
		}
	case "pattern":
		if arg == "" {
			return ValueSyntax{}, fmt.Errorf("%w %q: want pattern REGEXP", ErrSyntaxSpec, spec)
		}
		re, err := regexp.Compile(arg)
		if err != nil {
			return ValueSyntax{}, fmt.Errorf("%w %q: want pattern REGEXP: %w", ErrSyntaxSpec, spec, err)
		}
		v.kind, v.re = syntaxPattern, re
	default:
		return ValueSyntax{}, fmt.Errorf("%w %q: unknown kind %q", ErrSyntaxSpec, spec, word)
	}
	return v, nil
}

// IsText reports whether the syntax accepts every value.
func (v ValueSyntax) IsText() bool { return v.kind == syntaxText }

// String is the spec as written ("int 0-4095"), "" for text.
func (v ValueSyntax) String() string {
	if v.kind == syntaxText {
		return ""
	}
	return v.spec
}

// MarshalText implements encoding.TextMarshaler (the spec).
func (v ValueSyntax) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// Describe says in words what the syntax accepts: "an integer from 0 to
// 4095".
func (v ValueSyntax) Describe() string {
	switch v.kind {
	case syntaxInt:
		return "an integer from " + strconv.FormatInt(v.lo, 10) + " to " + strconv.FormatInt(v.hi, 10)
	case syntaxEnum:
		if len(v.enum) == 1 {
			return strconv.Quote(v.enum[0])
		}
		return "one of " + strings.Join(v.enum, ", ")
	case syntaxUUID:
		return "a UUID (8-4-4-4-12 hex digits)"
	case syntaxHex:
		return "hex digits"
	case syntaxHexFlags:
		return "0x-prefixed hex, optionally a second comma-separated word (0x1F,0x2)"
	case syntaxMAC:
		return "a MAC address (XX:XX:XX:XX:XX:XX)"
	case syntaxVersion:
		return "a version number (1.2.3)"
	case syntaxMIMEList:
		return "a comma-separated list of MIME types (application/pdf,image/urf)"
	case syntaxRelPath:
		return "a resource path without a leading /"
	case syntaxAbsPath:
		return "a path starting with /"
	case syntaxURL:
		return "an absolute URL (scheme://host/...)"
	case syntaxPattern:
		return "a value matching " + v.re.String()
	}
	return "any value"
}

// Example returns a value in the syntax, and ok false for a pattern (a
// regular expression gives no example of its own): for documentation and
// for tests that build advertisements from profiles.
func (v ValueSyntax) Example() (string, bool) {
	switch v.kind {
	case syntaxText:
		return "text", true
	case syntaxInt:
		return strconv.FormatInt(v.lo, 10), true
	case syntaxEnum:
		return v.enum[0], true
	case syntaxUUID:
		return "564e4333-4c38-3442-3633-a45d36c0ffee", true
	case syntaxHex:
		return "0a1b", true
	case syntaxHexFlags:
		return "0x1F", true
	case syntaxMAC:
		return "AA:BB:CC:DD:EE:FF", true
	case syntaxVersion:
		return "1.0", true
	case syntaxMIMEList:
		return "application/pdf,image/urf", true
	case syntaxRelPath:
		return "ipp/print", true
	case syntaxAbsPath:
		return "/", true
	case syntaxURL:
		return "http://device.local/", true
	}
	return "", false
}

// Counterexample returns a value outside the syntax, ok false when every
// value is in it (text) or the syntax is a pattern.
func (v ValueSyntax) Counterexample() (string, bool) {
	switch v.kind {
	case syntaxInt:
		if v.hi < 1<<62 {
			return strconv.FormatInt(v.hi+1, 10), true
		}
		return "x", true
	case syntaxEnum:
		return "not-" + v.enum[0], true
	case syntaxUUID, syntaxHex, syntaxHexFlags, syntaxMAC, syntaxVersion, syntaxMIMEList, syntaxURL:
		return "?", true
	case syntaxRelPath:
		return "/ipp/print", true
	case syntaxAbsPath:
		return "ipp", true
	}
	return "", false
}

// Check reports whether value (the bytes after '=') is in the syntax.
func (v ValueSyntax) Check(value string) bool {
	switch v.kind {
	case syntaxText:
		return true
	case syntaxInt:
		n, err := strconv.ParseInt(value, 10, 64)
		return err == nil && n >= v.lo && n <= v.hi && value[0] != '+'
	case syntaxEnum:
		for _, e := range v.enum {
			if strings.EqualFold(e, value) {
				return true
			}
		}
		return false
	case syntaxUUID:
		return isUUID(value)
	case syntaxHex:
		return value != "" && allHex(value)
	case syntaxHexFlags:
		a, b, two := strings.Cut(value, ",")
		return isHexWord(a) && (!two || isHexWord(b))
	case syntaxMAC:
		return isMAC(value)
	case syntaxVersion:
		return isVersion(value)
	case syntaxMIMEList:
		return isMIMEList(value)
	case syntaxRelPath:
		return !strings.HasPrefix(value, "/") && !strings.ContainsAny(value, " \t")
	case syntaxAbsPath:
		return strings.HasPrefix(value, "/")
	case syntaxURL:
		scheme, rest, ok := strings.Cut(value, "://")
		return ok && scheme != "" && rest != "" && !strings.ContainsAny(value, " \t")
	case syntaxPattern:
		return v.re.MatchString(value)
	}
	return false
}

func allHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func isHexWord(s string) bool {
	return len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X") && allHex(s[2:])
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if s[i] != '-' {
				return false
			}
		} else if !allHex(s[i : i+1]) {
			return false
		}
	}
	return true
}

func isMAC(s string) bool {
	if len(s) != 17 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if i%3 == 2 {
			if s[i] != ':' && s[i] != '-' {
				return false
			}
		} else if !allHex(s[i : i+1]) {
			return false
		}
	}
	return true
}

// isVersion accepts a version as devices write them: a digit first, then
// digits, letters and . + - _ ("1.1", "670.6.2", "2024.6.0.dev0").
func isVersion(s string) bool {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if ok := c >= '0' && c <= '9' || isASCIILetter(c) || c == '.' || c == '+' || c == '-' || c == '_'; !ok {
			return false
		}
	}
	return true
}

func isMIMEList(s string) bool {
	for m := range strings.SplitSeq(s, ",") {
		typ, sub, ok := strings.Cut(strings.TrimSpace(m), "/")
		if !ok || typ == "" || sub == "" || strings.ContainsAny(typ, " /") || strings.ContainsAny(sub, " /") {
			return false
		}
	}
	return true
}
