package registry

import (
	"errors"
	"fmt"
)

// Sentinel errors callers branch on (errors.Is).
var (
	ErrNoSources     = errors.New("no registry sources")
	ErrUnknownFormat = errors.New("unrecognised registry format")
	ErrEmpty         = errors.New("empty input")
	ErrSyntax        = errors.New("syntax error")
	ErrTooLarge      = errors.New("input too large")
	ErrBadQuery      = errors.New("bad query")
)

// ParseError locates a problem in a source: the file, and the line (text,
// CSV, markdown, services) or record number (XML, 1-based) where known.
type ParseError struct {
	File   string
	Line   int // 0 when not known
	Record int // XML record number, 0 when not applicable
	Msg    string
	Err    error // ErrSyntax, ErrEmpty, ErrTooLarge, ErrUnknownFormat or an I/O error
}

func (e *ParseError) Error() string {
	loc := e.File
	if loc == "" {
		loc = "<input>"
	}
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", loc, e.Line)
	}
	if e.Record > 0 {
		loc = fmt.Sprintf("%s: record %d", loc, e.Record)
	}
	if e.Msg == "" && e.Err != nil {
		return loc + ": " + e.Err.Error()
	}
	return loc + ": " + e.Msg
}

func (e *ParseError) Unwrap() error { return e.Err }

// problemSink collects unusable rows and rejects the source once there are
// more than MaxProblems of them.
type problemSink struct {
	name     string
	problems []ParseError
}

func (ps *problemSink) add(pe ParseError) error {
	ps.problems = append(ps.problems, pe)
	if len(ps.problems) > MaxProblems {
		first := ps.problems[0]
		return &ParseError{File: pe.File, Line: pe.Line, Record: pe.Record,
			Msg: fmt.Sprintf("more than %d unusable records, rejecting the source (first: %s)", MaxProblems, first.Error()),
			Err: ErrSyntax}
	}
	return nil
}
