// Command mdnsflood floods an mDNS listener (the "mDNS under flood"
// benchmark): it multicasts announcements of N distinct instances (PTR, SRV,
// TXT and A, as avahi-daemon sends them) to 224.0.0.251:5353 on one
// interface, interleaved with malformed packets that every DNS parser must
// reject, at a bounded rate and for a bounded time. With -probe it also
// polls the daemon's /healthz and /metrics while it sends, so a run shows
// whether the HTTP side stayed responsive and how many advertisements the
// store held at most. It prints one JSON summary on stdout.
//
// It only ever sends to the link-local mDNS group on the interface it is
// given (the mdns-lab LAN in the tests and bench/mdns-flood.sh), with IP
// TTL 255 as RFC 6762 section 11 requires, and with multicast loopback
// off, so that a responder on the sending host (the lab's avahi-daemon)
// does not process the flood too.
package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// options are the command's flags.
type options struct {
	iface          string
	group          string
	srcPort        int
	instances      int
	perPacket      int
	rate           int
	malformedEvery int
	malformedAfter int
	maxTime        time.Duration
	probe          string
	dnsProbe       string
	zone           string
	settle         time.Duration
	prefix         string
	name           string
	service        string
	addr           string
	port           int
}

// Summary is the JSON the command prints.
type Summary struct {
	Instances       int     `json:"instances_sent"`
	Packets         int     `json:"packets_sent"`
	Malformed       int     `json:"malformed_sent"`
	MalformedKinds  int     `json:"malformed_kinds"`
	SendErrors      int     `json:"send_errors"`
	Bytes           int64   `json:"bytes_sent"`
	Seconds         float64 `json:"seconds"`
	PacketsPerSec   float64 `json:"packets_per_second"`
	Complete        bool    `json:"complete"` // false: -max-time or a signal cut the run short
	DNSProbes       int     `json:"dns_probes"`
	DNSFailures     int     `json:"dns_probe_failures"`
	DNSMaxMillis    float64 `json:"dns_probe_max_ms"`
	DNSP99Millis    float64 `json:"dns_probe_p99_ms"`
	FirstDNSError   string  `json:"first_dns_probe_error,omitempty"`
	Probes          int     `json:"probes"`
	ProbeFailures   int     `json:"probe_failures"`
	ProbeMaxMillis  float64 `json:"probe_max_ms"`
	ProbeP99Millis  float64 `json:"probe_p99_ms"`
	MaxHeld         float64 `json:"max_advertisements_seen"`
	MetricsSamples  int     `json:"metrics_samples"`
	Final           Metrics `json:"final_metrics"`
	FirstProbeError string  `json:"first_probe_error,omitempty"`
}

