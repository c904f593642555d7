#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds the resolver test fixtures and the ELF fuzz seed corpus from
# fixtures/*.c into OUT.  usage: make_fixtures.sh SRCDIR OUT CC [CLANG]
set -eu
src=$1 out=$2 cc=$3 clang=${4:-}
rm -rf "$out"
mkdir -p "$out/debug" "$out/dl" "$out/mismatch" "$out/seeds"
cd "$out"

bid() { readelf -n "$1" | sed -n 's/.*Build ID: *//p' | head -n 1; }

"$cc" -O2 -g -o chain "$src/chain.c"
"$cc" -O2 -gdwarf-4 -o chain-dw4 "$src/chain.c"
"$cc" -O2 -g -o chain-2cu "$src/chain.c" "$src/other.c"
"$cc" -O2 -g -gz=zlib -o chain-z "$src/chain.c"
if [ -n "$clang" ]; then
	"$clang" -O2 -g -o chain-clang "$src/chain.c"
fi

# Stripped, debug file found by build-id under a debug dir.
"$cc" -O2 -g -o chain-bid "$src/chain.c"
b=$(bid chain-bid)
mkdir -p "debug/.build-id/$(echo "$b" | cut -c1-2)"
objcopy --only-keep-debug chain-bid "debug/.build-id/$(echo "$b" | cut -c1-2)/$(echo "$b" | cut -c3-).debug"
strip --strip-all chain-bid

# Stripped, no build-id, debug file found by .gnu_debuglink (CRC checked).
"$cc" -O2 -g -Wl,--build-id=none -o dl/chain-dl "$src/chain.c"
objcopy --only-keep-debug dl/chain-dl dl/chain-dl.debug
strip --strip-all dl/chain-dl
(cd dl && objcopy --add-gnu-debuglink=chain-dl.debug chain-dl)

# Symbols but no DWARF.
"$cc" -O2 -g -o chain-nodebug "$src/chain.c"
strip --strip-debug chain-nodebug

# A debug file that belongs to another build sits at this one's build-id.
"$cc" -O2 -g -DMISMATCH_VARIANT=1 -Wl,--build-id=sha1 -o chain-mm "$src/chain.c"
b=$(bid chain-mm)
mkdir -p "mismatch/.build-id/$(echo "$b" | cut -c1-2)"
objcopy --only-keep-debug chain-dw4 "mismatch/.build-id/$(echo "$b" | cut -c1-2)/$(echo "$b" | cut -c3-).debug"
strip --strip-debug chain-mm

# One unit whose line program (about 80 KiB) is decoded on a thread of
# its own.
i=0
{
	printf 'static inline __attribute__((always_inline)) int mix(int x, int k)\n{\n\tx ^= x << 7;\n\tx += k * 31;\n\treturn x ^ (x >> 3);\n}\n'
	while [ $i -lt 640 ]; do
		printf 'int big_%d(int x, int y)\n{\n\tint s = mix(x, %d);\n\n\tif (s > y)\n\t\ts = mix(s, y);\n\ts ^= y * %d;\n\treturn s + x;\n}\n' $i $i $i
		i=$((i + 1))
	done
	printf 'int main(int argc, char **argv)\n{\n\t(void)argv;\n\treturn big_0(argc, 3) + big_639(argc, 5);\n}\n'
} > big.c
"$cc" -O2 -g -o big big.c

