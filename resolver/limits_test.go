package resolver_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/internal/testutil"
	"github.com/svcreg/svcreg/registry"
	"github.com/svcreg/svcreg/resolver"
)

// rcMetric sums the series of a metric family whose labels include want.
func rcMetric(t *testing.T, reg *prometheus.Registry, name string, want map[string]string) (float64, int) {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	sum, series := 0.0, 0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			series++
			got := map[string]string{}
			for _, lp := range m.GetLabel() {
				got[lp.GetName()] = lp.GetValue()
			}
			for k, v := range want {
				if got[k] != v {
					continue next
				}
			}
			switch {
			case m.GetCounter() != nil:
				sum += m.GetCounter().GetValue()
			case m.GetHistogram() != nil:
				sum += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return sum, series
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	_, addr := rcStart(t, resolver.Config{}, rcMini(t), reg)
	udp := &dns.Client{Net: "udp"}
	tcp := &dns.Client{Net: "tcp"}
	for _, q := range []struct {
		c     *dns.Client
		name  string
		qtype uint16
	}{
		{udp, "_http._tcp." + rcZ, dns.TypeTXT},
		{udp, "_http._tcp." + rcZ, dns.TypeTXT},
		{tcp, "_http._tcp." + rcZ, dns.TypeSRV},
		{udp, "_nope._tcp." + rcZ, dns.TypeSRV},
		{udp, "example.com.", dns.TypeA},
		{udp, "_http._tcp." + rcZ, 65000},
		{udp, "_http._tcp." + rcZ, dns.TypeCAA},
	} {
		_, _, err := q.c.Exchange(rcMsg(q.name, q.qtype, 0), addr)
		require.NoError(t, err)
	}
	rcSendRaw(t, "udp", addr, []byte{1, 2, 3})

	v, series := rcMetric(t, reg, "svcreg_dns_requests_total", map[string]string{"proto": "udp", "type": "TXT"})
	assert.Equal(t, 2.0, v)
	assert.Equal(t, 2*11, series, "closed label set: 2 transports x 11 types, whatever was asked")
	v, _ = rcMetric(t, reg, "svcreg_dns_requests_total", map[string]string{"proto": "tcp", "type": "SRV"})
	assert.Equal(t, 1.0, v)
	v, _ = rcMetric(t, reg, "svcreg_dns_requests_total", map[string]string{"type": "other"})
	assert.Equal(t, 2.0, v, "TYPE65000 and CAA fold into other")
	v, _ = rcMetric(t, reg, "svcreg_dns_responses_total", map[string]string{"rcode": "NXDOMAIN"})
	assert.Equal(t, 1.0, v)
	v, _ = rcMetric(t, reg, "svcreg_dns_responses_total", map[string]string{"rcode": "REFUSED"})
	assert.Equal(t, 1.0, v)
	v, _ = rcMetric(t, reg, "svcreg_dns_dropped_total", map[string]string{"reason": "malformed"})
	assert.Equal(t, 1.0, v)
	v, _ = rcMetric(t, reg, "svcreg_dns_request_duration_seconds", nil)
	assert.Equal(t, 7.0, v)
	problems, err := promtest.GatherAndLint(reg)
	require.NoError(t, err)
	assert.Empty(t, problems)
}

// TestRRL: with 5 responses/s per prefix and slip 2, a burst of 40 UDP
// queries gets a few answers, some TC=1 slips and many drops; with slip 0
// none slips; TCP is never limited.
func TestRRL(t *testing.T) {
	for _, slip := range []int{resolver.DefaultRRLSlip, 0} {
		for _, batch := range []int{1, 32} {
			t.Run(fmt.Sprintf("Slip=%d/UDPBatch=%d", slip, batch), func(t *testing.T) { rcTestRRL(t, batch, slip) })
		}
	}
}

func rcTestRRL(t *testing.T, batch, slip int) {
	reg := prometheus.NewRegistry()
	_, addr := rcStart(t, resolver.Config{RRLRate: 5, RRLSlip: slip, UDPBatch: batch}, rcMini(t), reg)
	c, err := net.Dial("udp", addr)
	require.NoError(t, err)
	defer c.Close()
	const n = 40
	for i := range n {
		m := rcMsg("_http._tcp."+rcZ, dns.TypeSRV, 0)
		m.Id = uint16(i + 1)
		b, _ := m.Pack()
		_, err := c.Write(b)
		require.NoError(t, err)
	}
	full, slipped := 0, 0
	buf := make([]byte, 2048)
	c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	for {
		k, err := c.Read(buf)
		if err != nil {
			break
		}
		m := new(dns.Msg)
		require.NoError(t, m.Unpack(buf[:k]))
		if m.Truncated {
			assert.Empty(t, m.Answer)
			slipped++
		} else {
			assert.Len(t, m.Answer, 1)
			full++
		}
	}
	dropped := n - full - slipped
	t.Logf("full %d, slipped %d, dropped %d", full, slipped, dropped)
	assert.GreaterOrEqual(t, full, 5)
	assert.LessOrEqual(t, full, 10, "at most two one-second windows")
	if slip == 0 {
		assert.Zero(t, slipped, "slip 0 never truncates")
	} else {
		assert.Positive(t, slipped)
	}
	assert.Positive(t, dropped)
	v, _ := rcMetric(t, reg, "svcreg_dns_dropped_total", map[string]string{"reason": "rrl"})
	assert.Equal(t, float64(dropped), v)
	v, _ = rcMetric(t, reg, "svcreg_dns_rrl_slipped_total", nil)
	assert.Equal(t, float64(slipped), v)

	tcp := &dns.Client{Net: "tcp"}
	for range 20 {
		r, _, err := tcp.Exchange(rcMsg("_http._tcp."+rcZ, dns.TypeSRV, 0), addr)
		require.NoError(t, err)
		require.Len(t, r.Answer, 1)
	}
}

// rcTCPQuery writes one query on c and reads the answer.
func rcTCPQuery(c net.Conn) (*dns.Msg, error) {
	b, _ := rcMsg("_http._tcp."+rcZ, dns.TypeSRV, 0).Pack()
	if _, err := c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(b))), b...)); err != nil {
		return nil, err
	}
	var l [2]byte
	if _, err := io.ReadFull(c, l[:]); err != nil {
		return nil, err
	}
	resp := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(c, resp); err != nil {
		return nil, err
	}
	m := new(dns.Msg)
	return m, m.Unpack(resp)
}

