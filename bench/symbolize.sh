#!/bin/sh
# SPDX-License-Identifier: MIT
# Symbolization speed of `bpftape symbolize` against binutils addr2line and
# llvm-symbolizer on the same addresses of large generated binaries: one
# call per binary, batches of 500 addresses per call, peak RSS and CPU time
# of one call.
#
# usage: bench/symbolize.sh [BUILD_DIR] [--small] [--addrs N] [--rounds N]
#   BUILD_DIR defaults to ./build; the symbolize command is taken from
#   BUILD_DIR/bin/bpftape when it exists, else the test driver
#   BUILD_DIR/tests/symbolizer/sym_symbolize.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
[ $# -gt 0 ] && shift
# bpftape is run as itself ("bpftape symbolize ..."), as a user runs it: a
# shell wrapper in between cost it 0.3-0.5 ms of its 10-12 ms a call.
if [ -x "$build/bin/bpftape" ]; then
	bin=$(cd "$build/bin" && pwd)/bpftape
	sub=symbolize
else
	bin=$build/tests/symbolizer/sym_symbolize
	sub=
fi
[ -x "$bin" ] || { echo "symbolize.sh: no symbolize command in '$build' (build it first)" >&2; exit 1; }
exec python3 "$here/symbolize.py" ${sub:+--subcommand "$sub"} "$bin" "$build/bench-symbolize" "$@"
