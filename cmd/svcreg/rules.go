package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/svcreg/svcreg/mdns"
)

// runRules implements "svcreg rules [--json]": the validation catalogue
// with default severities, in the order findings are reported.
func runRules(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("svcreg rules", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print one JSON object per rule, one per line")
	quiet := quietFlag(fs, "print only the rule IDs, one per line")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: svcreg rules [--json] [-q]")
		fmt.Fprintln(fs.Output(), "\nflags:")
		fs.PrintDefaults()
	}
	if code, ok := parseFlagsOnly(fs, args, "rules", stderr); !ok {
		return code
	}
	var err error
	w := bufio.NewWriter(stdout)
	switch {
	case *quiet:
		for _, r := range mdns.Rules() {
			if _, err = fmt.Fprintln(w, r.ID); err != nil {
				break
			}
		}
	case *asJSON:
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, r := range mdns.Rules() {
			if err = enc.Encode(r); err != nil {
				break
			}
		}
	default:
		tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "RULE\tSEVERITY\tRFC\tSUMMARY")
		for _, r := range mdns.Rules() {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.ID, r.Severity, r.RFC, r.Summary)
		}
		err = tw.Flush()
	}
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		fmt.Fprintf(stderr, "svcreg rules: writing output: %v\n", err)
		return exitUsage
	}
	return exitOK
}