// rcClosedWithin reports whether the server closes c within d.
func rcClosedWithin(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	_, err := c.Read(make([]byte, 1))
	return errors.Is(err, io.EOF) || (err != nil && !isTimeout(err))
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func TestTCPLimits(t *testing.T) {
	reg := prometheus.NewRegistry()
	_, addr := rcStart(t, resolver.Config{TCPMaxConns: 2, TCPIdleTimeout: 400 * time.Millisecond,
		TCPReadTimeout: 200 * time.Millisecond}, rcMini(t), reg)
	c1, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c1.Close()
	c2, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c2.Close()
	for _, c := range []net.Conn{c1, c2} {
		m, err := rcTCPQuery(c)
		require.NoError(t, err)
		require.Len(t, m.Answer, 1)
	}
	// A third connection is closed at once.
	c3, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c3.Close()
	assert.True(t, rcClosedWithin(c3, time.Second), "over the limit: closed")
	v, _ := rcMetric(t, reg, "svcreg_dns_dropped_total", map[string]string{"reason": "tcp_limit"})
	assert.Equal(t, 1.0, v)

	// A query that starts but never completes hits the read timeout; an
	// idle connection the idle timeout.
	_, err = c1.Write([]byte{0, 40, 1, 2})
	require.NoError(t, err)
	start := time.Now()
	assert.True(t, rcClosedWithin(c1, 3*time.Second), "stalled query: closed")
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.True(t, rcClosedWithin(c2, 3*time.Second), "idle: closed")

	// Slots are free again.
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return false
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(time.Second))
		m, err := rcTCPQuery(c)
		return err == nil && len(m.Answer) == 1
	}, 3*time.Second, 50*time.Millisecond)
}

