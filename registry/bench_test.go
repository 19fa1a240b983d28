package registry

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// benchSnapshot is the current XML, parsed and built, for the lookup
// benchmarks.
func benchSnapshot(b *testing.B) *Snapshot {
	b.Helper()
	s, err := Build(sharedSource(b, ianaXML))
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkParseXML parses and indexes the full current XML (target:
// under 150 ms and 40 MB of heap). Besides B/op (everything allocated on
// the way) it reports retained-MB: the live heap the finished snapshot
// keeps, measured after a GC with the snapshot still referenced.
func BenchmarkParseXML(b *testing.B) {
	data := sharedBytes(b, ianaXML)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var snap *Snapshot
	cpu0 := cpuTime()
	for b.Loop() {
		src, err := Parse(bytes.NewReader(data), ianaXML, "")
		if err != nil {
			b.Fatal(err)
		}
		if snap, err = Build(src); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	// CPU time (all threads, GC included) per parse: unlike ns/op it does
	// not grow when other processes compete for the cores.
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N)/1e6, "cpu-ms/op")
	peak, kept := heapUse(func() any {
		src, _ := Parse(bytes.NewReader(data), ianaXML, "")
		s, _ := Build(src)
		return s
	})
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(kept)/(1<<20), "retained-MB")
	runtime.KeepAlive(snap)
}

// BenchmarkXMLDecoderFloor only walks the current XML's tokens with
// encoding/xml (RawToken, nothing kept): the floor under ParseXML on this
// machine at this moment, to read BenchmarkParseXML's figures against on a
// shared, loaded host.
func BenchmarkXMLDecoderFloor(b *testing.B) {
	data := sharedBytes(b, ianaXML)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		d := xml.NewDecoder(bytes.NewReader(data))
		for {
			if _, err := d.RawToken(); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N)/1e6, "cpu-ms/op")
}

// BenchmarkParseCSV parses and indexes the CSV.
func BenchmarkParseCSV(b *testing.B) {
	data := sharedBytes(b, ianaCSV)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		src, err := Parse(bytes.NewReader(data), ianaCSV, "")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Build(src); err != nil {
			b.Fatal(err)
		}
	}
}

// heapUse runs build once and measures the heap it needs: peak is the
// highest heap-object total seen while it runs (live objects plus garbage
// not yet swept, sampled every 50µs via runtime/metrics, which does not
// stop the world), kept is what its result retains after a GC; both
// relative to the heap after a GC before the run.
func heapUse(build func() any) (peak, kept uint64) {
	const metric = "/memory/classes/heap/objects:bytes"
	sample := []metrics.Sample{{Name: metric}}
	read := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	runtime.GC()
	base := read()
	var stop atomic.Bool
	done := make(chan uint64)
	go func() {
		s := []metrics.Sample{{Name: metric}}
		var peak uint64
		for !stop.Load() {
			metrics.Read(s)
			peak = maxU(peak, s[0].Value.Uint64())
			time.Sleep(50 * time.Microsecond)
		}
		done <- peak
	}()
	v := build()
	stop.Store(true)
	peak = <-done
	runtime.GC()
	after := read()
	runtime.KeepAlive(v)
	return sub(peak, base), sub(after, base)
}

func maxU(a, b uint64) uint64 { return max(a, b) }

// cpuTime is the process's user+system CPU time (Linux getrusage).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func sub(a, b uint64) uint64 {
	if a < b {
		return 0
	}
	return a - b
}

var sink []*Record

func BenchmarkLookupName(b *testing.B) {
	s := benchSnapshot(b)
	names := []string{"http", "EtherNet-IP-1", "WHOIS++", "x-on", "914c/g", "no-such-name"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		sink = s.ByName(names[i%len(names)])
		i++
	}
}

func BenchmarkLookupType(b *testing.B) {
	s := benchSnapshot(b)
	types := []struct {
		name  string
		proto Protocol
	}{{"http", ProtoTCP}, {"ipp", ProtoTCP}, {"x-on", ProtoUDP}, {"Matter", ProtoUDP}, {"nope", ProtoTCP}}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		q := types[i%len(types)]
		sink = s.ByType(q.name, q.proto)
		i++
	}
}

func BenchmarkLookupPort(b *testing.B) {
	s := benchSnapshot(b)
	ports := []struct {
		port  int
		proto Protocol
	}{{80, ProtoTCP}, {6010, ProtoTCP}, {51, ProtoUDP}, {53, ProtoNone}, {50000, ProtoTCP}, {19200, ProtoSCTP}}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		q := ports[i%len(ports)]
		sink = s.ByPort(q.port, q.proto)
		i++
	}
}

// BenchmarkLookupQuery is the CLI path: classify the query, then look up.
func BenchmarkLookupQuery(b *testing.B) {
	s := benchSnapshot(b)
	queries := []string{"http", "_http._tcp", "80/tcp", "_80._tcp", "6010", "whois++"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		q, err := ParseQuery(queries[i%len(queries)])
		if err != nil {
			b.Fatal(err)
		}
		sink = s.Lookup(q)
		i++
	}
}
