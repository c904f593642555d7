/* SPDX-License-Identifier: MIT */
/*
 * Writer and reader throughput on a syscall-storm stream, side by side with
 * the anchor: a bare "32-byte struct -> zstd level 1 in 1 MiB blocks"
 * pipeline (what a minimal ringbuf-to-zstd prototype does).
 *   format_bench [EVENTS] [DIR]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "tape/reader.h"
#include "tape/writer.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 88172645463325252ull;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

/* One storm event: getppid on 2 CPUs, drained in per-CPU bursts of 256. */
struct storm {
	uint64_t ts[2];
	uint64_t i;
};

static void next_event(struct storm *s, uint32_t *cpu, uint64_t *ts)
{
	*cpu = (uint32_t)((s->i++ / 256) % 2);
	s->ts[*cpu] += 280 + rnd() % 64;
	*ts = s->ts[*cpu];
}

int main(int argc, char **argv)
{
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 0) : 20000000;
	const char *dir = argc > 2 ? argv[2] : "/dev/shm";
	char path[4096], err[256];
	struct tape_writer *w;
	struct tape_reader *r;
	struct tape_record rec;
	struct tape_writer_opts o = {.flags = TAPE_WRITER_F_FORCE};
	struct storm s = {{1000000000ull, 1000000100ull}, 0};
	uint8_t payload[8] = {110}; /* syscall nr of getppid */
	double t0, t_write, t_read, t_anchor;
	uint64_t sum = 0, got = 0, file_size, anchor_bytes = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/bpftape-bench-%d.tape", dir, (int)getpid());
	if (tape_writer__open(&w, path, &o, err, sizeof(err))) {
		fprintf(stderr, "format_bench: %s\n", err);
		return 1;
	}
	t0 = now();
	for (uint64_t i = 0; i < n; i++) {
		struct tape_event ev = {.type_id = 1,
					.pid = 4242,
					.tid = 4242,
					.payload_size = sizeof(payload),
					.payload = payload};

		next_event(&s, &ev.cpu, &ev.ts_ns);
		if (tape_writer__event(w, &ev)) {
			fprintf(stderr, "format_bench: %s\n", tape_writer__errmsg(w));
			return 1;
		}
	}
	if (tape_writer__close(w))
		return 1;
	t_write = now() - t0;
	f = fopen(path, "rb");
	fseek(f, 0, SEEK_END);
	file_size = (uint64_t)ftell(f);
	fclose(f);

	t0 = now();
	if (tape_reader__open(&r, path, err, sizeof(err))) {
		fprintf(stderr, "format_bench: %s\n", err);
		return 1;
	}
	while (tape_reader__next(r, &rec) == 1) {
		struct tape_event ev;

		if (rec.type == TAPE_REC_EVENT && !tape_record__event(&rec, &ev)) {
			sum += ev.ts_ns + ev.cpu;
			got++;
		}
	}
	tape_reader__close(r);
	t_read = now() - t0;
	unlink(path);
	if (got != n) {
		fprintf(stderr, "format_bench: read %llu of %llu events\n", (unsigned long long)got,
			(unsigned long long)n);
		return 1;
	}

	/* Anchor: 32-byte structs straight into zstd level 1, 1 MiB blocks. */
	{
		size_t block = 1 << 20, per = block / 32, pos = 0;
		uint8_t *in = malloc(block), *out = malloc(ZSTD_compressBound(block));
		ZSTD_CCtx *cc = ZSTD_createCCtx();
		struct storm s2 = {{1000000000ull, 1000000100ull}, 0};

		rng = 88172645463325252ull;
		t0 = now();
		for (uint64_t i = 0; i < n; i++) {
			uint64_t rec32[4];
			uint32_t cpu;

			next_event(&s2, &cpu, &rec32[0]);
			rec32[1] = 4242ull << 32 | 4242;
			rec32[2] = cpu;
			rec32[3] = 110;
			memcpy(in + pos * 32, rec32, 32);
			if (++pos == per || i + 1 == n) {
				anchor_bytes += ZSTD_compressCCtx(
				    cc, out, ZSTD_compressBound(block), in, pos * 32, 1);
				pos = 0;
			}
		}
		t_anchor = now() - t0;
		ZSTD_freeCCtx(cc);
		free(in);
		free(out);
	}
	printf("events                     %llu\n", (unsigned long long)n);
	printf("bpftape writer             %.1f M events/s   (target >= 10)\n", n / t_write / 1e6);
	printf("bpftape reader             %.1f M events/s   (target >= 20)\n", n / t_read / 1e6);
	printf("bpftape bytes/event        %.2f               (target <= 3)\n",
	       (double)file_size / (double)n);
	printf("anchor 32B->zstd-1         %.1f M events/s, %.2f bytes/event\n", n / t_anchor / 1e6,
	       (double)anchor_bytes / (double)n);
	printf("ratio writer/anchor        %.2f\n", t_anchor / t_write);
	return sum == 0; /* keep the reader's work observable */
}
