#!/bin/sh
# SPDX-License-Identifier: MIT
# The symbolize command's contract: output format, stdin batches, exit
# codes and one-line errors.  usage: test_cli.sh SYMBOLIZE FIXTURE_DIR
set -u
bin=$1 fx=$2
pass=0 fail=0
ok() { pass=$((pass + 1)); }
ko() { fail=$((fail + 1)); echo "FAIL: $*"; }
expect_rc() { # WANT DESC CMD...
	want=$1 desc=$2; shift 2
	"$@" >/tmp/symcli.$$.out 2>/tmp/symcli.$$.err </dev/null
	rc=$?
	[ "$rc" -eq "$want" ] && ok || ko "$desc: exit $rc, want $want ($(head -c 200 /tmp/symcli.$$.err))"
}

expect_rc 0 "--help" "$bin" --help
grep -q "usage: bpftape symbolize" /tmp/symcli.$$.out && ok || ko "--help prints usage to stdout"
expect_rc 2 "no --exe" "$bin" 0x1000
expect_rc 2 "bad address" "$bin" --exe "$fx/chain" 0x10zz
grep -q "invalid address '0x10zz'" /tmp/symcli.$$.err && ok || ko "bad address message"
[ "$(wc -l < /tmp/symcli.$$.err)" -eq 1 ] && ok || ko "one-line error"
expect_rc 2 "unknown option" "$bin" --exe "$fx/chain" --bogus 0x1000
expect_rc 1 "missing file" "$bin" --exe "$fx/does-not-exist" 0x1000
grep -q "cannot open '.*does-not-exist': No such file or directory" /tmp/symcli.$$.err && ok || ko "missing file message"
expect_rc 1 "not ELF" "$bin" --exe "$fx/notelf.txt" 0x1000
grep -q "not an ELF file" /tmp/symcli.$$.err && ok || ko "not ELF message"

# Format: four tab-separated fields, depth counting from 0, real function last.
top=$(nm "$fx/chain" | awk '$3 == "chain_top" { print "0x" $1 }')
other=$(nm "$fx/chain" | awk '$3 == "chain_other" { print "0x" $1 }')
top=$(printf '0x%x' "$top") other=$(printf '0x%x' "$other")
"$bin" --exe "$fx/chain" "$other" 0x7fff00000000 > /tmp/symcli.$$.out 2>/dev/null && ok || ko "lookup exit"
awk -F'\t' 'NF != 4 { bad = 1 } END { exit bad }' /tmp/symcli.$$.out && ok || ko "4 fields"
grep -q "^$other	0	chain_other	.*/chain.c:[0-9]*\$" /tmp/symcli.$$.out && ok || ko "entry of chain_other: $(cat /tmp/symcli.$$.out)"
grep -q "^0x7fff00000000	0	??	??:0\$" /tmp/symcli.$$.out && ok || ko "unknown address prints ??"
# The address column is lowercase hex without leading zeros, whatever
# its width, both in a small batch and in a large one (formatted while
# looked up, its lines kept compact until copied out in input order).
edges="0x0 0x1 0xf 0x10 0xabc 0xfffffff 0x10000000 0xffffffffffffffff"
"$bin" --exe "$fx/chain" $edges | cut -f1 | tr '\n' ' ' > /tmp/symcli.$$.out
[ "$(cat /tmp/symcli.$$.out)" = "$edges " ] && ok || ko "address widths: $(cat /tmp/symcli.$$.out)"
seq 1 2000 | awk -v e="$edges" 'BEGIN { n = split(e, a, " ") } { print a[($1 % n) + 1] }' |
	"$bin" --exe "$fx/chain" | cut -f1 | LC_ALL=C sort -u | tr '\n' ' ' > /tmp/symcli.$$.out
[ "$(cat /tmp/symcli.$$.out)" = "$(printf '%s\n' $edges | LC_ALL=C sort | tr '\n' ' ')" ] && ok ||
	ko "address widths in a large batch: $(cat /tmp/symcli.$$.out)"

# Inline chain somewhere in chain_top: depth 0 chain_leaf ... depth 2 chain_top.
start=$(printf '%d' "$top")
seq "$start" $((start + 80)) | awk '{ printf "0x%x\n", $1 }' | "$bin" --exe "$fx/chain" > /tmp/symcli.$$.out
awk -F'\t' '$2 == 2 && $3 == "chain_top" { found = 1 } END { exit !found }' /tmp/symcli.$$.out && ok || ko "inline chain from stdin"
grep -q "	0	chain_leaf	.*/chain.h:[0-9]*\$" /tmp/symcli.$$.out && ok || ko "innermost inlined frame first"

