#!/usr/bin/env bash
# bench/dns-soak.sh: issue 6's soak of `svcreg serve` (a script, not CI):
# dnsperf at LOAD_PCT [80] % of the capacity measured first, for DURATION
# [600] seconds, with a registry change and reload every RELOAD_EVERY [5]
# seconds; samples RSS (/proc/PID/status VmRSS) and go_goroutines
# (/metrics) every SAMPLE_EVERY [10] seconds and prints the first, last
# and largest, the reload count, lost queries and SERVFAILs.
#
# The registry is the full IANA XML plus a small CSV the script rewrites
# before each SIGHUP (alternating one extra registration), so every
# reload changes the zone and its serial.
# Environment: REGISTRY, DURATION, LOAD_PCT, RATE (q/s; skips the
# capacity probe), RELOAD_EVERY, SAMPLE_EVERY, SERVER_CPU [1],
# CLIENT_CPU [0], SVCREG_PORT [15300], HTTP_PORT [15380], NICE [0],
# KEEP=1 keeps the work directory. Needs go, dnsperf, curl, taskset.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
REGISTRY=${REGISTRY:-$ROOT/../shared/iana/service-names-port-numbers.xml}
DURATION=${DURATION:-600}
LOAD_PCT=${LOAD_PCT:-80}
RATE=${RATE:-}
RELOAD_EVERY=${RELOAD_EVERY:-5}
SAMPLE_EVERY=${SAMPLE_EVERY:-10}
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
SVCREG_PORT=${SVCREG_PORT:-15300}
HTTP_PORT=${HTTP_PORT:-15380}
NICE=${NICE:-0}
ZONE=services.internal.

