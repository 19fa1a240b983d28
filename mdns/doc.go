// Package mdns checks what is advertised with multicast DNS (RFC 6762) and
// DNS-based service discovery (RFC 6763) against the service-name registry
// and the RFCs: a Validator turns one Advertisement, or one received mDNS
// packet, into Findings, each naming a rule of the catalogue (Rules) and
// the RFC section it enforces; Avahi .service files are parsed into the
// same Advertisements so that firmware can be linted before it ships. The
// LAN half (listener, browser, store, monitor) feeds the Validator with
// the raw records it receives.
package mdns
