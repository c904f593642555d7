/* SPDX-License-Identifier: MIT */
/*
 * The trace format end to end: every record type round-trips with random
 * contents, truncation at every byte offset keeps every complete chunk, a bit
 * flip anywhere is detected, unknown records are skipped, a future major
 * version and absurd sizes are rejected before allocation.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "tape/reader.h"
#include "tape/writer.h"
#include "tape/endian.h"
#include "../../format/src/tape_int.h"

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static char *rnd_str(char *buf, size_t cap)
{
	size_t n = rnd() % (cap - 1);

	for (size_t i = 0; i < n; i++)
		buf[i] = (char)(1 + rnd() % 255); /* any byte but NUL */
	buf[n] = 0;
	return buf;
}

/* Writes to a memfd and returns the file image (caller frees). */
struct image {
	uint8_t *data;
	size_t size;
};

static struct tape_writer *open_mem_writer(int *fd_out, size_t chunk_bytes, uint32_t flags)
{
	struct tape_writer_opts o = {.chunk_bytes = chunk_bytes, .flags = flags};
	struct tape_writer *w;
	char err[256];
	int fd = memfd_create("tape", 0);

	assert_true(fd >= 0);
	*fd_out = dup(fd);
	assert_int_equal(tape_writer__open_fd(&w, fd, &o, err, sizeof(err)), 0);
	return w;
}

static struct image finish(struct tape_writer *w, int fd)
{
	struct image im;
	off_t size;

	assert_int_equal(tape_writer__close(w), 0);
	size = lseek(fd, 0, SEEK_END);
	im.size = (size_t)size;
	im.data = malloc(im.size);
	assert_int_equal(pread(fd, im.data, im.size, 0), (ssize_t)im.size);
	close(fd);
	return im;
}

/* ---- round trip ---- */

#define N_EACH 300

struct expect {
	uint16_t type;
	union {
		struct tape_event ev;
		struct tape_proc proc;
		struct tape_mmap mm;
		struct tape_loss loss;
		struct tape_stack st;
	} u;
	char s1[64], s2[64];
	uint8_t payload[96];
	uint64_t ips[40];
};

static int str_eq(struct tape_str s, const char *c)
{
	return s.len == strlen(c) && !memcmp(s.ptr, c, s.len);
}

