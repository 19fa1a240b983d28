package resolver

import (
	"fmt"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
)

// Closed label sets: query types outside typeLabels count as "other",
// RCODEs outside rcodeLabels likewise; names and addresses are never
// labels.
var (
	typeLabels  = [...]string{"A", "AAAA", "ANY", "AXFR", "IXFR", "NS", "PTR", "SOA", "SRV", "TXT", "other"}
	rcodeLabels = [...]string{"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "BADVERS", "other"}
	dropLabels  = [...]string{"malformed", "rrl", "tcp_limit", "tcp_source_limit", "tcp_reserved", "tcp_read_timeout"}
	// serialFileLabels are the operations on Config.SerialFile.
	serialFileLabels = [...]string{"read", "write"}
)

const (
	serialFileRead = iota
	serialFileWrite
)

const (
	dropMalformed = iota
	dropRRL
	dropTCPLimit       // every connection is taken
	dropTCPSourceLimit // the source has TCPMaxConnsPerSource
	dropTCPReserved    // only the reserved connections are left, and the source is no transfer client
	dropTCPReadTimeout // a query started but did not arrive within TCPReadTimeout
)

// metrics holds every counter resolved at New, so the query path only
// increments (atomics, no label hashing, no lock).
type metrics struct {
	requests  [2][len(typeLabels)]prometheus.Counter // [tcp][type]
	responses [len(rcodeLabels)]prometheus.Counter
	drops     [len(dropLabels)]prometheus.Counter
	slips     prometheus.Counter
	duration  prometheus.Histogram
	notifies  *prometheus.CounterVec
	serial    prometheus.Gauge
	// serialFile counts serial files that could not be read (present but
	// unusable) or written, by operation.
	serialFile [len(serialFileLabels)]prometheus.Counter
	// journalFile is the same for Config.JournalFile.
	journalFile [len(serialFileLabels)]prometheus.Counter
	// tsigFailures counts requests whose TSIG failed, by reason.
	tsigFailures [len(tsigFailureLabels)]prometheus.Counter
	// transfers counts zone transfers sent, by transferKindLabels.
	transfers [len(transferKindLabels)]prometheus.Counter
	// journalBytes and journalChanges describe the IXFR journal served.
	journalBytes, journalChanges prometheus.Gauge
}

// transferKindLabels: a whole zone for an AXFR, a difference for an
// IXFR, and a whole zone for an IXFR the journal cannot answer.
var transferKindLabels = [...]string{"axfr", "ixfr", "ixfr_full"}

const (
	transferAXFR = iota
	transferIXFR
	transferIXFRFull
)

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	req := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "svcreg_dns_requests_total", Help: "DNS queries received, by transport and query type.",
	}, []string{"proto", "type"})
	resp := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "svcreg_dns_responses_total", Help: "DNS responses sent, by RCODE.",
	}, []string{"rcode"})
	drops := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "svcreg_dns_dropped_total", Help: "DNS packets not answered, by reason.",
	}, []string{"reason"})
	slips := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "svcreg_dns_rrl_slipped_total", Help: "Rate-limited responses sent as TC=1 instead of dropped.",
	})
	dur := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "svcreg_dns_request_duration_seconds",
		Help:    "Time from reading a DNS query to handing its response to the socket.",
		Buckets: prometheus.ExponentialBuckets(1e-6, 4, 10),
	})
	notifies := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "svcreg_dns_notify_total", Help: "NOTIFY messages to secondaries, by result.",
	}, []string{"result"})
	serial := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "svcreg_dns_zone_serial", Help: "SOA serial of the zone being served.",
	})
	serialFile := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "svcreg_dns_serial_file_errors_total",
		Help: "SOA serial file operations that failed (read: present but unusable; write: not saved), by operation.",
	}, []string{"op"})
	journalFile := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "svcreg_dns_journal_file_errors_total",
		Help: "IXFR journal file operations that failed (read: present but unusable; write: not saved), by operation.",
	}, []string{"op"})
	transfers := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "svcreg_dns_transfers_total",
		Help: "Zone transfers sent, by kind: axfr (the zone), ixfr (a difference), ixfr_full (the zone, for an IXFR the journal cannot answer).",
	}, []string{"kind"})
	journalBytes := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "svcreg_dns_ixfr_journal_bytes", Help: "Record data the IXFR journal of the zone served holds.",
	})
	journalChanges := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "svcreg_dns_ixfr_journal_changes", Help: "Changes (serials) the IXFR journal of the zone served reaches back.",
	})
	tsig := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "svcreg_dns_tsig_failures_total",
		Help: "Requests refused for their TSIG (RFC 8945), by reason: unknown key, bad MAC, bad time, unsigned transfer, malformed.",
	}, []string{"reason"})
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	for _, c := range []prometheus.Collector{req, resp, drops, slips, dur, notifies, serial, serialFile, journalFile, transfers, journalBytes, journalChanges, tsig} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("registering DNS metrics: %w", err)
		}
	}
	m := &metrics{duration: dur, slips: slips, notifies: notifies, serial: serial, journalBytes: journalBytes, journalChanges: journalChanges}
	for i, l := range transferKindLabels {
		m.transfers[i] = transfers.WithLabelValues(l)
	}
	for p, proto := range []string{"udp", "tcp"} {
		for i, t := range typeLabels {
			m.requests[p][i] = req.WithLabelValues(proto, t)
		}
	}
	for i, l := range rcodeLabels {
		m.responses[i] = resp.WithLabelValues(l)
	}
	for i, l := range tsigFailureLabels {
		m.tsigFailures[i] = tsig.WithLabelValues(l)
	}
	for i, l := range dropLabels {
		m.drops[i] = drops.WithLabelValues(l)
	}
	for i, l := range serialFileLabels {
		m.serialFile[i] = serialFile.WithLabelValues(l)
		m.journalFile[i] = journalFile.WithLabelValues(l)
	}
	for _, l := range []string{"ok", "error", "gave_up"} {
		notifies.WithLabelValues(l)
	}
	return m, nil
}

func typeIndex(t uint16) int {
	switch t {
	case dns.TypeA:
		return 0
	case dns.TypeAAAA:
		return 1
	case dns.TypeANY:
		return 2
	case dns.TypeAXFR:
		return 3
	case dns.TypeIXFR:
		return 4
	case dns.TypeNS:
		return 5
	case dns.TypePTR:
		return 6
	case dns.TypeSOA:
		return 7
	case dns.TypeSRV:
		return 8
	case dns.TypeTXT:
		return 9
	}
	return len(typeLabels) - 1
}

func rcodeIndex(rc int) int {
	switch rc {
	case dns.RcodeSuccess:
		return 0
	case dns.RcodeFormatError:
		return 1
	case dns.RcodeServerFailure:
		return 2
	case dns.RcodeNameError:
		return 3
	case dns.RcodeNotImplemented:
		return 4
	case dns.RcodeRefused:
		return 5
	case dns.RcodeBadVers:
		return 6
	}
	return len(rcodeLabels) - 1
}
