package daemon

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/config"
	"github.com/svcreg/svcreg/internal/testutil"
	"github.com/svcreg/svcreg/resolver"
)

// BenchmarkReloadIANA measures the work of one reload with the official
// registry: parse and build the snapshot, then serve it (a reload of the
// same file: the zone side compares the records and keeps the table).
// Queries keep being answered from the old table meanwhile. "parse"
// is the same parse and snapshot alone, what the zone side adds to.
func BenchmarkReloadIANA(b *testing.B) {
	xml := testutil.SharedFile(b, "iana", "service-names-port-numbers.xml")
	cfg := config.Default()
	cfg.Registry.Sources = []string{xml}
	cfg.DNS.SerialFile = config.SerialFileNone
	d := &Daemon{logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ctx := context.Background()
	for _, serve := range []bool{true, false} {
		name := "reload"
		if !serve {
			name = "parse"
		}
		b.Run(name, func(b *testing.B) {
			srv, err := resolver.New(cfg.Resolver(), d.logger, prometheus.NewRegistry())
			require.NoError(b, err)
			loaded, err := d.loadRegistry(ctx, &cfg)
			require.NoError(b, err)
			require.NoError(b, srv.SetSnapshot(ctx, loaded.Snapshot))
			b.ReportAllocs()
			for b.Loop() {
				loaded, err := d.loadRegistry(ctx, &cfg)
				if err != nil {
					b.Fatal(err)
				}
				if !serve {
					continue
				}
				if err := srv.SetSnapshot(ctx, loaded.Snapshot); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
