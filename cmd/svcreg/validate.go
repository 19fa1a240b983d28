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
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"
	"unicode/utf8"

	"github.com/svcreg/svcreg/mdns"
)

// failNone is --fail-on none: no finding changes the exit status.
const failNone = mdns.Severity(-1)

// policyFlags are the flags that adjust the rule catalogue: repeatable
// --severity RULE=LEVEL (LEVEL off disables, as in the config file) and
// --disable RULE[,RULE...].
type policyFlags struct {
	policy mdns.Policy
}

func (p *policyFlags) register(fs *flag.FlagSet) {
	fs.Func("severity", "set a rule's level: `RULE=LEVEL` with LEVEL info, warning, error or off; repeatable", func(s string) error {
		rule, level, ok := strings.Cut(s, "=")
		if !ok || rule == "" {
			return fmt.Errorf("%q is not RULE=LEVEL", s)
		}
		if strings.EqualFold(level, "off") {
			p.disable(rule)
			return nil
		}
		sev, err := mdns.ParseSeverity(level)
		if err != nil {
			return err
		}
		if p.policy.Severity == nil {
			p.policy.Severity = map[string]mdns.Severity{}
		}
		p.policy.Severity[rule] = sev
		delete(p.policy.Disabled, rule)
		return p.policy.Check()
	})
	fs.Func("disable", "turn off `RULE` (comma-separated list allowed); repeatable", func(s string) error {
		for _, r := range strings.Split(s, ",") {
			if r = strings.TrimSpace(r); r != "" {
				p.disable(r)
			}
		}
		return p.policy.Check()
	})
}

func (p *policyFlags) disable(rule string) {
	if p.policy.Disabled == nil {
		p.policy.Disabled = map[string]bool{}
	}
	p.policy.Disabled[rule] = true
	delete(p.policy.Severity, rule)
}

// over returns base (from the config file) with the flags applied on top:
// a flag's level also turns on a rule the file turned off.
func (p *policyFlags) over(base mdns.Policy) mdns.Policy {
	out := mdns.Policy{Severity: map[string]mdns.Severity{}, Disabled: map[string]bool{}}
	for id, s := range base.Severity {
		out.Severity[id] = s
	}
	for id, off := range base.Disabled {
		out.Disabled[id] = off
	}
	for id, s := range p.policy.Severity {
		out.Severity[id] = s
		delete(out.Disabled, id)
	}
	for id, off := range p.policy.Disabled {
		if off {
			out.Disabled[id] = true
			delete(out.Severity, id)
		}
	}
	return out
}

// failOnFlag is --fail-on: the lowest severity that makes the exit
// status 1.
type failOnFlag struct{ level mdns.Severity }

func (f *failOnFlag) String() string {
	if f.level == failNone {
		return "none"
	}
	return f.level.String()
}

func (f *failOnFlag) Set(s string) error {
	if strings.EqualFold(s, "none") {
		f.level = failNone
		return nil
	}
	l, err := mdns.ParseSeverity(s)
	if err != nil {
		return fmt.Errorf("%w, or none", err)
	}
	f.level = l
	return nil
}

// reaches reports whether any finding is at or above the --fail-on level.
func (f *failOnFlag) reaches(fs []mdns.Finding) bool {
	if f.level == failNone {
		return false
	}
	for _, x := range fs {
		if x.Severity >= f.level {
			return true
		}
	}
	return false
}

