/* SPDX-License-Identifier: MIT */
/* Folded stack strings from the frames table (stacks.c). */
#ifndef BPFTAPE_STACKS_H
#define BPFTAPE_STACKS_H

#include <sqlite3.h>
#include <stdint.h>

#include "hashmap.h"

struct ana_stacks {
	sqlite3 *db;
	sqlite3_stmt *sel;
	struct ana_hm cache; /* (stack_id, pid) -> index in strs */
	char **strs;	     /* NULL: wanted, not named yet */
	size_t n, cap;
	int kernel_suffix, no_inline;
};

int ana_stacks__init(struct ana_stacks *s, sqlite3 *db, int kernel_suffix, int no_inline);
void ana_stacks__release(struct ana_stacks *s);
/* "root;...;leaf" of STACK_ID as seen by PID (0 for kernel stacks); "" when
 * unknown; NULL on ENOMEM.  Owned by S. */
const char *ana_stacks__get(struct ana_stacks *s, uint32_t stack_id, uint32_t pid);

/* Many stacks at once: say which with ana_stacks__want(), then
 * ana_stacks__load() names them all in one scan of the frames table instead
 * of one query per stack.  Both return 0 or -1 (ENOMEM or SQL error,
 * printed). */
int ana_stacks__want(struct ana_stacks *s, uint32_t stack_id, uint32_t pid);
int ana_stacks__load(struct ana_stacks *s);

/* Name of one frame: FUNC, else basename(MODULE)+0xOFFSET, else [unknown]. */
void ana_frame_name(char *out, size_t size, const char *func, const char *module, int has_offset,
		    long long offset, int kernel);

struct ana_folded_line {
	char *stack; /* "comm;root;...;leaf" */
	uint64_t count;
};
struct ana_filter;
/* Folded stacks of the events matching F, merged and sorted by stack
 * string.  Returns 0 or -1 (message printed). */
int ana_folded_collect(sqlite3 *db, const struct ana_filter *f, int kernel_suffix, int no_inline,
		       int by_pid, struct ana_folded_line **out, size_t *n);
void ana_folded_free(struct ana_folded_line *lines, size_t n);

#endif
