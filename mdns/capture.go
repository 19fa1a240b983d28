package mdns

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	pcap "github.com/svcreg/svcreg/capture"
)

// CaptureStats counts what a CaptureSource read.
type CaptureStats struct {
	Packets int // every packet of the capture
	MDNS    int // UDP datagrams to or from port 5353, delivered
	// Skipped are frames that are not whole UDP datagrams (fragments,
	// other protocols a broad filter let in) or UDP on other ports.
	Skipped   int
	Truncated int // mDNS datagrams the snap length cut (delivered as cut)
	First     time.Time
	Last      time.Time
}

// CaptureSource replays a packet capture (pcap or pcapng, see package
// capture) as a PacketSource: every UDP datagram to or from port 5353 is
// handed to the monitor with the capture's time, sender, hop limit,
// interface name, source MAC and packet number, so the monitor reports
// what a live listener hearing that traffic would have. Use its Now as
// the monitor's clock (MonitorConfig.Now): expiries then follow the
// capture's time, not the wall clock.
type CaptureSource struct {
	r     *pcap.Reader
	iface string // for captures that name no interface

	mu    sync.Mutex
	now   time.Time
	stats CaptureStats
	// macs interns the text of each source MAC: a capture has a few
	// senders and many packets.
	macs map[[6]byte]string
}

// NewCaptureSource reads the capture's header from r. iface names the
// packets of a capture that does not name its interfaces (pcap).
func NewCaptureSource(r io.Reader, iface string) (*CaptureSource, error) {
	cr, err := pcap.NewReader(r)
	if err != nil {
		return nil, err
	}
	return &CaptureSource{r: cr, iface: iface, macs: map[[6]byte]string{}}, nil
}

// Now is the time of the last packet delivered (the zero time before the
// first).
func (c *CaptureSource) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Stats reports what was read so far.
func (c *CaptureSource) Stats() CaptureStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// Serve delivers the capture's mDNS datagrams to h, one at a time and in
// order, until the capture ends (it returns nil), ctx ends, or the
// capture is truncated or corrupt (it returns the *capture.Error, naming
// the packet; what came before was delivered).
func (c *CaptureSource) Serve(ctx context.Context, h PacketHandler) error {
	for n := 0; ; n++ {
		if n%1024 == 0 && ctx.Err() != nil {
			return nil
		}
		p, err := c.r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("mdns: reading the capture: %w", err)
		}
		d, derr := pcap.Decode(p.LinkType, p.Data)
		c.mu.Lock()
		c.stats.Packets++
		if !p.Time.IsZero() {
			if c.stats.First.IsZero() {
				c.stats.First = p.Time
			}
			if p.Time.After(c.now) {
				c.now = p.Time
			}
			c.stats.Last = c.now
		}
		mdns := derr == nil && (d.Src.Port() == 5353 || d.Dst.Port() == 5353)
		switch {
		case !mdns:
			c.stats.Skipped++
		case d.Truncated:
			c.stats.MDNS++
			c.stats.Truncated++
		default:
			c.stats.MDNS++
		}
		at := p.Time
		if at.IsZero() { // a simple packet block has no time
			at = c.now
		}
		mac := c.macText(d.SrcMAC)
		c.mu.Unlock()
		if !mdns {
			continue
		}
		iface := p.Interface
		if iface == "" {
			iface = c.iface
		}
		h(d.Payload, PacketMeta{Source: d.Src, Interface: iface, HopLimit: d.HopLimit, Size: d.Length,
			Received: at, MAC: mac, Packet: p.Number})
	}
}

func (c *CaptureSource) macText(mac net.HardwareAddr) string {
	if len(mac) != 6 {
		return ""
	}
	k := [6]byte(mac)
	s, ok := c.macs[k]
	if !ok {
		s = mac.String()
		if len(c.macs) < 4096 {
			c.macs[k] = s
		}
	}
	return s
}
