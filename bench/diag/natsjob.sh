#!/bin/bash
# natsjob.sh SERVER [WORKER]: the natsscale scenario's two-worker phase by
# hand, with the CPU and the thread wake-ups of each process counted per
# job (docs/offload.md, "Past one machine", "Figures"). From bench/:
# bin/nats-server, SERVER (the NATS benchserver; default
# bin/weft-benchserver-nats) with LOCAL_WORKERS=0, two WORKER (default
# bin/weft-worker) on taskset -c 0 and -c 1, each in a session of its own
# as run.sh starts them; wrk -t1 -c16 /cpu for WINDOW+4 s (default 8).
# From 2 s into it, over WINDOW s, it reads every thread's
# /proc/<pid>/task/*/schedstat (run ns, time slices) of each process,
# softirq from /proc/stat and nats-server's /varz (messages), and prints,
# per job: CPU µs and time slices (wake-ups) per process, softirq µs,
# NATS messages in. Extra environment (e.g. GOMAXPROCS=2) goes to the
# benchserver with SERVER_ENV, to the workers with WORKER_ENV. PERF=file
# also records 1.5 s of sched_waking with stacks on every CPU (who woke
# whom; needs perf), or with PERF_PROF=1 a 2,000 Hz CPU profile of the
# benchserver; DEBUG=1 prints each thread's run time at both ends.
# docs/offload.md, "Past one machine", "Figures" (sessions 5 and 7), has
# what it showed.
#
#	diag/natsjob.sh bin/weft-benchserver-nats-base bin/weft-worker-base
#	diag/natsjob.sh bin/weft-benchserver-nats bin/weft-worker
set -u
cd "$(dirname "$0")/.." || exit 1
server=${1:-bin/weft-benchserver-nats}
worker=${2:-bin/weft-worker}
win=${WINDOW:-4}
port=${PORT:-18950}
nport=$((port + 1))
mport=$((port + 2))
export CPU_ITERS=${CPU_ITERS:-440} CPU_BUF_BYTES=${CPU_BUF_BYTES:-16384}
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap cleanup EXIT
setsid bin/nats-server -a 127.0.0.1 -p "$nport" -m "$mport" >/dev/null 2>&1 </dev/null &
npid=$!
pids+=("$npid")
sleep 0.5
url=nats://127.0.0.1:$nport
setsid env NATS_URL="$url" LOCAL_WORKERS=0 PORT="$port" ${SERVER_ENV:-} "$server" >/dev/null 2>&1 </dev/null &
spid=$!
pids+=("$spid")
setsid taskset -c 0 env NATS_URL="$url" WORKERS=1 ${WORKER_ENV:-} "$worker" >/dev/null 2>&1 </dev/null &
w1=$!
pids+=("$w1")
setsid taskset -c 1 env NATS_URL="$url" WORKERS=1 ${WORKER_ENV:-} "$worker" >/dev/null 2>&1 </dev/null &
w2=$!
pids+=("$w2")
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/plaintext" && break; sleep 0.1; done
sleep 0.5
# snap PID: "run_ns slices" summed over its threads.
# snap PID: "run_ns slices" summed over its threads, and each thread's
# "tid:run_ns".
snap() {
	local t
	for t in /proc/"$1"/task/*; do
		read -r r _ s <"$t/schedstat" 2>/dev/null && echo "${t##*/} $r $s"
	done | awk '{ r += $2; s += $3; th = th " " $1 ":" $2 } END { printf "%.0f %.0f%s\n", r, s, th }'
}
softirq() { awk '/^cpu / { printf "%.0f\n", ($8 + 0) * 10000000 }' /proc/stat; } # ns (USER_HZ 100)
msgs() { curl -s "http://127.0.0.1:$mport/varz" | awk -F'[:,]' '/"in_msgs"/ { gsub(/ /, "", $2); print $2 }'; }
wrk -t1 -c16 -d$((win + 4 + ${PERF:+2}0 / 10))s --timeout 10s "http://127.0.0.1:$port/cpu" >/tmp/natsjob.wrk.$$ 2>&1 &
wpid=$!
sleep 2
procs=("$spid" "$npid" "$w1" "$w2" "$wpid")
names=(benchserver nats-server worker0 worker1 wrk)
declare -a a0 b0
for i in "${!procs[@]}"; do a0[i]=$(snap "${procs[i]}"); done
si0=$(softirq)
m0=$(msgs)
t0=$(date +%s%N)
sleep "$win"
for i in "${!procs[@]}"; do b0[i]=$(snap "${procs[i]}"); done
si1=$(softirq)
m1=$(msgs)
t1=$(date +%s%N)
if [[ -n ${PERF:-} ]]; then # PERF=file: 1.5 s of sched_waking, every CPU, with stacks
	if [[ ${PERF_PROF:-} ]]; then # PERF_PROF=1: a CPU profile of the benchserver instead
		perf record -q -F 2000 -g -p "$spid" -o "$PERF" -- sleep 1.5 >/dev/null 2>&1
	else
		perf record -q -e sched:sched_waking -g -a -o "$PERF" -- sleep 1.5 >/dev/null 2>&1
	fi
	echo "pids: benchserver $spid nats-server $npid workers $w1 $w2 wrk $wpid" >"$PERF.pids"
fi
wait "$wpid"
[[ -n ${DEBUG:-} ]] && for i in "${!procs[@]}"; do echo "${names[i]}: ${a0[i]}"; echo "  -> ${b0[i]}"; done
rps=$(awk '/^Requests\/sec:/ { print $2 }' /tmp/natsjob.wrk.$$)
rm -f /tmp/natsjob.wrk.$$
jobs=$(awk -v r="$rps" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", r * (b - a) / 1e9 }')
printf 'uptime: %s\n/cpu req/s %s, jobs in the window %s\n' "$(uptime)" "$rps" "$jobs"
printf '%-12s %10s %10s %10s\n' process "µs/job" "wakes/job" "but busiest"
for i in "${!procs[@]}"; do
	read -r r0 s0 th0 <<<"${a0[i]}"
	read -r r1 s1 th1 <<<"${b0[i]}"
	# the busiest thread's share (a worker's job thread), to leave out
	top=$(awk -v a="$th0" -v b="$th1" 'BEGIN { n = split(a, x, " "); for (k = 1; k <= n; k++) { split(x[k], y, ":"); r[y[1]] = y[2] }
		n = split(b, x, " "); for (k = 1; k <= n; k++) { split(x[k], y, ":"); d = y[2] - r[y[1]]; if (d > m) m = d }; print m + 0 }')
	awk -v n="${names[i]}" -v dr=$((r1 - r0)) -v ds=$((s1 - s0)) -v top="$top" -v j="$jobs" 'BEGIN { printf "%-12s %10.0f %10.1f %10.0f\n", n, dr / j / 1000, ds / j, (dr - top) / j / 1000 }'
done
awk -v d=$((si1 - si0)) -v j="$jobs" 'BEGIN { printf "%-12s %10.0f\n", "softirq", d / j / 1000 }'
awk -v d=$((m1 - m0)) -v j="$jobs" 'BEGIN { printf "nats msgs in/job %.2f\n", d / j }'
