package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/svcreg/svcreg/registry"
)

// statsMaxConflicts is how many conflicts the human output lists; --json
// lists them all.
const statsMaxConflicts = 20

// statsSource is one loaded source in svcreg stats: registry.SourceInfo
// (name, format, "Last Updated", records) and the rows it skipped.
type statsSource struct {
	registry.SourceInfo
	Path        string `json:"path,omitempty"`
	SkippedRows int    `json:"skipped_rows"`
}

// statsOutput is the JSON of svcreg stats: registry.Stats, its sources
// with their skipped rows, and the full conflict list.
type statsOutput struct {
	registry.Stats
	Sources      []statsSource       `json:"sources"`
	ConflictList []registry.Conflict `json:"conflict_list"`
}

// runStats implements "svcreg stats [--registry PATH]... [--json]".
func runStats(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("svcreg stats", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var rf registryFlags
	rf.register(fs)
	asJSON := fs.Bool("json", false, "print the statistics as one JSON object")
	quiet := quietFlag(fs, "log only warnings and errors to stderr")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: svcreg stats [--registry PATH]... [--format FORMAT] [--json] [-q]")
		fmt.Fprintln(fs.Output(), "\nflags:")
		fs.PrintDefaults()
	}
	if code, ok := parseRegistryFlags(fs, args, "stats", stderr); !ok {
		return code
	}
	snap, err := rf.load(ctx, newCLILogger(stderr, *quiet))
	if err != nil {
		fmt.Fprintf(stderr, "svcreg stats: %v\n", err)
		return exitUsage
	}
	out := statsOutput{Stats: snap.Stats(), ConflictList: snap.Conflicts()}
	if out.ConflictList == nil {
		out.ConflictList = []registry.Conflict{}
	}
	for i, si := range out.Stats.Sources {
		ss := statsSource{SourceInfo: si}
		if i < len(rf.loaded) {
			ss.Path, ss.SkippedRows = rf.loaded[i].Path, rf.loaded[i].Skipped
		}
		out.Sources = append(out.Sources, ss)
	}
	w := bufio.NewWriter(stdout)
	if *asJSON {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(out); err != nil {
			fmt.Fprintf(stderr, "svcreg stats: %v\n", err)
			return exitUsage
		}
	} else {
		writeStatsText(w, &out)
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintf(stderr, "svcreg stats: writing output: %v\n", err)
		return exitUsage
	}
	return exitOK
}

// writeStatsText prints the statistics for people: the sources as a
// table, then one labelled line per figure, then the first conflicts.
func writeStatsText(w io.Writer, s *statsOutput) {
	fmt.Fprintln(w, "Sources:")
	rows := [][]string{{"NAME", "FORMAT", "LAST UPDATED", "RECORDS", "SKIPPED ROWS"}}
	for _, src := range s.Sources {
		upd := src.Updated
		if upd == "" {
			upd = "-"
		}
		rows = append(rows, []string{cleanCell(src.Name), string(src.Format), upd, strconv.Itoa(src.Records), strconv.Itoa(src.SkippedRows)})
	}
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], len(c))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		b.WriteString("  ")
		for i, c := range r {
			b.WriteString(c)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-len(c)+2))
			}
		}
		fmt.Fprintln(w, b.String())
	}
	updated := s.Updated
	if updated == "" {
		updated = "- (no source gives one)"
	}
	txtNames := 0
	for _, n := range s.TXTKeysByKind {
		txtNames += n
	}
	lines := [][2]string{
		{"Records", strconv.Itoa(s.Records)},
		{"Distinct names", strconv.Itoa(s.Names)},
		{"Per protocol", countList(s.PerProtocol, []string{"tcp", "udp", "sctp", "dccp", "none"})},
		{"By status", countList(s.ByStatus, []string{"assigned", "reserved", "unassigned", "alias", "duplicate"})},
		{"Port ranges", strconv.Itoa(s.Ranges)},
		{"Without port", strconv.Itoa(s.NoPort)},
		{"Names with TXT keys", fmt.Sprintf("%d (%s)", txtNames, countList(s.TXTKeysByKind, []string{"defined", "none", "proprietary", "external", "unspecified"}))},
		{"Aliases", strconv.Itoa(s.Aliases)},
		{"Duplicates", strconv.Itoa(s.Duplicates)},
		{"Invalid names", strconv.Itoa(s.InvalidNames) + " (not RFC 6335 section 5.1)"},
		{"Last Updated", updated},
		{"Conflicts", strconv.Itoa(s.Conflicts)},
	}
	for _, l := range lines {
		fmt.Fprintf(w, "%-20s %s\n", l[0]+":", l[1])
	}
	for i, c := range s.ConflictList {
		if i == statsMaxConflicts {
			fmt.Fprintf(w, "  ... and %d more (svcreg stats --json lists them all)\n", len(s.ConflictList)-i)
			break
		}
		fmt.Fprintf(w, "  %s: kept %s, dropped %s (%s)\n", cleanCell(c.Key), cleanCell(c.Kept), cleanCell(c.Other), strings.Join(c.Fields, ", "))
	}
}

// countList renders counts as "tcp 5, udp 3", in the given order and then
// any other keys sorted; zero counts of known keys are shown too.
func countList(m map[string]int, order []string) string {
	var parts []string
	known := map[string]bool{}
	for _, k := range order {
		known[k] = true
		parts = append(parts, k+" "+strconv.Itoa(m[k]))
	}
	var extra []string
	for k := range m {
		if !known[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	for _, k := range extra {
		parts = append(parts, k+" "+strconv.Itoa(m[k]))
	}
	return strings.Join(parts, ", ")
}
