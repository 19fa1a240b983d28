package mdns

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ptrAd is an advertisement as a packet carrying its PTR (TTL ttl) gives it.
func ptrAd(instance string, ttl uint32) *Advertisement {
	return &Advertisement{Instance: instance, Service: "_ipp", Proto: "_tcp", Domain: "local",
		TTL: TTLsOf(map[uint16]uint32{dns.TypePTR: ttl})}
}

func TestStoreKnownAnswers(t *testing.T) {
	s := NewStore(StoreConfig{})
	t0 := time.Now()
	require.True(t, s.Merge(ptrAd("Old Printer", 4500), t0.Add(-3000*time.Second))) // 1500 s left: under half
	require.True(t, s.Merge(ptrAd("Office Printer", 4500), t0.Add(-100*time.Second)))
	require.True(t, s.Merge(ptrAd("Dot.Name", 120), t0))
	other := ptrAd("Web", 4500)
	other.Service = "_http"
	require.True(t, s.Merge(other, t0))

	got := s.KnownAnswers("_IPP._tcp.local.", t0)
	var owners []string
	for _, rr := range got {
		p := rr.(*dns.PTR)
		assert.Equal(t, "_ipp._tcp.local.", p.Hdr.Name)
		assert.Equal(t, dns.TypePTR, p.Hdr.Rrtype)
		owners = append(owners, p.Ptr+" "+strconv.Itoa(int(p.Hdr.Ttl)))
	}
	assert.ElementsMatch(t, []string{`Office\ Printer._ipp._tcp.local. 4400`, `Dot\.Name._ipp._tcp.local. 120`}, owners)
	assert.Empty(t, s.KnownAnswers("_scanner._tcp.local.", t0))
}

// capture records the queries a Querier sends.
type capture struct {
	mu   sync.Mutex
	msgs []*dns.Msg
	err  error
}

func (c *capture) send(_ context.Context, pkt []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	m := new(dns.Msg)
	if err := m.Unpack(pkt); err != nil {
		return err
	}
	c.msgs = append(c.msgs, m)
	return nil
}

func TestQuerierKnownAnswers(t *testing.T) {
	s := NewStore(StoreConfig{})
	now := time.Now()
	require.True(t, s.Merge(ptrAd("Office Printer", 4500), now))
	var c capture
	q := &Querier{Send: c.send, Known: s.KnownAnswers, Now: func() time.Time { return now }}
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	require.NoError(t, q.Browse(ctx, "_ipp._tcp", "local", func(string) {}))
	require.Len(t, c.msgs, 2, "queries at 0 and 1 s")
	for _, m := range c.msgs {
		assert.False(t, m.Response)
		assert.Zero(t, m.Id, "RFC 6762 section 18.1")
		require.Len(t, m.Question, 1)
		assert.Equal(t, dns.Question{Name: "_ipp._tcp.local.", Qtype: dns.TypePTR, Qclass: dns.ClassINET}, m.Question[0])
		require.Len(t, m.Answer, 1)
		assert.Equal(t, `Office\ Printer._ipp._tcp.local.`, m.Answer[0].(*dns.PTR).Ptr)
		assert.Equal(t, uint32(4500), m.Answer[0].Header().Ttl)
	}

	// Too many known answers for one packet: the query stays within
	// maxQuery, with as many as fit.
	for i := range 200 {
		require.True(t, s.Merge(ptrAd("Printer number "+strconv.Itoa(i), 4500), now))
	}
	pkt, n, err := q.query("_ipp._tcp.local.")
	require.NoError(t, err)
	assert.LessOrEqual(t, len(pkt), maxQuery)
	assert.Greater(t, n, 20)
	assert.Less(t, n, 201)
}

func TestQuerierEnumeration(t *testing.T) {
	var c capture
	var mu sync.Mutex
	types := []string{"_ipp._tcp"}
	q := &Querier{Send: c.send, Types: func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), types...)
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 900*time.Millisecond)
	defer cancel()
	go func() {
		time.Sleep(400 * time.Millisecond)
		mu.Lock()
		types = append(types, "_hap._tcp")
		mu.Unlock()
	}()
	var found []string
	require.NoError(t, q.Browse(ctx, EnumerationType, "local", func(s string) { found = append(found, s) }))
	assert.Equal(t, []string{"_ipp._tcp", "_hap._tcp"}, found, "each type once, as it is learnt")
	require.NotEmpty(t, c.msgs)
	assert.Equal(t, EnumerationType+".local.", c.msgs[0].Question[0].Name)
	assert.Empty(t, c.msgs[0].Answer)

	// A query that cannot go out is an error of the Browse.
	c.err = errors.New("no route")
	ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := q.Browse(ctx, "_ipp._tcp", "local", func(string) {})
	assert.ErrorContains(t, err, "querying _ipp._tcp.local.: no route")
}