static void test_tape__roundtrip_every_type(void **state)
{
	struct expect *ex = calloc(5 * N_EACH, sizeof(*ex));
	struct tape_host host = {0};
	struct tape_event_desc desc = {0};
	struct tape_ksym ks[500];
	char ksname[500][24];
	struct tape_sym sy[50];
	struct tape_symtab sth = {0};
	struct tape_end end = {.ts_ns = 99, .status = -3, .events = 1234, .lost = 7};
	struct tape_reader *r;
	struct tape_record rec;
	struct tape_writer *w;
	struct image im;
	char err[256];
	size_t n = 0, got = 0, nks = 0, nsy = 0;
	int fd, ret, seen_host = 0, seen_desc = 0, seen_end = 0;

	(void)state;
	rng_state = 0x9e3779b97f4a7c15ull;
	w = open_mem_writer(&fd, 4096, 0);
	host.page_size = 4096;
	host.ncpus = 2;
	host.clock_mono_ns = 123;
	host.clock_realtime_ns = 456;
	host.hostname = tape_str_c("host-x");
	host.release = tape_str_c("6.18.0");
	host.cmdline = tape_str_c("bpftape-record -o x");
	assert_int_equal(tape_writer__host(w, &host), 0);
	desc.type_id = 7;
	desc.source = TAPE_SRC_TRACEPOINT;
	desc.name = tape_str_c("sched:sched_switch");
	desc.format = tape_str_c("name: sched_switch\nID: 1\nformat:\n");
	assert_int_equal(tape_writer__event_desc(w, &desc), 0);

	for (n = 0; n < 5 * N_EACH; n++) {
		struct expect *e = &ex[n];

		e->type = (uint16_t)(n % 5);
		switch (e->type) {
		case 0: {
			struct tape_event *ev = &e->u.ev;

			e->type = TAPE_REC_EVENT;
			ev->type_id = (uint32_t)rnd();
			ev->cpu = (uint32_t)rnd() % 64;
			ev->ts_ns = rnd(); /* out of order on purpose */
			ev->pid = (uint32_t)rnd();
			ev->tid = (uint32_t)rnd();
			ev->kstack_id = (uint32_t)rnd();
			ev->ustack_id = (uint32_t)rnd();
			ev->flags = (uint32_t)rnd();
			ev->payload_size = (uint32_t)(rnd() % sizeof(e->payload));
			for (uint32_t i = 0; i < ev->payload_size; i++)
				e->payload[i] = (uint8_t)rnd();
			ev->payload = e->payload;
			assert_int_equal(tape_writer__event(w, ev), 0);
			break;
		}
		case 1:
			e->type = TAPE_REC_PROC;
			e->u.proc.kind = 1 + (uint32_t)rnd() % 5;
			e->u.proc.flags = (uint32_t)rnd();
			e->u.proc.ts_ns = rnd();
			e->u.proc.pid = (uint32_t)rnd();
			e->u.proc.tid = (uint32_t)rnd();
			e->u.proc.ppid = (uint32_t)rnd();
			e->u.proc.exit_code = (int32_t)rnd();
			e->u.proc.comm = tape_str_c(rnd_str(e->s1, 17));
			e->u.proc.filename = tape_str_c(rnd_str(e->s2, sizeof(e->s2)));
			assert_int_equal(tape_writer__proc(w, &e->u.proc), 0);
			break;
		case 2:
			e->type = TAPE_REC_MMAP;
			e->u.mm.ts_ns = rnd();
			e->u.mm.pid = (uint32_t)rnd();
			e->u.mm.prot = (uint32_t)rnd() % 8;
			e->u.mm.flags = (uint32_t)rnd() % 2;
			e->u.mm.start = rnd();
			e->u.mm.end = rnd();
			e->u.mm.pgoff = rnd();
			e->u.mm.dev = rnd();
			e->u.mm.inode = rnd();
			e->u.mm.build_id_size = (uint32_t)rnd() % (TAPE_BUILD_ID_MAX + 1);
			for (uint32_t i = 0; i < e->u.mm.build_id_size; i++)
				e->u.mm.build_id[i] = (uint8_t)rnd();
			e->u.mm.path = tape_str_c(rnd_str(e->s1, sizeof(e->s1)));
			assert_int_equal(tape_writer__mmap(w, &e->u.mm), 0);
			break;
		case 3:
			e->type = TAPE_REC_LOSS;
			e->u.loss.ts_ns = rnd();
			e->u.loss.type_id = (uint32_t)rnd();
			e->u.loss.cpu = (uint32_t)rnd();
			e->u.loss.kind = (uint32_t)rnd() % 9;
			e->u.loss.count = rnd();
			assert_int_equal(tape_writer__loss(w, &e->u.loss), 0);
			break;
		case 4:
			e->type = TAPE_REC_STACK;
			e->u.st.id = (uint32_t)n + 1;
			e->u.st.flags = (uint32_t)rnd() % 4;
			e->u.st.nframes = (uint32_t)(rnd() % 40);
			for (uint32_t i = 0; i < e->u.st.nframes; i++)
				e->ips[i] = rnd();
			e->u.st.ips = e->ips;
			assert_int_equal(tape_writer__stack(w, &e->u.st), 0);
			break;
		}
	}
	for (nks = 0; nks < 500; nks++) {
		snprintf(ksname[nks], sizeof(ksname[nks]), "ksym_%zu", nks);
		ks[nks].addr = 0xffffffff81000000ull + nks * 16;
		ks[nks].type = nks % 2 ? 't' : 'T';
		ks[nks].name = tape_str_c(ksname[nks]);
		ks[nks].module = tape_str_c(nks % 3 ? "" : "ext4");
	}
	assert_int_equal(tape_writer__ksyms(w, ks, nks), 0);
	for (nsy = 0; nsy < 50; nsy++) {
		sy[nsy].addr = 0x1000 + nsy * 32;
		sy[nsy].size = 32;
		sy[nsy].name = tape_str_c(ksname[nsy]);
	}
	sth.build_id_size = 20;
	memset(sth.build_id, 0xab, 20);
	sth.path = tape_str_c("/usr/bin/x");
	assert_int_equal(tape_writer__symtab(w, &sth, sy, nsy), 0);
	assert_int_equal(tape_writer__end(w, &end), 0);
	im = finish(w, fd);

	assert_int_equal(tape_reader__open_mem(&r, im.data, im.size, err, sizeof(err)), 0);
	{
		struct tape_file_info fi;

		tape_reader__file_info(r, &fi);
		assert_true(fi.has_footer);
		assert_int_equal(fi.major, TAPE_VERSION_MAJOR);
	}
	size_t kgot = 0, sgot = 0;
	while ((ret = tape_reader__next(r, &rec)) == 1) {
		struct tape_sym_iter it;

		if (rec.type == TAPE_REC_HOST) {
			struct tape_host h;

			assert_int_equal(tape_record__host(&rec, &h), 0);
			assert_int_equal(h.page_size, 4096);
			assert_int_equal(h.clock_realtime_ns, 456);
			assert_true(str_eq(h.hostname, "host-x"));
			assert_true(str_eq(h.cmdline, "bpftape-record -o x"));
			seen_host = 1;
			continue;
		}
		if (rec.type == TAPE_REC_EVENT_DESC) {
			struct tape_event_desc d;

			assert_int_equal(tape_record__event_desc(&rec, &d), 0);
			assert_int_equal(d.type_id, 7);
			assert_true(str_eq(d.name, "sched:sched_switch"));
			assert_true(str_eq(d.format, "name: sched_switch\nID: 1\nformat:\n"));
			seen_desc = 1;
			continue;
		}
		if (rec.type == TAPE_REC_KSYMS) {
			struct tape_ksym k;

			assert_int_equal(tape_record__ksyms(&rec, &it), 0);
			while (tape_ksyms__next(&it, &k) == 1) {
				assert_int_equal(k.addr, ks[kgot].addr);
				assert_int_equal(k.type, ks[kgot].type);
				assert_true(str_eq(k.name, ksname[kgot]));
				assert_true(str_eq(k.module, kgot % 3 ? "" : "ext4"));
				kgot++;
			}
			assert_int_equal(it.err, 0);
			continue;
		}
		if (rec.type == TAPE_REC_SYMTAB) {
			struct tape_symtab h;
			struct tape_sym s;

			assert_int_equal(tape_record__symtab(&rec, &h, &it), 0);
			assert_true(str_eq(h.path, "/usr/bin/x"));
			assert_int_equal(h.build_id_size, 20);
			while (tape_symtab__next(&it, &s) == 1) {
				assert_int_equal(s.addr, sy[sgot].addr);
				assert_true(str_eq(s.name, ksname[sgot]));
				sgot++;
			}
			continue;
		}
		if (rec.type == TAPE_REC_END) {
			struct tape_end e;

			assert_int_equal(tape_record__end(&rec, &e), 0);
			assert_int_equal(e.status, -3);
			assert_int_equal(e.events, 1234);
			assert_int_equal(e.lost, 7);
			seen_end = 1;
			continue;
		}
		assert_true(got < n);
		struct expect *e = &ex[got++];

		assert_int_equal(rec.type, e->type);
		if (rec.type == TAPE_REC_EVENT) {
			struct tape_event ev;

			assert_int_equal(tape_record__event(&rec, &ev), 0);
			assert_int_equal(ev.ts_ns, e->u.ev.ts_ns);
			assert_int_equal(ev.type_id, e->u.ev.type_id);
			assert_int_equal(ev.cpu, e->u.ev.cpu);
			assert_int_equal(ev.pid, e->u.ev.pid);
			assert_int_equal(ev.tid, e->u.ev.tid);
			assert_int_equal(ev.kstack_id, e->u.ev.kstack_id);
			assert_int_equal(ev.ustack_id, e->u.ev.ustack_id);
			assert_int_equal(ev.flags, e->u.ev.flags);
			assert_int_equal(ev.payload_size, e->u.ev.payload_size);
			assert_memory_equal(ev.payload, e->payload, ev.payload_size);
		} else if (rec.type == TAPE_REC_PROC) {
			struct tape_proc p;

			assert_int_equal(tape_record__proc(&rec, &p), 0);
			assert_int_equal(p.kind, e->u.proc.kind);
			assert_int_equal(p.flags, e->u.proc.flags);
			assert_int_equal(p.ts_ns, e->u.proc.ts_ns);
			assert_int_equal(p.pid, e->u.proc.pid);
			assert_int_equal(p.tid, e->u.proc.tid);
			assert_int_equal(p.ppid, e->u.proc.ppid);
			assert_int_equal(p.exit_code, e->u.proc.exit_code);
			assert_true(str_eq(p.comm, e->s1));
			assert_true(str_eq(p.filename, e->s2));
		} else if (rec.type == TAPE_REC_MMAP) {
			struct tape_mmap m;

			assert_int_equal(tape_record__mmap(&rec, &m), 0);
			assert_int_equal(m.ts_ns, e->u.mm.ts_ns);
			assert_int_equal(m.pid, e->u.mm.pid);
			assert_int_equal(m.prot, e->u.mm.prot);
			assert_int_equal(m.flags, e->u.mm.flags);
			assert_int_equal(m.start, e->u.mm.start);
			assert_int_equal(m.end, e->u.mm.end);
			assert_int_equal(m.pgoff, e->u.mm.pgoff);
			assert_int_equal(m.dev, e->u.mm.dev);
			assert_int_equal(m.inode, e->u.mm.inode);
			assert_int_equal(m.build_id_size, e->u.mm.build_id_size);
			assert_memory_equal(m.build_id, e->u.mm.build_id, m.build_id_size);
			assert_true(str_eq(m.path, e->s1));
		} else if (rec.type == TAPE_REC_LOSS) {
			struct tape_loss l;

			assert_int_equal(tape_record__loss(&rec, &l), 0);
			assert_int_equal(l.ts_ns, e->u.loss.ts_ns);
			assert_int_equal(l.type_id, e->u.loss.type_id);
			assert_int_equal(l.cpu, e->u.loss.cpu);
			assert_int_equal(l.kind, e->u.loss.kind);
			assert_int_equal(l.count, e->u.loss.count);
		} else if (rec.type == TAPE_REC_STACK) {
			struct tape_stack s;

			assert_int_equal(tape_record__stack(&rec, &s), 0);
			assert_int_equal(s.id, e->u.st.id);
			assert_int_equal(s.flags, e->u.st.flags);
			assert_int_equal(s.nframes, e->u.st.nframes);
			for (uint32_t i = 0; i < s.nframes; i++)
				assert_int_equal(tape_stack__ip(&s, i), e->ips[i]);
		} else {
			fail_msg("unexpected record type %u", rec.type);
		}
	}
	assert_int_equal(ret, 0);
	assert_int_equal(got, n);
	assert_int_equal(kgot, nks);
	assert_int_equal(sgot, nsy);
	assert_true(seen_host && seen_desc && seen_end);
	{
		struct tape_reader_stats st;

		tape_reader__stats(r, &st);
		assert_true(st.chunks > 10); /* small chunks: really multi-chunk */
		assert_int_equal(st.bad_chunks, 0);
	}
	tape_reader__close(r);
	free(im.data);
	free(ex);
}

