package resolver_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/resolver"
)

const (
	tsigName   = "transfer.services.internal."
	tsigSecret = "c3ZjcmVnLXRlc3Qtc2VjcmV0LTMyLWJ5dGVzLWxvbmc=" // base64 of 32 bytes
)

// TestTSIG: a signed SOA query gets a signed answer; an unknown key is
// BADKEY, a wrong secret BADSIG, a stale time BADTIME (RFC 8945 section
// 5.2); with AXFRKeys a transfer must be signed, and every message of a
// signed AXFR verifies (miekg/dns's Transfer checks each).
func TestTSIG(t *testing.T) {
	reg := prometheus.NewRegistry()
	_, addr := rcStart(t, resolver.Config{
		TSIGKeys: []resolver.TSIGKey{{Name: tsigName, Algorithm: "hmac-sha256", Secret: tsigSecret}},
		AXFRKeys: []string{tsigName},
	}, rcIANA(t), reg)
	failures := func(reason string) float64 {
		v, _ := rcMetric(t, reg, "svcreg_dns_tsig_failures_total", map[string]string{"reason": reason})
		return v
	}
	signed := func(name, secret string, when time.Time) (*dns.Msg, error) {
		q := new(dns.Msg).SetQuestion(rcZ, dns.TypeSOA)
		q.SetTsig(name, dns.HmacSHA256, 300, when.Unix())
		c := &dns.Client{Net: "udp", Timeout: 2 * time.Second, TsigSecret: map[string]string{name: secret}}
		r, _, err := c.Exchange(q, addr)
		return r, err
	}

	r, err := signed(tsigName, tsigSecret, time.Now())
	require.NoError(t, err, "the answer's TSIG verifies")
	require.Len(t, r.Answer, 1)
	require.NotNil(t, r.IsTsig())
	assert.Equal(t, uint16(dns.RcodeSuccess), r.IsTsig().Error)

	// Errors: the client library reports the unsigned or failed answer.
	for _, tc := range []struct {
		name, key, secret string
		when              time.Time
		code              uint16
		reason            string
	}{
		{"unknown key", "other.key.", tsigSecret, time.Now(), dns.RcodeBadKey, "badkey"},
		{"wrong secret", tsigName, "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldC13cm9uZw==", time.Now(), dns.RcodeBadSig, "badsig"},
		{"stale time", tsigName, tsigSecret, time.Now().Add(-time.Hour), dns.RcodeBadTime, "badtime"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := new(dns.Msg).SetQuestion(rcZ, dns.TypeSOA)
			q.SetTsig(tc.key, dns.HmacSHA256, 300, tc.when.Unix())
			q.Id = dns.Id()
			b, _, err := dns.TsigGenerate(q, tc.secret, "", false)
			require.NoError(t, err)
			replies := rcRawUDP(t, addr, b, 500*time.Millisecond)
			require.Len(t, replies, 1)
			m := new(dns.Msg)
			require.NoError(t, m.Unpack(replies[0]))
			assert.Equal(t, dns.RcodeNotAuth, m.Rcode)
			require.NotNil(t, m.IsTsig())
			assert.Equal(t, tc.code, m.IsTsig().Error)
			assert.Equal(t, 1.0, failures(tc.reason))
		})
	}

	// Transfers: unsigned refused, signed streamed and verified message by
	// message.
	q := new(dns.Msg)
	q.SetAxfr(rcZ)
	env, err := (&dns.Transfer{}).In(q, addr)
	require.NoError(t, err)
	for e := range env {
		assert.Error(t, e.Error, "an unsigned transfer is refused")
	}
	assert.Equal(t, 1.0, failures("unsigned"))

	q = new(dns.Msg)
	q.SetAxfr(rcZ)
	q.SetTsig(tsigName, dns.HmacSHA256, 300, time.Now().Unix())
	tr := &dns.Transfer{TsigSecret: map[string]string{tsigName: tsigSecret}}
	env, err = tr.In(q, addr)
	require.NoError(t, err)
	n, msgs := 0, 0
	for e := range env {
		require.NoError(t, e.Error, "every message's TSIG verifies")
		n += len(e.RR)
		msgs++
	}
	assert.Greater(t, n, 40000, "the whole zone")
	assert.Greater(t, msgs, 100, "in many messages, each signed")
}

// TestTSIGNotify: with NotifyKey, NOTIFY is signed and the secondary can
// verify it.
func TestTSIGNotify(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	defer pc.Close()
	verified := make(chan error, 4)
	srv := &dns.Server{PacketConn: pc, TsigSecret: map[string]string{tsigName: tsigSecret},
		Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
			if r.IsTsig() == nil {
				verified <- assert.AnError
			} else {
				verified <- w.TsigStatus()
			}
			m := new(dns.Msg)
			m.SetReply(r)
			_ = w.WriteMsg(m)
		})}
	go func() { _ = srv.ActivateAndServe() }()
	defer func() { _ = srv.Shutdown() }()
	s, err := resolver.New(resolver.Config{Notify: []string{pc.LocalAddr().String()}, NotifyRetries: 1,
		TSIGKeys:  []resolver.TSIGKey{{Name: tsigName, Algorithm: "hmac-sha256", Secret: tsigSecret}},
		NotifyKey: tsigName}, nil, prometheus.NewRegistry())
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	require.NoError(t, s.SetSnapshot(context.Background(), rcMini(t)))
	select {
	case err := <-verified:
		assert.NoError(t, err, "a signed NOTIFY that verifies")
	case <-time.After(5 * time.Second):
		t.Fatal("no NOTIFY")
	}

	for _, bad := range []resolver.Config{
		{TSIGKeys: []resolver.TSIGKey{{Name: "k.", Algorithm: "hmac-md5", Secret: tsigSecret}}},
		{TSIGKeys: []resolver.TSIGKey{{Name: "k.", Algorithm: "hmac-sha256", Secret: "short"}}},
		{AXFRKeys: []string{"missing."}},
		{NotifyKey: "missing."},
	} {
		_, err := resolver.New(bad, nil, prometheus.NewRegistry())
		assert.ErrorIs(t, err, resolver.ErrConfig)
	}
}
