package resolver

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/miekg/dns"
)

// request is a query parsed from the wire without allocating: the header
// fields the response echoes, the question (its end offset, type, class
// and the lowercased name with its label offsets) and the EDNS OPT.
type request struct {
	id      uint16
	opcode  uint8
	rd, cd  bool
	qdEnd   int // end of the question, 12 when there is none to echo
	qtype   uint16
	qclass  uint16
	key     [255]byte // lowercased wire-form name
	keyLen  int
	labels  [128]uint8 // offsets of the labels in key
	nlabels int

	// ixfrSerial is the serial in an IXFR query's authority SOA (RFC
	// 1995 section 3), when hasIXFRSerial.
	ixfrSerial    uint32
	hasIXFRSerial bool

	edns    bool
	version uint8
	do      bool
	bufSize uint16
	nsid    bool // the OPT asked for the server's NSID (RFC 5001)
	// cookie is set when the OPT carries a COOKIE option (RFC 7873):
	// the client cookie cc and, when scLen > 0, a server cookie at scOff;
	// cookieValid once respond has checked it is one of ours.
	cookie      bool
	cc          [clientCookieLen]byte
	scOff       int
	scLen       int
	cookieValid bool
	cookieSrc   netip.Addr // the client, for the server cookie we send

	// tsig is set when the last additional record is a TSIG, which
	// starts at tsigStart (RFC 8945 section 4.1).
	tsig      bool
	tsigStart int

	// ede is the Extended DNS Error (RFC 8914) the response carries in
	// its OPT, when hasEDE (only when the query had an OPT).
	ede    uint16
	hasEDE bool
}

// Extended DNS Error info codes (RFC 8914 section 4) svcreg sends.
const (
	edeProhibited       = 18 // a transfer from a client not allowed
	edeNotAuthoritative = 20 // a name outside the zone
	edeNotSupported     = 21 // an opcode other than QUERY
	edeOther            = 0  // with EXTRA-TEXT: a rate-limited (slipped) reply
)

// setEDE marks the response with an extended error.
func (r *request) setEDE(code uint16) { r.ede, r.hasEDE = code, true }

func (r *request) name() []byte { return r.key[:r.keyLen] }

// label returns label i (0 = leftmost) without its length byte.
func (r *request) label(i int) []byte {
	o := int(r.labels[i])
	return r.key[o+1 : o+1+int(r.key[o])]
}

const (
	hdrLen    = 12
	flagQR    = 0x80 // byte 2
	flagAA    = 0x04
	flagTC    = 0x02
	flagRD    = 0x01
	flagCD    = 0x10 // byte 3
	rcodeNone = -1
)

// parse reads b into r. It returns ok=false when the packet must be
// dropped without reply (shorter than a header, or a response: answering
// responses invites loops), else the RCODE to answer with when the query
// is unusable (rcodeNone when it is fine). r.qdEnd is 12 when the
// question could not be read, so the reply carries none.
func (r *request) parse(b []byte) (rcode int, ok bool) {
	if len(b) < hdrLen || b[2]&flagQR != 0 {
		return 0, false
	}
	r.id = binary.BigEndian.Uint16(b)
	r.opcode = (b[2] >> 3) & 0x0f
	r.rd = b[2]&flagRD != 0
	r.cd = b[3]&flagCD != 0
	r.qdEnd = hdrLen
	r.keyLen, r.nlabels, r.edns, r.hasIXFRSerial, r.nsid, r.hasEDE, r.tsig = 0, 0, false, false, false, false, false
	r.cookie, r.cookieValid = false, false
	rc := r.parseBody(b)
	if r.opcode != dns.OpcodeQuery {
		// Not ours to do, however well formed: NOTIMP, with the question
		// and an OPT when they could be read (RFC 6891 section 6.1.1).
		r.setEDE(edeNotSupported)
		return dns.RcodeNotImplemented, true
	}
	return rc, true
}

