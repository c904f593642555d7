#!/bin/bash
# bench/record.sh: the recorder against perf on a syscall storm, side by side
# in one run.  samples/getppid makes N getppid calls and times its own loop,
# so the tracers' start-up is not counted; each configuration runs ROUNDS
# times, interleaved, and the median is kept (the machine may be shared).
#
# usage: bench/record.sh [BUILD_DIR]        (root; perf in PATH)
#   N=2000000 ROUNDS=3 BUFFER=<bpftape --buffer-size>  environment overrides
#
# Reports per configuration: ns per call, overhead per event over the
# untraced loop, events lost, bytes per event, the tracer's max RSS; then
# bpftape's ratios to perf (targets: overhead <= 0.3x perf without stacks,
# <= 0.4x with stacks; bytes/event <= 0.5x perf -z; 0 lost).
set -euo pipefail

BUILD=${1:-build}
N=${N:-2000000}
ROUNDS=${ROUNDS:-3}
REC=$BUILD/bin/bpftape-record
STORM=$BUILD/samples/getppid
EVENT=raw_syscalls:sys_enter

die() { echo "record.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root"
[ -x "$REC" ] || die "no $REC (build first)"
[ -x "$STORM" ] || die "no $STORM (build first)"
command -v perf >/dev/null || die "perf not found"
[ -x /usr/bin/time ] || die "/usr/bin/time (GNU time) not found"

TMP=$(mktemp -d /tmp/bpftape-bench.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
BUFOPT=()
[ -n "${BUFFER:-}" ] && BUFOPT=(--buffer-size "$BUFFER")

# name -> command prefix (the storm is appended)
CONFIGS=(base bpftape bpftape-g perf perf-g perf-z perf-zg)
cmd_for() {
	local out=$TMP/$1.out
	case $1 in
	base)      echo "" ;;
	bpftape)   echo "$REC -f -o $out ${BUFOPT[*]} -e $EVENT --" ;;
	bpftape-g) echo "$REC -f -o $out ${BUFOPT[*]} -g -e $EVENT --" ;;
	perf)      echo "perf record -q --no-buildid -o $out -e $EVENT --" ;;
	perf-g)    echo "perf record -q --no-buildid -o $out -g -e $EVENT --" ;;
	perf-z)    echo "perf record -q --no-buildid -o $out -z -e $EVENT --" ;;
	perf-zg)   echo "perf record -q --no-buildid -o $out -z -g -e $EVENT --" ;;
	esac
}

declare -A NS LOST BYTES RSS
for round in $(seq "$ROUNDS"); do
	for c in "${CONFIGS[@]}"; do
		out=$TMP/$c.out
		rm -f "$out"
		# shellcheck disable=SC2046
		/usr/bin/time -f "maxrss_kb %M" -o "$TMP/time" \
			$(cmd_for "$c") "$STORM" "$N" --time >"$TMP/stdout" 2>"$TMP/stderr" ||
			die "$c failed: $(tail -3 "$TMP/stderr")"
		ns=$(awk '/^ns_per_call/ {print $2}' "$TMP/stderr")
		NS[$c]="${NS[$c]:-} $ns"
		rss=$(awk '/maxrss_kb/ {print $2}' "$TMP/time")
		RSS[$c]="${RSS[$c]:-} $rss"
		case $c in
		base) lost=0; bytes=0 ;;
		bpftape*)
			lost=$(sed -n 's/.*lost \([0-9]*\) events.*/\1/p' "$TMP/stderr")
			bytes=$(stat -c %s "$out") ;;
		perf*)
			samples=$(perf report -i "$out" --stats 2>/dev/null |
				awk '/SAMPLE events:/ {print $3; exit}')
			lost=$(( N > samples ? N - samples : 0 ))
			bytes=$(stat -c %s "$out") ;;
		esac
		LOST[$c]="${LOST[$c]:-} $lost"
		BYTES[$c]="${BYTES[$c]:-} $bytes"
		echo "round $round $c: ns_per_call=$ns lost=$lost bytes=$bytes maxrss_kb=$rss" >&2
	done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
max() { tr ' ' '\n' | grep -v '^$' | sort -g | tail -1; }

base=$(echo "${NS[base]}" | median)
declare -A OV BPE
printf '\n%-10s %12s %14s %10s %12s %12s\n' config ns/call overhead_ns lost bytes/event maxrss_MiB
for c in "${CONFIGS[@]}"; do
	ns=$(echo "${NS[$c]}" | median)
	OV[$c]=$(awk -v a="$ns" -v b="$base" 'BEGIN {printf "%.0f", a - b}')
	BPE[$c]=$(awk -v b="$(echo "${BYTES[$c]}" | median)" -v n="$N" 'BEGIN {printf "%.2f", b / n}')
	printf '%-10s %12s %14s %10s %12s %12s\n' "$c" "$ns" "${OV[$c]}" \
		"$(echo "${LOST[$c]}" | max)" "${BPE[$c]}" \
		"$(awk -v k="$(echo "${RSS[$c]}" | max)" 'BEGIN {printf "%.1f", k / 1024}')"
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "n/a"}'; }
ncpu=$(nproc)
bufmib=8
if [ -n "${BUFFER:-}" ]; then
	bufmib=$(echo "$BUFFER" | sed 's/[Mm].*//')
fi
echo
echo "N=$N events per run, median of $ROUNDS interleaved rounds, $ncpu CPUs"
echo "overhead/event, no stacks:  bpftape/perf    = $(ratio "${OV[bpftape]}" "${OV[perf]}")   (target <= 0.3)"
echo "overhead/event, stacks:     bpftape-g/perf-g = $(ratio "${OV[bpftape-g]}" "${OV[perf-g]}")   (target <= 0.4)"
echo "bytes/event:                bpftape/perf-z   = $(ratio "${BPE[bpftape]}" "${BPE[perf-z]}")   (target <= 0.5)"
echo "bytes/event, stacks:        bpftape-g/perf-zg = $(ratio "${BPE[bpftape-g]}" "${BPE[perf-zg]}")"
echo "bpftape lost events (max over rounds): $(echo "${LOST[bpftape]}" | max) without stacks, $(echo "${LOST[bpftape-g]}" | max) with"
rss=$(echo "${RSS[bpftape]} ${RSS[bpftape-g]}" | max)
# each ring's data pages are mapped twice (so records that wrap stay
# contiguous) and all of it counts in RSS from the start
echo "bpftape max RSS: $(awk -v k="$rss" 'BEGIN {printf "%.1f", k / 1024}') MiB, of which ring mappings $((2 * ncpu * bufmib)) MiB ($ncpu rings x ${bufmib} MiB, mapped twice); beyond the rings: $(awk -v k="$rss" -v r=$((2 * ncpu * bufmib)) 'BEGIN {printf "%.1f", k / 1024 - r}') MiB (target < 64)"
