package registry

import "strings"

// maxTXTKeys bounds the keys taken from one note. The longest real list
// has fewer than 20; the bound keeps junk input linear and small.
const maxTXTKeys = 128

// ParseTXTKeys parses the "Defined TXT keys:" part of a registration's
// notes (RFC 6763 section 6 key/value attributes, as the registrants wrote
// them in free text). The phrase may follow other text and is matched
// case-insensitively with any white space between its words. Notes
// without it give TXTUnknown.
//
// The text after the phrase is classified as:
//   - none: "None", "none", "None at present", "0", "there is no TXT keys ..."
//     (but "None" followed by key=value lines is defined);
//   - proprietary: "Proprietary"; "txtvers and proprietary keys" is
//     proprietary with the keys named before "and";
//   - unspecified: "TBD", "Varies", "Will be described at X" (Ref X), an
//     empty note, and prose that names no key;
//   - external: "see X", "Defined in X", "inherited from X", "Contact X",
//     a URL or a document name alone (Ref keeps the reference);
//   - defined: the key list, from key=value lists ("u=<username>
//     p=<password>"), comma lists ("NIF, EP, LM"), bulleted lists ("-
//     txtvers - protovers"), "key (hint)" lists, "key: description" and
//     "key   description" tables, and quoted keys (`key "txtvers"`). A
//     defined list next to a URL keeps the URL in Ref.
//
// Raw is the text after the phrase with white space collapsed. Keys are
// unique (compared case-insensitively) and keep the registrant's case.
// Hints keep the value or description given for a key ("<username>",
// "(string)", "1"); remarks such as "(Same as for _http._tcp)" are
// dropped. ParseTXTKeys compiles nothing per call: it is one tokenising
// pass and allocates only the key slice and, for multi-line text, the
// collapsed strings.
func ParseTXTKeys(notes string) TXTKeys {
	body, ok := txtNoteBody(notes)
	if !ok {
		return TXTKeys{}
	}
	t := TXTKeys{Raw: collapseSpace(body)}
	if classifyWords(&t, body) {
		return t
	}
	p := txtParser{s: body, toks: txtTokenize(body, make([]txtTok, 0, maxTokens(body)))}
	p.classify(&t)
	if len(p.keys) > 0 && t.Kind == TXTUnknown {
		t.Kind = TXTDefined
	}
	if t.Kind == TXTUnknown {
		t.Kind = TXTUnspecified
	}
	if len(p.keys) > 0 {
		t.Keys = p.keys
	}
	return t
}

// txtNoteBody returns the text after "Defined TXT keys:" (colon optional),
// cut before a following "Known Subtypes:" section.
func txtNoteBody(notes string) (string, bool) {
	for i := 0; i+len("definedtxtkeys") <= len(notes); i++ {
		if notes[i]|0x20 != 'd' || (i > 0 && isASCIILetter(notes[i-1])) {
			continue
		}
		j, ok := matchWordFold(notes, i, "defined")
		if !ok {
			continue
		}
		if j = skipSpace(notes, j); j == i+len("defined") {
			continue
		}
		k, ok := matchWordFold(notes, j, "txt")
		if !ok {
			continue
		}
		if j = skipSpace(notes, k); j == k {
			continue
		}
		k, ok = matchWordFold(notes, j, "keys")
		if !ok {
			continue
		}
		k = skipSpace(notes, k)
		if k < len(notes) && notes[k] == ':' {
			k++
		}
		body := notes[k:]
		if c := indexFold(body, "known subtypes"); c >= 0 {
			body = body[:c]
		}
		return body, true
	}
	return "", false
}

// matchWordFold reports whether s[i:] starts with word (ASCII,
// case-insensitive) and returns the index after it.
func matchWordFold(s string, i int, word string) (int, bool) {
	if len(s)-i < len(word) || !strings.EqualFold(s[i:i+len(word)], word) {
		return 0, false
	}
	return i + len(word), true
}

func skipSpace(s string, i int) int {
	for i < len(s) && isSpaceByte(s[i]) {
		i++
	}
	return i
}

