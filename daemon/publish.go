package daemon

// The discovery proxy: each link of mdns.publish is a zone of the DNS
// server, kept in step with the advertisements the monitor sees there.

import (
	"context"
	"log/slog"
	"sync"

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

	mu       sync.Mutex
	excluded map[string][]proxy.Exclusion // by interface, as last published
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
	excluded := map[string][]proxy.Exclusion{}
	for i, l := range p.links {
		res := proxy.Build(l, ads, registered)
		excluded[l.Interface] = res.Excluded
		zc := resolver.ZoneConfig{Zone: l.Zone, TTL: l.MaxTTL, NegTTL: l.MaxTTL, Notify: p.notify[i]}
		if err := p.dns.SetZone(ctx, zc, res.Records); err != nil {
			p.logger.Warn("mdns: the link's zone was not updated; it keeps what it served",
				"interface", l.Interface, "zone", l.Zone, "error", err)
		}
	}
	p.mu.Lock()
	p.excluded = excluded
	p.mu.Unlock()
}