// TestReloadWhileServing swaps two different snapshots 10 times while
// two clients query: every query is answered, never SERVFAIL, always from
// a complete table (the http SRV exists in both).
func TestReloadWhileServing(t *testing.T) {
	mini := rcMini(t)
	src, err := registry.ParseCSV(strings.NewReader("Service Name,Port Number,Transport Protocol,Description,Assignee,Contact,Registration Date,Modification Date,Reference,Service Code,Unauthorized Use Reported,Assignment Notes\n"+
		"http,80,tcp,World Wide Web HTTP,,,,,,,,\nextra,7777,tcp,Extra,,,,,,,,\n"), "other.csv")
	require.NoError(t, err)
	other, err := registry.Build(src)
	require.NoError(t, err)
	s, addr := rcStart(t, resolver.Config{}, mini, nil)

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var mu sync.Mutex
	answered, failures := 0, []string{}
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The timeout tells a lost query from a slow one: under -race,
			// with other packages' tests on the same two cores, a reply
			// can take seconds, and a late reply is not a lost one.
			c := &dns.Client{Net: "udp", Timeout: 15 * time.Second}
			for i := 0; i < 5000 && ctx.Err() == nil; i++ {
				r, _, err := c.Exchange(rcMsg("_http._tcp."+rcZ, dns.TypeSRV, 0), addr)
				mu.Lock()
				switch {
				case err != nil:
					failures = append(failures, err.Error())
				case r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1:
					failures = append(failures, fmt.Sprintf("rcode %s, %d answers", dns.RcodeToString[r.Rcode], len(r.Answer)))
				default:
					answered++
				}
				mu.Unlock()
			}
		}()
	}
	serial := s.Serial()
	for i := range 10 {
		snap := mini
		if i%2 == 0 {
			snap = other
		}
		require.NoError(t, s.SetSnapshot(context.Background(), snap))
		assert.Greater(t, s.Serial(), serial, "each swap changes data: serial rises")
		serial = s.Serial()
	}
	cancel()
	wg.Wait()
	assert.Empty(t, failures)
	assert.Positive(t, answered)
}

func TestShutdown(t *testing.T) {
	s, err := resolver.New(resolver.Config{Listen: []string{"127.0.0.1:0"}}, nil, prometheus.NewRegistry())
	require.NoError(t, err)
	require.NoError(t, s.SetSnapshot(context.Background(), rcMini(t)))
	require.NoError(t, s.Start(context.Background()))
	require.ErrorIs(t, s.Start(context.Background()), resolver.ErrStarted)
	addr := s.Addrs()[0].String()
	idle, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer idle.Close()
	_, err = rcTCPQuery(idle)
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	require.NoError(t, s.Shutdown(ctx))
	assert.Less(t, time.Since(start), time.Second, "idle TCP does not hold shutdown")
	assert.True(t, rcClosedWithin(idle, time.Second))
	_, _, err = (&dns.Client{Net: "udp", Timeout: 300 * time.Millisecond}).Exchange(rcMsg(rcZ, dns.TypeSOA, 0), addr)
	assert.Error(t, err, "no longer serving")
	require.ErrorIs(t, s.Start(context.Background()), resolver.ErrClosed)
	require.NoError(t, s.Shutdown(ctx), "twice is fine")
}

