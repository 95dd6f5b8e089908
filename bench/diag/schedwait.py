#!/usr/bin/env python3
"""schedwait.py DIR [--node]: what the threads of a mixed run waited for.

DIR is an output folder of mixed-sched.sh (ev.txt: perf script of
sched_switch/sched_waking on every CPU; sched1: the server's threads and
their nice values; wrkpid; spid). Threads are put in classes: the server's
threads at nice 0 (weft: the Ms that run its loops; Node: its main thread is
"node-main", with --node, and its piscina workers stay "server(n0)"), the
server's niced threads ("worker(n15)": weft's offload workers), the /plaintext
wrk's thread, idle, and other. It prints the CPU time of each class, the
distribution of each class's runnable waits (from a wakeup or a preemption to
running), the gaps over 5 ms in which no nice-0 server thread ran anywhere and
what the CPUs ran meanwhile, and, for preempted threads, the class of the
thread that took their CPU and the wait that followed.

Some switches from idle are missing in perf's record on this VM's CPU 1: an
event whose current task is not the one believed running stands for the
missing switch (counted as "synthetic").
"""
import collections
import os
import re
import sys

d = sys.argv[1]
NODE = "--node" in sys.argv[2:]
TH = 5.0  # ms
nice = {}
for line in open(f"{d}/sched1"):
    f = line.split()
    nice[int(f[0])] = int(f[1])
workers = {t for t, n in nice.items() if n > 0}
loops = set(nice) - workers
wrkpid = int(open(f"{d}/wrkpid").read().split()[0])
spid = int(open(f"{d}/spid").read()) if os.path.exists(f"{d}/spid") else -1
rx = re.compile(r"^\s*(.+?)\s+(\d+)/(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+(\S+):\s*(.*)$")
sw = re.compile(r"prev_pid=(\d+) prev_prio=\d+ prev_state=(\S+) ==> next_comm=.* next_pid=(\d+)")
wk = re.compile(r"pid=(\d+) prio=\d+ target_cpu=(\d+)")
ev, pidof = [], {}
for line in open(f"{d}/ev.txt"):
    m = rx.match(line)
    if m:
        _, pid, tid, cpu, t, name, rest = m.groups()
        pidof[int(tid)] = int(pid)
        ev.append((float(t), int(cpu), name, rest, int(tid)))
wrk = {t for t, p in pidof.items() if p == wrkpid}


def cls(tid):
    if NODE and tid == spid:
        return "node-main"
    if tid in workers:
        return "worker(n15)"
    if tid in loops:
        return "server(n0)"
    if tid in wrk:
        return "wrk-plain"
    return "idle" if tid == 0 else "other"


state = collections.defaultdict(lambda: "S")
waitstart, waits = {}, collections.defaultdict(list)
preemptor = {}
byPreemptor = collections.defaultdict(collections.Counter)
byPreemptorN = collections.defaultdict(collections.Counter)
segs, cur, believed = [], {}, {}
synthetic = 0


def switch_in(t, cpu, tid):
    if cpu in cur:
        segs.append((cur[cpu][0], t, cpu, cur[cpu][1]))
    cur[cpu] = (t, tid)
    believed[cpu] = tid
    if tid in waitstart:
        s, why = waitstart.pop(tid)
        waits[tid].append((t - s, why))
        if tid in preemptor:
            who = preemptor.pop(tid)
            byPreemptor[cls(tid)][who] += t - s
            byPreemptorN[cls(tid)][who] += 1
    state[tid] = "R"


for t, cpu, name, rest, tid in ev:
    if believed.get(cpu, tid) == 0 and tid != 0:
        synthetic += 1
        switch_in(t, cpu, tid)
    if name == "sched:sched_switch":
        m = sw.search(rest)
        prev, pst, nxt = int(m.group(1)), m.group(2), int(m.group(3))
        if pst.startswith("R"):
            state[prev] = "W"
            waitstart[prev] = (t, "preempted")
            preemptor[prev] = cls(nxt)
        else:
            state[prev] = "S"
        switch_in(t, cpu, nxt)
    elif name == "sched:sched_waking":
        w = int(wk.search(rest).group(1))
        if state[w] == "S":
            state[w] = "W"
            waitstart[w] = (t, "woken")
t0, tend = ev[0][0], ev[-1][0]
for cpu, (s, tid) in cur.items():
    segs.append((s, tend, cpu, tid))
print(f"window {(tend - t0) * 1e3:.0f} ms on {len(cur)} CPUs; {synthetic} synthetic switches from idle")
ct = collections.Counter()
for s, e, _, tid in segs:
    ct[cls(tid)] += e - s
print("CPU time by class (ms):", ", ".join(f"{k} {v * 1e3:.0f}" for k, v in ct.most_common()))
for name in ("node-main", "server(n0)", "worker(n15)", "wrk-plain"):
    ds = sorted(w * 1e3 for tid, l in waits.items() if cls(tid) == name for w, _ in l)
    if not ds:
        continue
    n = len(ds)
    q = lambda p: ds[min(n - 1, int(p * n))]
    print(f"{name}: {n} runnable waits, p50 {q(.5):.3f} p90 {q(.9):.3f} p99 {q(.99):.3f} max {ds[-1]:.2f} ms, "
          f"{sum(ds):.0f} ms in all; over 1 ms {sum(x > 1 for x in ds)}, over 5 ms {sum(x > 5 for x in ds)}")
runs = sorted((s, e) for s, e, _, tid in segs if tid in loops and not (NODE and tid != spid))
gaps, end = [], t0
for s, e in runs:
    if s - end > TH / 1e3:
        gaps.append((end, s))
    end = max(end, e)
held = collections.Counter()
for s, e in gaps:
    for ss, ee, _, tid in segs:
        if ee > s and ss < e:
            held[cls(tid)] += min(e, ee) - max(s, ss)
print(f"gaps over {TH:.0f} ms with no nice-0 server thread on a CPU: {len(gaps)}, {sum(e - s for s, e in gaps) * 1e3:.0f} ms; "
      "CPUs meanwhile (ms): " + ", ".join(f"{k} {v * 1e3:.0f}" for k, v in held.most_common()))
print("preempted threads: the class that took the CPU, the wait that followed (ms in all / times):")
for k in byPreemptor:
    print(f"  {k}: " + ", ".join(f"{w} {v * 1e3:.0f}/{byPreemptorN[k][w]}" for w, v in byPreemptor[k].most_common()))
