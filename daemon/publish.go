package daemon

// The discovery proxy: each link of mdns.publish is a zone of the DNS
// server, kept in step with the advertisements the monitor sees there.

import (
	"context"
	"log/slog"
	"slices"
	"sync"

	"github.com/svcreg/svcreg/httpapi"
	"github.com/svcreg/svcreg/mdns"
	"github.com/svcreg/svcreg/proxy"
	"github.com/svcreg/svcreg/registry"
	"github.com/svcreg/svcreg/resolver"
)

// publisher rebuilds the links' records whenever the monitor signals a
// change (at most once per flush interval) and hands them to the DNS
// server, which applies the difference in place.
type publisher struct {
	links   []proxy.Link
	notify  [][]string
	dns     *resolver.Server
	monitor *mdns.Monitor
	store   *registry.Store
	logger  *slog.Logger

	mu   sync.Mutex
	last []httpapi.PublishedZone // as last published, in link order
}

// run publishes at once (so each link's zone exists, empty, from the
// start) and after every change until ctx ends.
func (p *publisher) run(ctx context.Context, changes <-chan struct{}) {
	for range changes {
		p.publish(ctx)
	}
}

// publish builds every link's records from the monitor's advertisements
// and serves them. A link that cannot be served keeps what it served,
// with a warning.
func (p *publisher) publish(ctx context.Context) {
	ads := p.monitor.Advertisements()
	snap := p.store.Load()
	registered := func(name, proto string) bool {
		return snap != nil && len(snap.ByType(name, registry.Protocol(proto))) > 0
	}
	var last []httpapi.PublishedZone
	for i, l := range p.links {
		res := proxy.Build(l, ads, registered)
		zc := resolver.ZoneConfig{Zone: l.Zone, TTL: l.MaxTTL, NegTTL: l.MaxTTL, Notify: p.notify[i]}
		if err := p.dns.SetZone(ctx, zc, res.Records); err != nil {
			p.logger.Warn("mdns: the link's zone was not updated; it keeps what it served",
				"interface", l.Interface, "zone", l.Zone, "error", err)
		}
		serial, _ := p.dns.ZoneSerial(l.Zone)
		last = append(last, httpapi.PublishedZone{Interface: l.Interface, Zone: l.Zone, Policy: string(l.Policy),
			Serial: serial, Instances: res.Published, Records: len(res.Records), Excluded: res.Excluded})
	}
	p.mu.Lock()
	p.last = last
	p.mu.Unlock()
}

// zones is what /v1/published shows.
func (p *publisher) zones() []httpapi.PublishedZone {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.last)
}