func isSpaceByte(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func isASCIILetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// indexFold is strings.Index for an ASCII lower-case needle, ignoring case.
func indexFold(s, lowerNeedle string) int {
	n := len(lowerNeedle)
	for i := 0; i+n <= len(s); i++ {
		if s[i]|0x20 == lowerNeedle[0] && strings.EqualFold(s[i:i+n], lowerNeedle) {
			return i
		}
	}
	return -1
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

// collapseSpace trims s and folds each run of white space into one space.
// It returns s itself (no allocation) when nothing needs folding.
func collapseSpace(s string) string {
	s = strings.TrimFunc(s, func(r rune) bool { return r < 0x80 && isSpaceByte(byte(r)) })
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; isSpaceByte(c) && (c != ' ' || (i+1 < len(s) && isSpaceByte(s[i+1]))) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	b := make([]byte, 0, len(s))
	space := false
	for i := 0; i < len(s); i++ {
		if isSpaceByte(s[i]) {
			space = true
			continue
		}
		if space {
			b = append(b, ' ')
			space = false
		}
		b = append(b, s[i])
	}
	return string(b)
}

// txtTok is one token of a note: a word (bracket and quote groups
// included, so "<path to document>" is one token), or a ',' / ';'
// separator.
type txtTok struct {
	start, end int  // s[start:end]
	eq         int  // offset of the first '=' outside groups, -1 if none
	gend       int  // for a token opening with a group: offset just after the group; else -1
	sep        byte // ',' or ';' for a separator, else 0
	nl         bool // a line break comes before the token
	gap        int  // blanks between this token and the next on the same line (tab = 4)
}

type txtParser struct {
	s    string
	toks []txtTok
	keys []TXTKey
}

const groupChars = "(<[{\"'"
const closeChars = ")>]}\"'"

func (p *txtParser) text(t txtTok) string { return p.s[t.start:t.end] }

// maxTokens bounds the number of tokens of s: every token but the first
// follows a blank or a separator, and a separator is a token itself.
func maxTokens(s string) int {
	n := 1
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == ',' || c == ';':
			n += 2
		case isSpaceByte(c):
			n++
		}
	}
	return n
}

// txtTokenizer splits a note into tokens. It caches, per group kind, the
// index of the next closing byte, so that junk full of unclosed brackets
// stays linear.
type txtTokenizer struct {
	s     string
	close [6]int // -2 unknown, -1 none left
}

// closer returns the index of the next closing byte of group kind k at or
// after from, or -1.
func (z *txtTokenizer) closer(k, from int) int {
	c := z.close[k]
	if c == -1 || c >= from {
		return c
	}
	if i := strings.IndexByte(z.s[from:], closeChars[k]); i >= 0 {
		z.close[k] = from + i
	} else {
		z.close[k] = -1
	}
	return z.close[k]
}

// opens reports whether the group byte at i opens a group: brackets
// always, quotes only at a token start or after '=', a bracket or '|',
// so that apostrophes ("Apple's") stay text.
func (z *txtTokenizer) opens(k, start, i int) bool {
	if k < 4 || i == start {
		return true
	}
	return strings.IndexByte("=([{<|:", z.s[i-1]) >= 0
}

// txtTokenize appends the tokens of s to toks. It is a function returning
// the slice (not a method storing it) so that a caller's array can stay
// on the stack.
func txtTokenize(s string, toks []txtTok) []txtTok {
	z := txtTokenizer{s: s, close: [6]int{-2, -2, -2, -2, -2, -2}}
	nl := false
	lastEnd := -1 // end of the previous token on the current line, -1 after a line break
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\n' || c == '\r':
			nl, lastEnd = true, -1
			i++
			continue
		case isSpaceByte(c):
			i++
			continue
		}
		if len(toks) > 0 && lastEnd >= 0 {
			gap := 0
			for j := lastEnd; j < i; j++ {
				if s[j] == '\t' {
					gap += 4
				} else {
					gap++
				}
			}
			toks[len(toks)-1].gap = gap
		}
		t := txtTok{start: i, eq: -1, gend: -1, nl: nl}
		nl = false
		if c == ',' || c == ';' {
			t.sep, t.end = c, i+1
			i++
		} else {
			for i < len(s) {
				c = s[i]
				if isSpaceByte(c) || c == ',' || c == ';' {
					break
				}
				if c == '=' && t.eq < 0 {
					t.eq = i - t.start
				}
				if k := strings.IndexByte(groupChars, c); k >= 0 && z.opens(k, t.start, i) {
					if j := z.closer(k, i+1); j >= 0 && (k < 4 || strings.IndexByte(s[i+1:j], '\n') < 0) {
						if i == t.start {
							t.gend = j + 1 - t.start
						}
						i = j + 1
						continue
					}
				}
				i++
			}
			t.end = i
		}
		toks = append(toks, t)
		lastEnd = t.end
	}
	return toks
}