// runValidate implements
//
//	svcreg validate TYPE --instance NAME [--port N] [--host H] [--txt K=V]... [--subtype S]...
//	svcreg validate --avahi FILE|DIR...
//
// with the common --registry, --json, --fail-on, --severity and --disable.
// Exit status: 0 when no finding reaches --fail-on, 1 when one does, 2 for
// bad usage or input that cannot be read or parsed.
func runValidate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("svcreg validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	vf := validateFlags{failOn: failOnFlag{level: mdns.SeverityError}, port: -1}
	vf.register(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if vf.pcap != "" {
		return validateCapture(ctx, &vf, pos, set, stdout, stderr)
	}
	ads, readFailed, ok := vf.advertisements(pos, set, stderr)
	if !ok {
		return exitUsage
	}
	v, err := loadValidator(ctx, &vf.rf, &vf.pf, newCLILogger(stderr, vf.quiet))
	if err != nil {
		fmt.Fprintf(stderr, "svcreg validate: %v\n", err)
		return exitUsage
	}
	var findings []mdns.Finding
	for _, a := range ads {
		findings = append(findings, v.Validate(a)...)
	}
	// With nothing read, "no findings" would read as a pass: the table is
	// left out (JSON, one object per finding, is empty either way); with
	// part of it read, the table says so.
	if err := writeFindings(stdout, findings, vf.asJSON, vf.avahi, readFailed && len(ads) == 0); err != nil {
		fmt.Fprintf(stderr, "svcreg validate: writing output: %v\n", err)
		return exitUsage
	}
	if readFailed && len(ads) > 0 && !vf.asJSON {
		fmt.Fprintf(stdout, "(in the %d %s that parsed; services with the errors above were not validated)\n", len(ads), plural(len(ads), "service"))
	}
	switch {
	case readFailed:
		return exitUsage
	case vf.failOn.reaches(findings):
		return exitNotFound
	}
	return exitOK
}

// validateCapture validates what a capture advertises: svcreg scan
// --pcap with validate's registry, rule and output flags.
func validateCapture(ctx context.Context, vf *validateFlags, pos []string, set map[string]bool, stdout, stderr io.Writer) int {
	for _, name := range []string{"avahi", "instance", "port", "host", "txt", "subtype", "hostname"} {
		if set[name] {
			fmt.Fprintf(stderr, "svcreg validate: --pcap reads its advertisements from the capture; --%s does not go with it\n", name)
			return exitUsage
		}
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "svcreg validate: --pcap takes no arguments (got %q)\n", pos[0])
		return exitUsage
	}
	if err := vf.pf.policy.Check(); err != nil {
		fmt.Fprintf(stderr, "svcreg validate: %v\n", err)
		return exitUsage
	}
	logger := newCLILogger(stderr, vf.quiet)
	snap, err := vf.rf.load(ctx, logger)
	if err != nil {
		fmt.Fprintf(stderr, "svcreg validate: %v\n", err)
		return exitUsage
	}
	sf := scanFlags{pcap: vf.pcap, asJSON: vf.asJSON, failOn: vf.failOn, quiet: vf.quiet, policy: vf.pf}
	return scanCapture(ctx, "validate", snap, sf, stdout, stderr, logger)
}

// validateFlags are svcreg validate's flags: the registry and rule
// policy, the output, and either one advertisement described by flags or
// --avahi files.
type validateFlags struct {
	rf     registryFlags
	pf     policyFlags
	failOn failOnFlag
	asJSON bool
	quiet  bool

	avahi    bool
	hostname string
	pcap     string

	instance string
	port     int // -1: not given
	host     string
	txt      []string
	subtypes []string
}

func (f *validateFlags) register(fs *flag.FlagSet) {
	f.rf.register(fs)
	f.pf.register(fs)
	fs.Var(&f.failOn, "fail-on", "exit 1 when a finding is at `LEVEL` or above: error, warning, info, or none")
	fs.BoolVar(&f.asJSON, "json", false, "print one JSON object per finding, one per line")
	quietFlagVar(fs, &f.quiet, "log only warnings and errors to stderr")
	fs.StringVar(&f.pcap, "pcap", "", "validate the advertisements in a pcap or pcapng capture `FILE` (- for standard input), as svcreg scan --pcap does")
	fs.BoolVar(&f.avahi, "avahi", false, "the arguments are Avahi .service files, or directories of them (/etc/avahi/services), to lint")
	fs.StringVar(&f.hostname, "hostname", "", "`NAME` that replaces %h in Avahi service names (default: this host's name)")
	fs.StringVar(&f.instance, "instance", "", "the service instance `NAME`, raw (UTF-8, spaces and dots allowed)")
	fs.Func("port", "the SRV `PORT`, 0-65535 (omitted: the port checks are skipped)", func(s string) error {
		n, err := strconv.ParseUint(s, 10, 16)
		if err != nil {
			return fmt.Errorf("%q is not a port from 0 to 65535", s)
		}
		f.port = int(n)
		return nil
	})
	fs.StringVar(&f.host, "host", "", "the SRV target `HOST` (e.g. printer.local)")
	fs.Func("txt", "one TXT string `KEY=VALUE` (or KEY, or an empty string), in order; repeatable", func(s string) error {
		f.txt = append(f.txt, s)
		return nil
	})
	fs.Func("subtype", "a `SUBTYPE` label the instance is also advertised under (_printer); repeatable", func(s string) error {
		f.subtypes = append(f.subtypes, s)
		return nil
	})
	fs.Usage = func() {
		o := fs.Output()
		fmt.Fprintln(o, "usage: svcreg validate [FLAGS] TYPE --instance NAME [--port N] [--host H] [--txt K=V]... [--subtype S]...")
		fmt.Fprintln(o, "       svcreg validate [FLAGS] --avahi FILE|DIR...")
		fmt.Fprintln(o, "\nTYPE is a DNS-SD service type such as _ipp._tcp (a domain, default local, may follow).")
		fmt.Fprintln(o, "Exit status: 0 no finding reaches --fail-on, 1 one does, 2 bad usage or unreadable input.")
		fmt.Fprintln(o, "svcreg rules lists the rules.")
		fmt.Fprintln(o, "\nflags:")
		fs.PrintDefaults()
	}
}

