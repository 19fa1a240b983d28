// Package embedded carries a registry snapshot inside the binary for
// release builds: built with -tags ianaembed, it embeds registry.xml (the
// official IANA XML, dropped into this directory at build time and never
// committed; see .gitignore and the Dockerfile), and svcreg serve uses it
// as its default registry. Without the tag it holds nothing and the
// built-in default applies.
package embedded

import "github.com/svcreg/svcreg/registry"

// Name labels the embedded source in logs, errors and Record.Source.
const Name = registry.EmbeddedName
