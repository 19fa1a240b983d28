package registry

import (
	"context"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type rec struct {
	name  string
	proto Protocol
	port  string
}

func sortRecs(rs []rec) {
	sort.Slice(rs, func(i, j int) bool {
		a, b := rs[i], rs[j]
		if a.name != b.name {
			return a.name < b.name
		}
		if a.proto != b.proto {
			return a.proto < b.proto
		}
		return a.port < b.port
	})
}

// sharedSnapshot builds a snapshot of one official file.
func sharedSnapshot(t testing.TB, name string) *Snapshot {
	t.Helper()
	s, err := Build(sharedSource(t, name))
	require.NoError(t, err)
	return s
}

func names(recs []*Record) []string {
	out := make([]string, 0, len(recs))
	for _, r := range recs {
		out = append(out, r.Name)
	}
	sort.Strings(out)
	return out
}

func TestBuildNoSources(t *testing.T) {
	_, err := Build()
	assert.ErrorIs(t, err, ErrNoSources)
}

// TestByPortMatchesBruteForce checks the port index against a plain
// per-port list built record by record, for every port and view.
func TestByPortMatchesBruteForce(t *testing.T) {
	for _, file := range []string{ianaXML, ianaCSV} {
		t.Run(file, func(t *testing.T) {
			s := sharedSnapshot(t, file)
			recs := s.Records()
			// view 0: every record; view i: Protocols[i-1] plus protocol-less.
			want := make([][numViews][]*Record, 65536)
			for i := range recs {
				r := &recs[i]
				if !r.HasPort() {
					continue
				}
				for p := int(r.PortLow); p <= int(r.PortHigh); p++ {
					want[p][0] = append(want[p][0], r)
					for v, proto := range Protocols {
						if r.Protocol == proto || r.Protocol == ProtoNone {
							want[p][v+1] = append(want[p][v+1], r)
						}
					}
				}
			}
			for p := 0; p < 65536; p++ {
				if got := s.ByPort(p, ProtoNone); !samePtrs(got, want[p][0]) {
					t.Fatalf("ByPort(%d, any) = %v, want %v", p, names(got), names(want[p][0]))
				}
				for v, proto := range Protocols {
					if got := s.ByPort(p, proto); !samePtrs(got, want[p][v+1]) {
						t.Fatalf("ByPort(%d, %s) = %v, want %v", p, proto, names(got), names(want[p][v+1]))
					}
				}
			}
			assert.Nil(t, s.ByPort(-1, ProtoTCP))
			assert.Nil(t, s.ByPort(65536, ProtoTCP))
		})
	}
}

func samePtrs(a, b []*Record) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestLookupsOnCurrentXML(t *testing.T) {
	s := sharedSnapshot(t, ianaXML)
	key := func(recs []*Record) []rec {
		out := make([]rec, 0, len(recs))
		for _, r := range recs {
			out = append(out, rec{r.Name, r.Protocol, portColumn(r)})
		}
		sortRecs(out)
		return out
	}
	cases := []struct {
		query string
		want  []rec
	}{
		{"80/tcp", []rec{{"http", ProtoTCP, "80"}, {"www", ProtoTCP, "80"}, {"www-http", ProtoTCP, "80"}}},
		{"_80._tcp", []rec{{"http", ProtoTCP, "80"}, {"www", ProtoTCP, "80"}, {"www-http", ProtoTCP, "80"}}},
		{"_80._TCP.", []rec{{"http", ProtoTCP, "80"}, {"www", ProtoTCP, "80"}, {"www-http", ProtoTCP, "80"}}},
		{"80/sctp", []rec{{"http", ProtoSCTP, "80"}}},
		{"6010/tcp", []rec{{"x11", ProtoTCP, "6000-6063"}}},
		{"51/tcp", []rec{{"", ProtoNone, "51"}}},
		{"19200", []rec{{"", ProtoNone, "19195-19219"}}},
		{"http", []rec{{"http", ProtoTCP, "80"}, {"http", ProtoUDP, "80"}, {"http", ProtoSCTP, "80"}}},
		{"HTTP", []rec{{"http", ProtoTCP, "80"}, {"http", ProtoUDP, "80"}, {"http", ProtoSCTP, "80"}}},
		{"_http._tcp", []rec{{"http", ProtoTCP, "80"}}},
		{"_HTTP._udp.", []rec{{"http", ProtoUDP, "80"}}},
		{"whois++", []rec{{"whois++", ProtoTCP, "63"}, {"whois++", ProtoUDP, "63"}}},
		{"914c/g", []rec{{"914c/g", ProtoTCP, "211"}, {"914c/g", ProtoUDP, "211"}}},
		{"ethernet-ip-1", []rec{{"EtherNet-IP-1", ProtoTCP, "2222"}, {"EtherNet-IP-1", ProtoUDP, "2222"}}},
		{"ETHERNET/IP-1", []rec{{"EtherNet/IP-1", ProtoTCP, "2222"}, {"EtherNet/IP-1", ProtoUDP, "2222"}}},
		// A protocol-less DNS-SD name answers under _tcp and _udp.
		{"_x-on._udp", []rec{{"x-on", ProtoNone, ""}}},
		{"_x-on._tcp", []rec{{"x-on", ProtoNone, ""}}},
		{"_x-on._sctp", []rec{}},
		{"no-such-service", []rec{}},
		{"50000/udp", []rec{}},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			q, err := ParseQuery(tc.query)
			require.NoError(t, err)
			want := append([]rec{}, tc.want...)
			sortRecs(want)
			assert.Equal(t, want, key(s.Lookup(q)))
		})
	}
	// Names keep their registered case.
	for _, r := range s.ByName("ethernet-ip-1") {
		assert.Equal(t, "EtherNet-IP-1", r.Name)
	}
	assert.Equal(t, StatusAlias, s.ByType("WHOIS++", ProtoTCP)[0].Status)
	// Over-long names are refused without allocating, not truncated.
	assert.Nil(t, s.ByName(strings.Repeat("a", 129)))
	assert.Nil(t, s.ByType(strings.Repeat("a", 128), ProtoTCP))
}

