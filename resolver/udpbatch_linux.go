package resolver

import (
	"errors"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mmsghdr is struct mmsghdr: a msghdr and the bytes the kernel moved.
// Go pads it to its alignment as C does.
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
}

// udpBatch reads up to len(in) datagrams with one recvmmsg and sends their
// answers with one sendmmsg. Everything the kernel reads or writes is
// allocated once: the headers, the buffers and the peers' addresses,
// which go back to the kernel as they came for the answers.
//
// Both calls are non-blocking (MSG_DONTWAIT) and made as raw system
// calls, which the Go scheduler does not watch: a sendmmsg over loopback
// delivers every answer to its receiver before it returns, often for
// longer than the 20 us after which the scheduler hands a processor in a
// system call to another thread. When the socket is empty the goroutine
// waits in the runtime's poller like any other network read.
type udpBatch struct {
	rc    syscall.RawConn
	in    []mmsghdr
	inIov []unix.Iovec
	names []unix.RawSockaddrInet6 // large enough for either family
	bufs  [][]byte
	out   []mmsghdr
	oIov  []unix.Iovec

	// results of the last read or write, set by readFn and writeFn
	k       int
	err     error
	readFn  func(fd uintptr) bool
	writeFn func(fd uintptr) bool
	w, sent int
}

func newUDPBatch(c *net.UDPConn, n int) (*udpBatch, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	b := &udpBatch{
		rc:    rc,
		in:    make([]mmsghdr, n),
		inIov: make([]unix.Iovec, n),
		names: make([]unix.RawSockaddrInet6, n),
		bufs:  make([][]byte, n),
		out:   make([]mmsghdr, n),
		oIov:  make([]unix.Iovec, n),
	}
	for i := range b.in {
		b.bufs[i] = make([]byte, 65535)
		b.inIov[i].Base = &b.bufs[i][0]
		b.inIov[i].SetLen(len(b.bufs[i]))
		b.in[i].hdr.Iov = &b.inIov[i]
		b.in[i].hdr.SetIovlen(1)
		b.in[i].hdr.Name = (*byte)(unsafe.Pointer(&b.names[i]))
		b.out[i].hdr.Iov = &b.oIov[i]
		b.out[i].hdr.SetIovlen(1)
	}
	b.readFn = b.read
	b.writeFn = b.write
	return b, nil
}

func (b *udpBatch) read(fd uintptr) bool {
	for i := range b.in {
		b.in[i].hdr.Namelen = unix.SizeofSockaddrInet6
		b.in[i].hdr.Flags = 0
	}
	for {
		k, _, e := unix.RawSyscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&b.in[0])), uintptr(len(b.in)), unix.MSG_DONTWAIT, 0, 0)
		switch e {
		case 0:
			b.k, b.err = int(k), nil
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false // wait in the poller until the socket is readable
		}
		b.k, b.err = 0, e
		return true
	}
}

func (b *udpBatch) write(fd uintptr) bool {
	for b.sent < b.w {
		k, _, e := unix.RawSyscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&b.out[b.sent])), uintptr(b.w-b.sent), unix.MSG_DONTWAIT, 0, 0)
		switch e {
		case 0:
			b.sent += int(k)
			if k == 0 {
				b.sent++ // never loop on a datagram the kernel takes no part of
			}
		case unix.EINTR:
		case unix.EAGAIN:
			return false // wait until the socket can take more
		default:
			b.sent++ // skip the datagram the kernel refused
		}
	}
	return true
}

// src is the address datagram i came from.
func (b *udpBatch) src(i int) netip.AddrPort {
	sa := (*[unix.SizeofSockaddrInet6]byte)(unsafe.Pointer(&b.names[i]))
	port := uint16(sa[2])<<8 | uint16(sa[3])
	switch b.names[i].Family {
	case unix.AF_INET:
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(sa[4:8])), port)
	case unix.AF_INET6:
		a := netip.AddrFrom16([16]byte(sa[8:24])).Unmap()
		if id := b.names[i].Scope_id; id != 0 && a.Is6() {
			// Link-local peers only: named as the net package names
			// them, by interface.
			zone := strconv.FormatUint(uint64(id), 10)
			if ifi, err := net.InterfaceByIndex(int(id)); err == nil {
				zone = ifi.Name
			}
			a = a.WithZone(zone)
		}
		return netip.AddrPortFrom(a, port)
	}
	return netip.AddrPort{}
}

// serveUDPBatch reads up to n queries per system call and sends their
// answers in one: under load most of a UDP server's time is system calls,
// and batching shares their fixed cost (Knot does the same).
func (s *Server) serveUDPBatch(c *net.UDPConn, n int) {
	defer s.wg.Done()
	b, err := newUDPBatch(c, n)
	if err != nil {
		s.logger.Error("UDP socket without raw access, answering one datagram at a time", "err", err)
		s.wg.Add(1)
		s.serveUDP(c)
		return
	}
	outBufs := make([][]byte, n)
	for i := range outBufs {
		outBufs[i] = make([]byte, 0, int(s.cfg.UDPSize)+512)
	}
	for {
		if err := b.rc.Read(b.readFn); err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if b.err != nil {
			continue // an error of one datagram (ICMP and the like); read on
		}
		t := s.tab.Load()
		w := 0
		for i := 0; i < b.k; i++ {
			src := b.src(i)
			q := b.bufs[i][:b.in[i].n]
			start := time.Now()
			resp, res := s.respond(t, q, outBufs[i][:0], false, src.Addr())
			if resp != nil && s.rrl != nil {
				if resp = s.rateLimit(resp, &res, src.Addr(), start); resp == nil {
					continue
				}
			}
			if len(resp) > 0 {
				o := &b.out[w]
				o.hdr.Name = b.in[i].hdr.Name
				o.hdr.Namelen = b.in[i].hdr.Namelen
				b.oIov[w].Base = &resp[0]
				b.oIov[w].SetLen(len(resp))
				w++
			}
			s.account(res, false, start, src, q)
		}
		if w > 0 {
			b.w, b.sent = w, 0
			if err := b.rc.Write(b.writeFn); err != nil && errors.Is(err, net.ErrClosed) {
				return
			}
		}
	}
}
