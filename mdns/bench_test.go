package mdns

import (
	"bytes"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/svcreg/svcreg/internal/testutil"
	"github.com/svcreg/svcreg/registry"
)

// benchSnapshot is the full IANA registry plus the built-in table, as
// svcreg serve loads it.
func benchSnapshot(b testing.TB) *registry.Snapshot {
	b.Helper()
	snap, err := registry.Build(ianaSource(b), registry.Builtin())
	if err != nil {
		b.Fatal(err)
	}
	return snap
}

// BenchmarkValidate measures the rules alone on a compliant
// advertisement (6 TXT keys): no findings, so no allocation.
func BenchmarkValidate(b *testing.B) {
	v := NewValidator(benchSnapshot(b), Policy{})
	a := goodAd()
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		if fs := v.Validate(a); len(fs) != 0 {
			b.Fatal(fs)
		}
	}
}

// BenchmarkValidateFindings is an advertisement that breaks several
// rules (so the findings and their messages are built): port, a repeated
// key, a key-less string, the SRV TTL.
func BenchmarkValidateFindings(b *testing.B) {
	v := NewValidator(benchSnapshot(b), Policy{})
	a := goodAd()
	a.Port = 8631
	a.TXT = append(a.TXT, "RP=x", "=bad")
	a.TTL.Set(dns.TypeSRV, 4500)
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		if fs := v.Validate(a); len(fs) != 4 {
			b.Fatal(len(fs), fs)
		}
	}
}

// BenchmarkValidatePacket is the hot path of the listener: a typical
// announcement (PTR, SRV, TXT with 6 keys, A), already unpacked, to
// validated advertisements.
func BenchmarkValidatePacket(b *testing.B) {
	v := NewValidator(benchSnapshot(b), Policy{})
	msg := announcement(b)
	meta := PacketMeta{Source: netip.MustParseAddrPort("192.0.2.10:5353"), HopLimit: 255, Size: 282, Received: time.Now()}
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		ads, pf := v.ValidatePacket(msg, meta)
		if len(ads) != 1 || len(ads[0].Findings) != 0 || len(pf) != 0 {
			b.Fatal(ads, pf)
		}
	}
}

// BenchmarkUnpackValidatePacket adds miekg/dns's Unpack of the wire bytes
// for scale: what one received packet costs end to end.
func BenchmarkUnpackValidatePacket(b *testing.B) {
	v := NewValidator(benchSnapshot(b), Policy{})
	wire, err := announcement(b).Pack()
	if err != nil {
		b.Fatal(err)
	}
	meta := PacketMeta{Source: netip.MustParseAddrPort("192.0.2.10:5353"), HopLimit: 255, Size: len(wire), Received: time.Now()}
	b.ReportAllocs()
	b.SetBytes(int64(len(wire)))
	defer reportCPU(b)()
	for b.Loop() {
		msg := new(dns.Msg)
		if err := msg.Unpack(wire); err != nil {
			b.Fatal(err)
		}
		if ads, _ := v.ValidatePacket(msg, meta); len(ads) != 1 {
			b.Fatal(ads)
		}
	}
}

// reportCPU adds the process's CPU time per operation (cpu-ns/op), which a
// machine shared with other jobs inflates less than wall time; call the
// returned function after the loop.
func reportCPU(b *testing.B) func() {
	cpu0 := cpuTime()
	return func() {
		b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
	}
}

// cpuTime is the process's user+system CPU time (Linux getrusage).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkParseAvahi parses a two-service Avahi file (the printer
// fixture): the cost of linting one file, not a hot path.
func BenchmarkParseAvahi(b *testing.B) {
	data, err := os.ReadFile(testutil.Testdata("mdns", "avahi", "good", "printer.service"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		ads, err := ParseAvahi(bytes.NewReader(data), "printer.service", "h")
		if err != nil || len(ads) != 2 {
			b.Fatal(ads, err)
		}
	}
}
