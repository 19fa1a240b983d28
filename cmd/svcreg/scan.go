package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/sys/unix"

	"github.com/svcreg/svcreg/mdns"
	"github.com/svcreg/svcreg/registry"
)

// scanFlags are svcreg scan's flags besides the registry ones.
type scanFlags struct {
	ifaces   []string
	pcap     string // a capture to read instead of listening ("-": stdin)
	duration time.Duration
	asJSON   bool
	ads      bool
	noBrowse bool
	family   mdns.Family
	failOn   failOnFlag // shared with svcreg validate
	quiet    bool
	policy   policyFlags // --severity, --disable as in svcreg validate
}

func (f *scanFlags) register(fs *flag.FlagSet) {
	fs.Func("interface", "listen on `IF` (repeatable; required)", func(s string) error {
		if s == "" {
			return errors.New("empty interface name")
		}
		f.ifaces = append(f.ifaces, s)
		return nil
	})
	fs.StringVar(&f.pcap, "pcap", "", "read the mDNS traffic of a pcap or pcapng capture `FILE` (- for standard input: tcpdump -w - | svcreg scan --pcap -) instead of listening")
	fs.DurationVar(&f.duration, "duration", 10*time.Second, "how long to listen")
	fs.BoolVar(&f.asJSON, "json", false, "print one JSON object per finding, one per line")
	fs.BoolVar(&f.ads, "advertisements", false, "with --json: print one JSON object per advertisement (its findings inside) instead")
	fs.BoolVar(&f.noBrowse, "no-browse", false, "only listen: send no queries (sees announcements and other hosts' answers only)")
	f.family = mdns.FamilyBoth
	fs.Func("family", "listen and browse over `FAMILY`: both, ipv4 or ipv6 (default both)", func(s string) error {
		fam, err := mdns.ParseFamily(s)
		f.family = fam
		return err
	})
	f.failOn.level = mdns.SeverityError
	fs.Var(&f.failOn, "fail-on", "exit 1 when a finding reaches `LEVEL`: info, warning, error or none")
	quietFlagVar(fs, &f.quiet, "log only warnings and errors to stderr")
	f.policy.register(fs)
}

// runScan implements "svcreg scan --interface IF [--interface IF2]
// [--duration 10s] [--json] [--registry PATH]... [--fail-on LEVEL]
// [--no-browse]": listen (and browse) on the LAN for a while, then report
// the advertisements and what is wrong with them. Exit status: 0 when no
// finding reaches --fail-on, 1 when one does, 2 for bad usage, an
// unreadable registry or an interface that cannot be used.
func runScan(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("svcreg scan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var rf registryFlags
	rf.register(fs)
	var sf scanFlags
	sf.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: svcreg scan --interface IF [--interface IF2]... [--duration 10s] [--json [--advertisements]]")
		fmt.Fprintln(fs.Output(), "       svcreg scan --pcap FILE|- [--interface NAME] [--json [--advertisements]]")
		fmt.Fprintln(fs.Output(), "                   [--registry PATH]... [--fail-on LEVEL] [--no-browse] [--severity RULE=LEVEL] [--disable RULE]")
		fmt.Fprintln(fs.Output(), "\nListens for mDNS on the interfaces (sharing port 5353 with avahi-daemon), browses every")
		fmt.Fprintln(fs.Output(), "advertised DNS-SD type, and reports each advertisement's findings. Needs the privilege to")
		fmt.Fprintln(fs.Output(), "bind port 5353. Exit status: 0 no finding at --fail-on, 1 one is, 2 bad usage or input.")
		fmt.Fprintln(fs.Output(), "\nflags:")
		fs.PrintDefaults()
	}
	if code, ok := parseFlagsOnly(fs, args, "scan", stderr); !ok {
		return code
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "svcreg scan: "+format+"\n", a...)
		return exitUsage
	}
	switch {
	case len(sf.ifaces) == 0 && sf.pcap == "":
		fs.Usage()
		return fail("--interface or --pcap is required")
	case sf.pcap != "" && len(sf.ifaces) > 1:
		return fail("--pcap takes at most one --interface (the name of a pcap file's interface)")
	case sf.duration <= 0:
		return fail("--duration must be positive")
	case sf.ads && !sf.asJSON:
		return fail("--advertisements goes with --json")
	}
	if err := sf.policy.policy.Check(); err != nil { // --severity RULE=off is not checked as it is parsed
		return fail("%v", err)
	}
	logger := newCLILogger(stderr, sf.quiet)
	snap, err := rf.load(ctx, logger)
	if err != nil {
		return fail("%v", err)
	}
	if sf.pcap != "" {
		return scanCapture(ctx, "scan", snap, sf, stdout, stderr, logger)
	}
	// Browse in back-to-back rounds of at most 5 s so a second round
	// browses the types and resolves the instances the first one found.
	window := min(max(sf.duration/2, time.Second), 5*time.Second)
	m, err := mdns.NewMonitor(mdns.MonitorConfig{
		Interfaces: sf.ifaces, Browse: !sf.noBrowse, BrowseInterval: window, BrowseWindow: window,
		Policy: sf.policy.policy, Family: sf.family,
	}, registry.NewStore(snap), logger, nil)
	if err != nil {
		return fail("%v", err)
	}
	sctx, cancel := context.WithTimeout(ctx, sf.duration)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- m.Run(sctx) }()
	var runErr error
	if tty := terminal(stderr); tty != nil && !sf.asJSON {
		runErr = scanProgress(sctx, tty, m, errc, sf)
	} else {
		runErr = <-errc
	}
	if runErr != nil {
		return fail("%v", runErr)
	}
	if ctx.Err() != nil {
		logger.Warn("scan interrupted; reporting what was seen so far")
	}
	header := fmt.Sprintf("%d advertisements on %s in %s", len(m.Advertisements()), strings.Join(sf.ifaces, ", "), sf.duration)
	return writeScanReport(m, sf, header, stdout, stderr)
}

