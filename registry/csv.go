package registry

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// csvHeader is the first row of IANA's service-names-port-numbers.csv.
var csvHeader = [...]string{
	"Service Name", "Port Number", "Transport Protocol", "Description",
	"Assignee", "Contact", "Registration Date", "Modification Date",
	"Reference", "Service Code", "Unauthorized Use Reported", "Assignment Notes",
}

// CSV column indexes.
const (
	csvName = iota
	csvPort
	csvProto
	csvDescription
	csvAssignee
	csvContact
	csvRegistered
	csvModified
	csvReference
	csvServiceCode
	csvUnauthorized
	csvNotes
)

// ParseCSV reads IANA's CSV rendering of the registry. The header must be
// exactly IANA's. Record.Line is the physical line where a row starts
// (rows with quoted newlines span several lines). Rows with the wrong
// number of fields, a bad port or an unknown protocol go to
// Source.Problems; a quoting error ends the parse with a *ParseError
// wrapping ErrSyntax. The CSV carries no "Last Updated" date and no
// contact table.
func ParseCSV(r io.Reader, name string) (*Source, error) {
	g := &tokenGuard{r: r, name: name}
	cr := csv.NewReader(g)
	// Where the last complete row ended: the guard fails a row that runs
	// on for more than maxTokenBytes, naming the line it starts on.
	var rowEnd int64
	nextLine := 1
	g.done = func() int64 { return rowEnd }
	g.line = func() int { return nextLine }
	cr.FieldsPerRecord = len(csvHeader)
	cr.ReuseRecord = true
	src := &Source{Name: name, Format: FormatCSV}
	sink := problemSink{name: name}
	in := make(interner, 1<<14)
	var recs chunked[Record]
	bracket := make([]string, 0, 4)

	hdr, err := cr.Read()
	rowEnd, nextLine = cr.InputOffset(), 2
	switch {
	case errors.Is(err, io.EOF):
		return nil, &ParseError{File: name, Line: 1, Msg: "no CSV header", Err: ErrEmpty}
	case err != nil && !errors.Is(err, csv.ErrFieldCount):
		return nil, csvFail(name, err)
	}
	if len(hdr) > 0 {
		hdr[0] = strings.TrimPrefix(hdr[0], "\ufeff")
	}
	if !sameHeader(hdr) {
		return nil, &ParseError{File: name, Line: 1,
			Msg: fmt.Sprintf("CSV header %q is not the IANA header %q", strings.Join(hdr, ","), strings.Join(csvHeader[:], ",")),
			Err: ErrSyntax}
	}
	for {
		row, err := cr.Read()
		rowEnd = cr.InputOffset()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil && !errors.Is(err, csv.ErrFieldCount) {
			return nil, csvFail(name, err)
		}
		line, _ := cr.FieldPos(0) // row has at least one field here
		nextLine = line + 1
		for _, f := range row {
			nextLine += strings.Count(f, "\n")
		}
		if err != nil {
			msg := fmt.Sprintf("%d fields, want %d", len(row), len(csvHeader))
			if err := sink.add(ParseError{File: name, Line: line, Msg: msg, Err: ErrSyntax}); err != nil {
				return nil, err
			}
			continue
		}
		rec := Record{
			Name:         in.str(row[csvName]),
			Description:  in.str(strings.TrimSpace(row[csvDescription])),
			Registered:   in.str(row[csvRegistered]),
			Modified:     in.str(row[csvModified]),
			ServiceCode:  in.str(row[csvServiceCode]),
			Unauthorized: in.str(row[csvUnauthorized]),
			Notes:        in.str(strings.TrimSpace(row[csvNotes])),
			Source:       name,
			Line:         line,
		}
		if rec.PortLow, rec.PortHigh, err = parsePortColumn(row[csvPort]); err == nil {
			rec.Protocol, err = parseProto(row[csvProto])
		}
		if err == nil && rec.Name == "" && !rec.HasPort() {
			err = errors.New("row has neither a name nor a port number")
		}
		if err != nil {
			if err := sink.add(ParseError{File: name, Line: line, Msg: err.Error(), Err: ErrSyntax}); err != nil {
				return nil, err
			}
			continue
		}
		bracket = bracketList(bracket[:0], row[csvAssignee])
		rec.Assignee = in.str(joinPeople(bracket))
		bracket = bracketList(bracket[:0], row[csvContact])
		rec.Contact = in.str(joinPeople(bracket))
		if ref := row[csvReference]; ref != "" {
			bracket = bracketList(bracket[:0], ref)
			rec.References = make([]string, len(bracket))
			for i, b := range bracket {
				rec.References[i] = in.str(b)
			}
		}
		if recs.n == maxRecords {
			return nil, tooManyRecords(name, line)
		}
		Finish(&rec)
		recs.add(&rec)
	}
	if recs.n == 0 && len(sink.problems) == 0 {
		return nil, &ParseError{File: name, Line: 2, Msg: "no rows after the header", Err: ErrEmpty}
	}
	src.Records = recs.slice()
	src.Problems = sink.problems
	return src, nil
}

func sameHeader(h []string) bool {
	if len(h) != len(csvHeader) {
		return false
	}
	for i := range h {
		if h[i] != csvHeader[i] {
			return false
		}
	}
	return true
}

// csvFail locates a csv.Reader error.
func csvFail(name string, err error) error {
	var pe *ParseError
	if errors.As(err, &pe) {
		return err
	}
	var ce *csv.ParseError
	if errors.As(err, &ce) {
		line := ce.StartLine
		if line == 0 {
			line = ce.Line
		}
		msg := "CSV syntax error: " + ce.Err.Error()
		if ce.Line != ce.StartLine {
			msg = fmt.Sprintf("CSV syntax error at line %d, column %d: %v", ce.Line, ce.Column, ce.Err)
		}
		return &ParseError{File: name, Line: line, Msg: msg, Err: ErrSyntax}
	}
	return &ParseError{File: name, Msg: "reading: " + err.Error(), Err: err}
}

// bracketList appends the items of a bracketed CSV column, "[A][B]" ->
// A, B, to dst. Brackets nest ("[text citing [RFC7595]]" is one item). A
// column that is not a clean bracket list is one item, trimmed.
func bracketList(dst []string, s string) []string {
	s = strings.TrimSpace(s)
	if s == "" {
		return dst
	}
	n := len(dst)
	depth, start := 0, -1
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '[':
			if depth == 0 {
				start = i + 1
			}
			depth++
		case c == ']' && depth > 0:
			if depth--; depth == 0 {
				if v := strings.TrimSpace(s[start:i]); v != "" {
					dst = append(dst, v)
				}
			}
		case depth == 0 && c != ' ' && c != '\t' && c != '\r' && c != '\n':
			// Text outside brackets: not a bracket list.
			return append(dst[:n], s)
		}
	}
	if depth != 0 {
		return append(dst[:n], s)
	}
	return dst
}
