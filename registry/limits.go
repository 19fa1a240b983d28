package registry

// Bounds every streaming parser enforces, so that junk input costs a
// bounded amount of memory.

import (
	"fmt"
	"io"
)

// maxTokenBytes bounds one XML token or one CSV record. The largest in the
// IANA files is a few kilobytes; without a bound, junk such as an
// unterminated quote or 60 MB of character data would be buffered whole.
const maxTokenBytes = 1 << 20

// maxRecords bounds the records of one XML or CSV source, about seven
// times the 14,533 of the 2026 registry: 64 MB of small valid-looking
// records would otherwise become a third of a gigabyte of Records.
const maxRecords = 100_000

func tooManyRecords(name string, line int) error {
	return &ParseError{File: name, Line: line,
		Msg: fmt.Sprintf("more than %d records: not the IANA registry", maxRecords), Err: ErrTooLarge}
}

// tokenGuard sits under a streaming decoder and fails the read when the
// decoder has read maxTokenBytes past the end of the last complete token
// (or CSV record), so one token can never hold more than that in memory.
type tokenGuard struct {
	r    io.Reader
	name string
	n    int64        // bytes handed to the decoder
	done func() int64 // offset after the last complete token or row
	line func() int   // current line, for the error
	err  *ParseError  // set once the guard tripped
}

func (g *tokenGuard) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	if g.n-g.done() > maxTokenBytes {
		g.err = &ParseError{File: g.name, Line: g.line(),
			Msg: fmt.Sprintf("one element or row is longer than %d bytes", maxTokenBytes), Err: ErrTooLarge}
		return 0, g.err
	}
	n, err := g.r.Read(p)
	g.n += int64(n)
	return n, err
}
