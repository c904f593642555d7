#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Symbolization speed: bpftape symbolize vs addr2line and llvm-symbolizer.

Builds large binaries from generated sources (tests/symbolizer/corpus.py),
picks the same addresses for every tool (all function entries plus random
addresses in .text, fixed seed), and measures side by side:

  - one call per binary: every address on stdin of one process;
  - batches of 500 addresses per call: start-up and indexing count;
  - peak RSS in the one-call mode (GNU time's %M when present);
  - CPU time of one call (user and system, every thread; best of the
    rounds) and addr2line's over it: what a call costs the machine
    rather than how long it takes, bpftape working on two threads.

Times are wall clock, best of fifteen runs (best of two series for batches),
taken in rounds over all tools in turn, so that other load on the machine
does not count against one tool.

usage: symbolize.py SYMBOLIZE_BINARY WORKDIR [--addrs N] [--small] [--rounds N]
"""
import argparse
import os
import random
import shutil
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "symbolizer"))
import corpus  # noqa: E402
from compare_addr2line import func_entries, random_addr, text_ranges  # noqa: E402


def run_rss(cmd, data):
    """Runs CMD with DATA on stdin, output discarded; returns (seconds,
    peak RSS in KiB, CPU seconds: user and system, all its threads) of
    that child (wait4), so tools are timed alike."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def feed():
        try:
            p.stdin.write(data)
        finally:
            p.stdin.close()

    t = threading.Thread(target=feed)
    t.start()
    while p.stdout.read(1 << 16):
        pass
    t.join()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return time.monotonic() - t0, ru.ru_maxrss, ru.ru_utime + ru.ru_stime


BUSY_C = """
int main(void)
{
	volatile unsigned long x = 0;

	for (unsigned long i = 0; i < 100000000UL; i++)
		x += i;
	return 0;
}
"""


def parallelism(workdir):
    """How many of the machine's CPUs two busy processes really get at
    once (2.0: both run side by side; 1.0: they take turns): the lowest,
    median and highest of five tries.  bpftape symbolizes on two threads
    and addr2line on one, so a machine that shares its CPUs with other
    work moves their ratio."""
    src = os.path.join(workdir, "busy.c")
    exe = os.path.join(workdir, "busy")
    with open(src, "w") as f:
        f.write(BUSY_C)
    if subprocess.run(["gcc", "-O2", "-o", exe, src]).returncode:
        return None
    got = []
    for _ in range(5):
        t0 = time.monotonic()
        subprocess.run([exe])
        one = time.monotonic() - t0
        t0 = time.monotonic()
        procs = [subprocess.Popen([exe]) for _ in range(2)]
        for p in procs:
            p.wait()
        two = time.monotonic() - t0
        got.append(2 * one / two)
    got.sort()
    return got[0], got[2], got[4]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("symbolize")
    ap.add_argument("--subcommand", help="run SYMBOLIZE SUBCOMMAND --exe FILE (bpftape symbolize)")
    ap.add_argument("workdir")
    ap.add_argument("--addrs", type=int, default=20000)
    ap.add_argument("--small", action="store_true", help="normal-size corpus (quick check)")
    ap.add_argument("--rounds", type=int, default=15, help="one-call runs per tool (best counts)")
    args = ap.parse_args()

    llvm = shutil.which("llvm-symbolizer-14") or shutil.which("llvm-symbolizer")
    time_bin = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
    entries = corpus.build(args.workdir, which=["gcc-O2-dwarf5", "gxx-O2", "clang-O2"],
                           big=not args.small)
    rng = random.Random(99)
    tools = [("addr2line", lambda p: ["addr2line", "-f", "-i", "-e", p])]
    if llvm:
        tools.append(("llvm-symbolizer", lambda p: [llvm, "--output-style=GNU", "--no-demangle",
                                                    "-f", "-i", "-e", p]))
    sub = [args.subcommand] if args.subcommand else []
    tools.append(("bpftape", lambda p: [args.symbolize] + sub + ["--exe", p]))

    par = parallelism(args.workdir)
    if par is not None:
        print(f"parallelism: two busy processes ran {par[1]:.2f}x as fast as one at a time"
              f" (of 5 tries: {par[0]:.2f}-{par[2]:.2f}x; {os.cpu_count()} CPUs)")
    print(f"{'binary':<16} {'size':>8} {'addrs':>6} {'tool':<16} {'one call':>12} {'x a2l':>6}"
          f" {'batch 500':>12} {'x a2l':>6} {'peak RSS':>10} {'CPU ms':>8} {'x a2l':>6}")
    for e in entries:
        path = e["path"]
        ranges = text_ranges(path)
        addrs = set(func_entries(path, ranges))
        while len(addrs) < args.addrs:
            addrs.add(random_addr(rng, ranges))
        addrs = sorted(addrs)[: args.addrs] if len(addrs) > args.addrs else sorted(addrs)
        rng.shuffle(addrs)
        data = "".join(f"0x{a:x}\n" for a in addrs).encode()
        batches = [addrs[i:i + 500] for i in range(0, len(addrs), 500)]
        bdata = ["".join(f"0x{a:x}\n" for a in b).encode() for b in batches]
        size_mb = os.path.getsize(path) / 1e6
        cmds = [(name, mk(path)) for name, mk in tools]
        for _, cmd in cmds:
            run_rss(cmd, data)  # warm the page cache
        # Rounds over all tools in turn, best of each: load from other
        # work on the machine comes in bursts, and should hit every tool
        # alike rather than the one that happened to run then.
        one = {name: None for name, _ in cmds}
        cpu = {name: None for name, _ in cmds}
        for _ in range(args.rounds):
            for name, cmd in cmds:
                dt, _, ct = run_rss(cmd, data)
                one[name] = dt if one[name] is None else min(one[name], dt)
                cpu[name] = ct if cpu[name] is None else min(cpu[name], ct)
        batch = {name: None for name, _ in cmds}
        for _ in range(2):
            for name, cmd in cmds:
                t0 = time.monotonic()
                for b in bdata:
                    run_rss(cmd, b)
                t = time.monotonic() - t0
                batch[name] = t if batch[name] is None else min(batch[name], t)
        base_one = len(addrs) / one[cmds[0][0]]
        base_batch = len(addrs) / batch[cmds[0][0]]
        for name, cmd in cmds:
            rss = run_rss(cmd, data)[1]
            if time_bin:
                # wait4's maxrss keeps the forking Python's own peak: ask
                # GNU time, which forks from a small process.
                tf = os.path.join(args.workdir, "time.out")
                run_rss([time_bin, "-f", "%M", "-o", tf] + cmd, data)
                with open(tf) as f:
                    rss = int(f.read().split()[-1])
            rate_one = len(addrs) / one[name]
            rate_batch = len(addrs) / batch[name]
            print(f"{e['name']:<16} {size_mb:>7.1f}M {len(addrs):>6} {name:<16} {rate_one:>10.0f}/s"
                  f" {rate_one / base_one:>5.1f}x {rate_batch:>10.0f}/s {rate_batch / base_batch:>5.1f}x"
                  f" {rss / 1024:>8.1f}M {cpu[name] * 1e3:>8.1f} {cpu[cmds[0][0]] / cpu[name]:>6.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
