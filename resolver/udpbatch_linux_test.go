package resolver

import (
	"context"
	"net"
	"net/netip"
	"runtime"
	"testing"
	"time"
	"unsafe"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/svcreg/svcreg/registry"
)

// TestUDPBatchSource: the peer's address read from the kernel's sockaddr,
// for both families, a v4-mapped IPv6 peer and a link-local one.
func TestUDPBatchSource(t *testing.T) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	require.NoError(t, err)
	defer c.Close()
	b, err := newUDPBatch(c, 4)
	require.NoError(t, err)

	v4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(&b.names[0]))
	v4.Family = unix.AF_INET
	v4.Addr = [4]byte{198, 18, 0, 7}
	put16 := func(p *uint16, v uint16) { *(*[2]byte)(unsafe.Pointer(p)) = [2]byte{byte(v >> 8), byte(v)} }
	put16(&v4.Port, 40053)

	b.names[1].Family = unix.AF_INET6
	b.names[1].Addr = netip.MustParseAddr("fd42::9").As16()
	put16(&b.names[1].Port, 53)

	b.names[2].Family = unix.AF_INET6
	b.names[2].Addr = netip.MustParseAddr("::ffff:198.18.0.8").As16()
	put16(&b.names[2].Port, 1)

	lo := loopbackIndex(t)
	b.names[3].Family = unix.AF_INET6
	b.names[3].Addr = netip.MustParseAddr("fe80::1").As16()
	b.names[3].Scope_id = uint32(lo.Index)
	put16(&b.names[3].Port, 65535)

	require.Equal(t, netip.MustParseAddrPort("198.18.0.7:40053"), b.src(0))
	require.Equal(t, netip.MustParseAddrPort("[fd42::9]:53"), b.src(1))
	require.Equal(t, netip.MustParseAddrPort("198.18.0.8:1"), b.src(2))
	require.Equal(t, netip.AddrPortFrom(netip.MustParseAddr("fe80::1").WithZone(lo.Name), 65535), b.src(3))
}

func loopbackIndex(t *testing.T) net.Interface {
	t.Helper()
	ifs, err := net.Interfaces()
	require.NoError(t, err)
	for _, ifi := range ifs {
		if ifi.Flags&net.FlagLoopback != 0 {
			return ifi
		}
	}
	t.Fatal("no loopback interface")
	return net.Interface{}
}

// TestUDPBatchAllocatesNothing: a query that goes through the socket, the
// batched read, the answer and the batched write allocates nothing in the
// server. The client's connected socket does not allocate either, so the
// whole process is measured; a few allocations of the runtime are allowed.
func TestUDPBatchAllocatesNothing(t *testing.T) {
	src, err := registry.LoadFile(context.Background(), "testdata/mini.csv", "")
	require.NoError(t, err)
	snap, err := registry.Build(src)
	require.NoError(t, err)
	s, err := New(Config{Listen: []string{"127.0.0.1:0"}, UDPBatch: 32, UDPWorkers: 1}, nil, prometheus.NewRegistry())
	require.NoError(t, err)
	require.NoError(t, s.SetSnapshot(context.Background(), snap))
	require.NoError(t, s.Start(context.Background()))
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })

	c, err := net.Dial("udp", s.Addrs()[0].String())
	require.NoError(t, err)
	defer c.Close()
	m := new(dns.Msg)
	m.SetQuestion("_http._tcp.services.internal.", dns.TypeTXT)
	q, err := m.Pack()
	require.NoError(t, err)
	buf := make([]byte, 4096)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(time.Minute)))
	ask := func() {
		// Checked without testify, whose helpers allocate.
		if _, err := c.Write(q); err != nil {
			t.Fatal(err)
		}
		if n, err := c.Read(buf); err != nil || n <= hdrLen {
			t.Fatalf("answer of %d bytes: %v", n, err)
		}
	}
	for range 100 {
		ask() // warm up: pools, timers, the first metrics
	}
	const queries = 2000
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range queries {
		ask()
	}
	runtime.ReadMemStats(&after)
	allocs := after.Mallocs - before.Mallocs
	t.Logf("%d allocations in the process for %d queries", allocs, queries)
	require.Less(t, allocs, uint64(queries/20), "allocations per query")
}