// isGroup reports whether t is one bracket or quote group, possibly
// followed by punctuation: "(string)", "<x y>", "(as per [RFC6763]).".
func (p *txtParser) isGroup(t txtTok, open byte) bool {
	if t.sep != 0 || t.gend < 0 || p.s[t.start] != open {
		return false
	}
	for _, c := range []byte(p.s[t.start+t.gend : t.end]) {
		if c != '.' && c != ')' && c != ':' {
			return false
		}
	}
	return true
}

// groupText is the group of a group token, brackets included.
func (p *txtParser) groupText(t txtTok) string { return p.s[t.start : t.start+t.gend] }

// isRemark reports whether t is a parenthesised or bracketed remark
// rather than a hint: "(Same as for _http._tcp)", "(as described in the
// draft)", "[if not specified ...]".
func (p *txtParser) isRemark(t txtTok) bool {
	if p.isGroup(t, '[') {
		return true
	}
	if !p.isGroup(t, '(') {
		return false
	}
	in := strings.TrimLeft(p.groupText(t)[1:], " ")
	for _, r := range [...]string{"same as", "as ", "see ", "see:", "if ", "e.g", "i.e", "example", "note", "cf."} {
		if hasPrefixFold(in, r) {
			return true
		}
	}
	return false
}

// identLike reports whether w can be a TXT key as registrants write them:
// printable ASCII without blanks, with a letter, not a bracket group.
func identLike(w string) bool {
	if w == "" || len(w) > 64 || strings.IndexByte(groupChars, w[0]) >= 0 {
		return false
	}
	letter := false
	for i := 0; i < len(w); i++ {
		c := w[i]
		if c <= ' ' || c > '~' {
			return false
		}
		if isASCIILetter(c) {
			letter = true
		}
	}
	return letter
}

// isStopWord reports English function words that mark prose, never a key
// list ("Application will rely upon ...", "1 TXT record key for the ...").
func isStopWord(w string) bool {
	if len(w) > 6 {
		return false
	}
	var b [6]byte
	for i := 0; i < len(w); i++ {
		b[i] = w[i] | 0x20
	}
	switch string(b[:len(w)]) {
	case "a", "an", "the", "of", "for", "to", "in", "on", "by", "with", "is", "are", "be",
		"will", "may", "and", "or", "if", "as", "at", "from", "that", "this", "which",
		"where", "when", "used", "not", "all", "there", "it", "its", "upon", "into", "per",
		"should", "must", "can", "than", "these", "those", "has", "have", "any", "each":
		return true
	}
	return false
}

// isEnumerator reports list bullets and enumerators: "-", "*", "a.", "1.", "b)".
func isEnumerator(w string) bool {
	switch {
	case w == "-" || w == "*" || w == "\u2022" || w == "--":
		return true
	case len(w) == 2 && (w[1] == '.' || w[1] == ')') && (isASCIILetter(w[0]) || (w[0] >= '0' && w[0] <= '9')):
		return true
	}
	return false
}

// isExampleMarker reports words that introduce an example, whose key=value
// text must not count as keys ("eg topic=/info", "Example: hash=...").
func isExampleMarker(w string) bool {
	for _, m := range [...]string{"eg", "e.g.", "e.g.,", "e.g", "i.e.", "i.e.,", "example:", "examples:", "normally:", "(examples:", "(e.g."} {
		if strings.EqualFold(w, m) {
			return true
		}
	}
	return false
}

func isTitleWord(w string) bool {
	if len(w) < 2 || w[0] < 'A' || w[0] > 'Z' {
		return false
	}
	for i := 1; i < len(w); i++ {
		if w[i] < 'a' || w[i] > 'z' {
			return false
		}
	}
	return true
}

// cleanKey trims the punctuation registrants put after key names
// ("waMA;", "_display.tcp."). Leading characters stay: "*IDN?" is a key.
func cleanKey(k string) string { return strings.TrimRight(k, ".,;:") }

// addKey appends a key unless it is empty or already present.
func (p *txtParser) addKey(name, hint string) {
	// A key may hold spaces ("Machine ID") but never a tab or a line
	// break: a "<...>" group taken as a key keeps its white space folded.
	name = collapseSpace(cleanKey(name))
	if name == "" || len(p.keys) >= maxTXTKeys {
		return
	}
	for i := range p.keys {
		if strings.EqualFold(p.keys[i].Name, name) {
			return
		}
	}
	if hint != "" {
		hint = collapseSpace(hint)
	}
	if p.keys == nil {
		// One allocation: a note has at most as many keys as words.
		n := 0
		for _, t := range p.toks {
			if t.sep == 0 {
				n++
			}
		}
		p.keys = make([]TXTKey, 0, min(max(n, 1), maxTXTKeys))
	}
	p.keys = append(p.keys, TXTKey{Name: name, Hint: hint})
}

