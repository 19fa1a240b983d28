package mdns

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/grandcat/zeroconf"
)

// EnumerationType is the DNS-SD meta-query type (RFC 6763 section 9).
const EnumerationType = "_services._dns-sd._udp"

// ServiceBrowser is the seam over the zeroconf library: it sends the
// queries and reports what the library hands back. The records the
// validator sees never come from here (zeroconf escapes names, drops
// goodbyes and only reports an instance when its SRV and an address
// arrive in one packet); the passive Listener hears the answers its
// queries provoke.
type ServiceBrowser interface {
	// Browse sends PTR queries for service ("_ipp._tcp", or
	// EnumerationType) in domain until ctx ends, calling found for
	// every name reported. It returns when ctx ends, with everything
	// drained.
	Browse(ctx context.Context, service, domain string, found func(name string)) error
	// Lookup sends SRV and TXT queries for one instance (raw name)
	// until ctx ends or it is answered.
	Lookup(ctx context.Context, instance, service, domain string) error
}

// InstanceRef names one instance to resolve.
type InstanceRef struct{ Instance, Service, Domain string } // Service "_ipp._tcp"

// BrowserConfig configures the active browser.
type BrowserConfig struct {
	Domain string // "local"
	// Window is how long each round's queries stay open (zeroconf
	// repeats a query after 4 s and then backs off). Default 5 s.
	Window time.Duration
	// Interval is the time from the start of one round to the next:
	// a zeroconf Resolver browses once, so we browse again. Default 60 s.
	Interval time.Duration
	// MaxTypes bounds the service types browsed per round (default 256);
	// MaxLookups the instances resolved per round (default 64);
	// Parallel the concurrent browses (default 8).
	MaxTypes, MaxLookups, Parallel int
	// KnownTypes, when set, adds the types the passive listener heard
	// (from enumeration answers and instance PTRs) to each round.
	KnownTypes func() []string
	// Unresolved, when set, lists instances missing their SRV or TXT;
	// each round sends them an SRV+TXT query.
	Unresolved func() []InstanceRef
}

// Browser drives active DNS-SD discovery: each round it enumerates the
// service types (RFC 6763 section 9), browses every type found and
// resolves instances still missing records.
type Browser struct {
	sb     ServiceBrowser
	cfg    BrowserConfig
	logger *slog.Logger
}

// DefaultBrowseInterval is the wait between browse rounds when the
// configuration gives none.
const DefaultBrowseInterval = time.Minute

// NewBrowser returns a browser that queries through sb.
func NewBrowser(sb ServiceBrowser, cfg BrowserConfig, logger *slog.Logger) *Browser {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Domain == "" {
		cfg.Domain = "local"
	}
	if cfg.Window <= 0 {
		cfg.Window = 5 * time.Second
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultBrowseInterval
	}
	if cfg.Interval < cfg.Window {
		cfg.Interval = cfg.Window
	}
	if cfg.MaxTypes <= 0 {
		cfg.MaxTypes = 256
	}
	if cfg.MaxLookups <= 0 {
		cfg.MaxLookups = 64
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = 8
	}
	return &Browser{sb: sb, cfg: cfg, logger: logger}
}

// Run browses in rounds until ctx ends; it returns nil then.
func (b *Browser) Run(ctx context.Context) error {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		start := time.Now()
		types := b.Round(ctx)
		b.logger.Debug("mdns: browse round done", "types", len(types), "took", time.Since(start))
		t.Reset(b.cfg.Interval - time.Since(start))
	}
}

