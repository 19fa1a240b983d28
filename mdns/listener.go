package mdns

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// The mDNS groups and port (RFC 6762 section 3).
var (
	groupIPv4 = netip.MustParseAddr("224.0.0.251")
	groupIPv6 = netip.MustParseAddr("ff02::fb")
)

// Port is the mDNS UDP port.
const Port = 5353

// maxPacket is the read buffer: an mDNS packet may be up to 9000 bytes
// (RFC 6762 section 17), and a jumbo frame or a fragmented datagram can be
// larger; the validator reports the oversized ones, so we read them whole.
const maxPacket = 65536

// ErrNoInterface is returned when none of the requested interfaces could
// join an mDNS group.
var ErrNoInterface = errors.New("mdns: no usable multicast interface")

// PacketHandler receives one datagram. pkt is only valid during the call.
// Calls may come from several goroutines at once (IPv4 and IPv6).
type PacketHandler func(pkt []byte, meta PacketMeta)

// PacketSource is the seam over the multicast sockets: the real one is
// Listener, tests use an in-memory fake.
type PacketSource interface {
	// Serve delivers every datagram to h until ctx ends (then it returns
	// nil) or the sockets fail.
	Serve(ctx context.Context, h PacketHandler) error
}

// Listener is the passive mDNS listener: it joins 224.0.0.251 and ff02::fb
// on port 5353 on the chosen interfaces, sharing the port with a running
// avahi-daemon or mDNSResponder (SO_REUSEADDR and SO_REUSEPORT, which
// they set too), and reads every datagram with its hop limit and arrival
// interface. It sends only the browser's queries (Querier), never answers.
type Listener struct {
	logger *slog.Logger
	ifaces map[int]string // index -> name: packets from other interfaces are dropped
	v4     *ipv4.PacketConn
	v6     *ipv6.PacketConn
	port   int // the group port queries go to
	now    func() time.Time
}

// ListenConfig selects what the listener binds. Port 0 means 5353;
// tests use another port to stay off a host's real mDNS traffic.
type ListenConfig struct {
	Interfaces []string
	Port       int
	// Family restricts the listener to one address family (FamilyIPv4,
	// FamilyIPv6); "" or FamilyBoth listens on both.
	Family Family
}

// Family selects the IP versions mDNS runs over.
type Family string

// Address families: both (the default), or one of them.
const (
	FamilyBoth Family = "both"
	FamilyIPv4 Family = "ipv4"
	FamilyIPv6 Family = "ipv6"
)

// ErrBadFamily is returned by ParseFamily for an unknown value.
var ErrBadFamily = errors.New("unknown address family")

// ParseFamily reads "both", "ipv4" or "ipv6" ("" is both).
func ParseFamily(s string) (Family, error) {
	switch f := Family(strings.ToLower(strings.TrimSpace(s))); f {
	case "", FamilyBoth:
		return FamilyBoth, nil
	case FamilyIPv4, FamilyIPv6:
		return f, nil
	}
	return "", fmt.Errorf("%w %q (want both, ipv4 or ipv6)", ErrBadFamily, s)
}

func (f Family) v4() bool { return f != FamilyIPv6 }
func (f Family) v6() bool { return f != FamilyIPv4 }

// NewListener opens and joins the sockets. At least one interface must
// join at least one group; failures on the others are logged.
func NewListener(ctx context.Context, cfg ListenConfig, logger *slog.Logger) (*Listener, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if len(cfg.Interfaces) == 0 {
		return nil, fmt.Errorf("%w: no interface given", ErrNoInterface)
	}
	port := cfg.Port
	if port == 0 {
		port = Port
	}
	ifis, err := lookupInterfaces(cfg.Interfaces)
	if err != nil {
		return nil, err
	}
	l := &Listener{logger: logger, ifaces: make(map[int]string, len(ifis)), port: port, now: time.Now}
	for _, ifi := range ifis {
		l.ifaces[ifi.Index] = ifi.Name
	}
	joined := 0
	if cfg.Family.v4() {
		if l.v4, err = listen4(ctx, port, ifis, logger, &joined); err != nil {
			logger.Warn("mdns: IPv4 listener unavailable", "error", err)
		}
	}
	if cfg.Family.v6() {
		if l.v6, err = listen6(ctx, port, ifis, logger, &joined); err != nil {
			logger.Warn("mdns: IPv6 listener unavailable", "error", err)
		}
	}
	if joined == 0 {
		l.Close()
		return nil, fmt.Errorf("%w: joining the mDNS groups on %v failed", ErrNoInterface, cfg.Interfaces)
	}
	return l, nil
}

// CheckInterfaces reports every name that is not an interface the
// monitor can listen on: missing, down, or without multicast. Each
// problem wraps ErrNoInterface; nil means all are usable now.
func CheckInterfaces(names []string) error {
	var errs []error
	for _, n := range names {
		if _, err := lookupInterfaces([]string{n}); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// lookupInterfaces resolves interface names to net.Interfaces, checking
// each is up and multicast-capable.
func lookupInterfaces(names []string) ([]net.Interface, error) {
	out := make([]net.Interface, 0, len(names))
	for _, n := range names {
		ifi, err := net.InterfaceByName(n)
		if err != nil {
			return nil, fmt.Errorf("%w: interface %q: %w", ErrNoInterface, n, err)
		}
		if ifi.Flags&net.FlagMulticast == 0 {
			return nil, fmt.Errorf("%w: interface %q has no multicast", ErrNoInterface, n)
		}
		if ifi.Flags&net.FlagUp == 0 {
			return nil, fmt.Errorf("%w: interface %q is down", ErrNoInterface, n)
		}
		out = append(out, *ifi)
	}
	return out, nil
}

// reusePort lets several processes bind :5353; avahi-daemon and
// mDNSResponder set both options, and Linux only shares a port when every
// socket on it agrees.
func reusePort(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); serr != nil {
			return
		}
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	})
	if err != nil {
		return err
	}
	return serr
}

