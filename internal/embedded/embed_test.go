package embedded

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/registry"
)

// TestRegistry: without the tag there is nothing; with it (go test
// -tags ianaembed after placing registry.xml) the embedded file parses as
// the IANA XML.
func TestRegistry(t *testing.T) {
	b, ok := Registry()
	if !ok {
		assert.Empty(t, b)
		return
	}
	src, err := registry.Parse(bytes.NewReader(b), Name, "")
	require.NoError(t, err)
	assert.Equal(t, registry.FormatXML, src.Format)
	assert.Greater(t, len(src.Records), 1000)
}
