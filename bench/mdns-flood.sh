#!/usr/bin/env bash
# bench/mdns-flood.sh: the full-length issue 6 mDNS flood. Runs
# cmd/svcreg's TestRobustMDNSFlood (the CI variant floods 100,000
# instances) with 1,000,000 distinct instances: `svcreg serve
# --mdns-interface lab0` in an mdns-lab namespace, bench/cmd/mdnsflood
# multicasting from the lab's other host, one malformed packet after every
# 100 announcements, then 1,500 malformed packets alone. Prints the test's
# figures: packets offered, counted and dropped, store bound and
# evictions, HTTP/DNS probe latencies during the flood, daemon RSS.
#
#   bench/mdns-flood.sh
# Environment (defaults in brackets):
#   INSTANCES  distinct instances [1000000]
#   RATE       packets per second offered [10000]
#   RSS_MB     stated RSS ceiling of the daemon in MiB [160]
#   FAMILY     4 floods 224.0.0.251, 6 floods ff02::fb [4]
# Needs root (network namespaces), go, iproute2, avahi-daemon, curl.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
INSTANCES=${INSTANCES:-1000000}
RATE=${RATE:-10000}
RSS_MB=${RSS_MB:-160}
FAMILY=${FAMILY:-4}
cd "$ROOT"
echo "== mDNS flood over IPv$FAMILY: $INSTANCES instances at $RATE packets/s; load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
CI=true SVCREG_FLOOD_FAMILY=$FAMILY SVCREG_FLOOD_LAB_PREFIX=svcrf2 SVCREG_FLOOD_INSTANCES=$INSTANCES SVCREG_FLOOD_RATE=$RATE SVCREG_FLOOD_RSS_MB=$RSS_MB \
	go test -count=1 -timeout 30m -run '^TestRobustMDNSFlood$' -v ./cmd/svcreg 2>&1 |
	grep -E '^(---|ok|FAIL|PASS)|flood:|responsiveness|RSS:|Error|expected|actual|Messages'