# A large input goes in batches of up to 65536 addresses, each formatted
# while it is looked up: the lines still come out in input order, as each
# address gives them alone.
seq 0 69999 | awk -v s="$start" '{ printf "0x%x\n", s + ($1 * 7) % 81 }' > /tmp/symcli.$$.in
"$bin" --exe "$fx/chain" < /tmp/symcli.$$.in > /tmp/symcli.$$.big && ok || ko "large input exit"
seq "$start" $((start + 80)) | awk '{ printf "0x%x\n", $1 }' | "$bin" --exe "$fx/chain" > /tmp/symcli.$$.small
awk -F'\t' 'NR == FNR { lines[$1] = lines[$1] $0 "\n"; next } { printf "%s", lines[$1] }' \
	/tmp/symcli.$$.small /tmp/symcli.$$.in > /tmp/symcli.$$.want
[ -s /tmp/symcli.$$.want ] && cmp -s /tmp/symcli.$$.want /tmp/symcli.$$.big && ok ||
	ko "large input: lines in input order"
# With reasons, each line is kept whole until it is copied out (the
# others are kept compact): the same bytes as small batches give.
"$bin" --exe "$fx/chain" --reason < /tmp/symcli.$$.in > /tmp/symcli.$$.big
seq "$start" $((start + 80)) | awk '{ printf "0x%x\n", $1 }' |
	"$bin" --exe "$fx/chain" --reason > /tmp/symcli.$$.small
awk -F'\t' 'NR == FNR { lines[$1] = lines[$1] $0 "\n"; next } { printf "%s", lines[$1] }' \
	/tmp/symcli.$$.small /tmp/symcli.$$.in > /tmp/symcli.$$.want
grep -q "	ok\$" /tmp/symcli.$$.want && cmp -s /tmp/symcli.$$.want /tmp/symcli.$$.big && ok ||
	ko "large input with reasons: lines in input order"
"$bin" --exe "$fx/chain" --reason < /tmp/symcli.$$.in | cat > /tmp/symcli.$$.piped
cmp -s /tmp/symcli.$$.big /tmp/symcli.$$.piped && ok || ko "large input with reasons: a pipe gets what a file gets"
"$bin" --exe "$fx/chain" < /tmp/symcli.$$.in > /tmp/symcli.$$.big
# Into a pipe the helper thread writes the lines while they are copied
# out; into a file they are written in turn: the same bytes either way.
"$bin" --exe "$fx/chain" < /tmp/symcli.$$.in | cat > /tmp/symcli.$$.piped
cmp -s /tmp/symcli.$$.big /tmp/symcli.$$.piped && ok || ko "large input: a pipe gets what a file gets"
# Into a pipe the lines are spliced (vmsplice): the pipe refers to their
# pages until they are read.  Two batches (stdin pauses between them) whose
# lines both fit in the pipe, read only once the command has exited: the
# second batch must not have written over the first one's pages, nor the
# exit freed them.
head -n 3000 /tmp/symcli.$$.in > /tmp/symcli.$$.in1
sed -n '3001,6000p' /tmp/symcli.$$.in > /tmp/symcli.$$.in2
cat /tmp/symcli.$$.in1 /tmp/symcli.$$.in2 | "$bin" --exe "$fx/chain" > /tmp/symcli.$$.want
{ cat /tmp/symcli.$$.in1; sleep 0.5; cat /tmp/symcli.$$.in2; } | "$bin" --exe "$fx/chain" |
	{ sleep 1.5; cat; } > /tmp/symcli.$$.piped
[ "$(wc -c < /tmp/symcli.$$.want)" -lt 1000000 ] && [ "$(wc -l < /tmp/symcli.$$.want)" -gt 6000 ] &&
	cmp -s /tmp/symcli.$$.want /tmp/symcli.$$.piped && ok ||
	ko "two spliced batches read after the command exited"
# Into a socket the lines go through the ring of buffers the helper writes.
python3 - "$bin" "$fx/chain" /tmp/symcli.$$.in /tmp/symcli.$$.piped <<'PY' && ok || ko "socket output"
import socket, subprocess, sys
a, b = socket.socketpair()
with open(sys.argv[3], "rb") as inp, open(sys.argv[4], "wb") as out:
    p = subprocess.Popen([sys.argv[1], "--exe", sys.argv[2]], stdin=inp, stdout=b.fileno())
    b.close()
    while True:
        d = a.recv(1 << 16)
        if not d:
            break
        out.write(d)
