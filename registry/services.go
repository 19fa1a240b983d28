package registry

import (
	"errors"
	"io"
)

// ParseServices parses one source. TODO(helper): implement.
func ParseServices(r io.Reader, name string) (*Source, error) {
	return nil, errors.New("ParseServices: not implemented yet")
}
