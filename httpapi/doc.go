// Package httpapi serves svcreg's read-only JSON API over the current
// registry snapshot and the LAN monitor (/v1/services/{name},
// /v1/ports/{proto}/{port}, /v1/registry, /v1/findings,
// /v1/advertisements), the liveness and readiness probes (/healthz,
// /readyz) and Prometheus metrics (/metrics) from the registry the daemon
// gives it, and owns the registry metrics (record and service counts,
// reloads, build information). It mounts the web UI, when there is one,
// at "/". Errors are JSON objects with the HTTP status code.
package httpapi