// span is the collapsed text from token a to token b inclusive.
func (p *txtParser) span(a, b txtTok) string { return collapseSpace(p.s[a.start:b.end]) }

// classifyWords settles the notes whose first words decide their kind
// ("None", "Proprietary", "TBD", "see X", ...) from the text alone, so
// that the common cases tokenise and allocate nothing. It reports false
// when the note needs the tokeniser.
func classifyWords(t *TXTKeys, body string) bool {
	r := t.Raw
	if r == "" {
		t.Kind = TXTUnspecified
		return true
	}
	first := r
	if i := strings.IndexAny(r, " ,;"); i >= 0 {
		first = r[:i]
	}
	lw := strings.TrimRight(first, ".:")
	switch {
	case strings.EqualFold(lw, "none") || strings.EqualFold(lw, "nothing") || r == "0" ||
		hasPrefixFold(r, "no txt key") || hasPrefixFold(r, "no keys") ||
		hasPrefixFold(r, "there is no txt key") || hasPrefixFold(r, "there are no txt key"):
		if strings.IndexByte(r, '=') >= 0 {
			return false // "None" over key=value lines: the tokeniser decides
		}
		t.Kind = TXTNone
	case strings.EqualFold(lw, "proprietary"):
		t.Kind = TXTProprietary
	case strings.EqualFold(lw, "tbd") || strings.EqualFold(lw, "tba") || strings.EqualFold(lw, "varies") ||
		hasPrefixFold(r, "to be defined") || hasPrefixFold(r, "to be determined") || hasPrefixFold(r, "not yet defined"):
		t.Kind = TXTUnspecified
	case hasPrefixFold(r, "will be "):
		t.Kind, t.Ref = TXTUnspecified, willBeRef(r)
	case strings.EqualFold(lw, "see"):
		t.Kind, t.Ref = TXTExternal, seeRef(body)
	case strings.IndexByte(r, ' ') < 0 && isDocName(r):
		t.Kind, t.Ref = TXTExternal, urlText(r)
	default:
		for _, pre := range [...]string{"defined in ", "described in ", "specified in ", "documented in ",
			"documented at ", "inherited from ", "refer to ", "as per ", "contact "} {
			if hasPrefixFold(r, pre) {
				t.Kind, t.Ref = TXTExternal, strings.TrimRight(r[len(pre):], ".")
				return true
			}
		}
		return false
	}
	return true
}

// seeRef is the reference named by "see X": the first word when it is a
// URL or document name, else the rest of the line.
func seeRef(body string) string {
	body = strings.TrimLeft(body, " \t\r\n")
	body = strings.TrimLeft(body[3:], ": \t")
	if i := strings.IndexAny(body, "\r\n"); i >= 0 {
		body = body[:i]
	}
	w := body
	if i := strings.IndexAny(body, " \t"); i >= 0 {
		w = body[:i]
	}
	if isURL(w) || isDocName(w) {
		return urlText(w)
	}
	return strings.TrimRight(collapseSpace(body), ".")
}

// classify handles the notes classifyWords left: key lists in their
// various layouts, prose, and references next to keys.
func (p *txtParser) classify(t *TXTKeys) {
	r := t.Raw
	toks := p.toks
	first := strings.TrimRight(p.text(toks[0]), ".,;:")
	if strings.EqualFold(first, "none") || strings.EqualFold(first, "nothing") {
		// "None" followed by key=value lines: the lines are the truth.
		if p.keyEqMode(1, len(toks)) {
			t.Kind = TXTDefined
			return
		}
		t.Kind = TXTNone
		return
	}
	if k, ok := p.proprietarySuffix(); ok {
		p.plainMode(0, k)
		t.Kind = TXTProprietary
		return
	}
	if p.hasEq(0) && p.keyEqMode(0, len(toks)) {
		t.Kind = TXTDefined
		return
	}
	if p.quotedMode() || p.colonMode() || p.gapMode() {
		t.Kind = TXTDefined
		return
	}
	if ref := willBeRef(r); ref != "" {
		t.Kind, t.Ref = TXTUnspecified, ref
		return
	}
	if u := p.firstURL(); u >= 0 {
		t.Ref = urlText(p.text(toks[u]))
		if p.urlMode(u) {
			t.Kind = TXTDefined
			return
		}
		p.keys = p.keys[:0]
		t.Kind = TXTExternal
		if len(toks) > 1 {
			t.Ref = r
		}
		return
	}
	if p.plainMode(0, len(toks)) {
		t.Kind = TXTDefined
		return
	}
	p.keys = p.keys[:0]
	t.Kind = TXTUnspecified
}

