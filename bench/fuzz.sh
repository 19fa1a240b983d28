#!/usr/bin/env bash
# bench/fuzz.sh: run every go test -fuzz target in the module for a set time each.
#
#   bench/fuzz.sh [SECONDS_PER_TARGET] [PACKAGE_PATTERN]
#
# Default 60 s per target over ./... . Targets are discovered with `go test -list`,
# so a new Fuzz function is picked up without editing this script. A crasher is
# written by the Go toolchain under PKG/testdata/fuzz/FuzzX/ (commit it: it then
# runs as a regression test in every `go test`). Prints one line per target with
# the executions reached and a total at the end; exits 1 if any target failed.
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
pattern=${2:-./...}
fail=0
total_targets=0
summary=()
for pkg in $(go list "$pattern"); do
  targets=$(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true)
  [ -z "$targets" ] && continue
  for t in $targets; do
    total_targets=$((total_targets + 1))
    log=$(mktemp)
    start=$(date +%s)
    status=FAIL
    for attempt in 1 2; do
      if go test -run '^$' -fuzz "^${t}\$" -fuzztime "${secs}s" "$pkg" >"$log" 2>&1; then
        status=ok
        break
      fi
      # Go's fuzzing coordinator can fail with "context deadline exceeded"
      # at the end of -fuzztime without any failing input (golang/go#75804):
      # not a finding, so run the target once more. A real crasher always
      # says "Failing input written to".
      if grep -q 'Failing input written to' "$log" || ! grep -q 'context deadline exceeded' "$log"; then
        break
      fi
      echo "     $t: fuzzing coordinator timed out without a failing input (golang/go#75804); running it again"
    done
    [ "$status" = FAIL ] && fail=1
    end=$(date +%s)
    # The last progress line reads "fuzz: elapsed: 1m0s, execs: 123456 (2057/sec), ..."
    execs=$(grep -o 'execs: [0-9]*' "$log" | tail -1 | awk '{print $2}')
    line=$(printf '%-4s %-45s %-28s %6ss %12s execs' "$status" "$pkg" "$t" "$((end - start))" "${execs:-?}")
    echo "$line"
    summary+=("$line")
    if [ "$status" = FAIL ]; then
      sed -n '1,60p' "$log" | sed 's/^/    /'
    fi
    rm -f "$log"
  done
done
echo "fuzz.sh: ${total_targets} targets, ${secs}s each, $(date -u +%Y-%m-%dT%H:%MZ), $(go version | awk '{print $3}')"
exit $fail