/* ---- a small multi-chunk file shared by the damage tests ---- */

#define SMALL_EVENTS 120

static struct image small_file(uint32_t flags)
{
	struct tape_writer *w;
	int fd;

	w = open_mem_writer(&fd, 512, flags);
	for (uint32_t i = 0; i < SMALL_EVENTS; i++) {
		uint8_t payload[12];
		struct tape_event ev = {.type_id = 1,
					.cpu = i % 2,
					.ts_ns = 1000 + i * 10,
					.pid = 42,
					.tid = 43,
					.payload_size = sizeof(payload),
					.payload = payload};

		memset(payload, (int)i, sizeof(payload));
		assert_int_equal(tape_writer__event(w, &ev), 0);
	}
	return finish(w, fd);
}

/* Reads everything it can, resyncing after errors.  Returns events read and
 * counts errors; every event read must be one that was written, intact. */
static uint32_t read_all(const uint8_t *data, size_t size, int *errors, int *open_failed)
{
	struct tape_reader *r;
	struct tape_record rec;
	char err[256];
	uint32_t events = 0;
	int ret;

	*errors = 0;
	*open_failed = 0;
	if (tape_reader__open_mem(&r, data, size, err, sizeof(err))) {
		*open_failed = 1;
		assert_true(strlen(err) > 0);
		return 0;
	}
	for (;;) {
		ret = tape_reader__next(r, &rec);
		if (ret == 0)
			break;
		if (ret < 0) {
			(*errors)++;
			assert_non_null(strstr(tape_reader__errmsg(r), "chunk"));
			if (!tape_reader__resync(r))
				break;
			continue;
		}
		if (rec.type == TAPE_REC_EVENT) {
			struct tape_event ev;
			uint32_t i;

			assert_int_equal(tape_record__event(&rec, &ev), 0);
			i = (uint32_t)((ev.ts_ns - 1000) / 10);
			assert_true(i < SMALL_EVENTS);
			assert_int_equal(ev.ts_ns, 1000 + i * 10);
			assert_int_equal(ev.pid, 42);
			assert_int_equal(((const uint8_t *)ev.payload)[11], (uint8_t)i);
			events++;
		}
	}
	{
		struct tape_file_info fi;

		tape_reader__file_info(r, &fi);
		if (fi.footer_damaged)
			(*errors)++;
	}
	tape_reader__close(r);
	return events;
}

