package resolver

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/internal/testutil"
	"github.com/svcreg/svcreg/registry"
)

// deltaSources are the registry files the difference tests start from:
// the seed excerpts (aliases such as whois++, ranges, protocol-less
// DNS-SD rows, subtypes, TXT keys) and the small CSV.
func deltaSources(t testing.TB) []*registry.Source {
	t.Helper()
	files, err := filepath.Glob("../testdata/seeds/*.txt")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	var out []*registry.Source
	for _, f := range append(files, "testdata/mini.csv") {
		src, err := registry.LoadFile(context.Background(), f, "")
		require.NoError(t, err)
		out = append(out, src)
	}
	return out
}

// mutate makes one random change to the records of srcs: the kinds of
// change a registry update brings (a description, a port, a status, a
// new or withdrawn registration, an alias, TXT keys, subtypes, a date),
// and now and then two records swapping places, which the difference
// cannot follow.
func mutate(rng *rand.Rand, srcs []*registry.Source, step int) string {
	src := srcs[rng.IntN(len(srcs))]
	recs := src.Records
	if len(recs) == 0 {
		return "empty"
	}
	i := rng.IntN(len(recs))
	r := &recs[i]
	names := []string{"http", "ipp", "whois++", "sql*net", "x-new", "printer", "domain", "kerberos"}
	switch rng.IntN(12) {
	case 0:
		r.Description = fmt.Sprintf("changed at step %d", step)
		return "description of " + r.Name
	case 1:
		if r.HasPort() && !r.IsRange() {
			p := int32(rng.IntN(120) + 1)
			r.PortLow, r.PortHigh = p, p
			return fmt.Sprintf("port of %s to %d", r.Name, p)
		}
		r.PortLow, r.PortHigh = -1, -1
		return "no port for " + r.Name
	case 2:
		src.Records = slices.Delete(recs, i, i+1)
		return "withdrawn " + r.Name
	case 3, 4:
		n := registry.Record{Name: names[rng.IntN(len(names))], Status: registry.StatusAssigned,
			Description: fmt.Sprintf("added at step %d", step), PortLow: -1, PortHigh: -1}
		switch rng.IntN(4) {
		case 0:
			n.Protocol = registry.ProtoTCP
			n.PortLow = int32(rng.IntN(120) + 1)
			n.PortHigh = n.PortLow
		case 1:
			n.Protocol = registry.ProtoUDP
			n.PortLow = int32(rng.IntN(200) + 40000)
			n.PortHigh = n.PortLow + int32(rng.IntN(3))
		case 2:
			n.Name = ""
			n.Protocol = registry.ProtoSCTP
			n.Status = registry.StatusReserved
			n.PortLow = int32(rng.IntN(120) + 1)
			n.PortHigh = n.PortLow
		case 3:
			n.TXTKeys = registry.TXTKeys{Kind: registry.TXTDefined, Keys: []registry.TXTKey{{Name: "txtvers"}}}
			n.Subtypes = []string{"_sub" + fmt.Sprint(step%3)}
		}
		if n.Name == "whois++" || n.Name == "sql*net" {
			n.AliasOf, n.Status = names[rng.IntN(2)], registry.StatusAlias
		}
		src.Records = slices.Insert(recs, i, n)
		return "added " + n.Name
	case 5:
		r.Status = []registry.Status{registry.StatusAssigned, registry.StatusReserved, registry.StatusDuplicate,
			registry.StatusAlias}[rng.IntN(4)]
		return "status of " + r.Name
	case 6:
		r.AliasOf = names[rng.IntN(len(names))]
		return "alias of " + r.Name
	case 7:
		r.TXTKeys = registry.TXTKeys{Kind: registry.TXTNone}
		r.Subtypes = append(slices.Clip(r.Subtypes), fmt.Sprintf("_s%d", step))
		return "keys and subtypes of " + r.Name
	case 8:
		r.Modified = fmt.Sprintf("2025-%02d-%02d", rng.IntN(12)+1, rng.IntN(28)+1)
		return "date of " + r.Name
	case 9:
		r.Protocol = []registry.Protocol{registry.ProtoTCP, registry.ProtoUDP, registry.ProtoNone, registry.ProtoDCCP}[rng.IntN(4)]
		return "protocol of " + r.Name
	case 10:
		r.Line += 7 // where it came from: no change to the zone
		r.Notes = fmt.Sprintf("note %d", step)
		return "line of " + r.Name
	default:
		if i+1 < len(recs) {
			recs[i], recs[i+1] = recs[i+1], recs[i]
		}
		return "swapped " + r.Name
	}
}

