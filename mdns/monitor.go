package mdns

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/svcreg/svcreg/registry"
)

// MonitorConfig configures a Monitor. Interfaces, MaxInstances, Browse,
// BrowseInterval and Policy are the config file's; the rest are seams and
// knobs for tests and svcreg scan.
type MonitorConfig struct {
	Interfaces   []string
	MaxInstances int // default DefaultMaxInstances
	// RatePackets and RateBytes are the mdns-rate thresholds: a sender
	// above either, averaged over RateWindow, gets one finding (default
	// DefaultRatePackets and DefaultRateBytes a second).
	RatePackets int
	RateBytes   int
	// ReflectWindow (reflected) and RenameWindow (rename-loop) are how
	// close in time the packets of those rules must be (0: the defaults,
	// DefaultReflectWindow and DefaultRenameWindow).
	ReflectWindow  time.Duration
	RenameWindow   time.Duration
	Browse         bool          // also query actively (zeroconf)
	BrowseInterval time.Duration // between browse rounds, default DefaultBrowseInterval
	Policy         Policy

	// BrowseWindow is how long each browse round's queries stay open
	// (default 5 s, capped at BrowseInterval).
	BrowseWindow time.Duration
	// FlushInterval is how often expiries are applied, changed
	// advertisements revalidated and subscribers signalled (default 50 ms).
	FlushInterval time.Duration
	// Source replaces the multicast listener (tests); Browser the
	// zeroconf browser.
	Source  PacketSource
	Browser ServiceBrowser
	// Port is the UDP port the listener binds (default 5353).
	Port int
	// Family restricts listening and browsing to one IP version
	// (FamilyIPv4, FamilyIPv6); "" or FamilyBoth uses both.
	Family Family
	// Now replaces the clock (tests).
	Now func() time.Time
}

// Packet results, the closed label set of svcreg_mdns_packets_total.
const (
	resultResponse  = "response"  // validated
	resultQuery     = "query"     // QR=0: probes and queries are not advertisements
	resultMalformed = "malformed" // did not unpack
)

// flushBit is the cache-flush bit of an mDNS record's class (RFC 6762
// section 10.2).
const flushBit = 0x8000

// mdns-rate defaults and bounds.
const (
	DefaultRatePackets = 50
	DefaultRateBytes   = 50_000
	// RateWindow is the window senders' rates are averaged over.
	RateWindow = 10 * time.Second
	// maxRateSenders bounds the senders tracked; past it the table starts
	// again (a flood of spoofed sources cannot grow it).
	maxRateSenders = 4096
)

// DefaultFlushInterval is how often the monitor applies expiries,
// revalidates what changed and tells subscribers (the web UI, the
// discovery proxy): the longest a change waits before they see it.
const DefaultFlushInterval = 50 * time.Millisecond

// DefaultRenameWindow is how long the renamed forms of one instance name
// from one sender are gathered for rename-loop.
const DefaultRenameWindow = 10 * time.Minute

// renameKey is one sender's instance name without its rename suffix.
type renameKey struct {
	sender netip.Addr
	base   string // with the service type
}

// renameSeen gathers the renamed forms of one name.
type renameSeen struct {
	start    time.Time
	names    []string
	reported bool
}

// renameBase splits a renamed instance label: "Printer (3)" as
// mDNSResponder renames and "Printer #3" as avahi does give ("Printer",
// true); a label without such a suffix (N of 2 or more) gives false.
func renameBase(label string) (string, bool) {
	var i int
	switch {
	case strings.HasSuffix(label, ")"):
		i = strings.LastIndex(label, " (")
		if i <= 0 || !renameNumber(label[i+2:len(label)-1]) {
			return "", false
		}
	default:
		i = strings.LastIndex(label, " #")
		if i <= 0 || !renameNumber(label[i+2:]) {
			return "", false
		}
	}
	return label[:i], true
}