func TestPortStatus(t *testing.T) {
	s := sharedSnapshot(t, ianaXML)
	cases := []struct {
		port  int
		proto Protocol
		want  Status
	}{
		{80, ProtoTCP, StatusAssigned},
		{6010, ProtoTCP, StatusAssigned},
		{51, ProtoTCP, StatusReserved},
		{51, ProtoNone, StatusReserved},
		{0, ProtoTCP, StatusReserved},
		{19200, ProtoUDP, StatusUnassigned},
		{1023, ProtoTCP, StatusReserved},
		{49151, ProtoTCP, StatusReserved},
		{49152, ProtoTCP, StatusDynamic},
		{65535, ProtoUDP, StatusDynamic},
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, s.PortStatus(tc.port, tc.proto), "%d/%s", tc.port, tc.proto)
	}
	// Every port from 49152 up is dynamic, for every protocol: the
	// registry lists nothing there.
	for p := DynamicLow; p <= 65535; p++ {
		for _, proto := range append([]Protocol{ProtoNone}, Protocols[:]...) {
			if st := s.PortStatus(p, proto); st != StatusDynamic {
				t.Fatalf("%d/%s: %s, want dynamic", p, proto, st)
			}
		}
	}
	// Below 49152 a port without any row (the registry has a few gaps,
	// such as 716/tcp beside pana 716/udp) is unassigned, never dynamic.
	gaps := 0
	for p := 0; p < DynamicLow; p++ {
		for _, proto := range []Protocol{ProtoTCP, ProtoUDP} {
			if len(s.ByPort(p, proto)) > 0 {
				continue
			}
			gaps++
			if st := s.PortStatus(p, proto); st != StatusUnassigned {
				t.Fatalf("%d/%s has no row but status %s", p, proto, st)
			}
		}
	}
	assert.Equal(t, StatusUnassigned, s.PortStatus(716, ProtoTCP))
	t.Logf("%d tcp/udp ports below %d have no row", gaps, DynamicLow)
}