// Metrics are the daemon's mDNS counters read from /metrics.
type Metrics struct {
	Advertisements float64 `json:"advertisements"`
	Evictions      float64 `json:"evictions"`
	Responses      float64 `json:"packets_response"`
	Queries        float64 `json:"packets_query"`
	Malformed      float64 `json:"packets_malformed"`
	Goroutines     float64 `json:"go_goroutines"`
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("mdnsflood", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.iface, "iface", "lab0", "send on `INTERFACE`")
	fs.StringVar(&o.group, "group", "224.0.0.251:5353", "destination `ADDR:PORT`: the mDNS group, 224.0.0.251:5353 or [ff02::fb]:5353")
	fs.IntVar(&o.srcPort, "src-port", 5353, "source `PORT` (RFC 6762 section 6: responses come from 5353; 0 = any)")
	fs.IntVar(&o.instances, "instances", 100000, "distinct instances to announce")
	fs.IntVar(&o.perPacket, "per-packet", 1, "instances per packet (1-20)")
	fs.IntVar(&o.rate, "rate", 10000, "packets per second, 0 = as fast as the socket takes them")
	fs.IntVar(&o.malformedEvery, "malformed-every", 100, "send one malformed packet after every `N` announcements (0: none)")
	fs.IntVar(&o.malformedAfter, "malformed", 0, "after the announcements, send `N` more malformed packets (the corpus in turn)")
	fs.DurationVar(&o.maxTime, "max-time", 5*time.Minute, "stop sending after this long even if instances remain")
	fs.StringVar(&o.probe, "probe", "", "daemon `URL` (http://host:port) to poll /healthz and /metrics during the flood")
	fs.StringVar(&o.dnsProbe, "dns-probe", "", "daemon DNS `ADDR` (host:port) to ask for the zone's SOA every 100 ms during the flood")
	fs.StringVar(&o.zone, "zone", "services.internal.", "zone the DNS probe asks for")
	fs.DurationVar(&o.settle, "settle", 3*time.Second, "after sending, wait up to this long for the daemon's packet counters to stop moving")
	fs.StringVar(&o.prefix, "prefix", "flood", "instance name `PREFIX` (instances are PREFIX-0, PREFIX-1, ...)")
	fs.StringVar(&o.name, "name", "", "announce this one instance `NAME` exactly, again and again (-instances times), as a device claiming a name does; its host is flood.local")
	fs.StringVar(&o.service, "service", "_http._tcp", "service `TYPE` announced")
	fs.StringVar(&o.addr, "addr", "198.18.0.1", "IPv4 address in the A records")
	fs.IntVar(&o.port, "port", 80, "`PORT` in the SRV records (two senders with other ports claim one name with other data)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if o.instances < 0 || o.perPacket < 1 || o.perPacket > 20 || o.rate < 0 || o.malformedEvery < 0 || o.malformedAfter < 0 || o.port < 0 || o.port > 65535 {
		fmt.Fprintln(stderr, "mdnsflood: -instances >= 0, -per-packet 1-20, -rate >= 0, -malformed-every >= 0, -malformed >= 0")
		return 2
	}
	corpus := malformedCorpus()
	if err := checkCorpus(corpus); err != nil {
		fmt.Fprintf(stderr, "mdnsflood: %v\n", err)
		return 1
	}
	conn, dst, err := dial(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "mdnsflood: %v\n", err)
		return 1
	}
	defer conn.Close()

	var pr *prober
	if o.probe != "" || o.dnsProbe != "" {
		pr = newProber(o.probe, o.dnsProbe, dns.Fqdn(o.zone))
		pr.start(ctx)
	}
	sum := flood(ctx, conn, dst, o, corpus)
	sum.MalformedKinds = len(corpus)
	if pr != nil {
		pr.stop()
		pr.settle(ctx, o.settle)
		pr.fill(&sum)
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(sum); err != nil {
		fmt.Fprintf(stderr, "mdnsflood: %v\n", err)
		return 1
	}
	return 0
}

// dial opens the sending socket: bound to the source port (shared with a
// local responder through SO_REUSEADDR/SO_REUSEPORT, as mDNS stacks do),
// multicast out of the interface, TTL or hop limit 255, loopback off;
// IPv4 or IPv6 as the group is (224.0.0.251:5353 or [ff02::fb]:5353).
func dial(ctx context.Context, o options) (net.PacketConn, *net.UDPAddr, error) {
	dst, err := net.ResolveUDPAddr("udp", o.group)
	if err != nil {
		return nil, nil, fmt.Errorf("group %q: %w", o.group, err)
	}
	network, bind := "udp4", "0.0.0.0"
	if dst.IP.To4() == nil {
		network, bind = "udp6", "::"
		dst.Zone = o.iface // a link-local group names its link
	}
	ifi, err := net.InterfaceByName(o.iface)
	if err != nil {
		return nil, nil, fmt.Errorf("interface %q: %w", o.iface, err)
	}
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); serr != nil {
				return
			}
			if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); serr != nil {
				return
			}
			// A deep send buffer absorbs bursts instead of ENOBUFS.
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF, 4<<20)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	c, err := lc.ListenPacket(ctx, network, net.JoinHostPort(bind, strconv.Itoa(o.srcPort)))
	if err != nil {
		return nil, nil, fmt.Errorf("binding %s :%d: %w", network, o.srcPort, err)
	}
	var sets []func() error
	if network == "udp4" {
		p := ipv4.NewPacketConn(c)
		sets = []func() error{
			func() error { return p.SetMulticastInterface(ifi) },
			func() error { return p.SetMulticastTTL(255) },
			func() error { return p.SetMulticastLoopback(false) },
		}
	} else {
		p := ipv6.NewPacketConn(c)
		sets = []func() error{
			func() error { return p.SetMulticastInterface(ifi) },
			func() error { return p.SetMulticastHopLimit(255) },
			func() error { return p.SetMulticastLoopback(false) },
		}
	}
	for _, set := range sets {
		if err := set(); err != nil {
			c.Close()
			return nil, nil, fmt.Errorf("multicast options on %s: %w", o.iface, err)
		}
	}
	return c, dst, nil
}