static void test_tape__truncation_at_every_offset(void **state)
{
	struct image im = small_file(0);
	struct tape_reader *r;
	struct tape_record rec;
	uint64_t chunk_end[64];
	uint32_t chunk_events[64];
	size_t nchunks = 0;
	char err[256];

	(void)state;
	/* Where each chunk ends and how many events precede that point. */
	assert_int_equal(tape_reader__open_mem(&r, im.data, im.size, err, sizeof(err)), 0);
	{
		uint32_t ev = 0;
		int64_t last = -1;

		while (tape_reader__next(r, &rec) == 1) {
			struct tape_chunk_info ci;

			tape_reader__chunk_info(r, &ci);
			if ((int64_t)ci.seq != last) {
				assert_true(nchunks < 64);
				chunk_end[nchunks] =
				    ci.offset + TAPE_CHUNK_HEADER_SIZE + ci.compressed_size;
				chunk_events[nchunks] = ci.records;
				nchunks++;
				last = ci.seq;
			}
			ev++;
		}
		assert_int_equal(ev, SMALL_EVENTS);
		assert_true(nchunks >= 3);
	}
	tape_reader__close(r);

	for (size_t cut = 0; cut < im.size; cut++) {
		uint32_t expect = 0, got;
		int errors, open_failed, at_boundary = cut == TAPE_FILE_HEADER_SIZE;

		for (size_t c = 0; c < nchunks; c++) {
			if (chunk_end[c] <= cut)
				expect += chunk_events[c];
			at_boundary |= chunk_end[c] == cut;
		}
		got = read_all(im.data, cut, &errors, &open_failed);
		if (cut < TAPE_FILE_HEADER_SIZE) {
			assert_true(open_failed);
			continue;
		}
		assert_false(open_failed);
		/* every complete chunk comes back */
		assert_int_equal(got, expect);
		/* a cut inside a chunk or the footer is reported; a cut between
		 * chunks is just a shorter file */
		if ((errors > 0) == at_boundary)
			fail_msg("cut at %zu: %d errors, boundary %d", cut, errors, at_boundary);
	}
	free(im.data);
}