func renameNumber(s string) bool {
	if s == "" || len(s) > 4 || s == "0" || s == "1" || s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// rateCount is one sender's traffic in the current window.
type rateCount struct {
	start          time.Time
	packets, bytes int
	reported       bool
}

// maxPacketFindings bounds the distinct packet-level findings kept; past
// it a new one replaces the one seen least recently.
const maxPacketFindings = 1000

// PacketFindingRetention is how long a packet-level finding stays after
// the packet that last gave it: a device that stopped misbehaving (or an
// instance that expired without a goodbye) drops off the list, and one
// that goes on is seen again and stays.
const PacketFindingRetention = time.Hour

// packetFinding is a kept packet-level finding and when it was last seen.
type packetFinding struct {
	f    Finding
	seen time.Time
}

// maxKnownTypes bounds the service types learnt from enumeration answers.
const maxKnownTypes = 1024

// Monitor watches the LAN: the passive listener's packets go through the
// Validator into the Store, an optional Browser provokes answers, and
// readers (svcreg scan, the web UI, the HTTP API) take sorted copies.
type Monitor struct {
	cfg    MonitorConfig
	snaps  *registry.Store
	logger *slog.Logger
	store  *Store
	now    func() time.Time
	// querier sends PTR queries from the listener's sockets while Run
	// runs (nil before, or with a Source of its own).
	querier atomic.Pointer[Querier]

	// bound is the validator of the snapshot it was built from, rebuilt
	// when the registry is reloaded (Reloaded, or the first packet after
	// a swap); a packet reads it with one atomic load and no lock. vmu
	// serialises rebuilds (never held with mu or the store's lock).
	vmu   sync.Mutex
	bound atomic.Pointer[boundValidator]
	// unpacked remembers recent responses, unpacked.
	unpacked unpackCache
	// scratch is a free list of packet assembly state: the
	// advertisements of one packet live there until merged. (A channel
	// rather than a sync.Pool, which may drop what it holds.)
	scratch chan *packetScratch

	mu       sync.Mutex               // guards the fields below
	pktFinds map[string]packetFinding // dedup key -> finding
	pktAged  time.Time                // when pktFinds was last pruned
	rates    map[netip.Addr]*rateCount
	renames  map[renameKey]*renameSeen
	types    map[string]struct{}
	subs     map[chan struct{}]struct{}

	changed atomic.Bool
	running atomic.Bool

	packets    *prometheus.CounterVec
	findings   *prometheus.CounterVec
	evictions  prometheus.Counter
	adsGauge   prometheus.GaugeFunc
	packetsRes [3]prometheus.Counter
	up         *prometheus.GaugeVec   // by interface: 1 while the listener runs
	stopped    atomic.Pointer[string] // why Run stopped on an error
}

// maxScratch bounds the packet assembly states kept for reuse: one per
// receiving goroutine is enough.
const maxScratch = 8

// boundValidator pairs a validator with the snapshot it checks against.
type boundValidator struct {
	snap *registry.Snapshot
	v    *Validator
}

// ErrAlreadyRunning is returned by a second Run.
var ErrAlreadyRunning = errors.New("mdns: monitor already running")

// NewMonitor checks the config and registers the metrics on reg (nil:
// none). snaps supplies the registry snapshot; a reload is picked up on
// the next packet and every advertisement is revalidated.
func NewMonitor(cfg MonitorConfig, snaps *registry.Store, logger *slog.Logger, reg prometheus.Registerer) (*Monitor, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if snaps == nil {
		return nil, errors.New("mdns: monitor needs a registry store")
	}
	if len(cfg.Interfaces) == 0 && cfg.Source == nil {
		return nil, fmt.Errorf("%w: no interface configured", ErrNoInterface)
	}
	if cfg.MaxInstances < 0 {
		return nil, fmt.Errorf("mdns: max instances %d is negative", cfg.MaxInstances)
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = DefaultFlushInterval
	}
	if cfg.RatePackets < 0 || cfg.RateBytes < 0 {
		return nil, fmt.Errorf("mdns: rate thresholds %d packets, %d bytes: negative", cfg.RatePackets, cfg.RateBytes)
	}
	if cfg.RatePackets == 0 {
		cfg.RatePackets = DefaultRatePackets
	}
	if cfg.ReflectWindow < 0 || cfg.RenameWindow < 0 {
		return nil, fmt.Errorf("mdns: windows %s, %s: negative", cfg.ReflectWindow, cfg.RenameWindow)
	}
	if cfg.ReflectWindow == 0 {
		cfg.ReflectWindow = DefaultReflectWindow
	}
	if cfg.RenameWindow == 0 {
		cfg.RenameWindow = DefaultRenameWindow
	}
	if cfg.RateBytes == 0 {
		cfg.RateBytes = DefaultRateBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	m := &Monitor{
		cfg: cfg, snaps: snaps, logger: logger, now: cfg.Now, scratch: make(chan *packetScratch, maxScratch),
		pktFinds: make(map[string]packetFinding),
		rates:    make(map[netip.Addr]*rateCount),
		renames:  make(map[renameKey]*renameSeen),
		types:    make(map[string]struct{}),
		subs:     make(map[chan struct{}]struct{}),
	}
	m.packets, m.findings, m.evictions, m.up = newMetrics()
	m.store = NewStore(StoreConfig{
		MaxInstances:  cfg.MaxInstances,
		Validate:      m.validate,
		OnEvict:       m.evictions.Inc,
		OnFinding:     m.countFinding,
		OnExpire:      m.expired,
		ReflectWindow: cfg.ReflectWindow,
	})
	m.adsGauge = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "svcreg_mdns_advertisements",
		Help: "Advertisements currently held.",
	}, func() float64 { return float64(m.store.Len()) })
	for i, r := range [...]string{resultResponse, resultQuery, resultMalformed} {
		m.packetsRes[i] = m.packets.WithLabelValues(r)
	}
	for _, ifi := range cfg.Interfaces {
		m.up.WithLabelValues(ifi).Set(0)
	}
	if reg != nil {
		if err := register(reg, m.packets, m.findings, m.evictions, m.adsGauge, m.up); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// newMetrics builds the monitor's metric families.
func newMetrics() (packets, findings *prometheus.CounterVec, evictions prometheus.Counter, up *prometheus.GaugeVec) {
	packets = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "svcreg_mdns_packets_total",
		Help: "mDNS packets received, by result (response, query, malformed).",
	}, []string{"result"})
	findings = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "svcreg_mdns_findings_total",
		Help: "Validation findings newly raised on the LAN, by rule and severity.",
	}, []string{"rule", "severity"})
	evictions = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "svcreg_mdns_evictions_total",
		Help: "Advertisements evicted because the store was full.",
	})
	up = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "svcreg_mdns_up",
		Help: "1 while the mDNS listener runs on the interface, 0 when it does not.",
	}, []string{"interface"})
	return packets, findings, evictions, up
}