// TestReloadAsDifference: after every one of a random sequence of
// registry changes, a server that applies each reload as a difference
// serves what a server that loaded the last registry alone serves: the
// same zone content (records in order, digest, record count), every
// stored answer byte for byte (the apex, whose SOA holds each server's
// own serial, aside), the same synthesised port answers; and IXFR from
// every serial in its journal leads to the zone served.
func TestReloadAsDifference(t *testing.T) {
	ctx := context.Background()
	// Each seed under other zone settings: the enumeration listing every
	// type and cut short, name servers in the zone with their own
	// addresses.
	configs := []Config{
		{},
		{Enumerate: EnumerateAll, EnumerateMaxRecords: 7},
		{NS: []string{"ns1.services.internal.", "ns2.services.internal."},
			NSAddresses: map[string][]netip.Addr{"ns2.services.internal.": {netip.MustParseAddr("2001:db8::2")}},
			Addresses:   []netip.Addr{netip.MustParseAddr("192.0.2.1")}},
	}
	for seed := range uint64(len(configs)) {
		cfg := configs[seed]
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 11))
			srcs := deltaSources(t)
			build := func() *registry.Snapshot {
				cp := make([]*registry.Source, len(srcs))
				for i, s := range srcs {
					c := *s
					c.Records = slices.Clone(s.Records)
					for j := range c.Records {
						r := &c.Records[j]
						r.Subtypes, r.References = slices.Clone(r.Subtypes), slices.Clone(r.References)
					}
					cp[i] = &c
				}
				snap, err := registry.Build(cp...)
				require.NoError(t, err)
				return snap
			}
			live, err := New(cfg, nil, prometheus.NewRegistry())
			require.NoError(t, err)
			require.NoError(t, live.SetSnapshot(ctx, build()))
			history := map[uint32][]string{live.Serial(): slices.Clone(live.zoneWireNow())}
			deltas, steps := 0, 60
			for step := range steps {
				var what []string
				for range 1 + rng.IntN(3) {
					what = append(what, mutate(rng, srcs, step))
				}
				snap := build()
				d, err := live.delta(ctx, snap)
				require.NoError(t, err)
				if d != nil {
					deltas++
				}
				require.NoError(t, live.SetSnapshot(ctx, snap), "step %d: %v", step, what)
				fresh, err := New(cfg, nil, prometheus.NewRegistry())
				require.NoError(t, err)
				require.NoError(t, fresh.SetSnapshot(ctx, snap))
				msg := fmt.Sprintf("step %d (difference: %v): %v", step, d != nil, what)
				requireSameZone(t, fresh, live, msg)
				history[live.Serial()] = slices.Clone(live.zoneWireNow())
				lt := live.tab.Load()
				for from, wire := range history {
					if from == lt.serial {
						continue
					}
					_, removed, added, ok := lt.journal.since(from)
					if !ok {
						continue
					}
					got := applyIXFR(wire, removed, added)
					require.Equal(t, sortedCopy(live.zoneWireNow()), got, "%s: IXFR from %d", msg, from)
				}
			}
			require.GreaterOrEqual(t, deltas, steps/2, "reloads applied as a difference")
		})
	}
}

