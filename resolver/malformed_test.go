package resolver_test

import (
	"encoding/binary"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/resolver"
)

// rcHdr builds a 12-byte header: ID 0xbeef, flags, and section counts
// (NSCOUNT is always 0: no case needs an authority section).
func rcHdr(flags uint16, qd, an, ar uint16) []byte {
	b := make([]byte, 12)
	binary.BigEndian.PutUint16(b[0:], 0xbeef)
	binary.BigEndian.PutUint16(b[2:], flags)
	binary.BigEndian.PutUint16(b[4:], qd)
	binary.BigEndian.PutUint16(b[6:], an)
	binary.BigEndian.PutUint16(b[10:], ar)
	return b
}

// rcName is the wire form of a dotted name (no escapes).
func rcName(name string) []byte {
	var b []byte
	for _, l := range strings.Split(strings.TrimSuffix(name, "."), ".") {
		if l == "" {
			continue
		}
		b = append(b, byte(len(l)))
		b = append(b, l...)
	}
	return append(b, 0)
}

func rcQ(name string, qtype, qclass uint16) []byte {
	b := rcName(name)
	return binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(b, qtype), qclass)
}

// rcOPT is an OPT record: owner, UDP size, version, rdata.
func rcOPT(owner []byte, size uint16, version uint8, rdata []byte) []byte {
	b := append([]byte(nil), owner...)
	b = binary.BigEndian.AppendUint16(b, dns.TypeOPT)
	b = binary.BigEndian.AppendUint16(b, size)
	b = append(b, 0, version, 0, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(len(rdata)))
	return append(b, rdata...)
}

func rcCat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// rcMalformed is the malformed-packet corpus: each packet and the RCODE
// it must get, or -1 for silence.
func rcMalformed() []struct {
	name  string
	pkt   []byte
	rcode int
} {
	good := rcQ("_http._tcp.services.internal.", dns.TypeSRV, dns.ClassINET)
	root := []byte{0}
	long := strings.Repeat(strings.Repeat("a", 63)+".", 5)
	return []struct {
		name  string
		pkt   []byte
		rcode int
	}{
		{"empty", nil, -1},
		{"short header", []byte{0xbe, 0xef, 0, 0, 0}, -1},
		{"a response (QR set)", rcCat(rcHdr(0x8000, 1, 0, 0), good), -1},
		{"QDCOUNT 0", rcHdr(0, 0, 0, 0), dns.RcodeFormatError},
		{"QDCOUNT 2", rcCat(rcHdr(0, 2, 0, 0), good, good), dns.RcodeFormatError},
		{"QDCOUNT 65535", rcCat(rcHdr(0, 65535, 0, 0), good), dns.RcodeFormatError},
		{"question missing", rcHdr(0, 1, 0, 0), dns.RcodeFormatError},
		{"question truncated in name", rcCat(rcHdr(0, 1, 0, 0), good[:9]), dns.RcodeFormatError},
		{"question without type", rcCat(rcHdr(0, 1, 0, 0), good[:len(good)-3]), dns.RcodeFormatError},
		{"label length 64", rcCat(rcHdr(0, 1, 0, 0), []byte{64}, make([]byte, 64), []byte{0, 0, 1, 0, 1}), dns.RcodeFormatError},
		{"label past the end", rcCat(rcHdr(0, 1, 0, 0), []byte{40, 'a', 'b'}), dns.RcodeFormatError},
		{"extended label type 0x40", rcCat(rcHdr(0, 1, 0, 0), []byte{0x41, 1, 0, 0, 1, 0, 1}), dns.RcodeFormatError},
		{"pointer loop in question", rcCat(rcHdr(0, 1, 0, 0), []byte{0xc0, 12, 0, 1, 0, 1}), dns.RcodeFormatError},
		{"pointer forward in question", rcCat(rcHdr(0, 1, 0, 0), []byte{0xc0, 20, 0, 1, 0, 1, 0, 0, 1, 'a', 0}), dns.RcodeFormatError},
		{"name over 255 bytes", rcCat(rcHdr(0, 1, 0, 0), rcQ(long, dns.TypeA, dns.ClassINET)), dns.RcodeFormatError},
		{"pointer loop in additional (never followed)", rcCat(rcHdr(0, 1, 0, 1), good, []byte{0xc0, 29 + 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0}), dns.RcodeSuccess},
		{"answer section junk", rcCat(rcHdr(0, 1, 1, 0), good, []byte{1, 2, 3}), dns.RcodeFormatError},
		{"ARCOUNT 65535, no records", rcCat(rcHdr(0, 1, 0, 65535), good), dns.RcodeFormatError},
		{"trailing garbage ignored", rcCat(rcHdr(0, 1, 0, 0), good, []byte("garbage")), dns.RcodeSuccess},
		{"opcode IQUERY", rcCat(rcHdr(1<<11, 1, 0, 0), good), dns.RcodeNotImplemented},
		{"opcode STATUS", rcCat(rcHdr(2<<11, 1, 0, 0), good), dns.RcodeNotImplemented},
		{"opcode NOTIFY", rcCat(rcHdr(4<<11, 1, 0, 0), good), dns.RcodeNotImplemented},
		{"opcode UPDATE", rcCat(rcHdr(5<<11, 1, 0, 0), good), dns.RcodeNotImplemented},
		{"opcode 15", rcCat(rcHdr(15<<11, 0, 0, 0)), dns.RcodeNotImplemented},
		{"two OPT records", rcCat(rcHdr(0, 1, 0, 2), good, rcOPT(root, 1232, 0, nil), rcOPT(root, 1232, 0, nil)), dns.RcodeFormatError},
		{"OPT not at root", rcCat(rcHdr(0, 1, 0, 1), good, rcOPT(rcName("x."), 1232, 0, nil)), dns.RcodeFormatError},
		{"OPT option overruns", rcCat(rcHdr(0, 1, 0, 1), good, rcOPT(root, 1232, 0, []byte{0, 10, 0, 9, 1, 2})), dns.RcodeFormatError},
		{"OPT option header cut", rcCat(rcHdr(0, 1, 0, 1), good, rcOPT(root, 1232, 0, []byte{0, 10, 0})), dns.RcodeFormatError},
		{"OPT rdata past the end", rcCat(rcHdr(0, 1, 0, 1), good, rcOPT(root, 1232, 0, nil)[:9], []byte{0, 50}), dns.RcodeFormatError},
		{"OPT unknown options", rcCat(rcHdr(0, 1, 0, 1), good, rcOPT(root, 1232, 0, []byte{0xfd, 0xe9, 0, 2, 1, 2, 0, 3, 0, 0})), dns.RcodeSuccess},
		{"EDNS version 1", rcCat(rcHdr(0, 1, 0, 1), good, rcOPT(root, 1232, 1, nil)), dns.RcodeBadVers},
		{"EDNS size 65535", rcCat(rcHdr(0, 1, 0, 1), rcQ("_services._dns-sd._udp.services.internal.", dns.TypePTR, dns.ClassINET), rcOPT(root, 65535, 0, nil)), dns.RcodeSuccess},
		{"EDNS size 0", rcCat(rcHdr(0, 1, 0, 1), good, rcOPT(root, 0, 0, nil)), dns.RcodeSuccess},
		{"unknown class 42", rcCat(rcHdr(0, 1, 0, 0), rcQ("_http._tcp.services.internal.", dns.TypeSRV, 42)), dns.RcodeRefused},
		{"class NONE", rcCat(rcHdr(0, 1, 0, 0), rcQ("_http._tcp.services.internal.", dns.TypeSRV, dns.ClassNONE)), dns.RcodeRefused},
		{"qtype 0", rcCat(rcHdr(0, 1, 0, 0), rcQ("_http._tcp.services.internal.", 0, dns.ClassINET)), dns.RcodeSuccess},
		{"qtype OPT", rcCat(rcHdr(0, 1, 0, 0), rcQ("_http._tcp.services.internal.", dns.TypeOPT, dns.ClassINET)), dns.RcodeSuccess},
		{"binary label in zone", rcCat(rcHdr(0, 1, 0, 0), []byte{3, 0, 0xff, '.'}, rcQ("services.internal.", dns.TypeTXT, dns.ClassINET)), dns.RcodeNameError},
		{"port label 99999", rcCat(rcHdr(0, 1, 0, 0), rcQ("_99999._tcp.services.internal.", dns.TypeTXT, dns.ClassINET)), dns.RcodeNameError},
	}
}