// TestListenIPv4AndIPv6 serves two addresses, IPv4 and IPv6, with both
// UDP read loops (batched and not): every socket answers, AXFR is allowed
// from ::1 by default.
func TestListenIPv4AndIPv6(t *testing.T) {
	for _, batch := range []int{1, 32} {
		t.Run(fmt.Sprintf("UDPBatch=%d", batch), func(t *testing.T) {
			s, err := resolver.New(resolver.Config{Listen: []string{"127.0.0.1:0", "[::1]:0"}, UDPBatch: batch, UDPWorkers: 2},
				nil, prometheus.NewRegistry())
			require.NoError(t, err)
			require.NoError(t, s.SetSnapshot(context.Background(), rcMini(t)))
			require.NoError(t, s.Start(context.Background()))
			t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
			addrs := s.Addrs()
			require.Len(t, addrs, 4, "UDP and TCP on each")
			for _, a := range addrs {
				netw := a.Network()
				r, _, err := (&dns.Client{Net: netw}).Exchange(rcMsg("_x11._udp."+rcZ, dns.TypeSRV, 1232), a.String())
				require.NoError(t, err, "%s %s", netw, a)
				require.Len(t, r.Answer, 1)
				assert.Equal(t, uint16(6000), r.Answer[0].(*dns.SRV).Port)
			}
			q := new(dns.Msg)
			q.SetAxfr(rcZ)
			env, err := (&dns.Transfer{}).In(q, addrs[3].String())
			require.NoError(t, err)
			n := 0
			for e := range env {
				require.NoError(t, e.Error)
				n += len(e.RR)
			}
			assert.Greater(t, n, 10)
		})
	}
}

func TestQueryLog(t *testing.T) {
	var buf strings.Builder
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&rcLockedWriter{w: &buf, mu: &mu}, nil))
	s, err := resolver.New(resolver.Config{QueryLog: true}, logger, prometheus.NewRegistry())
	require.NoError(t, err)
	require.NoError(t, s.SetSnapshot(context.Background(), rcMini(t)))
	rcQuery(s, rcMsg("_HTTP._tcp."+rcZ, dns.TypeSRV, 0), false, "192.0.2.7")
	mu.Lock()
	defer mu.Unlock()
	assert.Regexp(t, `msg="dns query" src=192.0.2.7:40000 tcp=false name=_http._tcp.services.internal. type=SRV rcode=NOERROR`, buf.String())
}

type rcLockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *rcLockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestNotifyGivesUp: a secondary that never answers is tried
// NotifyRetries times, then given up on (and counted).
func TestNotifyGivesUp(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0") // reads nothing, answers nothing
	require.NoError(t, err)
	defer pc.Close()
	reg := prometheus.NewRegistry()
	s, err := resolver.New(resolver.Config{Notify: []string{pc.LocalAddr().String()}, NotifyRetries: 2,
		NotifyTimeout: 20 * time.Millisecond}, nil, reg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	require.NoError(t, s.SetSnapshot(context.Background(), rcMini(t)))
	require.Eventually(t, func() bool {
		v, _ := rcMetric(t, reg, "svcreg_dns_notify_total", map[string]string{"result": "gave_up"})
		return v == 1
	}, 5*time.Second, 10*time.Millisecond)
	v, _ := rcMetric(t, reg, "svcreg_dns_notify_total", map[string]string{"result": "error"})
	assert.Equal(t, 2.0, v)
}

// TestTCPFairness: one source cannot take more than its share, the last
// connections are kept for transfer clients, and a client that sends one
// byte of a query is dropped after the read timeout, not the idle one.
// Every refusal is counted by reason and logged.
func TestTCPFairness(t *testing.T) {
	reg := prometheus.NewRegistry()
	logs := &testutil.SyncBuffer{}
	s, err := resolver.New(resolver.Config{Listen: []string{"127.0.0.1:0"}, TCPMaxConns: 12, TCPMaxConnsPerSource: 4,
		TCPReservedConns: 4, TCPIdleTimeout: 5 * time.Second, TCPReadTimeout: 300 * time.Millisecond,
		AXFRAllow: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}},
		slog.New(slog.NewTextHandler(logs, nil)), reg)
	require.NoError(t, err)
	require.NoError(t, s.SetSnapshot(context.Background(), rcMini(t)))
	require.NoError(t, s.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		assert.NoError(t, s.Shutdown(ctx))
	})
	addr := s.Addrs()[0].String()
	dial := func(from string) net.Conn {
		t.Helper()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: time.Second}
		c, err := d.Dial("tcp", addr)
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		return c
	}
	served := func(c net.Conn) bool {
		c.SetDeadline(time.Now().Add(time.Second))
		m, err := rcTCPQuery(c)
		return err == nil && len(m.Answer) == 1
	}
	dropped := func(reason string) float64 {
		v, _ := rcMetric(t, reg, "svcreg_dns_dropped_total", map[string]string{"reason": reason})
		return v
	}

	// One source: 4 connections, the 5th and 6th closed.
	var abuser []net.Conn
	for range 6 {
		abuser = append(abuser, dial("127.0.0.1"))
	}
	for i, c := range abuser {
		if i < 4 {
			assert.True(t, served(c), "connection %d of the source is served", i+1)
		} else {
			assert.True(t, rcClosedWithin(c, time.Second), "connection %d of the source is closed", i+1)
		}
	}
	assert.Equal(t, 2.0, dropped("tcp_source_limit"))

	// Other sources fill up to the reserve: 8 of 12 taken, the next
	// ordinary client is refused, a transfer client still gets in.
	for _, src := range []string{"127.0.1.1", "127.0.1.1", "127.0.1.1", "127.0.1.1"} {
		assert.True(t, served(dial(src)))
	}
	refused := dial("127.0.2.1")
	assert.True(t, rcClosedWithin(refused, time.Second), "only the reserve is left")
	assert.Equal(t, 1.0, dropped("tcp_reserved"))
	assert.True(t, served(dial("127.0.0.2")), "the transfer client uses the reserve")

	// One byte of a length prefix: closed after the read timeout.
	start := time.Now()
	_, err = abuser[0].Write([]byte{0})
	require.NoError(t, err)
	assert.True(t, rcClosedWithin(abuser[0], 3*time.Second), "stalled after one byte: closed")
	assert.Less(t, time.Since(start), 2*time.Second, "the read timeout, not the idle timeout")
	require.Eventually(t, func() bool { return dropped("tcp_read_timeout") == 1 }, time.Second, 20*time.Millisecond)

	out := logs.String()
	assert.Contains(t, out, `msg="dns: TCP connection refused" reason=tcp_source_limit src=127.0.0.1`)
	assert.Contains(t, out, `reason=tcp_reserved src=127.0.2.1`)
	assert.Equal(t, 1, strings.Count(out, "reason=tcp_source_limit"), "logged once per reason and 10 s")
}

