/* SPDX-License-Identifier: MIT */
/*
 * Private to format/: byte offsets of the fixed structures (see
 * docs/FORMAT.md), the checksum, and string-field encoding shared by the
 * writer and the decoders.
 */
#ifndef TAPE_INT_H
#define TAPE_INT_H

#include <stdint.h>
#include <stddef.h>
#include "tape/endian.h"
#include "tape/format.h"

/* File header (64 bytes). */
#define FH_MAGIC 0
#define FH_MAJOR 8
#define FH_MINOR 10
#define FH_SIZE 12
#define FH_REQ 16
#define FH_OPT 24
#define FH_CREATED 32
#define FH_CRC 60

/* Chunk header (64 bytes). */
#define CH_MAGIC 0
#define CH_SIZE 4
#define CH_SEQ 8
#define CH_CODEC 12
#define CH_CSIZE 16
#define CH_USIZE 20
#define CH_RECORDS 24
#define CH_PAYLOAD_CRC 28
#define CH_BASE_TS 32
#define CH_MIN_TS 40
#define CH_MAX_TS 48
#define CH_CRC 60

/* Footer head (64 bytes) and entries (48 bytes each). */
#define FT_HEAD_SIZE 64
#define FT_MAGIC 0
#define FT_SIZE 4
#define FT_COUNT 8
#define FT_RECORDS 16
#define FT_USIZE 24
#define FT_CSIZE 32
#define FT_MIN_TS 40
#define FT_MAX_TS 48
#define FE_OFFSET 0
#define FE_CSIZE 8
#define FE_USIZE 12
#define FE_RECORDS 16
#define FE_SEQ 20
#define FE_MIN_TS 24
#define FE_MAX_TS 32
#define FE_BASE_TS 40

/* Tail (24 bytes, the last bytes of a complete file). */
#define TL_FOOTER_OFFSET 0
#define TL_FOOTER_SIZE 8
#define TL_FOOTER_CRC 12
#define TL_MAGIC 16

/* EVENT body: fixed part before the payload. */
#define EV_FIXED_SIZE 40
#define EV_TS_DELTA 8

/* Fixed sizes of other bodies (before strings / arrays). */
#define STACK_FIXED_SIZE 16
#define MMAP_FIXED_SIZE 84

uint32_t tape_crc32c(uint32_t crc, const void *buf, size_t len);

static inline uint32_t tape_align8(uint32_t n)
{
	return (n + 7u) & ~7u;
}

static inline size_t tape_str_size(struct tape_str s)
{
	return 4 + (size_t)s.len;
}

static inline uint8_t *tape_put_str(uint8_t *p, struct tape_str s)
{
	tape_put_u32(p, s.len);
	if (s.len)
		memcpy(p + 4, s.ptr, s.len);
	return p + 4 + s.len;
}

static inline struct tape_str tape_cursor__str(struct tape_cursor *c)
{
	struct tape_str s = {"", 0};
	uint32_t len = tape_cursor__u32(c);
	const uint8_t *b = tape_cursor__take(c, len);

	if (b) {
		s.ptr = (const char *)b;
		s.len = len;
	}
	return s;
}

#endif
