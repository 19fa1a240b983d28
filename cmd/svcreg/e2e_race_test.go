//go:build race

package main

// Under -race the end-to-end tests build the daemon with the race
// detector too, so a data race in serve fails them.
func init() { raceBuild = true }
