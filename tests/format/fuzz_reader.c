/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: any bytes as a trace file.  Reads every record, decodes
 * every known type, resyncs after damage.  Must never crash, leak or hang.
 */
#include <stdint.h>
#include <stddef.h>

#include <stdlib.h>
#include <string.h>

#include "tape/reader.h"
#include "../../format/src/tape_int.h"

static void decode(const struct tape_record *rec)
{
	union {
		struct tape_host h;
		struct tape_event_desc d;
		struct tape_event e;
		struct tape_stack s;
		struct tape_proc p;
		struct tape_mmap m;
		struct tape_loss l;
		struct tape_end end;
	} u;
	struct tape_sym_iter it;
	struct tape_symtab st;
	struct tape_ksym k;
	struct tape_sym sym;
	volatile uint64_t sink = 0;

	switch (rec->type) {
	case TAPE_REC_HOST:
		if (!tape_record__host(rec, &u.h))
			sink +=
			    u.h.hostname.len ? (uint8_t)u.h.hostname.ptr[u.h.hostname.len - 1] : 0;
		break;
	case TAPE_REC_EVENT_DESC:
		if (!tape_record__event_desc(rec, &u.d))
			sink += u.d.format.len ? (uint8_t)u.d.format.ptr[u.d.format.len - 1] : 0;
		break;
	case TAPE_REC_EVENT:
		if (!tape_record__event(rec, &u.e) && u.e.payload_size)
			sink += ((const uint8_t *)u.e.payload)[u.e.payload_size - 1];
		break;
	case TAPE_REC_STACK:
		if (!tape_record__stack(rec, &u.s))
			for (uint32_t i = 0; i < u.s.nframes; i++)
				sink += tape_stack__ip(&u.s, i);
		break;
	case TAPE_REC_PROC:
		if (!tape_record__proc(rec, &u.p))
			sink += u.p.comm.len;
		break;
	case TAPE_REC_MMAP:
		if (!tape_record__mmap(rec, &u.m))
			sink += u.m.path.len ? (uint8_t)u.m.path.ptr[u.m.path.len - 1] : 0;
		break;
	case TAPE_REC_KSYMS:
		if (!tape_record__ksyms(rec, &it))
			while (tape_ksyms__next(&it, &k) == 1)
				sink += k.name.len;
		break;
	case TAPE_REC_SYMTAB:
		if (!tape_record__symtab(rec, &st, &it))
			while (tape_symtab__next(&it, &sym) == 1)
				sink += sym.name.len;
		break;
	case TAPE_REC_LOSS:
		if (!tape_record__loss(rec, &u.l))
			sink += u.l.count;
		break;
	case TAPE_REC_END:
		if (!tape_record__end(rec, &u.end))
			sink += u.end.events;
		break;
	default:
		break;
	}
	(void)sink;
}

/*
 * Checksums stop almost every mutation at the first chunk, so the records
 * parser would never see fuzzed bytes: a second pass repairs the header and
 * chunk checksums of the mutated input before reading it.
 */
static void repair_checksums(uint8_t *d, size_t size)
{
	uint64_t off = TAPE_FILE_HEADER_SIZE;

	if (size < TAPE_FILE_HEADER_SIZE)
		return;
	tape_put_u32(d + FH_CRC, tape_crc32c(0, d, FH_CRC));
	while (size - off >= TAPE_CHUNK_HEADER_SIZE && !memcmp(d + off, TAPE_CHUNK_MAGIC, 4)) {
		uint32_t csize = tape_get_u32(d + off + CH_CSIZE);

		if (csize > size - off - TAPE_CHUNK_HEADER_SIZE)
			break;
		tape_put_u32(d + off + CH_PAYLOAD_CRC,
			     tape_crc32c(0, d + off + TAPE_CHUNK_HEADER_SIZE, csize));
		tape_put_u32(d + off + CH_CRC, tape_crc32c(0, d + off, CH_CRC));
		off += TAPE_CHUNK_HEADER_SIZE + csize;
	}
}

static void read_image(const uint8_t *data, size_t size)
{
	struct tape_reader *r;
	struct tape_record rec;
	int ret;

	if (tape_reader__open_mem(&r, data, size, NULL, 0))
		return;
	for (;;) {
		ret = tape_reader__next(r, &rec);
		if (ret == 0)
			break;
		if (ret < 0) {
			if (tape_reader__resync(r) <= 0)
				break;
			continue;
		}
		decode(&rec);
	}
	tape_reader__close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	read_image(data, size);
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	repair_checksums(copy, size);
	read_image(copy, size);
	free(copy);
	return 0;
}
