package resolver

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync/atomic"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/svcreg/svcreg/registry"
)

// ErrNoSnapshot is returned by Start before the first SetSnapshot.
var ErrNoSnapshot = errors.New("resolver: no registry snapshot loaded")

// Server is an authoritative DNS server for one zone.
type Server struct {
	cfg    Config
	logger *slog.Logger
	serial atomic.Uint32
}

// New checks cfg (filling defaults) and registers the metrics on reg.
func New(cfg Config, logger *slog.Logger, reg prometheus.Registerer) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Server{cfg: cfg, logger: logger}, nil
}

// SetSnapshot builds the answer table for snap and swaps it in.
func (s *Server) SetSnapshot(ctx context.Context, snap *registry.Snapshot) error {
	z, err := buildZone(ctx, snap, s.cfg)
	if err != nil {
		return err
	}
	s.serial.Store(z.soa.Serial)
	return nil
}

// Start opens the listeners.
func (s *Server) Start(ctx context.Context) error { return errors.New("resolver: not implemented yet") }

// Addrs lists the bound addresses.
func (s *Server) Addrs() []net.Addr { return nil }

// Shutdown stops the server.
func (s *Server) Shutdown(ctx context.Context) error { return nil }

// ServeDNS answers one query.
func (s *Server) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	m := new(dns.Msg)
	m.SetRcode(r, dns.RcodeServerFailure)
	_ = w.WriteMsg(m)
}

// Serial is the current SOA serial.
func (s *Server) Serial() uint32 { return s.serial.Load() }