// TestNotifySourceAndRefusal: NOTIFY leaves from dns.notify_source, and a
// secondary that refuses it is a warning naming its RCODE.
func TestNotifySourceAndRefusal(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	defer pc.Close()
	from := make(chan string, 4)
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		from <- w.RemoteAddr().(*net.UDPAddr).IP.String()
		m := new(dns.Msg)
		m.SetRcode(r, dns.RcodeRefused)
		_ = w.WriteMsg(m)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	defer func() { _ = srv.Shutdown() }()

	logs := &testutil.SyncBuffer{}
	s, err := resolver.New(resolver.Config{Notify: []string{pc.LocalAddr().String()}, NotifySource: "127.0.0.7",
		NotifyRetries: 1, NotifyTimeout: time.Second}, slog.New(slog.NewTextHandler(logs, nil)), prometheus.NewRegistry())
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	require.NoError(t, s.SetSnapshot(context.Background(), rcMini(t)))
	select {
	case ip := <-from:
		assert.Equal(t, "127.0.0.7", ip)
	case <-time.After(5 * time.Second):
		t.Fatal("no NOTIFY arrived")
	}
	require.Eventually(t, func() bool { return strings.Contains(logs.String(), `level=WARN msg="NOTIFY refused"`) },
		5*time.Second, 10*time.Millisecond)
	assert.Contains(t, logs.String(), "rcode=REFUSED source=127.0.0.7")

	_, err = resolver.New(resolver.Config{NotifySource: "nowhere"}, nil, prometheus.NewRegistry())
	assert.ErrorIs(t, err, resolver.ErrConfig)
}

