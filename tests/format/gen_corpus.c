/* SPDX-License-Identifier: MIT */
/*
 * Writes the reader fuzzer's seed corpus into DIR: small valid traces holding
 * every record type (compressed and raw chunks), plus truncated copies.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tape/writer.h"

static int write_trace(const char *path, uint32_t flags, size_t chunk_bytes, int n)
{
	struct tape_writer_opts o = {.chunk_bytes = chunk_bytes,
				     .flags = flags | TAPE_WRITER_F_FORCE};
	struct tape_host h = {.page_size = 4096, .ncpus = 2};
	struct tape_event_desc d = {.type_id = 1, .source = TAPE_SRC_TRACEPOINT};
	struct tape_ksym ks[3] = {{0xffffffff81000000ull, 'T', {"_text", 5}, {"", 0}},
				  {0xffffffff81000100ull, 't', {"do_sys", 6}, {"", 0}},
				  {0xffffffffc0000000ull, 't', {"ext4_read", 9}, {"ext4", 4}}};
	struct tape_sym sy[2] = {{0x1000, 16, {"main", 4}}, {0x1010, 32, {"work", 4}}};
	struct tape_symtab sth = {
	    .build_id_size = 4, .build_id = {1, 2, 3, 4}, .path = {"/bin/x", 6}};
	struct tape_writer *w;
	char err[256];
	int ret;

	h.hostname = tape_str_c("fuzzhost");
	h.release = tape_str_c("6.18.0");
	d.name = tape_str_c("raw_syscalls:sys_enter");
	d.format = tape_str_c(
	    "name: sys_enter\nID: 21\nformat:\n\tfield:long id;\toffset:8;\tsize:8;\tsigned:1;\n");
	ret = tape_writer__open(&w, path, &o, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "gen_corpus: %s\n", err);
		return ret;
	}
	tape_writer__host(w, &h);
	tape_writer__event_desc(w, &d);
	tape_writer__ksyms(w, ks, 3);
	tape_writer__symtab(w, &sth, sy, 2);
	for (int i = 0; i < n; i++) {
		uint64_t ips[3] = {0x401000u + (unsigned)i, 0x402000, 0x403000};
		struct tape_stack st = {.id = (uint32_t)i + 1, .nframes = 3, .ips = ips};
		struct tape_proc p = {.kind = TAPE_PROC_EXEC,
				      .ts_ns = 50 + (uint64_t)i,
				      .pid = 9,
				      .tid = 9,
				      .ppid = 1,
				      .comm = {"sh", 2},
				      .filename = {"/bin/sh", 7}};
		struct tape_mmap m = {.ts_ns = 60,
				      .pid = 9,
				      .start = 0x400000,
				      .end = 0x500000,
				      .build_id_size = 4,
				      .build_id = {1, 2, 3, 4},
				      .path = {"/bin/x", 6}};
		struct tape_loss l = {.ts_ns = 70,
				      .type_id = 1,
				      .cpu = 0,
				      .kind = TAPE_LOSS_RINGBUF,
				      .count = (uint64_t)i};
		uint8_t payload[16] = {1, 0, 0, 0, 9, 0, 0, 0, 110};
		struct tape_event ev = {.type_id = 1,
					.cpu = (uint32_t)i & 1,
					.ts_ns = 100 + (uint64_t)i * 300,
					.pid = 9,
					.tid = 9,
					.ustack_id = (uint32_t)i + 1,
					.payload_size = 16,
					.payload = payload};

		tape_writer__stack(w, &st);
		tape_writer__proc(w, &p);
		tape_writer__mmap(w, &m);
		tape_writer__event(w, &ev);
		tape_writer__loss(w, &l);
	}
	{
		struct tape_end e = {.ts_ns = 9999, .events = (uint64_t)n};

		tape_writer__end(w, &e);
	}
	return tape_writer__close(w);
}

static int copy_prefix(const char *src, const char *dst, long len)
{
	FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
	int c;

	if (!in || !out) {
		if (in)
			fclose(in);
		if (out)
			fclose(out);
		return -1;
	}
	while (len-- > 0 && (c = fgetc(in)) != EOF)
		fputc(c, out);
	fclose(in);
	fclose(out);
	return 0;
}

int main(int argc, char **argv)
{
	char p1[4096], p2[4096], p[4096];

	if (argc != 2) {
		fprintf(stderr, "usage: gen_corpus DIR\n");
		return 2;
	}
	if (mkdir(argv[1], 0755) && errno != EEXIST) {
		fprintf(stderr, "gen_corpus: cannot create '%s': %s\n", argv[1], strerror(errno));
		return 1;
	}
	snprintf(p1, sizeof(p1), "%s/zstd.tape", argv[1]);
	snprintf(p2, sizeof(p2), "%s/raw.tape", argv[1]);
	if (write_trace(p1, 0, 512, 40) || write_trace(p2, TAPE_WRITER_F_NO_COMPRESS, 700, 12))
		return 1;
	for (int i = 0; i < 8; i++) {
		snprintf(p, sizeof(p), "%s/trunc%d.tape", argv[1], i);
		copy_prefix(i & 1 ? p1 : p2, p, 64 + i * 97);
	}
	snprintf(p, sizeof(p), "%s/empty", argv[1]);
	copy_prefix(p1, p, 0);
	printf("1 passed, 0 failed\n");
	return 0;
}