// flood sends the announcements and malformed packets, paced to o.rate.
func flood(ctx context.Context, conn net.PacketConn, dst *net.UDPAddr, o options, corpus [][]byte) Summary {
	var s Summary
	start := time.Now()
	deadline := start.Add(o.maxTime)
	b := newBuilder(o)
	buf := make([]byte, 0, 9000)
	sent := 0 // packets, for pacing
	// send reports whether the packet left; it paces every 50 packets.
	send := func(pkt []byte) (ok bool) {
		for try := 0; ; try++ {
			_, err := conn.WriteTo(pkt, dst)
			if err == nil {
				s.Bytes += int64(len(pkt))
				ok = true
				break
			}
			// ENOBUFS: the interface queue is full; back off briefly.
			if errors.Is(err, unix.ENOBUFS) && try < 100 {
				time.Sleep(200 * time.Microsecond)
				continue
			}
			s.SendErrors++
			break
		}
		sent++
		if o.rate > 0 && sent%50 == 0 {
			due := start.Add(time.Duration(float64(sent) / float64(o.rate) * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				time.Sleep(d)
			}
		}
		return ok
	}
	s.Complete = true
	mi := 0
	for i := 0; i < o.instances; i += o.perPacket {
		if i%1000 == 0 && (ctx.Err() != nil || time.Now().After(deadline)) {
			s.Complete = false
			break
		}
		n := min(o.perPacket, o.instances-i)
		pkt, err := b.packet(buf[:0], i, n)
		if err != nil {
			s.SendErrors++
			continue
		}
		if send(pkt) {
			s.Packets++
			s.Instances += n
		}
		if o.malformedEvery > 0 && (i/o.perPacket+1)%o.malformedEvery == 0 {
			if send(corpus[mi%len(corpus)]) {
				s.Malformed++
			}
			mi++
		}
	}
	for i := 0; i < o.malformedAfter && s.Complete; i++ {
		if i%1000 == 0 && (ctx.Err() != nil || time.Now().After(deadline)) {
			s.Complete = false
			break
		}
		if send(corpus[mi%len(corpus)]) {
			s.Malformed++
		}
		mi++
	}
	s.Seconds = time.Since(start).Seconds()
	if s.Seconds > 0 {
		s.PacketsPerSec = float64(s.Packets+s.Malformed) / s.Seconds
	}
	return s
}

// builder packs announcement packets. The records are those avahi-daemon
// sends for a new service: shared PTR, and SRV, TXT and A with the
// cache-flush bit (RFC 6762 section 10.2), ID 0, QR and AA set.
type builder struct {
	o    options
	typ  string
	addr net.IP
	msg  dns.Msg
}

func newBuilder(o options) *builder {
	return &builder{o: o, typ: dns.Fqdn(o.service + ".local"), addr: net.ParseIP(o.addr).To4()}
}

const cacheFlush = 1 << 15

func (b *builder) packet(buf []byte, first, n int) ([]byte, error) {
	m := &b.msg
	*m = dns.Msg{}
	m.Response, m.Authoritative = true, true
	m.Answer = m.Answer[:0]
	for i := first; i < first+n; i++ {
		label := b.o.prefix + "-" + strconv.Itoa(i)
		inst := label + "." + b.typ
		host := label + ".local."
		if b.o.name != "" {
			inst = escapeLabel(b.o.name) + "." + b.typ
			host = "flood.local."
		}
		m.Answer = append(m.Answer,
			&dns.PTR{Hdr: dns.RR_Header{Name: b.typ, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: 4500}, Ptr: inst},
			&dns.SRV{Hdr: dns.RR_Header{Name: inst, Rrtype: dns.TypeSRV, Class: dns.ClassINET | cacheFlush, Ttl: 120}, Port: uint16(b.o.port), Target: host},
			&dns.TXT{Hdr: dns.RR_Header{Name: inst, Rrtype: dns.TypeTXT, Class: dns.ClassINET | cacheFlush, Ttl: 4500}, Txt: []string{"path=/", "n=" + strconv.Itoa(i)}},
			&dns.A{Hdr: dns.RR_Header{Name: host, Rrtype: dns.TypeA, Class: dns.ClassINET | cacheFlush, Ttl: 120}, A: b.addr},
		)
	}
	return m.PackBuffer(buf[:cap(buf)])
}

// malformedCorpus is a set of packets no DNS parser may accept: truncated
// headers, bad label
// lengths and types, compression loops and out-of-range pointers, names
// over 255 octets, RDATA that runs past the end. Each has the QR bit set
// so that a listener cannot drop it as a query before parsing. (Section
// counts larger than the records present are not here: miekg/dns reads
// such a message as truncated, not as an error.)
func malformedCorpus() [][]byte {
	// hdr builds a response header with an answers; every other section
	// count stays 0 because each packet here is at most one bad answer.
	hdr := func(an uint16) []byte {
		h := make([]byte, 12)
		binary.BigEndian.PutUint16(h[2:], 0x8400) // QR, AA
		binary.BigEndian.PutUint16(h[6:], an)
		return h
	}
	cat := slices.Concat[[]byte]
	rr := func(name []byte, typ uint16, rdlen uint16, rdata []byte) []byte {
		f := make([]byte, 10)
		binary.BigEndian.PutUint16(f[0:], typ)
		binary.BigEndian.PutUint16(f[2:], 1)
		binary.BigEndian.PutUint32(f[4:], 120)
		binary.BigEndian.PutUint16(f[8:], rdlen)
		return cat(name, f, rdata)
	}
	name := func(labels ...string) []byte {
		var b []byte
		for _, l := range labels {
			b = append(b, byte(len(l)))
			b = append(b, l...)
		}
		return append(b, 0)
	}
	long := make([]string, 5)
	for i := range long {
		long[i] = string(slices.Repeat([]byte{'a'}, 63))
	}
	return [][]byte{
		{0x00, 0x00, 0x84},                                                            // truncated header (3 bytes)
		hdr(0)[:11],                                                                   // header one byte short
		cat(hdr(1), []byte{0xc0, 12}),                                                 // compression pointer to itself
		cat(hdr(1), []byte{0xc0, 14, 0xc0, 12}),                                       // two pointers pointing at each other
		cat(hdr(1), []byte{0xc0, 0xff}),                                               // pointer past the end
		cat(hdr(1), []byte{0x45, 'x', 0}),                                             // label length 69 (> 63)
		cat(hdr(1), []byte{0x40, 'x', 0}),                                             // extended label type 0b01 (RFC 6891 deprecated)
		cat(hdr(1), []byte{0x80, 'x', 0}),                                             // reserved label type 0b10
		cat(hdr(1), []byte{5, 'a', 'b'}),                                              // label runs past the end
		cat(hdr(1), rr(name(long...), dns.TypeA, 4, []byte{1, 2, 3, 4})),              // name of 321 octets
		cat(hdr(1), rr(name("x", "local"), dns.TypeA, 400, []byte{1, 2, 3, 4})),       // RDLENGTH past the end
		cat(hdr(1), rr(name("x", "local"), dns.TypeSRV, 3, []byte{0, 0, 0})),          // SRV RDATA too short
		cat(hdr(1), rr(name("x", "local"), dns.TypeTXT, 4, []byte{9, 'a', 'b', 'c'})), // TXT string past RDLENGTH
		cat(hdr(1), rr(name("x", "local"), dns.TypeA, 4, []byte{1, 2, 3})),            // record cut short
		cat(hdr(1), rr(name("x", "local"), dns.TypePTR, 2, []byte{0xc0, 31})),         // PTR RDATA pointing at itself
	}
}

// checkCorpus refuses to run with a "malformed" packet that miekg/dns
// accepts: the test counts malformed packets exactly.
func checkCorpus(corpus [][]byte) error {
	for i, p := range corpus {
		if err := new(dns.Msg).Unpack(p); err == nil {
			return fmt.Errorf("malformed packet %d (% x) unpacks without error", i, p)
		}
	}
	return nil
}

// prober polls the daemon over HTTP (and DNS) while the flood runs.
type prober struct {
	base    string
	dnsAddr string
	zone    string
	client  *http.Client
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	mu       sync.Mutex
	lat      []time.Duration
	failures int
	firstErr string
	maxHeld  float64
	samples  int
	last     Metrics

	dnsLat      []time.Duration
	dnsFailures int
	dnsFirstErr string
}

func newProber(base, dnsAddr, zone string) *prober {
	return &prober{base: base, dnsAddr: dnsAddr, zone: zone, client: &http.Client{Timeout: 5 * time.Second}}
}

// start polls /healthz every 100 ms and /metrics every 500 ms, and asks
// the DNS server for the zone's SOA every 100 ms, until stop.
func (p *prober) start(ctx context.Context) {
	ctx, p.cancel = context.WithCancel(ctx)
	if p.dnsAddr != "" {
		p.wg.Go(func() { p.dnsLoop(ctx) })
	}
	if p.base == "" {
		return
	}
	p.wg.Go(func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			p.get(ctx, "/healthz")
			if n%5 == 0 {
				if m, ok := p.get(ctx, "/metrics"); ok {
					p.record(m)
				}
			}
		}
	})
}