// advertisements builds what the command validates from the positional
// arguments pos and the flags given (set): the --avahi files (readFailed
// when one could not be read or parsed, each reported on stderr), or the
// one advertisement the flags describe. ok is false, with the reason on
// stderr, for flags that do not go together or a bad description.
func (f *validateFlags) advertisements(pos []string, set map[string]bool, stderr io.Writer) (ads []*mdns.Advertisement, readFailed, ok bool) {
	if f.avahi {
		for _, n := range []string{"instance", "port", "host", "txt", "subtype"} {
			if set[n] {
				fmt.Fprintf(stderr, "svcreg validate: --%s does not apply to --avahi files\n", n)
				return nil, false, false
			}
		}
		if len(pos) == 0 {
			fmt.Fprintln(stderr, "svcreg validate: --avahi needs at least one FILE or DIR")
			return nil, false, false
		}
		ads, readFailed = readAvahiFiles(pos, f.hostname, stderr)
		return ads, readFailed, true
	}
	if set["hostname"] {
		fmt.Fprintln(stderr, "svcreg validate: --hostname applies only to --avahi")
		return nil, false, false
	}
	a, err := cliAdvertisement(pos, f.instance, set["instance"], f.port, f.host, f.txt, set["txt"], f.subtypes)
	if err != nil {
		fmt.Fprintf(stderr, "svcreg validate: %v (svcreg validate -h shows the usage)\n", err)
		return nil, false, false
	}
	return []*mdns.Advertisement{a}, false, true
}

// writeFindings prints the findings as JSON lines or as a table (none
// when noTable).
func writeFindings(stdout io.Writer, findings []mdns.Finding, asJSON, avahi, noTable bool) error {
	w := bufio.NewWriter(stdout)
	var err error
	switch {
	case asJSON:
		err = writeFindingsJSON(w, findings)
	case noTable:
	default:
		writeFindingsTable(w, findings, avahi)
	}
	if err != nil {
		return err
	}
	return w.Flush()
}

// readAvahiFiles parses every file, reporting every problem of each on
// stderr (failed is then true) and going on with the rest, including the
// services of a file that parsed. hostname "" means this host's name.
func readAvahiFiles(paths []string, hostname string, stderr io.Writer) (ads []*mdns.Advertisement, failed bool) {
	if hostname == "" {
		var err error
		if hostname, err = os.Hostname(); err != nil {
			hostname = "localhost"
		}
	}
	files, errs := avahiFiles(paths)
	for _, err := range errs {
		fmt.Fprintf(stderr, "svcreg validate: %v\n", err)
		failed = true
	}
	for _, path := range files {
		// A file's problems come one per line, and the services of it
		// that parsed are still validated.
		got, err := readAvahi(path, hostname)
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				fmt.Fprintf(stderr, "svcreg validate: %s\n", line)
			}
			failed = true
		}
		ads = append(ads, got...)
	}
	return ads, failed
}

// avahiFiles expands the arguments of --avahi: a file stands for itself,
// a directory (/etc/avahi/services) for the *.service files in it, in
// name order, as avahi-daemon reads them. A directory without one, or an
// argument that cannot be read, is an error; the others are still
// returned.
func avahiFiles(paths []string) (files []string, errs []error) {
	for _, p := range paths {
		if st, err := os.Stat(p); err != nil || !st.IsDir() {
			// Opening it reports the error in the same words as for a file.
			files = append(files, p)
			continue
		}
		entries, err := os.ReadDir(p) // sorted by name
		if err != nil {
			errs = append(errs, err)
			continue
		}
		n := len(files)
		for _, e := range entries {
			if !e.IsDir() && strings.HasSuffix(e.Name(), ".service") {
				files = append(files, filepath.Join(p, e.Name()))
			}
		}
		if len(files) == n {
			errs = append(errs, fmt.Errorf("%s: no *.service files in the directory", p))
		}
	}
	return files, errs
}

