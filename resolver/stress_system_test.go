package resolver_test

// Robustness under dnsperf: overload above capacity and a reload storm. The
// CI variants run 10 s each; bench/dns-robust.sh runs the full lengths
// (30 s overload, 60 s storm) through SVCREG_OVERLOAD_SECONDS and
// SVCREG_STORM_SECONDS.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/internal/testutil"
	"github.com/svcreg/svcreg/registry"
	"github.com/svcreg/svcreg/resolver"
)

// stressDuration is the run length from env (whole seconds), else def.
func stressDuration(t *testing.T, env string, def time.Duration) time.Duration {
	t.Helper()
	v := os.Getenv(env)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	require.NoError(t, err, "%s=%q", env, v)
	require.Positive(t, n, env)
	return time.Duration(n) * time.Second
}

// stressQueryFile writes a dnsperf query file with every SRV, TXT and PTR
// RRset of rrs and one nonexistent name in ten.
func stressQueryFile(t *testing.T, rrs []dns.RR) string {
	t.Helper()
	var b strings.Builder
	seen := map[string]bool{}
	n := 0
	for _, rr := range rrs {
		h := rr.Header()
		if h.Rrtype != dns.TypeSRV && h.Rrtype != dns.TypeTXT && h.Rrtype != dns.TypePTR {
			continue
		}
		line := h.Name + " " + dns.TypeToString[h.Rrtype]
		if h.Name == "_services._dns-sd._udp."+rrs[0].Header().Name || seen[line] {
			continue // the 50 KB enumeration is TCP's business
		}
		seen[line] = true
		b.WriteString(line + "\n")
		if n++; n%9 == 0 {
			fmt.Fprintf(&b, "_nx-%d._tcp.%s TXT\n", n, rrs[0].Header().Name)
		}
	}
	path := filepath.Join(t.TempDir(), "queries.txt")
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	return path
}

// dnsperfResult is what a dnsperf run reports.
type dnsperfResult struct {
	Sent, Completed, Lost int
	QPS                   float64
	Codes                 map[string]int
	Output                string
}

var (
	dnsperfCompleted = regexp.MustCompile(`Queries completed:\s+(\d+)`)
	dnsperfSent      = regexp.MustCompile(`Queries sent:\s+(\d+)`)
	dnsperfLost      = regexp.MustCompile(`Queries lost:\s+(\d+)`)
	dnsperfQPS       = regexp.MustCompile(`Queries per second:\s+([0-9.]+)`)
	dnsperfCodes     = regexp.MustCompile(`Response codes:\s+(.*)`)
	dnsperfCode      = regexp.MustCompile(`([A-Z]+) (\d+) \(`)
)

func parseDNSPerf(t *testing.T, out string) dnsperfResult {
	t.Helper()
	r := dnsperfResult{Codes: map[string]int{}, Output: out}
	num := func(re *regexp.Regexp) int {
		m := re.FindStringSubmatch(out)
		require.NotNil(t, m, "dnsperf output lacks %s:\n%s", re, out)
		n, err := strconv.Atoi(m[1])
		require.NoError(t, err)
		return n
	}
	r.Sent, r.Completed, r.Lost = num(dnsperfSent), num(dnsperfCompleted), num(dnsperfLost)
	m := dnsperfQPS.FindStringSubmatch(out)
	require.NotNil(t, m, "dnsperf output lacks queries per second:\n%s", out)
	r.QPS, _ = strconv.ParseFloat(m[1], 64)
	if m := dnsperfCodes.FindStringSubmatch(out); m != nil {
		for _, c := range dnsperfCode.FindAllStringSubmatch(m[1], -1) {
			r.Codes[c[1]], _ = strconv.Atoi(c[2])
		}
	}
	return r
}

// runDNSPerf runs dnsperf against addr for d (bounded by a context a
// little longer than d) and parses its report.
func runDNSPerf(t *testing.T, dnsperf, addr, queries string, d time.Duration, extra ...string) dnsperfResult {
	t.Helper()
	host, port, _ := strings.Cut(addr, ":")
	args := append([]string{"-s", host, "-p", port, "-d", queries, "-l", strconv.Itoa(int(d / time.Second)), "-T", "1"}, extra...)
	ctx, cancel := context.WithTimeout(context.Background(), d+30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, dnsperf, args...).CombinedOutput()
	require.NoError(t, err, "dnsperf %s:\n%s", strings.Join(args, " "), out)
	return parseDNSPerf(t, string(out))
}

