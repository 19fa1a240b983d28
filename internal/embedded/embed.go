//go:build ianaembed

package embedded

import _ "embed"

//go:embed registry.xml
var registryXML []byte

// Registry returns the embedded registry file and true.
func Registry() ([]byte, bool) { return registryXML, len(registryXML) > 0 }
