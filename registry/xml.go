package registry

import (
	"errors"
	"io"
)

// ParseXML parses one source. TODO(helper): implement.
func ParseXML(r io.Reader, name string) (*Source, error) {
	return nil, errors.New("ParseXML: not implemented yet")
}
