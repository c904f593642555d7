/* SPDX-License-Identifier: MIT */
/* Executable-mapping side-band from perf_event mmap2 records (mmapwatch.c). */
#ifndef REC_MMAPWATCH_H
#define REC_MMAPWATCH_H

#include <stddef.h>
#include <stdint.h>

struct rec_mmap_info {
	uint64_t ts_ns; /* CLOCK_MONOTONIC */
	uint32_t pid;
	uint32_t prot;		/* PROT_* */
	uint32_t flags;		/* MAP_* */
	uint32_t build_id_size; /* 0: use dev/inode and read the file */
	uint8_t build_id[20];
	uint64_t start, len, pgoff, dev, inode;
	const char *path; /* not NUL-terminated past path_len */
	size_t path_len;
};

typedef int (*rec_mmapwatch_fn)(void *ctx, const struct rec_mmap_info *mi);

struct rec_mmapwatch;
int rec_mmapwatch__open(struct rec_mmapwatch **out, int ncpus);
void rec_mmapwatch__close(struct rec_mmapwatch *mw);
/* Calls FN for every mapping record queued so far; stops at FN's error. */
int rec_mmapwatch__drain(struct rec_mmapwatch *mw, rec_mmapwatch_fn fn, void *ctx);
/* Records the kernel dropped because a perf ring was full. */
uint64_t rec_mmapwatch__lost(const struct rec_mmapwatch *mw);

#endif /* REC_MMAPWATCH_H */
