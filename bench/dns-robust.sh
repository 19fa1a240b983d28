#!/usr/bin/env bash
# bench/dns-robust.sh: the full-length issue 6 runs of the resolver under
# dnsperf (the CI variants of the same tests run 10 s each):
#   overload: dnsperf far above capacity for OVERLOAD seconds [30]: the
#     server stays up, heap and goroutines bounded, normal answers at once;
#   reload storm: SetSnapshot every 100 ms for STORM seconds [60] while
#     dnsperf runs at 2,000 q/s: no SERVFAIL, no lost query, every answer
#     from one complete snapshot.
# Runs resolver's TestSystemOverload and TestSystemReloadStorm without the
# race detector and prints their figures. Needs go and dnsperf.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OVERLOAD=${OVERLOAD:-30}
STORM=${STORM:-60}
cd "$ROOT"
CI=true SVCREG_OVERLOAD_SECONDS=$OVERLOAD SVCREG_STORM_SECONDS=$STORM \
	go test -count=1 -timeout 10m -run 'TestSystem(Overload|ReloadStorm)$' -v ./resolver 2>&1 |
	grep -E '^(---|ok|FAIL|PASS)|overload [0-9]+s:|reload storm [0-9]+s:|Error|expected|actual|Messages'
