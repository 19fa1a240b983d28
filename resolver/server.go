package resolver

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
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

	setMu    sync.Mutex // serialises SetSnapshot
	hash     [32]byte   // zone content (SOA without serial) of the current table
	lastSnap *registry.Snapshot
	saved    serialState // what Config.SerialFile holds, as last read or written
	notifyMu sync.Mutex
	notifyCx context.CancelFunc // cancels NOTIFYs of the previous serial

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
	tcpSlot chan struct{}
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
		conns: map[net.Conn]struct{}{}, tcpSlot: make(chan struct{}, cfg.MaxTCPConns)}
	if cfg.RRLRate > 0 {
		s.rrl = newRRL(cfg)
	}
	return s, nil
}

// Config returns the configuration in effect (defaults filled in).
func (s *Server) Config() Config { return s.cfg }

// SetSnapshot builds the zone and answer table for snap and swaps it in
// atomically. The serial is the registry date as YYYYMMDD00 (1 without a
// date), raised past the previous serial whenever the zone content
// changed; when it changes, NOTIFY goes to every configured secondary in
// the background. On error the previous table stays in service.
//
// With Config.SerialFile the serial survives restarts: the first call
// keeps the file's serial when the zone content is the one it names, and
// otherwise serves the larger (RFC 1982) of the date serial and the
// file's serial + 1; every new serial is written to the file before it is
// served. A missing or unreadable file counts as no file; a failed write
// is logged and counted (svcreg_dns_serial_file_errors_total) and serving
// goes on.
func (s *Server) SetSnapshot(ctx context.Context, snap *registry.Snapshot) error {
	s.setMu.Lock()
	defer s.setMu.Unlock()
	if snap != nil && snap == s.lastSnap {
		return nil // the same immutable snapshot: nothing to rebuild
	}
	start := time.Now()
	z, err := buildZone(ctx, snap, s.cfg)
	if err != nil {
		return fmt.Errorf("building zone %s: %w", s.cfg.Zone, err)
	}
	rrs := z.rrs()
	h, err := zoneHash(z.soa, rrs[1:], &z.synth)
	if err != nil {
		return err
	}
	if old := s.tab.Load(); old != nil && h == s.hash {
		// Same zone and same synthesised ports: the table in service
		// already gives every answer this snapshot would.
		s.lastSnap = snap
		s.saveSerial(old.serial, h) // again, if the last write failed
		s.logger.Debug("DNS zone unchanged", "zone", s.cfg.Zone, "serial", old.serial,
			"took", time.Since(start).Round(time.Millisecond))
		return nil
	}
	old := s.tab.Load()
	serial := z.soa.Serial
	if old != nil {
		if !serialLess(old.serial, serial) {
			serial = old.serial + 1
		}
	} else if s.cfg.SerialFile != "" {
		serial = s.restoreSerial(serial, h)
	}
	z.soa.Serial = serial
	t, err := buildTable(ctx, z, rrs, s.cfg)
	if err != nil {
		return fmt.Errorf("building answers for %s: %w", s.cfg.Zone, err)
	}
	// Kept before it is served or announced, so that a crash right after
	// a NOTIFY cannot bring the serial back down.
	s.saveSerial(serial, h)
	s.tab.Store(t)
	s.hash, s.lastSnap = h, snap
	s.metrics.serial.Set(float64(serial))
	s.logger.Info("DNS zone loaded", "zone", s.cfg.Zone, "serial", serial, "records", len(rrs),
		"names", len(t.nodes), "took", time.Since(start).Round(time.Millisecond))
	if old == nil || old.serial != serial {
		s.notify(serial)
	}
	return nil
}

// serialLess is RFC 1982 serial number arithmetic: a < b.
func serialLess(a, b uint32) bool {
	return a != b && int32(b-a) > 0
}

// zoneHash digests the zone content (soa without its serial, then rrs)
// and the synthesised port data, so a reload that changes nothing keeps
// the serial and the table, and a restart can tell whether the zone is
// the one its serial file names.
func zoneHash(soa *dns.SOA, rrs []dns.RR, ps *portSynth) ([32]byte, error) {
	h := sha256.New()
	c := *soa
	c.Serial = 0
	rrs = append([]dns.RR{&c}, rrs...)
	for _, g := range ps.group {
		for _, v := range g {
			h.Write([]byte{byte(v >> 8), byte(v)})
		}
	}
	for _, g := range ps.groups {
		h.Write([]byte{byte(len(g))})
		h.Write(g)
	}
	buf := make([]byte, 65536)
	for _, rr := range rrs {
		n, err := dns.PackRR(rr, buf, 0, nil, false)
		if err != nil {
			return [32]byte{}, fmt.Errorf("packing %s: %w", rr.Header().Name, err)
		}
		h.Write(buf[:n])
	}
	var out [32]byte
	h.Sum(out[:0])
	return out, nil
}

// Serial is the SOA serial being served (0 before the first snapshot).
func (s *Server) Serial() uint32 {
	if t := s.tab.Load(); t != nil {
		return t.serial
	}
	return 0
}

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

