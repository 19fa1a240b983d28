package registry

import (
	"errors"
	"io"
)

// ParseText parses one source. TODO(helper): implement.
func ParseText(r io.Reader, name string) (*Source, error) {
	return nil, errors.New("ParseText: not implemented yet")
}