// TestSystemOverload drives an in-process server with dnsperf far above
// its capacity (8 sockets, 2,000 queries in flight, no rate limit, on the
// same two cores) and checks that it stays up with bounded heap and
// goroutines, and answers normally at once when the load stops.
func TestSystemOverload(t *testing.T) {
	dnsperf := testutil.RequireTool(t, "dnsperf", "dnsperf")
	d := stressDuration(t, "SVCREG_OVERLOAD_SECONDS", 10*time.Second)
	all := make([]string, len(zoneSeeds))
	for i := range zoneSeeds {
		all[i] = seedPath(i)
	}
	snap := zoneSnapshot(t, all...)
	rrs, err := resolver.ZoneRRs(snap, resolver.Config{})
	require.NoError(t, err)
	_, addr := sysStartServer(t, snap, resolver.Config{})
	queries := stressQueryFile(t, rrs)

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	baseHeap, baseG := ms.HeapInuse, runtime.NumGoroutine()

	var maxHeap uint64
	maxG := 0
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				maxHeap = max(maxHeap, ms.HeapInuse)
				maxG = max(maxG, runtime.NumGoroutine())
			}
		}
	})
	res := runDNSPerf(t, dnsperf, addr, queries, d, "-c", "8", "-q", "2000")
	close(stop)
	wg.Wait()
	t.Logf("overload %ds: sent %d, completed %d (%.0f q/s), lost %d; heap in use %d MB before, %d MB max; goroutines %d before, %d max",
		int(d.Seconds()), res.Sent, res.Completed, res.QPS, res.Lost, baseHeap>>20, maxHeap>>20, baseG, maxG)
	assert.Positive(t, res.Completed)
	assert.Zero(t, res.Codes["SERVFAIL"], "SERVFAIL under overload")
	assert.Less(t, maxHeap, baseHeap+64<<20, "heap grew by more than 64 MB under overload")
	assert.Less(t, maxG, baseG+64, "goroutines grew under overload")

	// At once after the load: every question answered, correctly.
	start := time.Now()
	for _, q := range sysSample(rrs, 30, 3) {
		r, err := sysExchange("udp", addr, q.Name, q.Qtype)
		require.NoError(t, err, "%s %s right after overload", q.Name, dns.TypeToString[q.Qtype])
		want := dns.RcodeSuccess
		if strings.HasPrefix(q.Name, "_no-such-") || strings.HasPrefix(q.Name, "nope.") {
			want = dns.RcodeNameError
		}
		assert.Equal(t, dns.RcodeToString[want], dns.RcodeToString[r.Rcode], "%s %s", q.Name, dns.TypeToString[q.Qtype])
	}
	assert.Less(t, time.Since(start), 5*time.Second, "answers after overload were slow")

	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > baseG+8 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	assert.LessOrEqual(t, runtime.NumGoroutine(), baseG+8, "goroutines left over after overload")
}

// stormCSV is the registration the storm adds and removes on every
// other reload.
const stormCSV = "Service Name,Port Number,Transport Protocol,Description,Assignee,Contact,Registration Date,Modification Date,Reference,Service Code,Unauthorized Use Reported,Assignment Notes\n" +
	"svcreg-storm,39998,tcp,Present in every other snapshot,[x],[x],2030-01-01,,,,,\n"

