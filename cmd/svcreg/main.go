// Command svcreg turns the IANA service-name and port registry into live
// infrastructure: lookups, an authoritative DNS server, and a DNS-SD
// validator for the LAN. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// Exit statuses shared by every subcommand.
const (
	exitOK       = 0
	exitNotFound = 1 // lookup: nothing found; validate/scan: a finding reached --fail-on
	exitUsage    = 2 // bad usage or unreadable input
)

// command is one subcommand: it parses its own flags from args (without
// the subcommand name) and returns the process exit status.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

func commands() map[string]command {
	return map[string]command{
		"lookup":      {"look up service names, DNS-SD types and ports", runLookup},
		"stats":       {"summarise the loaded registry", runStats},
		"serve":       {"run the daemon (DNS, HTTP API, metrics, mDNS validation)", runServe},
		"zone":        {"print the registry as an RFC 1035 zone file", runZone},
		"validate":    {"validate a DNS-SD advertisement or Avahi service files", runValidate},
		"scan":        {"listen on a LAN interface and report what is advertised", runScan},
		"rules":       {"print the DNS-SD validation rule catalogue", runRules},
		"export":      {"write the registry as a services(5) file, IANA CSV, JSON lines or a zone", runExport},
		"fetch":       {"download the official registry into the cache", runFetch},
		"config":      {"config check: validate and print the effective config", runConfig},
		"healthcheck": {"probe a running daemon's /healthz (for containers)", runHealthcheck},
		"version":     {"print the version, commit, Go version and build tags", runVersion},
		"tsig-keygen": {"print a new TSIG key for dns.tsig_keys, BIND and Knot", runTSIGKeygen},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmds := commands()
	if len(args) == 0 {
		usage(stderr, cmds)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help":
		usage(stdout, cmds)
		return exitOK
	case "-version", "--version":
		return runVersion(ctx, args[1:], stdout, stderr)
	case "help":
		// "svcreg help CMD" is "svcreg CMD --help".
		if len(args) == 1 {
			usage(stdout, cmds)
			return exitOK
		}
		if _, ok := cmds[args[1]]; !ok {
			fmt.Fprintf(stderr, "svcreg help: unknown command %q (svcreg help lists them)\n", args[1])
			return exitUsage
		}
		return cmds[args[1]].run(ctx, []string{"--help"}, stdout, stderr)
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "svcreg: unknown command %q\n", args[0])
		usage(stderr, cmds)
		return exitUsage
	}
	return c.run(ctx, args[1:], stdout, stderr)
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "usage: svcreg COMMAND [FLAGS] [ARGS]")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'svcreg help COMMAND' (or 'svcreg COMMAND --help') for a command's flags.")
	fmt.Fprintln(w, "Exit status: 0 ok or found, 1 nothing found or a finding at --fail-on, 2 bad usage or unreadable input.")
}

// quietFlag adds -q and its long form --quiet, one switch under two names.
func quietFlag(fs *flag.FlagSet, usage string) *bool {
	q := new(bool)
	quietFlagVar(fs, q, usage)
	return q
}

// quietFlagVar is quietFlag storing into p.
func quietFlagVar(fs *flag.FlagSet, p *bool, usage string) {
	fs.BoolVar(p, "q", false, usage)
	fs.BoolVar(p, "quiet", false, "same as -q")
}

// parseFlags parses args into fs. The command's usage is printed only
// when help is asked for; a bad flag or value prints one line, naming
// the command, the flag as users type it (--name) and, through the
// flag's own error, the values it accepts.
func parseFlags(fs *flag.FlagSet, args []string) error {
	full, out := fs.Usage, fs.Output()
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.Usage = full
	fs.SetOutput(out)
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		if full != nil {
			full()
		}
	default:
		fmt.Fprintf(out, "%s: %s (%s -h lists the flags)\n", fs.Name(), longFlagNames(err.Error()), fs.Name())
	}
	return err
}

// longFlagNames rewrites the flag package's "-name" to "--name" for
// names longer than one letter, the spelling the usage and docs use.
func longFlagNames(msg string) string {
	var b strings.Builder
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		b.WriteByte(c)
		if c == '-' && (i == 0 || msg[i-1] == ' ') && i+2 < len(msg) && isFlagChar(msg[i+1]) && isFlagChar(msg[i+2]) {
			b.WriteByte('-')
		}
	}
	return b.String()
}

func isFlagChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// parseFlagsOnly parses args into fs for a command that takes flags but no
// arguments. When the command must stop (help asked, a bad flag, a stray
// argument) it returns false and the exit status.
func parseFlagsOnly(fs *flag.FlagSet, args []string, cmd string, stderr io.Writer) (int, bool) {
	return parseNoArgs(fs, args, cmd, "", stderr)
}

// parseNoArgs is parseFlagsOnly with hint appended to the error for a
// stray argument.
func parseNoArgs(fs *flag.FlagSet, args []string, cmd, hint string, stderr io.Writer) (int, bool) {
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "svcreg %s: unexpected argument %q%s\n", cmd, rest[0], hint)
		return exitUsage, false
	}
	return exitOK, true
}