// parseBody reads the question and the EDNS OPT after the header.
func (r *request) parseBody(b []byte) int {
	qd := binary.BigEndian.Uint16(b[4:])
	an := int(binary.BigEndian.Uint16(b[6:]))
	ns := int(binary.BigEndian.Uint16(b[8:]))
	ar := int(binary.BigEndian.Uint16(b[10:]))
	if qd != 1 {
		return dns.RcodeFormatError
	}
	// The question name: no compression (there is nothing before it to
	// point to), no extended label types, at most 255 bytes.
	off := hdrLen
	for {
		if off >= len(b) {
			return dns.RcodeFormatError
		}
		l := int(b[off])
		if l == 0 {
			off++
			break
		}
		if l&0xc0 != 0 || off+1+l > len(b) || r.keyLen+l+2 > 255 || r.nlabels == len(r.labels) {
			return dns.RcodeFormatError
		}
		r.labels[r.nlabels] = uint8(r.keyLen)
		r.nlabels++
		r.key[r.keyLen] = byte(l)
		for i, c := range b[off+1 : off+1+l] {
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			r.key[r.keyLen+1+i] = c
		}
		r.keyLen += l + 1
		off += l + 1
	}
	r.key[r.keyLen] = 0
	r.keyLen++
	if off+4 > len(b) {
		return dns.RcodeFormatError
	}
	r.qtype = binary.BigEndian.Uint16(b[off:])
	r.qclass = binary.BigEndian.Uint16(b[off+2:])
	off += 4
	r.qdEnd = off
	// Skip answer and authority records, then look for the OPT record
	// (RFC 6891 section 6.1.1: at most one, owner root).
	for i := 0; i < an+ns; i++ {
		var okRR bool
		var typ uint16
		var rdStart, rdEnd int
		if off, typ, rdStart, rdEnd, okRR = skipRR(b, off); !okRR {
			return dns.RcodeFormatError
		}
		if i >= an && typ == dns.TypeSOA && r.qtype == dns.TypeIXFR {
			r.ixfrSerial, r.hasIXFRSerial = soaSerial(b[:rdEnd], rdStart)
		}
	}
	for i := 0; i < ar; i++ {
		start := off
		var okRR bool
		var typ uint16
		var rdStart, rdEnd int
		if off, typ, rdStart, rdEnd, okRR = skipRR(b, off); !okRR {
			return dns.RcodeFormatError
		}
		if typ == dns.TypeTSIG {
			if i != ar-1 {
				return dns.RcodeFormatError // a TSIG must be the last record
			}
			r.tsig, r.tsigStart = true, start
			continue
		}
		if typ != dns.TypeOPT {
			continue
		}
		if r.edns || b[start] != 0 {
			return dns.RcodeFormatError
		}
		r.edns = true
		r.bufSize = binary.BigEndian.Uint16(b[start+3:])
		ttl := binary.BigEndian.Uint32(b[start+5:])
		r.version = uint8(ttl >> 16)
		r.do = ttl&0x8000 != 0
		// Options must be well formed; unknown ones are ignored
		// (RFC 6891 section 6.1.2).
		for o := rdStart; o < rdEnd; {
			if o+4 > rdEnd {
				return dns.RcodeFormatError
			}
			switch code, olen := binary.BigEndian.Uint16(b[o:]), int(binary.BigEndian.Uint16(b[o+2:])); code {
			case dns.EDNS0NSID:
				r.nsid = true
			case optCookie:
				// A client cookie alone, or with a server cookie of 8-32
				// bytes; anything else is malformed (RFC 7873 section 5.2.2).
				if olen < clientCookieLen || (olen > clientCookieLen && olen < clientCookieLen+8) || olen > clientCookieLen+32 ||
					o+4+olen > rdEnd {
					return dns.RcodeFormatError
				}
				r.cookie = true
				copy(r.cc[:], b[o+4:o+4+clientCookieLen])
				r.scOff, r.scLen = o+4+clientCookieLen, olen-clientCookieLen
			}
			o += 4 + int(binary.BigEndian.Uint16(b[o+2:]))
			if o > rdEnd {
				return dns.RcodeFormatError
			}
		}
	}
	return rcodeNone
}

// skipRR steps over one resource record starting at off, following no
// compression pointer (so pointer loops cannot matter), and returns the
// offset after it, its type and its RDATA bounds.
func skipRR(b []byte, off int) (next int, typ uint16, rdStart, rdEnd int, ok bool) {
	off, ok = skipName(b, off)
	if !ok || off+10 > len(b) {
		return 0, 0, 0, 0, false
	}
	typ = binary.BigEndian.Uint16(b[off:])
	rdl := int(binary.BigEndian.Uint16(b[off+8:]))
	rdStart = off + 10
	rdEnd = rdStart + rdl
	if rdEnd > len(b) {
		return 0, 0, 0, 0, false
	}
	return rdEnd, typ, rdStart, rdEnd, true
}

