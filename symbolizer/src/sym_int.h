/* SPDX-License-Identifier: MIT */
/*
 * Internal interfaces of the symbolizer: one opened ELF file (sym_elf), its
 * symbol table (sym_symtab), its DWARF index (sym_dwarf), shared by
 * resolver.c, elf.c and dwarf.c.  Nothing here is API.
 */
#ifndef SYM_INT_H
#define SYM_INT_H

#include <gelf.h>
#include <libelf.h>
#include <stddef.h>
#include <stdint.h>

#include <sym/resolver.h>

#define SYM_BUILD_ID_MAX 64

/* A growable array of bytes used as a string pool: strings are referred to
 * by offset so the pool can be reallocated. */
struct sym_strpool {
	char *buf;
	size_t len, cap;
};

#include <sym/huge.h>

/* Small arrays freed all at once with their owner, from huge-page chunks. */
struct sym_arena {
	struct sym_arena_chunk *head;
	size_t bytes; /* in all chunks */
};
void *sym_arena__alloc(struct sym_arena *a, size_t size);
void sym_arena__release(struct sym_arena *a);
/* Moves the chunks of FROM into A (to be released with A's). */
void sym_arena__adopt(struct sym_arena *a, struct sym_arena *from);
/* Lends the empty arena B the upper half of the room left in A's current
 * chunk, for another thread to fill: two arenas filled at once then share
 * one huge page rather than fault in one each.  B must be adopted by A
 * (or released before A).  Nothing is lent when the room is small. */
void sym_arena__split(struct sym_arena *a, struct sym_arena *b);
/* Hands *PP over as SPANS[N] when there is room (N < MAX) and some of it
 * is in memory (*PP is then NULL); returns the spans in use. */
size_t sym_span__take(struct sym_span *spans, size_t n, size_t max, void **pp);
/* Empties A: its chunks in memory go to SPANS from N (up to MAX), the
 * others are freed.  Returns the spans in use. */
size_t sym_arena__hand_over(struct sym_arena *a, struct sym_span *spans, size_t n, size_t max);

int sym_strpool__add(struct sym_strpool *p, const char *s, size_t len, uint32_t *off);
void sym_strpool__release(struct sym_strpool *p);

struct sym_segment {
	uint64_t vaddr, memsz, offset, filesz;
};

/* One ELF file, mapped read-only.  Strings from its string tables point
 * into the mapping and live as long as the sym_elf. */
struct sym_elf {
	char *path;
	int fd;
	Elf *elf;
	GElf_Ehdr ehdr;
	size_t shstrndx;
	uint8_t build_id[SYM_BUILD_ID_MAX];
	size_t build_id_size;
	struct sym_segment *segs;
	size_t nsegs;
	const char *debuglink; /* NULL when none */
	uint32_t debuglink_crc;
	int has_debug_info; /* .debug_info or .zdebug_info with contents */
	int has_symtab;	    /* .symtab with entries */
	int has_dynsym;
};

/* Opens PATH; on failure returns a negative errno and writes a one-line
 * reason into ERRBUF.  -ENOEXEC means "not a (valid) ELF file". */
int sym_elf__open(struct sym_elf **out, const char *path, char *errbuf, size_t errlen);
/* Same, on an already opened descriptor (taken over, closed on free). */
int sym_elf__open_fd(struct sym_elf **out, int fd, const char *path, char *errbuf, size_t errlen);
void sym_elf__free(struct sym_elf *e);
/* Section by name, NULL when absent. */
Elf_Scn *sym_elf__section(struct sym_elf *e, const char *name, GElf_Shdr *shdr);
int sym_elf__vaddr_mapped(const struct sym_elf *e, uint64_t addr);

struct sym_symbol {
	uint64_t addr, size;
	const char *name;
	const char *file; /* from the preceding STT_FILE symbol, or NULL */
};

/* Function symbols sorted by address, one per address. */
struct sym_symtab {
	struct sym_symbol *syms;
	size_t n;
	struct sym_strpool pool; /* for names that are copied (embedded tables) */
	char **owned;		 /* copied names */
	size_t nowned;
	size_t hint; /* index of the symbol found last */
};

