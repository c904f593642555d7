#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Builds the symbolizer's test corpus from generated sources.

Everything is generated from a fixed seed, so two runs build the same
programs: C with deep always_inline chains across headers, static helpers
that gcc clones (.constprop/.isra/.part), C++ with namespaces, templates and
the standard library inlined.  The sources are compiled at test time by gcc,
g++ and clang into the variants the symbolizer must handle (DWARF 4 and 5,
-O0 and -O2, compressed sections, stripped with a debug file found by
build-id or by debuglink, static non-PIE, shared library).

Used by compare_addr2line.py (correctness) and bench/symbolize.sh (speed).
"""
import os
import random
import shutil
import subprocess
import sys


def gen_c(rng, nfuncs=120, depth=7):
    """Returns {filename: text} for the C program."""
    files = {}
    # Headers: chain level k lives in header inl_{k % 3}.h and calls level k+1.
    headers = {0: [], 1: [], 2: []}
    for lvl in range(depth, -1, -1):
        for v in range(4):
            name = f"inl_l{lvl}_v{v}"
            if lvl == depth:
                body = f"  return x * {rng.randint(2, 9)} + (x >> {rng.randint(1, 5)}) + {v};"
            else:
                callee = f"inl_l{lvl + 1}_v{rng.randint(0, 3)}"
                callee2 = f"inl_l{lvl + 1}_v{rng.randint(0, 3)}"
                op = rng.choice(["+", "^", "-"])
                body = (f"  int s = {v};\n"
                        f"  for (int i = 0; i < (x & 3) + 1; i++)\n"
                        f"    s {op}= {callee}(x + i);\n"
                        + (f"  if (x & {1 << rng.randint(0, 4)})\n"
                           f"    s += {callee2}(s);\n" if lvl >= depth - 2 else
                           f"  if (x & {1 << rng.randint(0, 4)})\n"
                           f"    s += {rng.randint(1, 50)};\n")
                        + f"  return s;")
            headers[lvl % 3].append(
                f"static inline __attribute__((always_inline)) int {name}(int x)\n{{\n{body}\n}}\n")
    # Deeper levels must be defined first: include order 2,1,0 does not work
    # for an interleaved chain, so put each level's prototype up front.
    protos = "".join(f"static inline __attribute__((always_inline)) int inl_l{l}_v{v}(int x);\n"
                     for l in range(depth + 1) for v in range(4))
    files["inl_protos.h"] = protos
    for k, items in headers.items():
        files[f"inl_{k}.h"] = f"#include \"inl_protos.h\"\n" + "\n".join(items)
    lines = ['#include <stdio.h>', '#include <stdlib.h>', '#include <string.h>',
             '#include "inl_2.h"', '#include "inl_1.h"', '#include "inl_0.h"', '',
             'volatile int sink;', '']
    for i in range(nfuncs):
        kind = rng.randint(0, 5)
        static = "static " if kind in (1, 2) else ""
        attr = "__attribute__((noinline)) " if static else ""
        lines.append(f"{static}{attr}int f{i}(int a, int b)")
        lines.append("{")
        lines.append("  int r = a;")
        for _ in range(rng.randint(1, 4)):
            c = rng.randint(0, 3)
            lvl = rng.randint(0, 3)
            if c == 0:
                lines.append(f"  r += inl_l{lvl}_v{rng.randint(0, 3)}(r + b);")
            elif c == 1:
                lines.append(f"  for (int i = 0; i < b; i++) {{ r ^= inl_l{lvl}_v{rng.randint(0, 3)}(i); sink = r; }}")
            elif c == 2:
                lines.append(f"  switch (r & 3) {{ case 0: r += {rng.randint(1, 99)}; break; "
                             f"case 1: r = inl_l{lvl + 2}_v{rng.randint(0, 3)}(r); break; default: r--; }}")
            else:
                lines.append(f"  if (r > {rng.randint(0, 1000)}) r = r * 3 + b; else r -= inl_l{lvl}_v0(b);")
        if i > 0 and rng.random() < 0.5:
            lines.append(f"  r += f{rng.randint(0, i - 1)}(r, b & 7);")
        lines.append("  return r;")
        lines.append("}")
        lines.append("")
    lines.append("int main(int argc, char **argv)")
    lines.append("{")
    lines.append("  int r = argc;")
    for i in range(nfuncs):
        lines.append(f"  r += f{i}(r, argc + {i % 5});")
    lines.append('  printf("%d\\n", r);')
    lines.append("  return 0;")
    lines.append("}")
    files["prog.c"] = "\n".join(lines) + "\n"
    return files


def gen_lib(rng, nfuncs=60):
    files = {}
    lines = ['#include "inl_2.h"', '#include "inl_1.h"', '#include "inl_0.h"', '']
    for i in range(nfuncs):
        lines.append(f"int lib_f{i}(int a)")
        lines.append("{")
        lines.append(f"  int r = inl_l{rng.randint(0, 4)}_v{rng.randint(0, 3)}(a);")
        lines.append(f"  for (int i = 0; i < a; i++) r += inl_l{rng.randint(1, 5)}_v{rng.randint(0, 3)}(r + i);")
        lines.append("  return r;")
        lines.append("}")
    files["lib.c"] = "\n".join(lines) + "\n"
    return files


def gen_cxx(rng, nclasses=25):
    lines = ['#include <vector>', '#include <map>', '#include <string>', '#include <algorithm>',
             '#include <cstdio>', '']
    lines.append("namespace corpus {")
    lines.append("namespace detail {")
    lines.append("template <typename T> inline T mix(T a, T b) { return a * T(3) + b / T(2); }")
    lines.append("template <typename T, int N> struct Acc {")
    lines.append("  std::vector<T> v;")
    lines.append("  void add(T x) { v.push_back(mix(x, T(N))); }")
    lines.append("  T sum() const { T s = T(); for (auto &e : v) s += e; return s; }")
    lines.append("};")
    lines.append("}  // namespace detail")
    for i in range(nclasses):
        n = rng.randint(1, 9)
        lines.append(f"class Shape{i} {{")
        lines.append(" public:")
        lines.append(f"  explicit Shape{i}(int k) : k_(k) {{}}")
        lines.append(f"  virtual ~Shape{i}() {{}}")
        lines.append(f"  virtual double area(double x) const;")
        lines.append(f"  template <typename T> T scaled(T x) const {{ return detail::mix<T>(x, T(k_ + {n})); }}")
        lines.append(" private:")
        lines.append("  int k_;")
        lines.append("};")
        lines.append(f"double Shape{i}::area(double x) const {{")
        lines.append(f"  detail::Acc<double, {n}> acc;")
        lines.append(f"  for (int j = 0; j < k_; j++) acc.add(scaled<double>(x + j));")
        lines.append(f"  std::vector<int> w(k_ + 1, {n});")
        lines.append("  std::sort(w.begin(), w.end());")
        lines.append("  return acc.sum() + w.back();")
        lines.append("}")
    lines.append("std::map<std::string, int> table;")
    lines.append("int lookup(const std::string &s) { auto it = table.find(s); return it == table.end() ? -1 : it->second; }")
    lines.append("}  // namespace corpus")
    lines.append("int main(int argc, char **argv) {")
    lines.append("  double t = 0;")
    for i in range(nclasses):
        lines.append(f"  {{ corpus::Shape{i} s(argc + {i}); t += s.area(t) + s.scaled<int>(argc); }}")
    lines.append('  corpus::table["x"] = argc;')
    lines.append('  std::printf("%f %d\\n", t, corpus::lookup(argv[0]));')
    lines.append("  return 0;")
    lines.append("}")
    return {"prog.cc": "\n".join(lines) + "\n"}


def run(cmd, cwd):
    r = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.stderr.write(f"corpus: {' '.join(cmd)} failed:\n{r.stderr}\n")
        raise SystemExit(1)
    return r.stdout


def build_id(path):
    out = subprocess.run(["readelf", "-n", path], stdout=subprocess.PIPE, text=True).stdout
    for line in out.splitlines():
        if "Build ID:" in line:
            return line.split("Build ID:")[1].strip()
    return None


def build(outdir, which=None, big=False):
    """Builds the corpus in OUTDIR.  Returns a list of dicts:
    {name, path, debug_dirs, text_ranges_from}.  WHICH limits the variants."""
    rng = random.Random(20261122)
    outdir = os.path.abspath(outdir)
    os.makedirs(outdir, exist_ok=True)
    src = os.path.join(outdir, "src")
    os.makedirs(src, exist_ok=True)
    files = gen_c(rng, nfuncs=800 if big else 120, depth=7)
    files.update(gen_lib(rng))
    files.update(gen_cxx(rng, nclasses=150 if big else 25))
    for name, text in files.items():
        # Rewrite only what changed, so a second run reuses the binaries.
        fn = os.path.join(src, name)
        if os.path.exists(fn) and open(fn).read() == text:
            continue
        with open(fn, "w") as f:
            f.write(text)
    newest_src = max(os.path.getmtime(os.path.join(src, n)) for n in files)
    clang = shutil.which("clang") or shutil.which("clang-14")
    dbgdir = os.path.join(outdir, "debug")
    os.makedirs(dbgdir, exist_ok=True)
    variants = [
        ("gcc-O0-dwarf5", ["gcc", "-O0", "-g", "prog.c"]),
        ("gcc-O2-dwarf5", ["gcc", "-O2", "-g", "prog.c"]),
        ("gcc-O2-dwarf4", ["gcc", "-O2", "-gdwarf-4", "prog.c"]),
        ("gcc-O2-zlib", ["gcc", "-O2", "-g", "-gz=zlib", "prog.c"]),
        ("clang-O2", [clang, "-O2", "-g", "prog.c"]) if clang else None,
        ("gxx-O2", ["g++", "-O2", "-g", "prog.cc"]),
        ("gcc-O2-static", ["gcc", "-O2", "-g", "-static", "-no-pie", "prog.c"]),
        ("gcc-O2-shared", ["gcc", "-O2", "-g", "-shared", "-fPIC", "lib.c"]),
        ("gcc-O2-buildid", ["gcc", "-O2", "-g", "prog.c"]),
        ("gcc-O2-debuglink", ["gcc", "-O2", "-g", "-Wl,--build-id=none", "prog.c"]),
    ]
    out = []
    for v in variants:
        if v is None:
            continue
        name, cmd = v
        if which and name not in which:
            continue
        exe = os.path.join(outdir, name)
        entry = {"name": name, "path": exe, "debug_dirs": []}
        if os.path.exists(exe) and os.path.getmtime(exe) > newest_src:
            if name.endswith("-buildid"):
                entry["debug_dirs"] = [dbgdir]
            out.append(entry)
            continue
        run(cmd + ["-o", exe], src)
        if name.endswith("-buildid"):
            bid = build_id(exe)
            d = os.path.join(dbgdir, ".build-id", bid[:2])
            os.makedirs(d, exist_ok=True)
            run(["objcopy", "--only-keep-debug", exe, os.path.join(d, bid[2:] + ".debug")], outdir)
            run(["strip", "--strip-all", exe], outdir)
            entry["debug_dirs"] = [dbgdir]
        elif name.endswith("-debuglink"):
            d = os.path.join(outdir, ".debug")
            os.makedirs(d, exist_ok=True)
            dbg = os.path.join(d, name + ".debug")
            run(["objcopy", "--only-keep-debug", exe, dbg], outdir)
            run(["strip", "--strip-all", exe], outdir)
            # objcopy wants the debug file next to where it runs to take its CRC.
            run(["objcopy", "--add-gnu-debuglink=" + dbg, exe], outdir)
            entry["debug_dirs"] = []
        out.append(entry)
    return out


if __name__ == "__main__":
    for e in build(sys.argv[1] if len(sys.argv) > 1 else "corpus"):
        print(e["name"], e["path"])