// TestMalformedPackets sends the corpus over UDP and TCP to a running
// server: the right RCODE or silence, never more than one reply, every
// reply parses, echoes the ID and fits the size the client allows; the
// server still answers afterwards.
func TestMalformedPackets(t *testing.T) {
	// Every case at once over TCP, all from 127.0.0.1.
	_, addr := rcStart(t, resolver.Config{TCPMaxConnsPerSource: 256}, rcMini(t), nil)
	var wg sync.WaitGroup
	for _, c := range rcMalformed() {
		for _, netw := range []string{"udp", "tcp"} {
			if netw == "udp" && len(c.pkt) == 0 {
				continue // an empty datagram is fine, but covered over TCP
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				replies := rcSendRaw(t, netw, addr, c.pkt)
				if c.rcode < 0 {
					assert.Empty(t, replies, "%s/%s: silence", c.name, netw)
					return
				}
				if !assert.Len(t, replies, 1, "%s/%s: one reply", c.name, netw) {
					return
				}
				m := new(dns.Msg)
				if !assert.NoError(t, m.Unpack(replies[0]), "%s/%s: reply parses", c.name, netw) {
					return
				}
				assert.Equal(t, uint16(0xbeef), m.Id, c.name)
				assert.True(t, m.Response, c.name)
				assert.Equal(t, dns.RcodeToString[c.rcode], dns.RcodeToString[m.Rcode], "%s/%s", c.name, netw)
				if netw == "udp" {
					limit := 512
					if m.IsEdns0() != nil {
						limit = 1232
					}
					assert.LessOrEqual(t, len(replies[0]), limit, c.name)
				}
			}()
		}
	}
	wg.Wait()
	r, _, err := (&dns.Client{Net: "udp"}).Exchange(rcMsg("_http._tcp."+rcZ, dns.TypeSRV, 0), addr)
	require.NoError(t, err)
	assert.Len(t, r.Answer, 1, "still serving")
}

// rcSendRaw sends pkt once and collects the replies that arrive within
// 400 ms (UDP datagrams, or TCP length-prefixed messages until close).
func rcSendRaw(t *testing.T, netw, addr string, pkt []byte) [][]byte {
	c, err := net.Dial(netw, addr)
	if !assert.NoError(t, err) {
		return nil
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(400 * time.Millisecond))
	var out [][]byte
	if netw == "udp" {
		if _, err := c.Write(pkt); !assert.NoError(t, err) {
			return nil
		}
		buf := make([]byte, 65535)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return out
			}
			out = append(out, append([]byte(nil), buf[:n]...))
		}
	}
	if _, err := c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(pkt))), pkt...)); !assert.NoError(t, err) {
		return nil
	}
	for {
		var l [2]byte
		if _, err := io.ReadFull(c, l[:]); err != nil {
			return out
		}
		b := make([]byte, binary.BigEndian.Uint16(l[:]))
		if _, err := io.ReadFull(c, b); err != nil {
			return out
		}
		out = append(out, b)
	}
}
