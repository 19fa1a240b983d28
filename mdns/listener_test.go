package mdns

import (
	"net"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The Listener's sockets are exercised end to end in lab_test.go (joining
// groups needs a multicast interface, which only the lab namespaces give
// a test); these are the parts that need no network.

func TestNewListenerErrors(t *testing.T) {
	for name, cfg := range map[string]ListenConfig{
		"no interface":   {},
		"unknown":        {Interfaces: []string{"nonexistent0"}},
		"unknown second": {Interfaces: []string{"lo", "nonexistent0"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := NewListener(t.Context(), cfg, nil)
			assert.ErrorIs(t, err, ErrNoInterface)
		})
	}
}

func TestUDPAddrPort(t *testing.T) {
	assert.Equal(t, netip.MustParseAddrPort("198.18.0.1:5353"),
		udpAddrPort(&net.UDPAddr{IP: net.ParseIP("198.18.0.1"), Port: 5353}), "IPv4-mapped form unmapped")
	assert.Equal(t, netip.MustParseAddrPort("[fe80::1%lab0]:5353"),
		udpAddrPort(&net.UDPAddr{IP: net.ParseIP("fe80::1"), Port: 5353, Zone: "lab0"}))
	assert.False(t, udpAddrPort(&net.TCPAddr{}).IsValid())
}
