/* SPDX-License-Identifier: MIT */
/*
 * Large arrays on transparent huge pages (symbolizer/src/huge.c): from
 * 1 MiB an array gets a 2 MiB-aligned mapping of its own, advised
 * MADV_HUGEPAGE, and grows by moving its pages rather than copying them;
 * smaller ones come from malloc.  Fresh pages were the largest cost of
 * symbolizing a big binary in one short-lived process: a 4 KiB page fault,
 * charged to a memory cgroup, took a few microseconds here.
 */
#ifndef SYM_HUGE_H
#define SYM_HUGE_H

#include <stddef.h>

/* 1 in AddressSanitizer builds: there these arrays come from malloc, whose
 * bounds it checks, and whoever frees at exit for its leak check does. */
#if defined(__SANITIZE_ADDRESS__)
#define SYM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SYM_ASAN 1
#endif
#endif
#ifndef SYM_ASAN
#define SYM_ASAN 0
#endif

/* realloc() and free() for such arrays; not interchangeable with
 * malloc's.  Growing never loses the contents; asking for less keeps
 * the array where it is. */
void *sym_huge_realloc(void *p, size_t size);
void sym_huge_free(void *p);
/* An array with a mapping of its own whatever its size, AddressSanitizer
 * builds included (freed with sym_huge_free()): memory whose pages the
 * kernel may keep referring to after it is freed (vmsplice(2)) must never
 * be handed out again by malloc. */
void *sym_huge_map(size_t size);
/* 1 when P has a mapping of its own, 0 when it came from malloc. */
int sym_huge__mapped(const void *p);
/* Faults in the huge pages of bytes [OFF, OFF + BYTES) of array P now
 * (MADV_POPULATE_WRITE; nothing for an array from malloc, or where the
 * kernel cannot): a thread with nothing better to do spares the one about
 * to write there the faults.  The contents do not change. */
void sym_huge_populate(void *p, size_t off, size_t bytes);
/* Bytes of array P, from its start, whose pages are in memory now: 0 for
 * an array from malloc. */
size_t sym_huge_resident(const void *p);

/* Memory handed over to be written into (sym_resolver__drop_units(),
 * sym_batch_take()): the array P, whose first LEN bytes are in memory
 * already; freed with sym_huge_free(). */
struct sym_span {
	void *p;
	size_t len;
};

#endif
