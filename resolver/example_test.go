package resolver_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/svcreg/svcreg/registry"
	"github.com/svcreg/svcreg/resolver"
)

const exampleCSV = "Service Name,Port Number,Transport Protocol,Description,Assignee,Contact,Registration Date,Modification Date,Reference,Service Code,Unauthorized Use Reported,Assignment Notes\n" +
	"http,80,tcp,World Wide Web HTTP,[IESG],[IETF_Chair],,2021-10-01,[RFC9110],,,Defined TXT keys: u=<username> p=<password> path=<path to document>\n"

// ZoneRRs is the zone's content, SOA first, then in canonical order.
func ExampleZoneRRs() {
	src, _ := registry.ParseCSV(strings.NewReader(exampleCSV), "example.csv")
	snap, _ := registry.Build(src)
	rrs, _ := resolver.ZoneRRs(snap, resolver.Config{Zone: "svc.example."})
	for _, rr := range rrs {
		fmt.Println(rr)
	}
	// Output:
	// svc.example.	3600	IN	SOA	ns1.svc.example. hostmaster.svc.example. 2021100173 14400 3600 1209600 300
	// svc.example.	3600	IN	A	127.0.0.1
	// svc.example.	3600	IN	NS	ns1.svc.example.
	// svc.example.	3600	IN	TXT	"registry-updated=unknown" "records=1" "services=1"
	// _80._tcp.svc.example.	3600	IN	PTR	_http._tcp.svc.example.
	// _80._tcp.svc.example.	3600	IN	TXT	"port=80" "proto=tcp" "status=assigned" "services=http"
	// _http._tcp.svc.example.	3600	IN	TXT	"name=http" "proto=tcp" "port=80" "status=assigned" "desc=World Wide Web HTTP" "txtkeys=u,p,path" "ref=RFC9110" "updated=2021-10-01"
	// _http._tcp.svc.example.	3600	IN	SRV	0 0 80 svc.example.
	// _services._dns-sd._udp.svc.example.	3600	IN	PTR	_http._tcp.svc.example.
	// ns1.svc.example.	3600	IN	A	127.0.0.1
}

// A server on a free loopback port, queried with miekg/dns.
func ExampleServer() {
	src, _ := registry.ParseCSV(strings.NewReader(exampleCSV), "example.csv")
	snap, _ := registry.Build(src)
	s, err := resolver.New(resolver.Config{Listen: []string{"127.0.0.1:0"}}, nil, prometheus.NewRegistry())
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	defer func() { _ = s.Shutdown(ctx) }()
	if err := s.SetSnapshot(ctx, snap); err != nil {
		fmt.Println(err)
		return
	}
	if err := s.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	q := new(dns.Msg)
	q.SetQuestion("_http._tcp.services.internal.", dns.TypeSRV)
	r, _, err := new(dns.Client).Exchange(q, s.Addrs()[0].String())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(dns.RcodeToString[r.Rcode], r.Authoritative, r.Answer[0])
	// Output:
	// NOERROR true _http._tcp.services.internal.	3600	IN	SRV	0 0 80 services.internal.
}
