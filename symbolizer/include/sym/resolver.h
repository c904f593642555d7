/* SPDX-License-Identifier: MIT */
/*
 * Address -> (function, file:line, inline chain) for ELF binaries (symbol
 * tables via libelf, DWARF line tables and inline chains via libdwarf), and
 * kernel addresses from a kallsyms snapshot.  Knows nothing of SQLite or of
 * the trace format.
 *
 * A miss is a result with a reason, never an error: errors (negative errno)
 * are only for things like running out of memory.
 *
 * Ownership: every string a result points to is owned by the resolver (or
 * the kernel table) and stays valid until it is freed.  The frames array of a
 * struct sym_result is owned by the result: release it with
 * sym_result_release().
 */
#ifndef SYM_RESOLVER_H
#define SYM_RESOLVER_H

#include <stddef.h>
#include <stdint.h>

enum sym_reason {
	SYM_OK = 0,
	SYM_NO_FILE,	       /* binary (and debug file) not found */
	SYM_NO_SYMTAB,	       /* ELF has neither .symtab nor .dynsym */
	SYM_NO_DEBUG_INFO,     /* function known, no DWARF for file:line */
	SYM_BUILD_ID_MISMATCH, /* file found but its build-id differs */
	SYM_UNMAPPED,	       /* address in no mapping / no PT_LOAD segment */
	SYM_NO_SYMBOL,	       /* address covered by no symbol */
	SYM_BAD_ELF,	       /* malformed ELF */
	SYM_BAD_DWARF,	       /* malformed DWARF */
};

/* "ok", "no file", "no symtab", "no debug info", "build-id mismatch",
 * "unmapped", "no symbol", "bad elf", "bad dwarf". */
const char *sym_reason__str(enum sym_reason r);

/* 24 bytes: a batch of 20 000 addresses of inlined code has 95 000. */
struct sym_frame {
	const char *func; /* NULL when unknown */
	const char *file; /* NULL when unknown; path as DWARF names it */
	uint32_t line;	  /* 0 when unknown */
	int inlined;	  /* 1 for a DW_TAG_inlined_subroutine frame */
};

struct sym_result {
	uint64_t addr;
	enum sym_reason reason;	  /* SYM_OK or why nothing (or only a symbol) */
	uint32_t nframes;	  /* 0 when nothing is known */
	struct sym_frame *frames; /* innermost first; the real function last */
	const char *module;	  /* path or kernel module name; may be NULL */
	/* With frames: where the real function (the last frame) starts --
	 * its ELF symbol, else its DWARF low pc -- and ADDR's offset in it. */
	uint64_t func_addr;
	uint64_t func_offset;
};

void sym_result_release(struct sym_result *res);

struct sym_resolver;

struct sym_resolver_opts {
	const char *const *debug_dirs; /* NULL = { "/usr/lib/debug" } */
	size_t n_debug_dirs;
	int no_dwarf; /* symbol tables only (faster) */
	int demangle; /* demangle C++ names (when supported) */
	/* Decoded DWARF (line tables, scopes) kept per file before older
	 * compilation units are dropped; 0 = 256 MiB. */
	size_t dwarf_budget_bytes;
};

int sym_resolver__new(struct sym_resolver **out, const struct sym_resolver_opts *opts);
void sym_resolver__free(struct sym_resolver *r);

/* Last problem met with a file, in words ("'x': not an ELF file"), or "" if
 * none.  Owned by the resolver, valid until the next call on it. */
const char *sym_resolver__errmsg(const struct sym_resolver *r);

/* Log hook for diagnostics (debug file skipped, build-id mismatch, bad
 * DWARF...); the library never prints.  NULL silences it (the default). */
typedef void (*sym_log_fn)(void *ctx, const char *msg);
void sym_resolver__set_log(struct sym_resolver *r, sym_log_fn fn, void *ctx);

/*
 * Symbolizes N addresses in the ELF file's own virtual address space (what
 * addr2line takes).  BUILD_ID may be NULL (not checked); when given, the file
 * (or its debug file) must match, else SYM_BUILD_ID_MISMATCH.  Files are
 * opened and indexed once and cached by path and build-id.  OUT[i] is filled
 * for every i; release each with sym_result_release().  Returns 0 or a
 * negative errno.
 */
int sym_resolver__lookup(struct sym_resolver *r, const char *path, const uint8_t *build_id,
			 size_t build_id_size, const uint64_t *addrs, size_t n,
			 struct sym_result *out);

/*
 * Frames of a whole batch in one block, for callers that symbolize many
 * addresses at a time (a calloc and a free per result cost more than the
 * lookup of a warm address).  Zero-initialize it; it is reused from call
 * to call and freed with sym_batch_release().
 */