// skipName steps over the wire-format name at off, without following a
// compression pointer (which ends the name), and returns the offset after
// it; false for a truncated name, a reserved label type or more than 127
// labels.
func skipName(b []byte, off int) (int, bool) {
	for n := 0; ; n++ {
		if off >= len(b) || n > 127 {
			return 0, false
		}
		l := int(b[off])
		switch {
		case l == 0:
			return off + 1, true
		case l&0xc0 == 0xc0:
			return off + 2, true
		case l&0xc0 != 0:
			return 0, false
		}
		off += l + 1
	}
}

// soaSerial reads the serial from SOA RDATA starting at off: it steps
// over MNAME and RNAME without following compression pointers.
func soaSerial(b []byte, off int) (uint32, bool) {
	var ok bool
	for range 2 {
		if off, ok = skipName(b, off); !ok {
			return 0, false
		}
	}
	if off+4 > len(b) {
		return 0, false
	}
	return binary.BigEndian.Uint32(b[off:]), true
}

// result says what respond did, for metrics, logs and the transports.
type result struct {
	qtype uint16
	rcode int // extended RCODE (BADVERS is 16)
	axfr  bool
	drop  bool
	tc    bool
	// signed is set for a request with a valid TSIG: how to sign the
	// answer (writeAXFR signs each transfer message with it).
	signed *signedState
	// cookieValid: the query carried one of our server cookies, so its
	// source address is not spoofed (no rate limit applies).
	cookieValid bool
	// edns and do: the query had an OPT, with the DO bit; a rate-limited
	// reply carries an OPT of its own then.
	edns, do bool
	// xfr is the zone an axfr result transfers.
	xfr *table
}

// respond answers the query in b from table t, appending the response to
// out[:0]. It never panics on any input and produces at most one
// message; result.drop means send nothing, result.axfr means the
// transport must stream the zone (TCP only, client allowed). src is the
// client address (for the AXFR allow-list).
func (s *Server) respond(t *table, b, out []byte, tcp bool, src netip.Addr) ([]byte, result) {
	return s.respondSigned(t, b, out, tcp, src, "")
}