for tool in go dnsperf curl taskset dig; do
	command -v "$tool" >/dev/null || { echo "bench/dns-soak.sh: $tool not found" >&2; exit 2; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/svcreg-soak.XXXXXX")
PIDS=()
cleanup() {
	for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	if [ "${KEEP:-0}" = 1 ]; then echo "work directory kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
log() { echo "== $*" >&2; }

log "building"
(cd "$ROOT" && go build -o "$WORK/svcreg" ./cmd/svcreg && go build -o "$WORK/dnsperf-queries" ./bench/cmd/dnsperf-queries)
"$WORK/svcreg" zone -q --registry "$REGISTRY" -o "$WORK/zone.db"
"$WORK/dnsperf-queries" -zone-file "$WORK/zone.db" -n 200000 -seed 1 >"$WORK/queries.txt"

HEADER="Service Name,Port Number,Transport Protocol,Description,Assignee,Contact,Registration Date,Modification Date,Reference,Service Code,Unauthorized Use Reported,Assignment Notes"
write_extra() { # write_extra N: the CSV of reload N
	{
		echo "$HEADER"
		echo "svcreg-soak,39997,tcp,Soak test entry,[x],[x],,,,,,"
		if [ $(($1 % 2)) = 1 ]; then echo "svcreg-soak-odd,39996,tcp,Present after odd reloads,[x],[x],,,,,,"; fi
	} >"$WORK/extra.csv.tmp"
	mv "$WORK/extra.csv.tmp" "$WORK/extra.csv"
}
write_extra 0

log "starting svcreg serve on 127.0.0.1:$SVCREG_PORT (CPU $SERVER_CPU)"
CACHE_DIRECTORY="$WORK/cache" nice -n "$NICE" taskset -c "$SERVER_CPU" "$WORK/svcreg" serve --registry "$REGISTRY" --registry "$WORK/extra.csv" \
	--dns-listen "127.0.0.1:$SVCREG_PORT" --http-listen "127.0.0.1:$HTTP_PORT" --log-level warn >"$WORK/svcreg.log" 2>&1 &
PID=$!
PIDS+=("$PID")
for _ in $(seq 1 1200); do
	dig +short +time=1 +tries=1 -p "$SVCREG_PORT" @127.0.0.1 "$ZONE" SOA 2>/dev/null | grep -q . && break
	kill -0 "$PID" 2>/dev/null || { cat "$WORK/svcreg.log" >&2; exit 1; }
	sleep 0.1
done

metric() { curl -s "http://127.0.0.1:$HTTP_PORT/metrics" | awk -v m="$1" '$1 == m { printf "%.0f", $2 }'; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$PID/status"; }

if [ -z "$RATE" ]; then
	log "capacity probe: 10 s unlimited"
	nice -n "$NICE" taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$SVCREG_PORT" -d "$WORK/queries.txt" -l 10 -c 4 -q 200 -T 1 >"$WORK/probe.dnsperf" 2>&1
	CAPACITY=$(awk '/Queries per second:/ { printf "%.0f", $4 }' "$WORK/probe.dnsperf")
	RATE=$((CAPACITY * LOAD_PCT / 100))
	log "capacity $CAPACITY q/s; soak at $RATE q/s"
fi

reloads0=$(metric 'svcreg_registry_reloads_total{result="success"}')
echo "t_s,rss_kb,goroutines,serial" >"$WORK/samples.csv"
sample() {
	local serial
	serial=$(dig +short +time=1 +tries=1 -p "$SVCREG_PORT" @127.0.0.1 "$ZONE" SOA | awk '{ print $3 }')
	echo "$1,$(rss_kb),$(metric go_goroutines),$serial" >>"$WORK/samples.csv"
}
sample 0

log "soak: dnsperf -Q $RATE for $DURATION s, a reload every $RELOAD_EVERY s"
nice -n "$NICE" taskset -c "$CLIENT_CPU" dnsperf -s 127.0.0.1 -p "$SVCREG_PORT" -d "$WORK/queries.txt" -l "$DURATION" \
	-c 4 -q 500 -T 1 -Q "$RATE" -S 60 >"$WORK/soak.dnsperf" 2>&1 &
PERF=$!
PIDS+=("$PERF")
start=$(date +%s)
n=0
next_sample=$SAMPLE_EVERY
while kill -0 "$PERF" 2>/dev/null; do
	sleep "$RELOAD_EVERY"
	n=$((n + 1))
	write_extra "$n"
	kill -HUP "$PID"
	t=$(($(date +%s) - start))
	if [ "$t" -ge "$next_sample" ]; then
		sample "$t"
		next_sample=$((next_sample + SAMPLE_EVERY))
	fi
done
wait "$PERF" || true
sleep 2
sample "$(($(date +%s) - start))"
reloads1=$(metric 'svcreg_registry_reloads_total{result="success"}')
failed=$(metric 'svcreg_registry_reloads_total{result="failure"}')
kill -0 "$PID" || { echo "bench/dns-soak.sh: svcreg died" >&2; cat "$WORK/svcreg.log" >&2; exit 1; }

sed -n '/Statistics:/,$p' "$WORK/soak.dnsperf" | sed 's/^/    /'
echo
echo "soak: $DURATION s at $RATE q/s (${LOAD_PCT}% of ${CAPACITY:-given} q/s), reload every $RELOAD_EVERY s; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "reloads: $((reloads1 - reloads0)) succeeded, ${failed:-0} failed; SIGHUPs sent: $n"
awk -F, 'NR == 2 { r0 = $2; g0 = $3 } NR > 1 { if ($2 > rm) rm = $2; if ($3 > gm) gm = $3; r1 = $2; g1 = $3; n++ }
	END { printf "RSS: start %.1f MB, end %.1f MB, max %.1f MB; goroutines: start %d, end %d, max %d (%d samples)\n", r0/1024, r1/1024, rm/1024, g0, g1, gm, n }' "$WORK/samples.csv"
grep -E "Queries lost|Response codes" "$WORK/soak.dnsperf"
if grep -q SERVFAIL "$WORK/soak.dnsperf"; then echo "SERVFAIL seen" >&2; exit 1; fi
