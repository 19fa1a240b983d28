package httpapi

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/svcreg/svcreg/internal/testutil"
	"github.com/svcreg/svcreg/registry"
)

func ianaStore(b *testing.B) *registry.Store {
	b.Helper()
	src, err := registry.LoadFile(context.Background(), testutil.SharedFile(b, "iana", "service-names-port-numbers.xml"), "")
	require.NoError(b, err)
	snap, err := registry.Build(src)
	require.NoError(b, err)
	return registry.NewStore(snap)
}

// BenchmarkAPI measures one API request through the handler (no network)
// against the full IANA registry.
func BenchmarkAPI(b *testing.B) {
	store := ianaStore(b)
	reg := NewRegistry()
	m, err := NewMetrics(reg, "bench")
	require.NoError(b, err)
	m.ObserveLoad(store.Load(), nil, time.Now())
	h, err := New(Options{Store: store, Gatherer: reg})
	require.NoError(b, err)
	for _, path := range []string{"/v1/services/http", "/v1/ports/tcp/443", "/v1/registry", "/healthz", "/metrics"} {
		b.Run(path, func(b *testing.B) {
			req := httptest.NewRequest("GET", path, nil)
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatalf("%s: %d", path, rec.Code)
				}
			}
		})
	}
}
