package resolver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/svcreg/svcreg/registry"
)

// Sentinel errors callers branch on.
var (
	ErrStarted = errors.New("resolver: already started")
	ErrClosed  = errors.New("resolver: shut down")
	// ErrNoData is returned by Answer before the first snapshot.
	ErrNoData = errors.New("resolver: no zone loaded yet")
)

// Server is an authoritative DNS server for one zone. Queries read the
// current table through one atomic pointer; SetSnapshot builds a new
// table off to the side and swaps it in, so no query waits or sees a
// half-built zone.
type Server struct {
	cfg     Config
	logger  *slog.Logger
	metrics *metrics
	rrl     *rrl

	tab atomic.Pointer[table]
	// dyn are the zones of SetZone; dynIdx what the query path reads of
	// them (nil: none).
	dyn    dynZones
	dynIdx atomic.Pointer[dynIndex]

	setMu sync.Mutex // serialises SetSnapshot
	hash  [32]byte   // zone content (SOA without serial) of the current table
	// wire are the current zone's records but the SOA, uncompressed, for
	// the next IXFR difference and AXFR; nil after a change in place
	// until asked for (zoneWireNow).
	wire []string
	// ownerWire holds, by owner, its run of wire (records in canonical
	// order, so each owner's are together), to tell the owners of the
	// next zone that did not change.
	ownerWire  map[string][]string
	addrOwners map[string]bool // the owners of the current zone with address records
	lastSnap   *registry.Snapshot
	reg        *regZone // what the next reload needs to apply as a difference
	// ownerSums are the owners' digests (ownerDigest), ownerSum their
	// XOR, of which the zone digest (hash) is made.
	ownerSums map[string][32]byte
	ownerSum  [32]byte
	saved     serialState // what Config.SerialFile holds, as last read or written
	// journalDisk is what Config.JournalFile holds, as last written.
	journalDisk journalDisk
	notifyMu    sync.Mutex
	notifyCx    context.CancelFunc // cancels NOTIFYs of the previous serial

	ctx    context.Context // server lifetime: listeners, NOTIFY
	cancel context.CancelFunc

	mu      sync.Mutex
	started bool
	closed  bool
	udp     []*net.UDPConn
	tcp     []*net.TCPListener
	conns   map[net.Conn]struct{}
	wg      sync.WaitGroup // listener and connection goroutines
	nwg     sync.WaitGroup // NOTIFY goroutines
	// TCP connections held, in total and per source (tcpSource), under mu.
	tcpTotal  int
	tcpSource map[netip.Prefix]int
	refusals  refusalLog
	// tsigKeys are Config.TSIGKeys by lowercased name.
	tsigKeys map[string]TSIGKey
	cookies  cookieKeys
}

// New checks cfg (filling defaults) and registers the metrics on reg
// (nil: a private registry). It serves nothing until SetSnapshot and
// Start; queries before the first SetSnapshot get SERVFAIL.
func New(cfg Config, logger *slog.Logger, reg prometheus.Registerer) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{cfg: cfg, logger: logger, metrics: m, ctx: ctx, cancel: cancel,
		conns: map[net.Conn]struct{}{}, tcpSource: map[netip.Prefix]int{}}
	if cfg.RRLRate > 0 {
		s.rrl = newRRL(cfg)
	}
	if s.tsigKeys, err = checkTSIGKeys(cfg.TSIGKeys); err != nil {
		return nil, err
	}
	if s.cookies, err = newCookieKeys(cfg.CookieSecret, cfg.CookieSecretPrevious); err != nil {
		return nil, err
	}
	s.initCatalog()
	return s, nil
}

// Config returns the configuration in effect (defaults filled in).
func (s *Server) Config() Config { return s.cfg }

// Start binds UDP and TCP on every Config.Listen address and returns once
// all listen; the sockets are served until Shutdown (ctx only bounds the
// binding).
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.started {
		return ErrStarted
	}
	var lc net.ListenConfig
	var udp []*net.UDPConn
	var tcp []*net.TCPListener
	fail := func(err error) error {
		for _, c := range udp {
			c.Close()
		}
		for _, l := range tcp {
			l.Close()
		}
		return err
	}
	for _, addr := range s.cfg.Listen {
		_, port, _ := net.SplitHostPort(addr)
		for attempt := 0; ; attempt++ {
			pc, err := lc.ListenPacket(ctx, "udp", addr)
			if err != nil {
				return fail(fmt.Errorf("listening on udp %s: %w", addr, err))
			}
			// The TCP socket takes the port UDP got, so ":0" works; when
			// that port is taken for TCP, a ":0" address tries another.
			taddr := pc.LocalAddr().String()
			l, err := lc.Listen(ctx, "tcp", taddr)
			if err != nil {
				pc.Close()
				if port == "0" && attempt < 20 {
					continue
				}
				return fail(fmt.Errorf("listening on tcp %s: %w", taddr, err))
			}
			uc := pc.(*net.UDPConn)
			// A larger receive buffer absorbs bursts; the kernel caps it
			// at net.core.rmem_max, and failing to raise it is harmless.
			_ = uc.SetReadBuffer(4 << 20)
			udp = append(udp, uc)
			tcp = append(tcp, l.(*net.TCPListener))
			break
		}
	}
	s.udp, s.tcp, s.started = udp, tcp, true
	workers := s.cfg.UDPWorkers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	for _, c := range udp {
		for range workers {
			s.wg.Add(1)
			if s.cfg.UDPBatch > 1 {
				go s.serveUDPBatch(c, s.cfg.UDPBatch)
			} else {
				go s.serveUDP(c)
			}
		}
	}
	for _, l := range tcp {
		s.wg.Add(1)
		go s.serveTCP(l)
	}
	s.logger.Info("DNS server listening", "zone", s.cfg.Zone, "addrs", s.addrsLocked())
	return nil
}