// TestSystemReloadStorm swaps the snapshot every 100 ms while dnsperf
// runs at a rate the server sustains, and checks: no SERVFAIL, no lost
// query, and every answer to the name that comes and goes is exactly one
// snapshot's answer (NOERROR with its SRV, or NXDOMAIN with a SOA whose
// serial one of the snapshots had).
func TestSystemReloadStorm(t *testing.T) {
	dnsperf := testutil.RequireTool(t, "dnsperf", "dnsperf")
	d := stressDuration(t, "SVCREG_STORM_SECONDS", 10*time.Second)
	var srcs []*registry.Source
	for i := range zoneSeeds {
		src, err := registry.LoadFile(context.Background(), seedPath(i), "")
		require.NoError(t, err)
		srcs = append(srcs, src)
	}
	snapA, err := registry.Build(srcs...)
	require.NoError(t, err)
	extra, err := registry.Parse(strings.NewReader(stormCSV), "storm.csv", registry.FormatCSV)
	require.NoError(t, err)
	snapB, err := registry.Build(append(srcs, extra)...)
	require.NoError(t, err)
	rrs, err := resolver.ZoneRRs(snapA, resolver.Config{})
	require.NoError(t, err)
	srv, addr := sysStartServer(t, snapA, resolver.Config{})
	queries := stressQueryFile(t, rrs)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	var (
		mu       sync.Mutex
		serials  = map[uint32]bool{srv.Serial(): true}
		reloads  int
		setErrs  []error
		answers  = map[string]int{}
		badMsgs  []string
		probeErr int
	)
	wg.Go(func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			snap := snapA
			if i%2 == 0 {
				snap = snapB
			}
			sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
			err := srv.SetSnapshot(sctx, snap)
			scancel()
			mu.Lock()
			if err != nil && ctx.Err() == nil {
				setErrs = append(setErrs, err)
			}
			serials[srv.Serial()] = true
			reloads++
			mu.Unlock()
		}
	})
	name := "_svcreg-storm._tcp." + resolver.DefaultZone
	wg.Go(func() {
		c := &dns.Client{Net: "udp", Timeout: 2 * time.Second}
		for ctx.Err() == nil {
			m := new(dns.Msg)
			m.SetQuestion(name, dns.TypeSRV)
			r, _, err := c.Exchange(m, addr)
			mu.Lock()
			switch {
			case err != nil:
				probeErr++
			case r.Rcode == dns.RcodeSuccess && len(r.Answer) == 1 && r.Answer[0].(*dns.SRV).Port == 39998:
				answers["B"]++
			case r.Rcode == dns.RcodeNameError && len(r.Answer) == 0 && len(r.Ns) == 1:
				soa, ok := r.Ns[0].(*dns.SOA)
				if ok {
					answers["A"]++
					answers[fmt.Sprintf("serial %d", soa.Serial)]++
				} else {
					badMsgs = append(badMsgs, r.String())
				}
			default:
				badMsgs = append(badMsgs, r.String())
			}
			mu.Unlock()
			time.Sleep(2 * time.Millisecond)
		}
	})

	res := runDNSPerf(t, dnsperf, addr, queries, d, "-c", "2", "-q", "50", "-Q", "2000")
	cancel()
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	t.Logf("reload storm %ds: %d reloads, %d serials; dnsperf sent %d, completed %d, lost %d, codes %v; probe answers A %d, B %d, errors %d",
		int(d.Seconds()), reloads, len(serials), res.Sent, res.Completed, res.Lost, res.Codes, answers["A"], answers["B"], probeErr)
	assert.Empty(t, setErrs, "SetSnapshot errors")
	// A reload starts 100 ms after the previous one started, or at once
	// when it took longer: SetSnapshot takes about 100 ms here, and about
	// 1 s under the race detector on a busy machine.
	assert.GreaterOrEqual(t, reloads, max(3, int(d/(3*time.Second))), "the storm hardly reloaded")
	assert.Zero(t, res.Codes["SERVFAIL"], "SERVFAIL during reloads")
	assert.Zero(t, res.Lost, "queries lost during reloads")
	assert.Positive(t, res.Completed)
	assert.Zero(t, probeErr, "probe queries unanswered")
	assert.Empty(t, badMsgs, "answers from no snapshot")
	assert.Positive(t, answers["A"], "the name was never absent")
	assert.Positive(t, answers["B"], "the name was never present")
	for k, n := range answers {
		if s, ok := strings.CutPrefix(k, "serial "); ok {
			v, _ := strconv.ParseUint(s, 10, 32)
			assert.True(t, serials[uint32(v)], "NXDOMAIN carried serial %d (%d times), which no snapshot had", v, n)
		}
	}
}