// respondSigned is respond for a request verified with TSIG key key ("":
// not signed, or not yet verified).
func (s *Server) respondSigned(t *table, b, out []byte, tcp bool, src netip.Addr, key string) ([]byte, result) {
	var r request
	rc, ok := r.parse(b)
	if !ok {
		return nil, result{drop: true}
	}
	if r.tsig && key == "" && rc == rcodeNone {
		return s.respondTSIG(t, b, out, tcp, &r, src)
	}
	res := result{qtype: r.qtype, edns: r.edns, do: r.do}
	if r.cookie {
		r.cookieSrc = src
		if r.scLen > 0 {
			r.cookieValid = s.cookies.valid(r.cc[:], b[r.scOff:r.scOff+r.scLen], src, time.Now())
		}
		res.cookieValid = r.cookieValid
		if s.cfg.RequireCookies && !tcp && !r.cookieValid && rc == rcodeNone {
			// RFC 7873 section 5.2.3: BADCOOKIE, with a fresh cookie to
			// retry with.
			res.rcode = rcodeBadCookie
			out = r.header(out, b, rcodeBadCookie&0x0f, false)
			return s.appendOPT(out, &r, rcodeBadCookie>>4), res
		}
	}
	if rc != rcodeNone {
		// NOTIMP and FORMERR carry the question and an OPT when the query's
		// could be read (RFC 6891 section 6.1.1).
		res.rcode = rc
		out = r.header(out, b, rc, false)
		if r.edns {
			out = s.appendOPT(out, &r, 0)
		}
		return out, res
	}
	if r.edns && r.version > 0 {
		// RFC 6891 section 6.1.3: BADVERS, our version (0) in the OPT.
		res.rcode = dns.RcodeBadVers
		out = r.header(out, b, 0, false)
		return s.appendOPT(out, &r, dns.RcodeBadVers>>4), res
	}
	limit := 65535
	if !tcp {
		limit = 512
		if r.edns {
			limit = int(min(max(r.bufSize, 512), s.cfg.UDPSize))
		}
	}
	if d := s.dynIdx.Load(); d != nil {
		if dt := d.find(r.key[:r.keyLen]); dt != nil {
			t = dt // a zone of SetZone holds the name
		}
	}
	if t == nil {
		res.rcode = dns.RcodeServerFailure
		return s.finish(r.header(out, b, dns.RcodeServerFailure, false), &r, limit), res
	}
	switch r.qclass {
	case dns.ClassINET:
	case dns.ClassCHAOS:
		if msg := t.chaos[string(r.name())]; msg != nil && (r.qtype == dns.TypeTXT || r.qtype == dns.TypeANY) {
			return s.finish(r.patch(out, b, msg), &r, limit), res
		}
		res.rcode = dns.RcodeRefused
		r.setEDE(edeNotAuthoritative)
		return s.finish(r.header(out, b, dns.RcodeRefused, false), &r, limit), res
	default:
		res.rcode = dns.RcodeRefused
		r.setEDE(edeNotAuthoritative)
		return s.finish(r.header(out, b, dns.RcodeRefused, false), &r, limit), res
	}
	if r.qtype == dns.TypeAXFR || r.qtype == dns.TypeIXFR {
		// RFC 5936 section 4.2: AXFR is TCP only. An IXFR gets our SOA
		// alone over UDP or when the client is up to date, else, over
		// TCP, the difference from its serial or the whole zone (RFC
		// 1995 sections 2 and 4; writeAXFR decides which).
		if string(r.name()) == t.apexKey && t.transferAllowed(src) && !s.transferNeedsKey(key) {
			if r.qtype == dns.TypeIXFR && (!tcp || r.hasIXFRSerial && !serialLess(r.ixfrSerial, t.serial)) {
				if soa := t.node([]byte(t.apexKey)).lookup(dns.TypeSOA); soa != nil {
					return s.finish(r.patch(out, b, soa), &r, limit), res
				}
			}
			if tcp {
				res.axfr, res.xfr = true, t
				return nil, res
			}
		}
		res.rcode = dns.RcodeRefused
		if string(r.name()) == t.apexKey {
			r.setEDE(edeProhibited)
			if t.transferAllowed(src) && s.transferNeedsKey(key) {
				s.metrics.tsigFailures[tsigUnsigned].Inc()
				s.logger.Warn("dns: transfer refused: not signed with one of dns.axfr_keys", "src", src, "key", key)
			}
		} else {
			r.setEDE(edeNotAuthoritative)
		}
		return s.finish(r.header(out, b, dns.RcodeRefused, false), &r, limit), res
	}
	nd := t.node(r.name())
	if nd != nil {
		var msg []byte
		if r.qtype == dns.TypeANY {
			msg = nd.any
		} else {
			msg = nd.lookup(r.qtype)
		}
		if msg != nil {
			if len(msg) > limit {
				// Will not fit: skip copying what finish would cut.
				return s.finish(r.header(out, b, dns.RcodeSuccess, true), &r, 0), res
			}
			return s.finish(r.patch(out, b, msg), &r, limit), res
		}
		if t.onMiss != nil && r.qtype == dns.TypePTR {
			t.onMiss(bytes.Clone(r.name()))
		}
		return s.finish(r.negative(out, b, t, dns.RcodeSuccess), &r, limit), res
	}
	apexLabels := 0
	if !r.inZone(t.apexKey, &apexLabels) {
		res.rcode = dns.RcodeRefused
		r.setEDE(edeNotAuthoritative)
		return s.finish(r.header(out, b, dns.RcodeRefused, false), &r, limit), res
	}
	if r.nlabels == apexLabels+2 {
		if pi := protoIndex(r.label(1)); pi >= 0 {
			if port, ok := parsePortLabel(r.label(0)); ok {
				if port < len(t.portGroup[pi]) && t.portGroup[pi][port] != 0 {
					g := t.portGroup[pi][port]
					if r.qtype != dns.TypeTXT && r.qtype != dns.TypeANY {
						return s.finish(r.negative(out, b, t, dns.RcodeSuccess), &r, limit), res
					}
					out = r.header(out, b, dns.RcodeSuccess, true)
					out[7] = 1 // ANCOUNT
					out = t.appendPortTXT(out, port, t.groups[g-1])
					return s.finish(out, &r, limit), res
				}
			}
		}
	}
	res.rcode = dns.RcodeNameError
	if t.onMiss != nil && r.qtype == dns.TypePTR {
		t.onMiss(bytes.Clone(r.name()))
	}
	return s.finish(r.negative(out, b, t, dns.RcodeNameError), &r, limit), res
}

