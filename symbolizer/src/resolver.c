/* SPDX-License-Identifier: MIT */
/*
 * The resolver: a cache of binaries (by path, and by build-id), each opened
 * and indexed once, where the debug file of each binary is found, and the
 * policy that turns ELF symbols and DWARF frames into results with reasons.
 *
 * Debug info is searched, in order: the file itself; DIR/.build-id/xx/rest.debug
 * under each debug dir; the .gnu_debuglink name next to the file, in its
 * .debug/ subdirectory, and under each debug dir followed by the file's
 * directory.  A candidate whose build-id differs from the binary's is
 * skipped and remembered as a mismatch, so the result says why there are no
 * lines; without build-ids the debuglink CRC decides.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sym_int.h"

#define MAX_FRAMES 64

struct sym_embedded {
	struct sym_embedded *next;
	char *path;
	uint8_t build_id[SYM_BUILD_ID_MAX];
	size_t build_id_size;
	struct sym_symtab symtab;
};

struct sym_file {
	struct sym_file *next;
	char *path;
	enum sym_reason reason;	      /* SYM_OK, or why the file is unusable */
	struct sym_elf *exe;	      /* NULL when only a debug file was found */
	struct sym_elf *debug;	      /* may be == exe, or NULL */
	enum sym_reason debug_reason; /* why there is no DWARF */
	struct sym_symtab symtab;
	int symtab_state; /* 0 not loaded, 1 loaded */
	int have_symtab;  /* some symbol table was found */
	struct sym_dwarf *dw;
	int dw_state;		/* 0 not opened, 1 opened, -1 none */
	struct sym_file *alias; /* same build-id as this earlier entry */
};

struct sym_resolver {
	char **debug_dirs;
	size_t n_debug_dirs;
	int no_dwarf;
	size_t dwarf_budget;
	int demangle;
	struct sym_file *files;
	struct sym_embedded *embedded;
	sym_log_fn log;
	void *log_ctx;
	void *order; /* lookup order of a batch (struct addr_idx) */
	size_t order_cap;
	char errmsg[512];
};

struct sym_ksym {
	uint64_t addr;
	const char *name;
	const char *module;
};

struct sym_kernel {
	struct sym_ksym *syms;
	size_t n, cap;
	int sorted;
	char **chunks; /* name storage, freed at the end */
	size_t nchunks, chunk_used, chunk_size;
	const char **modules;
	size_t nmodules;
};

const char *sym_reason__str(enum sym_reason r)
{
	static const char *const s[] = {
	    "ok",	"no file",   "no symtab", "no debug info", "build-id mismatch",
	    "unmapped", "no symbol", "bad elf",	  "bad dwarf"};

	if ((unsigned)r < sizeof(s) / sizeof(s[0]))
		return s[r];
	return "unknown";
}

void sym_result_release(struct sym_result *res)
{
	if (!res)
		return;
	free(res->frames);
	res->frames = NULL;
	res->nframes = 0;
}