// requireSameZone checks that live serves what fresh does (see
// TestReloadAsDifference).
func requireSameZone(t *testing.T, fresh, live *Server, msg string) {
	t.Helper()
	lt, ft := live.tab.Load(), fresh.tab.Load()
	require.Equal(t, fresh.zoneWireNow(), live.zoneWireNow(), "%s: zone records", msg)
	require.Equal(t, fresh.hash, live.hash, "%s: digest", msg)
	require.Equal(t, ft.records, lt.records, "%s: record count", msg)
	require.Equal(t, len(ft.names), len(lt.names), "%s: names", msg)
	for key, fn := range ft.names {
		ln := lt.names[key]
		require.NotNil(t, ln, "%s: %q", msg, key)
		if key == lt.apexKey {
			continue
		}
		require.Equal(t, fn.answers, ln.answers, "%s: %q", msg, key)
		require.Equal(t, fn.any, ln.any, "%s: %q", msg, key)
	}
	for pidx := range protocols {
		for port := range 65536 {
			fg, lg := ft.portGroup[pidx][port], lt.portGroup[pidx][port]
			if (fg == 0) != (lg == 0) || fg != 0 && string(ft.groups[fg-1]) != string(lt.groups[lg-1]) {
				t.Fatalf("%s: port %d/%s: synthesised group %d (%q) against %d", msg, port, protocols[pidx], lg, lt.groups, fg)
			}
		}
	}
	fm, _, err := fresh.regAXFR()
	require.NoError(t, err)
	lm, _, err := live.regAXFR()
	require.NoError(t, err)
	require.Equal(t, len(fm), len(lm), "%s: AXFR messages", msg)
}

