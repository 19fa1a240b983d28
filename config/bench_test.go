package config

import (
	"bytes"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// BenchmarkParse measures loading the full example config (start-up and
// every reload pay it once).
func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile("testdata/valid.yml")
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(bytes.NewReader(data), "valid.yml"); err != nil {
			b.Fatal(err)
		}
	}
}
