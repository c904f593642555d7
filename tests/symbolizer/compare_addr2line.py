#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Agreement of `bpftape symbolize` with binutils `addr2line -f -i`.

Builds the generated corpus (corpus.py), picks every function entry and a
few thousand random addresses in .text of each binary (fixed seed), and
symbolizes them with addr2line (one call per binary), llvm-symbolizer-14
(same), and the symbolize command.  Addresses where addr2line and
llvm-symbolizer disagree with each other are left out: there the reference
itself is in doubt.  Prints the agreement per binary and overall and fails
below the thresholds: function 99.5 %, whole inline chain 99 %, file:line of
every frame 99 %.

usage: compare_addr2line.py SYMBOLIZE_BINARY WORKDIR [--random N] [--show N]
"""
import argparse
import os
import random
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402

THRESHOLDS = {"function": 99.5, "chain": 99.0, "fileline": 99.0}


def sections(path):
    """(name, type, address, file offset, size, flags) of each section,
    from readelf -S -W."""
    out = subprocess.run(["readelf", "-S", "-W", path], stdout=subprocess.PIPE, text=True).stdout
    for line in out.splitlines():
        m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+(\S+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)"
                     r"\s+\S+\s+(\S*)", line)
        if m:
            name, typ, addr, off, size, flags = m.groups()
            yield name, typ, int(addr, 16), int(off, 16), int(size, 16), flags


def text_ranges(path):
    """[(lo, hi)] of executable PROGBITS sections."""
    return [(addr, addr + size) for _, typ, addr, _, size, flags in sections(path)
            if typ == "PROGBITS" and "X" in flags and size > 0]


def func_entries(path, ranges):
    out = subprocess.run(["nm", "--defined-only", path], stdout=subprocess.PIPE, text=True).stdout
    addrs = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "tTwW":
            a = int(parts[0], 16)
            if any(lo <= a < hi for lo, hi in ranges):
                addrs.add(a)
    return sorted(addrs)


def random_addr(rng, ranges):
    """An address drawn uniformly from the bytes of RANGES."""
    k = rng.randrange(sum(hi - lo for lo, hi in ranges))
    for lo, hi in ranges:
        if k < hi - lo:
            return lo + k
        k -= hi - lo
    raise ValueError("empty ranges")


def norm_loc(loc):
    loc = re.sub(r" \(discriminator \d+\)$", "", loc.strip())
    if loc.endswith(":?"):
        loc = loc[:-2] + ":0"
    return loc


def parse_gnu(text, addrs):
    """addr2line -a -f -i output -> {addr: [(func, loc), ...]}."""
    res = {}
    cur = None
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if re.fullmatch(r"0x[0-9a-f]+", line):
            cur = int(line, 16)
            res[cur] = []
            i += 1
            continue
        if cur is None or i + 1 >= len(lines):
            i += 1
            continue
        res[cur].append((line, norm_loc(lines[i + 1])))
        i += 2
    return res


def parse_ours(text):
    res = {}
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) < 4:
            continue
        a = int(parts[0], 16)
        res.setdefault(a, []).append((parts[2], norm_loc(parts[3])))
    return res


def run_tool(cmd, addrs, env=None):
    data = "".join(f"0x{a:x}\n" for a in addrs)
    r = subprocess.run(cmd, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       env=env)
    if r.returncode != 0:
        sys.stderr.write(f"{cmd[0]} exited {r.returncode}: {r.stderr[:500]}\n")
    return r.stdout


def same_in_batches(symbolize, path, dd, addrs, rng):
    """Whether one call with every address (a large batch: its line
    program is started before the batch is sorted, and results are
    formatted while others are looked up) prints what calls of 200
    addresses (none of that) print, in a shuffled order.  Returns None
    when they agree, else the first line that differs."""
    addrs = list(addrs)
    rng.shuffle(addrs)
    cmd = [symbolize, "--exe", path, "--reason"] + dd
    whole = run_tool(cmd, addrs).splitlines()
    parts = []
    for i in range(0, len(addrs), 200):
        parts += run_tool(cmd, addrs[i:i + 200]).splitlines()
    for x, y in zip(whole, parts):
        if x != y:
            return f"{x!r} vs {y!r}"
    if len(whole) != len(parts):
        return f"{len(whole)} lines vs {len(parts)}"
    return None


def break_line_table(src, dst):
    """A copy of SRC whose first line table header has version 9 (which
    no reader takes); False when .debug_line is missing or compressed."""
    for name, _, _, off, _, flags in sections(src):
        if name == ".debug_line" and "C" not in flags:
            data = bytearray(open(src, "rb").read())
            data[off + 4] = 9
            with open(dst, "wb") as f:
                f.write(data)
            return True
    return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("symbolize")
    ap.add_argument("workdir")
    ap.add_argument("--random", type=int, default=2000)
    ap.add_argument("--show", type=int, default=3)
    ap.add_argument("--only", action="append")
    args = ap.parse_args()

    llvm = shutil.which("llvm-symbolizer-14") or shutil.which("llvm-symbolizer")
    entries = corpus.build(args.workdir, which=args.only)
    rng = random.Random(4242)
    shuffle_rng = random.Random(7)  # apart, so the sample stays the same
    total = {"n": 0, "function": 0, "chain": 0, "fileline": 0, "excluded": 0, "llvm_ok": 0}
    failed = False
    print(f"{'binary':<18} {'addrs':>6} {'excl':>5} {'function':>9} {'chain':>8} {'file:line':>9}")
    for e in entries:
        path = e["path"]
        ranges = text_ranges(path if not e["name"].endswith(("-buildid", "-debuglink"))
                             else path)
        addrs = set(func_entries(path, ranges))
        if e["name"].endswith(("-buildid", "-debuglink")):
            # Stripped: take the entries from the debug file's symbols.
            dbg = subprocess.run(["find", args.workdir, "-name", "*.debug"], stdout=subprocess.PIPE,
                                 text=True).stdout.split()
            for d in dbg:
                addrs |= set(func_entries(d, ranges))
        for _ in range(args.random):
            addrs.add(random_addr(rng, ranges))
        addrs = sorted(addrs)
        dd = []
        for d in e["debug_dirs"]:
            dd += ["--debug-dir", d]
        # addr2line finds build-id debug files only under its compiled-in
        # directory: point it at the debug file for the stripped variants.
        a2l_target = path
        if e["name"].endswith("-buildid"):
            for root, _, fs in os.walk(e["debug_dirs"][0]):
                for f in fs:
                    a2l_target = os.path.join(root, f)
        ref = parse_gnu(run_tool(["addr2line", "-a", "-f", "-i", "-e", a2l_target], addrs), addrs)
        other = {}
        if llvm:
            cmd = [llvm, "--output-style=GNU", "--no-demangle", "-a", "-f", "-i", "-e", a2l_target]
            other = parse_gnu(run_tool(cmd, addrs), addrs)
        ours = parse_ours(run_tool([args.symbolize, "--exe", path] + dd, addrs))
        n = ok_f = ok_c = ok_l = excl = 0
        shown = 0
        for a in addrs:
            r = ref.get(a)
            if r is None:
                continue
            if llvm and other.get(a) != r:
                excl += 1
                # Where the references disagree, report how often we side
                # with llvm-symbolizer (informative, not asserted).
                o = ours.get(a, [])
                if other.get(a) is not None and o == other.get(a):
                    total["llvm_ok"] += 1
                continue
            o = ours.get(a, [])
            n += 1
            f_ok = bool(o) and o[0][0] == r[0][0]
            l_ok = len(o) == len(r) and all(x[1] == y[1] for x, y in zip(o, r))
            c_ok = o == r
            ok_f += f_ok
            ok_l += l_ok
            ok_c += c_ok
            if not c_ok and shown < args.show:
                shown += 1
                print(f"  {e['name']} 0x{a:x}: addr2line {r}\n  {' ' * len(e['name'])} {' ' * len(hex(a))}  ours     {o}")
        pct = lambda k: 100.0 * k / n if n else 100.0  # noqa: E731
        print(f"{e['name']:<18} {n:>6} {excl:>5} {pct(ok_f):>8.2f}% {pct(ok_c):>7.2f}% {pct(ok_l):>8.2f}%")
        total["n"] += n
        total["function"] += ok_f
        total["chain"] += ok_c
        total["fileline"] += ok_l
        total["excluded"] += excl
        diff = same_in_batches(args.symbolize, path, dd, addrs, shuffle_rng)
        if diff:
            print(f"FAIL: {e['name']}: one call and calls of 200 differ: {diff}")
            failed = True
        if e["name"] == "gcc-O2-dwarf5":
            # A damaged line table reads the same whether or not a large
            # batch started it early.
            broken = os.path.join(args.workdir, "broken-line")
            if not break_line_table(path, broken):
                print(f"FAIL: {e['name']}: no plain .debug_line to break")
                failed = True
            else:
                diff = same_in_batches(args.symbolize, broken, [], addrs, shuffle_rng)
                out = run_tool([args.symbolize, "--exe", broken, "--reason"], addrs[:300])
                if diff:
                    print(f"FAIL: broken line table: one call and calls of 200 differ: {diff}")
                    failed = True
                elif "\tbad dwarf" not in out:
                    print("FAIL: broken line table: no 'bad dwarf' reason")
                    failed = True
                else:
                    print("broken line table: same results in one call and in calls of 200")
    n = total["n"]
    res = {k: 100.0 * total[k] / n if n else 0.0 for k in THRESHOLDS}
    print(f"{'all':<18} {n:>6} {total['excluded']:>5} {res['function']:>8.2f}% {res['chain']:>7.2f}% {res['fileline']:>8.2f}%")
    if total["excluded"]:
        print(f"on the {total['excluded']} excluded addresses, bpftape equals llvm-symbolizer's "
              f"whole chain on {100.0 * total['llvm_ok'] / total['excluded']:.2f}%")
    for k, t in THRESHOLDS.items():
        if res[k] < t:
            print(f"FAIL: {k} agreement {res[k]:.2f}% < {t}%")
            failed = True
    if n < 1000:
        print(f"FAIL: only {n} addresses compared")
        failed = True
    print(f"{0 if failed else 1} passed, {1 if failed else 0} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