// willBeRef returns X from "... will be described at X" / "... will be
// defined in X", or "".
func willBeRef(r string) string {
	for _, ph := range [...]string{"will be described at ", "will be described in ", "will be defined in ",
		"will be defined at ", "will be published at ", "will be published in "} {
		if i := indexFold(r, ph); i >= 0 {
			return strings.TrimRight(r[i+len(ph):], ".")
		}
	}
	return ""
}

func isURL(w string) bool {
	w = strings.TrimLeft(w, "[(<\"'")
	return strings.Contains(w, "://") || hasPrefixFold(w, "www.")
}

// isDocName reports a lone reference to a document: "BonjourPrinting.pdf",
// "omni-livetxt.html", a URL.
func isDocName(w string) bool {
	w = strings.TrimRight(strings.Trim(w, "[]"), ".")
	if isURL(w) {
		return true
	}
	for _, ext := range [...]string{".html", ".htm", ".pdf", ".txt", ".xml"} {
		if hasSuffixFold(w, ext) && len(w) > len(ext) {
			return true
		}
	}
	return false
}

// urlText strips the brackets and punctuation around a URL token.
func urlText(w string) string {
	w = strings.TrimLeft(w, "[(<\"'")
	return strings.TrimRight(w, "])>\"'.,;:")
}

func (p *txtParser) hasEq(from int) bool {
	for _, t := range p.toks[from:] {
		if t.eq >= 0 {
			return true
		}
	}
	return false
}

// proprietarySuffix finds "... and proprietary [keys]" or "... +
// Proprietary" and returns the index of the "and"/"+" token.
func (p *txtParser) proprietarySuffix() (int, bool) {
	n := len(p.toks)
	k := n - 1
	if k >= 0 && strings.EqualFold(strings.TrimRight(p.text(p.toks[k]), "."), "keys") {
		k--
	}
	if k < 2 || !strings.EqualFold(strings.TrimRight(p.text(p.toks[k]), "."), "proprietary") {
		return 0, false
	}
	if w := p.text(p.toks[k-1]); w == "+" || strings.EqualFold(w, "and") {
		return k - 1, true
	}
	return 0, false
}

// keyEqMode reads key=value lists: "u=<username> p=<password>",
// "txtvers=1, sesna, seid", "MAC=, GW-MAC", "path=value (relative URL)",
// "cport= the port for ...", "RMC Client Version=<version>".
func (p *txtParser) keyEqMode(from, to int) bool {
	const (
		stPre     = iota // before the first key=
		stCompact        // after key=value: a separator opens a list
		stList           // in a comma list after key=value
		stProse          // after prose: only key= starts a key
	)
	toks := p.toks[:to]
	first := -1
	for i := from; i < to; i++ {
		if toks[i].eq >= 0 {
			first = i
			break
		}
	}
	if first < 0 {
		return false
	}
	n0 := len(p.keys)
	// Bare words before the first key= are keys when they look like a
	// list ("txtvers server=<...>", "txtvers, *IDN?=<...>"), not prose.
	preEnd := p.joinStart(first)
	if p.text(toks[first])[0] == '=' && preEnd == first && first > from && p.bareKeyTok(toks[first-1]) {
		preEnd = first - 1
	}
	p.preKeys(from, preEnd)
	state := stPre
	for i := first; i < to; i++ {
		t := toks[i]
		w := p.text(t)
		switch {
		case t.sep != 0:
			if state == stCompact {
				state = stList
			}
			continue
		case t.eq >= 0:
			var prose bool
			i, prose = p.eqKey(i, to)
			state = stCompact
			if prose {
				state = stProse
			}
			continue
		case isExampleMarker(w):
			for i+1 < to && toks[i+1].sep == 0 && !toks[i+1].nl {
				i++
			}
			continue
		case isEnumerator(w):
			continue
		}
		if state != stList || toks[i-1].sep == 0 {
			state = stProse
			continue
		}
		// A bare item in a comma list: one identifier, optionally with a
		// "(hint)", ends at the next separator.
		end := i
		for end+1 < to && toks[end+1].sep == 0 && toks[end+1].eq < 0 {
			end++
		}
		if end+1 < to && toks[end+1].eq >= 0 {
			continue // words before a key= in the same item: the key= decides
		}
		switch {
		case end == i && p.listKeyTok(t):
			p.addKey(w, "")
		case end == i+1 && p.listKeyTok(t) && p.isGroup(toks[end], '(') && !p.isRemark(toks[end]):
			p.addKey(w, p.groupText(toks[end]))
		default:
			state = stProse
		}
		i = end
	}
	return len(p.keys) > n0
}