func TestParseQuery(t *testing.T) {
	cases := []struct {
		in     string
		isPort bool
		port   int
		high   int // range queries: the last port
		name   string
		proto  Protocol
		sub    string
		err    bool
	}{
		{in: "_printer._sub._http._tcp", name: "http", proto: ProtoTCP, sub: "_printer"},
		{in: "_printer._sub._http._tcp.", name: "http", proto: ProtoTCP, sub: "_printer"},
		{in: "_printer._sub.http", name: "_printer._sub.http"},
		{in: "_printer._sub._80._tcp", name: "_printer._sub._80._tcp"},
		{in: "80", isPort: true, port: 80},
		{in: "80/tcp", isPort: true, port: 80, proto: ProtoTCP},
		{in: "80/UDP", isPort: true, port: 80, proto: ProtoUDP},
		{in: "_80._tcp", isPort: true, port: 80, proto: ProtoTCP},
		{in: "_80._dccp.", isPort: true, port: 80, proto: ProtoDCCP},
		{in: "0", isPort: true, port: 0},
		{in: "65535/sctp", isPort: true, port: 65535, proto: ProtoSCTP},
		{in: "65536", err: true},
		{in: "99999/tcp", err: true},
		{in: "", err: true},
		{in: "http", name: "http"},
		{in: "_http._tcp", name: "http", proto: ProtoTCP},
		{in: "_http._tcp.", name: "http", proto: ProtoTCP},
		{in: "914c/g", name: "914c/g"},
		{in: "whois++", name: "whois++"},
		{in: "sql*net", name: "sql*net"},
		{in: "iceedcp_tx", name: "iceedcp_tx"},
		{in: "80/quic", name: "80/quic"},
		{in: "123456", name: "123456"},
		{in: "_http._quic", name: "_http._quic"},
		{in: "_80", name: "_80"},
		{in: "80/", name: "80/"},
		{in: "/tcp", name: "/tcp"},
		{in: "_ipp._tcp.local.", name: "ipp", proto: ProtoTCP},
		{in: "_ipp._tcp.example.com", name: "ipp", proto: ProtoTCP},
		{in: "_printer._sub._ipp._tcp.local.", name: "ipp", proto: ProtoTCP, sub: "_printer"},
		{in: "_631._tcp.local.", isPort: true, port: 631, proto: ProtoTCP},
		{in: "_ipp", name: "ipp"},
		{in: "_IPP._TCP.local", name: "IPP", proto: ProtoTCP},
		{in: "_printer._sub._http._tcp.lan", name: "http", proto: ProtoTCP, sub: "_printer"},
		{in: "_", name: "_"},
		{in: "_a._tcpx", name: "_a._tcpx"},
		{in: "6000-6063", isPort: true, port: 6000, high: 6063},
		{in: "6000-6063/tcp", isPort: true, port: 6000, high: 6063, proto: ProtoTCP},
		{in: "5353-5353", isPort: true, port: 5353, high: 5353},
		{in: "6063-6000", err: true},
		{in: "6000-70000", err: true},
		{in: "6000-6063/quic", name: "6000-6063/quic"},
		{in: "6000-", name: "6000-"},
		{in: "-6000", name: "-6000"},
		{in: "3com-tsmux", name: "3com-tsmux"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			q, err := ParseQuery(tc.in)
			if tc.err {
				assert.ErrorIs(t, err, ErrBadQuery)
				return
			}
			require.NoError(t, err)
			if tc.isPort && tc.high == 0 {
				tc.high = tc.port
			}
			assert.Equal(t, Query{Raw: tc.in, IsPort: tc.isPort, Port: tc.port, PortHigh: tc.high, Name: tc.name,
				Protocol: tc.proto, Subtype: tc.sub}, q)
		})
	}
}

