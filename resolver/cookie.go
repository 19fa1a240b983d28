package resolver

// DNS cookies (RFC 7873) with the interoperable server cookie of RFC
// 9018: version 1, three reserved bytes, a timestamp and a SipHash-2-4 of
// the client cookie, those eight bytes and the client address.

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/bits"
	"net/netip"
	"time"
)

const (
	optCookie        = 10 // EDNS option code (RFC 7873 section 4)
	clientCookieLen  = 8
	serverCookieLen  = 16 // what we make: RFC 9018's layout
	cookieVersion    = 1
	cookieMaxAge     = time.Hour       // RFC 9018 section 4.3
	cookieMaxFuture  = 5 * time.Minute // clock skew tolerated
	rcodeBadCookie   = 23              // RFC 7873 section 8
	cookieSecretSize = 16              // a SipHash key
)

// cookieKeys are the secrets server cookies are made and checked with:
// the current one, and the previous one still accepted during a rollover.
type cookieKeys struct {
	current, previous [cookieSecretSize]byte
	hasPrevious       bool
}

// newCookieKeys reads the secrets (hex, 16 bytes) or makes a random one
// when current is "".
func newCookieKeys(current, previous string) (cookieKeys, error) {
	var k cookieKeys
	if current == "" {
		if _, err := rand.Read(k.current[:]); err != nil {
			return k, fmt.Errorf("%w: cookie secret: %w", ErrConfig, err)
		}
	} else if err := readCookieSecret(current, &k.current); err != nil {
		return k, err
	}
	if previous != "" {
		if err := readCookieSecret(previous, &k.previous); err != nil {
			return k, err
		}
		k.hasPrevious = true
	}
	return k, nil
}

func readCookieSecret(s string, dst *[cookieSecretSize]byte) error {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != cookieSecretSize {
		return fmt.Errorf("%w: a cookie secret is %d bytes of hex (%d characters)", ErrConfig, cookieSecretSize, 2*cookieSecretSize)
	}
	copy(dst[:], b)
	return nil
}

// serverCookie appends our server cookie for client cookie cc and
// client address a at time now (RFC 9018 section 4).
func (k *cookieKeys) serverCookie(out, cc []byte, a netip.Addr, now time.Time) []byte {
	var hdr [8]byte
	hdr[0] = cookieVersion
	binary.BigEndian.PutUint32(hdr[4:], uint32(now.Unix()))
	out = append(out, hdr[:]...)
	return binary.BigEndian.AppendUint64(out, cookieHash(&k.current, cc, hdr[:], a))
}

// valid reports whether sc is a server cookie we made for cc and a, with
// the current or the previous secret, not too old and not from the
// future.
func (k *cookieKeys) valid(cc, sc []byte, a netip.Addr, now time.Time) bool {
	if len(sc) != serverCookieLen || sc[0] != cookieVersion {
		return false
	}
	ts := time.Unix(int64(binary.BigEndian.Uint32(sc[4:8])), 0)
	if now.Sub(ts) > cookieMaxAge || ts.Sub(now) > cookieMaxFuture {
		return false
	}
	h := binary.BigEndian.Uint64(sc[8:])
	if cookieHash(&k.current, cc, sc[:8], a) == h {
		return true
	}
	return k.hasPrevious && cookieHash(&k.previous, cc, sc[:8], a) == h
}

// cookieHash is SipHash-2-4 of client cookie | version, reserved,
// timestamp | client address (4 or 16 bytes).
func cookieHash(key *[cookieSecretSize]byte, cc, hdr []byte, a netip.Addr) uint64 {
	var buf [8 + 8 + 16]byte
	n := copy(buf[:], cc)
	n += copy(buf[n:], hdr)
	a = a.Unmap()
	if a.Is4() {
		v := a.As4()
		n += copy(buf[n:], v[:])
	} else {
		v := a.As16()
		n += copy(buf[n:], v[:])
	}
	return sipHash24(key, buf[:n])
}

// sipHash24 is SipHash-2-4 (Aumasson and Bernstein), the hash RFC 9018
// names.
func sipHash24(key *[cookieSecretSize]byte, m []byte) uint64 {
	k0 := binary.LittleEndian.Uint64(key[:8])
	k1 := binary.LittleEndian.Uint64(key[8:])
	v0 := k0 ^ 0x736f6d6570736575
	v1 := k1 ^ 0x646f72616e646f6d
	v2 := k0 ^ 0x6c7967656e657261
	v3 := k1 ^ 0x7465646279746573
	round := func() {
		v0 += v1
		v1 = bits.RotateLeft64(v1, 13)
		v1 ^= v0
		v0 = bits.RotateLeft64(v0, 32)
		v2 += v3
		v3 = bits.RotateLeft64(v3, 16)
		v3 ^= v2
		v0 += v3
		v3 = bits.RotateLeft64(v3, 21)
		v3 ^= v0
		v2 += v1
		v1 = bits.RotateLeft64(v1, 17)
		v1 ^= v2
		v2 = bits.RotateLeft64(v2, 32)
	}
	n := len(m)
	for len(m) >= 8 {
		w := binary.LittleEndian.Uint64(m)
		v3 ^= w
		round()
		round()
		v0 ^= w
		m = m[8:]
	}
	var last [8]byte
	copy(last[:], m)
	last[7] = byte(n)
	w := binary.LittleEndian.Uint64(last[:])
	v3 ^= w
	round()
	round()
	v0 ^= w
	v2 ^= 0xff
	round()
	round()
	round()
	round()
	return v0 ^ v1 ^ v2 ^ v3
}
