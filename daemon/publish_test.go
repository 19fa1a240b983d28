package daemon

import (
	"testing"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"

	"github.com/svcreg/svcreg/proxy"
)

// TestPublisherOnMiss: only a PTR name of the form _service._proto
// directly under the link's zone queues its type, and a full queue drops
// rather than blocks.
func TestPublisherOnMiss(t *testing.T) {
	p := &publisher{misses: make(chan string, 2)}
	hook := p.onMiss(proxy.Link{Zone: "lab0.lan.services.internal."})
	wire := func(name string) []byte {
		b := make([]byte, 256)
		n, err := dns.PackDomainName(name, b, 0, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		return b[:n]
	}
	for _, name := range []string{
		"x._ipp._tcp.lab0.lan.services.internal.",
		"_ipp._tcp.lab1.lan.services.internal.",
		"ipp._tcp.lab0.lan.services.internal.",
		"_tcp.lab0.lan.services.internal.",
		"lab0.lan.services.internal.",
		"_ipp._tcp.x.lab0.lan.services.internal.",
	} {
		hook(wire(name))
		assert.Empty(t, p.misses, name)
	}
	hook(wire("_ipp._tcp.lab0.lan.services.internal."))
	hook(wire("_airplay._tcp.lab0.lan.services.internal."))
	hook(wire("_http._tcp.lab0.lan.services.internal.")) // the queue is full: dropped, not blocked
	assert.Equal(t, "_ipp._tcp", <-p.misses)
	assert.Equal(t, "_airplay._tcp", <-p.misses)
	assert.Empty(t, p.misses)
}
