// Command dnsperf-queries writes a dnsperf query file for bench/dns.sh
// from a zone file that `svcreg zone` wrote, so that svcreg and any name
// server loading the same file are asked the same questions: 55% TXT and
// 20% SRV at registered service types, 15% TXT at registered TCP port
// labels (_N._tcp, RFC 6698 style), 10% names that do not exist. The mix is drawn
// from a fixed seed, so every run asks the same questions in the same
// order.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strings"

	"github.com/miekg/dns"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// mix is the share of each kind of question, in percent.
type mix struct {
	serviceTXT, serviceSRV, portTXT, nonexistent int
}

var defaultMix = mix{serviceTXT: 55, serviceSRV: 20, portTXT: 15, nonexistent: 10}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("dnsperf-queries", flag.ContinueOnError)
	fs.SetOutput(stderr)
	zoneFile := fs.String("zone-file", "", "zone `FILE` written by svcreg zone (required)")
	n := fs.Int("n", 100000, "number of queries to write")
	seed := fs.Uint64("seed", 1, "random `SEED` (same seed, same file)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *zoneFile == "" || *n <= 0 {
		fs.Usage()
		return 2
	}
	f, err := os.Open(*zoneFile)
	if err != nil {
		fmt.Fprintf(stderr, "dnsperf-queries: %v\n", err)
		return 1
	}
	defer f.Close()
	z, err := readZone(f, *zoneFile)
	if err != nil {
		fmt.Fprintf(stderr, "dnsperf-queries: %v\n", err)
		return 1
	}
	w := bufio.NewWriter(stdout)
	if err := z.write(w, *n, rand.New(rand.NewPCG(*seed, 0x5ec7e9)), defaultMix); err != nil {
		fmt.Fprintf(stderr, "dnsperf-queries: %v\n", err)
		return 1
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintf(stderr, "dnsperf-queries: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "dnsperf-queries: %d queries from %d service types (%d with SRV), %d port labels\n",
		*n, len(z.services), len(z.srv), len(z.ports))
	return 0
}

// zone holds the owner names the questions are drawn from.
type zone struct {
	apex     string
	services []string // _name._proto.<apex> with a TXT RRset
	srv      []string // the subset with an SRV RRset
	ports    []string // _N._tcp.<apex>
}

func readZone(r io.Reader, name string) (*zone, error) {
	zp := dns.NewZoneParser(r, "", name)
	var z zone
	services := map[string]bool{}
	srv := map[string]bool{}
	ports := map[string]bool{}
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		h := rr.Header()
		if h.Rrtype == dns.TypeSOA {
			z.apex = h.Name
			continue
		}
		labels := dns.SplitDomainName(strings.TrimSuffix(h.Name, z.apex))
		if z.apex == "" || len(labels) != 2 || !strings.HasPrefix(labels[0], "_") || !strings.HasPrefix(labels[1], "_") {
			continue // the apex, subtypes, _services._dns-sd._udp and address records are not drawn
		}
		if labels[0] == "_services" {
			continue
		}
		isPort := strings.Trim(labels[0][1:], "0123456789") == ""
		switch {
		case isPort && labels[1] == "_tcp" && h.Rrtype == dns.TypeTXT:
			ports[h.Name] = true
		case !isPort && h.Rrtype == dns.TypeTXT:
			services[h.Name] = true
		case !isPort && h.Rrtype == dns.TypeSRV:
			srv[h.Name] = true
		}
	}
	if err := zp.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	z.services, z.srv, z.ports = sortedKeys(services), sortedKeys(srv), sortedKeys(ports)
	if z.apex == "" || len(z.services) == 0 || len(z.srv) == 0 || len(z.ports) == 0 {
		return nil, fmt.Errorf("%s: no SOA, service types, SRV records or port labels", name)
	}
	return &z, nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// write writes n questions in dnsperf's "name type" format.
func (z *zone) write(w io.Writer, n int, rng *rand.Rand, m mix) error {
	total := m.serviceTXT + m.serviceSRV + m.portTXT + m.nonexistent
	for range n {
		var line string
		switch p := rng.IntN(total); {
		case p < m.serviceTXT:
			line = z.services[rng.IntN(len(z.services))] + " TXT"
		case p < m.serviceTXT+m.serviceSRV:
			line = z.srv[rng.IntN(len(z.srv))] + " SRV"
		case p < m.serviceTXT+m.serviceSRV+m.portTXT:
			line = z.ports[rng.IntN(len(z.ports))] + " TXT"
		default:
			qt := "TXT"
			if rng.IntN(2) == 0 {
				qt = "SRV"
			}
			line = fmt.Sprintf("_nx-%08x._tcp.%s %s", rng.Uint32(), z.apex, qt)
		}
		if _, err := io.WriteString(w, line+"\n"); err != nil {
			return err
		}
	}
	return nil
}
