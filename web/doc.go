// Package web serves svcreg's browser interface: a search over the service
// name and port registry, one page per service name and per port, the mDNS
// advertisements seen on the LAN with their findings (updated live through
// server-sent events), and the catalogue of validation rules. Pages are
// rendered on the server with html/template from the current registry
// snapshot and work without JavaScript; every asset is embedded, so the UI
// loads nothing from other hosts and works offline.
package web