/* Loads .symtab (else .dynsym) of E.  Returns 0 (possibly with n == 0). */
int sym_symtab__load(struct sym_symtab *t, struct sym_elf *e);
/* Sorts and deduplicates after symbols were appended. */
void sym_symtab__finish(struct sym_symtab *t);
const struct sym_symbol *sym_symtab__find(struct sym_symtab *t, uint64_t addr);
void sym_symtab__release(struct sym_symtab *t);

/* DWARF side: lazily indexed per compilation unit. */
struct sym_dwarf;

/* Opens the DWARF of E (which must outlive it).  Returns 0, -ENOENT when E
 * has no DWARF, -EINVAL when the DWARF is malformed (ERRBUF says why). */
int sym_dwarf__open(struct sym_dwarf **out, struct sym_elf *e, size_t mem_budget, char *errbuf,
		    size_t errlen);
void sym_dwarf__free(struct sym_dwarf *d);
/* sym_resolver__drop_units() for one file's DWARF. */
size_t sym_dwarf__drop_units(struct sym_dwarf *d, struct sym_span *spans, size_t max);
/*
 * Frames for ADDR, innermost first, into FRAMES (capacity MAX; every one
 * inlined but the last), and into *LO the low pc of the last one's range
 * at ADDR (0 when none).  Returns the number of frames: 0 when no CU
 * covers ADDR; a negative errno on allocation failure; *BAD set when the
 * CU's DWARF is malformed.  Strings are owned by D.
 */
int sym_dwarf__lookup(struct sym_dwarf *d, uint64_t addr, struct sym_frame *frames, int max,
		      uint64_t *lo, int *bad, int *row_later);
/*
 * With *ROW_LATER set, the line table is not consulted while it is still
 * being decoded on a thread (that of a large CU is): *ROW_LATER stays 1,
 * frames[0].file and .line are left NULL and 0 for sym_dwarf__row(), and
 * -EAGAIN is returned when no function covers ADDR (look it up again
 * without ROW_LATER).  When the rows are in, the lookup is complete and
 * *ROW_LATER is set to 0.  Without ROW_LATER (NULL or 0),
 * sym_dwarf__row() and the lookup wait for the rows.
 */
/* Starts decoding the line table of the CU holding ADDR, if that CU is
 * not decoded yet (on a thread of its own when the table is large, as
 * its walk would): a caller that has work to do before its first lookup
 * there gets the rows sooner.  Returns 1 when a CU holds ADDR, else 0. */
int sym_dwarf__prefetch(struct sym_dwarf *d, uint64_t addr);
/* How many addresses the lookups to come look up (0: unknown).  A batch
 * with several addresses per function of a CU has every function's
 * index built at once, on two threads, when the CU is decoded. */
void sym_dwarf__expect(struct sym_dwarf *d, size_t naddrs);
/*
 * For a last batch (no lookups follow, or few): sym_dwarf__filter_expect()
 * before sym_dwarf__prefetch() says that its addresses will come, and
 * sym_dwarf__filter() gives them, sorted (ADDRS: the first, each STRIDE
 * bytes after the one before; they must stay as they are until the call
 * with ADDRS NULL that ends the batch).  Line programs decoded meanwhile
 * keep the rows those addresses need, not every row: a lookup of another
 * address afterwards decodes the program again.
 */
void sym_dwarf__filter_expect(struct sym_dwarf *d);
void sym_dwarf__filter(struct sym_dwarf *d, const void *addrs, size_t n, size_t stride);
/* Bytes [OFF, OFF + LEN) of the caller's huge array P (sym/huge.h), which
 * it will write in the lookups to come: the thread that the next
 * sym_dwarf__prefetch() starts faults their huge pages in before it
 * decodes.  P must outlive that thread (until the lookups are done). */
void sym_dwarf__warm(struct sym_dwarf *d, void *p, size_t off, size_t len);
/* 1 when the line rows of the CU holding ADDR can be read without waiting
 * for the thread decoding them (or there is nothing to wait for). */
int sym_dwarf__rows_ready(struct sym_dwarf *d, uint64_t addr);
/* File and line of the line-table row at ADDR (in a CU already decoded
 * by a lookup): 1, 0 when none, or -ENOMEM; *BAD set when malformed. */
int sym_dwarf__row(struct sym_dwarf *d, uint64_t addr, const char **file, uint32_t *line, int *bad);
const char *sym_dwarf__errmsg(const struct sym_dwarf *d);

uint32_t sym_crc32(uint32_t crc, const void *buf, size_t len);

#endif /* SYM_INT_H */
