#!/usr/bin/env bash
# Figures for docs/offload.md "Past one machine", on a quiet machine with
# at least 2 cores. Everything listens on 127.0.0.1 only.
#
#   offload/nats/examples/bench.sh scale      # 1 vs 2 pinned workers, /cpu req/s
#   offload/nats/examples/bench.sh roundtrip  # p50 of a 5 ms job: local vs remote
#   offload/nats/examples/bench.sh kill       # kill -9 a worker under load
#   offload/nats/examples/bench.sh placement  # local-first vs round robin, p99
#   offload/nats/examples/bench.sh all
#
# Needs wrk and taskset. DURATION (default 30 s) sets each wrk run; OUT
# (default a new folder under /tmp) keeps the raw wrk output.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."   # the offload/nats module

DURATION=${DURATION:-30}
OUT=${OUT:-$(mktemp -d /tmp/weft-nats-bench.XXXXXX)}
BIN=$OUT/bin
NATS_PORT=${NATS_PORT:-14222}
HTTP_PORT=${HTTP_PORT:-18080}
NATS_URL=nats://127.0.0.1:$NATS_PORT
URL=http://127.0.0.1:$HTTP_PORT
mkdir -p "$BIN"
echo "output in $OUT"

go build -o "$BIN/nats-server" github.com/nats-io/nats-server/v2
go build -o "$BIN/worker" ./examples/worker
go build -o "$BIN/benchserver" ./examples/benchserver

pids=()
cleanup() {
	local pid
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT

start_nats() {
	"$BIN/nats-server" -a 127.0.0.1 -p "$NATS_PORT" >"$OUT/nats.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 50); do (echo >/dev/tcp/127.0.0.1/"$NATS_PORT") 2>/dev/null && return; sleep 0.1; done
	echo "nats-server did not start" >&2; exit 1
}

# start_worker CPU [env...]: a worker pinned to CPU ("" for unpinned);
# sets WORKER_PID once it says ready.
start_worker() {
	local cpu=$1; shift
	local fifo; fifo=$(mktemp -u "$OUT/worker.XXXX"); mkfifo "$fifo"
	if [[ -n $cpu ]]; then
		env NATS_URL="$NATS_URL" WORKERS=1 "$@" taskset -c "$cpu" "$BIN/worker" >"$fifo" &
	else
		env NATS_URL="$NATS_URL" WORKERS=1 "$@" "$BIN/worker" >"$fifo" &
	fi
	WORKER_PID=$!
	pids+=("$WORKER_PID")
	read -r line <"$fifo"; rm -f "$fifo"
	[[ $line == ready ]] || { echo "worker said $line" >&2; exit 1; }
}

# start_server [env...]: the NATS benchserver.
start_server() {
	env PORT="$HTTP_PORT" "$@" "$BIN/benchserver" 2>>"$OUT/benchserver.log" &
	SERVER_PID=$!
	pids+=("$SERVER_PID")
	for _ in $(seq 50); do curl -sf "$URL/plaintext" >/dev/null 2>&1 && return; sleep 0.1; done
	echo "benchserver did not start" >&2; exit 1
}

stop_all() { cleanup; pids=(); }

rps() { awk '/^Requests\/sec/ {print $2}' "$1"; }

scale() {
	echo "== scale: benchserver LOCAL_WORKERS=0, /cpu at 16 connections, workers pinned"
	for n in 1 2; do
		start_nats
		start_worker 0
		[[ $n == 2 ]] && start_worker 1
		start_server NATS_URL="$NATS_URL" LOCAL_WORKERS=0
		wrk -t2 -c16 -d"${DURATION}s" --latency "$URL/cpu" >"$OUT/scale-$n.txt"
		echo "$n worker(s): $(rps "$OUT/scale-$n.txt") req/s"
		stop_all
	done
	awk -v a="$(rps "$OUT/scale-1.txt")" -v b="$(rps "$OUT/scale-2.txt")" 'BEGIN {printf "two / one: %.2fx\n", b/a}'
}

roundtrip() {
	echo "== round trip: p50 of /cpu at 1 connection (the default job, about 5 ms)"
	start_server LOCAL_WORKERS=1   # embedded NATS; an idle local worker takes every job
	wrk -t1 -c1 -d"${DURATION}s" --latency "$URL/cpu" >"$OUT/rt-local.txt"
	stop_all
	start_nats
	start_worker ""
	start_server NATS_URL="$NATS_URL" LOCAL_WORKERS=0
	wrk -t1 -c1 -d"${DURATION}s" --latency "$URL/cpu" >"$OUT/rt-remote.txt"
	stop_all
	for f in local remote; do
		echo "$f: p50 $(awk '$1 == "50%" {print $2}' "$OUT/rt-$f.txt")"
	done
	echo "(piscina's own round trip: the harness's node-fastify /cpu at 1 connection)"
}

kill9() {
	echo "== kill -9 of one of two workers under load (16 connections, 1 s slices)"
	start_nats
	start_worker ""
	local a=$WORKER_PID
	start_worker ""
	start_server NATS_URL="$NATS_URL" LOCAL_WORKERS=0
	for s in $(seq 1 20); do
		case $s in
		6) kill -9 "$a"; echo "t=${s}s: killed worker $a" ;;
		11) start_worker ""; echo "t=${s}s: worker back ($WORKER_PID)" ;;
		esac
		# wrk's --timeout 6s: a request still unanswered after the
		# server's 5 s deadline counts as a socket timeout (a hang).
		wrk -t2 -c16 -d1s --timeout 6s "$URL/cpu" >"$OUT/kill-$s.txt"
		printf 't=%2ds %8s req/s  non-2xx: %s  timeouts: %s\n' "$s" "$(rps "$OUT/kill-$s.txt")" \
			"$(awk '/Non-2xx/ {print $NF}' "$OUT/kill-$s.txt")" \
			"$(awk '/Socket errors/ {for (i=1;i<=NF;i++) if ($i=="timeout") print $(i-1)}' "$OUT/kill-$s.txt")"
	done
	stop_all
}

placement() {
	echo "== placement: one local worker and one remote worker; /cpu at 2 and 16 connections"
	# Both sides run the same processes: nats-server, one worker, and the
	# benchserver with one local worker (all unpinned). local-first is
	# offload's placement (a job runs locally while the local worker is
	# idle, and goes out otherwise); spread alternates the jobs between
	# the two (PLACEMENT=spread: round robin, whatever is idle).
	for c in 2 16; do
		for mode in local-first spread; do
			start_nats
			start_worker ""
			local place=""
			[[ $mode == spread ]] && place=spread
			start_server NATS_URL="$NATS_URL" LOCAL_WORKERS=1 PLACEMENT="$place"
			wrk -t2 -c"$c" -d"${DURATION}s" --latency "$URL/cpu" >"$OUT/place-$mode-c$c.txt"
			stop_all
			echo "$mode, $c connections: $(rps "$OUT/place-$mode-c$c.txt") req/s," \
				"p50 $(awk '$1 == "50%" {print $2}' "$OUT/place-$mode-c$c.txt")," \
				"p99 $(awk '$1 == "99%" {print $2}' "$OUT/place-$mode-c$c.txt")"
		done
	done
}

case ${1:-all} in
scale) scale ;;
roundtrip) roundtrip ;;
kill) kill9 ;;
placement) placement ;;
all) scale; roundtrip; kill9; placement ;;
*) echo "usage: $0 scale|roundtrip|kill|placement|all" >&2; exit 2 ;;
esac
