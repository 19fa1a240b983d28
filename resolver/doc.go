// Package resolver is svcreg's authoritative DNS server for one zone
// (default services.internal.). Per registry snapshot it builds the zone's
// records once (ZoneRRs, the single source of truth for AXFR and zone
// files) and a table of pre-packed answers keyed by lowercased owner name
// and query type; a query is parsed straight from the wire, looked up,
// copied and patched (ID, flags, question case, EDNS), so the query path
// takes no lock, walks no registry and allocates nothing. It serves UDP and
// TCP on its own sockets, transfers the zone by AXFR to an allow-list,
// sends NOTIFY to secondaries when the serial changes (kept across
// restarts in an optional serial file so it never goes back), rate-limits
// responses per source prefix (RRL) when configured, and exports
// Prometheus metrics with closed label sets.
package resolver
