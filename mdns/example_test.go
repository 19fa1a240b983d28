package mdns_test

import (
	"fmt"
	"strings"

	"github.com/miekg/dns"

	"github.com/svcreg/svcreg/mdns"
	"github.com/svcreg/svcreg/registry"
)

func ExampleValidator_Validate() {
	snap, err := registry.Build(registry.Builtin())
	if err != nil {
		panic(err)
	}
	v := mdns.NewValidator(snap, mdns.Policy{})
	ad := &mdns.Advertisement{
		Instance: "Office Printer", Service: "_ipp", Proto: "_tcp", Domain: "local",
		Port: 8631, TXT: []string{"rp=ipp/print", "txtvers=1", "RP=again"}, HasTXT: true,
		Origin: "example",
	}
	for _, f := range v.Validate(ad) {
		fmt.Printf("%s %s (%s): %s\n", f.Severity, f.Rule, f.RFC, f.Message)
	}
	// Output:
	// info port-mismatch (RFC 6763 section 5): the SRV port 8631 differs from the registered port 631
	// info txt-format (RFC 6763 section 6.7): txtvers should be the first TXT string, it is string 2
	// warning txt-format (RFC 6763 section 6.4): the TXT key "RP" is repeated (string 3 repeats string 1); clients use only the first
}

func ExampleValidator_ValidatePacket() {
	snap, err := registry.Build(registry.Builtin())
	if err != nil {
		panic(err)
	}
	v := mdns.NewValidator(snap, mdns.Policy{})
	msg := new(dns.Msg)
	msg.Response = true // but not authoritative: RFC 6762 section 18.4
	for _, s := range []string{
		`_http._tcp.local. 4500 IN PTR Caf\195\169\ Cam._http._tcp.local.`,
		`Caf\195\169\ Cam._http._tcp.local. 120 IN SRV 0 0 80 cam.local.`,
		`cam.local. 120 IN A 192.0.2.7`,
	} {
		rr, err := dns.NewRR(s)
		if err != nil {
			panic(err)
		}
		msg.Answer = append(msg.Answer, rr)
	}
	ads, packet := v.ValidatePacket(msg, mdns.PacketMeta{HopLimit: -1})
	for _, a := range ads {
		fmt.Printf("%q %s port %d at %v, %d findings\n", a.Instance, a.ServiceType(), a.Port, a.Addrs, len(a.Findings))
	}
	for _, f := range packet {
		fmt.Println(f.Rule, f.Evidence)
	}
	// Output:
	// "Café Cam" _http._tcp port 80 at [192.0.2.7], 0 findings
	// mdns-packet aa=0
}

func ExampleParseAvahi() {
	const file = `<?xml version="1.0" standalone='no'?>
<!DOCTYPE service-group SYSTEM "avahi-service.dtd">
<service-group>
  <name replace-wildcards="yes">SSH on %h</name>
  <service>
    <type>_ssh._tcp</type>
    <port>22</port>
  </service>
</service-group>`
	ads, err := mdns.ParseAvahi(strings.NewReader(file), "ssh.service", "lab1")
	if err != nil {
		panic(err)
	}
	fmt.Println(ads[0].Instance, ads[0].ServiceType(), ads[0].Port, ads[0].Origin)

	_, err = mdns.ParseAvahi(strings.NewReader(strings.Replace(file, "<port>22</port>", "", 1)), "ssh.service", "lab1")
	fmt.Println(err)
	// Output:
	// SSH on lab1 _ssh._tcp 22 ssh.service:5
	// ssh.service:5: <service> has no <port>
}