sys.exit(p.wait())
PY
cmp -s /tmp/symcli.$$.big /tmp/symcli.$$.piped && ok || ko "large input: a socket gets what a file gets"
# Output that cannot be written: one line saying so and exit 1, whether
# the batch is written through the streaming ring or the plain buffer.
for n in 3 3000; do
	head -n "$n" /tmp/symcli.$$.in | "$bin" --exe "$fx/chain" > /dev/full 2>/tmp/symcli.$$.err
	[ $? -eq 1 ] && [ "$(wc -l < /tmp/symcli.$$.err)" -eq 1 ] &&
		grep -q "cannot write the output: No space left on device" /tmp/symcli.$$.err && ok ||
		ko "output to a full device, $n addresses"
done
seq 1 3000 | awk '{ printf "0x%x\n", $1 }' | "$bin" --exe "$fx/notelf.txt" > /dev/null 2>/tmp/symcli.$$.err
[ $? -eq 1 ] && [ "$(wc -l < /tmp/symcli.$$.err)" -eq 1 ] && ok || ko "unusable file, large input: one error"

# Stdin: blank lines skipped, a bad line is an error naming the line.
printf '%s\n\n%s\n' "$top" "$top" | "$bin" --exe "$fx/chain" > /tmp/symcli.$$.out && ok || ko "stdin with blank line"
[ "$(grep -c chain_top /tmp/symcli.$$.out)" -eq 2 ] && ok || ko "two lookups from stdin"
printf '%s\nnope\n' "$top" | "$bin" --exe "$fx/chain" > /tmp/symcli.$$.out 2>/tmp/symcli.$$.err
[ $? -eq 1 ] && grep -q "stdin line 2: invalid address 'nope'" /tmp/symcli.$$.err && ok || ko "bad stdin line"
# A caller that waits for each answer before it writes more gets it as
# soon as its line is in; a line cut by a pause (a writer in the middle
# of a write) keeps the lines before it waiting for the rest: a batch is
# not split there.
python3 - "$bin" "$fx/chain" "$top" "$other" <<'PY' && ok || ko "answers when stdin pauses, not within a line"
import os, select, subprocess, sys, time
exe, top, other = sys.argv[2], sys.argv[3].encode(), sys.argv[4].encode()
p = subprocess.Popen([sys.argv[1], "--exe", exe], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
fd = p.stdout.fileno()
def read_until(want, timeout):
    got, end = b"", time.monotonic() + timeout
    while want not in got:
        left = end - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return got
        chunk = os.read(fd, 65536)
        if not chunk:
            return got
        got += chunk
    return got
def fail(why):
    print(why)
    p.kill()
    sys.exit(1)
for addr, name in ((top, b"chain_top"), (other, b"chain_other"), (top, b"chain_top")):
    p.stdin.write(addr + b"\n")
    p.stdin.flush()
    got = read_until(b"\t" + name + b"\t", 30)
    if name not in got:
        fail("no answer for %r before more input: %r" % (addr, got))
# A line, then the start of the next one, then a pause.
p.stdin.write(other + b"\n" + top[:3])
p.stdin.flush()
if select.select([fd], [], [], 0.5)[0]:
    fail("answered while a line was cut: %r" % os.read(fd, 65536))
p.stdin.write(top[3:] + b"\n")
p.stdin.close()
got = p.stdout.read()
# Each address's real function is its last line.
last = {}
for l in got.splitlines():
    last[l.split(b"\t")[0]] = l.split(b"\t")[2]
if list(last.items()) != [(other, b"chain_other"), (top, b"chain_top")] or p.wait() != 0:
    fail("after the cut line: %r" % got)
PY

# Debug dir and reasons.
"$bin" --exe "$fx/chain-bid" --debug-dir "$fx/debug" "$top" | grep -q "chain_top	.*/chain.c:" && ok || ko "--debug-dir build-id"
"$bin" --exe "$fx/chain-nodebug" --reason "$top" | grep -q "chain_top	??:0	no debug info" && ok || ko "--reason"
"$bin" --exe "$fx/chain" --symtab-only "$top" | grep -q "chain_top	??:0" && ok || ko "--symtab-only"

rm -f /tmp/symcli.$$.out /tmp/symcli.$$.err /tmp/symcli.$$.in /tmp/symcli.$$.big /tmp/symcli.$$.small \
	/tmp/symcli.$$.want /tmp/symcli.$$.piped /tmp/symcli.$$.in1 /tmp/symcli.$$.in2
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