// writeScanReport prints what the monitor holds and returns the exit
// status --fail-on asks for.
func writeScanReport(m *mdns.Monitor, sf scanFlags, header string, stdout, stderr io.Writer) int {
	ads := m.Advertisements()
	findings := m.Findings()
	w := bufio.NewWriter(stdout)
	var err error
	switch {
	case sf.asJSON && sf.ads:
		err = writeScanJSON(w, ads)
	case sf.asJSON:
		err = writeFindingsJSON(w, findings)
	default:
		writeScanTable(w, header, ads, findings, sf.pcap != "")
	}
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		fmt.Fprintf(stderr, "svcreg scan: writing output: %v\n", err)
		return exitUsage
	}
	if sf.failOn.reaches(findings) {
		return exitNotFound
	}
	return exitOK
}

// scanCapture reports the findings of the mDNS traffic in a capture, as
// a live scan hearing it would have: the monitor reads the capture as
// its packet source, on the capture's clock, without browsing. A capture
// that ends inside a packet or is corrupt is reported with the findings
// so far, then the error naming the packet, and exit status 2.
func scanCapture(ctx context.Context, cmd string, snap *registry.Snapshot, sf scanFlags, stdout, stderr io.Writer, logger *slog.Logger) int {
	in := io.Reader(os.Stdin)
	name := "standard input"
	if sf.pcap != "-" {
		f, err := os.Open(sf.pcap)
		if err != nil {
			fmt.Fprintf(stderr, "svcreg "+cmd+": %v\n", err)
			return exitUsage
		}
		defer f.Close()
		in, name = f, sf.pcap
	}
	iface := "capture"
	if len(sf.ifaces) == 1 {
		iface = sf.ifaces[0]
	}
	src, err := mdns.NewCaptureSource(in, iface)
	if err != nil {
		fmt.Fprintf(stderr, "svcreg "+cmd+": %s: %v\n", name, err)
		return exitUsage
	}
	m, err := mdns.NewMonitor(mdns.MonitorConfig{Source: src, Policy: sf.policy.policy, Now: src.Now},
		registry.NewStore(snap), logger, nil)
	if err != nil {
		fmt.Fprintf(stderr, "svcreg "+cmd+": %v\n", err)
		return exitUsage
	}
	runErr := m.Run(ctx)
	st := src.Stats()
	span := ""
	if !st.First.IsZero() {
		span = fmt.Sprintf(", %s to %s", st.First.Format(time.RFC3339Nano), st.Last.Format(time.RFC3339Nano))
	}
	header := fmt.Sprintf("%d advertisements in %s (%d packets, %d mDNS, %d skipped%s)",
		len(m.Advertisements()), name, st.Packets, st.MDNS, st.Skipped, span)
	logger.Info("scan: capture read", "file", name, "packets", st.Packets, "mdns", st.MDNS, "skipped", st.Skipped,
		"truncated", st.Truncated)
	code := writeScanReport(m, sf, header, stdout, stderr)
	if runErr != nil {
		fmt.Fprintf(stderr, "svcreg "+cmd+": %s: %v (the findings above are those of the packets before it)\n", name, runErr)
		return exitUsage
	}
	return code
}

