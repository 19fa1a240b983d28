package registry

import (
	"errors"
	"io"
)

// ParseMarkdown parses one source. TODO(helper): implement.
func ParseMarkdown(r io.Reader, name string) (*Source, error) {
	return nil, errors.New("ParseMarkdown: not implemented yet")
}
