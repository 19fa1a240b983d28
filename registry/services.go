package registry

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// servicesMaxLine bounds one line of a services file. Real lines are well
// under 200 bytes.
const servicesMaxLine = 64 << 10

// servicesMaxRecords bounds the records of one services file, so that a
// huge file of valid-looking lines cannot exhaust memory. A services file
// generated from the whole IANA registry has about 15,000 entries.
const servicesMaxRecords = 200_000

// ParseServices reads the system services file syntax (services(5), e.g.
// /etc/services):
//
//	name  port/protocol  [alias ...]  [# comment]
//
// Each entry becomes a record for the name (status assigned, the trailing
// comment as its description) and one record per alias with status alias
// and AliasOf naming the entry's name: "http 80/tcp www" gives http/tcp/80
// and www/tcp/80 alias of http, so that a lookup of "www" finds port 80
// and says which name it stands for, as the registry does for whois++ and
// whoispp. Port ranges ("6000-6007/tcp") are accepted. Record.Line is the
// line number; the source has no "Last Updated" date.
//
// Lines that cannot be used (no port/protocol, a bad port, a protocol the
// IANA registry does not have such as AppleTalk's "ddp", binary data) are
// reported in Source.Problems naming their line. More than MaxProblems of
// them, an over-long line, more than 200,000 records, or a file without
// any entry is an error.
func ParseServices(r io.Reader, name string) (*Source, error) {
	src := &Source{Name: name, Format: FormatServices}
	sink := problemSink{name: name}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4<<10), servicesMaxLine)
	n := 0
	for sc.Scan() {
		n++
		b := sc.Bytes()
		if n == 1 {
			b = bytes.TrimPrefix(b, []byte("\ufeff"))
		}
		msg := servicesLine(src, b, name, n)
		if len(src.Records) > servicesMaxRecords {
			return nil, &ParseError{File: name, Line: n, Msg: fmt.Sprintf("more than %d entries", servicesMaxRecords), Err: ErrTooLarge}
		}
		if msg == "" {
			continue
		}
		if err := sink.add(ParseError{File: name, Line: n, Msg: msg, Err: ErrSyntax}); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		return nil, scanError(err, name, n+1, servicesMaxLine, ErrTooLarge)
	}
	src.Problems = sink.problems
	if len(src.Records) == 0 {
		if len(sink.problems) > 0 {
			first := sink.problems[0]
			return nil, &ParseError{File: name, Line: first.Line,
				Msg: fmt.Sprintf("no usable service entries (first problem: %s)", first.Msg), Err: ErrSyntax}
		}
		return nil, &ParseError{File: name, Msg: "no service entries (want lines like \"http 80/tcp www # World Wide Web\")", Err: ErrEmpty}
	}
	return src, nil
}

// servicesLine adds the records of one line to src and returns "" or why
// the line cannot be used.
func servicesLine(src *Source, b []byte, file string, line int) string {
	if bytes.IndexByte(b, 0) >= 0 || !utf8.Valid(b) {
		return "binary data, not a services(5) line"
	}
	text := string(b)
	comment := ""
	if i := strings.IndexByte(text, '#'); i >= 0 {
		text, comment = text[:i], strings.TrimSpace(text[i+1:])
	}
	f := strings.Fields(text)
	switch {
	case len(f) == 0:
		return ""
	case len(f) == 1:
		return fmt.Sprintf("entry %q has no port/protocol (want \"name port/protocol [aliases]\")", f[0])
	}
	port, proto, ok := strings.Cut(f[1], "/")
	if !ok {
		return fmt.Sprintf("%q is not port/protocol", f[1])
	}
	lo, hi, err := parsePortColumn(port)
	if err == nil && port == "" {
		err = errors.New("empty port number")
	}
	if err != nil {
		return err.Error()
	}
	p, ok := ParseProtocol(proto)
	if !ok {
		return fmt.Sprintf("protocol %q is not one of the registry's (tcp, udp, sctp, dccp); entry %s skipped", proto, f[0])
	}
	rec := Record{Name: f[0], Protocol: p, PortLow: lo, PortHigh: hi, Description: comment, Source: file, Line: line}
	Finish(&rec)
	src.Records = append(src.Records, rec)
	for i, a := range f[2:] {
		if strings.EqualFold(a, rec.Name) || HasName(f[2:2+i], a) {
			continue
		}
		al := rec
		al.Name, al.Status, al.AliasOf = a, StatusAlias, rec.Name
		src.Records = append(src.Records, al)
	}
	return ""
}
