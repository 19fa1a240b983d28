package resolver

// TSIG (RFC 8945): signed queries take a slower path through miekg/dns,
// outside the pre-packed fast path; they are transfers, the SOA queries
// secondaries send and NOTIFY, never the bulk of the traffic.

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// TSIGKey is a shared secret (RFC 8945): Name as BIND and Knot write it
// (lowercased, absolute), Algorithm hmac-sha256, hmac-sha384 or
// hmac-sha512, Secret base64.
type TSIGKey struct {
	Name, Algorithm, Secret string
}

// TSIG algorithms accepted (RFC 8945 section 6: SHA-256 is mandatory).
var tsigAlgorithms = map[string]string{
	"hmac-sha256": dns.HmacSHA256, "hmac-sha384": dns.HmacSHA384, "hmac-sha512": dns.HmacSHA512,
}

// tsigFudge is the clock skew allowed (RFC 8945 section 10: 300 s).
const tsigFudge = 300

// TSIG failure reasons, the label set of svcreg_dns_tsig_failures_total.
var tsigFailureLabels = [...]string{"badkey", "badsig", "badtime", "unsigned", "malformed"}

const (
	tsigBadKey = iota
	tsigBadSig
	tsigBadTime
	tsigUnsigned // a transfer without one of Config.AXFRKeys
	tsigMalformed
)

// checkTSIGKeys validates the keys and resolves their names and
// algorithms to the forms miekg/dns compares.
func checkTSIGKeys(keys []TSIGKey) (map[string]TSIGKey, error) {
	out := make(map[string]TSIGKey, len(keys))
	for _, k := range keys {
		name := strings.ToLower(dns.Fqdn(k.Name))
		if _, ok := dns.IsDomainName(name); !ok || name == "." {
			return nil, fmt.Errorf("%w: TSIG key name %q", ErrConfig, k.Name)
		}
		alg, ok := tsigAlgorithms[strings.ToLower(strings.TrimSuffix(k.Algorithm, "."))]
		if !ok {
			return nil, fmt.Errorf("%w: TSIG key %s: algorithm %q (want hmac-sha256, hmac-sha384 or hmac-sha512)", ErrConfig, name, k.Algorithm)
		}
		raw, err := base64.StdEncoding.DecodeString(k.Secret)
		if err != nil || len(raw) < 16 {
			return nil, fmt.Errorf("%w: TSIG key %s: the secret must be base64 of at least 16 bytes", ErrConfig, name)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("%w: TSIG key %s given twice", ErrConfig, name)
		}
		out[name] = TSIGKey{Name: name, Algorithm: alg, Secret: k.Secret}
	}
	return out, nil
}

// signedState is what a verified request leaves for signing its answer.
type signedState struct {
	key        TSIGKey
	requestMAC string
	origID     uint16
}

