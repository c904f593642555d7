#!/usr/bin/env bash
# The dependency rule of DESIGN.md, checked on the binaries: the analyzer
# never links libbpf; the recorder never links SQLite or libdwarf.
set -u
bin=${BPFTAPE_BIN_DIR:?}
fail=0; checked=0
needed() { readelf -d "$1" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'; }
if [ -x "$bin/bpftape" ]; then
  checked=$((checked + 1))
  if needed "$bin/bpftape" | grep -E '^libbpf\.'; then
    echo "FAIL: bpftape links libbpf"; fail=1
  fi
  needed "$bin/bpftape" | grep -q '^libsqlite3\.' || { echo "FAIL: bpftape does not link SQLite?"; fail=1; }
else
  echo "FAIL: $bin/bpftape missing"; fail=1
fi
if [ -x "$bin/bpftape-record" ]; then
  checked=$((checked + 1))
  if needed "$bin/bpftape-record" | grep -E '^(libsqlite3|libdwarf)\.'; then
    echo "FAIL: bpftape-record links SQLite or libdwarf"; fail=1
  fi
  needed "$bin/bpftape-record" | grep -q '^libbpf\.' || { echo "FAIL: bpftape-record does not link libbpf?"; fail=1; }
fi
echo "$checked binaries checked"
exit $fail
