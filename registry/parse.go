package registry

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"unicode/utf8"
)

// MaxSourceBytes bounds one source file. The official XML is about 4 MB.
const MaxSourceBytes = 64 << 20

// MaxProblems is how many bad rows a source may have before the whole
// source is rejected: junk must not be accepted row by row.
const MaxProblems = 200

// Parse reads one registry source in format (detected from the content
// when format is ""). name labels errors and Record.Source.
func Parse(r io.Reader, name string, format Format) (*Source, error) {
	br := bufio.NewReaderSize(io.LimitReader(r, MaxSourceBytes+1), 64<<10)
	if format == "" {
		head, err := br.Peek(8 << 10)
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
			return nil, &ParseError{File: name, Msg: "reading: " + err.Error(), Err: err}
		}
		format, err = DetectFormat(head)
		if err != nil {
			return nil, &ParseError{File: name, Line: 1, Msg: err.Error(), Err: err}
		}
	}
	lr := &limitCheck{r: br, name: name}
	var src *Source
	var err error
	switch format {
	case FormatXML:
		src, err = ParseXML(lr, name)
	case FormatCSV:
		src, err = ParseCSV(lr, name)
	case FormatText:
		src, err = ParseText(lr, name)
	case FormatMarkdown:
		src, err = ParseMarkdown(lr, name)
	case FormatServices:
		src, err = ParseServices(lr, name)
	default:
		return nil, &ParseError{File: name, Msg: fmt.Sprintf("unknown format %q (want xml, csv, text, markdown or services)", format), Err: ErrUnknownFormat}
	}
	if lr.over {
		return nil, &ParseError{File: name, Msg: fmt.Sprintf("larger than %d bytes", MaxSourceBytes), Err: ErrTooLarge}
	}
	return src, err
}

// limitCheck notices when the LimitReader above it was exhausted with data
// left, i.e. the input is larger than MaxSourceBytes.
type limitCheck struct {
	r    *bufio.Reader
	name string
	n    int64
	over bool
}

func (l *limitCheck) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	l.n += int64(n)
	if l.n > MaxSourceBytes {
		l.over = true
		return 0, &ParseError{File: l.name, Msg: fmt.Sprintf("larger than %d bytes", MaxSourceBytes), Err: ErrTooLarge}
	}
	return n, err
}

var (
	reServicesLine = regexp.MustCompile(`(?m)^[^\s#]+\s+\d+/[A-Za-z]+`)
)

// DetectFormat guesses a source's format from its first bytes.
func DetectFormat(head []byte) (Format, error) {
	h := bytes.TrimLeft(head, "\ufeff \t\r\n")
	if len(h) == 0 {
		return "", ErrEmpty
	}
	if bytes.IndexByte(h, 0) >= 0 || !utf8.Valid(trimPartialRune(h)) {
		return "", fmt.Errorf("%w: binary data", ErrUnknownFormat)
	}
	s := string(h)
	switch {
	case strings.HasPrefix(s, "<?xml") || strings.HasPrefix(s, "<registry"):
		return FormatXML, nil
	case strings.HasPrefix(s, "Service Name,Port Number,"):
		return FormatCSV, nil
	case strings.Contains(s, "| Service Name |") || strings.Contains(s, "\n- Last Updated"):
		return FormatMarkdown, nil
	case strings.Contains(s, "Service Name and Transport Protocol Port Number Registry"):
		return FormatText, nil
	case reServicesLine.MatchString(s):
		return FormatServices, nil
	case looksCSV(s):
		// A comma-separated first line that is not IANA's header: let
		// ParseCSV say what is wrong with the header, at line 1.
		return FormatCSV, nil
	}
	return "", fmt.Errorf("%w: not XML, CSV, text, markdown or services syntax", ErrUnknownFormat)
}

// looksCSV reports whether the first line holds at least three commas
// and no markup.
func looksCSV(s string) bool {
	line, _, _ := strings.Cut(s, "\n")
	return strings.Count(line, ",") >= 3 && !strings.ContainsAny(line, "<>#|")
}

// trimPartialRune drops an incomplete UTF-8 sequence cut by the peek.
func trimPartialRune(b []byte) []byte {
	for i := 0; i < utf8.UTFMax && i < len(b); i++ {
		if utf8.Valid(b[:len(b)-i]) {
			return b[:len(b)-i]
		}
	}
	return b
}

// LoadFile opens and parses path (format "" = detect).
func LoadFile(ctx context.Context, path string, format Format) (*Source, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", path, err)
	}
	defer f.Close()
	src, err := Parse(f, filepath.Base(path), format)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", path, err)
	}
	return src, nil
}

var (
	reAlias     = regexp.MustCompile(`(?i)This entry is an alias to "([^"]+)"`)
	reDuplicate = regexp.MustCompile(`(?i)This is a duplicate of the "([^"]+)" service`)
	reSubtypes  = regexp.MustCompile(`(?i)Known Subtypes:\s*([^\n]*)`)
)

// Finish derives the fields every parser computes the same way from a
// record's raw columns: status (from name, description and notes), the
// alias target, TXT keys and subtypes from the notes. Parsers call it once
// per record.
func Finish(r *Record) {
	r.Status = StatusAssigned
	if r.Name == "" {
		// Compared case-insensitively: the registry also writes
		// "unassigned" and "IANA Reserved" (CSV, 2023 XML).
		d := strings.ToLower(strings.TrimSpace(r.Description))
		switch {
		case strings.HasPrefix(d, "unassigned"):
			r.Status = StatusUnassigned
		case d == "", strings.HasPrefix(d, "reserved"), strings.HasPrefix(d, "iana reserved"):
			r.Status = StatusReserved
		case strings.HasPrefix(d, "de-registered"), strings.HasPrefix(d, "deregistered"),
			strings.HasPrefix(d, "removed"), strings.HasPrefix(d, "deprecated"):
			// A port whose registration was withdrawn (17 rows today,
			// "De-registered", "Removed", "Deprecated", often with "use
			// 993 instead") belongs to no one but is not handed out
			// again either: reserved, not assigned.
			r.Status = StatusReserved
		default:
			// Unnamed private-use rows ("any private terminal access")
			// that take a port without a name.
			r.Status = StatusAssigned
		}
	}
	if m := reAlias.FindStringSubmatch(r.Notes); m != nil {
		r.Status, r.AliasOf = StatusAlias, m[1]
	} else if m := reDuplicate.FindStringSubmatch(r.Notes); m != nil {
		r.Status, r.AliasOf = StatusDuplicate, m[1]
	}
	r.TXTKeys = ParseTXTKeys(r.Notes)
	r.Subtypes = nil
	if m := reSubtypes.FindStringSubmatch(r.Notes); m != nil {
		for _, f := range strings.FieldsFunc(m[1], func(c rune) bool { return c == ',' || c == ' ' || c == ';' }) {
			// Subtypes are "_name"s; the list ends where the note
			// goes on, which the plain-text rendering puts on the
			// same line ("Known Subtypes: _printer NOTE: ...").
			if !strings.HasPrefix(f, "_") {
				break
			}
			r.Subtypes = append(r.Subtypes, f)
		}
	}
}
