package web

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/internal/testutil"
	"github.com/svcreg/svcreg/mdns"
	"github.com/svcreg/svcreg/registry"
)

// fakeLAN is an in-memory LANSource the tests feed by hand.
type fakeLAN struct {
	mu       sync.Mutex
	ads      []mdns.Advertisement
	findings []mdns.Finding
	subs     map[chan struct{}]bool
}

func newFakeLAN() *fakeLAN { return &fakeLAN{subs: map[chan struct{}]bool{}} }

func (f *fakeLAN) Advertisements() []mdns.Advertisement {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.ads)
}

func (f *fakeLAN) Findings() []mdns.Finding {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := slices.Clone(f.findings)
	for _, a := range f.ads {
		out = append(out, a.Findings...)
	}
	return out
}

func (f *fakeLAN) Subscribe(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{}, 1)
	f.mu.Lock()
	f.subs[ch] = true
	f.mu.Unlock()
	go func() {
		<-ctx.Done()
		f.mu.Lock()
		delete(f.subs, ch)
		close(ch)
		f.mu.Unlock()
	}()
	return ch
}

func (f *fakeLAN) subscribers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.subs)
}

// push adds an advertisement (and packet findings) and signals every
// subscriber, as the monitor does after a change.
func (f *fakeLAN) push(a *mdns.Advertisement, packet ...mdns.Finding) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if a != nil {
		f.ads = append(f.ads, *a)
	}
	f.findings = append(f.findings, packet...)
	for ch := range f.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// testAd builds an advertisement as the monitor would keep it.
func testAd(instance, service string, port uint16, findings ...mdns.Finding) *mdns.Advertisement {
	now := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	for i := range findings {
		findings[i].Instance = instance
		findings[i].ServiceType = service + "._tcp"
	}
	return &mdns.Advertisement{
		Instance: instance, Service: service, Proto: "_tcp", Domain: "local",
		Host: "host-" + service[1:] + ".local.", Port: port,
		TXT: []string{"txtvers=1", "note=<b>hi</b>"}, HasTXT: true,
		Addrs:     []netip.Addr{netip.MustParseAddr("192.0.2.10")},
		TTL:       mdns.TTLsOf(map[uint16]uint32{12: 4500, 33: 120}),
		Source:    netip.MustParseAddrPort("192.0.2.10:5353"),
		Interface: "veth-test",
		FirstSeen: now, LastSeen: now.Add(time.Minute), Expires: now.Add(2 * time.Hour),
		Findings: findings,
	}
}

// smallSnapshot is the hand-written fixture registry.
func smallSnapshot(t testing.TB) *registry.Snapshot {
	t.Helper()
	f, err := os.Open("testdata/registry.csv")
	require.NoError(t, err)
	defer f.Close()
	src, err := registry.ParseCSV(f, "registry.csv")
	require.NoError(t, err)
	require.Empty(t, src.Problems)
	snap, err := registry.Build(src)
	require.NoError(t, err)
	return snap
}

// fullSnapshot loads the official registry from ../shared (skipped
// outside CI when it is missing). It is parsed once per test binary.
func fullSnapshot(t testing.TB) *registry.Snapshot {
	t.Helper()
	path := testutil.SharedFile(t, "iana", "service-names-port-numbers.xml")
	snap, err := loadFull(path)
	require.NoError(t, err)
	return snap
}

var loadFull = onceByPath(func(path string) (*registry.Snapshot, error) {
	src, err := registry.LoadFile(context.Background(), path, "")
	if err != nil {
		return nil, err
	}
	return registry.Build(src)
})

func onceByPath(f func(string) (*registry.Snapshot, error)) func(string) (*registry.Snapshot, error) {
	var mu sync.Mutex
	cache := map[string]*registry.Snapshot{}
	return func(p string) (*registry.Snapshot, error) {
		mu.Lock()
		defer mu.Unlock()
		if s, ok := cache[p]; ok {
			return s, nil
		}
		s, err := f(p)
		if err == nil {
			cache[p] = s
		}
		return s, err
	}
}

func newHandler(t testing.TB, snap *registry.Snapshot, lan LANSource) http.Handler {
	t.Helper()
	opts := Options{Store: registry.NewStore(snap)}
	if lan != nil {
		opts.LAN = lan
	}
	h, err := New(opts)
	require.NoError(t, err)
	return h
}

type response struct {
	Status int
	Header http.Header
	Body   string
}

func get(t testing.TB, h http.Handler, target string) response {
	t.Helper()
	return do(t, h, http.MethodGet, target)
}

func do(t testing.TB, h http.Handler, method, target string) response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	b, err := io.ReadAll(rec.Result().Body)
	require.NoError(t, err)
	return response{Status: rec.Code, Header: rec.Result().Header, Body: string(b)}
}
