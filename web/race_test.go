//go:build race

package web

// raceFactor widens timing limits under the race detector, which slows
// this code about tenfold.
const raceFactor = 10