func (p *prober) stop() {
	p.cancel()
	p.wg.Wait()
}

// get fetches one path, recording its latency or failure.
func (p *prober) get(ctx context.Context, path string) (string, bool) {
	t0 := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base+path, nil)
	if err != nil {
		return "", false
	}
	resp, err := p.client.Do(req)
	var body []byte
	if err == nil {
		body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("%s: status %d", path, resp.StatusCode)
		}
	}
	d := time.Since(t0)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		if ctx.Err() != nil {
			return "", false // stopped, not a failure of the daemon
		}
		p.failures++
		if p.firstErr == "" {
			p.firstErr = err.Error()
		}
		return "", false
	}
	p.lat = append(p.lat, d)
	return string(body), true
}

func (p *prober) dnsLoop(ctx context.Context) {
	c := &dns.Client{Timeout: 5 * time.Second}
	q := new(dns.Msg)
	q.SetQuestion(p.zone, dns.TypeSOA)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		r, rtt, err := c.ExchangeContext(ctx, q, p.dnsAddr)
		if err == nil && (r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1) {
			err = fmt.Errorf("SOA %s: rcode %s, %d answers", p.zone, dns.RcodeToString[r.Rcode], len(r.Answer))
		}
		p.mu.Lock()
		switch {
		case err != nil && ctx.Err() != nil:
		case err != nil:
			p.dnsFailures++
			if p.dnsFirstErr == "" {
				p.dnsFirstErr = err.Error()
			}
		default:
			p.dnsLat = append(p.dnsLat, rtt)
		}
		p.mu.Unlock()
	}
}

