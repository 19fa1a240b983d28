//go:build race

package resolver_test

// zoneRaceEnabled reports a race-detector build, where the full-registry
// round trip (about 60 s there, 8 s without) is left to plain runs.
const zoneRaceEnabled = true
