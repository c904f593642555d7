/* SPDX-License-Identifier: MIT */
/*
 * analyze_mktrace OUT.tape N: a synthetic profile trace of N CPU samples
 * (for the import-rate benchmark in analyze.sh): one process with two
 * threads, 2000 distinct user stacks 12 to 40 frames deep in the burner
 * sample's address range, 200 kernel stacks, embedded symbols, kallsyms.
 * Deterministic (fixed LCG seed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tape/writer.h>

#define NUSTACKS 2000
#define NKSTACKS 200
#define BASE 0x555555554000ull

static uint64_t rnd_state = 42;
static uint32_t rnd(void)
{
	rnd_state = rnd_state * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(rnd_state >> 33);
}

int main(int argc, char **argv)
{
	struct tape_writer_opts o = {.flags = TAPE_WRITER_F_FORCE};
	struct tape_writer *w;
	struct tape_host h = {0};
	struct tape_event_desc d = {0};
	struct tape_symtab st = {0};
	static struct tape_sym syms[256];
	static struct tape_ksym ks[256];
	static char names[256][32], knames[256][32];
	static uint64_t ips[64];
	struct tape_proc p = {0};
	struct tape_mmap m = {0};
	char err[256];
	long long n, i;
	uint32_t s;

	if (argc != 3 || (n = atoll(argv[2])) <= 0) {
		fprintf(stderr, "usage: analyze_mktrace OUT.tape NSAMPLES\n");
		return 2;
	}
	if (tape_writer__open(&w, argv[1], &o, err, sizeof(err))) {
		fprintf(stderr, "analyze_mktrace: %s\n", err);
		return 1;
	}
	h.ncpus = 2;
	h.page_size = 4096;
	h.clock_mono_ns = h.start_ns = 1000000000000ull;
	h.clock_realtime_ns = 1763806500000000000ull;
	h.hostname = tape_str_c("bench");
	h.machine = tape_str_c("x86_64");
	tape_writer__host(w, &h);
	for (i = 0; i < 256; i++) {
		snprintf(knames[i], sizeof(knames[i]), "kfunc_%lld", i);
		ks[i] = (struct tape_ksym){0xffffffff81000000ull + (uint64_t)i * 0x1000, 'T',
					   tape_str_c(knames[i]), tape_str_c("")};
		snprintf(names[i], sizeof(names[i]), "func_%lld", i);
		syms[i] =
		    (struct tape_sym){0x1000 + (uint64_t)i * 0x100, 0x100, tape_str_c(names[i])};
	}
	tape_writer__ksyms(w, ks, 256);
	st.path = tape_str_c("/nonexistent/bench-app");
	tape_writer__symtab(w, &st, syms, 256);
	d.type_id = 1;
	d.source = TAPE_SRC_PROFILE;
	d.flags = TAPE_DESC_F_KSTACK | TAPE_DESC_F_USTACK;
	d.name = tape_str_c("profile");
	tape_writer__event_desc(w, &d);
	p.kind = TAPE_PROC_EXEC;
	p.pid = p.tid = 4242;
	p.ppid = 1;
	p.comm = tape_str_c("bench-app");
	p.filename = tape_str_c("/nonexistent/bench-app");
	p.ts_ns = h.start_ns;
	tape_writer__proc(w, &p);
	m.pid = 4242;
	m.start = BASE;
	m.end = BASE + 0x20000;
	m.path = tape_str_c("/nonexistent/bench-app");
	m.ts_ns = h.start_ns;
	tape_writer__mmap(w, &m);
	for (s = 1; s <= NUSTACKS; s++) {
		struct tape_stack stk = {.id = s, .nframes = 12 + rnd() % 29, .ips = ips};

		for (i = 0; i < stk.nframes; i++)
			ips[i] = BASE + 0x1000 + (rnd() % 256) * 0x100 + 0x10;
		tape_writer__stack(w, &stk);
	}
	for (s = 1; s <= NKSTACKS; s++) {
		struct tape_stack stk = {.id = NUSTACKS + s,
					 .flags = TAPE_STACK_F_KERNEL,
					 .nframes = 3 + rnd() % 10,
					 .ips = ips};

		for (i = 0; i < stk.nframes; i++)
			ips[i] = 0xffffffff81000000ull + (rnd() % 256) * 0x1000 + 0x20;
		tape_writer__stack(w, &stk);
	}
	for (i = 0; i < n; i++) {
		struct tape_event ev = {
		    .type_id = 1,
		    .cpu = (uint32_t)(i & 1),
		    .ts_ns = h.start_ns + (uint64_t)i * 50000,
		    .pid = 4242,
		    .tid = 4242 + (uint32_t)(i & 1),
		    .ustack_id = 1 + rnd() % NUSTACKS,
		    .kstack_id = (i % 5) ? 0 : NUSTACKS + 1 + rnd() % NKSTACKS,
		};

		if (tape_writer__event(w, &ev)) {
			fprintf(stderr, "analyze_mktrace: %s\n", tape_writer__errmsg(w));
			return 1;
		}
	}
	if (tape_writer__close(w)) {
		fprintf(stderr, "analyze_mktrace: close failed\n");
		return 1;
	}
	return 0;
}