// bareKeyTok reports a word that can stand alone as a key in a list.
func (p *txtParser) bareKeyTok(t txtTok) bool {
	if t.sep != 0 || t.eq >= 0 {
		return false
	}
	w := p.text(t)
	return identLike(cleanKey(w)) && !isStopWord(w) && !strings.HasSuffix(w, ":") && !isEnumerator(w) && w != "..."
}

// listKeyTok is bareKeyTok for a word standing alone between separators,
// where a one-letter key such as "A" (architecture) is no article.
func (p *txtParser) listKeyTok(t txtTok) bool {
	if t.sep != 0 || t.eq >= 0 {
		return false
	}
	w := p.text(t)
	return identLike(cleanKey(w)) && !strings.HasSuffix(w, ":") && !isEnumerator(w) && w != "..."
}

// joinStart returns where the key of the key= token at i starts: i, or
// the first of up to two capitalised words before it on the same item
// ("RMC Client Version=<version>", "MAC Address=<address>").
func (p *txtParser) joinStart(i int) int {
	w := p.text(p.toks[i])
	if w[0] < 'A' || w[0] > 'Z' {
		return i
	}
	j := i
	for j > 0 && i-j < 2 {
		prev := p.toks[j-1]
		pw := p.text(prev)
		if prev.sep != 0 || prev.eq >= 0 || p.toks[j].nl || pw[0] < 'A' || pw[0] > 'Z' || !identLike(pw) || prev.gap != 1 {
			break
		}
		j--
	}
	if j == i {
		return i
	}
	// The joined words must begin their item: the body, a separator or a line.
	if j == 0 || p.toks[j-1].sep != 0 || p.toks[j].nl {
		return j
	}
	return i
}

// preKeys adds the bare words in [from, to) as keys when every one of them
// looks like a key.
func (p *txtParser) preKeys(from, to int) {
	for i := from; i < to; i++ {
		t := p.toks[i]
		if t.sep != 0 || isEnumerator(p.text(t)) {
			continue
		}
		if !p.bareKeyTok(t) {
			return
		}
	}
	for i := from; i < to; i++ {
		if t := p.toks[i]; t.sep == 0 && !isEnumerator(p.text(t)) {
			p.addKey(p.text(t), "")
		}
	}
}

// eqKey adds the key of the key= token at i and its hint, and returns the
// index of the last token consumed and whether the hint was prose.
func (p *txtParser) eqKey(i, to int) (int, bool) {
	t := p.toks[i]
	w := p.text(t)
	key, val := w[:t.eq], strings.TrimLeft(w[t.eq+1:], "=")
	if key == "" {
		// "companyfullname == The name of ...": the word before is the key.
		if i == 0 || !p.bareKeyTok(p.toks[i-1]) {
			return i, true
		}
		key = p.text(p.toks[i-1])
	} else if j := p.joinStart(i); j < i {
		key = p.s[p.toks[j].start : t.start+t.eq]
	}
	next := i + 1
	if val != "" {
		hint := val
		if next < to && p.toks[next].sep == 0 {
			nt := p.toks[next]
			switch {
			case p.isRemark(nt):
				i = next
			case p.isGroup(nt, '('):
				if strings.EqualFold(val, "value") {
					hint = p.groupText(nt)
				} else {
					hint = p.s[t.start+t.eq+1 : nt.start+nt.gend]
				}
				i = next
			}
		}
		p.addKey(key, hint)
		return i, false
	}
	if next >= to || p.toks[next].sep != 0 || p.toks[next].eq >= 0 || p.toks[next].nl {
		p.addKey(key, "")
		return i, false
	}
	// "cport= the port for the content HTTP server ...": the hint is
	// the prose up to the next key=.
	end := next
	for end+1 < to && p.toks[end+1].eq < 0 {
		end++
	}
	p.addKey(key, strings.TrimRight(p.span(p.toks[next], p.toks[end]), ",;"))
	return end, true
}

