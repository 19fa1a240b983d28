package config

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPackagingExample loads packaging/svcreg.example.yml through the
// loader and checks that it sets every key, so it stays a complete
// reference as keys are added.
func TestPackagingExample(t *testing.T) {
	path := filepath.Join("..", "packaging", "svcreg.example.yml")
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	l, err := Parse(f, "svcreg.example.yml")
	require.NoError(t, err)
	for _, k := range Keys() {
		assert.NotEqual(t, "default", l.Origin(k), "the example sets %s", k)
	}
	// It changes only what its comments say it changes.
	def := Default()
	assert.Equal(t, def.DNS, l.DNS)
	assert.Equal(t, def.HTTP, l.HTTP)
	assert.Equal(t, def.Log, l.Log)
	assert.Equal(t, def.MDNS.MaxInstances, l.MDNS.MaxInstances)
	require.Len(t, l.Registry.Local, 1)
	assert.NotNil(t, l.LocalSource())
}

// TestDocsListEveryKey keeps docs/daemon.md's key reference in step with
// the Config type.
func TestDocsListEveryKey(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "docs", "daemon.md"))
	require.NoError(t, err)
	doc := string(b)
	for _, k := range Keys() {
		assert.Contains(t, doc, "| `"+k+"` |", "docs/daemon.md has a row for %s", k)
	}
	for _, k := range sortedKeys(structFields(reflect.TypeFor[LocalService]())) {
		assert.Contains(t, doc, "| `"+k+"` |", "docs/daemon.md has a row for registry.local[].%s", k)
	}
}