func register(reg prometheus.Registerer, cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("mdns: registering metrics: %w", err)
		}
	}
	return nil
}

// RegisterIdleMetrics registers the monitor's metric families, at zero,
// for a daemon that runs no monitor: alerts on them then see zeros, not
// an absence that looks like a scrape problem.
func RegisterIdleMetrics(reg prometheus.Registerer) error {
	packets, findings, evictions, up := newMetrics()
	for _, r := range [...]string{resultResponse, resultQuery, resultMalformed} {
		packets.WithLabelValues(r)
	}
	ads := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "svcreg_mdns_advertisements",
		Help: "Advertisements currently held.",
	}, func() float64 { return 0 })
	return register(reg, packets, findings, evictions, ads, up)
}

// Run listens (and browses, when configured) until ctx ends; it returns
// nil then, or the error that stopped the listener, which Stopped then
// reports.
func (m *Monitor) Run(ctx context.Context) error {
	if !m.running.CompareAndSwap(false, true) {
		return ErrAlreadyRunning
	}
	err := m.run(ctx)
	if err != nil && !errors.Is(err, context.Canceled) {
		why := err.Error()
		m.stopped.Store(&why)
	}
	return err
}

// Browsing reports whether the monitor also queries the LAN (browse) or
// only listens.
func (m *Monitor) Browsing() bool { return m.cfg.Browse }

// Stopped is why Run stopped on an error, "" while it runs, before it
// starts and after a clean stop.
func (m *Monitor) Stopped() string {
	if why := m.stopped.Load(); why != nil {
		return *why
	}
	return ""
}

