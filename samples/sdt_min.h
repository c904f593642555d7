/* SPDX-License-Identifier: MIT */
/*
 * A minimal SystemTap SDT (USDT) probe macro, so samples need no
 * systemtap-sdt-dev: a nop at the probe site plus a .note.stapsdt entry
 * (version 3) with the probe's address, provider, name and argument
 * specifiers ("-8@%rax" style, written by the compiler through the "nor"
 * operand constraints), and the .stapsdt.base anchor used to compute the
 * prelink offset.  Same layout as <sys/sdt.h>.
 */
#ifndef SDT_MIN_H
#define SDT_MIN_H

#define SDT_MIN_NOTE(provider, name, argfmt)                                                       \
	"990: nop\n"                                                                               \
	".pushsection .note.stapsdt,\"?\",\"note\"\n"                                              \
	".balign 4\n"                                                                              \
	".4byte 992f-991f, 994f-993f, 3\n"                                                         \
	"991: .asciz \"stapsdt\"\n"                                                                \
	"992: .balign 4\n"                                                                         \
	"993: .8byte 990b\n"                                                                       \
	".8byte _.stapsdt.base\n"                                                                  \
	".8byte 0\n"                                                                               \
	".asciz \"" #provider "\"\n"                                                               \
	".asciz \"" #name "\"\n"                                                                   \
	".asciz \"" argfmt "\"\n"                                                                  \
	"994: .balign 4\n"                                                                         \
	".popsection\n"                                                                            \
	".ifndef _.stapsdt.base\n"                                                                 \
	".pushsection .stapsdt.base,\"aG\",\"progbits\",.stapsdt.base,comdat\n"                    \
	".weak _.stapsdt.base\n"                                                                   \
	".hidden _.stapsdt.base\n"                                                                 \
	"_.stapsdt.base: .space 1\n"                                                               \
	".size _.stapsdt.base, 1\n"                                                                \
	".popsection\n"                                                                            \
	".endif\n"

#define SDT_MIN_PROBE1(provider, name, a1)                                                         \
	__asm__ __volatile__(SDT_MIN_NOTE(provider, name, "-8@%0")::"nor"((long)(a1)))
#define SDT_MIN_PROBE2(provider, name, a1, a2)                                                     \
	__asm__ __volatile__(SDT_MIN_NOTE(provider, name, "-8@%0 -8@%1")::"nor"((long)(a1)),       \
			     "nor"((long)(a2)))

#endif /* SDT_MIN_H */
