package mdns

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/miekg/dns"

	"github.com/svcreg/svcreg/internal/testutil"
)

// FuzzValidatePacket feeds arbitrary bytes through Unpack and
// ValidatePacket: nothing may panic, every finding names a catalogue rule
// with a valid severity, and every advertisement has findings consistent
// with its own Validate.
func FuzzValidatePacket(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(testutil.Testdata("mdns"), "*.bin"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint16(5353), 255)
	}
	f.Add([]byte{}, uint16(1), -1)
	v := NewValidator(testSnapshot(f), Policy{})
	f.Fuzz(func(t *testing.T, b []byte, port uint16, hop int) {
		msg := new(dns.Msg)
		if msg.Unpack(b) != nil {
			return
		}
		meta := PacketMeta{Source: netip.AddrPortFrom(netip.MustParseAddr("192.0.2.1"), port), HopLimit: hop, Size: len(b)}
		ads, pf := v.ValidatePacket(msg, meta)
		for _, fd := range pf {
			checkFinding(t, fd)
			if fd.Rule != RuleMDNSPacket {
				t.Fatalf("packet finding of rule %s", fd.Rule)
			}
		}
		for _, a := range ads {
			if a.Service == "" {
				t.Fatalf("advertisement without service label: %+v", a)
			}
			again := v.Validate(a)
			if len(again) != len(a.Findings) {
				t.Fatalf("Validate is not deterministic: %d then %d findings", len(a.Findings), len(again))
			}
			for _, fd := range a.Findings {
				checkFinding(t, fd)
			}
		}
	})
}

func checkFinding(t *testing.T, f Finding) {
	t.Helper()
	if _, ok := lookupRule(f.Rule); !ok {
		t.Fatalf("finding of unknown rule %q", f.Rule)
	}
	if _, err := f.Severity.MarshalText(); err != nil {
		t.Fatal(err)
	}
	if f.Message == "" || f.RFC == "" || !utf8.ValidString(f.Message) && f.Rule != RuleInstanceName && f.Rule != RuleTXTFormat &&
		f.Rule != RuleTXTUnknownKey && f.Rule != RuleMDNSPacket && f.Rule != RuleSubtype {
		t.Fatalf("incomplete finding %+v", f)
	}
}

// FuzzValidate runs the rules on arbitrary advertisements (instance,
// labels, TXT strings separated by NUL, subtypes by '/'): nothing panics,
// findings name catalogue rules and come in catalogue order.
func FuzzValidate(f *testing.F) {
	f.Add("Office Printer", "_ipp", "_tcp", "txtvers=1\x00rp=ipp/print", "_universal", uint16(631), true)
	f.Add("", "", "", "", "", uint16(0), false)
	f.Add("Bad\xff\x01", "_androidtvremote2", "_sctp", "=x\x00a=1\x00A=2\x00k\x01=v", "print/", uint16(1), true)
	v := NewValidator(testSnapshot(f), Policy{})
	f.Fuzz(func(t *testing.T, inst, svc, proto, txt, subs string, port uint16, hasTXT bool) {
		a := &Advertisement{Instance: inst, Service: svc, Proto: proto, Domain: "local", Port: port, HasTXT: hasTXT,
			Host: "h.local.", TTL: TTLsOf(map[uint16]uint32{dns.TypeSRV: uint32(port)})}
		if hasTXT && txt != "" {
			a.TXT = strings.Split(txt, "\x00")
		}
		if subs != "" {
			a.Subtypes = strings.Split(subs, "/")
		}
		last := ruleIndex(-1)
		for _, fd := range v.Validate(a) {
			checkFinding(t, fd)
			r, _ := lookupRule(fd.Rule)
			if r < last {
				t.Fatalf("finding %s after a later rule", fd.Rule)
			}
			last = r
		}
	})
}
