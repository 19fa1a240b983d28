package resolver

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// The reference test vector of SipHash-2-4 (key 00..0f, message 00..0e).
func TestSipHash24(t *testing.T) {
	var key [16]byte
	for i := range key {
		key[i] = byte(i)
	}
	msg := make([]byte, 15)
	for i := range msg {
		msg[i] = byte(i)
	}
	assert.Equal(t, uint64(0xa129ca6149be45e5), sipHash24(&key, msg))
	assert.Equal(t, uint64(0x726fdb47dd0e0e31), sipHash24(&key, nil))
}

func TestServerCookies(t *testing.T) {
	k, err := newCookieKeys("000102030405060708090a0b0c0d0e0f", "")
	assert.NoError(t, err)
	cc := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	a := netip.MustParseAddr("192.0.2.7")
	now := time.Now()
	sc := k.serverCookie(nil, cc, a, now)
	assert.Len(t, sc, serverCookieLen)
	assert.Equal(t, byte(cookieVersion), sc[0])
	assert.True(t, k.valid(cc, sc, a, now))
	assert.True(t, k.valid(cc, sc, a, now.Add(59*time.Minute)))
	assert.False(t, k.valid(cc, sc, a, now.Add(2*time.Hour)), "too old")
	assert.False(t, k.valid(cc, sc, netip.MustParseAddr("192.0.2.8"), now), "another client")
	assert.False(t, k.valid([]byte{9, 9, 9, 9, 9, 9, 9, 9}, sc, a, now), "another client cookie")

	// Rollover: the old secret's cookies stay good as the previous one.
	next, err := newCookieKeys("ffeeddccbbaa99887766554433221100", "000102030405060708090a0b0c0d0e0f")
	assert.NoError(t, err)
	assert.True(t, next.valid(cc, sc, a, now))
	other, _ := newCookieKeys("ffeeddccbbaa99887766554433221100", "")
	assert.False(t, other.valid(cc, sc, a, now))

	_, err = newCookieKeys("short", "")
	assert.ErrorIs(t, err, ErrConfig)
}