// loadValidator loads the registry the flags name, with the config's
// local additions (registry.local), and the config's rule levels
// (mdns.rules) with the flags' on top.
func loadValidator(ctx context.Context, rf *registryFlags, pf *policyFlags, logger *slog.Logger) (*mdns.Validator, error) {
	snap, err := rf.load(ctx, logger)
	if err != nil {
		return nil, err
	}
	base, err := rf.cfg.MDNSPolicy()
	if err != nil {
		return nil, err
	}
	return mdns.NewValidator(snap, pf.over(base)), nil
}

// readAvahi parses one file; errors name the file (and line).
func readAvahi(path, hostname string) ([]*mdns.Advertisement, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return mdns.ParseAvahi(f, path, hostname)
}

// cliAdvertisement builds the advertisement of svcreg validate's flags.
func cliAdvertisement(pos []string, instance string, haveInstance bool, port int, host string,
	txt []string, haveTXT bool, subtypes []string) (*mdns.Advertisement, error) {
	switch {
	case len(pos) == 0:
		return nil, errors.New("no service TYPE given (e.g. _ipp._tcp)")
	case len(pos) > 1:
		return nil, fmt.Errorf("one service TYPE expected, got %d arguments: %s", len(pos), strings.Join(pos, " "))
	case !haveInstance:
		return nil, errors.New("--instance is required")
	}
	typ := strings.TrimSuffix(pos[0], ".")
	svc, rest := cutLabel(typ)
	proto, domain := cutLabel(rest)
	if domain == "" {
		domain = "local"
	}
	a := &mdns.Advertisement{Instance: instance, Service: svc, Proto: proto, Domain: domain,
		Subtypes: subtypes, Origin: "command line"}
	if port >= 0 {
		a.Port = uint16(port)
	}
	if host != "" {
		a.Host = strings.TrimSuffix(host, ".") + "."
	}
	if haveTXT {
		a.TXT, a.HasTXT = txt, true
		for _, s := range txt {
			if len(s) > 255 {
				return nil, fmt.Errorf("--txt %q...: a TXT string holds at most 255 bytes", s[:20])
			}
		}
	}
	return a, nil
}

// cutLabel splits the first label off a service type.
func cutLabel(s string) (label, rest string) {
	label, rest, _ = strings.Cut(s, ".")
	return label, rest
}

// writeFindingsJSON writes one finding per line.
func writeFindingsJSON(w io.Writer, fs []mdns.Finding) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i := range fs {
		if err := enc.Encode(&fs[i]); err != nil {
			return err
		}
	}
	return nil
}

// writeFindingsTable writes an aligned table and a count; BASIS is the
// layer a verdict rests on (registry, local, profile, or rfc alone);
// withSource adds the file:line column (Avahi files).
func writeFindingsTable(w io.Writer, fs []mdns.Finding, withSource bool) {
	if len(fs) == 0 {
		fmt.Fprintln(w, "no findings")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	if withSource {
		fmt.Fprint(tw, "ORIGIN\t")
	}
	fmt.Fprintln(tw, "SEVERITY\tRULE\tBASIS\tINSTANCE\tTYPE\tMESSAGE\tRFC")
	var count [3]int
	for _, f := range fs {
		if withSource {
			fmt.Fprintf(tw, "%s\t", f.Origin)
		}
		basis := f.Layer()
		if basis == "" {
			basis = "rfc"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.Severity, f.Rule, basis, cellText(f.Instance), cellText(f.ServiceType),
			cellText(f.Message), f.RFC)
		if f.Severity >= 0 && int(f.Severity) < len(count) {
			count[f.Severity]++
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d %s: %d %s, %d %s, %d info\n", len(fs), plural(len(fs), "finding"),
		count[mdns.SeverityError], plural(count[mdns.SeverityError], "error"),
		count[mdns.SeverityWarning], plural(count[mdns.SeverityWarning], "warning"), count[mdns.SeverityInfo])
}

func plural(n int, s string) string {
	if n == 1 {
		return s
	}
	return s + "s"
}

// cellText quotes a string that would garble the table (control
// characters, tabs, invalid UTF-8); others are shown as they are.
func cellText(s string) string {
	if !utf8.ValidString(s) {
		return strconv.Quote(s)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) && r != ' ' {
			return strconv.Quote(s)
		}
	}
	if s == "" {
		return "-"
	}
	return s
}