func (m *Monitor) run(ctx context.Context) error {
	src := m.cfg.Source
	var listener *Listener
	if src == nil {
		l, err := NewListener(ctx, ListenConfig{Interfaces: m.cfg.Interfaces, Port: m.cfg.Port, Family: m.cfg.Family}, m.logger)
		if err != nil {
			return err
		}
		src, listener = l, l
		q := NewQuerier(l)
		q.Known, q.Now = m.store.KnownAnswers, m.now
		m.querier.Store(q)
		defer m.querier.Store(nil)
	}
	for _, ifi := range m.cfg.Interfaces {
		m.up.WithLabelValues(ifi).Set(1)
	}
	defer func() {
		for _, ifi := range m.cfg.Interfaces {
			m.up.WithLabelValues(ifi).Set(0)
		}
	}()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 1)
	wg.Go(func() {
		errc <- src.Serve(ctx, m.HandlePacket)
		cancel()
	})
	if m.cfg.Browse {
		sb := m.cfg.Browser
		if sb == nil {
			z, err := NewZeroconfBrowser(m.cfg.Interfaces, m.cfg.Family)
			if err != nil {
				cancel()
				wg.Wait()
				return err
			}
			sb = z
			if listener != nil {
				// PTR queries with known answers from our own sockets;
				// zeroconf resolves the instances still missing records.
				q := NewQuerier(listener)
				q.Known, q.Types, q.Resolve, q.Now = m.store.KnownAnswers, m.knownTypes, z, m.now
				sb = q
			}
		}
		bc := BrowserConfig{
			Window: m.cfg.BrowseWindow, Interval: m.cfg.BrowseInterval,
			KnownTypes: m.knownTypes, Unresolved: m.store.Unresolved,
		}
		if _, ok := sb.(*Querier); ok {
			// A Querier's browse is a few packets on shared sockets, not a
			// zeroconf resolver with sockets of its own: every type of the
			// round can be queried at once.
			bc.Parallel = 512
		}
		b := NewBrowser(sb, bc, m.logger)
		wg.Go(func() { _ = b.Run(ctx) })
	}
	t := time.NewTicker(m.cfg.FlushInterval)
	defer t.Stop()
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-t.C:
		}
		m.flush()
	}
	wg.Wait()
	return <-errc
}

// flush applies expiries, revalidates and signals subscribers.
func (m *Monitor) flush() {
	now := m.now()
	storeChanged := m.store.Flush(now)
	aged := m.agePacketFindings(now)
	if m.changed.Swap(false) || storeChanged || aged {
		m.notify()
	}
}

// HandlePacket processes one received datagram (the PacketHandler the
// listener calls; exported for fuzzing and tests).
func (m *Monitor) HandlePacket(pkt []byte, meta PacketMeta) {
	m.countRate(len(pkt), meta)
	// Devices repeat their answers byte for byte (every query for their
	// type, every announcement); the message unpacked the first time
	// serves again, read-only.
	if msg := m.unpacked.get(pkt); msg != nil {
		m.packetsRes[0].Inc()
		m.handleResponse(msg, meta)
		return
	}
	msg := new(dns.Msg)
	if err := msg.Unpack(pkt); err != nil {
		m.packetsRes[2].Inc()
		m.logger.Debug("mdns: malformed packet", "source", meta.Source, "error", err)
		return
	}
	if !msg.Response {
		m.packetsRes[1].Inc()
		return
	}
	m.packetsRes[0].Inc()
	m.unpacked.put(pkt, msg)
	m.handleResponse(msg, meta)
}

// Bounds of the cache of unpacked responses.
const (
	maxUnpacked       = 1024
	maxUnpackedPacket = 1500 // bytes: the usual announcement, not a flood's jumbo
)

// unpackCache maps the wire bytes of recent responses to their unpacked
// messages, which are never modified after Unpack. It holds at most
// maxUnpacked entries, dropping an arbitrary one when full.
type unpackCache struct {
	mu   sync.Mutex
	msgs map[string]*dns.Msg
}

func (c *unpackCache) get(pkt []byte) *dns.Msg {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.msgs[string(pkt)] // the conversion does not allocate
}

