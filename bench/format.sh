#!/usr/bin/env bash
# Trace writer/reader speed and size on a syscall-storm stream, beside the
# bare 32-byte-struct -> zstd anchor.  Usage: bench/format.sh [EVENTS]
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/bench -j"$(nproc)" --target format_bench >/dev/null
exec build/bench/bench/format_bench "${1:-20000000}"
