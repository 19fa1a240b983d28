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
		"fetch":       {"download the official registry into the cache", runFetch},
		"config":      {"config check: validate and print the effective config", runConfig},
		"healthcheck": {"probe a running daemon's /healthz (for containers)", runHealthcheck},
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
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr, cmds)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
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
	fmt.Fprintln(w, "\nRun 'svcreg COMMAND -h' for a command's flags.")
}

// parseFlagsOnly parses args into fs for a command that takes flags but no
// arguments. When the command must stop (help asked, a bad flag, a stray
// argument) it returns false and the exit status.
func parseFlagsOnly(fs *flag.FlagSet, args []string, cmd string, stderr io.Writer) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "svcreg %s: unexpected argument %q\n", cmd, fs.Arg(0))
		return exitUsage, false
	}
	return exitOK, true
}