func (c *unpackCache) put(pkt []byte, msg *dns.Msg) {
	if len(pkt) > maxUnpackedPacket {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.msgs == nil {
		c.msgs = make(map[string]*dns.Msg)
	}
	if len(c.msgs) >= maxUnpacked {
		for k := range c.msgs {
			delete(c.msgs, k)
			break
		}
	}
	c.msgs[string(pkt)] = msg
}

// handleResponse folds one unpacked response into the store: assembly of
// its advertisements, the merge (a repeated announcement only refreshes
// times and allocates nothing), the address table and packet findings.
func (m *Monitor) handleResponse(msg *dns.Msg, meta PacketMeta) {
	if meta.Received.IsZero() {
		meta.Received = m.now()
	}
	// The store validates an advertisement when it changes (Flush), so
	// a repeated announcement costs no validation.
	v := m.currentValidator()
	var sc *packetScratch
	select {
	case sc = <-m.scratch:
	default:
		sc = &packetScratch{}
	}
	defer func() {
		sc.reset()
		select {
		case m.scratch <- sc:
		default:
		}
	}()
	ads, fs := v.assemble(msg, meta, sc)
	changed := false
	var byes *ptrGoodbyes
	for _, a := range ads {
		if a.TTL.Has(dns.TypePTR) && len(a.Subtypes) > 0 {
			// subtype and main PTRs share TTL[PTR]; the packet says which said goodbye
			if byes == nil {
				byes = findPTRGoodbyes(msg)
			}
			if m.mergeSubtyped(a, byes, meta.Received) {
				changed = true
			}
			continue
		}
		if m.store.Merge(a, meta.Received) {
			changed = true
		}
	}
	for _, a := range ads {
		if a.Instance != "" && !isGoodbye(a) {
			m.noteRename(a, meta)
		}
	}
	m.learnRecords(msg, ads, meta.Received, meta.Source.Addr())
	if m.addPacketFindings(fs, meta) {
		changed = true
	}
	if changed {
		m.changed.Store(true)
	}
}

// ptrGoodbyes are the PTR records with TTL 0 in one packet, keyed by
// instanceKey: main ones (the instance is withdrawn) and subtype ones
// (only that subtype is, RFC 6763 section 7.1).
type ptrGoodbyes struct {
	main map[string]bool
	sub  map[string][]string
}

// instanceKey matches a raw instance and type case-insensitively.
func instanceKey(instance, typ string) string {
	return strings.ToLower(instance) + "\x00" + strings.ToLower(typ)
}

func findPTRGoodbyes(msg *dns.Msg) *ptrGoodbyes {
	g := &ptrGoodbyes{main: map[string]bool{}, sub: map[string][]string{}}
	for _, sec := range [...][]dns.RR{msg.Answer, msg.Ns, msg.Extra} {
		for _, rr := range sec {
			r, ok := rr.(*dns.PTR)
			if !ok || r.Hdr.Ttl != 0 {
				continue
			}
			owner, target := dns.SplitDomainName(r.Hdr.Name), dns.SplitDomainName(r.Ptr)
			if len(target) == 0 {
				continue
			}
			inst := Unescape(target[0])
			switch {
			case len(owner) >= 4 && strings.EqualFold(owner[1], "_sub"):
				k := instanceKey(inst, owner[2]+"."+owner[3])
				g.sub[k] = append(g.sub[k], Unescape(owner[0]))
			case len(owner) >= 2:
				g.main[instanceKey(inst, owner[0]+"."+owner[1])] = true
			}
		}
	}
	return g
}

// mergeSubtyped merges an advertisement that carries subtype PTRs,
// telling a subtype's goodbye from the instance's.
func (m *Monitor) mergeSubtyped(a *Advertisement, g *ptrGoodbyes, now time.Time) bool {
	k := instanceKey(a.Instance, a.ServiceType())
	if g.main[k] {
		c := *a
		c.TTL.Set(dns.TypePTR, 0) // whatever order the PTRs came in
		return m.store.Merge(&c, now)
	}
	gone := g.sub[k]
	if len(gone) == 0 {
		return m.store.Merge(a, now)
	}
	c := *a
	if c.TTL.Of(dns.TypePTR) == 0 {
		c.TTL.Delete(dns.TypePTR) // only subtypes said goodbye
	}
	c.Subtypes = slices.DeleteFunc(slices.Clone(a.Subtypes), func(s string) bool { return slices.Contains(gone, s) })
	changed := m.store.Merge(&c, now)
	if m.store.RemoveSubtypes(&c, gone) {
		changed = true
	}
	return changed
}

// learnRecords takes what the validator does not hand back as
// advertisements: address records (they may come without the SRV; the
// cache-flush bit on them replaces the host's older addresses) and
// the service types of enumeration answers (RFC 6763 section 9), which
// the browser then browses.
func (m *Monitor) learnRecords(msg *dns.Msg, ads []*Advertisement, now time.Time, from netip.Addr) {
	// The addresses of the SRV targets came in with the advertisements
	// (Store.Merge); only the others are added here.
	merged := func(host string) bool {
		for _, a := range ads {
			if len(a.Addrs) > 0 && strings.EqualFold(a.Host, host) {
				return true
			}
		}
		return false
	}
	type flush struct {
		host string
		v6   bool
	}
	var flushes []flush
	for _, sec := range [...][]dns.RR{msg.Answer, msg.Ns, msg.Extra} {
		for _, rr := range sec {
			switch r := rr.(type) {
			case *dns.A:
				if a, ok := netip.AddrFromSlice(r.A); ok {
					if !merged(r.Hdr.Name) {
						m.store.AddHostAddr(r.Hdr.Name, a.Unmap(), r.Hdr.Ttl, now, from)
					}
					if r.Hdr.Class&flushBit != 0 && r.Hdr.Ttl != 0 {
						flushes = append(flushes, flush{r.Hdr.Name, false})
					}
				}
			case *dns.AAAA:
				if a, ok := netip.AddrFromSlice(r.AAAA); ok {
					if !merged(r.Hdr.Name) {
						m.store.AddHostAddr(r.Hdr.Name, a, r.Hdr.Ttl, now, from)
					}
					if r.Hdr.Class&flushBit != 0 && r.Hdr.Ttl != 0 {
						flushes = append(flushes, flush{r.Hdr.Name, true})
					}
				}
			case *dns.PTR:
				if r.Hdr.Ttl == 0 || !strings.HasPrefix(strings.ToLower(r.Hdr.Name), EnumerationType+".") {
					continue
				}
				domain := strings.TrimSuffix(r.Hdr.Name[len(EnumerationType)+1:], ".")
				if t := normalizeType(r.Ptr, domain); t != "" {
					m.mu.Lock()
					if len(m.types) < maxKnownTypes {
						m.types[t] = struct{}{}
					}
					m.mu.Unlock()
				}
			}
		}
	}
	for _, f := range flushes {
		m.store.CacheFlushHost(f.host, f.v6, now)
	}
}

func (m *Monitor) knownTypes() []string {
	m.mu.Lock()
	out := make([]string, 0, len(m.types))
	for t := range m.types {
		out = append(out, t)
	}
	m.mu.Unlock()
	for _, a := range m.store.Advertisements(m.now()) {
		if a.Domain == "local" && a.Proto != "" {
			out = append(out, a.ServiceType())
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// currentValidator returns the validator of the current snapshot,
// rebuilding it (and marking every advertisement for revalidation) when
// the registry was reloaded since.
func (m *Monitor) currentValidator() *Validator {
	snap := m.snaps.Load()
	if b := m.bound.Load(); b != nil && b.snap == snap {
		return b.v
	}
	return m.rebuild(snap)
}

// Reloaded builds the validator of the snapshot just swapped into the
// registry store, so the first packet after a reload does not pay for
// it, and marks every advertisement for revalidation at the next flush.
func (m *Monitor) Reloaded() { m.currentValidator() }

func (m *Monitor) rebuild(snap *registry.Snapshot) *Validator {
	m.vmu.Lock()
	b := m.bound.Load()
	reload := false
	if b == nil || b.snap != snap {
		reload = b != nil
		b = &boundValidator{snap: snap, v: NewValidator(snap, m.cfg.Policy)}
		m.bound.Store(b)
	}
	m.vmu.Unlock()
	if reload {
		m.logger.Info("mdns: registry reloaded; revalidating every advertisement")
		m.store.MarkAllDirty()
		m.changed.Store(true)
	}
	return b.v
}

func (m *Monitor) validate(a *Advertisement) []Finding {
	b := m.bound.Load()
	if b == nil {
		return nil
	}
	return b.v.Validate(a)
}

func (m *Monitor) countFinding(f Finding) {
	m.findings.WithLabelValues(f.Rule, f.Severity.String()).Inc()
}

// noteRename gathers a renamed instance name per sender and reports the
// sender once two renamed forms of one name arrive within RenameWindow.
func (m *Monitor) noteRename(a *Advertisement, meta PacketMeta) {
	base, ok := renameBase(a.Instance)
	if !ok || !meta.Source.IsValid() {
		return
	}
	now := meta.Received
	if now.IsZero() {
		now = m.now()
	}
	k := renameKey{sender: meta.Source.Addr(), base: base + "." + a.ServiceType()}
	m.mu.Lock()
	r := m.renames[k]
	if r == nil || now.Sub(r.start) > m.cfg.RenameWindow {
		if len(m.renames) >= maxRateSenders {
			clear(m.renames)
		}
		r = &renameSeen{start: now}
		m.renames[k] = r
	}
	if slices.Contains(r.names, a.Instance) || len(r.names) >= 8 {
		m.mu.Unlock()
		return
	}
	r.names = append(r.names, a.Instance)
	report := len(r.names) >= 2 && !r.reported
	if report {
		r.reported = true
	}
	names := slices.Clone(r.names)
	m.mu.Unlock()
	if !report {
		return
	}
	m.reportPacket(m.currentValidator(), rRenameLoop, fmt.Sprintf("the sender renamed %q %d times within %s (%s): it keeps losing a name conflict",
		base, len(names), m.cfg.RenameWindow, strings.Join(names, ", ")), base, a.Instance, a.ServiceType(), meta)
}

// reportPacket files one finding of rule r from v about a packet's
// sender (meta), unless the policy turned the rule off.
func (m *Monitor) reportPacket(v *Validator, r ruleIndex, msg, evidence, inst, typ string, meta PacketMeta) {
	if !v.enabled[r] {
		return
	}
	f := v.packetFinding(r, catalogue[r].RFC, msg, evidence, inst, typ, sourceOf(meta))
	if m.addPacketFindings([]Finding{f}, meta) {
		m.changed.Store(true)
	}
}

// expired records goodbye-missing for an instance whose records all
// expired. It runs with the store locked, so it takes the validator
// bound last (a rebuild would lock the store) and touches only the
// monitor's own findings.
func (m *Monitor) expired(a *Advertisement) {
	b := m.bound.Load()
	if b == nil {
		return
	}
	meta := PacketMeta{Source: a.Source, Interface: a.Interface, MAC: a.MAC, Packet: a.LastPacket}
	m.reportPacket(b.v, rGoodbye, fmt.Sprintf("the instance expired at %s without a goodbye (first seen %s, last %s)",
		a.Expires.UTC().Format(time.RFC3339), a.FirstSeen.UTC().Format(time.RFC3339), a.LastSeen.UTC().Format(time.RFC3339)),
		"", a.Instance, a.ServiceType(), meta)
	if a.FirstPacket > 0 {
		m.mu.Lock()
		for k, pf := range m.pktFinds {
			if pf.f.Rule == RuleGoodbye && pf.f.Instance == a.Instance && pf.f.ServiceType == a.ServiceType() {
				pf.f.FirstPacket = a.FirstPacket
				m.pktFinds[k] = pf
			}
		}
		m.mu.Unlock()
	}
}

// countRate adds one packet to its sender's window and reports the
// sender the first time its average over RateWindow passes a threshold
// (RFC 6762 sections 6 and 8.3 bound how often a responder multicasts).
// Queries and malformed packets count: a flood is a flood.
func (m *Monitor) countRate(size int, meta PacketMeta) {
	if !meta.Source.IsValid() {
		return
	}
	now := meta.Received
	if now.IsZero() {
		now = m.now()
	}
	addr := meta.Source.Addr()
	m.mu.Lock()
	c := m.rates[addr]
	if c == nil {
		if len(m.rates) >= maxRateSenders {
			clear(m.rates)
		}
		c = &rateCount{start: now}
		m.rates[addr] = c
	}
	if now.Sub(c.start) >= RateWindow {
		c.start, c.packets, c.bytes = now, 0, 0
	}
	c.packets++
	c.bytes += size
	secs := int(RateWindow / time.Second)
	over := !c.reported && (c.packets > m.cfg.RatePackets*secs || c.bytes > m.cfg.RateBytes*secs)
	if over {
		c.reported = true
	}
	packets, bytes := c.packets, c.bytes
	m.mu.Unlock()
	if !over {
		return
	}
	m.reportPacket(m.currentValidator(), rMDNSRate,
		fmt.Sprintf("the sender passed %d packets or %d bytes a second: %d packets, %d bytes within %s", m.cfg.RatePackets,
			m.cfg.RateBytes, packets, bytes, RateWindow), fmt.Sprintf("over %d packets/s or %d bytes/s", m.cfg.RatePackets, m.cfg.RateBytes),
		"", "", meta)
}

// addPacketFindings keeps packet-level findings once per rule, sender
// address and evidence (a chatty device repeats itself every announcement).
func (m *Monitor) addPacketFindings(fs []Finding, meta PacketMeta) bool {
	if len(fs) == 0 {
		return false
	}
	src := meta.Source.Addr().WithZone("").String()
	now := meta.Received
	if now.IsZero() {
		now = m.now()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	added := false
	for _, f := range fs {
		if f.Origin == "" && meta.Source.IsValid() {
			f.Origin = meta.Source.String()
		}
		f.Interface, f.MAC, f.FirstPacket, f.LastPacket = meta.Interface, meta.MAC, meta.Packet, meta.Packet
		k := f.Rule + "\x00" + src + "\x00" + f.Instance + "\x00" + f.Evidence + "\x00" + f.Message
		if pf, ok := m.pktFinds[k]; ok {
			if now.After(pf.seen) {
				pf.seen = now
			}
			pf.f.LastPacket = max(pf.f.LastPacket, meta.Packet)
			m.pktFinds[k] = pf
			continue
		}
		if len(m.pktFinds) >= maxPacketFindings {
			m.dropOldestPacketFinding()
		}
		m.pktFinds[k] = packetFinding{f: f, seen: now}
		m.countFinding(f)
		added = true
	}
	return added
}

// dropOldestPacketFinding makes room for a new packet-level finding by
// forgetting the one seen least recently; under m.mu.
func (m *Monitor) dropOldestPacketFinding() {
	var oldest string
	var at time.Time
	for k, pf := range m.pktFinds {
		if oldest == "" || pf.seen.Before(at) {
			oldest, at = k, pf.seen
		}
	}
	delete(m.pktFinds, oldest)
}

// agePacketFindings forgets the packet-level findings not seen within
// PacketFindingRetention of now, looking at most once a minute. It
// reports whether any went.
func (m *Monitor) agePacketFindings(now time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if now.Sub(m.pktAged) < time.Minute {
		return false
	}
	m.pktAged = now
	n := len(m.pktFinds)
	maps.DeleteFunc(m.pktFinds, func(_ string, pf packetFinding) bool { return now.Sub(pf.seen) > PacketFindingRetention })
	return len(m.pktFinds) < n
}

// Advertisements returns copies of what is advertised now, sorted by
// type, domain and instance.
func (m *Monitor) Advertisements() []Advertisement {
	return m.store.Advertisements(m.now())
}

// ChangesSince returns what changed in the advertisements after version
// since (0: all of them; see Store.ChangesSince), for a consumer that
// keeps its own copy in step.
func (m *Monitor) ChangesSince(since uint64) Changes {
	return m.store.ChangesSince(since, m.now())
}

// Findings returns the current advertisements' findings (in their order)
// followed by the packet-level ones (sorted).
func (m *Monitor) Findings() []Finding {
	var out []Finding
	for _, a := range m.Advertisements() {
		for _, f := range a.Findings {
			f.Interface, f.MAC, f.FirstPacket, f.LastPacket = a.Interface, a.MAC, a.FirstPacket, a.LastPacket
			out = append(out, f)
		}
	}
	m.mu.Lock()
	pf := make([]Finding, 0, len(m.pktFinds))
	for _, f := range m.pktFinds {
		pf = append(pf, f.f)
	}
	m.mu.Unlock()
	slices.SortFunc(pf, func(a, b Finding) int {
		return cmp.Or(strings.Compare(a.Rule, b.Rule), strings.Compare(a.Source, b.Source),
			strings.Compare(a.Instance, b.Instance), strings.Compare(a.Evidence, b.Evidence),
			strings.Compare(a.Message, b.Message))
	})
	return append(out, pf...)
}

// Discover asks the links for one service type ("_ipp._tcp") now: PTR
// queries for it in .local, with the answers already known, at once and
// after 1 and 2 seconds (RFC 6762 section 5.2), whose responses reach the
// store as any other. It returns once the queries are sent or ctx ends;
// ErrNotSent when the monitor is not listening.
func (m *Monitor) Discover(ctx context.Context, service string) error {
	q := m.querier.Load()
	if q == nil {
		return ErrNotSent
	}
	ctx, cancel := context.WithTimeout(ctx, 2500*time.Millisecond)
	defer cancel()
	return q.Browse(ctx, service, "local.", nil)
}

// Evictions is how many advertisements the store bound pushed out.
func (m *Monitor) Evictions() uint64 { return m.store.Evictions() }

// Subscribe returns a channel signalled (without blocking; signals
// coalesce) after advertisements or findings change. It is closed when
// ctx ends.
func (m *Monitor) Subscribe(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{}, 1)
	m.mu.Lock()
	m.subs[ch] = struct{}{}
	m.mu.Unlock()
	context.AfterFunc(ctx, func() {
		m.mu.Lock()
		delete(m.subs, ch)
		close(ch)
		m.mu.Unlock()
	})
	return ch
}

func (m *Monitor) notify() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for ch := range m.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}
