#!/bin/sh
# SPDX-License-Identifier: MIT
# Symbolization speed of `bpftape symbolize` against binutils addr2line and
# llvm-symbolizer on the same addresses of large generated binaries: one
# call per binary, batches of 500 addresses per call, peak RSS.
#
# usage: bench/symbolize.sh [BUILD_DIR] [--small] [--addrs N] [--rounds N]
#   BUILD_DIR defaults to ./build; the symbolize command is taken from
#   BUILD_DIR/bin/bpftape when it exists, else the test driver
#   BUILD_DIR/tests/symbolizer/sym_symbolize.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
[ $# -gt 0 ] && shift
if [ -x "$build/bin/bpftape" ]; then
	wrap=$(mktemp)
	printf '#!/bin/sh\nexec "%s" symbolize "$@"\n' "$(cd "$build/bin" && pwd)/bpftape" > "$wrap"
	chmod +x "$wrap"
	bin=$wrap
else
	bin=$build/tests/symbolizer/sym_symbolize
fi
[ -x "$bin" ] || { echo "symbolize.sh: no symbolize command in '$build' (build it first)" >&2; exit 1; }
exec python3 "$here/symbolize.py" "$bin" "$build/bench-symbolize" "$@"
