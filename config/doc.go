// Package config turns svcreg's YAML configuration file, SVCREG_*
// environment variables and command-line flags into one validated, typed
// Config, with the precedence flags > environment > file > defaults. Every
// error names the key and where its value came from (file and line,
// environment variable or flag), so an operator can fix it without
// guessing. It also turns the file's local additions (private service
// types) into a registry.Source named "local". It does no I/O beyond
// reading the file it is given.
package config
