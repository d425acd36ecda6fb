#!/usr/bin/env python3
"""Per-hop counts of PKCS#11 RPCs through the link (docs/pkcs11.md, "Cutting the hops").

Run through `TL_BENCH_HOPS=1 bazel run -c opt //benchmarks:pkcs11_link_benchmark -- [--signs N]
[--rounds R]`, which sets up ntlsd, the partition and the module config as for the benchmark.
Each round starts pkcs11_benchmark in its hops mode (one bridged session: the application,
`vtl p11 bridge`, ntlsd, `p11-kit remote`), lets it sign N times with ECDSA (two RPCs each:
C_SignInit, C_Sign) and reports per RPC, per process and thread:

  - wake-ups (voluntary context switches) and CPU time, from /proc/PID/task/*/{status,schedstat}
    read just before and just after the signs, in a round without tracing;
  - system calls by name, from `strace -f -c` attached to each process for the signs only, in
    a second round; link records are the sendto calls of the bridge (requests) and of ntlsd
    (answers).

Under strace every system call is slower, so that round's time per sign is not a figure.
"""

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time


def children(pid):
    kids = []
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{t}/children") as f:
                kids += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return kids


def read(path):
    with open(path) as f:
        return f.read()


def thread_counts(pid):
    out = {}
    for t in os.listdir(f"/proc/{pid}/task"):
        base = f"/proc/{pid}/task/{t}"
        try:
            status = read(f"{base}/status")
            ns = int(read(f"{base}/schedstat").split()[0])
            name = read(f"{base}/comm").strip()
        except OSError:
            continue
        vol = int(re.search(r"^voluntary_ctxt_switches:\s+(\d+)", status, re.M).group(1))
        invol = int(re.search(r"^nonvoluntary_ctxt_switches:\s+(\d+)", status, re.M).group(1))
        out[int(t)] = (name, vol, invol, ns)
    return out


def traced(pid):
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            status = read(f"/proc/{pid}/task/{t}/status")
        except OSError:
            continue
        if re.search(r"^TracerPid:\s+0$", status, re.M):
            return False
    return True


class Round:
    """One pkcs11_benchmark process in hops mode, paused before and after its signs."""

    def __init__(self, bench, ntlsd, signs):
        env = dict(os.environ, TL_BENCH_HOPS_SIGNS=str(signs))
        self.p = subprocess.Popen([bench], env=env, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        line = self.p.stdout.readline()
        if not line.startswith("ready "):
            self.p.kill()
            sys.exit(f"pkcs11_benchmark did not get ready (printed {line!r}); see its stderr")
        app = int(line.split()[1])
        self.procs = {"application": [app], "vtl p11 bridge": children(app),
                      "ntlsd": [ntlsd], "p11-kit remote": children(ntlsd)}
        self.rpcs = 2 * signs

    def go(self):
        self.p.stdin.write("go\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line.startswith("done "):
            sys.exit(f"pkcs11_benchmark failed during the signs (printed {line!r})")
        return int(line.split()[1])

    def end(self):
        self.p.stdin.write("end\n")
        self.p.stdin.flush()
        self.p.wait(timeout=60)

    def snapshot(self):
        return {(role, pid, tid): v for role, pids in self.procs.items() for pid in pids
                for tid, v in thread_counts(pid).items()}


def wakeups(args):
    r = Round(args.bench, args.ntlsd, args.signs)
    before = r.snapshot()
    us = r.go()
    after = r.snapshot()
    r.end()
    print(f"\nround without tracing: {us / args.signs:.1f} us per sign, "
          f"{us / r.rpcs:.1f} us per RPC")
    print("| process | thread | wake-ups / RPC | involuntary switches / RPC | CPU us / RPC |")
    print("| --- | --- | --- | --- | --- |")
    for key in sorted(after, key=lambda k: (list(r.procs).index(k[0]), k[2])):
        if key not in before:
            continue
        name, vol, invol, ns = after[key]
        d = (vol - before[key][1], invol - before[key][2], ns - before[key][3])
        if d[0] + d[1] == 0:
            continue
        print(f"| {key[0]} | {name} | {d[0] / r.rpcs:.2f} | {d[1] / r.rpcs:.2f} | "
              f"{d[2] / 1e3 / r.rpcs:.1f} |")


def syscalls(args):
    with tempfile.TemporaryDirectory(prefix="pkcs11_hops.") as tmp:
        syscalls_in(args, tmp)


def syscalls_in(args, tmp):
    r = Round(args.bench, args.ntlsd, args.signs)
    tracers = []
    for role, pids in r.procs.items():
        for pid in pids:
            out = os.path.join(tmp, f"strace.{pid}")
            tracers.append((role, out, subprocess.Popen(
                ["strace", "-f", "-c", "-o", out, "-p", str(pid)],
                stderr=subprocess.DEVNULL)))
    # strace attaches asynchronously: start the signs once every thread has a tracer.
    deadline = time.monotonic() + 30
    while not all(traced(pid) for pids in r.procs.values() for pid in pids):
        if time.monotonic() > deadline:
            sys.exit("strace did not attach within 30 s")
        time.sleep(0.01)
    r.go()
    for role, out, t in tracers:
        t.send_signal(signal.SIGINT)
        t.wait(timeout=30)
    r.end()
    print("\nround under strace -f -c: system calls per RPC")
    print("| process | calls / RPC | by name (>= 0.05 / RPC) |")
    print("| --- | --- | --- |")
    for role, out, t in tracers:
        calls = {}
        for line in read(out).splitlines():
            m = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)$", line)
            if m and m.group(2) != "total":
                calls[m.group(2)] = int(m.group(1))
        total = sum(calls.values()) / r.rpcs
        named = ", ".join(f"{k} {v / r.rpcs:.2f}" for k, v in sorted(calls.items())
                          if v / r.rpcs >= 0.05)
        print(f"| {role} | {total:.1f} | {named} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench", required=True, help="pkcs11_benchmark")
    ap.add_argument("--ntlsd", required=True, type=int, help="ntlsd's pid")
    ap.add_argument("--signs", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()
    for _ in range(args.rounds):
        wakeups(args)
        syscalls(args)


if __name__ == "__main__":
    main()