// Round runs one round and returns the types it browsed.
func (b *Browser) Round(ctx context.Context) []string {
	rctx, cancel := context.WithTimeout(ctx, b.cfg.Window)
	defer cancel()
	var (
		mu      sync.Mutex
		started = make(map[string]bool)
		wg      sync.WaitGroup
		sem     = make(chan struct{}, b.cfg.Parallel)
	)
	browse := func(typ string) {
		typ = normalizeType(typ, b.cfg.Domain)
		if typ == "" {
			return
		}
		mu.Lock()
		if started[typ] || len(started) >= b.cfg.MaxTypes {
			mu.Unlock()
			return
		}
		started[typ] = true
		mu.Unlock()
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
			case <-rctx.Done():
				return
			}
			defer func() { <-sem }()
			if err := b.sb.Browse(rctx, typ, b.cfg.Domain, func(string) {}); err != nil && rctx.Err() == nil {
				b.logger.Warn("mdns: browse failed", "type", typ, "error", err)
			}
		})
	}
	if b.cfg.KnownTypes != nil {
		for _, t := range b.cfg.KnownTypes() {
			browse(t)
		}
	}
	if b.cfg.Unresolved != nil {
		refs := b.cfg.Unresolved()
		if len(refs) > b.cfg.MaxLookups {
			refs = refs[:b.cfg.MaxLookups]
		}
		for _, r := range refs {
			wg.Go(func() {
				select {
				case sem <- struct{}{}:
				case <-rctx.Done():
					return
				}
				defer func() { <-sem }()
				if err := b.sb.Lookup(rctx, r.Instance, r.Service, r.Domain); err != nil && rctx.Err() == nil {
					b.logger.Warn("mdns: resolve failed", "instance", r.Instance, "type", r.Service, "error", err)
				}
			})
		}
	}
	// The enumeration runs in this goroutine; types it reports start
	// their own browse at once, inside the same window.
	if err := b.sb.Browse(rctx, EnumerationType, b.cfg.Domain, browse); err != nil && rctx.Err() == nil {
		b.logger.Warn("mdns: service type enumeration failed", "error", err)
	}
	<-rctx.Done()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	out := make([]string, 0, len(started))
	for t := range started {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// normalizeType turns "_ipp._tcp.local", "_ipp._tcp.local." or "_ipp._tcp"
// into "_ipp._tcp"; anything that is not two underscore labels is "".
func normalizeType(s, domain string) string {
	s = strings.TrimSuffix(s, ".")
	if d := "." + domain; strings.HasSuffix(strings.ToLower(s), strings.ToLower(d)) {
		s = s[:len(s)-len(d)]
	}
	svc, proto, ok := strings.Cut(s, ".")
	if !ok || strings.Contains(proto, ".") || !strings.HasPrefix(svc, "_") || !strings.HasPrefix(proto, "_") {
		return ""
	}
	return s
}

// ZeroconfBrowser is the ServiceBrowser over github.com/grandcat/zeroconf.
// A zeroconf Resolver browses once and closes its sockets when its
// context ends, so every call makes a new one, restricted to the chosen
// interfaces (SelectIfaces: by default it uses every multicast interface).
type ZeroconfBrowser struct {
	ifaces []net.Interface
	ipv4   bool // only IPv4: the interfaces have no IPv6, or the family says so
	ipv6   bool // only IPv6: the family says so
}

// NewZeroconfBrowser resolves the interface names; family restricts the
// queries to one IP version ("" for both).
func NewZeroconfBrowser(names []string, family Family) (*ZeroconfBrowser, error) {
	ifis, err := lookupInterfaces(names)
	if err != nil {
		return nil, err
	}
	return &ZeroconfBrowser{ifaces: ifis, ipv4: family == FamilyIPv4, ipv6: family == FamilyIPv6}, nil
}

func (z *ZeroconfBrowser) resolver() (*zeroconf.Resolver, error) {
	if z.ipv6 {
		r, err := zeroconf.NewResolver(zeroconf.SelectIfaces(z.ifaces), zeroconf.SelectIPTraffic(zeroconf.IPv6))
		if err != nil {
			return nil, fmt.Errorf("zeroconf resolver: %w", err)
		}
		return r, nil
	}
	if !z.ipv4 {
		r, err := zeroconf.NewResolver(zeroconf.SelectIfaces(z.ifaces))
		if err == nil {
			return r, nil
		}
		z.ipv4 = true
	}
	r, err := zeroconf.NewResolver(zeroconf.SelectIfaces(z.ifaces), zeroconf.SelectIPTraffic(zeroconf.IPv4))
	if err != nil {
		return nil, fmt.Errorf("zeroconf resolver: %w", err)
	}
	return r, nil
}

// Browse implements ServiceBrowser.
func (z *ZeroconfBrowser) Browse(ctx context.Context, service, domain string, found func(string)) error {
	r, err := z.resolver()
	if err != nil {
		return err
	}
	entries := make(chan *zeroconf.ServiceEntry, 16)
	err = r.Browse(ctx, service, domain, entries)
	// zeroconf blocks on an undrained channel even after cancel, and
	// closes it when its context ends (also after a failed Browse).
	for e := range entries {
		found(e.Instance)
	}
	if err != nil {
		return fmt.Errorf("browsing %s.%s: %w", service, domain, err)
	}
	return nil
}

// Lookup implements ServiceBrowser.
func (z *ZeroconfBrowser) Lookup(ctx context.Context, instance, service, domain string) error {
	r, err := z.resolver()
	if err != nil {
		return err
	}
	entries := make(chan *zeroconf.ServiceEntry, 4)
	err = r.Lookup(ctx, escapeLabel(instance), service, domain, entries)
	for range entries {
	}
	if err != nil {
		return fmt.Errorf("resolving %q %s.%s: %w", instance, service, domain, err)
	}
	return nil
}

// escapeLabel writes a raw label in the presentation form miekg/dns packs
// (RFC 1035 section 5.1): zeroconf builds its query names from strings.
func escapeLabel(s string) string { return EscapeLabel(s) }

// EscapeLabel writes a raw label (an instance name such as "Office
// Printer") in the presentation form miekg/dns reads and packs (RFC 1035
// section 5.1): dots, backslashes, spaces and the characters the zone
// file syntax gives a meaning escaped, other bytes outside printable
// ASCII as \DDD.
func EscapeLabel(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.' || c == '\\' || c == ' ' || c == '"' || c == '(' || c == ')' || c == ';' || c == '@' || c == '$':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c > 0x7e:
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