static void logf_(struct sym_resolver *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void logf_(struct sym_resolver *r, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (!r->log)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	r->log(r->log_ctx, buf);
}

int sym_resolver__new(struct sym_resolver **out, const struct sym_resolver_opts *opts)
{
	static const char *const def_dirs[] = {"/usr/lib/debug"};
	const char *const *dirs = def_dirs;
	size_t n = 1;
	struct sym_resolver *r;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	if (opts && opts->debug_dirs) {
		dirs = opts->debug_dirs;
		n = opts->n_debug_dirs;
	}
	r->debug_dirs = calloc(n ? n : 1, sizeof(*r->debug_dirs));
	if (!r->debug_dirs)
		goto nomem;
	for (size_t i = 0; i < n; i++) {
		if (!dirs[i])
			continue;
		r->debug_dirs[r->n_debug_dirs] = strdup(dirs[i]);
		if (!r->debug_dirs[r->n_debug_dirs++])
			goto nomem;
	}
	if (opts) {
		r->no_dwarf = opts->no_dwarf;
		r->demangle = opts->demangle;
		r->dwarf_budget = opts->dwarf_budget_bytes;
	}
	*out = r;
	return 0;
nomem:
	sym_resolver__free(r);
	return -ENOMEM;
}

static void file_free(struct sym_file *f)
{
	if (!f)
		return;
	sym_dwarf__free(f->dw);
	sym_symtab__release(&f->symtab);
	if (f->debug != f->exe)
		sym_elf__free(f->debug);
	sym_elf__free(f->exe);
	free(f->path);
	free(f);
}

void sym_resolver__free(struct sym_resolver *r)
{
	if (!r)
		return;
	while (r->files) {
		struct sym_file *f = r->files;

		r->files = f->next;
		file_free(f);
	}
	while (r->embedded) {
		struct sym_embedded *m = r->embedded;

		r->embedded = m->next;
		sym_symtab__release(&m->symtab);
		free(m->path);
		free(m);
	}
	for (size_t i = 0; i < r->n_debug_dirs; i++)
		free(r->debug_dirs[i]);
	free(r->debug_dirs);
	sym_huge_free(r->order);
	free(r);
}

const char *sym_resolver__errmsg(const struct sym_resolver *r)
{
	return r->errmsg;
}

void sym_resolver__set_log(struct sym_resolver *r, sym_log_fn fn, void *ctx)
{
	r->log = fn;
	r->log_ctx = ctx;
}

/* ---- finding debug files ---- */

/* snprintf into a path buffer; 0, or -1 when it does not fit. */
static int pathf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int pathf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int same_build_id(const struct sym_elf *a, const uint8_t *bid, size_t size)
{
	return a->build_id_size == size && !memcmp(a->build_id, bid, size);
}

static int file_crc(int fd, uint32_t *crc)
{
	struct stat st;
	void *p;

	if (fstat(fd, &st) || st.st_size <= 0)
		return -1;
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return -1;
	*crc = sym_crc32(0, p, (size_t)st.st_size);
	munmap(p, (size_t)st.st_size);
	return 0;
}

/* Opens CAND as the debug file of F->exe if it matches and has DWARF.
 * Returns 1 when taken, 0 otherwise (F->debug_reason updated). */
static int try_debug(struct sym_resolver *r, struct sym_file *f, const char *cand,
		     const uint8_t *want, size_t want_size, int check_crc)
{
	struct sym_elf *e = NULL;
	char err[256];

	if (access(cand, R_OK))
		return 0;
	if (f->exe && !strcmp(cand, f->exe->path))
		return 0;
	if (sym_elf__open(&e, cand, err, sizeof(err)))
		return 0;
	if (want_size && e->build_id_size && !same_build_id(e, want, want_size)) {
		logf_(r, "'%s': build-id does not match '%s', not used", cand, f->path);
		f->debug_reason = SYM_BUILD_ID_MISMATCH;
		snprintf(r->errmsg, sizeof(r->errmsg), "debug file '%s': build-id mismatch", cand);
		sym_elf__free(e);
		return 0;
	}
	if (check_crc && !(want_size && e->build_id_size)) {
		uint32_t crc;

		if (file_crc(e->fd, &crc) || crc != f->exe->debuglink_crc) {
			logf_(r, "'%s': debuglink CRC does not match '%s', not used", cand,
			      f->path);
			f->debug_reason = SYM_BUILD_ID_MISMATCH;
			sym_elf__free(e);
			return 0;
		}
	}
	if (!e->has_debug_info) {
		sym_elf__free(e);
		return 0;
	}
	f->debug = e;
	return 1;
}

static int find_by_build_id(struct sym_resolver *r, struct sym_file *f, const uint8_t *bid,
			    size_t size)
{
	char hex[2 * SYM_BUILD_ID_MAX + 1], path[PATH_MAX];

	if (size < 2)
		return 0;
	for (size_t i = 0; i < size; i++)
		snprintf(hex + 2 * i, 3, "%02x", bid[i]);
	for (size_t i = 0; i < r->n_debug_dirs; i++) {
		if (pathf(path, sizeof(path), "%s/.build-id/%.2s/%s.debug", r->debug_dirs[i], hex,
			  hex + 2))
			continue;
		if (try_debug(r, f, path, bid, size, 0))
			return 1;
	}
	return 0;
}

static int find_by_debuglink(struct sym_resolver *r, struct sym_file *f)
{
	const char *link = f->exe->debuglink;
	char dir[PATH_MAX], path[PATH_MAX], *slash;

	if (!link || strchr(link, '/'))
		return 0;
	if (!realpath(f->exe->path, dir))
		snprintf(dir, sizeof(dir), "%s", f->exe->path);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	if (!pathf(path, sizeof(path), "%s/%s", dir, link) &&
	    try_debug(r, f, path, f->exe->build_id, f->exe->build_id_size, 1))
		return 1;
	if (!pathf(path, sizeof(path), "%s/.debug/%s", dir, link) &&
	    try_debug(r, f, path, f->exe->build_id, f->exe->build_id_size, 1))
		return 1;
	for (size_t i = 0; i < r->n_debug_dirs; i++) {
		if (!pathf(path, sizeof(path), "%s%s%s/%s", r->debug_dirs[i],
			   dir[0] == '/' ? "" : "/", dir, link) &&
		    try_debug(r, f, path, f->exe->build_id, f->exe->build_id_size, 1))
			return 1;
	}
	return 0;
}

static void find_debug(struct sym_resolver *r, struct sym_file *f)
{
	f->debug_reason = SYM_NO_DEBUG_INFO;
	if (f->exe->has_debug_info) {
		f->debug = f->exe;
		return;
	}
	if (find_by_build_id(r, f, f->exe->build_id, f->exe->build_id_size))
		return;
	find_by_debuglink(r, f);
}

/* ---- the file cache ---- */

static struct sym_file *open_file(struct sym_resolver *r, const char *path, const uint8_t *bid,
				  size_t bid_size)
{
	struct sym_file *f = calloc(1, sizeof(*f)), *o;
	char err[256];
	int ret;

	if (!f)
		return NULL;
	f->path = strdup(path);
	if (!f->path) {
		free(f);
		return NULL;
	}
	f->next = r->files;
	r->files = f;
	ret = sym_elf__open(&f->exe, path, err, sizeof(err));
	if (ret == -ENOMEM)
		f->reason = SYM_NO_FILE;
	else if (ret == -ENOEXEC)
		f->reason = SYM_BAD_ELF;
	else if (ret)
		f->reason = SYM_NO_FILE;
	if (ret) {
		snprintf(r->errmsg, sizeof(r->errmsg), "%s", err);
		logf_(r, "%s", err);
		/* The binary is gone, but its debug file may be here. */
		f->debug_reason = SYM_NO_DEBUG_INFO;
		if (bid_size && find_by_build_id(r, f, bid, bid_size))
			f->reason = SYM_OK;
		return f;
	}
	/* Same build-id as a file already indexed (a copy, another path):
	 * share its index. */
	for (o = f->next; o && f->exe->build_id_size; o = o->next)
		if (!o->alias && o->exe && o->reason == SYM_OK &&
		    same_build_id(o->exe, f->exe->build_id, f->exe->build_id_size)) {
			f->alias = o;
			return f;
		}
	if (!r->no_dwarf)
		find_debug(r, f);
	return f;
}

static struct sym_file *get_file(struct sym_resolver *r, const char *path, const uint8_t *bid,
				 size_t bid_size)
{
	struct sym_file *f;

	for (f = r->files; f; f = f->next)
		if (!strcmp(f->path, path))
			return f->alias ? f->alias : f;
	f = open_file(r, path, bid, bid_size);
	if (f && f->alias)
		return f->alias;
	return f;
}

static void load_symtab(struct sym_file *f)
{
	struct sym_elf *src = NULL;

	f->symtab_state = 1;
	/* The richest table: the binary's .symtab, else the debug file's,
	 * else the binary's .dynsym. */
	if (f->exe && f->exe->has_symtab)
		src = f->exe;
	else if (f->debug && f->debug->has_symtab)
		src = f->debug;
	else if (f->exe && f->exe->has_dynsym)
		src = f->exe;
	/* A table without a covering symbol is "no symbol", not "no symtab". */
	if (src && !sym_symtab__load(&f->symtab, src))
		f->have_symtab = 1;
}

static void load_dwarf(struct sym_resolver *r, struct sym_file *f)
{
	char err[256] = "";
	int ret;

	f->dw_state = -1;
	if (!f->debug || r->no_dwarf)
		return;
	ret = sym_dwarf__open(&f->dw, f->debug, r->dwarf_budget, err, sizeof(err));
	if (ret == -EINVAL) {
		f->debug_reason = SYM_BAD_DWARF;
		snprintf(r->errmsg, sizeof(r->errmsg), "%s", err);
		logf_(r, "%s", err);
	}
	if (!ret)
		f->dw_state = 1;
}

static struct sym_embedded *find_embedded(struct sym_resolver *r, const char *path,
					  const uint8_t *bid, size_t bid_size)
{
	struct sym_embedded *m, *by_path = NULL;

	for (m = r->embedded; m; m = m->next) {
		if (bid_size && m->build_id_size == bid_size && !memcmp(m->build_id, bid, bid_size))
			return m;
		if (!strcmp(m->path, path) && (!bid_size || !m->build_id_size))
			by_path = m;
	}
	return by_path;
}

/* ---- lookups ---- */

/* Where B's block starts: its frames, after HEAD bytes (a progress
 * lookup's sort order); NULL when it has none. */
static void *batch_block(const struct sym_batch *b)
{
	return b->frames ? (char *)b->frames - b->head : NULL;
}

/* Room for N more frames in the batch B, at B->frames + B->n: NULL when
 * out of memory.  The block may move (until the batch is done). */
static struct sym_frame *batch_room(struct sym_batch *b, size_t n)
{
	if (n > b->cap - b->n) {
		size_t cap = b->cap ? b->cap : 1024;
		struct sym_frame *nf;

		while (n > cap - b->n)
			cap *= 2;
		nf = sym_huge_realloc(batch_block(b), b->head + cap * sizeof(*nf));
		if (!nf)
			return NULL;
		b->frames = (struct sym_frame *)((char *)nf + b->head);
		b->cap = cap;
	}
	return b->frames + b->n;
}

/* Gives RES the next N frames of the batch B, already in its room;
 * *FIRST records where they start (the block may still move). */
static void batch_take(struct sym_batch *b, struct sym_result *res, size_t n, size_t *first)
{
	*first = b->n;
	b->n += n;
	res->nframes = (uint32_t)n;
}

/*
 * N frames for RES (zeroed when its own block): its own block, or the next N of the batch B
 * (whose block may move until the batch is done: *FIRST records where they
 * start, the pointers are set at the end).  The frames to fill, or NULL
 * when out of memory.
 */
static struct sym_frame *set_frames(struct sym_batch *b, struct sym_result *res, uint32_t n,
				    size_t *first)
{
	struct sym_frame *fr;

	if (!b) {
		res->frames = calloc(n, sizeof(*res->frames));
		if (!res->frames)
			return NULL;
		res->nframes = n;
		return res->frames;
	}
	fr = batch_room(b, n);
	if (!fr)
		return NULL;
	batch_take(b, res, n, first);
	return fr; /* the caller sets every field */
}

static int lookup_symtab_only(struct sym_symtab *t, uint64_t addr, struct sym_result *res,
			      enum sym_reason found_reason, struct sym_batch *b, size_t *first)
{
	const struct sym_symbol *s = sym_symtab__find(t, addr);
	struct sym_frame *fr;

	if (!s) {
		res->reason = t->n ? SYM_NO_SYMBOL : SYM_NO_SYMTAB;
		return 0;
	}
	fr = set_frames(b, res, 1, first);
	if (!fr)
		return -ENOMEM;
	fr[0] = (struct sym_frame){.func = s->name};
	res->func_addr = s->addr;
	res->func_offset = addr - s->addr;
	res->reason = found_reason;
	return 0;
}

/*
 * One address.  With ROW_LATER, while the line table is still being
 * decoded, the line of the innermost DWARF frame is left for lookup_row()
 * (returns 2), and an address that no DWARF function covers is left whole
 * for later (returns 1).  Returns 0 when RES is complete, or a negative
 * errno.
 */
static int lookup_one(struct sym_resolver *r, struct sym_file *f, uint64_t addr,
		      struct sym_result *res, struct sym_batch *b, size_t *first, int row_later)
{
	struct sym_frame own[MAX_FRAMES], *fr = own;
	struct sym_elf *layout = f->exe ? f->exe : f->debug;
	const struct sym_symbol *s;
	uint64_t lo = 0;
	int n = 0, bad = 0, later = row_later;

	if (!sym_elf__vaddr_mapped(layout, addr)) {
		res->reason = SYM_UNMAPPED;
		return 0;
	}
	if (f->dw_state == 0)
		load_dwarf(r, f);
	if (f->dw) {
		/* In a batch, straight where they stay. */
		if (b && !(fr = batch_room(b, MAX_FRAMES)))
			return -ENOMEM;
		n = sym_dwarf__lookup(f->dw, addr, fr, MAX_FRAMES, &lo, &bad, &later);
		if (n == -EAGAIN)
			return 1;
		if (n < 0)
			return n;
	}
	s = f->have_symtab ? sym_symtab__find(&f->symtab, addr) : NULL;
	if (n == 0) {
		if (!s) {
			res->reason = f->have_symtab ? SYM_NO_SYMBOL : SYM_NO_SYMTAB;
			return 0;
		}
		fr = set_frames(b, res, 1, first);
		if (!fr)
			return -ENOMEM;
		fr[0] = (struct sym_frame){.func = s->name, .file = s->file};
		res->func_addr = s->addr;
		res->func_offset = addr - s->addr;
		res->reason = bad ? SYM_BAD_DWARF : f->dw ? SYM_NO_DEBUG_INFO : f->debug_reason;
		return 0;
	}
	if (b) {
		batch_take(b, res, (size_t)n, first);
	} else {
		if (!(fr = set_frames(NULL, res, (uint32_t)n, first)))
			return -ENOMEM;
		memcpy(fr, own, (size_t)n * sizeof(*fr));
	}
	{
		/*
		 * As addr2line: the outermost frame is named by DWARF (the
		 * linkage name for C++), else by the ELF symbol; when the
		 * symbol starts exactly at the function, its name wins
		 * (static functions cloned by gcc keep their
		 * ".constprop.0"-style names that way).
		 */
		uint64_t func_addr = s ? s->addr : lo;

		if (!fr[n - 1].func && s)
			fr[n - 1].func = s->name;
		res->func_addr = func_addr;
		res->func_offset = addr - func_addr;
	}
	res->reason = bad ? SYM_BAD_DWARF : SYM_OK;
	return later && f->dw ? 2 : 0;
}

/* The line of the innermost frame FR of RES, left by lookup_one(). */
static int lookup_row(struct sym_file *f, uint64_t addr, struct sym_result *res,
		      struct sym_frame *fr)
{
	int bad = 0, ret = sym_dwarf__row(f->dw, addr, &fr->file, &fr->line, &bad);

	if (ret < 0)
		return ret;
	if (bad)
		res->reason = SYM_BAD_DWARF;
	return 0;
}

struct addr_idx {
	uint64_t addr;
	size_t idx;
	size_t first; /* of its frames in a batch */
	int later;    /* what lookup_one() left for the second pass */
};

/* Widest digit of the radix sort: 4096 counters (32 KiB) a pass. */
#define RADIX_BITS_MAX 12

/*
 * Stable LSD radix sort of ORDER by address (TMP holds N elements): a
 * batch's addresses share most of their high bits, whose passes are
 * skipped, so this is a few linear passes where qsort cost n log n
 * comparisons through a function pointer.  The bits in which addresses
 * differ are split in as few digits as fit RADIX_BITS_MAX (fewer for a
 * small batch, whose counters would outweigh it): the 23 bits of a 5 MB
 * binary's text take two passes where bytes took three and a copy back.
 */
static void sort_addr_idx(struct addr_idx *order, struct addr_idx *tmp, size_t n)
{
	struct addr_idx *src = order, *dst = tmp, *t;
	uint64_t differ = 0;
	unsigned lowest, span, passes, width, wmax = 8;

	for (size_t i = 1; i < n; i++)
		differ |= src[i].addr ^ src[0].addr;
	if (!differ)
		return;
	while (wmax < RADIX_BITS_MAX && (size_t)1 << wmax < n)
		wmax++;
	lowest = (unsigned)__builtin_ctzll(differ);
	span = 64 - (unsigned)__builtin_clzll(differ) - lowest;
	passes = (span + wmax - 1) / wmax;
	width = (span + passes - 1) / passes;
	for (unsigned p = 0; p < passes; p++) {
		const unsigned shift = lowest + p * width;
		const uint64_t mask = ((uint64_t)1 << width) - 1;
		size_t count[(size_t)1 << RADIX_BITS_MAX], sum = 0;

		memset(count, 0, ((size_t)1 << width) * sizeof(count[0]));
		for (size_t i = 0; i < n; i++)
			count[src[i].addr >> shift & mask]++;
		for (size_t k = 0; k <= mask; k++) {
			size_t c = count[k];

			count[k] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			dst[count[src[i].addr >> shift & mask]++] = src[i];
		t = src;
		src = dst;
		dst = t;
	}
	if (src != order)
		memcpy(order, src, n * sizeof(*order));
}

/* The second half of an address lookup_one() left for later (LATER). */
static int lookup_rest(struct sym_resolver *r, struct sym_file *f, struct addr_idx *o,
		       struct sym_result *res, struct sym_batch *b)
{
	if (o->later == 1)
		return lookup_one(r, f, o->addr, res, b, &o->first, 0);
	if (o->later == 2)
		return lookup_row(f, o->addr, res, b ? b->frames + o->first : res->frames);
	return 0;
}

/* Looks up the rest of the addresses left for later, at the positions
 * DEF[*HEAD, NDEF) of ORDER, in turn while their line table is ready
 * (all of them, waiting for it, with WAIT). */
static int catch_up(struct sym_resolver *r, struct sym_file *f, struct addr_idx *order,
		    const struct addr_idx *def, size_t *head, size_t ndef, struct sym_result *out,
		    struct sym_batch *b, int wait)
{
	int ret = 0;

	while (*head < ndef && ret >= 0 &&
	       (wait || sym_dwarf__rows_ready(f->dw, order[def[*head].idx].addr))) {
		struct addr_idx *o = &order[def[(*head)++].idx];

		ret = lookup_rest(r, f, o, &out[o->idx], b);
	}
	return ret;
}

/* Reports the results at sorted positions [*REPORTED, UPTO) as final. */
static void report_done(const struct sym_progress *pg, const struct addr_idx *order,
			struct sym_result *out, struct sym_batch *b, size_t *reported, size_t upto)
{
	size_t idx[256];

	while (*reported < upto) {
		size_t k = 0;

		for (; k < 256 && *reported < upto; k++, (*reported)++) {
			const struct addr_idx *o = &order[*reported];

			if (out[o->idx].nframes)
				out[o->idx].frames = b->frames + o->first;
			idx[k] = o->idx;
		}
		pg->fn(pg->ctx, idx, k);
	}
}

/* Batches from this size on start decoding before they are sorted, with
 * the unit of the first of so many addresses that lies in one. */
#define PREFETCH_MIN 256
#define PREFETCH_TRIES 64
/* The huge pages of a batch's block (sym/huge.h). */
#define BLOCK_PAGE ((size_t)2 << 20)

static int lookup_many(struct sym_resolver *r, const char *path, const uint8_t *build_id,
		       size_t build_id_size, const uint64_t *addrs, size_t n,
		       struct sym_result *out, struct sym_batch *b, const struct sym_progress *pg)
{
	size_t reported = 0;
	struct sym_file *f;
	struct sym_embedded *emb = NULL;
	enum sym_reason why = SYM_OK;
	struct addr_idx *order = NULL;
	const int last = pg && pg->last;
	int ret = 0, filtering = 0, in_block = 0;

	if (b)
		b->n = 0;
	for (size_t i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		out[i].addr = addrs[i];
		out[i].module = path;
	}
	if (!path)
		return -EINVAL;
	f = get_file(r, path, build_id, build_id_size);
	if (!f)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		out[i].module = f->path;
	/* Reported results point into B, which must not move meanwhile: it
	 * is reserved for the most frames the batch can have, with the sort
	 * order in front (both are touched only as far as they are used).
	 * The frames then start in the order's last huge page: on the clang
	 * binary of bench/ (1.28 MB of order, 2.28 MB of frames) two pages
	 * to fault in instead of three.  Without the room, results are all
	 * reported at the end. */
	if (pg &&
	    n <= (SIZE_MAX / 2 - 4096) / (MAX_FRAMES * sizeof(*b->frames) + 2 * sizeof(*order))) {
		size_t head = ((2 * n + 1) * sizeof(*order) + 63) & ~(size_t)63;
		size_t cap = (size_t)MAX_FRAMES * n;
		void *blk = b->head >= head && b->cap >= cap ? batch_block(b) : NULL;

		if (!blk && (blk = sym_huge_realloc(NULL, head + cap * sizeof(*b->frames)))) {
			sym_batch_release(b);
			b->frames = (struct sym_frame *)((char *)blk + head);
			b->head = head;
			b->cap = cap;
		}
		order = blk;
		in_block = blk != NULL;
	}
	/* Kept from call to call: a large buffer is fresh pages each time. */
	if (!order && 2 * n + 1 > r->order_cap) {
		void *o = n < SIZE_MAX / (2 * sizeof(*order))
			      ? sym_huge_realloc(r->order, (2 * n + 1) * sizeof(*order))
			      : NULL;

		if (!o)
			return -ENOMEM;
		r->order = o;
		r->order_cap = 2 * n + 1;
	}
	if (!order)
		order = r->order;
	/* A large batch: the line table of a unit it needs (that of the
	 * first address in one) is decoded on another thread while the
	 * batch is sorted and set up. */
	if (n >= PREFETCH_MIN && f->reason == SYM_OK && !build_id_size) {
		if (f->dw_state == 0)
			load_dwarf(r, f);
		/* A large last batch: line tables keep the rows of its
		 * addresses only (2.6 MB of rows of clang's bench binary
		 * become 0.3 MB), given once they are sorted. */
		filtering = f->dw && last;
		if (filtering)
			sym_dwarf__filter_expect(f->dw);
		/* The frames beyond the block's first huge page (which the
		 * sort order fills now): two frames an address at least. */
		size_t used = in_block ? b->head + 2 * n * sizeof(*b->frames) : 0;

		if (f->dw && used > BLOCK_PAGE)
			sym_dwarf__warm(f->dw, order, BLOCK_PAGE, used - BLOCK_PAGE);
		for (size_t i = 0; i < n && i < PREFETCH_TRIES && f->dw; i++)
			if (sym_dwarf__prefetch(f->dw, addrs[i]))
				break;
	}
	if (f->dw)
		sym_dwarf__expect(f->dw, n);
	for (size_t i = 0; i < n; i++)
		order[i] = (struct addr_idx){addrs[i], i, 0, 0};
	/* In address order, the binary searches of consecutive lookups walk
	 * the same cache lines and each CU is decoded while it is hot. */
	if (n > 8)
		sort_addr_idx(order, order + n, n);
	if (filtering)
		sym_dwarf__filter(f->dw, &order[0].addr, n, sizeof(*order));
	if (f->reason != SYM_OK) {
		why = f->reason;
	} else if (build_id_size && f->exe && f->exe->build_id_size &&
		   !same_build_id(f->exe, build_id, build_id_size)) {
		why = SYM_BUILD_ID_MISMATCH;
		snprintf(r->errmsg, sizeof(r->errmsg), "'%s': build-id mismatch", path);
	}
	if (why != SYM_OK) {
		emb = find_embedded(r, path, build_id, build_id_size);
		for (size_t i = 0; i < n && !ret; i++) {
			struct sym_result *res = &out[order[i].idx];

			res->reason = why;
			if (emb)
				ret = lookup_symtab_only(&emb->symtab, order[i].addr, res,
							 SYM_NO_DEBUG_INFO, b, &order[i].first);
		}
		goto out;
	}
	if (!f->symtab_state)
		load_symtab(f);
	{
		/*
		 * Functions and inline chains first; the line row of the
		 * innermost frame once the CU's line table is ready (a large
		 * one is decoded on another thread while the DIEs are
		 * walked).  Until then rows are left for later (the positions
		 * in DEF, the free half of ORDER) and filled in as soon as it
		 * is ready, so that results become final in address order.
		 */
		const struct sym_progress *early =
		    pg && b->cap >= (size_t)MAX_FRAMES * n ? pg : NULL;
		struct addr_idx *def = order + n;
		size_t ndef = 0, dhead = 0;

		for (size_t i = 0; i < n && ret >= 0; i++) {
			struct addr_idx *o = &order[i];

			/* Results are written in address order, so at random
			 * places of OUT: each write missed the cache, and the
			 * stores waiting behind it filled the store buffer and
			 * stalled the lookup (a quarter of its time in perf,
			 * shown on the stores after; 3.6 -> 2.6 ms of lookups
			 * on clang's bench binary).  Fetched ahead instead. */
			if (i + 8 < n)
				__builtin_prefetch(&out[order[i + 8].idx], 1);
			ret = lookup_one(r, f, o->addr, &out[o->idx], b, &o->first, 1);
			o->later = ret;
			if (ret > 0 && dhead == ndef && sym_dwarf__rows_ready(f->dw, o->addr))
				ret = lookup_rest(r, f, o, &out[o->idx], b);
			else if (ret > 0)
				def[ndef++].idx = i;
			if (dhead < ndef && (i & 63) == 63 && ret >= 0)
				ret = catch_up(r, f, order, def, &dhead, ndef, out, b, 0);
			if (early && (i & 255) == 255 && ret >= 0)
				report_done(early, order, out, b, &reported,
					    dhead < ndef ? def[dhead].idx : i + 1);
		}
		if (ret >= 0)
			ret = catch_up(r, f, order, def, &dhead, ndef, out, b, 1);
	}
	if (ret > 0)
		ret = 0;
out:
	if (filtering)
		sym_dwarf__filter(f->dw, NULL, 0, 0);
	/* Results already reported belong to the caller's other threads;
	 * reporting the rest points them into B. */
	if (!ret && pg)
		report_done(pg, order, out, b, &reported, n);
	else if (!ret && b)
		for (size_t i = 0; i < n; i++)
			if (out[order[i].idx].nframes)
				out[order[i].idx].frames = b->frames + order[i].first;
	if (ret)
		for (size_t i = reported; i < n; i++) {
			size_t k = order[i].idx;

			if (!b)
				sym_result_release(&out[k]);
			out[k].frames = NULL;
			out[k].nframes = 0;
		}
	return ret;
}

int sym_resolver__lookup(struct sym_resolver *r, const char *path, const uint8_t *build_id,
			 size_t build_id_size, const uint64_t *addrs, size_t n,
			 struct sym_result *out)
{
	return lookup_many(r, path, build_id, build_id_size, addrs, n, out, NULL, NULL);
}

int sym_resolver__lookup_batch(struct sym_resolver *r, const char *path, const uint8_t *build_id,
			       size_t build_id_size, const uint64_t *addrs, size_t n,
			       struct sym_result *out, struct sym_batch *b)
{
	if (!b)
		return -EINVAL;
	return lookup_many(r, path, build_id, build_id_size, addrs, n, out, b, NULL);
}

int sym_resolver__lookup_progress(struct sym_resolver *r, const char *path, const uint8_t *build_id,
				  size_t build_id_size, const uint64_t *addrs, size_t n,
				  struct sym_result *out, struct sym_batch *b,
				  const struct sym_progress *pg)
{
	if (!b || !pg || !pg->fn)
		return -EINVAL;
	return lookup_many(r, path, build_id, build_id_size, addrs, n, out, b, pg);
}

void sym_batch_release(struct sym_batch *b)
{
	if (!b)
		return;
	sym_huge_free(batch_block(b));
	b->frames = NULL;
	b->n = b->cap = b->head = 0;
}

void sym_batch_take(struct sym_batch *b, struct sym_span *span)
{
	void *blk = batch_block(b);

	*span = (struct sym_span){NULL, 0};
	/* Taken: B forgets it, and the release frees nothing. */
	if (sym_span__take(span, 0, 1, &blk))
		b->frames = NULL;
	sym_batch_release(b);
}

size_t sym_resolver__drop_units(struct sym_resolver *r, struct sym_span *spans, size_t max)
{
	size_t n = 0;

	for (struct sym_file *f = r ? r->files : NULL; f; f = f->next)
		if (f->dw)
			n += sym_dwarf__drop_units(f->dw, spans + n, max - n);
	return n;
}

int sym_resolver__file_offset_to_vaddr(struct sym_resolver *r, const char *path,
				       const uint8_t *build_id, size_t build_id_size,
				       uint64_t file_offset, uint64_t *vaddr)
{
	struct sym_file *f = get_file(r, path, build_id, build_id_size);
	struct sym_elf *e;

	if (!f)
		return -ENOMEM;
	e = f->exe ? f->exe : f->debug;
	if (!e || f->reason == SYM_BAD_ELF)
		return -ENOENT;
	for (size_t i = 0; i < e->nsegs; i++) {
		const struct sym_segment *s = &e->segs[i];

		if (file_offset >= s->offset && file_offset - s->offset < s->filesz) {
			*vaddr = file_offset - s->offset + s->vaddr;
			return 0;
		}
	}
	return -ENOENT;
}

int sym_resolver__add_symbols(struct sym_resolver *r, const char *path, const uint8_t *build_id,
			      size_t build_id_size, const uint64_t *addrs, const uint64_t *sizes,
			      const char *const *names, size_t n)
{
	struct sym_embedded *m;
	struct sym_symbol *syms;
	char **owned;

	if (!path || build_id_size > SYM_BUILD_ID_MAX)
		return -EINVAL;
	for (m = r->embedded; m; m = m->next)
		if (!strcmp(m->path, path) && m->build_id_size == build_id_size &&
		    !memcmp(m->build_id, build_id, build_id_size))
			break;
	if (!m) {
		m = calloc(1, sizeof(*m));
		if (!m || !(m->path = strdup(path))) {
			free(m);
			return -ENOMEM;
		}
		if (build_id_size)
			memcpy(m->build_id, build_id, build_id_size);
		m->build_id_size = build_id_size;
		m->next = r->embedded;
		r->embedded = m;
	}
	syms = realloc(m->symtab.syms, (m->symtab.n + n + 1) * sizeof(*syms));
	if (!syms)
		return -ENOMEM;
	m->symtab.syms = syms;
	owned = realloc(m->symtab.owned, (m->symtab.nowned + n + 1) * sizeof(*owned));
	if (!owned)
		return -ENOMEM;
	m->symtab.owned = owned;
	for (size_t i = 0; i < n; i++) {
		char *name;

		if (!names[i] || !names[i][0])
			continue;
		name = strdup(names[i]);
		if (!name)
			return -ENOMEM;
		m->symtab.owned[m->symtab.nowned++] = name;
		m->symtab.syms[m->symtab.n++] =
		    (struct sym_symbol){addrs[i], sizes ? sizes[i] : 0, name, NULL};
	}
	sym_symtab__finish(&m->symtab);
	return 0;
}

int sym_read_build_id(const char *path, uint8_t *buf, size_t buf_size)
{
	struct sym_elf *e;
	char err[256];
	int ret;

	ret = sym_elf__open(&e, path, err, sizeof(err));
	if (ret)
		return ret == -ENOEXEC ? -ENOEXEC : ret;
	ret = (int)e->build_id_size;
	if ((size_t)ret > buf_size)
		ret = -ENOSPC;
	else if (ret)
		memcpy(buf, e->build_id, (size_t)ret);
	sym_elf__free(e);
	return ret;
}

/* ---- kernel ---- */

int sym_kernel__new(struct sym_kernel **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void sym_kernel__free(struct sym_kernel *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < k->nchunks; i++)
		free(k->chunks[i]);
	free(k->chunks);
	free(k->syms);
	free(k->modules);
	free(k);
}

static const char *kstrdup(struct sym_kernel *k, const char *s, size_t len)
{
	char *p;

	if (!k->nchunks || k->chunk_used + len + 1 > k->chunk_size) {
		size_t size = len + 1 > 65536 ? len + 1 : 65536;
		char **c = realloc(k->chunks, (k->nchunks + 1) * sizeof(*c));

		if (!c)
			return NULL;
		k->chunks = c;
		c[k->nchunks] = malloc(size);
		if (!c[k->nchunks])
			return NULL;
		k->nchunks++;
		k->chunk_used = 0;
		k->chunk_size = size;
	}
	p = k->chunks[k->nchunks - 1] + k->chunk_used;
	memcpy(p, s, len);
	p[len] = '\0';
	k->chunk_used += len + 1;
	return p;
}

int sym_kernel__add(struct sym_kernel *k, uint64_t addr, char type, const char *name,
		    size_t name_len, const char *module, size_t module_len)
{
	const char *mod = NULL;

	/* Only code: data, absolute and undefined symbols are no frames. */
	if (!strchr("tTwW", type) || !name || !name_len)
		return 0;
	if (module && module_len >= 2 && module[0] == '[' && module[module_len - 1] == ']') {
		module++;
		module_len -= 2;
	}
	if (module && module_len) {
		/* Modules repeat for thousands of symbols: intern them. */
		for (size_t i = k->nmodules; i > 0 && !mod; i--)
			if (!strncmp(k->modules[i - 1], module, module_len) &&
			    !k->modules[i - 1][module_len])
				mod = k->modules[i - 1];
		if (!mod) {
			const char **m = realloc(k->modules, (k->nmodules + 1) * sizeof(*m));

			if (!m)
				return -ENOMEM;
			k->modules = m;
			mod = kstrdup(k, module, module_len);
			if (!mod)
				return -ENOMEM;
			k->modules[k->nmodules++] = mod;
		}
	}
	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 4096;
		struct sym_ksym *s = realloc(k->syms, cap * sizeof(*s));

		if (!s)
			return -ENOMEM;
		k->syms = s;
		k->cap = cap;
	}
	name = kstrdup(k, name, name_len);
	if (!name)
		return -ENOMEM;
	k->syms[k->n++] = (struct sym_ksym){addr, name, mod};
	k->sorted = 0;
	return 0;
}

static int cmp_ksym(const void *a, const void *b)
{
	const struct sym_ksym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	/* Prefer names without a leading underscore among aliases. */
	return (x->name[0] == '_') - (y->name[0] == '_');
}

int sym_kernel__lookup(struct sym_kernel *k, uint64_t addr, struct sym_result *out)
{
	const struct sym_ksym *s;
	size_t lo = 0, hi;

	memset(out, 0, sizeof(*out));
	out->addr = addr;
	if (!k->sorted) {
		if (k->n > 1)
			qsort(k->syms, k->n, sizeof(*k->syms), cmp_ksym);
		k->sorted = 1;
	}
	hi = k->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (k->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0) {
		out->reason = k->n ? SYM_UNMAPPED : SYM_NO_SYMTAB;
		out->module = "kernel";
		return 0;
	}
	/* First of the aliases at that address (sorted best first). */
	s = &k->syms[lo - 1];
	while (s > k->syms && (s - 1)->addr == s->addr)
		s--;
	/* kallsyms has no sizes: past the last symbol by more than a
	 * generous function size is outside any text. */
	if (lo == k->n && addr - s->addr >= (1u << 20)) {
		out->reason = SYM_UNMAPPED;
		out->module = "kernel";
		return 0;
	}
	out->frames = calloc(1, sizeof(*out->frames));
	if (!out->frames)
		return -ENOMEM;
	out->nframes = 1;
	out->frames[0].func = s->name;
	out->func_addr = s->addr;
	out->func_offset = addr - s->addr;
	out->module = s->module ? s->module : "kernel";
	out->reason = SYM_OK;
	return 0;
}