# big with line programs made by hand in place of its own (a DWARF 4 line
# table of one file), rows a few bytes from big_0: what compilers rarely
# emit and a decoder keeping rows for some addresses only must follow.
# Each starts with a sequence of 64k one-byte rows further up, so that the
# program is decoded on a thread, which waits for a batch's addresses.
#   lines-trunc  no end of sequence: the last row answers up to the unit's end
#   lines-swap   a sequence ends at its last row's address (on another
#                line), the next starts above: that row answers up to the
#                next one
#   lines-down   rows going down in a sequence: the table is sorted whole
esc() { # LEN VALUE: printf escapes of VALUE, little-endian
	v=$2 i=0
	while [ "$i" -lt "$1" ]; do
		printf '\\%03o' $((v & 255))
		v=$((v >> 8)) i=$((i + 1))
	done
}
base=$((0x$(nm big | sed -n 's/ T big_0$//p')))
op_addr() { printf '\\000\\011\\002'; esc 8 $((base + $1)); }
op_row() { printf '\\002'; esc 1 "$1"; printf '\\003'; esc 1 $(($2 & 127)); printf '\\001'; }
op_end() { printf '\\002'; esc 1 "$1"; printf '\\003'; esc 1 $((${2:-0} & 127)); printf '\\000\\001\\001'; }
made_lines() { # NAME PROGRAM
	# Special opcode 32: one byte further, same line.
	printf "$(op_addr 8192)" > prog.bin
	head -c 65536 /dev/zero | tr '\000' '\040' >> prog.bin
	printf "$(op_end 1)$2" >> prog.bin
	printf '\001\001\001\373\016\015\000\001\001\001\001\000\000\000\001\000\000\001' > hdr.bin
	printf '\000lines.c\000\000\000\000\000' >> hdr.bin
	hl=$(wc -c < hdr.bin) pl=$(wc -c < prog.bin)
	{
		printf "$(esc 4 $((2 + 4 + hl + pl)))\004\000$(esc 4 "$hl")"
		cat hdr.bin prog.bin
	} > line.bin
	objcopy --update-section .debug_line=line.bin big "$1"
	rm -f prog.bin hdr.bin line.bin
}
made_lines lines-trunc "$(op_addr 0)$(op_row 0 9)$(op_row 16 10)$(op_row 16 10)"
made_lines lines-swap "$(op_addr 0)$(op_row 0 9)$(op_row 16 10)$(op_row 16 10)$(op_end 0 5)$(op_addr 64)$(op_row 0 39)$(op_row 16 10)$(op_end 16)"
made_lines lines-down "$(op_addr 16)$(op_row 0 9)$(op_addr 0)$(op_row 0 10)$(op_row 32 10)$(op_end 16)"

# No symbol table at all.
"$cc" -O2 -g -static -nostdlib -o nolibc "$src/nolibc.c"
strip --strip-all nolibc

printf 'this is not an ELF file\n' > notelf.txt

# Fuzz seeds: small real ELF files, then truncated and mangled copies.
cp chain chain-nodebug nolibc chain-z seeds/
python3 - seeds <<'PY'
import os, random, sys
d = sys.argv[1]
rng = random.Random(7)
for name in ("chain", "chain-z", "nolibc"):
    data = open(os.path.join(d, name), "rb").read()
    for cut in (16, 64, 100, 1000, len(data) // 2, len(data) - 100):
        open(os.path.join(d, f"{name}.trunc{cut}"), "wb").write(data[:cut])
    for k in range(12):
        b = bytearray(data)
        for _ in range(1 + k * 4):
            i = rng.randrange(len(b))
            b[i] = rng.randrange(256)
        open(os.path.join(d, f"{name}.flip{k}"), "wb").write(bytes(b))
    # Header fields that point into the file: section header offset and
    # count, program header offset, string table index.
    for off, val in ((0x28, b"\xff\xff\xff\x7f"), (0x3c, b"\xff\xff"), (0x20, b"\xf0\xff\xff\x00"),
                     (0x3e, b"\x40\x00"), (0x3a, b"\x01\x00")):
        b = bytearray(data)
        b[off:off + len(val)] = val
        open(os.path.join(d, f"{name}.hdr{off:x}"), "wb").write(bytes(b))
# Mangle inside the DWARF sections, where libdwarf does the parsing.
import struct
def sections(data):
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3a)
    hdrs = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    stroff = hdrs[shstrndx][4]
    for h in hdrs:
        name = data[stroff + h[0]:data.index(b"\0", stroff + h[0])].decode()
        yield name, h[4], h[5]
data = open(os.path.join(d, "chain"), "rb").read()
for name, off, size in sections(data):
    if not name.startswith(".debug_") or size == 0:
        continue
    for k in range(4):
        b = bytearray(data)
        for _ in range(1 + k * 3):
            i = off + rng.randrange(size)
            b[i] = rng.choice((0, 0xff, rng.randrange(256)))
        open(os.path.join(d, f"chain{name}.{k}"), "wb").write(bytes(b))
    b = bytearray(data)
    b[off:off + size] = bytes(size)
    open(os.path.join(d, f"chain{name}.zero"), "wb").write(bytes(b))
open(os.path.join(d, "empty"), "wb").write(b"")
open(os.path.join(d, "magic-only"), "wb").write(b"\x7fELF\x02\x01\x01")
PY
touch stamp
