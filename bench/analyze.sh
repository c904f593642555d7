#!/bin/bash
# bench/analyze.sh: the analyzer against its anchors, side by side in one run.
#
# 1. One workload script (two CPU-bound python3 processes, or two burners
#    when there is no python3) is recorded by perf and then by bpftape, same
#    frequency, same seconds, each following the script and its children.
# 2. Folded stacks from each:
#      perf script | stackcollapse-perf.pl     (if STACKCOLLAPSE is set)
#      perf script > /dev/null                 (perf's part alone)
#      perf report --stdio -g folded
#      bpftape folded, from a trace never imported (import included)
#      bpftape folded again (database reused)
#    with wall time and peak RSS of each.
# 3. Import rate on a synthetic trace of N profile samples
#    (bench/analyze_mktrace.c, compiled here against the build's format lib).
#
# Needs root (BPF, perf), the recorder built, perf, GNU time.
# Usage: bench/analyze.sh [BUILD_DIR]
#   FREQ=20000 DUR=25   sampling frequency (Hz) and seconds of the workload
#   NSYNTH=1000000      samples in the synthetic import trace
#   WORKLOAD=python     or burner: two samples/burner processes (C, few
#                       distinct addresses, so almost no DWARF work)
#   STACKCOLLAPSE=/path/to/stackcollapse-perf.pl  (FlameGraph; not packaged)
#   KEEP=1              keep the work directory
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
bin=$build/bin
FREQ=${FREQ:-20000}
DUR=${DUR:-25}
NSYNTH=${NSYNTH:-1000000}
work=$(mktemp -d /tmp/bpftape-bench-analyze.XXXXXX)
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT

die() { echo "analyze.sh: $*" >&2; exit 1; }
[ -x "$bin/bpftape" ] || die "no $bin/bpftape (build first)"
[ -x "$bin/bpftape-record" ] || die "no $bin/bpftape-record (needs BUILD_RECORDER)"
command -v perf >/dev/null || die "perf not found"
[ -x /usr/bin/time ] || die "GNU time (/usr/bin/time) not found"
[ "$(id -u)" = 0 ] || die "needs root (BPF and perf)"

# "wall_s peak_kb" of a command (stdout to /dev/null)
measure() {
	/usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null 2>"$work/stderr" ||
		{ cat "$work/stderr" >&2; die "failed: $*"; }
	cat "$work/time"
}
measure_sh() {
	/usr/bin/time -f "%e %M" -o "$work/time" sh -c "$1" >/dev/null 2>"$work/stderr" ||
		{ cat "$work/stderr" >&2; die "failed: $1"; }
	cat "$work/time"
}

# --- 1. record ----------------------------------------------------------------
WORKLOAD=${WORKLOAD:-python}
cat >"$work/work.sh" <<EOF
if [ "$WORKLOAD" = python ] && command -v python3 >/dev/null; then
python3 -c '
import time
def fib(n): return n if n < 2 else fib(n - 1) + fib(n - 2)
t = time.time()
while time.time() - t < $DUR: fib(20)
' &
python3 -c '
import json, time
t = time.time()
while time.time() - t < $DUR: json.loads(json.dumps([{"a": i, "b": str(i)} for i in range(2000)]))
' &
else
"$build/samples/burner" $DUR & "$build/samples/burner" $DUR &
fi
wait
EOF
echo "recording ${DUR}s of the workload at ${FREQ} Hz with perf, then with bpftape..." >&2
# Two consecutive runs of the same workload script.  Not one simultaneous
# run: perf 6.1's `perf script` and `perf report` abort (stack smashing in
# its build-id code) on data recorded while BPF programs were loaded, which
# is what bpftape-record does; -B -N keep perf out of its build-id cache.
# The same abort hits data recorded while any other BPF program ran (other
# tools on the machine): record again, up to 4 times, until perf can read it.
for attempt in 1 2 3 4; do
	perf record -q -B -N -g -F "$FREQ" -o "$work/perf.data" -- sh "$work/work.sh" \
		2>"$work/perf.err" || { cat "$work/perf.err" >&2; die "perf record failed"; }
	perf script -i "$work/perf.data" -F comm >/dev/null 2>&1 && break
	echo "perf cannot read its own data (attempt $attempt), recording again..." >&2
	[ $attempt -lt 4 ] || die "perf script keeps aborting on this machine"
