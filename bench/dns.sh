#!/usr/bin/env bash
# bench/dns.sh: svcreg's DNS server against Knot DNS under dnsperf, on
# loopback, with the same zone and the same query mix (issue 3, "Speed").
#
# Builds svcreg, writes the zone of the full registry with `svcreg zone`
# into a temporary directory (never into the repository), starts
# `svcreg serve` and knotd (one UDP, one TCP, one background worker) with
# that zone, both pinned to SERVER_CPU, writes the dnsperf query file
# (55% TXT and 20% SRV at registered service types, 15% TXT at registered
# _N._tcp port labels, 10% names that do not exist; fixed SEED), then runs
# dnsperf pinned to CLIENT_CPU against svcreg and then against Knot, and
# prints for each: queries/s, average latency, and server CPU per query
# (utime+stime of the server process from /proc/PID/stat over the run,
# divided by the queries completed), then svcreg/Knot ratios.
#
# Usage: bench/dns.sh            (from the repository root or anywhere)
# Environment (defaults in brackets):
#   REGISTRY     registry file [../shared/iana/service-names-port-numbers.xml]
#   DURATION     seconds of dnsperf per server [20]
#   CLIENTS      dnsperf -c, UDP sockets [4]
#   OUTSTANDING  dnsperf -q, queries in flight [200]
#   QPS_LIMIT    dnsperf -Q, 0 = unlimited [0]
#   QUERIES      lines in the query file [200000]
#   SEED         query-file seed [1]
#   SERVER_CPU, CLIENT_CPU  taskset CPUs [1, 0]
#   SVCREG_PORT, HTTP_PORT, KNOT_PORT  loopback ports [15300, 15380, 15353]
#   NICE         nice level of both servers and dnsperf [0]; on a shared
#                machine -10 keeps other load from deciding the result
#   ONLY         "svcreg" or "knot" to run one side only
#   KEEP=1       keep the work directory (zone, queries, logs)
# Needs: go, dnsperf, knotd, dig, taskset (util-linux).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
REGISTRY=${REGISTRY:-$ROOT/../shared/iana/service-names-port-numbers.xml}
DURATION=${DURATION:-20}
CLIENTS=${CLIENTS:-4}
OUTSTANDING=${OUTSTANDING:-200}
QPS_LIMIT=${QPS_LIMIT:-0}
QUERIES=${QUERIES:-200000}
SEED=${SEED:-1}
SERVER_CPU=${SERVER_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
SVCREG_PORT=${SVCREG_PORT:-15300}
HTTP_PORT=${HTTP_PORT:-15380}
KNOT_PORT=${KNOT_PORT:-15353}
ONLY=${ONLY:-}
NICE=${NICE:-0}
ZONE=services.internal.
CLK_TCK=$(getconf CLK_TCK)

for tool in go dnsperf knotd dig taskset; do
	if ! command -v "$tool" >/dev/null && [ ! -x "/usr/sbin/$tool" ]; then
		echo "bench/dns.sh: $tool not found (scripts/install-deps.sh installs it)" >&2
		exit 2
	fi
done
KNOTD=$(command -v knotd || echo /usr/sbin/knotd)
[ -r "$REGISTRY" ] || { echo "bench/dns.sh: registry $REGISTRY not readable" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/svcreg-bench-dns.XXXXXX")
PIDS=()
cleanup() {
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	if [ "${KEEP:-0}" = 1 ]; then
		echo "work directory kept: $WORK" >&2
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT

log() { echo "== $*" >&2; }

log "building svcreg and dnsperf-queries"
(cd "$ROOT" && go build -o "$WORK/svcreg" ./cmd/svcreg && go build -o "$WORK/dnsperf-queries" ./bench/cmd/dnsperf-queries)

log "zone and query file"
"$WORK/svcreg" zone -q --registry "$REGISTRY" --zone "$ZONE" -o "$WORK/zone.db"
"$WORK/dnsperf-queries" -zone-file "$WORK/zone.db" -n "$QUERIES" -seed "$SEED" >"$WORK/queries.txt"
SERIAL=$(awk '$4 == "SOA" { print $7; exit }' "$WORK/zone.db")

# serial_of PORT: the SOA serial a server on 127.0.0.1:PORT answers, or "".
serial_of() {
	dig +short +time=1 +tries=1 -p "$1" @127.0.0.1 "$ZONE" SOA 2>/dev/null | awk '{ print $3 }'
}

# wait_serial NAME PORT PID: wait up to 120 s for the zone at SERIAL.
wait_serial() {
	local i
	for i in $(seq 1 1200); do
		if [ "$(serial_of "$2")" = "$SERIAL" ]; then
			return 0
		fi
		if ! kill -0 "$3" 2>/dev/null; then
			echo "bench/dns.sh: $1 exited; log:" >&2
			cat "$WORK/$1.log" >&2
			exit 1
		fi
		sleep 0.1
	done
	echo "bench/dns.sh: $1 did not serve serial $SERIAL on port $2; log:" >&2
	cat "$WORK/$1.log" >&2
	exit 1
}

# cpu_ticks PID: utime+stime of the process (all threads), in clock ticks.
cpu_ticks() {
	# Fields after the ")" that ends comm: state is field 3, utime 14, stime 15.
	local stat
	stat=$(cat "/proc/$1/stat")
	stat=${stat##*) }
	# shellcheck disable=SC2086
	set -- $stat
	echo $((${12} + ${13}))
}

start_svcreg() {
	log "starting svcreg serve on 127.0.0.1:$SVCREG_PORT (CPU $SERVER_CPU)"
	# A private cache directory: the serial state of other runs must not
	# move this run's serial away from the one `svcreg zone` printed.
	CACHE_DIRECTORY="$WORK/cache" nice -n "$NICE" taskset -c "$SERVER_CPU" "$WORK/svcreg" serve --registry "$REGISTRY" --zone "$ZONE" \
		--dns-listen "127.0.0.1:$SVCREG_PORT" --http-listen "127.0.0.1:$HTTP_PORT" --log-level warn \
		>"$WORK/svcreg.log" 2>&1 &
	SVCREG_PID=$!
	PIDS+=("$SVCREG_PID")
	wait_serial svcreg "$SVCREG_PORT" "$SVCREG_PID"
}

start_knot() {
	log "starting knotd on 127.0.0.1:$KNOT_PORT (CPU $SERVER_CPU)"
	mkdir -p "$WORK/knot/run" "$WORK/knot/storage"
	cat >"$WORK/knot/knot.conf" <<-CONF
		server:
		    rundir: "$WORK/knot/run"
		    listen: 127.0.0.1@$KNOT_PORT
		    udp-workers: 1
		    tcp-workers: 1
		    background-workers: 1
		log:
		  - target: stderr
		    any: warning
		database:
		    storage: "$WORK/knot/storage"
		zone:
		  - domain: $ZONE
		    file: "$WORK/zone.db"
		    zonefile-sync: -1
		    journal-content: none
	CONF
	nice -n "$NICE" taskset -c "$SERVER_CPU" "$KNOTD" -c "$WORK/knot/knot.conf" >"$WORK/knot.log" 2>&1 &
	KNOT_PID=$!
	PIDS+=("$KNOT_PID")
	wait_serial knot "$KNOT_PORT" "$KNOT_PID"
}

# same_answers: a few questions must get the same answer from both.
same_answers() {
	local q a b
	for q in "_http._tcp.$ZONE SRV" "_http._tcp.$ZONE TXT" "_80._tcp.$ZONE TXT" "_nx-0._tcp.$ZONE TXT"; do
		# shellcheck disable=SC2086
		a=$(dig +noall +answer +authority +nottlid -p "$SVCREG_PORT" @127.0.0.1 $q | sort)
		# shellcheck disable=SC2086
		b=$(dig +noall +answer +authority +nottlid -p "$KNOT_PORT" @127.0.0.1 $q | sort)
		if [ "$a" != "$b" ]; then
			echo "bench/dns.sh: svcreg and Knot answer $q differently:" >&2
			diff <(echo "$a") <(echo "$b") >&2 || true
			exit 1
		fi
	done
}

# run_dnsperf NAME PORT PID: one dnsperf run; sets R_QPS R_LAT_US R_CPU_US R_DONE R_LOST.
run_dnsperf() {
	local name=$1 port=$2 pid=$3 t0 t1 out
	local args=(-s 127.0.0.1 -p "$port" -d "$WORK/queries.txt" -l "$DURATION" -c "$CLIENTS" -q "$OUTSTANDING" -T 1)
	if [ "$QPS_LIMIT" != 0 ]; then
		args+=(-Q "$QPS_LIMIT")
	fi
	log "dnsperf against $name: dnsperf ${args[*]}"
	t0=$(cpu_ticks "$pid")
	nice -n "$NICE" taskset -c "$CLIENT_CPU" dnsperf "${args[@]}" >"$WORK/$name.dnsperf" 2>&1
	t1=$(cpu_ticks "$pid")
	out="$WORK/$name.dnsperf"
	R_DONE=$(awk '/Queries completed:/ { print $3 }' "$out")
	R_LOST=$(awk '/Queries lost:/ { print $3 }' "$out")
	R_QPS=$(awk '/Queries per second:/ { printf "%.0f", $4 }' "$out")
	R_LAT_US=$(awk '/Average Latency \(s\):/ { printf "%.1f", $4 * 1e6 }' "$out")
	R_CODES=$(awk '/Response codes:/ { sub(/.*Response codes: */, ""); print }' "$out")
	R_CPU_S=$(awk -v d=$((t1 - t0)) -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", d / hz }')
	R_CPU_US=$(awk -v d=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$R_DONE" 'BEGIN { printf "%.2f", d / hz / n * 1e6 }')
	sed -n '/Statistics:/,$p' "$out" | sed 's/^/    /' >&2
}

RESULTS=()
record() {
	RESULTS+=("$(printf '%-8s %12s %10s %10s %12s %12s  %s' "$1" "$R_QPS" "$R_LAT_US" "$R_CPU_US" "$R_CPU_S" "$R_DONE/$R_LOST" "$R_CODES")")
	eval "${1}_QPS=$R_QPS ${1}_CPU=$R_CPU_US ${1}_LAT=$R_LAT_US"
}

[ "$ONLY" = knot ] || start_svcreg
[ "$ONLY" = svcreg ] || start_knot
[ -n "$ONLY" ] || same_answers

if [ "$ONLY" != knot ]; then
	run_dnsperf svcreg "$SVCREG_PORT" "$SVCREG_PID"
	record svcreg
fi
if [ "$ONLY" != svcreg ]; then
	run_dnsperf knot "$KNOT_PORT" "$KNOT_PID"
	record knot
fi

echo
limit=""
[ "$QPS_LIMIT" = 0 ] || limit=" -Q $QPS_LIMIT"
echo "zone $ZONE serial $SERIAL, $(grep -c . "$WORK/zone.db") lines; $QUERIES queries (seed $SEED); dnsperf -l $DURATION -c $CLIENTS -q $OUTSTANDING -T 1$limit; server on CPU $SERVER_CPU, dnsperf on CPU $CLIENT_CPU, nice $NICE; load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %12s %10s %10s %12s %12s  %s\n' server "queries/s" "avg us" "CPU us/q" "CPU s total" "done/lost" "response codes"
printf '%s\n' "${RESULTS[@]}"
if [ -z "$ONLY" ]; then
	# shellcheck disable=SC2154
	awk -v sq="$svcreg_QPS" -v kq="$knot_QPS" -v sc="$svcreg_CPU" -v kc="$knot_CPU" -v sl="$svcreg_LAT" -v kl="$knot_LAT" 'BEGIN {
		printf "svcreg/Knot: queries/s %.2fx (target >= 0.8x), CPU per query %.2fx (target <= 2x), latency %.2fx\n", sq / kq, sc / kc, sl / kl
		# A server that does not saturate its core (Knot waiting on wake-ups on a
		# busy machine) reaches fewer queries/s than it could: 1 s / CPU per query
		# is the rate one core would sustain.
		printf "one-core capacity from CPU per query: svcreg %.0f q/s, Knot %.0f q/s, ratio %.2fx\n", 1e6 / sc, 1e6 / kc, kc / sc
	}'
fi