// quotedMode reads keys named in quotes: `key "txtvers" for ...`,
// `1st key: "txt-vers"`, `"url": if present, ...`.
func (p *txtParser) quotedMode() bool {
	n0 := len(p.keys)
	for i, t := range p.toks {
		if !p.isGroup(t, '"') {
			continue
		}
		in := p.s[t.start+1 : t.start+t.gend-1]
		if !identLike(in) {
			continue
		}
		colon := strings.HasPrefix(p.s[t.start+t.gend:t.end], ":")
		var prev string
		if i > 0 {
			prev = strings.TrimSuffix(p.text(p.toks[i-1]), ":")
		}
		if colon || strings.EqualFold(prev, "key") {
			p.addKey(in, "")
		}
	}
	return len(p.keys) > n0
}

// colonKey returns the key of a "key:" token ("td:") or of a
// "<key>:description" token, and the description part inside the token.
func (p *txtParser) colonKey(t txtTok) (key, rest string, ok bool) {
	if t.sep != 0 {
		return "", "", false
	}
	w := p.text(t)
	if p.s[t.start] == '<' && t.gend > 2 && t.gend < len(w) && w[t.gend] == ':' {
		in := w[1 : t.gend-1]
		return in, w[t.gend+1:], identLike(in)
	}
	if len(w) > 1 && w[len(w)-1] == ':' && identLike(w[:len(w)-1]) && !isExampleMarker(w) {
		return w[:len(w)-1], "", true
	}
	return "", "", false
}

// colonMode reads "key: description" entries, one per line or sentence,
// when the note starts with one ("td: Absolute pathname ...",
// "<type>:application specific kind of protocol; <vers>:...").
func (p *txtParser) colonMode() bool {
	if _, _, ok := p.colonKey(p.toks[0]); !ok {
		return false
	}
	isKey := func(i int) bool {
		if _, _, ok := p.colonKey(p.toks[i]); !ok {
			return false
		}
		if i == 0 || p.toks[i].nl || p.toks[i-1].sep == ';' {
			return true
		}
		return strings.HasSuffix(p.text(p.toks[i-1]), ".")
	}
	for i := 0; i < len(p.toks); {
		key, rest, _ := p.colonKey(p.toks[i])
		end := i
		for end+1 < len(p.toks) && !isKey(end+1) {
			end++
		}
		hint := rest
		if end > i {
			hint = strings.TrimSpace(rest + " " + p.span(p.toks[i+1], p.toks[end]))
		}
		p.addKey(key, strings.TrimRight(hint, ";, "))
		i = end + 1
	}
	return len(p.keys) > 0
}

// gapMode reads "key   description" tables, where a key is a word
// followed by three or more blanks ("auth          plaintext | md5 |
// rsakeys"); the description runs to the next key or the end of the line.
func (p *txtParser) gapMode() bool {
	isKey := func(i int) bool {
		t := p.toks[i]
		return t.gap >= 3 && i+1 < len(p.toks) && p.toks[i+1].sep == 0 && !p.toks[i+1].nl && p.bareKeyTok(t)
	}
	n := 0
	for i := range p.toks {
		if isKey(i) {
			n++
		}
	}
	if n < 2 || !isKey(0) {
		return false
	}
	for i := 0; i < len(p.toks); i++ {
		if !isKey(i) {
			continue
		}
		end := i + 1
		for end+1 < len(p.toks) && !isKey(end+1) && !p.toks[end+1].nl {
			end++
		}
		p.addKey(p.text(p.toks[i]), p.span(p.toks[i+1], p.toks[end]))
		i = end
	}
	return len(p.keys) > 0
}

func (p *txtParser) firstURL() int {
	for i, t := range p.toks {
		if t.sep == 0 && isURL(p.text(t)) {
			return i
		}
	}
	return -1
}