// Addrs lists the bound addresses: each UDP socket, then each TCP one.
func (s *Server) Addrs() []net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addrsLocked()
}

func (s *Server) addrsLocked() []net.Addr {
	var out []net.Addr
	for _, c := range s.udp {
		out = append(out, c.LocalAddr())
	}
	for _, l := range s.tcp {
		out = append(out, l.Addr())
	}
	return out
}

// Shutdown stops accepting queries, lets TCP connections finish the
// query in hand until ctx ends (then closes them), stops NOTIFY retries
// and waits for every goroutine.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.cancel()
	for _, c := range s.udp {
		c.Close()
	}
	for _, l := range s.tcp {
		l.Close()
	}
	// Idle connections wake at once; busy ones finish their answer.
	for c := range s.conns {
		c.SetReadDeadline(time.Now())
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		s.nwg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		<-done
		return fmt.Errorf("resolver shutdown: %w", ctx.Err())
	}
}

// account records one handled query.
func (s *Server) account(res result, tcp bool, start time.Time, src netip.AddrPort, b []byte) {
	if res.drop {
		s.metrics.drops[dropMalformed].Inc()
		return
	}
	p := 0
	if tcp {
		p = 1
	}
	s.metrics.requests[p][typeIndex(res.qtype)].Inc()
	s.metrics.responses[rcodeIndex(res.rcode)].Inc()
	s.metrics.duration.Observe(time.Since(start).Seconds())
	if s.cfg.QueryLog {
		var r request
		r.parse(b)
		s.logger.Info("dns query", "src", src, "tcp", tcp, "name", nameString(r.name()),
			"type", dns.Type(res.qtype).String(), "rcode", rcodeName(res.rcode), "tc", res.tc)
	}
}

func rcodeName(rc int) string {
	if s, ok := dns.RcodeToString[rc]; ok {
		return s
	}
	return fmt.Sprint(rc)
}

// nameString renders a wire-form name for logs.
func nameString(key []byte) string {
	if len(key) == 0 {
		return ""
	}
	name, _, err := dns.UnpackDomainName(key, 0)
	if err != nil {
		return "?"
	}
	return name
}

// unmap turns ::ffff:a.b.c.d into a.b.c.d (net.IP's 16-byte IPv4 form).
func unmap(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// Answer returns the records the server answers for name and qtype, as a
// client asking over TCP from loopback gets them, and the response code.
// It is for displays (the web UI shows a service's served records), not
// for the query path: it packs and unpacks a message, and is not counted
// in the query metrics.
func (s *Server) Answer(name string, qtype uint16) ([]dns.RR, int, error) {
	t := s.tab.Load()
	if t == nil {
		return nil, 0, ErrNoData
	}
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), qtype)
	b, err := q.Pack()
	if err != nil {
		return nil, 0, fmt.Errorf("resolver: answer for %q: %w", name, err)
	}
	resp, res := s.respond(t, b, nil, true, netip.IPv6Loopback())
	if res.drop || len(resp) == 0 {
		return nil, 0, fmt.Errorf("resolver: no answer for %q", name)
	}
	m := new(dns.Msg)
	if err := m.Unpack(resp); err != nil {
		return nil, 0, fmt.Errorf("resolver: answer for %q: %w", name, err)
	}
	return m.Answer, m.Rcode, nil
}

// ServeDNS answers one query through miekg/dns's server types (for
// embedding and tests): it packs r and runs the same wire path the
// listeners use, then writes the bytes. AXFR is streamed as several
// messages on TCP writers.
func (s *Server) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	start := time.Now()
	b, err := r.Pack()
	if err != nil {
		m := new(dns.Msg)
		m.SetRcode(r, dns.RcodeFormatError)
		w.WriteMsg(m) //nolint:errcheck
		return
	}
	var tcp bool
	var src netip.AddrPort
	switch a := w.RemoteAddr().(type) {
	case *net.TCPAddr:
		tcp, src = true, unmap(a.AddrPort())
	case *net.UDPAddr:
		src = unmap(a.AddrPort())
	}
	t := s.tab.Load()
	resp, res := s.respond(t, b, nil, tcp, src.Addr())
	switch {
	case res.axfr:
		s.writeAXFR(res.xfr, b, res.signed, src.Addr(), func(m []byte) error { _, err := w.Write(m); return err }) //nolint:errcheck
	case resp != nil:
		w.Write(resp) //nolint:errcheck
	}
	s.account(res, tcp, start, src, b)
}