static void test_tape__bit_flip_anywhere_is_detected(void **state)
{
	struct image im = small_file(0);
	uint8_t *copy = malloc(im.size);

	(void)state;
	for (size_t off = 0; off < im.size; off++) {
		for (int bit = 0; bit < 8; bit += 3) {
			int errors, open_failed;
			uint32_t got;

			memcpy(copy, im.data, im.size);
			copy[off] ^= (uint8_t)(1u << bit);
			got = read_all(copy, im.size, &errors, &open_failed);
			if (!(open_failed || errors > 0))
				fail_msg("bit %d of byte %zu flipped went unnoticed", bit, off);
			assert_true(got <= SMALL_EVENTS);
		}
	}
	free(copy);
	free(im.data);
}

static void test_tape__bit_flip_in_raw_chunk_is_detected(void **state)
{
	struct image im = small_file(TAPE_WRITER_F_NO_COMPRESS);
	uint8_t *copy = malloc(im.size);

	(void)state;
	for (size_t off = TAPE_FILE_HEADER_SIZE; off < im.size; off += 7) {
		int errors, open_failed;

		memcpy(copy, im.data, im.size);
		copy[off] ^= 0x10;
		read_all(copy, im.size, &errors, &open_failed);
		assert_true(open_failed || errors > 0);
	}
	free(copy);
	free(im.data);
}