// urlMode reads a key list written next to a URL: "https://... (dn dt md
// mf pr sn vn)", "bidib,node,interface,uid,prod,user - http://...". It
// succeeds only when what is left is a clean list of identifiers.
func (p *txtParser) urlMode(u int) bool {
	rest := make([]txtTok, 0, len(p.toks))
	for i, t := range p.toks {
		if i == u || (t.sep == 0 && isURL(p.text(t))) {
			continue
		}
		rest = append(rest, t)
	}
	for len(rest) > 0 && rest[len(rest)-1].sep == 0 && isEnumerator(p.text(rest[len(rest)-1])) {
		rest = rest[:len(rest)-1]
	}
	if len(rest) == 0 {
		return false
	}
	sub := txtParser{s: p.s[rest[0].start:rest[len(rest)-1].end]}
	if len(rest) == 1 && p.isGroup(rest[0], '(') {
		sub.s = p.s[rest[0].start+1 : rest[0].start+rest[0].gend-1]
	}
	sub.toks = txtTokenize(sub.s, nil)
	for _, t := range sub.toks {
		if t.sep == 0 && isURL(sub.text(t)) {
			return false
		}
	}
	if !sub.plainMode(0, len(sub.toks)) {
		return false
	}
	for _, k := range sub.keys {
		if strings.IndexByte(k.Name, ' ') >= 0 || isStopWord(k.Name) {
			return false
		}
	}
	p.keys = append(p.keys, sub.keys...)
	return true
}

// plainMode reads lists without '=': comma lists ("NIF, EP, LM", "model
// (device model identifier), sn (...)", "iTSh Version, Machine ID") and
// blank-separated lists ("txtvers version name uuid", "- txtvers -
// protovers"). Prose yields nothing.
func (p *txtParser) plainMode(from, to int) bool {
	n0 := len(p.keys)
	toks := p.toks[from:to]
	comma := false
	for _, t := range toks {
		if t.sep != 0 {
			comma = true
			break
		}
	}
	if comma {
		for i, item := 0, 0; i < len(toks); item++ {
			end := i
			for end < len(toks) && toks[end].sep == 0 {
				end++
			}
			if !p.listItem(toks[i:end]) && item == 0 {
				return false // the note opens with prose
			}
			i = end + 1
		}
		return len(p.keys) > n0
	}
	// Blank-separated: prose (a function word) yields nothing; a run of
	// title-case words ("Test Controller Card") or a sentence end stops
	// the list.
	stop := len(toks)
	for i, t := range toks {
		w := p.text(t)
		if i+1 < len(toks) && isTitleWord(w) && isTitleWord(p.text(toks[i+1])) {
			stop = i
			break
		}
		if strings.HasSuffix(w, ".") && i+1 < len(toks) {
			if nw := p.text(toks[i+1]); nw[0] >= 'A' && nw[0] <= 'Z' {
				stop = i + 1
				break
			}
		}
	}
	for _, t := range toks[:stop] {
		if isStopWord(p.text(t)) {
			return false
		}
	}
	for i, t := range toks[:stop] {
		w := p.text(t)
		switch {
		case isEnumerator(w) || w == "...":
		case p.isGroup(t, '(') && !p.isRemark(t) && i > 0 && len(p.keys) > n0 && p.keys[len(p.keys)-1].Hint == "":
			p.keys[len(p.keys)-1].Hint = collapseSpace(p.groupText(t))
		case p.bareKeyTok(t):
			p.addKey(w, "")
		}
	}
	return len(p.keys) > n0
}

// listItem reads one comma-list item and reports whether it was a key (or
// an ignorable remark) rather than prose.
func (p *txtParser) listItem(item []txtTok) bool {
	for len(item) > 0 && isEnumerator(p.text(item[0])) {
		item = item[1:]
	}
	for len(item) > 0 && isEnumerator(p.text(item[len(item)-1])) {
		item = item[:len(item)-1]
	}
	switch {
	case len(item) == 0:
		return true
	case len(item) == 1 && (p.text(item[0]) == "..." || p.text(item[0]) == "\u2026" || p.isGroup(item[0], '(')):
		return true // "c0, c1, ..., cn", "(others not publicly documented)"
	case len(item) == 1 && p.listKeyTok(item[0]):
		p.addKey(p.text(item[0]), "")
		return true
	case len(item) == 2 && p.listKeyTok(item[0]) && p.isGroup(item[1], '('):
		p.addKey(p.text(item[0]), p.groupText(item[1]))
		return true
	case len(item) <= 3:
		// Multi-word keys ("iTSh Version", "Machine ID") are real in
		// iTunes-era registrations; prose has function words.
		for _, t := range item {
			w := p.text(t)
			if !identLike(w) || isStopWord(w) || strings.HasSuffix(w, ":") || strings.HasSuffix(w, ".") {
				return false
			}
		}
		p.addKey(p.span(item[0], item[len(item)-1]), "")
		return true
	}
	return false
}