var metricLine = regexp.MustCompile(`(?m)^(svcreg_mdns_advertisements|svcreg_mdns_evictions_total|svcreg_mdns_packets_total\{result="(?:response|query|malformed)"\}|go_goroutines) (\S+)$`)

func parseMetrics(body string) Metrics {
	var m Metrics
	for _, sm := range metricLine.FindAllStringSubmatch(body, -1) {
		v, err := strconv.ParseFloat(sm[2], 64)
		if err != nil {
			continue
		}
		switch sm[1] {
		case "svcreg_mdns_advertisements":
			m.Advertisements = v
		case "svcreg_mdns_evictions_total":
			m.Evictions = v
		case `svcreg_mdns_packets_total{result="response"}`:
			m.Responses = v
		case `svcreg_mdns_packets_total{result="query"}`:
			m.Queries = v
		case `svcreg_mdns_packets_total{result="malformed"}`:
			m.Malformed = v
		case "go_goroutines":
			m.Goroutines = v
		}
	}
	return m
}

func (p *prober) record(body string) {
	m := parseMetrics(body)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.samples++
	p.maxHeld = max(p.maxHeld, m.Advertisements)
	p.last = m
}

// settle waits until two /metrics reads 500 ms apart show the same packet
// counts (the daemon has drained its socket), at most limit.
func (p *prober) settle(ctx context.Context, limit time.Duration) {
	if p.base == "" {
		return
	}
	deadline := time.Now().Add(limit)
	var prev Metrics
	for first := true; ; first = false {
		body, ok := p.get(ctx, "/metrics")
		if ok {
			p.record(body)
			m := parseMetrics(body)
			if !first && m.Responses == prev.Responses && m.Malformed == prev.Malformed {
				return
			}
			prev = m
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// maxP99 returns the largest and the 99th-percentile latency in ms.
func maxP99(lat []time.Duration) (maxMS, p99MS float64) {
	if len(lat) == 0 {
		return 0, 0
	}
	l := slices.Clone(lat)
	slices.Sort(l)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return ms(l[len(l)-1]), ms(l[(len(l)-1)*99/100])
}

func (p *prober) fill(s *Summary) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s.Probes = len(p.lat) + p.failures
	s.ProbeFailures = p.failures
	s.FirstProbeError = p.firstErr
	s.MaxHeld = p.maxHeld
	s.MetricsSamples = p.samples
	s.Final = p.last
	s.DNSProbes = len(p.dnsLat) + p.dnsFailures
	s.DNSFailures = p.dnsFailures
	s.FirstDNSError = p.dnsFirstErr
	s.DNSMaxMillis, s.DNSP99Millis = maxP99(p.dnsLat)
	s.ProbeMaxMillis, s.ProbeP99Millis = maxP99(p.lat)
}

// escapeLabel writes an instance label in DNS presentation form: dots,
// spaces, backslashes and quotes escaped.
func escapeLabel(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '.', ' ', '\\', '"', '(', ')', ';', '@', '$':
			b = append(b, '\\', c)
		default:
			b = append(b, c)
		}
	}
	return string(b)
}
