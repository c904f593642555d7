/* SPDX-License-Identifier: MIT */
/*
 * Test helper: reads a whole trace through the format reader into plain
 * arrays (strings copied), so recorder tests can assert on its contents.
 * Also runs bpftape-record and the sample programs.
 */
#ifndef TRACE_LOAD_H
#define TRACE_LOAD_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include <tape/format.h>

struct tl_desc {
	uint32_t type_id, source, flags, tp_id;
	char name[256];
	char *format;
};
struct tl_event {
	uint32_t type_id, cpu, pid, tid, kstack_id, ustack_id, flags, payload_size;
	uint64_t ts_ns;
	uint8_t *payload;
};
struct tl_stack {
	uint32_t id, flags, nframes;
	uint64_t *ips;
};
struct tl_proc {
	uint32_t kind, flags, pid, tid, ppid;
	int32_t exit_code;
	uint64_t ts_ns;
	char comm[32];
	char filename[512];
};
struct tl_mmap {
	uint32_t pid, prot, flags, build_id_size;
	uint64_t ts_ns, start, end, pgoff;
	uint8_t build_id[20];
	char path[512];
};
struct tl_loss {
	uint32_t type_id, cpu, kind;
	uint64_t count;
};

struct trace {
	bool has_host, has_end, has_ksyms;
	struct tape_host host; /* strings not kept */
	char release[128], cmdline[1024], recorder[128];
	struct tape_end end;
	struct tl_desc *descs;
	size_t ndescs;
	struct tl_event *events;
	size_t nevents;
	struct tl_stack *stacks;
	size_t nstacks;
	struct tl_proc *procs;
	size_t nprocs;
	struct tl_mmap *mmaps;
	size_t nmmaps;
	struct tl_loss *losses;
	size_t nlosses;
	size_t nksyms;
	int read_error; /* 0, or the first negative error from the reader */
	char errmsg[512];
	/* ordering checks */
	bool stack_before_use; /* every referenced stack id was defined earlier */
	bool desc_before_use;
};

int trace_load(const char *path, struct trace *t);
void trace_free(struct trace *t);
const struct tl_stack *trace_stack(const struct trace *t, uint32_t id);
const struct tl_desc *trace_desc_by_name(const struct trace *t, const char *name);
/* Final value of each (type, cpu, kind) counter summed over KIND (0 = all). */
uint64_t trace_lost(const struct trace *t, uint32_t kind);

/* Path helpers from the ctest environment. */
const char *tl_bin_dir(void);
const char *tl_build_dir(void);
/* Skips the test (exit 77) unless root with BPF. */
void tl_require_root(void);
/* Runs argv (NULL-terminated) and returns its wait status; stderr to errfile if given. */
int tl_run(char *const argv[], const char *errfile);
/* A fresh temp file path (not created). */
void tl_tmp_path(char *buf, size_t size, const char *suffix);

#endif /* TRACE_LOAD_H */
