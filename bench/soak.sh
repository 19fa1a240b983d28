#!/usr/bin/env bash
# bench/soak.sh: the issue 6 soak. `svcreg serve` (the real binary) answers
# dnsperf at 80% of its measured capacity for DURATION seconds while the
# registry is reloaded every RELOAD_EVERY seconds (SIGHUP, or an atomic
# rewrite of the registry file that the watcher picks up). Samples the
# daemon's RSS (/proc/PID/status VmRSS) and goroutines (go_goroutines
# from /metrics) at the start, every SAMPLE_EVERY seconds and at the end,
# and prints them with dnsperf's totals and the reload counters.
#
# Usage: bench/soak.sh            (from the repository root or anywhere)
# Environment (defaults in brackets):
#   DURATION      soak seconds [600]
#   RELOAD_EVERY  seconds between reloads; 0: no reloads (the baseline) [5]
#   RELOAD_MODE   "hup" (SIGHUP) or "rewrite" (replace the registry file) [hup]
#   LOAD_PCT      percent of the measured capacity offered [80]
#   CAPACITY      queries/s to take as capacity; empty = measure it first
#                 with an unlimited dnsperf run of CAPACITY_SECONDS [""]
#   CAPACITY_SECONDS  length of that measurement [15]
#   SAMPLE_EVERY  seconds between RSS/goroutine samples [60]
#   REGISTRY      registry file [../shared/iana/service-names-port-numbers.xml]
#   REGISTRY_ALT  a second registry file: each reload then serves the other
#                 one (a reload with real changes) [""]
#   QUERIES       lines in the dnsperf query file [200000]
#   CLIENTS, OUTSTANDING  dnsperf -c and -q [4, 200]
#   SERVER_CPU, CLIENT_CPU  taskset CPUs of svcreg and dnsperf [1, 0]
#   DNS_PORT, HTTP_PORT  loopback ports [15310, 15390]
#   NICE          nice level of svcreg and dnsperf [0]
#   KEEP=1        keep the work directory (logs, dnsperf output, samples)
# Needs: go, dnsperf, dig, curl, taskset (util-linux).
# Exit status: 0 when the run completed with no SERVFAIL and every reload
# succeeded; 1 otherwise (the figures are printed either way).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${DURATION:-600}
RELOAD_EVERY=${RELOAD_EVERY:-5}
RELOAD_MODE=${RELOAD_MODE:-hup}
LOAD_PCT=${LOAD_PCT:-80}
CAPACITY=${CAPACITY:-}
CAPACITY_SECONDS=${CAPACITY_SECONDS:-15}
SAMPLE_EVERY=${SAMPLE_EVERY:-60}
REGISTRY=${REGISTRY:-$ROOT/../shared/iana/service-names-port-numbers.xml}
QUERIES=${QUERIES:-200000}
CLIENTS=${CLIENTS:-4}
OUTSTANDING=${OUTSTANDING:-200}
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
DNS_PORT=${DNS_PORT:-15310}
HTTP_PORT=${HTTP_PORT:-15390}
NICE=${NICE:-0}
ZONE=services.internal.

for tool in go dnsperf dig curl taskset; do
	command -v "$tool" >/dev/null || { echo "bench/soak.sh: $tool not found (scripts/install-deps.sh installs it)" >&2; exit 2; }
