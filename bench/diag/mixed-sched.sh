#!/bin/bash
# mixed-sched.sh OUT CMD...: the harness's mixed scenario by hand, with the
# scheduler watched: CMD (run from bench/, in a session of its own, as
# run.sh starts servers) serves on $PORT (default 18900); wrk keeps /cpu busy
# at 32 connections, then /plaintext runs 2 s of warm-up and 8 s at 16. Over
# the 8 s window it keeps every server thread's /proc schedstat (sched0,
# sched1: tid, nice, run ns, runqueue wait ns, slices, voluntary and
# involuntary switches) and /proc/stat (stat0, stat1: steal, idle); 2.5 s into
# it, PERF=1 (the default) records 3 s of sched_switch/sched_waking on every
# CPU (perf.data, ev.txt for schedwait.py), PERF=prof a CPU profile of the
# server (prof.data), PERF=0 nothing. docs/offload.md, "Where the tail comes
# from", has what it showed.
#
#	diag/mixed-sched.sh /tmp/m1 bin/weft-benchserver
#	diag/mixed-sched.sh /tmp/m2 env WEFT_TRACE=/tmp/m2.trace bin/weft-benchserver
#	python3 diag/schedwait.py /tmp/m1
set -u
out=$1
shift
cd "$(dirname "$0")/.." || exit 1
rm -rf "$out" && mkdir -p "$out" || exit 1
export PORT=${PORT:-18900} CPU_ITERS=${CPU_ITERS:-440} CPU_BUF_BYTES=${CPU_BUF_BYTES:-16384}
setsid bash -c "exec $*" >"$out/server.log" 2>&1 </dev/null &
spid=$!
echo "$spid" >"$out/spid"
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/plaintext" && break; sleep 0.1; done
uptime >"$out/uptime"
timeout 40 wrk -t1 -c32 -d12s --timeout 30s --latency "http://127.0.0.1:$PORT/cpu" >"$out/cpu.txt" 2>&1 &
bg=$!
sleep 1
wrk -t1 -c16 -d2s --timeout 10s --latency "http://127.0.0.1:$PORT/plaintext" >"$out/warmup.txt" 2>&1
snap() {
	local t
	for t in /proc/$spid/task/*; do
		echo "$(basename "$t") $(awk '{print $19}' "$t/stat") $(cat "$t/schedstat") $(awk '/^(voluntary|nonvoluntary)/ {printf "%s ", $2}' "$t/status")"
	done
}
snap >"$out/sched0"
grep '^cpu' /proc/stat >"$out/stat0"
wrk -t1 -c16 -d8s --timeout 10s --latency "http://127.0.0.1:$PORT/plaintext" >"$out/plain.txt" 2>&1 &
pw=$!
sleep 0.3
pgrep -f "wrk -t1 -c16 -d8s" | head -1 >"$out/wrkpid"
sleep 2.2
case ${PERF:-1} in
prof) perf record -F 2000 -g -p "$spid" -o "$out/prof.data" -- sleep 3 >"$out/perf.log" 2>&1 ;;
1)
	perf record -e sched:sched_switch -e sched:sched_waking -e sched:sched_migrate_task -a -m 16M \
		-o "$out/perf.data" -- sleep 3 >"$out/perf.log" 2>&1
	perf script -i "$out/perf.data" -F comm,pid,tid,cpu,time,event,trace >"$out/ev.txt" 2>/dev/null
	;;
esac
wait $pw
snap >"$out/sched1"
grep '^cpu' /proc/stat >"$out/stat1"
wait $bg
kill -TERM "$spid"
wait "$spid"
grep -E 'Requests/sec| 99%' "$out/plain.txt" "$out/cpu.txt"
join <(sort -k1,1 "$out/sched0") <(sort -k1,1 "$out/sched1") | awk '{
	s = $11 - $5
	printf "tid %s nice %2s ran %7.1f ms, runnable %7.1f ms, %6d slices (%d involuntary)\n", $1, $2, ($9 - $3) / 1e6, ($10 - $4) / 1e6, s, $13 - $7 }' | sort -k7 -g -r
paste "$out/stat0" "$out/stat1" | head -1 | awk '{ printf "steal %d ticks, idle %d of %d\n", $20 - $9, $16 - $5, ($13+$14+$15+$16+$17+$18+$19+$20) - ($2+$3+$4+$5+$6+$7+$8+$9) }'