struct sym_batch {
	struct sym_frame *frames;
	size_t n, cap;
	size_t head; /* private: bytes before FRAMES in their block */
};

void sym_batch_release(struct sym_batch *b);

struct sym_span; /* sym/huge.h */

/*
 * Takes B's block away, as sym_batch_release() would free it, and returns
 * it as memory to write into (SPAN->p NULL when it had none in memory,
 * and it is freed): a caller done reading the results of B saves as many
 * fresh pages as it fills there.  The results of B are invalid after.
 */
void sym_batch_take(struct sym_batch *b, struct sym_span *span);

/*
 * As sym_resolver__lookup(), but every OUT[i].frames points into B: the
 * results stay valid until the next call with B or sym_batch_release(B),
 * and are not released one by one (sym_result_release() must not be
 * called on them).
 */
int sym_resolver__lookup_batch(struct sym_resolver *r, const char *path, const uint8_t *build_id,
			       size_t build_id_size, const uint64_t *addrs, size_t n,
			       struct sym_result *out, struct sym_batch *b);

/*
 * As sym_resolver__lookup_batch(), calling PG->fn(PG->ctx, IDX, COUNT) from
 * the calling thread as results become final: OUT[IDX[0..COUNT)], with
 * their frames, are complete and do not change until the next call with B.
 * Every result is reported once, in address order, a few hundred at a
 * time, so that another thread may use the first ones while the rest are
 * looked up.  B reserves room for the most frames a batch can have (a
 * virtual reservation: pages are used as frames are stored).  On an error,
 * the results already reported stay as they are; the others are empty.
 */
struct sym_progress {
	void (*fn)(void *ctx, const size_t *idx, size_t count);
	void *ctx;
	/* Set when no lookups in this file follow (or few): a large batch
	 * then decodes line tables for its own addresses only, a fraction of
	 * their rows, and a later lookup there decodes them again. */
	int last;
};

int sym_resolver__lookup_progress(struct sym_resolver *r, const char *path, const uint8_t *build_id,
				  size_t build_id_size, const uint64_t *addrs, size_t n,
				  struct sym_result *out, struct sym_batch *b,
				  const struct sym_progress *pg);

/*
 * Drops every decoded compilation unit of R, as its memory budget would,
 * but hands their large arrays over instead of freeing them: up to MAX of
 * them into SPANS, each the caller's to write into and to free with
 * sym_huge_free() (sym/huge.h).  A page already faulted in costs nothing
 * to write, where a fresh one is a fault and its zeroing: a caller with
 * megabytes to write after its last lookup saves as many.  Results stay
 * valid; a later lookup decodes the units again.  Returns the spans.
 */
size_t sym_resolver__drop_units(struct sym_resolver *r, struct sym_span *spans, size_t max);

/*
 * Converts a file offset inside PATH (as in /proc/PID/maps: addr - start +
 * pgoff) to the ELF virtual address, using the PT_LOAD program headers.
 * Returns 0, or -ENOENT when the file cannot be read or no segment covers it.
 */
int sym_resolver__file_offset_to_vaddr(struct sym_resolver *r, const char *path,
				       const uint8_t *build_id, size_t build_id_size,
				       uint64_t file_offset, uint64_t *vaddr);

/*
 * Provides a symbol table for a binary that may be absent on this machine
 * (the trace's embedded symbols).  Used when the file itself is not found
 * or does not match BUILD_ID.  Names are copied.
 */
int sym_resolver__add_symbols(struct sym_resolver *r, const char *path, const uint8_t *build_id,
			      size_t build_id_size, const uint64_t *addrs, const uint64_t *sizes,
			      const char *const *names, size_t n);

/* Reads the GNU build-id note of PATH.  Returns its size (> 0), 0 when there
 * is none, or a negative errno. */
int sym_read_build_id(const char *path, uint8_t *buf, size_t buf_size);

/* Kernel symbols from a kallsyms snapshot. */
struct sym_kernel;
int sym_kernel__new(struct sym_kernel **out);
void sym_kernel__free(struct sym_kernel *k);
/* Adds one kallsyms line's worth; names are copied.  Call in any order. */
int sym_kernel__add(struct sym_kernel *k, uint64_t addr, char type, const char *name,
		    size_t name_len, const char *module, size_t module_len);
/* One frame: func = symbol, func_offset = addr - symbol, module = module
 * name or "kernel"; reason SYM_NO_SYMBOL/SYM_UNMAPPED when outside. */
int sym_kernel__lookup(struct sym_kernel *k, uint64_t addr, struct sym_result *out);

#endif /* SYM_RESOLVER_H */