done
case $RELOAD_MODE in hup | rewrite) ;; *) echo "bench/soak.sh: RELOAD_MODE must be hup or rewrite" >&2; exit 2 ;; esac
[ -r "$REGISTRY" ] || { echo "bench/soak.sh: registry $REGISTRY not readable" >&2; exit 2; }
REGISTRY_ALT=${REGISTRY_ALT:-}
[ -z "$REGISTRY_ALT" ] || [ -r "$REGISTRY_ALT" ] || { echo "bench/soak.sh: registry $REGISTRY_ALT not readable" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/svcreg-soak.XXXXXX")
SVCREG_PID=""
DNSPERF_PID=""
cleanup() {
	# Only the processes this script started, by PID.
	for pid in $DNSPERF_PID $SVCREG_PID; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	if [ "${KEEP:-0}" = 1 ]; then
		echo "work directory kept: $WORK" >&2
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT

log() { echo "== $(date -u +%H:%M:%S) $*" >&2; }

log "building svcreg and dnsperf-queries"
(cd "$ROOT" && go build -o "$WORK/svcreg" ./cmd/svcreg && go build -o "$WORK/dnsperf-queries" ./bench/cmd/dnsperf-queries)
cp "$REGISTRY" "$WORK/registry.xml"
"$WORK/svcreg" zone -q --registry "$WORK/registry.xml" --zone "$ZONE" -o "$WORK/zone.db"
"$WORK/dnsperf-queries" -zone-file "$WORK/zone.db" -n "$QUERIES" >"$WORK/queries.txt"

# With SIGHUP reloads the watcher is off, so that each reload is one we sent.
watch=false
[ "$RELOAD_MODE" = rewrite ] && watch=true
log "starting svcreg serve on 127.0.0.1:$DNS_PORT (CPU $SERVER_CPU), registry watch $watch"
CACHE_DIRECTORY=$WORK/cache SVCREG_REGISTRY_WATCH=$watch nice -n "$NICE" taskset -c "$SERVER_CPU" "$WORK/svcreg" serve \
	--registry "$WORK/registry.xml" --zone "$ZONE" --dns-listen "127.0.0.1:$DNS_PORT" \
	--http-listen "127.0.0.1:$HTTP_PORT" --log-level warn >"$WORK/svcreg.log" 2>&1 &
SVCREG_PID=$!
for _ in $(seq 1 1200); do
	curl -sf "http://127.0.0.1:$HTTP_PORT/readyz" >/dev/null 2>&1 && break
	kill -0 "$SVCREG_PID" 2>/dev/null || { echo "bench/soak.sh: svcreg exited:" >&2; cat "$WORK/svcreg.log" >&2; exit 1; }
	sleep 0.1
done
curl -sf "http://127.0.0.1:$HTTP_PORT/readyz" >/dev/null || { echo "bench/soak.sh: svcreg not ready" >&2; exit 1; }

metric() { # metric NAME: its value from /metrics, or "?"
	local body v
	body=$(curl -sf --max-time 5 "http://127.0.0.1:$HTTP_PORT/metrics") || body=""
	v=$(awk -v n="$1" '$1 == n { print $2 }' <<<"$body")
	echo "${v:-?}"
}
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$SVCREG_PID/status"; }
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$SVCREG_PID/status"; }
sample() { # sample LABEL: one line of the samples table
	printf '%-8s %8s %10.1f %10s %8s %8s\n' "$1" "$(($(date +%s) - T0))" "$(awk -v k="$(rss_kb)" 'BEGIN { print k / 1024 }')" \
		"$(metric go_goroutines)" "$(metric 'svcreg_registry_reloads_total{result="success"}')" \
		"$(metric 'svcreg_registry_reloads_total{result="failure"}')" | tee -a "$WORK/samples.txt"
}
dnsperf_args=(-s 127.0.0.1 -p "$DNS_PORT" -d "$WORK/queries.txt" -c "$CLIENTS" -q "$OUTSTANDING" -T 1)

if [ -z "$CAPACITY" ]; then
	log "measuring capacity: dnsperf unlimited for ${CAPACITY_SECONDS}s"
	nice -n "$NICE" taskset -c "$CLIENT_CPU" dnsperf "${dnsperf_args[@]}" -l "$CAPACITY_SECONDS" >"$WORK/capacity.dnsperf" 2>&1
	CAPACITY=$(awk '/Queries per second:/ { printf "%d", $4 }' "$WORK/capacity.dnsperf")
	[ -n "$CAPACITY" ] && [ "$CAPACITY" -gt 0 ] || { echo "bench/soak.sh: capacity run failed" >&2; cat "$WORK/capacity.dnsperf" >&2; exit 1; }
fi
RATE=$((CAPACITY * LOAD_PCT / 100))
log "capacity $CAPACITY q/s; soak at $RATE q/s ($LOAD_PCT%) for ${DURATION}s, reload ($RELOAD_MODE) every ${RELOAD_EVERY}s"

T0=$(date +%s)
printf '%-8s %8s %10s %10s %8s %8s\n' sample seconds "RSS MiB" goroutines reloads failed | tee "$WORK/samples.txt"
reloads0=$(metric 'svcreg_registry_reloads_total{result="success"}')
sample start
nice -n "$NICE" taskset -c "$CLIENT_CPU" dnsperf "${dnsperf_args[@]}" -l "$DURATION" -Q "$RATE" >"$WORK/soak.dnsperf" 2>&1 &
DNSPERF_PID=$!
sent=0
next_sample=$((T0 + SAMPLE_EVERY))
end=$((T0 + DURATION))
files=("$REGISTRY")
[ -z "$REGISTRY_ALT" ] || files=("$REGISTRY_ALT" "$REGISTRY")
while kill -0 "$DNSPERF_PID" 2>/dev/null && [ "$(date +%s)" -lt $((end + 30)) ]; do
	if [ "$RELOAD_EVERY" = 0 ]; then
		sleep 1
	else
		sleep "$RELOAD_EVERY"
		kill -0 "$DNSPERF_PID" 2>/dev/null || break
		next=${files[$((sent % ${#files[@]}))]}
		if [ "$RELOAD_MODE" = hup ]; then
			[ -z "$REGISTRY_ALT" ] || { cp "$next" "$WORK/registry.xml.new" && mv "$WORK/registry.xml.new" "$WORK/registry.xml"; }
			kill -HUP "$SVCREG_PID"
		else
			cp "$next" "$WORK/registry.xml.new" && mv "$WORK/registry.xml.new" "$WORK/registry.xml"
		fi
		sent=$((sent + 1))
	fi
	kill -0 "$SVCREG_PID" 2>/dev/null || { echo "bench/soak.sh: svcreg died:" >&2; tail -20 "$WORK/svcreg.log" >&2; exit 1; }
	if [ "$(date +%s)" -ge "$next_sample" ] && [ "$(date +%s)" -lt "$end" ]; then
		sample "t"
		next_sample=$((next_sample + SAMPLE_EVERY))
	fi
done
wait "$DNSPERF_PID" || true
DNSPERF_PID=""
sleep 3 # let the last reload finish before the final sample
sample end
reloads1=$(metric 'svcreg_registry_reloads_total{result="success"}')
failed=$(metric 'svcreg_registry_reloads_total{result="failure"}')
hwm=$(hwm_kb)

out="$WORK/soak.dnsperf"
sed -n '/Statistics:/,$p' "$out" | sed 's/^/    /' >&2
done_q=$(awk '/Queries completed:/ { print $3 }' "$out")
lost_q=$(awk '/Queries lost:/ { print $3 }' "$out")
qps=$(awk '/Queries per second:/ { print $4 }' "$out")
codes=$(awk '/Response codes:/ { sub(/.*Response codes: */, ""); print }' "$out")
servfail=$(echo "$codes" | grep -o 'SERVFAIL [0-9]*' | awk '{ print $2 }' || true)

echo
echo "soak: ${DURATION}s at $RATE q/s offered ($LOAD_PCT% of $CAPACITY), reload ($RELOAD_MODE) every ${RELOAD_EVERY}s (0: none); registry $(basename "$REGISTRY")${REGISTRY_ALT:+ alternating with $(basename "$REGISTRY_ALT")}; server CPU $SERVER_CPU, dnsperf CPU $CLIENT_CPU, nice $NICE; load average $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%Y-%m-%dT%H:%MZ)"
echo "dnsperf: $done_q completed, $lost_q lost, $qps q/s; response codes: $codes"
awk -v s="$reloads0" -v e="$reloads1" -v n="$sent" -v f="$failed" 'BEGIN { printf "reloads: %d sent, %d succeeded, %s failed\n", n, e - s, f }'
echo "RSS peak (VmHWM): $(awk -v k="$hwm" 'BEGIN { printf "%.1f MiB", k / 1024 }')"
cat "$WORK/samples.txt"

status=0
[ -n "$done_q" ] || { echo "bench/soak.sh: dnsperf printed no result" >&2; status=1; }
[ -z "$servfail" ] || [ "$servfail" = 0 ] || { echo "bench/soak.sh: $servfail SERVFAIL" >&2; status=1; }
[ "$failed" = 0 ] || { echo "bench/soak.sh: $failed reloads failed" >&2; status=1; }
exit $status