func (s *Server) serveUDP(c *net.UDPConn) {
	defer s.wg.Done()
	buf := make([]byte, 65535)
	out := make([]byte, 0, 65535)
	for {
		n, src, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // e.g. ICMP-induced errors on some systems
		}
		start := time.Now()
		resp, res := s.respond(s.tab.Load(), buf[:n], out, false, src.Addr())
		if resp == nil {
			s.account(res, false, start, src, buf[:n])
			continue
		}
		if s.rrl != nil {
			switch s.rrl.check(src.Addr(), start) {
			case rrlDrop:
				s.metrics.drops[dropRRL].Inc()
				continue
			case rrlSlip:
				resp = slip(resp)
				res.tc = true
				s.metrics.slips.Inc()
			}
		}
		c.WriteToUDPAddrPort(resp, src) //nolint:errcheck // UDP: nothing to do about a lost reply
		s.account(res, false, start, src, buf[:n])
	}
}

// slip turns a response into an empty TC=1 reply (header and question
// only) so a rate-limited client that is real retries over TCP.
func slip(resp []byte) []byte {
	if len(resp) < hdrLen {
		return resp
	}
	// Find the end of our own response's question.
	end := hdrLen
	if binary.BigEndian.Uint16(resp[4:]) == 1 {
		for end < len(resp) && resp[end] != 0 {
			end += int(resp[end]) + 1
		}
		end += 5
		if end > len(resp) {
			end = hdrLen
		}
	}
	resp = resp[:end]
	resp[2] |= flagTC
	clear(resp[6:12])
	return resp
}

func (s *Server) serveTCP(l *net.TCPListener) {
	defer s.wg.Done()
	for {
		c, err := l.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off briefly.
			select {
			case <-s.ctx.Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
			continue
		}
		select {
		case s.tcpSlot <- struct{}{}:
		default:
			s.metrics.drops[dropTCPLimit].Inc()
			c.Close()
			continue
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			<-s.tcpSlot
			continue
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serveConn(c)
	}
}

// serveConn answers queries on one TCP connection in order (RFC 7766
// section 6.2.1.1 allows pipelining; we answer sequentially).
func (s *Server) serveConn(c *net.TCPConn) {
	defer func() {
		c.Close()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		<-s.tcpSlot
		s.wg.Done()
	}()
	src, _ := netip.ParseAddrPort(c.RemoteAddr().String())
	buf := make([]byte, 65535)
	out := make([]byte, 2, 65537)
	var lenb [2]byte
	for {
		if s.ctx.Err() != nil {
			return
		}
		c.SetReadDeadline(time.Now().Add(s.cfg.TCPIdleTimeout))
		if _, err := io.ReadFull(c, lenb[:]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint16(lenb[:]))
		c.SetReadDeadline(time.Now().Add(s.cfg.TCPReadTimeout))
		if _, err := io.ReadFull(c, buf[:n]); err != nil {
			return
		}
		start := time.Now()
		t := s.tab.Load()
		resp, res := s.respond(t, buf[:n], out[2:2], true, src.Addr())
		c.SetWriteDeadline(time.Now().Add(s.cfg.TCPReadTimeout + s.cfg.TCPIdleTimeout))
		switch {
		case res.axfr:
			err := s.writeAXFR(t, buf[:n], func(m []byte) error {
				// Each message gets its own deadline: a whole zone may
				// take a slow secondary longer than one answer.
				c.SetWriteDeadline(time.Now().Add(s.cfg.TCPIdleTimeout))
				binary.BigEndian.PutUint16(out, uint16(len(m)))
				_, err := c.Write(append(out[:2], m...))
				return err
			})
			s.account(res, true, start, src, buf[:n])
			if err != nil {
				return
			}
		case resp != nil:
			if &resp[0] != &out[2:3][0] { // respond outgrew the buffer
				out = append(out[:2], resp...)
			}
			binary.BigEndian.PutUint16(out, uint16(len(resp)))
			_, err := c.Write(out[:2+len(resp)])
			s.account(res, true, start, src, buf[:n])
			if err != nil {
				return
			}
		default:
			s.account(res, true, start, src, buf[:n])
			return // unparseable: close (RFC 7766 section 7)
		}
	}
}

// unmap turns ::ffff:a.b.c.d into a.b.c.d (net.IP's 16-byte IPv4 form).
func unmap(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// axfrAllowed applies the AXFR allow-list.
func (s *Server) axfrAllowed(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range s.cfg.AXFRAllow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// writeAXFR sends the pre-packed AXFR messages of t, each patched with
// the query's ID and question.
func (s *Server) writeAXFR(t *table, q []byte, write func([]byte) error) error {
	var r request
	if rc, ok := r.parse(q); !ok || rc != rcodeNone {
		return fmt.Errorf("bad AXFR query")
	}
	buf := make([]byte, 0, axfrChunk+4096)
	for _, m := range t.axfr {
		buf = r.patch(buf, q, m)
		// The pre-packed question is AXFR; an IXFR query gets its own
		// type echoed, which patch copied.
		if err := write(buf); err != nil {
			return err
		}
	}
	s.logger.Info("zone transferred", "zone", s.cfg.Zone, "serial", t.serial, "messages", len(t.axfr))
	return nil
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
		s.writeAXFR(t, b, func(m []byte) error { _, err := w.Write(m); return err }) //nolint:errcheck
	case resp != nil:
		w.Write(resp) //nolint:errcheck
	}
	s.account(res, tcp, start, src, b)
}
