package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/svcreg/svcreg/config"
)

// runConfig is `svcreg config check`: load the config exactly as serve
// would (file, SVCREG_* environment, the same flags) and print the
// effective configuration, each value annotated with where it came from.
func runConfig(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "check" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprintln(stderr, "usage: svcreg config check [--config FILE] [serve flags]")
			return exitOK
		}
		fmt.Fprintln(stderr, "usage: svcreg config check [--config FILE] [serve flags]")
		return exitUsage
	}
	fs := flag.NewFlagSet("svcreg config check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf configFlags
	cf.register(fs)
	bare := fs.Bool("bare", false, "print the config without the origin comments")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: svcreg config check [--config FILE] [serve flags]\n\nValidate the configuration serve would run with (file, SVCREG_* variables,\nflags) and print it; exit 2 naming the key and line of the first problems.")
		fs.PrintDefaults()
	}
	if code, ok := parseFlagsOnly(fs, args[1:], "config check", stderr); !ok {
		return code
	}
	environ := os.Environ()
	cfg, err := cf.load(environ)
	if err != nil {
		printErrorLines(stderr, "config check", err)
		return exitUsage
	}
	for _, name := range config.UnknownEnv(environ) {
		fmt.Fprintf(stderr, "svcreg config check: warning: %s names no config key; ignored\n", name)
	}
	if cfg.Path != "" {
		fmt.Fprintf(stdout, "# effective svcreg configuration (file %s)\n", cfg.Path)
	} else {
		fmt.Fprintln(stdout, "# effective svcreg configuration (no config file)")
	}
	if err := cfg.WriteYAML(stdout, !*bare); err != nil {
		fmt.Fprintf(stderr, "svcreg config check: %v\n", err)
		return 1
	}
	return exitOK
}