// inZone reports whether the query name is at or below the apex, setting
// apexLabels to the apex's label count.
func (r *request) inZone(apexKey string, apexLabels *int) bool {
	n := r.keyLen - len(apexKey)
	if n < 0 || string(r.key[n:r.keyLen]) != apexKey {
		return false
	}
	for i := 0; i < r.nlabels; i++ {
		if int(r.labels[i]) == n {
			*apexLabels = r.nlabels - i
			return true
		}
	}
	*apexLabels = 0
	return n == r.keyLen-1 // the apex is the root
}

// header starts a response: the header echoing ID, opcode, RD and CD,
// then the query's question when it was read.
func (r *request) header(out, b []byte, rcode int, aa bool) []byte {
	out = append(out[:0], b[:r.qdEnd]...)
	f := byte(flagQR) | r.opcode<<3
	if aa {
		f |= flagAA
	}
	if r.rd {
		f |= flagRD
	}
	out[2] = f
	out[3] = byte(rcode & 0x0f)
	if r.cd {
		out[3] |= flagCD
	}
	qd := byte(0)
	if r.qdEnd > hdrLen {
		qd = 1
	}
	clear(out[4:12])
	out[5] = qd
	return out
}

// patch copies a pre-packed answer and makes it the answer to this
// query: its ID, RD and CD, and the question as the client wrote it
// (same length, perhaps other case: RFC 4343 section 4.1).
func (r *request) patch(out, b, msg []byte) []byte {
	out = append(out[:0], msg...)
	out[0], out[1] = b[0], b[1]
	if r.rd {
		out[2] |= flagRD
	}
	if r.cd {
		out[3] |= flagCD
	}
	copy(out[hdrLen:r.qdEnd], b[hdrLen:r.qdEnd])
	return out
}

// negative builds NXDOMAIN or NODATA: the SOA in authority (RFC 2308).
func (r *request) negative(out, b []byte, t *table, rcode int) []byte {
	out = r.header(out, b, rcode, true)
	out[9] = 1 // NSCOUNT
	return append(out, t.negSOA...)
}

// finish adds the OPT record when the query had one and truncates to
// the question with TC=1 when the response exceeds limit (RFC 2181
// section 9: no partial RRsets).
func (s *Server) finish(out []byte, r *request, limit int) []byte {
	optLen := 0
	if r.edns {
		optLen = s.optLen(r)
	}
	if len(out)+optLen > limit {
		out = out[:r.qdEnd]
		out[2] |= flagTC
		clear(out[6:12])
	}
	if r.edns {
		out = s.appendOPT(out, r, 0)
	}
	return out
}

// optLen is the size of the OPT record appendOPT writes for r.
func (s *Server) optLen(r *request) int {
	n := 11
	if r.nsid && s.cfg.NSID != "" {
		n += 4 + len(s.cfg.NSID)
	}
	if r.hasEDE {
		n += 6
	}
	if r.cookie {
		n += 4 + clientCookieLen + serverCookieLen
	}
	return n
}

// appendOPT adds our OPT record: our UDP size, the extended RCODE bits,
// version 0, the DO bit echoed (RFC 3225 section 3), our NSID when asked
// (RFC 5001) and the Extended DNS Error when there is one (RFC 8914).
func (s *Server) appendOPT(out []byte, r *request, extRcode uint8) []byte {
	ar := binary.BigEndian.Uint16(out[10:])
	binary.BigEndian.PutUint16(out[10:], ar+1)
	var flags byte
	if r.do {
		flags = 0x80
	}
	rdlen := s.optLen(r) - 11
	out = append(out, 0, 0, byte(dns.TypeOPT), byte(s.cfg.UDPSize>>8), byte(s.cfg.UDPSize), extRcode, 0, flags, 0,
		byte(rdlen>>8), byte(rdlen))
	if r.nsid && s.cfg.NSID != "" {
		out = binary.BigEndian.AppendUint16(out, dns.EDNS0NSID)
		out = binary.BigEndian.AppendUint16(out, uint16(len(s.cfg.NSID)))
		out = append(out, s.cfg.NSID...)
	}
	if r.hasEDE {
		out = binary.BigEndian.AppendUint16(out, dns.EDNS0EDE)
		out = binary.BigEndian.AppendUint16(out, 2)
		out = binary.BigEndian.AppendUint16(out, r.ede)
	}
	if r.cookie {
		out = binary.BigEndian.AppendUint16(out, optCookie)
		out = binary.BigEndian.AppendUint16(out, clientCookieLen+serverCookieLen)
		out = append(out, r.cc[:]...)
		out = s.cookies.serverCookie(out, r.cc[:], r.cookieSrc, time.Now())
	}
	return out
}
