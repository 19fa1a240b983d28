//go:build !ianaembed

package embedded

// Registry returns nothing: this build has no embedded registry.
func Registry() ([]byte, bool) { return nil, false }
