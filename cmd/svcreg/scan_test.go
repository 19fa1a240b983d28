package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// Bad usage exits 2 with a message naming the problem; the LAN part is
// tested end to end in mdns/lab_test.go (it needs root and a lab).
func TestScanUsage(t *testing.T) {
	cases := []struct {
		name string
		args []string
		msg  string
	}{
		{"no interface", nil, "--interface or --pcap is required"},
		{"pcap with two interfaces", []string{"--pcap", "x.pcap", "--interface", "a", "--interface", "b"}, "at most one --interface"},
		{"pcap missing", []string{"--pcap", "/nonexistent/x.pcap", "-q"}, "/nonexistent/x.pcap"},
		{"not a capture", []string{"--pcap", "testdata/default.services", "-q"}, "not a pcap or pcapng capture"},
		{"positional", []string{"--interface", "lo", "extra"}, `unexpected argument "extra"`},
		{"zero duration", []string{"--interface", "lo", "--duration", "0s"}, "--duration must be positive"},
		{"bad duration", []string{"--interface", "lo", "--duration", "soon"}, "invalid value"},
		{"bad fail-on", []string{"--interface", "lo", "--fail-on", "fatal"}, "--fail-on"},
		{"ads without json", []string{"--interface", "lo", "--advertisements"}, "--advertisements goes with --json"},
		{"unknown rule", []string{"--interface", "lo", "--disable", "no-such-rule"}, "no-such-rule"},
		{"bad severity", []string{"--interface", "lo", "--severity", "name-syntax=fatal"}, "fatal"},
		{"severity without level", []string{"--interface", "lo", "--severity", "name-syntax"}, "RULE=LEVEL"},
		{"severity off for an unknown rule", []string{"--interface", "lo", "--severity", "nope=off"}, "nope"},
		{"unreadable registry", []string{"--interface", "lo", "--registry", "/nonexistent/x.xml"}, "/nonexistent/x.xml"},
		{"no such interface", []string{"--interface", "nonexistent0", "--duration", "1s", "-q"}, `"nonexistent0"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := cli(t, append([]string{"scan"}, tc.args...)...)
			assert.Equal(t, exitUsage, code, stderr)
			assert.Contains(t, stderr, tc.msg)
		})
	}
}

func TestScanHelp(t *testing.T) {
	_, stderr, code := cli(t, "scan", "-h")
	assert.Equal(t, exitOK, code)
	assert.Contains(t, stderr, "usage: svcreg scan --interface IF")
}