static void test_tape__unknown_record_types_are_skipped(void **state)
{
	struct tape_writer *w;
	struct tape_reader *r;
	struct tape_record rec;
	struct image im;
	char err[256];
	int fd, events = 0, unknown = 0;

	(void)state;
	w = open_mem_writer(&fd, 0, 0);
	for (int i = 0; i < 10; i++) {
		struct tape_event ev = {.type_id = 1, .ts_ns = 100 + (uint64_t)i};
		uint8_t junk[13] = "future stuff";

		assert_int_equal(tape_writer__append(w, 999, junk, sizeof(junk)), 0);
		assert_int_equal(tape_writer__event(w, &ev), 0);
	}
	im = finish(w, fd);
	assert_int_equal(tape_reader__open_mem(&r, im.data, im.size, err, sizeof(err)), 0);
	while (tape_reader__next(r, &rec) == 1) {
		if (rec.type == 999) {
			assert_int_equal(rec.size, 13);
			unknown++;
		} else {
			assert_int_equal(rec.type, TAPE_REC_EVENT);
			assert_int_equal(rec.ts_ns, 100 + (uint64_t)events);
			events++;
		}
	}
	assert_int_equal(events, 10);
	assert_int_equal(unknown, 10);
	tape_reader__close(r);
	free(im.data);
}

static void patch_header(uint8_t *d, size_t field, uint64_t value, int width)
{
	if (width == 2)
		tape_put_u16(d + field, (uint16_t)value);
	else
		tape_put_u64(d + field, value);
	tape_put_u32(d + FH_CRC, tape_crc32c(0, d, FH_CRC));
}

static void test_tape__future_major_version_is_rejected(void **state)
{
	struct image im = small_file(0);
	struct tape_reader *r;
	char err[256] = "";

	(void)state;
	patch_header(im.data, FH_MAJOR, 2, 2);
	assert_int_equal(tape_reader__open_mem(&r, im.data, im.size, err, sizeof(err)),
			 -EPROTONOSUPPORT);
	assert_null(r);
	assert_non_null(strstr(err, "unsupported format version 2.0"));

	/* a newer minor is fine */
	patch_header(im.data, FH_MAJOR, 1, 2);
	patch_header(im.data, FH_MINOR, 7, 2);
	assert_int_equal(tape_reader__open_mem(&r, im.data, im.size, err, sizeof(err)), 0);
	tape_reader__close(r);

	/* an unknown required feature is not */
	patch_header(im.data, FH_REQ, 1ull << 40, 8);
	assert_int_equal(tape_reader__open_mem(&r, im.data, im.size, err, sizeof(err)),
			 -EPROTONOSUPPORT);
	assert_non_null(strstr(err, "unknown features"));
	free(im.data);
}

static void patch_chunk(uint8_t *c, size_t field, uint32_t value)
{
	tape_put_u32(c + field, value);
	tape_put_u32(c + CH_CRC, tape_crc32c(0, c, CH_CRC));
}

static void test_tape__absurd_sizes_are_rejected(void **state)
{
	struct image im = small_file(TAPE_WRITER_F_NO_COMPRESS);
	uint8_t *c0 = im.data + TAPE_FILE_HEADER_SIZE;
	struct tape_reader *r;
	struct tape_record rec;
	char err[256];

	(void)state;
	/* 4 GiB - 1 uncompressed in a tiny file: refused, not allocated */
	patch_chunk(c0, CH_USIZE, 0xffffffffu);
	assert_int_equal(tape_reader__open_mem(&r, im.data, im.size, err, sizeof(err)), 0);
	assert_int_equal(tape_reader__next(r, &rec), -EBADMSG);
	assert_non_null(strstr(tape_reader__errmsg(r), "chunk 0 at offset 0x40"));
	tape_reader__close(r);

	/* a payload larger than the file */
	patch_chunk(c0, CH_USIZE, 0x7fffffff & TAPE_MAX_CHUNK_BYTES);
	patch_chunk(c0, CH_CSIZE, 0x7fffffff & TAPE_MAX_CHUNK_BYTES);
	assert_int_equal(tape_reader__open_mem(&r, im.data, im.size, err, sizeof(err)), 0);
	assert_int_equal(tape_reader__next(r, &rec), -ENODATA);
	assert_non_null(strstr(tape_reader__errmsg(r), "truncated"));
	tape_reader__close(r);
	free(im.data);

	/* a record claiming 4 GiB inside a valid raw chunk */
	im = small_file(TAPE_WRITER_F_NO_COMPRESS);
	c0 = im.data + TAPE_FILE_HEADER_SIZE;
	tape_put_u32(c0 + TAPE_CHUNK_HEADER_SIZE, 0xfffffff8u);
	patch_chunk(c0, CH_PAYLOAD_CRC,
		    tape_crc32c(0, c0 + TAPE_CHUNK_HEADER_SIZE, tape_get_u32(c0 + CH_CSIZE)));
	assert_int_equal(tape_reader__open_mem(&r, im.data, im.size, err, sizeof(err)), 0);
	assert_int_equal(tape_reader__next(r, &rec), -EBADMSG);
	assert_non_null(strstr(tape_reader__errmsg(r), "invalid size 4294967288"));
	/* ... and the rest of the file is still there */
	assert_int_equal(tape_reader__resync(r), 1);
	assert_int_equal(tape_reader__next(r, &rec), 1);
	tape_reader__close(r);
	free(im.data);
}