// applyIXFR applies a condensed difference to a zone's records and
// returns them sorted.
func applyIXFR(wire, removed, added []string) []string {
	set := map[string]int{}
	for _, w := range wire {
		set[w]++
	}
	for _, w := range removed {
		set[w]--
	}
	for _, w := range added {
		set[w]++
	}
	var out []string
	for w, n := range set {
		for range n {
			out = append(out, w)
		}
	}
	slices.Sort(out)
	return out
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// TestZoneEqualFields: zoneEqual compares exactly the record fields the
// zone is built from. Changing any other field leaves the zone as it
// was; changing one it compares changes the zone for some record of
// the seeds.
func TestZoneEqualFields(t *testing.T) {
	ctx := context.Background()
	srcs := deltaSources(t)
	zoneOf := func(srcs []*registry.Source) []string {
		snap, err := registry.Build(srcs...)
		require.NoError(t, err)
		s, err := New(Config{}, nil, prometheus.NewRegistry())
		require.NoError(t, err)
		require.NoError(t, s.SetSnapshot(ctx, snap))
		return append(slices.Clone(s.zoneWireNow()), fmt.Sprint(s.hash))
	}
	base := zoneOf(srcs)
	typ := reflect.TypeOf(registry.Record{})
	for f := range typ.NumField() {
		field := typ.Field(f)
		t.Run(field.Name, func(t *testing.T) {
			compared, zoneChanged := false, false
			for i := range srcs[0].Records {
				c := *srcs[0]
				c.Records = slices.Clone(srcs[0].Records)
				before := c.Records[i]
				v := reflect.ValueOf(&c.Records[i]).Elem().Field(f)
				switch v.Kind() {
				case reflect.String:
					v.SetString(v.String() + "x")
				case reflect.Int, reflect.Int32:
					v.SetInt(v.Int() + 1)
				case reflect.Uint8:
					v.SetUint((v.Uint() + 1) % 3) // assigned, reserved, unassigned
				case reflect.Slice:
					v.Set(reflect.Append(reflect.MakeSlice(v.Type(), 0, v.Len()+1), reflect.Zero(v.Type().Elem())))
				case reflect.Struct: // TXTKeys
					c.Records[i].TXTKeys = registry.TXTKeys{Kind: registry.TXTDefined, Keys: []registry.TXTKey{{Name: "zz"}}}
				default:
					t.Fatalf("field %s of kind %s: teach this test to change it", field.Name, v.Kind())
				}
				if !zoneEqual(&before, &c.Records[i]) {
					compared = true
				}
				if !slices.Equal(base, zoneOf(append([]*registry.Source{&c}, srcs[1:]...))) {
					zoneChanged = true
				}
				if compared && zoneChanged {
					break
				}
				if i >= 10 && !compared {
					break // a field it does not compare: ten records show the zone does not change
				}
			}
			require.Equal(t, compared, zoneChanged, "field %s: compared %v, changes the zone %v", field.Name, compared, zoneChanged)
		})
	}
}

// TestJournalFileAppendsChanges: with a journal file, a reload applied
// as a difference appends its change to the file instead of writing the
// zone again, and a restarted server reads the zone and every change
// back: it serves the same serial and answers IXFR from each one.
func TestJournalFileAppendsChanges(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg := Config{JournalFile: filepath.Join(dir, "journal"), SerialFile: filepath.Join(dir, "serial")}
	srcs := deltaSources(t)
	var named []int // records whose description the zone shows
	for i, r := range srcs[0].Records {
		if validLabel(r.Name) {
			named = append(named, i)
		}
	}
	require.Greater(t, len(named), 5)
	snapOf := func(step int) *registry.Snapshot {
		c := *srcs[0]
		c.Records = slices.Clone(srcs[0].Records)
		if step > 0 {
			c.Records[named[step]].Description = fmt.Sprintf("changed at step %d", step)
		}
		snap, err := registry.Build(append([]*registry.Source{&c}, srcs[1:]...)...)
		require.NoError(t, err)
		return snap
	}
	stat := func() os.FileInfo {
		fi, err := os.Stat(cfg.JournalFile)
		require.NoError(t, err)
		return fi
	}
	s, err := New(cfg, nil, prometheus.NewRegistry())
	require.NoError(t, err)
	require.NoError(t, s.SetSnapshot(ctx, snapOf(0)))
	whole := stat().Size()
	serials := []uint32{s.Serial()}
	var last *registry.Snapshot
	for step := 1; step <= 5; step++ {
		before := stat()
		last = snapOf(step)
		require.NoError(t, s.SetSnapshot(ctx, last))
		require.NotContains(t, serials, s.Serial())
		serials = append(serials, s.Serial())
		after := stat()
		require.True(t, os.SameFile(before, after), "step %d: the change appended, not the file written again", step)
		grew := after.Size() - before.Size()
		require.Positive(t, grew, "step %d", step)
		require.Less(t, grew, whole/10, "step %d: %d bytes appended (the zone record: %d)", step, grew, whole)
	}
	want := sortedCopy(s.zoneWireNow())

	restarted, err := New(cfg, nil, prometheus.NewRegistry())
	require.NoError(t, err)
	require.NoError(t, restarted.SetSnapshot(ctx, last))
	require.Equal(t, serials[len(serials)-1], restarted.Serial())
	tab := restarted.tab.Load()
	require.Len(t, tab.journal.entries, len(serials)-1)
	st, err := readJournal(cfg.JournalFile)
	require.NoError(t, err)
	require.Equal(t, want, sortedCopy(st.rrs), "the zone the file leads to")
	for i, from := range serials[:len(serials)-1] {
		_, removed, added, ok := tab.journal.since(from)
		require.True(t, ok, "IXFR from serial %d", from)
		prev := st.rrs
		for _, e := range slices.Backward(st.entries[i:]) {
			prev = applyDiff(prev, e.added, e.removed)
		}
		require.Equal(t, want, applyIXFR(prev, removed, added), "IXFR from serial %d", from)
	}
}

// TestReloadReplacesRegistry: replacing the full 2026-08-17 registry
// with the 2023-09-12 one and back (hundreds of records apart) is
// applied as a difference, and serves what a server that loaded the
// registry alone serves.
func TestReloadReplacesRegistry(t *testing.T) {
	ctx := context.Background()
	var snaps []*registry.Snapshot
	for _, f := range []string{"service-names-port-numbers.xml", "service-names-port-numbers-2023-09-12.xml"} {
		src, err := registry.LoadFile(ctx, testutil.SharedFile(t, "iana", f), "")
		require.NoError(t, err)
		snap, err := registry.Build(src)
		require.NoError(t, err)
		snaps = append(snaps, snap)
	}
	live, err := New(Config{}, nil, prometheus.NewRegistry())
	require.NoError(t, err)
	require.NoError(t, live.SetSnapshot(ctx, snaps[0]))
	for i, snap := range []*registry.Snapshot{snaps[1], snaps[0]} {
		d, err := live.delta(ctx, snap)
		require.NoError(t, err)
		require.NotNil(t, d, "step %d: applied as a difference", i)
		require.NoError(t, live.SetSnapshot(ctx, snap))
		fresh, err := New(Config{}, nil, prometheus.NewRegistry())
		require.NoError(t, err)
		require.NoError(t, fresh.SetSnapshot(ctx, snap))
		requireSameZone(t, fresh, live, fmt.Sprintf("step %d", i))
	}
}