// terminal returns w as a file when it is a terminal.
func terminal(w io.Writer) *os.File {
	f, ok := w.(*os.File)
	if !ok {
		return nil
	}
	if _, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS); err != nil {
		return nil
	}
	return f
}

// scanProgress shows a live count and countdown on the terminal until the
// monitor stops, then erases its line.
func scanProgress(ctx context.Context, tty *os.File, m *mdns.Monitor, errc <-chan error, sf scanFlags) error {
	deadline, _ := ctx.Deadline()
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case err := <-errc:
			fmt.Fprint(tty, "\r\033[K")
			return err
		case <-t.C:
			left := max(time.Until(deadline).Round(time.Second), 0)
			fmt.Fprintf(tty, "\r\033[Kscanning %s: %d advertisements, %d findings, %s left",
				strings.Join(sf.ifaces, ","), len(m.Advertisements()), len(m.Findings()), left)
		}
	}
}

func writeScanJSON[T any](w io.Writer, items []T) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i := range items {
		if err := enc.Encode(items[i]); err != nil {
			return err
		}
	}
	return nil
}

func writeScanTable(w io.Writer, header string, ads []mdns.Advertisement, findings []mdns.Finding, fromCapture bool) {
	fmt.Fprintln(w, header)
	if len(ads) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "\nINSTANCE\tTYPE\tHOST:PORT\tADDRESSES\tTXT\tFINDINGS")
		for _, a := range ads {
			host := "-"
			if a.Host != "" {
				host = a.Host + ":" + strconv.Itoa(int(a.Port))
			}
			addrs := make([]string, len(a.Addrs))
			for i, ad := range a.Addrs {
				addrs[i] = ad.String()
			}
			txt := make([]string, len(a.TXT))
			for i, s := range a.TXT {
				txt[i] = cellText(s)
			}
			typ := a.ServiceType()
			for _, s := range a.Subtypes {
				typ += "," + cellText(s)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\n", cellText(a.Instance), typ, host,
				cellText(strings.Join(addrs, ",")), cellText(strings.Join(txt, " ")), len(a.Findings))
		}
		tw.Flush()
	}
	fmt.Fprintln(w)
	if fromCapture {
		// The sender, its MAC and the packets, to find them in Wireshark.
		for i := range findings {
			findings[i].Origin = captureOrigin(&findings[i])
		}
	}
	writeFindingsTable(w, findings, fromCapture)
}

// captureOrigin attributes a finding on captured traffic: "198.18.0.2:5353
// 02:42:c6:12:00:02 packets 3-17".
func captureOrigin(f *mdns.Finding) string {
	parts := []string{}
	if f.Origin != "" {
		parts = append(parts, f.Origin)
	}
	if f.MAC != "" {
		parts = append(parts, f.MAC)
	}
	switch {
	case f.FirstPacket > 0 && f.LastPacket > f.FirstPacket:
		parts = append(parts, fmt.Sprintf("packets %d-%d", f.FirstPacket, f.LastPacket))
	case f.FirstPacket > 0:
		parts = append(parts, fmt.Sprintf("packet %d", f.FirstPacket))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}
