package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"

	"github.com/svcreg/svcreg/config"
	"github.com/svcreg/svcreg/mdns"
)

// runConfig is `svcreg config check`: load the config exactly as serve
// would (file, SVCREG_* environment, the same flags), read the registry
// sources it names as serve would at start-up, and print the effective
// configuration, each value annotated with where it came from.
func runConfig(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const usage = "usage: svcreg config check [--config FILE] [--json] [-q] [serve flags]"
	if len(args) == 0 || args[0] != "check" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprintln(stdout, usage)
			return exitOK
		}
		fmt.Fprintln(stderr, usage)
		return exitUsage
	}
	fs := flag.NewFlagSet("svcreg config check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rf := registryFlags{offline: true}
	rf.configFlags.register(fs)
	bare := fs.Bool("bare", false, "print the config without the origin comments")
	asJSON := fs.Bool("json", false, `print one JSON object: {"file", "config", "origins"}`)
	quiet := quietFlag(fs, "print nothing; the exit status says whether the config is good")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), usage+"\n\nValidate the configuration serve would run with (file, SVCREG_* variables,\nflags), read the registry sources it names, and print it; exit 2 naming\nthe file, line and key of every problem.\n\nflags:")
		fs.PrintDefaults()
	}
	if code, ok := parseFlagsOnly(fs, args[1:], "config check", stderr); !ok {
		return code
	}
	environ := os.Environ()
	if _, err := rf.load(ctx, newCLILogger(stderr, *quiet)); err != nil {
		printErrorLines(stderr, "config check", err)
		return exitUsage
	}
	cfg := rf.cfg
	// The interfaces must exist now, as serve requires at start.
	badIface := false
	for _, name := range cfg.MDNS.Interfaces {
		if err := mdns.CheckInterfaces([]string{name}); err != nil {
			fmt.Fprintf(stderr, "svcreg config check: mdns.interfaces (%s): %v\n", cfg.Origin("mdns.interfaces"), err)
			badIface = true
		}
	}
	if badIface {
		return exitUsage
	}
	for _, spec := range slices.Sorted(maps.Keys(rf.skipped)) {
		fmt.Fprintf(stderr, "svcreg config check: warning: --registry %s: %v\n", spec, rf.skipped[spec])
	}
	for _, name := range config.UnknownEnv(environ) {
		fmt.Fprintf(stderr, "svcreg config check: warning: %s names no config key; ignored\n", name)
	}
	var err error
	switch {
	case *quiet:
	case *asJSON:
		err = cfg.WriteJSON(stdout)
	default:
		if cfg.Path != "" {
			fmt.Fprintf(stdout, "# effective svcreg configuration (file %s)\n", cfg.Path)
		} else {
			fmt.Fprintln(stdout, "# effective svcreg configuration (no config file)")
		}
		err = cfg.WriteYAML(stdout, !*bare)
	}
	if err != nil {
		fmt.Fprintf(stderr, "svcreg config check: %v\n", err)
		return exitUsage
	}
	return exitOK
}