done
"$bin/bpftape-record" -q -F "$FREQ" -o "$work/t.tape" -- sh "$work/work.sh" \
	2>"$work/record.err" || { cat "$work/record.err" >&2; die "bpftape-record failed"; }

perf_samples=$(perf script -i "$work/perf.data" -F comm 2>/dev/null | wc -l)
bt_samples=$("$bin/bpftape" info "$work/t.tape" | awk '$1 == "profile" { print $2 }')
bt_size=$(stat -c %s "$work/t.tape")
perf_size=$(stat -c %s "$work/perf.data")

# --- 2. folded ----------------------------------------------------------------
read -r t_script m_script < <(measure perf script -i "$work/perf.data")
read -r t_report m_report < <(measure perf report -i "$work/perf.data" --stdio -g folded)
if [ -n "${STACKCOLLAPSE:-}" ] && [ -r "$STACKCOLLAPSE" ]; then
	read -r t_sc m_sc < <(measure_sh "perf script -i '$work/perf.data' 2>/dev/null | perl '$STACKCOLLAPSE'")
else
	t_sc=n/a
	m_sc=n/a
fi
rm -f "$work/t.tape.db"
read -r t_fold m_fold < <(measure "$bin/bpftape" folded "$work/t.tape")
read -r t_fold2 m_fold2 < <(measure "$bin/bpftape" folded "$work/t.tape")
lines_bt=$("$bin/bpftape" folded "$work/t.tape" | wc -l)

# --- 3. import rate -----------------------------------------------------------
cc -O2 -o "$work/analyze_mktrace" "$here/analyze_mktrace.c" -I"$src/format/include" \
	"$build/format/libtape_format.a" -lzstd
"$work/analyze_mktrace" "$work/synth.tape" "$NSYNTH"
read -r t_imp m_imp < <(measure "$bin/bpftape" import -q -o "$work/synth.db" "$work/synth.tape")
read -r t_sfold m_sfold < <(measure "$bin/bpftape" folded --db "$work/synth.db" "$work/synth.tape")

# the two recordings rarely hold the same number of samples: the ratio of
# the times per sample is the fair one
per_sample() {
	awk -v a="$1" -v b="$2" -v na="$perf_samples" -v nb="$bt_samples" 'BEGIN {
		if (a == "n/a" || b == 0 || na == 0 || nb == 0) print "n/a";
		else printf "%.1fx (%.2f us vs %.2f us)", (a / na) / (b / nb), 1e6 * a / na, 1e6 * b / nb }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "n/a" || b == 0) print "n/a"; else printf "%.1fx", a / b }'; }
cat <<EOF
bench/analyze.sh  $(date -u +%Y-%m-%dT%H:%M:%SZ)  $(uname -r)  $(nproc) CPUs
workload: $WORKLOAD, ${DUR}s, ${FREQ} Hz; samples: perf $perf_samples, bpftape $bt_samples
files: perf.data $perf_size bytes, trace $bt_size bytes

command                                        wall s   peak RSS KiB
perf script | stackcollapse-perf.pl         $(printf '%9s %12s' "$t_sc" "$m_sc")
perf script > /dev/null                     $(printf '%9s %12s' "$t_script" "$m_script")
perf report --stdio -g folded               $(printf '%9s %12s' "$t_report" "$m_report")
bpftape folded (import included)            $(printf '%9s %12s' "$t_fold" "$m_fold")
bpftape folded (database reused)            $(printf '%9s %12s' "$t_fold2" "$m_fold2")

bpftape folded vs perf script | stackcollapse: $(ratio "$t_sc" "$t_fold") faster, $(per_sample "$t_sc" "$t_fold") per sample
bpftape folded vs perf report -g folded:       $(ratio "$t_report" "$t_fold") faster, $(per_sample "$t_report" "$t_fold") per sample
bpftape folded lines: $lines_bt

import of $NSYNTH synthetic samples: ${t_imp} s ($(awk -v n="$NSYNTH" -v t="$t_imp" 'BEGIN { printf "%.0f", n / t }') events/s), peak RSS ${m_imp} KiB
folded on it (database reused): ${t_sfold} s, peak RSS ${m_sfold} KiB
EOF