static void test_tape__writer_refuses_to_overwrite(void **state)
{
	char path[] = "/tmp/tape_test_XXXXXX";
	char link[64];
	struct tape_writer *w;
	struct tape_writer_opts o = {.flags = TAPE_WRITER_F_FORCE};
	char err[256] = "";
	int fd = mkstemp(path);
	struct stat st;

	(void)state;
	close(fd);
	assert_int_equal(tape_writer__open(&w, path, NULL, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "already exists"));
	assert_int_equal(tape_writer__open(&w, path, &o, err, sizeof(err)), 0);
	assert_int_equal(tape_writer__close(w), 0);
	snprintf(link, sizeof(link), "%s.lnk", path);
	assert_int_equal(symlink(path, link), 0);
	assert_true(tape_writer__open(&w, link, &o, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "symbolic link"));
	unlink(link);
	unlink(path);
	assert_int_equal(tape_writer__open(&w, path, NULL, err, sizeof(err)), 0);
	assert_int_equal(tape_writer__close(w), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	unlink(path);
}

static void test_tape__footer_totals_match(void **state)
{
	struct image im = small_file(0);
	uint64_t foff = tape_get_u64(im.data + im.size - TAPE_TAIL_SIZE + TL_FOOTER_OFFSET);
	uint8_t *f = im.data + foff;

	(void)state;
	assert_memory_equal(f, TAPE_FOOTER_MAGIC, 4);
	assert_int_equal(tape_get_u64(f + FT_RECORDS), SMALL_EVENTS);
	assert_int_equal(tape_get_u64(f + FT_MIN_TS), 1000);
	assert_int_equal(tape_get_u64(f + FT_MAX_TS), 1000 + (SMALL_EVENTS - 1) * 10);
	/* the first index entry points at the first chunk */
	assert_int_equal(tape_get_u64(f + FT_HEAD_SIZE + FE_OFFSET), TAPE_FILE_HEADER_SIZE);
	free(im.data);
}

static void test_tape__crc32c_matches_the_standard(void **state)
{
	(void)state;
	/* the check value of CRC-32C (docs/FORMAT.md) */
	assert_int_equal(tape_crc32c(0, "123456789", 9), 0xe3069283u);
	assert_int_equal(tape_crc32c(tape_crc32c(0, "1234", 4), "56789", 5), 0xe3069283u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tape__crc32c_matches_the_standard),
	    cmocka_unit_test(test_tape__roundtrip_every_type),
	    cmocka_unit_test(test_tape__truncation_at_every_offset),
	    cmocka_unit_test(test_tape__bit_flip_anywhere_is_detected),
	    cmocka_unit_test(test_tape__bit_flip_in_raw_chunk_is_detected),
	    cmocka_unit_test(test_tape__unknown_record_types_are_skipped),
	    cmocka_unit_test(test_tape__future_major_version_is_rejected),
	    cmocka_unit_test(test_tape__absurd_sizes_are_rejected),
	    cmocka_unit_test(test_tape__writer_refuses_to_overwrite),
	    cmocka_unit_test(test_tape__footer_totals_match),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