// respondTSIG answers a query that carries a TSIG record (r.tsig): the
// key must be known and the MAC and time valid, or the answer is the TSIG
// error of RFC 8945 section 5.2 (NOTAUTH with BADKEY or BADSIG, unsigned;
// BADTIME, signed). A valid request is answered as usual and signed; a
// transfer is flagged for writeAXFR to sign every message.
func (s *Server) respondTSIG(t *table, b, out []byte, tcp bool, r *request, src netip.Addr) ([]byte, result) {
	res := result{qtype: r.qtype}
	m := new(dns.Msg)
	if err := m.Unpack(b); err != nil || m.IsTsig() == nil {
		s.metrics.tsigFailures[tsigMalformed].Inc()
		res.rcode = dns.RcodeFormatError
		return r.header(out, b, dns.RcodeFormatError, false), res
	}
	ts := m.IsTsig()
	key, ok := s.tsigKeys[strings.ToLower(ts.Hdr.Name)]
	if !ok || !strings.EqualFold(key.Algorithm, ts.Algorithm) {
		return s.tsigError(m, ts, dns.RcodeBadKey, tsigBadKey, src, res)
	}
	// TsigVerify edits the buffer it is given (the ARCOUNT of its
	// stripped view): it gets a copy.
	err := dns.TsigVerify(append([]byte(nil), b...), key.Secret, "", false)
	switch {
	case errors.Is(err, dns.ErrTime):
		return s.tsigError(m, ts, dns.RcodeBadTime, tsigBadTime, src, res)
	case err != nil:
		return s.tsigError(m, ts, dns.RcodeBadSig, tsigBadSig, src, res)
	}
	// The request without its TSIG, answered by the usual path.
	stripped := append([]byte(nil), b[:r.tsigStart]...)
	ar := int(stripped[10])<<8 | int(stripped[11])
	stripped[10], stripped[11] = byte((ar-1)>>8), byte(ar-1)
	st := &signedState{key: key, requestMAC: ts.MAC, origID: ts.OrigId}
	resp, inner := s.respondSigned(t, stripped, out, tcp, src, key.Name)
	inner.signed = st
	if inner.axfr || inner.drop || resp == nil {
		return nil, inner
	}
	signed, err := s.sign(resp, st, false)
	if err != nil {
		s.logger.Warn("dns: signing a TSIG answer failed", "key", key.Name, "error", err)
		inner.rcode = dns.RcodeServerFailure
		return r.header(out, b, dns.RcodeServerFailure, false), inner
	}
	return signed, inner
}

// tsigError answers with a TSIG error and counts it.
func (s *Server) tsigError(m *dns.Msg, ts *dns.TSIG, code uint16, reason int, src netip.Addr, res result) ([]byte, result) {
	s.metrics.tsigFailures[reason].Inc()
	s.logger.Warn("dns: TSIG check failed", "reason", tsigFailureLabels[reason], "key", ts.Hdr.Name, "src", src.String())
	reply := new(dns.Msg)
	reply.SetReply(m)
	reply.Authoritative = false
	reply.Rcode = dns.RcodeNotAuth
	res.rcode = dns.RcodeNotAuth
	now := uint64(time.Now().Unix())
	rr := &dns.TSIG{Hdr: dns.RR_Header{Name: ts.Hdr.Name, Rrtype: dns.TypeTSIG, Class: dns.ClassANY},
		Algorithm: ts.Algorithm, TimeSigned: now, Fudge: tsigFudge, OrigId: ts.OrigId, Error: code}
	if code == dns.RcodeBadTime {
		// BADTIME is signed (with the key, which is known and valid) and
		// says our time (RFC 8945 section 5.2.3).
		rr.OtherLen = 6
		rr.OtherData = fmt.Sprintf("%012x", now)
		reply.Extra = append(reply.Extra, rr)
		key := s.tsigKeys[strings.ToLower(ts.Hdr.Name)]
		out, _, err := dns.TsigGenerate(reply, key.Secret, ts.MAC, false)
		if err == nil {
			return out, res
		}
	}
	reply.Extra = append(reply.Extra, rr)
	out, err := reply.Pack() // BADKEY and BADSIG go unsigned
	if err != nil {
		return nil, result{drop: true}
	}
	return out, res
}

// sign adds a TSIG to a packed answer: the first message of an answer
// with the request's MAC, the next messages of a transfer with the
// previous one's and timers only (RFC 8945 section 5.3.1). It updates
// st.requestMAC for the next message.
func (s *Server) sign(msg []byte, st *signedState, timersOnly bool) ([]byte, error) {
	m := new(dns.Msg)
	if err := m.Unpack(msg); err != nil {
		return nil, err
	}
	m.Compress = true
	m.Extra = append(m.Extra, &dns.TSIG{Hdr: dns.RR_Header{Name: st.key.Name, Rrtype: dns.TypeTSIG, Class: dns.ClassANY},
		Algorithm: st.key.Algorithm, TimeSigned: uint64(time.Now().Unix()), Fudge: tsigFudge, OrigId: st.origID})
	out, mac, err := dns.TsigGenerate(m, st.key.Secret, st.requestMAC, timersOnly)
	if err != nil {
		return nil, err
	}
	st.requestMAC = mac
	return out, nil
}
