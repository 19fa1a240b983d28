package httpapi

import (
	"fmt"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/svcreg/svcreg/registry"
)

// Reload results, the values of svcreg_registry_reloads_total{result}.
const (
	ResultSuccess = "success"
	ResultFailure = "failure"
)

// Metrics are the registry metrics the daemon updates on every load.
type Metrics struct {
	records    prometheus.Gauge
	services   prometheus.Gauge
	reloads    *prometheus.CounterVec
	lastReload prometheus.Gauge
}

// NewRegistry returns a Prometheus registry with the Go runtime and
// process collectors, the daemon's own (never the default registry).
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// NewMetrics registers the registry metrics and svcreg_build_info on reg.
func NewMetrics(reg prometheus.Registerer, version string) (*Metrics, error) {
	m := &Metrics{
		records: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "svcreg_registry_records", Help: "Records in the registry snapshot being served.",
		}),
		services: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "svcreg_registry_services", Help: "Distinct service names in the registry snapshot being served.",
		}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "svcreg_registry_reloads_total", Help: "Registry loads by result (success, failure); a failure keeps the previous snapshot.",
		}, []string{"result"}),
		lastReload: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "svcreg_registry_last_reload_timestamp_seconds", Help: "Unix time of the last successful registry load.",
		}),
	}
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "svcreg_build_info", Help: "Always 1; the labels say which svcreg build runs.",
	}, []string{"version", "goversion"})
	build.WithLabelValues(version, runtime.Version()).Set(1)
	// Both results exist from the start, so a rate() over failures works
	// before the first failure.
	m.reloads.WithLabelValues(ResultSuccess)
	m.reloads.WithLabelValues(ResultFailure)
	for _, c := range []prometheus.Collector{m.records, m.services, m.reloads, m.lastReload, build} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering registry metrics: %w", err)
		}
	}
	return m, nil
}

// ObserveLoad records one load: with err nil, snap is now served;
// otherwise the failure is counted and the gauges keep describing the
// snapshot still served.
func (m *Metrics) ObserveLoad(snap *registry.Snapshot, err error, now time.Time) {
	if err != nil || snap == nil {
		m.reloads.WithLabelValues(ResultFailure).Inc()
		return
	}
	st := snap.Stats()
	m.records.Set(float64(st.Records))
	m.services.Set(float64(st.Names))
	m.reloads.WithLabelValues(ResultSuccess).Inc()
	m.lastReload.Set(float64(now.UnixNano()) / 1e9)
}