// TestNSAddressesAndSOATimers: an in-zone name server with addresses of
// its own gets those instead of Addresses; the SOA carries the timers.
func TestNSAddressesAndSOATimers(t *testing.T) {
	cfg := resolver.Config{NS: []string{"ns1." + rcZ, "ns2." + rcZ},
		NSAddresses: map[string][]netip.Addr{"ns2." + rcZ: {netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("2001:db8::2")}},
		Addresses:   []netip.Addr{netip.MustParseAddr("192.0.2.1")},
		SOARefresh:  7200, SOARetry: 1800, SOAExpire: 604800}
	rrs, err := resolver.ZoneRRs(rcMini(t), cfg)
	require.NoError(t, err)
	addrs := map[string][]string{}
	for _, rr := range rrs {
		switch a := rr.(type) {
		case *dns.A:
			addrs[a.Hdr.Name] = append(addrs[a.Hdr.Name], a.A.String())
		case *dns.AAAA:
			addrs[a.Hdr.Name] = append(addrs[a.Hdr.Name], a.AAAA.String())
		}
	}
	assert.Equal(t, map[string][]string{rcZ: {"192.0.2.1"}, "ns1." + rcZ: {"192.0.2.1"}, "ns2." + rcZ: {"192.0.2.2", "2001:db8::2"}}, addrs)
	soa := rrs[0].(*dns.SOA)
	assert.Equal(t, [3]uint32{7200, 1800, 604800}, [3]uint32{soa.Refresh, soa.Retry, soa.Expire})

	// Addresses only for in-zone name servers that are listed.
	for _, bad := range []map[string][]netip.Addr{
		{"ns3." + rcZ: {netip.MustParseAddr("192.0.2.3")}},
		{"ns.example.": {netip.MustParseAddr("192.0.2.3")}},
	} {
		_, err := resolver.New(resolver.Config{NS: []string{"ns1." + rcZ, "ns.example."}, NSAddresses: bad}, nil, prometheus.NewRegistry())
		assert.ErrorIs(t, err, resolver.ErrConfig)
	}
}

// TestRRLSlipEDE: a slipped reply to an EDNS query carries an OPT with
// our UDP size, the DO bit echoed and Extended DNS Error 0 (RFC 8914 has
// no code for rate limiting) saying why; one to a query without EDNS has
// none (RFC 6891 section 7).
func TestRRLSlipEDE(t *testing.T) {
	_, addr := rcStart(t, resolver.Config{RRLRate: 1, RRLSlip: 1, UDPSize: 1400}, rcMini(t), nil)
	for _, tc := range []struct {
		name     string
		edns, do bool
	}{{"no EDNS", false, false}, {"EDNS", true, false}, {"EDNS with DO", true, true}} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("udp", addr)
			require.NoError(t, err)
			defer c.Close()
			var slipped []*dns.Msg
			buf := make([]byte, 2048)
			for i := range 6 {
				m := rcMsg("_http._tcp."+rcZ, dns.TypeSRV, 0)
				m.Id = uint16(i + 1)
				if tc.edns {
					m.SetEdns0(1232, tc.do)
				}
				b, _ := m.Pack()
				_, err := c.Write(b)
				require.NoError(t, err)
				require.NoError(t, c.SetReadDeadline(time.Now().Add(time.Second)))
				k, err := c.Read(buf)
				require.NoError(t, err, "slip 1 answers every query, full or TC=1")
				r := new(dns.Msg)
				require.NoError(t, r.Unpack(buf[:k]))
				if r.Truncated {
					slipped = append(slipped, r)
				}
			}
			require.NotEmpty(t, slipped)
			for _, r := range slipped {
				assert.Empty(t, r.Answer)
				assert.Empty(t, r.Ns)
				assert.Len(t, r.Question, 1)
				opt := r.IsEdns0()
				if !tc.edns {
					assert.Nil(t, opt)
					assert.Empty(t, r.Extra)
					continue
				}
				require.NotNil(t, opt)
				assert.Equal(t, uint16(1400), opt.UDPSize())
				assert.Equal(t, tc.do, opt.Do())
				require.Len(t, opt.Option, 1)
				ede, ok := opt.Option[0].(*dns.EDNS0_EDE)
				require.True(t, ok, "%T", opt.Option[0])
				assert.Equal(t, uint16(dns.ExtendedErrorCodeOther), ede.InfoCode)
				assert.Equal(t, "rate limited: retry over TCP", ede.ExtraText)
			}
		})
	}
}
