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
// registry: parse and build the snapshot, then build and swap the
// resolver's answer table. Queries keep being answered from the old table
// meanwhile.
func BenchmarkReloadIANA(b *testing.B) {
	xml := testutil.SharedFile(b, "iana", "service-names-port-numbers.xml")
	cfg := config.Default()
	cfg.Registry.Sources = []string{xml}
	cfg.DNS.SerialFile = config.SerialFileNone
	d := &Daemon{logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	srv, err := resolver.New(cfg.Resolver(), d.logger, prometheus.NewRegistry())
	require.NoError(b, err)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		loaded, err := d.loadRegistry(ctx, &cfg)
		if err != nil {
			b.Fatal(err)
		}
		if err := srv.SetSnapshot(ctx, loaded.Snapshot); err != nil {
			b.Fatal(err)
		}
	}
}