// TestStoreSwapUnderLoad runs readers on many goroutines while the store
// swaps between the 2023 and the current registry (run with -race). Every
// snapshot a reader sees must be internally consistent.
func TestStoreSwapUnderLoad(t *testing.T) {
	old, cur := sharedSnapshot(t, ianaXML2023), sharedSnapshot(t, ianaXML)
	// ollama (11434/tcp) was registered in 2025: only the current
	// snapshot has it.
	require.Empty(t, old.ByName("ollama"))
	require.NotEmpty(t, cur.ByName("ollama"))

	st := NewStore(nil)
	assert.Nil(t, st.Load())
	st.Swap(old)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	const readers, swaps = 8, 200
	var lookups atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan string, readers)
	stop := make(chan struct{})
	for range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				case <-ctx.Done():
					return
				default:
				}
				s := st.Load()
				hasOllama := len(s.ByName("ollama")) > 0
				if hasOllama != (s.Updated() == cur.Updated()) {
					errs <- "ollama/updated mismatch in one snapshot"
					return
				}
				if len(s.ByPort(80, ProtoTCP)) < 3 || len(s.ByType("http", ProtoTCP)) != 1 {
					errs <- "http lookups failed"
					return
				}
				if s.PortStatus(50000+n%1000, ProtoUDP) != StatusDynamic {
					errs <- "dynamic port not dynamic"
					return
				}
				lookups.Add(3)
			}
		}()
	}
	for i := 0; i < swaps && ctx.Err() == nil; i++ {
		next := cur
		if i%2 == 1 {
			next = old
		}
		prev := st.Swap(next)
		require.NotNil(t, prev)
		if i%20 == 0 {
			time.Sleep(time.Millisecond) // let readers run between swaps
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	require.NoError(t, ctx.Err(), "bounded run finished in time")
	t.Logf("%d lookups during %d swaps", lookups.Load(), swaps)
	assert.Positive(t, lookups.Load())
}

// TestLookupsDoNotAllocate pins the zero-allocation promise of the
// snapshot's documentation (the speed itself is measured by benchmarks).
func TestLookupsDoNotAllocate(t *testing.T) {
	s := sharedSnapshot(t, ianaXML)
	q80, _ := ParseQuery("_80._tcp")
	cases := map[string]func(){
		"ByName":     func() { _ = s.ByName("EtherNet-IP-1") },
		"ByType":     func() { _ = s.ByType("HTTP", ProtoTCP) },
		"Subtypes":   func() { _ = s.Subtypes("HTTP", ProtoTCP) },
		"ByPort":     func() { _ = s.ByPort(6010, ProtoTCP) },
		"PortStatus": func() { _ = s.PortStatus(51, ProtoUDP) },
		"Lookup":     func() { _ = s.Lookup(q80) },
	}
	for name, f := range cases {
		assert.Zero(t, testing.AllocsPerRun(100, f), name)
	}
}

// TestBuildMergesFormats builds one snapshot from the three official files:
// the newest record wins, and the CSV (no date of its own) loses to the
// current XML where they differ.
func TestBuildMergesFormats(t *testing.T) {
	s, err := Build(sharedSource(t, ianaXML2023), sharedSource(t, ianaCSV), sharedSource(t, ianaXML))
	require.NoError(t, err)
	assert.Equal(t, "2026-08-17", s.Updated())
	require.Len(t, s.Sources(), 3)
	assert.NotEmpty(t, s.Conflicts())
	// Records changed after the CSV carry the current XML's values.
	dx := s.ByType("dx-instrument", ProtoTCP)
	require.Len(t, dx, 1)
	assert.Equal(t, "2025-09-22", dx[0].Modified)
	assert.Equal(t, ianaXML, dx[0].Source)
	// Records that exist only in the older files are still there.
	assert.NotEmpty(t, s.ByName("pmcdproxy"))
	// Both DNS-SD-only "rdp" registrations survive the merge.
	assert.Equal(t, []string{"rdp", "rdp"}, names(s.ByName("rdp")))
	c, ok := s.Contact("IESG")
	assert.True(t, ok)
	assert.Equal(t, "IESG", c.ID)
}

// TestBuildSameSourceTwice: merging a source with itself changes nothing,
// even where the source holds two records with one key (rdp).
func TestBuildSameSourceTwice(t *testing.T) {
	src := sharedSource(t, ianaXML)
	s, err := Build(src, src)
	require.NoError(t, err)
	assert.Empty(t, s.Conflicts())
	assert.Equal(t, src.Records, s.Records())
}

func TestHasName(t *testing.T) {
	for _, tc := range []struct {
		list []string
		name string
		want bool
	}{
		{[]string{"_printer", "_scanner"}, "_Printer", true},
		{[]string{"http", "www"}, "WWW", true},
		{[]string{"http"}, "https", false},
		{nil, "http", false},
		{[]string{""}, "", true},
	} {
		assert.Equal(t, tc.want, HasName(tc.list, tc.name), "%q in %q", tc.name, tc.list)
	}
}

// TestSubtypes: a type's known subtypes include those of its aliases and
// duplicates, and a subtype query finds the type only for a known subtype.
func TestSubtypes(t *testing.T) {
	src := &Source{Name: "t", Records: []Record{
		{Name: "http", Protocol: ProtoTCP, PortLow: 80, PortHigh: 80, Status: StatusAssigned},
		{Name: "www-http", Protocol: ProtoTCP, PortLow: 80, PortHigh: 80, Status: StatusDuplicate, AliasOf: "http", Subtypes: []string{"_printer"}},
		{Name: "ipp", Protocol: ProtoTCP, PortLow: 631, PortHigh: 631, Status: StatusAssigned, Subtypes: []string{"_universal", "_cups"}},
	}}
	snap, err := Build(src)
	require.NoError(t, err)
	assert.Equal(t, []string{"_printer"}, snap.Subtypes("HTTP", ProtoTCP), "the duplicate's subtypes are the primary's")
	assert.Equal(t, []string{"_printer"}, snap.Subtypes("www-http", ProtoTCP))
	assert.Equal(t, []string{"_universal", "_cups"}, snap.Subtypes("ipp", ProtoTCP))
	assert.Empty(t, snap.Subtypes("http", ProtoUDP))
	for q, want := range map[string]string{
		"_printer._sub._http._tcp": "http",
		"_PRINTER._sub._http._tcp": "http",
		"_scanner._sub._http._tcp": "",
		"_cups._sub._ipp._tcp":     "ipp",
		"_printer._sub._http._udp": "",
	} {
		pq, err := ParseQuery(q)
		require.NoError(t, err, q)
		var names []string
		for _, r := range snap.Lookup(pq) {
			names = append(names, r.Name)
		}
		if want == "" {
			assert.Empty(t, names, q)
		} else {
			assert.Equal(t, []string{want}, names, q)
		}
	}
}
