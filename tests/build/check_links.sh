#!/usr/bin/env bash
# The dependency rule of DESIGN.md, checked on the binaries: the analyzer
# never links libbpf; the recorder never links SQLite or libdwarf.  A
# library counts as linked when the binary needs its shared object or
# carries its code (bpftape links its libraries statically when it can,
# and libc too by default).
set -u
bin=${BPFTAPE_BIN_DIR:?}
fail=0; checked=0
needed() { readelf -d "$1" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'; }
defines() { readelf -sW "$1" | awk '$7 != "UND" {print $8}' | grep -qx "$2"; }
if [ -x "$bin/bpftape" ]; then
  checked=$((checked + 1))
  if needed "$bin/bpftape" | grep -E '^libbpf\.' || defines "$bin/bpftape" bpf_object__open_file; then
    echo "FAIL: bpftape links libbpf"; fail=1
  fi
  needed "$bin/bpftape" | grep -q '^libsqlite3\.' || defines "$bin/bpftape" sqlite3_open_v2 ||
    { echo "FAIL: bpftape does not link SQLite?"; fail=1; }
  # Linked fully static (BPFTAPE_STATIC_EXE): no shared object, no
  # dynamic linker to run.
  if [ "${BPFTAPE_EXE_STATIC:-OFF}" = ON ]; then
    if [ -n "$(needed "$bin/bpftape")" ] || readelf -lW "$bin/bpftape" | grep -q 'Requesting program interpreter'; then
      echo "FAIL: bpftape should be static, but needs: $(needed "$bin/bpftape" | tr '\n' ' ')"; fail=1
    fi
  fi
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
