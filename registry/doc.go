// Package registry loads the IANA Service Name and Transport Protocol Port
// Number Registry from every form it is published or rendered in (XML, CSV,
// the plain-text and markdown renderings, /etc/services, svcreg's built-in
// table), merges the sources into one immutable, indexed Snapshot, and
// answers lookups by name, DNS-SD type and port without allocating.
package registry
