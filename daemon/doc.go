// Package daemon is svcreg serve as a library: it wires the registry
// store, the authoritative DNS server, the optional mDNS monitor and the
// HTTP API, metrics and web UI, and keeps them current by reloading on
// request, on file changes and on the URL refresh interval.
//
//	d, err := daemon.New(cfg, logger, prometheus.NewRegistry())
//	if err != nil { ... }
//	err = d.Run(ctx) // serves until ctx is done
//
// A reload re-reads the config from where it was loaded and the registry
// sources, and swaps the new snapshot in without interrupting queries; on
// any error the previous snapshot keeps serving.
package daemon
