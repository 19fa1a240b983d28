package resolver

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/registry"
)

// TestReloadReusesOnlyUnchangedAnswers: over a random sequence of
// registries (records dropped, changed, added), a server that reloads
// from one to the next, keeping the packed answers of unchanged owners,
// answers every name exactly as a server that loaded the last registry
// alone (every stored answer byte for byte, the apex aside, whose SOA
// carries each server's own serial); and it does keep most answers.
func TestReloadReusesOnlyUnchangedAnswers(t *testing.T) {
	ctx := context.Background()
	base, err := registry.LoadFile(ctx, "testdata/mini.csv", "")
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(3, 5))
	variant := func(step int) *registry.Snapshot {
		src := *base
		src.Records = slices.Clone(base.Records)
		for i := range src.Records {
			switch r := &src.Records[i]; rng.IntN(8) {
			case 0:
				r.Description = fmt.Sprintf("changed at step %d", step)
			case 1:
				if r.PortLow > 0 && r.PortLow == r.PortHigh {
					r.PortLow++
					r.PortHigh++
				}
			}
		}
		src.Records = slices.DeleteFunc(src.Records, func(registry.Record) bool { return rng.IntN(10) == 0 })
		src.Records = append(src.Records, registry.Record{Name: fmt.Sprintf("step-%d", step), Protocol: registry.ProtoTCP,
			PortLow: int32(20000 + step), PortHigh: int32(20000 + step), Status: registry.StatusAssigned, Description: "added"})
		snap, err := registry.Build(&src)
		require.NoError(t, err)
		return snap
	}
	live, err := New(Config{}, nil, prometheus.NewRegistry())
	require.NoError(t, err)
	reused, total := 0, 0
	for step := range 12 {
		snap := variant(step)
		prev := live.tab.Load()
		require.NoError(t, live.SetSnapshot(ctx, snap))
		fresh, err := New(Config{}, nil, prometheus.NewRegistry())
		require.NoError(t, err)
		require.NoError(t, fresh.SetSnapshot(ctx, snap))
		lt, ft := live.tab.Load(), fresh.tab.Load()
		require.Equal(t, len(ft.names), len(lt.names), "step %d", step)
		for key, fn := range ft.names {
			ln := lt.names[key]
			require.NotNil(t, ln, "step %d: %q", step, key)
			if key == lt.apexKey {
				continue
			}
			require.Equal(t, fn.answers, ln.answers, "step %d: %q", step, key)
			require.Equal(t, fn.any, ln.any, "step %d: %q", step, key)
			if prev != nil && len(ln.answers) > 0 {
				total++
				if prev.names[key] == ln {
					reused++
				}
			}
		}
	}
	require.Greater(t, reused, total/2, "%d of %d answers kept", reused, total)
}
