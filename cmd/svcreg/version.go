package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/svcreg/svcreg/internal/embedded"
)

// versionInfo is what svcreg version reports, from the build information
// the Go toolchain records in the binary.
type versionInfo struct {
	Module           string   `json:"module"`
	Version          string   `json:"version"`
	Commit           string   `json:"commit,omitempty"`
	CommitTime       string   `json:"commit_time,omitempty"`
	Modified         bool     `json:"modified,omitempty"`
	GoVersion        string   `json:"go_version"`
	Platform         string   `json:"platform"`
	BuildTags        []string `json:"build_tags"`
	EmbeddedRegistry bool     `json:"embedded_registry"`
	EmbeddedBytes    int      `json:"embedded_registry_bytes,omitempty"`
}

func readVersionInfo() versionInfo {
	v := versionInfo{
		Module: "github.com/svcreg/svcreg", Version: buildVersion(), GoVersion: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH, BuildTags: []string{},
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Path != "" {
			v.Module = bi.Main.Path
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Commit = s.Value
			case "vcs.time":
				v.CommitTime = s.Value
			case "vcs.modified":
				v.Modified = s.Value == "true"
			case "-tags":
				if s.Value != "" {
					v.BuildTags = strings.Split(s.Value, ",")
				}
			}
		}
	}
	if b, ok := embedded.Registry(); ok {
		v.EmbeddedRegistry, v.EmbeddedBytes = true, len(b)
	}
	return v
}

// runVersion implements "svcreg version [--json]" (also "svcreg
// --version").
func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("svcreg version", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the build information as one JSON object")
	quiet := quietFlag(fs, "print the version alone")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: svcreg version [--json] [-q]\n\nPrints the module version, commit, Go version, build tags and whether\na registry is embedded.\n\nflags:")
		fs.PrintDefaults()
	}
	if code, ok := parseFlagsOnly(fs, args, "version", stderr); !ok {
		return code
	}
	v := readVersionInfo()
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			fmt.Fprintf(stderr, "svcreg version: writing output: %v\n", err)
			return exitUsage
		}
		return exitOK
	}
	if *quiet {
		fmt.Fprintln(stdout, v.Version)
		return exitOK
	}
	commit := v.Commit
	if commit == "" {
		commit = "unknown"
	} else if v.Modified {
		commit += " (modified)"
	}
	tags := strings.Join(v.BuildTags, ",")
	if tags == "" {
		tags = "none"
	}
	emb := "no (the default is the host's services file plus the built-in table)"
	if v.EmbeddedRegistry {
		emb = fmt.Sprintf("yes (%d bytes of IANA XML)", v.EmbeddedBytes)
	}
	fmt.Fprintf(stdout, "svcreg %s\n  module:    %s\n  commit:    %s\n  go:        %s %s\n  build tags: %s\n  embedded registry: %s\n",
		v.Version, v.Module, commit, v.GoVersion, v.Platform, tags, emb)
	return exitOK
}