func listen4(ctx context.Context, port int, ifis []net.Interface, logger *slog.Logger, joined *int) (*ipv4.PacketConn, error) {
	lc := net.ListenConfig{Control: reusePort}
	c, err := lc.ListenPacket(ctx, "udp4", fmt.Sprintf("0.0.0.0:%d", port))
	if err != nil {
		return nil, fmt.Errorf("binding udp4 :%d: %w", port, err)
	}
	p := ipv4.NewPacketConn(c)
	if err := p.SetControlMessage(ipv4.FlagTTL|ipv4.FlagInterface|ipv4.FlagDst, true); err != nil {
		p.Close()
		return nil, fmt.Errorf("udp4 control messages: %w", err)
	}
	n := 0
	for i := range ifis {
		if err := p.JoinGroup(&ifis[i], &net.UDPAddr{IP: groupIPv4.AsSlice()}); err != nil {
			logger.Warn("mdns: joining 224.0.0.251 failed", "interface", ifis[i].Name, "error", err)
			continue
		}
		n++
	}
	if n == 0 {
		p.Close()
		return nil, fmt.Errorf("udp4: no interface joined 224.0.0.251")
	}
	*joined += n
	return p, nil
}

func listen6(ctx context.Context, port int, ifis []net.Interface, logger *slog.Logger, joined *int) (*ipv6.PacketConn, error) {
	lc := net.ListenConfig{Control: reusePort}
	c, err := lc.ListenPacket(ctx, "udp6", fmt.Sprintf("[::]:%d", port))
	if err != nil {
		return nil, fmt.Errorf("binding udp6 :%d: %w", port, err)
	}
	p := ipv6.NewPacketConn(c)
	if err := p.SetControlMessage(ipv6.FlagHopLimit|ipv6.FlagInterface|ipv6.FlagDst, true); err != nil {
		p.Close()
		return nil, fmt.Errorf("udp6 control messages: %w", err)
	}
	n := 0
	for i := range ifis {
		if err := p.JoinGroup(&ifis[i], &net.UDPAddr{IP: groupIPv6.AsSlice()}); err != nil {
			logger.Warn("mdns: joining ff02::fb failed", "interface", ifis[i].Name, "error", err)
			continue
		}
		n++
	}
	if n == 0 {
		p.Close()
		return nil, fmt.Errorf("udp6: no interface joined ff02::fb")
	}
	*joined += n
	return p, nil
}

// Close closes the sockets; Serve returns.
func (l *Listener) Close() error {
	var errs []error
	if l.v4 != nil {
		errs = append(errs, l.v4.Close())
	}
	if l.v6 != nil {
		errs = append(errs, l.v6.Close())
	}
	return errors.Join(errs...)
}

// Serve reads until ctx ends, then closes the sockets and returns nil.
func (l *Listener) Serve(ctx context.Context, h PacketHandler) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 2)
	if l.v4 != nil {
		wg.Go(func() { errc <- l.read4(ctx, h) })
	}
	if l.v6 != nil {
		wg.Go(func() { errc <- l.read6(ctx, h) })
	}
	wg.Go(func() {
		<-ctx.Done()
		l.Close() // unblocks the reads
	})
	// The first reader to stop (error or ctx) stops the others.
	err := <-errc
	cancel()
	wg.Wait()
	return err
}

func (l *Listener) read4(ctx context.Context, h PacketHandler) error {
	buf := make([]byte, maxPacket)
	for {
		n, cm, src, err := l.v4.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("reading udp4: %w", err)
		}
		meta := PacketMeta{HopLimit: -1, Size: n, Received: l.now()}
		if cm != nil {
			name, ok := l.ifaces[cm.IfIndex]
			if !ok {
				continue // joined elsewhere (IP_MULTICAST_ALL) or another interface's unicast
			}
			meta.Interface, meta.HopLimit = name, cm.TTL
		}
		meta.Source = udpAddrPort(src)
		h(buf[:n], meta)
	}
}

func (l *Listener) read6(ctx context.Context, h PacketHandler) error {
	buf := make([]byte, maxPacket)
	for {
		n, cm, src, err := l.v6.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("reading udp6: %w", err)
		}
		meta := PacketMeta{HopLimit: -1, Size: n, Received: l.now()}
		if cm != nil {
			name, ok := l.ifaces[cm.IfIndex]
			if !ok {
				continue
			}
			meta.Interface, meta.HopLimit = name, cm.HopLimit
		}
		meta.Source = udpAddrPort(src)
		h(buf[:n], meta)
	}
}

func udpAddrPort(a net.Addr) netip.AddrPort {
	if u, ok := a.(*net.UDPAddr); ok {
		ap := u.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return netip.AddrPort{}
}
