package registry

import (
	"errors"
	"io"
)

// ParseCSV parses one source. TODO(helper): implement.
func ParseCSV(r io.Reader, name string) (*Source, error) {
	return nil, errors.New("ParseCSV: not implemented yet")
}
