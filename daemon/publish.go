package daemon

// The discovery proxy: each link of mdns.publish is a zone of the DNS
// server, kept in step with the advertisements the monitor sees there.

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/miekg/dns"

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

	// builders keep each link's records in step with the monitor's
	// changes since version since, so a republish costs what changed.
	builders []proxy.Builder
	since    uint64
	// stale marks a link whose zone did not take the last change: the
	// next publish hands it the whole record set (SetZone works out the
	// difference against what it serves).
	stale []bool

	mu   sync.Mutex
	last []proxy.Published // as last published, in link order

	// misses carries the service types ("_ipp._tcp") unicast clients
	// asked a link's zone for and found nothing, to ask the link.
	misses chan string
}

// discoverEvery bounds on-demand discovery: one round of queries per
// type in this long, however many clients ask.
const discoverEvery = 30 * time.Second

// onMiss is the resolver hook of link l's zone: a PTR query for
// _service._proto.<zone> that found nothing queues the type. It runs on
// the query path, so it only looks at the name and never blocks.
func (p *publisher) onMiss(l proxy.Link) func([]byte) {
	buf := make([]byte, 256)
	n, err := dns.PackDomainName(l.Zone, buf, 0, nil, false)
	if err != nil {
		return nil
	}
	zoneWire := string(buf[:n])
	return func(name []byte) {
		if len(name) < 2 || name[1] != '_' {
			return
		}
		l1 := int(name[0])
		if 1+l1 >= len(name) {
			return
		}
		rest := name[1+l1:]
		if len(rest) < 2 || rest[1] != '_' || 1+int(rest[0]) > len(rest) {
			return
		}
		l2 := int(rest[0])
		if string(rest[1+l2:]) != zoneWire {
			return
		}
		select {
		case p.misses <- string(name[1:1+l1]) + "." + string(rest[1:1+l2]):
		default: // a burst: the types already queued will do
		}
	}
}

// discover asks the links for the types clients missed, each at most once
// per discoverEvery, a few at a time, until ctx ends.
func (p *publisher) discover(ctx context.Context) {
	last := map[string]time.Time{}
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case typ := <-p.misses:
			if now := time.Now(); now.Sub(last[typ]) >= discoverEvery {
				last[typ] = now
				select {
				case sem <- struct{}{}:
				default:
					continue // four rounds under way: this one waits for the next miss
				}
				p.logger.Info("mdns: asking the links for a type a unicast client looked for", "type", typ)
				wg.Go(func() {
					defer func() { <-sem }()
					if err := p.monitor.Discover(ctx, typ); err != nil {
						p.logger.Warn("mdns: on-demand discovery not sent", "type", typ, "error", err)
					}
				})
			}
		}
	}
}

// run publishes at once (so each link's zone exists, empty, from the
// start) and after every change until ctx ends.
func (p *publisher) run(ctx context.Context, changes <-chan struct{}) {
	var wg sync.WaitGroup
	wg.Go(func() { p.discover(ctx) })
	defer wg.Wait()
	for range changes {
		p.publish(ctx)
	}
}

// publish brings every link's records up to date with what changed in
// the monitor's advertisements since the last publish and serves the
// difference. A link that cannot be served keeps what it served, with a
// warning.
func (p *publisher) publish(ctx context.Context) {
	ch := p.monitor.ChangesSince(p.since)
	p.since = ch.Version
	snap := p.store.Load()
	registered := func(name, proto string) bool {
		return snap != nil && len(snap.ByType(name, registry.Protocol(proto))) > 0
	}
	var last []proxy.Published
	if p.builders == nil {
		p.builders, p.stale = make([]proxy.Builder, len(p.links)), make([]bool, len(p.links))
	}
	for i, l := range p.links {
		l.Prefixes = interfacePrefixes(l.Interface)
		bld := &p.builders[i]
		changes := bld.Apply(l, ch, registered)
		var err error
		if _, served := p.dns.ZoneSerial(l.Zone); served && !p.stale[i] {
			if len(changes) > 0 {
				err = p.dns.UpdateZone(ctx, l.Zone, changes)
			}
		} else {
			zc := resolver.ZoneConfig{Zone: l.Zone, TTL: l.MaxTTL, NegTTL: l.MaxTTL, Notify: p.notify[i], OnMiss: p.onMiss(l)}
			err = p.dns.SetZone(ctx, zc, bld.Records())
		}
		p.stale[i] = err != nil
		if err != nil {
			p.logger.Warn("mdns: the link's zone was not updated; it keeps what it served",
				"interface", l.Interface, "zone", l.Zone, "error", err)
		}
		serial, _ := p.dns.ZoneSerial(l.Zone)
		published, records, excluded, dropped := bld.Summary()
		last = append(last, proxy.Published{Interface: l.Interface, Zone: l.Zone, Policy: string(l.Policy),
			Serial: serial, Instances: published, Records: records, Excluded: excluded, Dropped: dropped})
	}
	p.mu.Lock()
	p.last = last
	p.mu.Unlock()
	p.publishReverse(ctx)
}

// interfacePrefixes are the subnets of an interface's addresses (none
// when it cannot be read: the monitor reports a missing interface).
func interfacePrefixes(name string) []netip.Prefix {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return nil
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return nil
	}
	var prefixes []netip.Prefix
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if pfx, err := netip.ParsePrefix(n.String()); err == nil {
				prefixes = append(prefixes, pfx.Masked())
			}
		}
	}
	return prefixes
}

// publishReverse serves the reverse-name browse zones of the links with
// Reverse, from the interfaces' current addresses.
func (p *publisher) publishReverse(ctx context.Context) {
	for _, l := range p.links {
		if !l.Reverse {
			continue
		}
		for zone, rrs := range proxy.BrowseZones(l, interfacePrefixes(l.Interface)) {
			zc := resolver.ZoneConfig{Zone: zone, TTL: l.MaxTTL, NegTTL: l.MaxTTL}
			if err := p.dns.SetZone(ctx, zc, rrs); err != nil {
				p.logger.Warn("mdns: the reverse browse zone was not updated", "interface", l.Interface, "zone", zone, "error", err)
			}
		}
	}
}

// zones is what /v1/published shows.
func (p *publisher) zones() []proxy.Published {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.last)
}
