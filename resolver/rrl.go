package resolver

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"sync/atomic"
	"time"
)

// rrl is response rate limiting in the style of BIND and Knot, keyed by
// source prefix only: a fixed table of buckets, each one atomic word
// holding the current second and the responses sent in it. No lock, no
// allocation, bounded memory; prefixes that hash to one bucket share its
// budget (the seed is random per server so an attacker cannot aim).
type rrl struct {
	rate    uint32
	slip    uint32
	bits4   int
	bits6   int
	seed    uint64
	buckets [1 << 16]atomic.Uint64
	epoch   time.Time
}

type rrlVerdict uint8

const (
	rrlSend rrlVerdict = iota
	rrlDrop
	rrlSlip
)

func newRRL(cfg Config) *rrl {
	return &rrl{rate: uint32(cfg.RRLRate), slip: uint32(cfg.RRLSlip), bits4: cfg.RRLIPv4Prefix,
		bits6: cfg.RRLIPv6Prefix, seed: rand.Uint64() | 1, epoch: time.Now()}
}

// key folds the source address to its prefix.
func (l *rrl) key(a netip.Addr) uint64 {
	a = a.Unmap()
	if a.Is4() {
		p, _ := a.Prefix(l.bits4)
		b := p.Addr().As4()
		return uint64(binary.BigEndian.Uint32(b[:])) | 1<<63
	}
	p, _ := a.Prefix(l.bits6)
	b := p.Addr().As16()
	return binary.BigEndian.Uint64(b[:8]) ^ binary.BigEndian.Uint64(b[8:])*0x9e3779b97f4a7c15
}

// check counts one response for a and says whether to send it, drop it
// or send it truncated.
func (l *rrl) check(a netip.Addr, now time.Time) rrlVerdict {
	h := (l.key(a) ^ l.seed) * 0xff51afd7ed558ccd
	b := &l.buckets[h>>48]
	sec := uint64(uint32(now.Sub(l.epoch) / time.Second))
	for {
		v := b.Load()
		var nv uint64
		if v>>32 != sec {
			nv = sec<<32 | 1
		} else {
			nv = v + 1
		}
		if !b.CompareAndSwap(v, nv) {
			continue
		}
		n := uint32(nv)
		if n <= l.rate {
			return rrlSend
		}
		if l.slip > 0 && (n-l.rate)%l.slip == 0 {
			return rrlSlip
		}
		return rrlDrop
	}
}
