/* SPDX-License-Identifier: MIT */
/*
 * DWARF side of the symbolizer: sections are read directly, with bounds
 * checks; libdwarf serves only as a fallback for names (dbg_ready()).
 *
 * Sections come through libelf, from the handle we already hold, so that
 * compressed sections (SHF_COMPRESSED and .zdebug_*) arrive decompressed
 * and nothing is opened twice; libdwarf reads them through our own
 * object-access interface over the same handle.
 *
 * Indexing is lazy: opening reads only the unit headers and the address
 * ranges of each unit DIE (address -> CU).  The first lookup that lands in a
 * CU decodes its line table and walks its DIE tree once, keeping only the
 * scopes that make frames (subprograms and inlined subroutines with their
 * ranges, in preorder so the innermost scope is found by descending).
 * Function names, call files and call lines are read from the DIE only when
 * a lookup needs them, and names are cached by DIE offset.  Decoded CUs are
 * dropped when their memory exceeds a budget.
 *
 * Paths are built the way binutils' addr2line builds them, so output
 * compares byte for byte: DW_AT_comp_dir / include directory / file name.
 *
 * libdwarf's return convention (DW_DLV_OK 0, DW_DLV_NO_ENTRY -1,
 * DW_DLV_ERROR 1) is converted here and goes no further.  Every call gets a
 * Dwarf_Error pointer, so libdwarf never calls its default abort handler.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dwarf.h>
#include <libdwarf.h>

#include "sym_int.h"

#define MAX_NAME_DEPTH 8  /* abstract_origin / specification hops */
#define MAX_DIE_DEPTH 256 /* nesting of scopes we walk */

struct dw_sec {
	char *name;
	uint64_t size;
	int zkind; /* 0 plain, 1 SHF_COMPRESSED, 2 .zdebug */
	int nobits;
	int hidden; /* malformed in a way libdwarf does not survive */
};

/* 16 bytes: line tables are the bulk of a decoded CU. */
struct dw_row {
	uint64_t addr;
	uint32_t line;
	uint16_t file; /* 0xffff: a file number beyond what we keep */
	uint8_t end;   /* end_sequence: no line from here */
	uint8_t pad;
};

/*
 * The sorted addresses of a last batch, when a line table is decoded for
 * them alone (sym_dwarf__filter()): a row is kept only when one of them
 * lies where it answers, from its address up to the next row of its
 * sequence.  The first row and the end of every sequence, and the last
 * row of the program, are kept always, so that the sequences span what
 * they span in the whole table and find_row() answers each of those
 * addresses with the very row it would find there.  On clang's 5.7 MB
 * binary of bench/ that keeps 18k rows of 161k for 20k addresses.
 */
struct row_flt {
	const uint8_t *base; /* the first address; NULL: every row is kept */
	size_t n, stride;
	size_t j;    /* the first address at or above the last row's */
	uint64_t nx; /* that address (UINT64_MAX: none) */
};

#define FLT_ADDR(f, i) (*(const uint64_t *)(const void *)((f)->base + (i) * (f)->stride))

/* Bytes [OFF, OFF + LEN) of a huge array P (sym/huge.h) to fault in. */
struct warm_span {
	void *p;
	size_t off, len;
};

struct seq_span {
	uint64_t first, last;
	size_t start, n;
};

struct unit;
struct abbrev_table;
struct dw_seg;

struct dw_scope {
	Dwarf_Off off;
	uint32_t next;	/* index after this scope's subtree */
	int32_t parent; /* enclosing frame scope, -1 for none */
	uint32_t first_range, nranges;
	uint32_t call_file, call_line;
	const char *name;
	const char *name_hint; /* own linkage name, else own name, from the walk */
	uint64_t ref_abs;      /* abstract_origin / specification */
	union {
		uint64_t kids; /* lazy 1: .debug_info offset of the first child */
		struct {
			uint32_t from, to;
		} walked; /* lazy 4: the scopes of the subtree */
	};
	struct dw_seg *sub; /* expanded: flattened ranges of the subtree */
	uint32_t nsub;
	uint8_t inlined, resolved, has_link, ref_local;
	/* Outermost functions: 1 children not walked yet, 3 walked with the
	 * unit, 2 walked and flattened into SUB, 4 walked on their own and
	 * small enough to descend (WALKED). */
	uint8_t lazy;
	uint32_t sub_hint; /* position in SUB found last */
};

struct dw_range {
	uint64_t lo, hi;
};

/* A range of a scope, while flattening. */
struct dw_top {
	uint64_t lo, hi;
	uint32_t scope;
};

/*
 * A flattened index is segments sorted by address, each running from its
 * LO up to the next one's, naming the innermost scope there; SEG_GAP
 * names none (a gap between ranges, and the end of the last).  Without a
 * high address of its own a segment takes 16 bytes rather than 24.
 */
struct dw_seg {
	uint64_t lo;
	uint32_t scope;
};
#define SEG_GAP UINT32_MAX

struct dw_cu {
	Dwarf_Off die_off;
	uint64_t hdr_off; /* unit header in .debug_info */
	uint64_t stmt_list;
	int has_stmt_list;
	uint16_t version;
	int8_t state; /* 0 not decoded, 1 decoded, -1 malformed */
	uint64_t base;
	const char *comp_dir;
	struct dw_row *rows;
	size_t nrows;
	const char **files; /* interned in the sym_dwarf: outlive the CU */
	size_t nfiles;
	struct dw_scope *scopes;
	size_t nscopes, cap_scopes;
	struct dw_range *ranges;
	size_t nranges, cap_ranges;
	struct dw_seg *tops; /* in ARENA, as each scope's SUB */
	size_t ntops;
	struct sym_arena arena;
	size_t row_hint, top_hint; /* last positions: batches come sorted */
	struct seq_span *seqs;	   /* sequences in address order, when the rows
				    * are not (NULL: rows are sorted) */
	size_t nseqs, seq_hint;
	struct unit *unit; /* kept to read names on demand */
	struct abbrev_table *abt;
	size_t mem;
	/* Nonzero: the rows were kept for the addresses of that filter only
	 * (a lookup under another decodes the line program again). */
	unsigned rows_gen;
	size_t rows_mem;
	/* The line program of a large unit is decoded on a thread of its own
	 * while the DIEs are walked: until lines_join(), rows, nrows, seqs
	 * and nseqs belong to that thread. */
	struct lt_job *job;
};

struct dw_curange {
	uint64_t lo, hi;
	uint32_t cu;
};

struct name_slot {
	Dwarf_Off off;
	const char *name;
};

enum raw_id {
	RAW_INFO,
	RAW_ABBREV,
	RAW_ADDR,
	RAW_RANGES,
	RAW_RNGLISTS,
	RAW_STR,
	RAW_LINE_STR,
	RAW_STR_OFFSETS,
	RAW_LINE,
	RAW_NSEC
};

static const char *const raw_sec_names[RAW_NSEC] = {
    ".debug_info", ".debug_abbrev",   ".debug_addr",	    ".debug_ranges", ".debug_rnglists",
    ".debug_str",  ".debug_line_str", ".debug_str_offsets", ".debug_line",
};

struct sym_dwarf {
	struct sym_elf *e;
	Dwarf_Debug dbg;
	Dwarf_Obj_Access_Interface intf;
	struct dw_sec *secs;
	size_t nsecs;
	struct dw_cu *cus;
	size_t ncus;
	struct dw_curange *curanges;
	size_t ncuranges, curange_hint;
	struct name_slot *names;
	size_t names_cap, names_used;
	char **paths; /* interned file paths, freed with the sym_dwarf */
	size_t paths_cap, paths_used;
	size_t mem, budget;
	/* Sections read directly, looked up and loaded once. */
	struct raw_sec_c {
		const uint8_t *p;
		uint64_t size;
	} raw[RAW_NSEC];
	int raw_loaded;
	int dbg_state; /* libdwarf: 0 not set up yet, 1 ready, -1 failed */
	int threads;   /* large line programs may be decoded on a thread */
	size_t expect; /* addresses the lookups to come bring (0: unknown) */
	/* The addresses of a last batch, sorted (sym_dwarf__filter()): line
	 * programs decoded meanwhile keep rows for them alone.  FLT_GEN
	 * numbers it (0: none); FLT_EXPECT: one is on its way. */
	struct row_flt flt;
	unsigned flt_gen, flt_count;
	int flt_expect;
	struct warm_span warm; /* for the next line thread (sym_dwarf__warm()) */
	/* Scratch of flatten_scopes(), kept from call to call. */
	struct flat_scratch {
		struct dw_top *flat[2];
		struct dw_seg *segs;
		size_t flat_cap[2], segs_cap;
	} fs;
	char errmsg[256];
};

/* ---- object access over libelf ---- */

static int obj_section_info(void *obj, Dwarf_Half idx, Dwarf_Obj_Access_Section *ret, int *error)
{
	struct sym_dwarf *d = obj;
	Elf_Scn *scn;
	GElf_Shdr sh;

	if (idx >= d->nsecs)
		return DW_DLV_NO_ENTRY;
	scn = elf_getscn(d->e->elf, idx);
	if (!scn || !gelf_getshdr(scn, &sh)) {
		memset(ret, 0, sizeof(*ret));
		ret->name = "";
		return DW_DLV_OK;
	}
	ret->addr = sh.sh_addr;
	ret->type = sh.sh_type;
	ret->size = d->secs[idx].nobits || d->secs[idx].hidden ? 0 : d->secs[idx].size;
	ret->name = d->secs[idx].name && !d->secs[idx].hidden ? d->secs[idx].name : "";
	ret->link = sh.sh_link;
	ret->info = sh.sh_info;
	ret->entrysize = sh.sh_entsize;
	return DW_DLV_OK;
}

static Dwarf_Endianness obj_byte_order(void *obj)
{
	struct sym_dwarf *d = obj;

	return d->e->ehdr.e_ident[EI_DATA] == ELFDATA2MSB ? DW_OBJECT_MSB : DW_OBJECT_LSB;
}

static Dwarf_Small obj_length_size(void *obj)
{
	return 4;
}

static Dwarf_Small obj_pointer_size(void *obj)
{
	struct sym_dwarf *d = obj;

	return d->e->ehdr.e_ident[EI_CLASS] == ELFCLASS64 ? 8 : 4;
}

static Dwarf_Unsigned obj_section_count(void *obj)
{
	return ((struct sym_dwarf *)obj)->nsecs;
}

static int obj_load_section(void *obj, Dwarf_Half idx, Dwarf_Small **data, int *error)
{
	struct sym_dwarf *d = obj;
	struct dw_sec *s;
	Elf_Scn *scn;
	Elf_Data *ed;

	if (idx >= d->nsecs)
		return DW_DLV_NO_ENTRY;
	s = &d->secs[idx];
	scn = elf_getscn(d->e->elf, idx);
	if (!scn || s->nobits || s->hidden) {
		*error = DW_DLE_SECTION_SIZE_ERROR;
		return DW_DLV_ERROR;
	}
	if (s->zkind == 1 && elf_compress(scn, 0, 0) < 0) {
		*error = DW_DLE_ZLIB_UNCOMPRESS_ERROR;
		return DW_DLV_ERROR;
	}
	if (s->zkind == 2 && elf_compress_gnu(scn, 0, 0) < 0) {
		*error = DW_DLE_ZLIB_UNCOMPRESS_ERROR;
		return DW_DLV_ERROR;
	}
	s->zkind = 0;
	ed = elf_getdata(scn, NULL);
	if (!ed || !ed->d_buf || ed->d_size < s->size) {
		*error = DW_DLE_SECTION_SIZE_ERROR;
		return DW_DLV_ERROR;
	}
	*data = ed->d_buf;
	return DW_DLV_OK;
}

static const Dwarf_Obj_Access_Methods obj_methods = {
    .get_section_info = obj_section_info,
    .get_byte_order = obj_byte_order,
    .get_length_size = obj_length_size,
    .get_pointer_size = obj_pointer_size,
    .get_section_count = obj_section_count,
    .load_section = obj_load_section,
    .relocate_a_section = NULL,
};

/*
 * libdwarf 20210528 reads every .debug_rnglists/.debug_loclists unit header
 * as soon as it loads .debug_info, and frees twice on some malformed ones.
 * Check the unit headers here; a section that fails is hidden from libdwarf
 * (its ranges then fail to read, which we handle).
 */
static int lists_section_ok(const uint8_t *p, uint64_t size, int big_endian)
{
	uint64_t pos = 0;

	while (pos < size) {
		uint64_t len, hdr = 4, offsz = 4, count;
		uint32_t l32;

		if (size - pos < 4)
			return 0;
		l32 = big_endian ? (uint32_t)p[pos] << 24 | (uint32_t)p[pos + 1] << 16 |
				       (uint32_t)p[pos + 2] << 8 | p[pos + 3]
				 : (uint32_t)p[pos] | (uint32_t)p[pos + 1] << 8 |
				       (uint32_t)p[pos + 2] << 16 | (uint32_t)p[pos + 3] << 24;
		len = l32;
		if (l32 == 0xffffffffu) {
			if (size - pos < 12)
				return 0;
			len = 0;
			for (int i = 0; i < 8; i++)
				len |= (uint64_t)p[pos + 4 + (big_endian ? 7 - i : i)] << (8 * i);
			hdr = 12;
			offsz = 8;
		} else if (l32 >= 0xfffffff0u) {
			return 0;
		}
		if (len < 8 || len > size - pos - hdr)
			return 0;
		{
			const uint8_t *h = p + pos + hdr;
			unsigned version =
			    big_endian ? (unsigned)h[0] << 8 | h[1] : (unsigned)h[1] << 8 | h[0];

			count = big_endian ? (uint64_t)h[4] << 24 | (uint64_t)h[5] << 16 |
						 (uint64_t)h[6] << 8 | h[7]
					   : (uint64_t)h[4] | (uint64_t)h[5] << 8 |
						 (uint64_t)h[6] << 16 | (uint64_t)h[7] << 24;
			if (version != 5 || (h[2] != 4 && h[2] != 8) || h[3] != 0 ||
			    count > (len - 8) / offsz)
				return 0;
		}
		pos += hdr + len;
	}
	return 1;
}

static void check_lists_section(struct sym_dwarf *d, size_t idx)
{
	struct dw_sec *s = &d->secs[idx];
	Elf_Scn *scn = elf_getscn(d->e->elf, idx);
	Elf_Data *ed;

	if (!scn || s->nobits || !s->size)
		return;
	if ((s->zkind == 1 && elf_compress(scn, 0, 0) < 0) ||
	    (s->zkind == 2 && elf_compress_gnu(scn, 0, 0) < 0)) {
		s->hidden = 1;
		return;
	}
	s->zkind = 0;
	ed = elf_getdata(scn, NULL);
	if (!ed || !ed->d_buf || ed->d_size < s->size ||
	    !lists_section_ok(ed->d_buf, s->size, d->e->ehdr.e_ident[EI_DATA] == ELFDATA2MSB))
		s->hidden = 1;
}

static int setup_sections(struct sym_dwarf *d)
{
	size_t n = 0;

	if (elf_getshdrnum(d->e->elf, &n) || n == 0 || n > 65535)
		return -ENOENT;
	d->secs = calloc(n, sizeof(*d->secs));
	if (!d->secs)
		return -ENOMEM;
	d->nsecs = n;
	for (size_t i = 1; i < n; i++) {
		struct dw_sec *s = &d->secs[i];
		Elf_Scn *scn = elf_getscn(d->e->elf, i);
		GElf_Shdr sh;
		const char *name;

		if (!scn || !gelf_getshdr(scn, &sh))
			continue;
		name = elf_strptr(d->e->elf, d->e->shstrndx, sh.sh_name);
		if (!name)
			continue;
		s->size = sh.sh_size;
		s->nobits = sh.sh_type == SHT_NOBITS;
		if (!strncmp(name, ".zdebug_", 8)) {
			/* "ZLIB" + 8-byte big-endian uncompressed size */
			Elf_Data *raw = elf_rawdata(scn, NULL);
			const uint8_t *p = raw ? raw->d_buf : NULL;

			s->zkind = 2;
			s->size = 0;
			if (p && raw->d_size >= 12 && !memcmp(p, "ZLIB", 4))
				for (int k = 0; k < 8; k++)
					s->size = s->size << 8 | p[4 + k];
			if (asprintf(&s->name, ".debug_%s", name + 8) < 0)
				s->name = NULL;
			continue;
		}
		if (sh.sh_flags & SHF_COMPRESSED) {
			GElf_Chdr ch;

			s->zkind = 1;
			s->size = gelf_getchdr(scn, &ch) ? ch.ch_size : 0;
		}
		s->name = strdup(name);
	}
	return 0;
}

/*
 * libdwarf serves only the rare names our own DIE reader leaves (references
 * out of the unit): it is set up on first use, so that opening a file
 * decompresses no section libdwarf alone would read (.debug_loclists).
 * Returns 1 when it is usable.
 */
static int dbg_ready(struct sym_dwarf *d)
{
	Dwarf_Error err = NULL;

	if (d->dbg_state)
		return d->dbg_state > 0;
	d->dbg_state = -1;
	for (size_t i = 1; i < d->nsecs; i++) {
		const char *nm = d->secs[i].name;

		if (nm && (!strcmp(nm, ".debug_rnglists") || !strcmp(nm, ".debug_loclists")))
			check_lists_section(d, i);
	}
	d->intf.object = d;
	d->intf.methods = &obj_methods;
	if (dwarf_object_init_b(&d->intf, NULL, NULL, DW_GROUPNUMBER_ANY, &d->dbg, &err) !=
	    DW_DLV_OK) {
		if (err)
			dwarf_dealloc(NULL, err, DW_DLA_ERROR);
		d->dbg = NULL;
		return 0;
	}
	d->dbg_state = 1;
	return 1;
}

/* ---- helpers ---- */

static void dw_err_free(struct sym_dwarf *d, Dwarf_Error *err)
{
	if (*err) {
		dwarf_dealloc_error(d->dbg, *err);
		*err = NULL;
	}
}

static void set_err(struct sym_dwarf *d, const char *what, Dwarf_Error *err)
{
	snprintf(d->errmsg, sizeof(d->errmsg), "'%s': malformed DWARF: %s%s%s", d->e->path, what,
		 err && *err ? ": " : "", err && *err ? dwarf_errmsg(*err) : "");
	if (err)
		dw_err_free(d, err);
}

static int grow_with(void *(*re)(void *, size_t), void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t c;
	void *p;

	if (need <= *cap)
		return 0;
	c = *cap ? *cap * 2 : 16;
	while (c < need)
		c *= 2;
	p = re(*arr, c * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = c;
	return 0;
}

static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	return grow_with(realloc, arr, cap, need, elem);
}

/* For the large arrays of a CU (scopes, ranges, rows): see huge.c. */
static int grow_huge(void **arr, size_t *cap, size_t need, size_t elem)
{
	return grow_with(sym_huge_realloc, arr, cap, need, elem);
}

typedef int (*range_fn)(void *ctx, uint64_t lo, uint64_t hi);

struct curange_ctx {
	struct sym_dwarf *d;
	size_t cap;
	uint32_t cu;
};

static int add_curange(void *ctx, uint64_t lo, uint64_t hi)
{
	struct curange_ctx *c = ctx;
	struct sym_dwarf *d = c->d;

	if (grow((void **)&d->curanges, &c->cap, d->ncuranges + 1, sizeof(*d->curanges)))
		return -ENOMEM;
	d->curanges[d->ncuranges++] = (struct dw_curange){lo, hi, c->cu};
	return 0;
}

static int cmp_curange(const void *a, const void *b)
{
	const struct dw_curange *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->hi < y->hi ? -1 : x->hi > y->hi;
}

/* ---- per-CU decoding ---- */

static void cu_unit_free(struct dw_cu *cu);

static int lines_join(struct sym_dwarf *d, struct dw_cu *cu);

/* Frees CU's line rows and sequences (the memory count is the caller's). */
static void rows_free(struct dw_cu *cu)
{
	sym_huge_free(cu->rows);
	free(cu->seqs);
	cu->rows = NULL;
	cu->seqs = NULL;
	cu->nrows = cu->row_hint = cu->nseqs = cu->seq_hint = 0;
	cu->rows_gen = 0;
	cu->rows_mem = 0;
}

static void cu_release(struct sym_dwarf *d, struct dw_cu *cu)
{
	lines_join(d, cu);
	cu_unit_free(cu);
	free(cu->files);
	rows_free(cu);
	sym_huge_free(cu->scopes);
	sym_huge_free(cu->ranges);
	sym_arena__release(&cu->arena);
	cu->top_hint = 0;
	d->mem -= cu->mem;
	cu->files = NULL;
	cu->scopes = NULL;
	cu->ranges = NULL;
	cu->tops = NULL;
	cu->nfiles = cu->nscopes = cu->nranges = cu->ntops = 0;
	cu->cap_scopes = cu->cap_ranges = 0;
	cu->mem = 0;
	if (cu->state > 0)
		cu->state = 0;
}

size_t sym_dwarf__drop_units(struct sym_dwarf *d, struct sym_span *spans, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; d && i < d->ncus; i++) {
		struct dw_cu *cu = &d->cus[i];

		if (cu->state <= 0)
			continue;
		lines_join(d, cu);
		n = sym_span__take(spans, n, max, (void **)&cu->scopes);
		n = sym_span__take(spans, n, max, (void **)&cu->ranges);
		n = sym_span__take(spans, n, max, (void **)&cu->rows);
		n = sym_arena__hand_over(&cu->arena, spans, n, max);
		cu_release(d, cu);
	}
	return n;
}

static int is_abs(const char *p)
{
	return p && p[0] == '/';
}

/* binutils' concat_filename(): comp_dir/dir/name unless absolute. */
static char *make_path(const char *comp_dir, const char *dir, const char *name)
{
	char *out = NULL;
	int n;

	if (!name)
		return NULL;
	if (is_abs(name))
		return strdup(name);
	if (is_abs(dir))
		comp_dir = NULL;
	if (!comp_dir) {
		comp_dir = dir;
		dir = NULL;
	}
	if (!comp_dir)
		return strdup(name);
	{
		/* comp_dir "/" [dir "/"] name, without asprintf's cost (a
		 * library has thousands of file entries). */
		size_t lc = strlen(comp_dir), ld = dir ? strlen(dir) : 0, ln = strlen(name);
		char *p;

		out = malloc(lc + 1 + ld + 1 + ln + 1);
		if (!out)
			return NULL;
		p = out;
		memcpy(p, comp_dir, lc);
		p += lc;
		*p++ = '/';
		if (dir) {
			memcpy(p, dir, ld);
			p += ld;
			*p++ = '/';
		}
		memcpy(p, name, ln + 1);
		n = 0;
	}
	return n < 0 ? NULL : out;
}

static int cmp_row(const void *a, const void *b)
{
	const struct dw_row *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	/* At one address, an end of sequence comes before a new start. */
	if (x->end != y->end)
		return x->end ? -1 : 1;
	return 0;
}

/*
 * The DIE walk of a CU is the hot path of a cold lookup, and libdwarf
 * allocates for every DIE and attribute.  So the walk reads .debug_info
 * itself: abbreviations, every DWARF 4/5 form (to skip what it does not
 * need), pc ranges (.debug_ranges, .debug_rnglists, .debug_addr), call
 * file and line.  Every read is bounds-checked; anything it does not
 * understand marks the CU malformed and keeps what was read.  libdwarf
 * still reads the CU headers, line tables and names.
 */
struct rd {
	const uint8_t *p, *end;
	int bad;
	int be;
};

/* The readers are inlined into the hot loops: N is then a constant and
 * a little-endian read on a little-endian host is one load. */
#define RD_INLINE static inline __attribute__((always_inline))

RD_INLINE uint64_t rd_u(struct rd *r, unsigned n)
{
	uint64_t v = 0;

	if (__builtin_expect((size_t)(r->end - r->p) < n, 0)) {
		r->bad = 1;
		r->p = r->end;
		return 0;
	}
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (!r->be && (n == 1 || n == 2 || n == 4 || n == 8)) {
		if (n == 1) {
			v = *r->p;
		} else if (n == 2) {
			uint16_t x;

			memcpy(&x, r->p, 2);
			v = x;
		} else if (n == 4) {
			uint32_t x;

			memcpy(&x, r->p, 4);
			v = x;
		} else {
			memcpy(&v, r->p, 8);
		}
		r->p += n;
		return v;
	}
#endif
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)r->p[r->be ? n - 1 - i : i] << (8 * i);
	r->p += n;
	return v;
}

RD_INLINE uint64_t rd_uleb_slow(struct rd *r)
{
	uint64_t v = 0;
	unsigned shift = 0;

	while (r->p < r->end) {
		uint8_t b = *r->p++;

		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80))
			return v;
	}
	r->bad = 1;
	return 0;
}

RD_INLINE uint64_t rd_uleb(struct rd *r)
{
	if (__builtin_expect(r->p < r->end && !(*r->p & 0x80), 1))
		return *r->p++;
	/* Up to four bytes (indexes, offsets, addresses below 256 MiB)
	 * without the loop. */
	if (r->end - r->p >= 4) {
		const uint8_t *p = r->p;
		uint64_t v = (uint64_t)(p[0] & 0x7f) | (uint64_t)(p[1] & 0x7f) << 7;

		if (!(p[1] & 0x80)) {
			r->p += 2;
			return v;
		}
		v |= (uint64_t)(p[2] & 0x7f) << 14;
		if (!(p[2] & 0x80)) {
			r->p += 3;
			return v;
		}
		v |= (uint64_t)(p[3] & 0x7f) << 21;
		if (!(p[3] & 0x80)) {
			r->p += 4;
			return v;
		}
	}
	return rd_uleb_slow(r);
}

RD_INLINE int64_t rd_sleb(struct rd *r)
{
	int64_t v = 0;
	unsigned shift = 0;
	uint8_t b = 0;

	while (r->p < r->end) {
		b = *r->p++;
		if (shift < 64)
			v |= (int64_t)((uint64_t)(b & 0x7f) << shift);
		shift += 7;
		if (!(b & 0x80)) {
			if (shift < 64 && (b & 0x40))
				v |= -((int64_t)1 << shift);
			return v;
		}
	}
	r->bad = 1;
	return 0;
}

RD_INLINE void rd_skip(struct rd *r, uint64_t n)
{
	if ((uint64_t)(r->end - r->p) < n) {
		r->bad = 1;
		r->p = r->end;
		return;
	}
	r->p += n;
}

RD_INLINE void rd_skip_str(struct rd *r)
{
	const uint8_t *z = memchr(r->p, 0, (size_t)(r->end - r->p));

	if (!z) {
		r->bad = 1;
		r->p = r->end;
		return;
	}
	r->p = z + 1;
}

struct raw_sec {
	const uint8_t *p;
	uint64_t size;
};

static struct raw_sec raw_section_load(struct sym_dwarf *d, const char *name)
{
	struct raw_sec out = {NULL, 0};

	for (size_t i = 1; i < d->nsecs; i++) {
		Dwarf_Small *data;
		int error;

		if (!d->secs[i].name || strcmp(d->secs[i].name, name) || d->secs[i].hidden ||
		    d->secs[i].nobits)
			continue;
		if (obj_load_section(d, (Dwarf_Half)i, &data, &error) == DW_DLV_OK) {
			out.p = data;
			out.size = d->secs[i].size;
		}
		break;
	}
	return out;
}

static void raw_sections_load(struct sym_dwarf *d)
{
	if (d->raw_loaded)
		return;
	for (int i = 0; i < RAW_NSEC; i++) {
		struct raw_sec r = raw_section_load(d, raw_sec_names[i]);

		d->raw[i].p = r.p;
		d->raw[i].size = r.size;
	}
	d->raw_loaded = 1;
}

static struct raw_sec raw_section(struct sym_dwarf *d, enum raw_id id)
{
	struct raw_sec out = {d->raw[id].p, d->raw[id].size};

	return out;
}

struct abbrev_spec {
	uint16_t at, form;
	int8_t fixed; /* byte size of the value when it does not vary, else -1 */
	int64_t implicit;
};

struct abbrev {
	uint64_t code;
	uint16_t tag;
	uint8_t children;
	uint8_t has_pc; /* low_pc with high_pc, or ranges: can have addresses */
	uint32_t first, n;
	int32_t fixed; /* byte size of the attributes when all are fixed, else -1 */
	/* Plans (in abbrev_table.ops): read what the walk keeps of a scope
	 * DIE; step over a DIE keeping only its sibling link. */
	uint32_t read_first, read_n, skip_first, skip_n;
	/* The skip plan when it is "A bytes, one ULEB128 (kind 1) or one
	 * block with a ULEB128 length (kind 2) or nothing (kind 0), B
	 * bytes" -- most variable-size DIEs a walk steps over (a location
	 * list index or expression amid fixed-size attributes) -- so that
	 * they are stepped over without running the plan; skip_shape 0:
	 * run it. */
	uint8_t skip_shape, skip_kind;
	uint16_t skip_a, skip_b;
};

/*
 * One step of a plan: what reading an attribute of a given form comes to
 * for the walk, worked out once per abbreviation instead of two switches
 * per attribute.  Anything unusual is P_GENERIC: read_attr() on spec ARG.
 */
enum plan_opcode {
	P_SKIP,	      /* N bytes (fixed-size attributes merged) */
	P_SKIP_LEB,   /* a LEB128 */
	P_SKIP_STR,   /* a NUL-terminated string */
	P_SKIP_BLOCK, /* a block: N-byte length (0: ULEB128) then the bytes */
	P_LOW,	      /* low_pc, N-byte address */
	P_LOW_X,      /* low_pc, address index: N bytes (0: ULEB128) */
	P_HIGH_ADDR,  /* high_pc, N-byte address */
	P_HIGH_CONST, /* high_pc, N-byte offset from low_pc */
	P_RANGES,     /* ranges, N-byte offset */
	P_RANGES_X,   /* ranges, rnglistx ULEB128 */
	P_SIBLING,    /* N-byte unit-relative reference */
	P_CALL_FILE,  /* N-byte constant */
	P_CALL_LINE,
	P_CALL_FILE_IMPL, /* implicit_const ARG */
	P_CALL_LINE_IMPL,
	P_REF, /* abstract_origin / specification, N-byte unit reference */
	P_GENERIC,
};

struct plan_op {
	uint8_t op, n;
	uint32_t arg;
};

/* Size of a value of FORM when it does not depend on the bytes, else -1. */
static int form_fixed_size(uint16_t form, uint8_t offsz, uint8_t addrsz, uint8_t version)
{
	switch (form) {
	case DW_FORM_flag_present:
	case DW_FORM_implicit_const:
		return 0;
	case DW_FORM_data1:
	case DW_FORM_ref1:
	case DW_FORM_flag:
	case DW_FORM_strx1:
	case DW_FORM_addrx1:
		return 1;
	case DW_FORM_data2:
	case DW_FORM_ref2:
	case DW_FORM_strx2:
	case DW_FORM_addrx2:
		return 2;
	case DW_FORM_strx3:
	case DW_FORM_addrx3:
		return 3;
	case DW_FORM_data4:
	case DW_FORM_ref4:
	case DW_FORM_strx4:
	case DW_FORM_addrx4:
	case DW_FORM_ref_sup4:
		return 4;
	case DW_FORM_data8:
	case DW_FORM_ref8:
	case DW_FORM_ref_sig8:
	case DW_FORM_ref_sup8:
		return 8;
	case DW_FORM_data16:
		return 16;
	case DW_FORM_addr:
		return addrsz;
	case DW_FORM_ref_addr:
		return version <= 2 ? addrsz : offsz;
	case DW_FORM_sec_offset:
	case DW_FORM_strp:
	case DW_FORM_line_strp:
	case DW_FORM_strp_sup:
	case DW_FORM_GNU_ref_alt:
	case DW_FORM_GNU_strp_alt:
		return offsz;
	default:
		return -1;
	}
}

struct abbrev_table {
	struct abbrev *a;
	size_t n, cap;
	struct abbrev_spec *s;
	size_t ns, caps;
	uint32_t *by_code; /* code -> index + 1, for dense codes */
	size_t nby;
	struct plan_op *ops;
	size_t nops, capops;
};

static void abbrev_table_release(struct abbrev_table *t)
{
	free(t->a);
	free(t->s);
	free(t->by_code);
	free(t->ops);
}

/* Attributes read_attr() keeps something of. */
static int attr_kept(uint16_t at)
{
	switch (at) {
	case DW_AT_low_pc:
	case DW_AT_high_pc:
	case DW_AT_ranges:
	case DW_AT_sibling:
	case DW_AT_call_file:
	case DW_AT_call_line:
	case DW_AT_addr_base:
	case DW_AT_GNU_addr_base:
	case DW_AT_rnglists_base:
	case DW_AT_str_offsets_base:
	case DW_AT_name:
	case DW_AT_linkage_name:
	case DW_AT_MIPS_linkage_name:
	case DW_AT_abstract_origin:
	case DW_AT_specification:
	case DW_AT_stmt_list:
		return 1;
	default:
		return 0;
	}
}

/* The step that steps over a value of FORM without keeping it (*N set
 * for fixed sizes and blocks), or P_GENERIC. */
static int plan_skip(uint16_t form, int fixed, unsigned *n)
{
	*n = 0;
	if (fixed >= 0) {
		*n = (unsigned)fixed;
		return P_SKIP;
	}
	switch (form) {
	case DW_FORM_udata:
	case DW_FORM_sdata:
	case DW_FORM_strx:
	case DW_FORM_GNU_str_index:
	case DW_FORM_addrx:
	case DW_FORM_GNU_addr_index:
	case DW_FORM_loclistx:
	case DW_FORM_rnglistx:
	case DW_FORM_ref_udata:
		return P_SKIP_LEB;
	case DW_FORM_string:
		return P_SKIP_STR;
	case DW_FORM_exprloc:
	case DW_FORM_block:
		return P_SKIP_BLOCK;
	case DW_FORM_block1:
		*n = 1;
		return P_SKIP_BLOCK;
	case DW_FORM_block2:
		*n = 2;
		return P_SKIP_BLOCK;
	case DW_FORM_block4:
		*n = 4;
		return P_SKIP_BLOCK;
	default:
		return P_GENERIC;
	}
}

/* A fixed-size form whose value is read as an N-byte integer (N 1, 2, 4
 * or 8): N, else 0. */
static unsigned plan_int(uint16_t form, uint8_t offsz)
{
	switch (form) {
	case DW_FORM_data1:
	case DW_FORM_ref1:
		return 1;
	case DW_FORM_data2:
	case DW_FORM_ref2:
		return 2;
	case DW_FORM_data4:
	case DW_FORM_ref4:
		return 4;
	case DW_FORM_data8:
	case DW_FORM_ref8:
		return 8;
	case DW_FORM_sec_offset:
		return offsz;
	default:
		return 0;
	}
}

/*
 * The step for attribute S when the walk keeps its value: exactly what
 * read_attr() would keep, or P_GENERIC when the pair is not one of the
 * common ones below.
 */
static int plan_keep(const struct abbrev_spec *s, uint8_t offsz, uint8_t addrsz, unsigned *n,
		     uint32_t *arg)
{
	unsigned k = plan_int(s->form, offsz);
	int data = s->form == DW_FORM_data1 || s->form == DW_FORM_data2 ||
		   s->form == DW_FORM_data4 || s->form == DW_FORM_data8;
	int ref = s->form == DW_FORM_ref1 || s->form == DW_FORM_ref2 || s->form == DW_FORM_ref4 ||
		  s->form == DW_FORM_ref8;

	*n = k;
	switch (s->at) {
	case DW_AT_low_pc:
		if (s->form == DW_FORM_addr) {
			*n = addrsz;
			return P_LOW;
		}
		if (s->form == DW_FORM_addrx || s->form == DW_FORM_GNU_addr_index) {
			*n = 0;
			return P_LOW_X;
		}
		if (s->form == DW_FORM_addrx1 || s->form == DW_FORM_addrx2 ||
		    s->form == DW_FORM_addrx4) {
			*n = s->form == DW_FORM_addrx1 ? 1 : s->form == DW_FORM_addrx2 ? 2 : 4;
			return P_LOW_X;
		}
		break;
	case DW_AT_high_pc:
		if (s->form == DW_FORM_addr) {
			*n = addrsz;
			return P_HIGH_ADDR;
		}
		if (data)
			return P_HIGH_CONST;
		break;
	case DW_AT_ranges:
		if (s->form == DW_FORM_rnglistx)
			return P_RANGES_X;
		if (data || s->form == DW_FORM_sec_offset)
			return P_RANGES;
		break;
	case DW_AT_sibling:
		if (ref)
			return P_SIBLING;
		break;
	case DW_AT_call_file:
	case DW_AT_call_line:
		if (data)
			return s->at == DW_AT_call_file ? P_CALL_FILE : P_CALL_LINE;
		if (s->form == DW_FORM_implicit_const) {
			if ((uint64_t)s->implicit > UINT32_MAX)
				return P_SKIP; /* of 0 bytes: read_attr keeps nothing */
			*arg = (uint32_t)s->implicit;
			return s->at == DW_AT_call_file ? P_CALL_FILE_IMPL : P_CALL_LINE_IMPL;
		}
		break;
	case DW_AT_abstract_origin:
	case DW_AT_specification:
		if (ref)
			return P_REF;
		break;
	default:
		break;
	}
	return P_GENERIC;
}

/* Appends to T's plans the step OP, merging runs of fixed-size skips. */
static int plan_add(struct abbrev_table *t, uint32_t first, int op, unsigned n, uint32_t arg)
{
	if (op == P_SKIP && !n)
		return 0;
	if (op == P_SKIP && t->nops > first && t->ops[t->nops - 1].op == P_SKIP &&
	    t->ops[t->nops - 1].n + n <= 255) {
		t->ops[t->nops - 1].n = (uint8_t)(t->ops[t->nops - 1].n + n);
		return 0;
	}
	while (op == P_SKIP && n > 255) {
		if (plan_add(t, first, P_SKIP, 255, 0))
			return -ENOMEM;
		n -= 255;
	}
	if (grow((void **)&t->ops, &t->capops, t->nops + 1, sizeof(*t->ops)))
		return -ENOMEM;
	t->ops[t->nops++] = (struct plan_op){(uint8_t)op, (uint8_t)n, arg};
	return 0;
}

/* Fills AB's skip shape from its skip plan, when the plan has one. */
static void skip_shape(const struct abbrev_table *t, struct abbrev *ab)
{
	const struct plan_op *op = t->ops + ab->skip_first, *end = op + ab->skip_n;
	unsigned a = 0, b = 0, kind = 0;

	ab->skip_shape = 0;
	if (op < end && op->op == P_SKIP)
		a = (op++)->n;
	if (op < end && (op->op == P_SKIP_LEB || (op->op == P_SKIP_BLOCK && !op->n)))
		kind = (op++)->op == P_SKIP_LEB ? 1 : 2;
	if (op < end && op->op == P_SKIP)
		b = (op++)->n;
	if (op != end)
		return;
	ab->skip_shape = 1;
	ab->skip_kind = (uint8_t)kind;
	ab->skip_a = (uint16_t)a;
	ab->skip_b = (uint16_t)b;
}

/* The two plans of AB (whose specs are in T). */
static int plan_abbrev(struct abbrev_table *t, struct abbrev *ab, uint8_t offsz, uint8_t addrsz)
{
	for (int pass = 0; pass < 2; pass++) {
		uint32_t first = (uint32_t)t->nops;

		for (uint32_t i = 0; i < ab->n; i++) {
			const struct abbrev_spec *s = &t->s[ab->first + i];
			unsigned n = 0;
			uint32_t arg = ab->first + i;
			int op;

			/* Pass 0 reads, pass 1 keeps only the sibling link. */
			if (pass == 0 ? attr_kept(s->at) : s->at == DW_AT_sibling)
				op = plan_keep(s, offsz, addrsz, &n, &arg);
			else
				op = plan_skip(s->form, s->fixed, &n);
			if (op == P_GENERIC)
				arg = ab->first + i;
			if (plan_add(t, first, op, n, arg))
				return -ENOMEM;
		}
		if (pass == 0) {
			ab->read_first = first;
			ab->read_n = (uint32_t)t->nops - first;
		} else {
			ab->skip_first = first;
			ab->skip_n = (uint32_t)t->nops - first;
		}
	}
	skip_shape(t, ab);
	return 0;
}

static int parse_abbrevs(struct abbrev_table *t, struct raw_sec sec, uint64_t off, uint8_t offsz,
			 uint8_t addrsz, uint8_t version)
{
	struct rd r = {sec.p + off, sec.p + sec.size, 0, 0};

	if (!sec.p || off >= sec.size)
		return -EINVAL;
	for (;;) {
		struct abbrev ab = {0};

		ab.code = rd_uleb(&r);
		if (r.bad)
			return -EINVAL;
		if (!ab.code)
			break;
		ab.tag = (uint16_t)rd_uleb(&r);
		ab.children = r.p < r.end && *r.p++;
		ab.first = (uint32_t)t->ns;
		ab.fixed = 0;
		{
			int low = 0, high = 0, ranges = 0;
			struct rd look = r;

			/* A first pass over the specs for the pc attributes. */
			for (;;) {
				uint64_t at = rd_uleb(&look), form = rd_uleb(&look);

				if (look.bad || (!at && !form))
					break;
				if (form == DW_FORM_implicit_const)
					rd_sleb(&look);
				low |= at == DW_AT_low_pc;
				high |= at == DW_AT_high_pc;
				ranges |= at == DW_AT_ranges;
			}
			ab.has_pc = (uint8_t)((low && high) || ranges);
		}
		for (;;) {
			uint64_t at = rd_uleb(&r), form = rd_uleb(&r);
			int64_t ic = 0;

			if (r.bad)
				return -EINVAL;
			if (!at && !form)
				break;
			if (form == DW_FORM_implicit_const)
				ic = rd_sleb(&r);
			int fs = form_fixed_size((uint16_t)form, offsz, addrsz, version);

			if (grow((void **)&t->s, &t->caps, t->ns + 1, sizeof(*t->s)))
				return -ENOMEM;
			t->s[t->ns++] =
			    (struct abbrev_spec){(uint16_t)at, (uint16_t)form, (int8_t)fs, ic};
			ab.n++;
			if (ab.fixed >= 0)
				ab.fixed = fs < 0 ? -1 : ab.fixed + fs;
		}
		if (plan_abbrev(t, &ab, offsz, addrsz))
			return -ENOMEM;
		if (grow((void **)&t->a, &t->cap, t->n + 1, sizeof(*t->a)))
			return -ENOMEM;
		t->a[t->n++] = ab;
		if (ab.code > t->nby && ab.code < 1u << 16)
			t->nby = ab.code;
	}
	t->by_code = calloc(t->nby + 1, sizeof(*t->by_code));
	if (!t->by_code)
		return -ENOMEM;
	for (size_t i = 0; i < t->n; i++)
		if (t->a[i].code <= t->nby && !t->by_code[t->a[i].code])
			t->by_code[t->a[i].code] = (uint32_t)i + 1;
	return 0;
}

static inline const struct abbrev *find_abbrev(const struct abbrev_table *t, uint64_t code)
{
	if (code <= t->nby)
		return t->by_code[code] ? &t->a[t->by_code[code] - 1] : NULL;
	for (size_t i = 0; i < t->n; i++)
		if (t->a[i].code == code)
			return &t->a[i];
	return NULL;
}

/* What the walk keeps of one DIE. */
struct die_vals {
	uint64_t low, high, ranges, sibling;
	uint64_t addr_base, rnglists_base;
	uint32_t call_file, call_line;
	uint8_t has_low, low_x, has_high, high_const, has_ranges, ranges_x, has_sibling;
	uint8_t has_addr_base, has_rnglists_base, has_stmt_list, has_str_offsets_base;
	uint64_t stmt_list, str_offsets_base;
	/* names: form and value (or the inline string) */
	uint16_t name_form, link_form, comp_form;
	uint64_t name_val, link_val, comp_val;
	const char *name_ptr, *link_ptr, *comp_ptr;
	uint64_t ref_abs;  /* abstract_origin or specification, .debug_info offset */
	uint8_t ref_local; /* the reference stays inside this unit */
};

/*
 * Zeroes the N bytes at P (8-byte aligned, N a multiple of 8 known at
 * compile time) with plain stores.  memset() of the 160 bytes of a
 * struct die_vals and the 88 of a scope record was a `rep stos` each,
 * whose start-up cost made them a seventh of the DIE walk's time on
 * clang's units (once per DIE that opens a scope).
 */
static inline __attribute__((always_inline)) void zero_words(void *p, size_t n)
{
	typedef uint64_t z16 __attribute__((vector_size(16), aligned(8), may_alias));
	typedef uint64_t z8 __attribute__((aligned(8), may_alias));
	size_t i = 0;

#pragma GCC unroll 16
	for (; i + 16 <= n; i += 16)
		*(z16 *)(void *)((char *)p + i) = (z16){0, 0};
	if (i < n)
		*(z8 *)(void *)((char *)p + i) = 0;
}
#define ZERO_STRUCT(p)                                                                             \
	do {                                                                                       \
		_Static_assert(sizeof(*(p)) % 8 == 0, "zeroed in 8-byte steps");                   \
		zero_words((p), sizeof(*(p)));                                                     \
	} while (0)

struct unit {
	struct sym_dwarf *d;
	struct dw_cu *cu;
	struct raw_sec info, addr, ranges, rnglists, str, line_str, str_offsets;
	uint64_t str_offsets_base;
	int have_str_offsets_base;
	uint64_t start, end; /* the unit in .debug_info */
	uint8_t offsz, addrsz, version, be;
	uint64_t addr_base, rnglists_base;
	int have_addr_base, have_rnglists_base;
};

/* Reads one attribute value of FORM, keeping what AT needs. */
static void read_attr(struct unit *u, struct rd *r, uint16_t at, uint16_t form, int64_t ic,
		      struct die_vals *v)
{
	uint64_t val = 0;
	int is_const = 0, is_addr = 0, is_addrx = 0, is_ref = 0, is_str = 0, is_refaddr = 0;
	const uint8_t *at_start;

again:
	at_start = r->p;
	switch (form) {
	case DW_FORM_addr:
		val = rd_u(r, u->addrsz);
		is_addr = 1;
		break;
	case DW_FORM_addrx:
	case DW_FORM_GNU_addr_index:
		val = rd_uleb(r);
		is_addrx = 1;
		break;
	case DW_FORM_addrx1:
		val = rd_u(r, 1);
		is_addrx = 1;
		break;
	case DW_FORM_addrx2:
		val = rd_u(r, 2);
		is_addrx = 1;
		break;
	case DW_FORM_addrx3:
		val = rd_u(r, 3);
		is_addrx = 1;
		break;
	case DW_FORM_addrx4:
		val = rd_u(r, 4);
		is_addrx = 1;
		break;
	case DW_FORM_data1:
	case DW_FORM_flag:
		val = rd_u(r, 1);
		is_const = 1;
		break;
	case DW_FORM_strx1:
		val = rd_u(r, 1);
		is_str = 1;
		break;
	case DW_FORM_data2:
		val = rd_u(r, 2);
		is_const = 1;
		break;
	case DW_FORM_strx2:
		val = rd_u(r, 2);
		is_str = 1;
		break;
	case DW_FORM_strx3:
		val = rd_u(r, 3);
		is_str = 1;
		break;
	case DW_FORM_data4:
	case DW_FORM_ref_sup4:
		val = rd_u(r, 4);
		is_const = 1;
		break;
	case DW_FORM_strx4:
		val = rd_u(r, 4);
		is_str = 1;
		break;
	case DW_FORM_data8:
	case DW_FORM_ref_sig8:
	case DW_FORM_ref_sup8:
		val = rd_u(r, 8);
		is_const = 1;
		break;
	case DW_FORM_data16:
		rd_skip(r, 16);
		break;
	case DW_FORM_sdata:
		val = (uint64_t)rd_sleb(r);
		is_const = 1;
		break;
	case DW_FORM_udata:
		val = rd_uleb(r);
		is_const = 1;
		break;
	case DW_FORM_implicit_const:
		val = (uint64_t)ic;
		is_const = 1;
		break;
	case DW_FORM_flag_present:
		val = 1;
		break;
	case DW_FORM_string:
		rd_skip_str(r);
		is_str = 1;
		break;
	case DW_FORM_strp:
	case DW_FORM_line_strp:
		val = rd_u(r, u->offsz);
		is_str = 1;
		break;
	case DW_FORM_strp_sup:
	case DW_FORM_GNU_strp_alt:
	case DW_FORM_GNU_ref_alt:
		val = rd_u(r, u->offsz);
		break;
	case DW_FORM_sec_offset:
		val = rd_u(r, u->offsz);
		is_const = 1;
		break;
	case DW_FORM_strx:
	case DW_FORM_GNU_str_index:
		val = rd_uleb(r);
		is_str = 1;
		break;
	case DW_FORM_loclistx:
		val = rd_uleb(r);
		break;
	case DW_FORM_rnglistx:
		val = rd_uleb(r);
		if (at == DW_AT_ranges) {
			v->ranges_x = 1;
		}
		is_const = 1;
		break;
	case DW_FORM_ref1:
		val = rd_u(r, 1);
		is_ref = 1;
		break;
	case DW_FORM_ref2:
		val = rd_u(r, 2);
		is_ref = 1;
		break;
	case DW_FORM_ref4:
		val = rd_u(r, 4);
		is_ref = 1;
		break;
	case DW_FORM_ref8:
		val = rd_u(r, 8);
		is_ref = 1;
		break;
	case DW_FORM_ref_udata:
		val = rd_uleb(r);
		is_ref = 1;
		break;
	case DW_FORM_ref_addr:
		val = rd_u(r, u->version <= 2 ? u->addrsz : u->offsz);
		is_refaddr = 1;
		break;
	case DW_FORM_exprloc:
	case DW_FORM_block:
		rd_skip(r, rd_uleb(r));
		break;
	case DW_FORM_block1:
		rd_skip(r, rd_u(r, 1));
		break;
	case DW_FORM_block2:
		rd_skip(r, rd_u(r, 2));
		break;
	case DW_FORM_block4:
		rd_skip(r, rd_u(r, 4));
		break;
	case DW_FORM_indirect:
		form = (uint16_t)rd_uleb(r);
		if (form == DW_FORM_indirect || r->bad) {
			r->bad = 1;
			return;
		}
		goto again;
	default:
		r->bad = 1;
		return;
	}
	switch (at) {
	case DW_AT_low_pc:
		if (is_addr || is_addrx) {
			v->low = val;
			v->has_low = 1;
			v->low_x = (uint8_t)is_addrx;
		}
		break;
	case DW_AT_high_pc:
		if (is_addr || is_addrx || is_const) {
			v->high = val;
			v->has_high = 1;
			v->high_const = (uint8_t)is_const;
			if (is_addrx) /* rare: resolve like low */
				v->high_const = 2;
		}
		break;
	case DW_AT_ranges:
		if (is_const) {
			v->ranges = val;
			v->has_ranges = 1;
		}
		break;
	case DW_AT_sibling:
		if (is_ref) {
			v->sibling = val;
			v->has_sibling = 1;
		}
		break;
	case DW_AT_call_file:
		if (is_const && val <= UINT32_MAX)
			v->call_file = (uint32_t)val;
		break;
	case DW_AT_call_line:
		if (is_const && val <= UINT32_MAX)
			v->call_line = (uint32_t)val;
		break;
	case DW_AT_addr_base:
	case DW_AT_GNU_addr_base:
		v->addr_base = val;
		v->has_addr_base = 1;
		break;
	case DW_AT_rnglists_base:
		v->rnglists_base = val;
		v->has_rnglists_base = 1;
		break;
	case DW_AT_str_offsets_base:
		v->str_offsets_base = val;
		v->has_str_offsets_base = 1;
		break;
	case DW_AT_name:
		if (is_str) {
			v->name_form = form;
			v->name_val = val;
			v->name_ptr = (const char *)at_start;
		}
		break;
	case DW_AT_comp_dir:
		if (is_str) {
			v->comp_form = form;
			v->comp_val = val;
			v->comp_ptr = (const char *)at_start;
		}
		break;
	case DW_AT_linkage_name:
	case DW_AT_MIPS_linkage_name:
		if (is_str) {
			v->link_form = form;
			v->link_val = val;
			v->link_ptr = (const char *)at_start;
		}
		break;
	case DW_AT_abstract_origin:
	case DW_AT_specification:
		if (is_ref) {
			v->ref_abs = u->start + val;
			v->ref_local = 1;
		} else if (is_refaddr) {
			v->ref_abs = val;
			v->ref_local = 0;
		}
		break;
	case DW_AT_stmt_list:
		if (is_const) {
			v->stmt_list = val;
			v->has_stmt_list = 1;
		}
		break;
	default:
		break;
	}
}

/* An N-byte integer, N being 1, 2, 4 or 8 (else 3). */
RD_INLINE uint64_t rd_un(struct rd *r, unsigned n)
{
	switch (n) {
	case 1:
		return rd_u(r, 1);
	case 2:
		return rd_u(r, 2);
	case 4:
		return rd_u(r, 4);
	case 8:
		return rd_u(r, 8);
	default:
		return rd_u(r, 3);
	}
}

RD_INLINE void rd_skip_leb(struct rd *r)
{
	while (r->p < r->end)
		if (!(*r->p++ & 0x80))
			return;
	r->bad = 1;
}

/* Runs N steps of a plan from OP over the attributes of one DIE. */
RD_INLINE void run_plan(struct unit *u, struct rd *r, const struct abbrev_table *t,
			const struct plan_op *op, uint32_t n, struct die_vals *v)
{
	for (const struct plan_op *end = op + n; op < end && !r->bad; op++) {
		uint64_t x;

		switch (op->op) {
		case P_SKIP:
			rd_skip(r, op->n);
			break;
		case P_SKIP_LEB:
			rd_skip_leb(r);
			break;
		case P_SKIP_STR:
			rd_skip_str(r);
			break;
		case P_SKIP_BLOCK:
			rd_skip(r, op->n ? rd_un(r, op->n) : rd_uleb(r));
			break;
		case P_LOW:
			v->low = rd_un(r, op->n);
			v->has_low = 1;
			v->low_x = 0;
			break;
		case P_LOW_X:
			v->low = op->n ? rd_un(r, op->n) : rd_uleb(r);
			v->has_low = 1;
			v->low_x = 1;
			break;
		case P_HIGH_ADDR:
		case P_HIGH_CONST:
			v->high = rd_un(r, op->n);
			v->has_high = 1;
			v->high_const = op->op == P_HIGH_CONST;
			break;
		case P_RANGES:
			v->ranges = rd_un(r, op->n);
			v->has_ranges = 1;
			break;
		case P_RANGES_X:
			v->ranges = rd_uleb(r);
			v->ranges_x = 1;
			v->has_ranges = 1;
			break;
		case P_SIBLING:
			v->sibling = rd_un(r, op->n);
			v->has_sibling = 1;
			break;
		case P_CALL_FILE:
			x = rd_un(r, op->n);
			if (x <= UINT32_MAX)
				v->call_file = (uint32_t)x;
			break;
		case P_CALL_LINE:
			x = rd_un(r, op->n);
			if (x <= UINT32_MAX)
				v->call_line = (uint32_t)x;
			break;
		case P_CALL_FILE_IMPL:
			v->call_file = op->arg;
			break;
		case P_CALL_LINE_IMPL:
			v->call_line = op->arg;
			break;
		case P_REF:
			v->ref_abs = u->start + rd_un(r, op->n);
			v->ref_local = 1;
			break;
		default: {
			const struct abbrev_spec *sp = &t->s[op->arg];

			read_attr(u, r, sp->at, sp->form, sp->implicit, v);
			break;
		}
		}
	}
}

/* The bases that DW_FORM_addrx, rnglistx and strx read from, as the unit
 * DIE V gives them. */
static void unit_bases(struct unit *u, const struct die_vals *v)
{
	u->addr_base = v->addr_base;
	u->have_addr_base = v->has_addr_base;
	u->rnglists_base = v->rnglists_base;
	u->have_rnglists_base = v->has_rnglists_base;
	u->str_offsets_base = v->str_offsets_base;
	u->have_str_offsets_base = v->has_str_offsets_base;
}

static int unit_addrx(struct unit *u, uint64_t idx, uint64_t *out)
{
	uint64_t base = u->have_addr_base ? u->addr_base : 8, off;
	struct rd r;

	if (!u->addr.p || idx > (u->addr.size / u->addrsz) || base > u->addr.size)
		return -1;
	off = base + idx * u->addrsz;
	if (off > u->addr.size || u->addr.size - off < u->addrsz)
		return -1;
	r = (struct rd){u->addr.p + off, u->addr.p + u->addr.size, 0, u->be};
	*out = rd_u(&r, u->addrsz);
	return 0;
}

/* Calls FN for each range of a DIE whose values are V. */
/* Inlined: with FN a constant, the callback is inlined too (one call a
 * range was a fifth of the unit walk on clang). */
RD_INLINE int unit_ranges(struct unit *u, const struct die_vals *v, range_fn fn, void *ctx)
{
	uint64_t lo, hi, base = u->cu->base;
	int ret = 0;

	if (v->has_low && v->has_high) {
		lo = v->low;
		if (v->low_x && unit_addrx(u, v->low, &lo))
			return -EINVAL;
		hi = v->high;
		if (v->high_const == 1)
			hi += lo;
		else if (v->high_const == 2 && unit_addrx(u, v->high, &hi))
			return -EINVAL;
		return hi > lo ? fn(ctx, lo, hi) : 0;
	}
	if (!v->has_ranges)
		return 0;
	if (u->version < 5) {
		struct rd r;

		if (!u->ranges.p || v->ranges >= u->ranges.size)
			return -EINVAL;
		r = (struct rd){u->ranges.p + v->ranges, u->ranges.p + u->ranges.size, 0, u->be};
		for (int guard = 0; guard < 1 << 20 && !ret; guard++) {
			uint64_t a = rd_u(&r, u->addrsz), b = rd_u(&r, u->addrsz);
			uint64_t maxa = u->addrsz == 8 ? UINT64_MAX : 0xffffffffu;

			if (r.bad)
				return -EINVAL;
			if (!a && !b)
				break;
			if (a == maxa) {
				base = b;
				continue;
			}
			if (b > a)
				ret = fn(ctx, base + a, base + b);
		}
		return ret;
	}
	{
		uint64_t off = v->ranges;
		struct rd r;

		if (!u->rnglists.p)
			return -EINVAL;
		if (v->ranges_x) {
			uint64_t rb = u->have_rnglists_base ? u->rnglists_base : 12, at;

			at = rb + off * u->offsz;
			if (rb > u->rnglists.size || off > u->rnglists.size ||
			    at > u->rnglists.size || u->rnglists.size - at < u->offsz)
				return -EINVAL;
			r = (struct rd){u->rnglists.p + at, u->rnglists.p + u->rnglists.size, 0,
					u->be};
			off = rb + rd_u(&r, u->offsz);
		}
		if (off >= u->rnglists.size)
			return -EINVAL;
		r = (struct rd){u->rnglists.p + off, u->rnglists.p + u->rnglists.size, 0, u->be};
		for (int guard = 0; guard < 1 << 20 && !ret; guard++) {
			uint8_t kind = (uint8_t)rd_u(&r, 1);
			uint64_t a = 0, b = 0;

			if (r.bad)
				return -EINVAL;
			switch (kind) {
			case DW_RLE_end_of_list:
				return 0;
			case DW_RLE_base_addressx:
				if (unit_addrx(u, rd_uleb(&r), &base))
					return -EINVAL;
				continue;
			case DW_RLE_startx_endx:
				if (unit_addrx(u, rd_uleb(&r), &a) ||
				    unit_addrx(u, rd_uleb(&r), &b))
					return -EINVAL;
				break;
			case DW_RLE_startx_length:
				if (unit_addrx(u, rd_uleb(&r), &a))
					return -EINVAL;
				b = a + rd_uleb(&r);
				break;
			case DW_RLE_offset_pair:
				a = base + rd_uleb(&r);
				b = base + rd_uleb(&r);
				break;
			case DW_RLE_base_address:
				base = rd_u(&r, u->addrsz);
				continue;
			case DW_RLE_start_end:
				a = rd_u(&r, u->addrsz);
				b = rd_u(&r, u->addrsz);
				break;
			case DW_RLE_start_length:
				a = rd_u(&r, u->addrsz);
				b = a + rd_uleb(&r);
				break;
			default:
				return -EINVAL;
			}
			if (r.bad)
				return -EINVAL;
			if (b > a)
				ret = fn(ctx, a, b);
		}
		return ret;
	}
}

static const char *sec_str(struct raw_sec sec, uint64_t off)
{
	if (!sec.p || off >= sec.size || !memchr(sec.p + off, 0, sec.size - off))
		return NULL;
	return (const char *)sec.p + off;
}

/* The string an attribute names, for the forms read_attr marks as
 * strings; NULL when it cannot be read. */
static const char *unit_str(const struct unit *u, uint16_t form, uint64_t val, const char *ptr)
{
	uint64_t base, at;
	struct rd r;

	switch (form) {
	case DW_FORM_string:
		return ptr;
	case DW_FORM_strp:
		return sec_str(u->str, val);
	case DW_FORM_line_strp:
		return sec_str(u->line_str, val);
	case DW_FORM_strx:
	case DW_FORM_GNU_str_index:
	case DW_FORM_strx1:
	case DW_FORM_strx2:
	case DW_FORM_strx3:
	case DW_FORM_strx4:
		base = u->have_str_offsets_base ? u->str_offsets_base : 8;
		if (!u->str_offsets.p || base > u->str_offsets.size ||
		    val > (u->str_offsets.size - base) / u->offsz)
			return NULL;
		at = base + val * u->offsz;
		if (u->str_offsets.size - at < u->offsz)
			return NULL;
		r = (struct rd){u->str_offsets.p + at, u->str_offsets.p + u->str_offsets.size, 0,
				u->be};
		return sec_str(u->str, rd_u(&r, u->offsz));
	default:
		return NULL;
	}
}

/* Reads the attributes of the DIE at OFF (in .debug_info) of unit U. */
static int unit_die(struct unit *u, const struct abbrev_table *abt, uint64_t off,
		    struct die_vals *v);

/*
 * As binutils: a linkage name anywhere along abstract_origin /
 * specification wins, else the first DW_AT_name met.  Stays inside the
 * unit; returns 1 when it could follow everything, 0 to let libdwarf try.
 */
static int unit_name(struct unit *u, const struct abbrev_table *abt, uint64_t off, int depth,
		     const char **name, int *linkage)
{
	struct die_vals v = {0};
	const char *own;

	*name = NULL;
	*linkage = 0;
	if (unit_die(u, abt, off, &v))
		return 0;
	if (v.link_form) {
		*name = unit_str(u, v.link_form, v.link_val, v.link_ptr);
		*linkage = *name != NULL;
		if (*linkage)
			return 1;
	}
	own = v.name_form ? unit_str(u, v.name_form, v.name_val, v.name_ptr) : NULL;
	if (v.ref_abs && depth < MAX_NAME_DEPTH) {
		const char *sub;
		int sublink;

		if (!v.ref_local || !unit_name(u, abt, v.ref_abs, depth + 1, &sub, &sublink))
			return 0;
		if (sublink || !own) {
			*name = sub;
			*linkage = sublink;
			return 1;
		}
	}
	*name = own;
	return 1;
}

struct scope_ctx {
	struct sym_dwarf *d;
	struct dw_cu *cu;
	uint32_t scope;
};

static inline int add_scope_range(void *ctx, uint64_t lo, uint64_t hi)
{
	struct scope_ctx *c = ctx;
	struct dw_cu *cu = c->cu;

	if (grow_huge((void **)&cu->ranges, &cu->cap_ranges, cu->nranges + 1, sizeof(*cu->ranges)))
		return -ENOMEM;
	cu->ranges[cu->nranges++] = (struct dw_range){lo, hi};
	cu->scopes[c->scope].nranges++;
	return 0;
}

/* Tags the walk looks into: scopes that make frames, and containers. */
static int scope_tag(uint16_t tag)
{
	switch (tag) {
	case DW_TAG_subprogram:
	case DW_TAG_inlined_subroutine:
	case DW_TAG_entry_point:
	case DW_TAG_lexical_block:
	case DW_TAG_namespace:
	case DW_TAG_try_block:
	case DW_TAG_catch_block:
	case DW_TAG_module:
		return 1;
	default:
		return 0;
	}
}

/* Tags that make frames (the other scope tags only contain them). */
static int frame_tag(uint16_t tag)
{
	return tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine ||
	       tag == DW_TAG_entry_point;
}

struct walk_frame {
	int32_t pscope; /* enclosing frame scope for children */
	int32_t scope;	/* scope this DIE opened, -1 for none */
	uint8_t skip;	/* children are not of interest */
};

/*
 * Walks DIEs from R: the whole unit (PSCOPE -1, R at the CU DIE), or the
 * children of scope PSCOPE (R at its first child).  With LAZY, the
 * children of an outermost function are not walked but remembered
 * (expand_scope() walks them when an address lands in the function), so
 * a unit with few addresses in it costs little more than its top level.
 */
static int walk_dies(struct sym_dwarf *d, struct dw_cu *cu, struct unit *up,
		     const struct abbrev_table *abtp, struct rd r, int32_t pscope, int lazy)
{
	struct walk_frame stack[MAX_DIE_DEPTH];
	int depth = 0, ret = 0, first = pscope < 0;

	if (pscope >= 0) {
		stack[0] = (struct walk_frame){pscope, -1, 0};
		depth = 1;
	}
	while (r.p < r.end) {
		const uint8_t *die_start = r.p;
		struct die_vals v;
		const struct abbrev *ab;
		uint64_t code = rd_uleb(&r);
		struct walk_frame *parent = depth ? &stack[depth - 1] : NULL;
		struct walk_frame f = {parent ? parent->pscope : -1, -1, parent ? parent->skip : 0};

		if (r.bad)
			break;
		if (!code) {
			if (!depth) {
				if (first)
					continue;
				break; /* padding after the CU DIE's children */
			}
			depth--;
			if (stack[depth].scope >= 0)
				cu->scopes[stack[depth].scope].next = (uint32_t)cu->nscopes;
			if (!depth)
				break;
			continue;
		}
		ab = find_abbrev(abtp, code);
		if (!ab) {
			r.bad = 1;
			break;
		}
		/* Most DIEs (parameters, variables, types, call sites) make no
		 * frame and have no children: step over fixed-size ones. */
		if (!first && !ab->children && ab->fixed >= 0 &&
		    (f.skip || !scope_tag(ab->tag) || (frame_tag(ab->tag) && !ab->has_pc))) {
			rd_skip(&r, (uint64_t)ab->fixed);
			if (r.bad)
				break;
			continue;
		}
		if (!first &&
		    (f.skip || !scope_tag(ab->tag) || !frame_tag(ab->tag) || !ab->has_pc)) {
			/* No frame here (nor below unless this is a container
			 * such as a lexical block; a function without addresses
			 * -- a declaration, an abstract instance -- has none
			 * below either): only the sibling matters. */
			int container = !f.skip && scope_tag(ab->tag) && !frame_tag(ab->tag);

			v.has_sibling = 0;
			if (ab->skip_shape) {
				rd_skip(&r, ab->skip_a);
				if (ab->skip_kind == 1)
					rd_skip_leb(&r);
				else if (ab->skip_kind == 2)
					rd_skip(&r, rd_uleb(&r));
				rd_skip(&r, ab->skip_b);
			} else {
				run_plan(up, &r, abtp, abtp->ops + ab->skip_first, ab->skip_n, &v);
			}
			if (r.bad)
				break;
			if (!container)
				f.skip = 1;
			if (!ab->children)
				continue;
			goto children;
		}
		ZERO_STRUCT(&v);
		run_plan(up, &r, abtp, abtp->ops + ab->read_first, ab->read_n, &v);
		if (r.bad)
			break;
		if (first) {
			/* The CU DIE: bases for addrx and rnglistx. */
			first = 0;
			unit_bases(up, &v);
			cu->stmt_list = v.stmt_list;
			cu->has_stmt_list = v.has_stmt_list;
		} else if (!f.skip) {
			switch (ab->tag) {
			case DW_TAG_subprogram:
			case DW_TAG_inlined_subroutine:
			case DW_TAG_entry_point: {
				struct scope_ctx sc = {d, cu, (uint32_t)cu->nscopes};
				struct dw_scope *s;
				int rr;

				if (grow_huge((void **)&cu->scopes, &cu->cap_scopes,
					      cu->nscopes + 1, sizeof(*cu->scopes))) {
					ret = -ENOMEM;
					return ret;
				}
				s = &cu->scopes[cu->nscopes++];
				ZERO_STRUCT(s);
				s->off = (Dwarf_Off)(die_start - up->info.p);
				s->parent = f.pscope;
				s->inlined = ab->tag == DW_TAG_inlined_subroutine;
				s->call_file = v.call_file;
				s->call_line = v.call_line;
				s->ref_abs = v.ref_abs;
				s->ref_local = v.ref_local;
				if (v.link_form)
					s->name_hint =
					    unit_str(up, v.link_form, v.link_val, v.link_ptr);
				s->has_link = s->name_hint != NULL;
				if (!s->name_hint && v.name_form)
					s->name_hint =
					    unit_str(up, v.name_form, v.name_val, v.name_ptr);
				s->first_range = (uint32_t)cu->nranges;
				s->next = (uint32_t)cu->nscopes;
				rr = unit_ranges(up, &v, add_scope_range, &sc);
				if (rr == -ENOMEM) {
					ret = rr;
					return ret;
				}
				if (!cu->scopes[sc.scope].nranges) {
					/* Declaration, abstract instance or optimized
					 * away: nothing below makes frames. */
					cu->nscopes--;
					f.skip = 1;
				} else {
					f.scope = (int32_t)sc.scope;
					f.pscope = (int32_t)sc.scope;
				}
				break;
			}
			case DW_TAG_lexical_block:
			case DW_TAG_namespace:
			case DW_TAG_try_block:
			case DW_TAG_catch_block:
			case DW_TAG_module:
				break;
			default:
				f.skip = 1;
				break;
			}
		}
		if (!ab->children) {
			if (f.scope >= 0)
				cu->scopes[f.scope].next = (uint32_t)cu->nscopes;
			continue;
		}
	children:
		/* An outermost function: its subtree waits for an address
		 * in it, when the producer says where it ends. */
		if (lazy && f.scope >= 0 && cu->scopes[f.scope].parent < 0 && v.has_sibling) {
			uint64_t to = up->start + v.sibling;

			if (to > (uint64_t)(r.p - up->info.p) &&
			    to <= (uint64_t)(r.end - up->info.p)) {
				cu->scopes[f.scope].kids = (uint64_t)(r.p - up->info.p);
				cu->scopes[f.scope].lazy = 1;
				r.p = up->info.p + to;
				continue;
			}
		}
		/* A subtree of no interest: jump over it when the producer
		 * says where it ends. */
		if (f.skip && v.has_sibling) {
			uint64_t to = up->start + v.sibling;

			if (to > (uint64_t)(r.p - up->info.p) &&
			    to <= (uint64_t)(r.end - up->info.p)) {
				r.p = up->info.p + to;
				continue;
			}
		}
		if (depth >= MAX_DIE_DEPTH) {
			r.bad = 1;
			break;
		}
		stack[depth++] = f;
	}
	/* Close scopes left open by a truncated unit. */
	while (depth > 0) {
		depth--;
		if (stack[depth].scope >= 0)
			cu->scopes[stack[depth].scope].next = (uint32_t)cu->nscopes;
	}
	if (r.bad)
		ret = -EINVAL;
	return ret;
}

static int lines_start(struct sym_dwarf *d, struct dw_cu *cu, int populate);

/*
 * Sets up U for the unit whose header is at HDR in .debug_info and leaves
 * R at its first DIE.  Returns 0, -EINVAL when the unit's length is bad
 * (nothing after it can be found), or -1 for a header we cannot use
 * (*NEXT is then still the next unit).
 */
static int unit_open(struct sym_dwarf *d, uint64_t hdr, struct unit *u, struct rd *r,
		     uint64_t *abbrev_off, uint8_t *type, uint64_t *next)
{
	uint64_t len;

	u->d = d;
	u->be = d->e->ehdr.e_ident[EI_DATA] == ELFDATA2MSB;
	u->info = raw_section(d, RAW_INFO);
	u->addr = raw_section(d, RAW_ADDR);
	u->ranges = raw_section(d, RAW_RANGES);
	u->rnglists = raw_section(d, RAW_RNGLISTS);
	u->str = raw_section(d, RAW_STR);
	u->line_str = raw_section(d, RAW_LINE_STR);
	u->str_offsets = raw_section(d, RAW_STR_OFFSETS);
	if (!u->info.p || hdr >= u->info.size)
		return -EINVAL;
	*r = (struct rd){u->info.p + hdr, u->info.p + u->info.size, 0, u->be};
	len = rd_u(r, 4);
	u->offsz = 4;
	if (len == 0xffffffffu) {
		len = rd_u(r, 8);
		u->offsz = 8;
	}
	if (r->bad || len > (uint64_t)(r->end - r->p) || len < 2)
		return -EINVAL;
	u->start = hdr;
	r->end = r->p + len;
	u->end = (uint64_t)(r->end - u->info.p);
	*next = u->end;
	*type = DW_UT_compile;
	u->version = (uint8_t)rd_u(r, 2);
	if (u->version >= 5) {
		*type = (uint8_t)rd_u(r, 1);
		u->addrsz = (uint8_t)rd_u(r, 1);
		*abbrev_off = rd_u(r, u->offsz);
		if (*type == DW_UT_skeleton || *type == DW_UT_split_compile)
			rd_skip(r, 8);
		else if (*type == DW_UT_type || *type == DW_UT_split_type)
			rd_skip(r, 8 + u->offsz);
	} else {
		*abbrev_off = rd_u(r, u->offsz);
		u->addrsz = (uint8_t)rd_u(r, 1);
	}
	if (r->bad || (u->addrsz != 4 && u->addrsz != 8) || u->version < 2 || u->version > 5)
		return -1;
	return 0;
}

/*
 * The scope and range arrays of CU, for a unit of LEN bytes.  A scope DIE
 * takes well over 16 bytes: reserve for the worst case once rather than
 * reallocating a large array many times.  Scopes have 2-3 ranges each on
 * clang -O2 (51k for 20k): ranges reserved one per scope were copied over
 * once, having been faulted in 4 KiB at a time (129 faults); only what is
 * touched costs.  0 or -ENOMEM.
 */
static int cu_reserve(struct dw_cu *cu, uint64_t len)
{
	size_t want = (size_t)(len / 16);

	if (cu->scopes || want <= 16)
		return 0;
	cu->scopes = sym_huge_realloc(NULL, want * sizeof(*cu->scopes));
	cu->ranges = sym_huge_realloc(NULL, 2 * want * sizeof(*cu->ranges));
	if (!cu->scopes || !cu->ranges) {
		sym_huge_free(cu->scopes);
		sym_huge_free(cu->ranges);
		cu->scopes = NULL;
		cu->ranges = NULL;
		return -ENOMEM;
	}
	cu->cap_scopes = want;
	cu->cap_ranges = 2 * want;
	return 0;
}

static int walk_unit(struct sym_dwarf *d, struct dw_cu *cu, int *lret)
{
	struct abbrev_table abt = {0};
	struct unit u = {.d = d, .cu = cu};
	struct raw_sec abbrev = raw_section(d, RAW_ABBREV);
	struct rd r;
	uint64_t len, abbrev_off, next;
	uint8_t type;
	int ret = 0;

	if (unit_open(d, cu->hdr_off, &u, &r, &abbrev_off, &type, &next))
		return -EINVAL;
	u.cu = cu;
	len = u.end - u.start;
	ret = parse_abbrevs(&abt, abbrev, abbrev_off, u.offsz, u.addrsz, u.version);
	if (ret)
		goto out;
	{
		/* The unit DIE first: where its line table is, so that the
		 * line program is decoded while the rest is walked. */
		struct die_vals v = {0};

		if (!unit_die(&u, &abt, (uint64_t)(r.p - u.info.p), &v) && v.has_stmt_list) {
			cu->stmt_list = v.stmt_list;
			cu->has_stmt_list = 1;
			/* Unless sym_dwarf__prefetch() started it. */
			if (!cu->job)
				*lret = lines_start(d, cu, 0);
			if (*lret == -ENOMEM) {
				ret = -ENOMEM;
				goto out;
			}
		}
	}
	if (cu_reserve(cu, len)) {
		ret = -ENOMEM;
		goto out;
	}
	ret = walk_dies(d, cu, &u, &abt, r, -1, 1);
out:
	/* Keep the unit and its abbreviations for reading names later. */
	if (ret != -ENOMEM && !cu->unit) {
		cu->unit = malloc(sizeof(*cu->unit));
		cu->abt = malloc(sizeof(*cu->abt));
		if (cu->unit && cu->abt) {
			*cu->unit = u;
			*cu->abt = abt;
			return ret;
		}
		free(cu->unit);
		free(cu->abt);
		cu->unit = NULL;
		cu->abt = NULL;
	}
	abbrev_table_release(&abt);
	return ret;
}

static void cu_unit_free(struct dw_cu *cu)
{
	if (cu->abt)
		abbrev_table_release(cu->abt);
	free(cu->abt);
	free(cu->unit);
	cu->abt = NULL;
	cu->unit = NULL;
}

static int unit_die(struct unit *u, const struct abbrev_table *abt, uint64_t off,
		    struct die_vals *v)
{
	const struct abbrev *ab;
	struct rd r;

	if (off < u->start || off >= u->end)
		return -1;
	r = (struct rd){u->info.p + off, u->info.p + u->end, 0, u->be};
	ab = find_abbrev(abt, rd_uleb(&r));
	if (r.bad || !ab)
		return -1;
	for (uint32_t i = 0; i < ab->n && !r.bad; i++) {
		const struct abbrev_spec *sp = &abt->s[ab->first + i];

		read_attr(u, &r, sp->at, sp->form, sp->implicit, v);
	}
	return r.bad ? -1 : 0;
}

/*
 * Line tables, decoded here rather than with dwarf_srclines_b(), which
 * allocates an object per row: DWARF 2-5 headers (with DWARF 5 entry
 * formats), the standard, extended and special opcodes.  Of several rows at
 * one address in a sequence the last counts (as binutils).  Paths are built
 * like binutils' concat_filename(): comp_dir/dir/name unless absolute.
 */
struct lt_hdr {
	uint8_t version, offsz, addrsz, min_inst, default_stmt, line_range, opcode_base;
	int8_t line_base;
	const uint8_t *std_lens;
};

static const char *lt_string(struct sym_dwarf *d, struct rd *r, uint64_t form, uint8_t offsz,
			     struct raw_sec line_str, struct raw_sec str)
{
	const char *s = NULL;
	uint64_t off;

	switch (form) {
	case DW_FORM_string:
		s = (const char *)r->p;
		rd_skip_str(r);
		return r->bad ? NULL : s;
	case DW_FORM_line_strp:
	case DW_FORM_strp:
		off = rd_u(r, offsz);
		{
			struct raw_sec sec = form == DW_FORM_line_strp ? line_str : str;

			if (!sec.p || off >= sec.size || !memchr(sec.p + off, 0, sec.size - off))
				return NULL;
			return (const char *)sec.p + off;
		}
	default:
		return NULL;
	}
}

/* Skips a value of FORM in a DWARF 5 line header entry; 0 or -1. */
static int lt_skip_form(struct rd *r, uint64_t form, uint8_t offsz, uint64_t *val)
{
	*val = 0;
	switch (form) {
	case DW_FORM_data1:
		*val = rd_u(r, 1);
		break;
	case DW_FORM_data2:
		*val = rd_u(r, 2);
		break;
	case DW_FORM_data4:
		*val = rd_u(r, 4);
		break;
	case DW_FORM_data8:
		*val = rd_u(r, 8);
		break;
	case DW_FORM_data16:
		rd_skip(r, 16);
		break;
	case DW_FORM_udata:
		*val = rd_uleb(r);
		break;
	case DW_FORM_sdata:
		*val = (uint64_t)rd_sleb(r);
		break;
	case DW_FORM_block:
		rd_skip(r, rd_uleb(r));
		break;
	case DW_FORM_string:
		rd_skip_str(r);
		break;
	case DW_FORM_line_strp:
	case DW_FORM_strp:
	case DW_FORM_sec_offset:
		rd_skip(r, offsz);
		break;
	case DW_FORM_strx:
		rd_uleb(r);
		break;
	case DW_FORM_strx1:
		rd_skip(r, 1);
		break;
	case DW_FORM_strx2:
		rd_skip(r, 2);
		break;
	case DW_FORM_strx3:
		rd_skip(r, 3);
		break;
	case DW_FORM_strx4:
		rd_skip(r, 4);
		break;
	default:
		return -1;
	}
	return r->bad ? -1 : 0;
}

struct lt_entry {
	const char *name;
	uint64_t dir;
};

/* Reads a DWARF 5 directory or file name table into OUT (malloc'ed). */
static int lt_entries5(struct sym_dwarf *d, struct rd *r, struct lt_hdr *h, struct raw_sec line_str,
		       struct raw_sec str, struct lt_entry **out, size_t *n)
{
	uint64_t fmt[16][2], count;
	uint8_t nfmt = (uint8_t)rd_u(r, 1);

	if (nfmt > 16 || r->bad)
		return -1;
	for (int i = 0; i < nfmt; i++) {
		fmt[i][0] = rd_uleb(r);
		fmt[i][1] = rd_uleb(r);
	}
	count = rd_uleb(r);
	if (r->bad || count > (uint64_t)(r->end - r->p))
		return -1;
	*out = calloc(count + 1, sizeof(**out));
	if (!*out)
		return -1;
	*n = count;
	for (uint64_t k = 0; k < count; k++) {
		for (int i = 0; i < nfmt; i++) {
			uint64_t v;

			if (fmt[i][0] == DW_LNCT_path) {
				(*out)[k].name =
				    lt_string(d, r, fmt[i][1], h->offsz, line_str, str);
				if (r->bad)
					return -1;
			} else {
				if (lt_skip_form(r, fmt[i][1], h->offsz, &v))
					return -1;
				if (fmt[i][0] == DW_LNCT_directory_index)
					(*out)[k].dir = v;
			}
		}
	}
	return 0;
}

/* Sets F's cursor at the first of its addresses at or above LO. */
static void flt_seek(struct row_flt *f, uint64_t lo)
{
	size_t j = f->j, a, b;

	if (j > 0 && FLT_ADDR(f, j - 1) >= lo) {
		/* A new sequence, lower down. */
		a = 0;
		b = j - 1;
	} else if (j < f->n && FLT_ADDR(f, j) < lo) {
		/* Gallop up from the last position. */
		size_t step = 1;

		a = j + 1;
		while (a + step < f->n && FLT_ADDR(f, a + step) < lo) {
			a += step + 1;
			step *= 2;
		}
		b = a + step < f->n ? a + step : f->n;
	} else {
		a = b = j;
	}
	while (a < b) {
		size_t m = a + (b - a) / 2;

		if (FLT_ADDR(f, m) < lo)
			a = m + 1;
		else
			b = m;
	}
	f->j = a;
	f->nx = a < f->n ? FLT_ADDR(f, a) : UINT64_MAX;
}

/* Stores a row: 0 or -ENOMEM. */
RD_INLINE int lt_emit(struct dw_cu *cu, size_t *cap, uint64_t addr, uint32_t file, uint32_t line,
		      int end)
{
	struct dw_row *prev = cu->nrows ? &cu->rows[cu->nrows - 1] : NULL;
	struct dw_row row = {addr, line, (uint16_t)(file < 0xffff ? file : 0xffff), (uint8_t)end,
			     0};
	int swap;

	if (prev && !prev->end && prev->addr == addr && !end) {
		*prev = row;
		return 0;
	}
	/* An end of sequence at a row's own address sorts before it. */
	swap = prev && !prev->end && prev->addr == addr && end;
	if (__builtin_expect(cu->nrows >= *cap, 0) &&
	    grow_huge((void **)&cu->rows, cap, cu->nrows + 1, sizeof(*cu->rows)))
		return -ENOMEM;
	if (swap) {
		cu->rows[cu->nrows] = cu->rows[cu->nrows - 1];
		cu->rows[cu->nrows - 1] = row;
		cu->nrows++;
		return 0;
	}
	cu->rows[cu->nrows++] = row;
	return 0;
}

/*
 * A row that repeats the file and line of the row before it, at a higher
 * address, answers no lookup differently (rows keep no column): it is held
 * back and dropped when the next row comes after it, which leaves clang's
 * line tables (a row per column) a fraction of their size.  A next row at
 * or below its address, where the exact rows matter, emits it first.
 */
struct lt_pending {
	uint64_t addr;
	uint32_t file, line;
	int set;
	size_t dropped;
	int compact; /* 0: every row, as the program says */
};

RD_INLINE int lt_row(struct dw_cu *cu, size_t *cap, struct lt_pending *pd, uint64_t addr,
		     uint32_t file, uint32_t line, int end)
{
	const struct dw_row *last;

	if (pd->set) {
		pd->set = 0;
		if (addr <= pd->addr) {
			int e = lt_emit(cu, cap, pd->addr, pd->file, pd->line, 0);

			if (e)
				return e;
		} else {
			pd->dropped++;
		}
	}
	last = cu->nrows ? &cu->rows[cu->nrows - 1] : NULL;
	if (pd->compact && !end && last && !last->end && addr > last->addr && last->line == line &&
	    last->file == (file < 0xffff ? file : 0xffff)) {
		*pd = (struct lt_pending){addr, file, line, 1, pd->dropped, 1};
		return 0;
	}
	return lt_emit(cu, cap, addr, file, line, end);
}

/*
 * Results point at file paths until the resolver is freed, while decoded
 * CUs may be dropped and decoded again: paths live in an interning table
 * of the sym_dwarf, one copy per distinct path.  Takes PATH (malloc'ed).
 */
static const char *intern(struct sym_dwarf *d, char *path)
{
	size_t h = 5381, mask;

	if (d->paths_used * 2 >= d->paths_cap) {
		size_t ncap = d->paths_cap ? d->paths_cap * 2 : 256;
		char **n = calloc(ncap, sizeof(*n));

		if (!n) {
			free(path);
			return NULL;
		}
		for (size_t i = 0; i < d->paths_cap; i++) {
			size_t k = 5381;

			if (!d->paths[i])
				continue;
			for (const char *c = d->paths[i]; *c; c++)
				k = k * 33 + (unsigned char)*c;
			k &= ncap - 1;
			while (n[k])
				k = (k + 1) & (ncap - 1);
			n[k] = d->paths[i];
		}
		free(d->paths);
		d->paths = n;
		d->paths_cap = ncap;
	}
	mask = d->paths_cap - 1;
	for (const char *c = path; *c; c++)
		h = h * 33 + (unsigned char)*c;
	h &= mask;
	while (d->paths[h] && strcmp(d->paths[h], path))
		h = (h + 1) & mask;
	if (d->paths[h]) {
		free(path);
		return d->paths[h];
	}
	d->paths[h] = path;
	d->paths_used++;
	return path;
}

static int cmp_seq(const void *a, const void *b)
{
	const struct seq_span *x = a, *y = b;

	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * Rows come sorted within each sequence, and sequences (one per function
 * section: .text, .text.startup, .text.unlikely) are disjoint: sorting the
 * sequences as blocks is enough.  Anything else gets a full sort.
 */
static int sort_rows(struct dw_cu *cu, int allow_full, size_t *mem)
{
	const struct dw_row *rows = cu->rows;
	const size_t nrows = cu->nrows;
	struct seq_span *seqs = NULL;
	size_t nseq = 0, cap = 0, start = 0;
	int ordered = 1;

	for (size_t i = 0; i < nrows; i++) {
		/* The rows of a sequence up to its end, in locals: a pass over
		 * 160k rows, which went through CU at each one. */
		size_t e = i;

		while (e + 1 < nrows && !rows[e].end &&
		       (rows[e].addr < rows[e + 1].addr ||
			(rows[e].addr == rows[e + 1].addr && !rows[e + 1].end)))
			e++;
		if (e + 1 < nrows && !rows[e].end)
			goto full;
		i = e;
		if (grow((void **)&seqs, &cap, nseq + 1, sizeof(*seqs))) {
			free(seqs);
			return -ENOMEM;
		}
		seqs[nseq++] =
		    (struct seq_span){rows[start].addr, rows[i].addr, start, i + 1 - start};
		if (nseq > 1 && seqs[nseq - 2].last > seqs[nseq - 1].first)
			ordered = 0;
		start = i + 1;
	}
	if (ordered) {
		free(seqs);
		return 0;
	}
	qsort(seqs, nseq, sizeof(*seqs), cmp_seq);
	for (size_t i = 1; i < nseq; i++)
		if (seqs[i - 1].last > seqs[i].first)
			goto full;
	/* Disjoint sequences: look up through the sorted sequence table
	 * rather than moving the rows. */
	cu->seqs = seqs;
	cu->nseqs = nseq;
	*mem += cap * sizeof(*seqs);
	return 0;
full:
	free(seqs);
	if (!allow_full)
		return 1;
	if (cu->nrows > 1)
		qsort(cu->rows, cu->nrows, sizeof(*cu->rows), cmp_row);
	return 0;
}

/* What the line program needs, from the header; decoded by lines_run(). */
struct lt_job {
	struct dw_cu *cu;
	struct lt_hdr h;
	const uint8_t *prog, *end;
	int be;
	int ret;      /* of the program: 0, -EINVAL, -ENOMEM */
	size_t mem;   /* bytes of rows and sequences it allocated */
	int threaded; /* runs on TID, not joined yet */
	int done;     /* set (release) when the thread has finished */
	pthread_t tid;
	/* Where the walk and the lookups are about to write, whose huge
	 * pages the thread faults in before it decodes: the first of the
	 * scope and range arrays, and the caller's (sym_dwarf__warm()). */
	struct warm_span populate[3];
	/* The addresses to keep rows for (FLT.base NULL: all), of filter
	 * FLT_GEN.  Started before they are sorted, the thread waits for
	 * them on FLT_SEM (FLT_WAIT), which sym_dwarf__filter() or
	 * lines_join() posts (FLT_POSTED). */
	struct row_flt flt;
	unsigned flt_gen, rows_gen;
	int flt_wait, flt_posted;
	sem_t flt_sem;
	/* With WANT_PRE, the first chunk of the unit's arena, made (its huge
	 * page faulted in) by the thread before it decodes; PRE_READY set
	 * (release) once it is there for the walk's side to take.  Whichever
	 * side sets PRE_CLAIM first makes the chunk: a walk done before the
	 * thread came to it (one run in five on clang's bench binary) made
	 * its own, and the thread's huge page was faulted in for nothing. */
	struct sym_arena pre;
	int want_pre, pre_ready, pre_claim;
};

/*
 * Reads the line table header at OFF: the file names (interned, so
 * before any thread starts) and, in JOB, where the program is.
 */
static int lines_header(struct sym_dwarf *d, struct dw_cu *cu, uint64_t off, struct lt_job *job)
{
	struct raw_sec sec = raw_section(d, RAW_LINE);
	struct raw_sec line_str = raw_section(d, RAW_LINE_STR);
	struct raw_sec str = raw_section(d, RAW_STR);
	struct lt_entry *dirs = NULL, *files = NULL;
	size_t ndirs = 0, nfiles = 0;
	struct lt_hdr h = {0};
	struct rd r;
	uint64_t len, hlen;
	const uint8_t *prog;
	int ret = -EINVAL;

	if (!sec.p || off >= sec.size)
		return -EINVAL;
	r = (struct rd){sec.p + off, sec.p + sec.size, 0,
			d->e->ehdr.e_ident[EI_DATA] == ELFDATA2MSB};
	len = rd_u(&r, 4);
	h.offsz = 4;
	if (len == 0xffffffffu) {
		len = rd_u(&r, 8);
		h.offsz = 8;
	}
	if (r.bad || len > (uint64_t)(r.end - r.p))
		return -EINVAL;
	r.end = r.p + len;
	h.version = (uint8_t)rd_u(&r, 2);
	if (h.version < 2 || h.version > 5)
		return -EINVAL;
	h.addrsz = d->e->ehdr.e_ident[EI_CLASS] == ELFCLASS64 ? 8 : 4;
	if (h.version >= 5) {
		h.addrsz = (uint8_t)rd_u(&r, 1);
		rd_u(&r, 1); /* segment selector size */
	}
	hlen = rd_u(&r, h.offsz);
	if (r.bad || hlen > (uint64_t)(r.end - r.p))
		return -EINVAL;
	prog = r.p + hlen;
	h.min_inst = (uint8_t)rd_u(&r, 1);
	if (h.version >= 4)
		rd_u(&r, 1); /* max ops per instruction: VLIW only */
	h.default_stmt = (uint8_t)rd_u(&r, 1);
	h.line_base = (int8_t)rd_u(&r, 1);
	h.line_range = (uint8_t)rd_u(&r, 1);
	h.opcode_base = (uint8_t)rd_u(&r, 1);
	if (r.bad || !h.line_range || !h.opcode_base || (h.addrsz != 4 && h.addrsz != 8))
		return -EINVAL;
	h.std_lens = r.p;
	rd_skip(&r, h.opcode_base - 1u);
	if (h.version >= 5) {
		if (lt_entries5(d, &r, &h, line_str, str, &dirs, &ndirs) ||
		    lt_entries5(d, &r, &h, line_str, str, &files, &nfiles))
			goto out;
	} else {
		size_t capd = 0, capf = 0;

		while (r.p < r.end && *r.p) {
			if (grow((void **)&dirs, &capd, ndirs + 1, sizeof(*dirs)))
				goto nomem;
			dirs[ndirs].name = (const char *)r.p;
			dirs[ndirs++].dir = 0;
			rd_skip_str(&r);
		}
		rd_skip(&r, 1);
		/* Slot 0 is unused before DWARF 5: files are numbered from 1. */
		if (grow((void **)&files, &capf, 1, sizeof(*files)))
			goto nomem;
		files[nfiles++] = (struct lt_entry){NULL, 0};
		while (r.p < r.end && *r.p) {
			if (grow((void **)&files, &capf, nfiles + 1, sizeof(*files)))
				goto nomem;
			files[nfiles].name = (const char *)r.p;
			rd_skip_str(&r);
			files[nfiles++].dir = rd_uleb(&r);
			rd_uleb(&r);
			rd_uleb(&r);
		}
		if (r.bad)
			goto out;
	}
	free(cu->files); /* from a header that ran out of memory before */
	cu->files = calloc(nfiles + 1, sizeof(*cu->files));
	if (!cu->files)
		goto nomem;
	cu->nfiles = nfiles;
	for (size_t i = 0; i < nfiles; i++) {
		const char *dir = NULL;
		uint64_t di = files[i].dir;

		if (!files[i].name)
			continue;
		if (h.version >= 5 ? di < ndirs : di >= 1 && di <= ndirs)
			dir = dirs[h.version >= 5 ? di : di - 1].name;
		{
			char *path = make_path(cu->comp_dir, dir, files[i].name);

			if (!path)
				goto nomem;
			cu->files[i] = intern(d, path);
			if (!cu->files[i])
				goto nomem;
		}
	}

	job->cu = cu;
	job->h = h;
	job->prog = prog;
	job->end = r.end;
	job->be = r.be;
	ret = 0; /* what the program makes of a damaged header is its own */
	goto out;
nomem:
	ret = -ENOMEM;
out:
	free(dirs);
	free(files);
	return ret;
}

/*
 * The rows a filter keeps, decided as the program goes: the row before
 * each one decoded (C, at CUR) answers the addresses below the new row's,
 * and stays only when one of the filter's lies there.  The first row of a
 * sequence, its end and the program's last row stay whatever comes.  Most
 * rows are then a compare with the filter's next address (F.NX) and a move:
 * nothing is stored, no row before is looked at again.
 */
struct flt_run {
	struct row_flt f;
	int have;     /* a row C, in the sequence going on */
	uint64_t cur; /* UINT64_MAX without C */
	uint32_t cfile, cline;
	int stored; /* C is stored already (a sequence's first) */
	struct dw_row *rows;
	size_t n, cap;
};

static int flt_store(struct flt_run *fr, uint64_t addr, uint32_t file, uint32_t line, int end)
{
	if (fr->n >= fr->cap &&
	    grow_huge((void **)&fr->rows, &fr->cap, fr->n + 1, sizeof(*fr->rows)))
		return -ENOMEM;
	fr->rows[fr->n++] =
	    (struct dw_row){addr, line, (uint16_t)(file < 0xffff ? file : 0xffff), (uint8_t)end, 0};
	return 0;
}

/* The filter's cursor at the first of its addresses at or above ADDR:
 * mostly the next one. */
RD_INLINE void flt_step(struct flt_run *fr, uint64_t addr)
{
	size_t j = fr->f.j + 1;

	if (j < fr->f.n && FLT_ADDR(&fr->f, j) >= addr) {
		fr->f.j = j;
		fr->f.nx = FLT_ADDR(&fr->f, j);
	} else {
		flt_seek(&fr->f, addr);
	}
}

/* A row (END: the end of its sequence) through the filter: 0, -ENOMEM,
 * or 1 when the filter cannot follow -- a row going down, or an end at
 * the address of the row before, which sorts before it: the whole table
 * is needed (sort_rows() would sort rows, not sequences). */
RD_INLINE int flt_row(struct flt_run *fr, uint64_t addr, uint32_t file, uint32_t line, int end)
{
	if (__builtin_expect(!end && addr > fr->cur && addr <= fr->f.nx, 1)) {
		/* C answers none of the addresses: dropped (unless stored). */
		fr->cur = addr;
		fr->cfile = file;
		fr->cline = line;
		fr->stored = 0;
		return 0;
	}
	if (!fr->have) {
		/* No row C: a sequence's first row (its end, if empty). */
		if (flt_store(fr, addr, file, line, end))
			return -ENOMEM;
		if (end)
			return 0;
		flt_seek(&fr->f, addr);
		fr->have = 1;
		fr->cur = addr;
		fr->cfile = file;
		fr->cline = line;
		fr->stored = 1;
		return 0;
	}
	if (addr < fr->cur || (end && addr == fr->cur))
		return 1;
	if (addr == fr->cur) {
		/* The last row at an address is the one that counts. */
		if (fr->stored) {
			fr->rows[fr->n - 1].line = line;
			fr->rows[fr->n - 1].file = (uint16_t)(file < 0xffff ? file : 0xffff);
		}
		fr->cfile = file;
		fr->cline = line;
		return 0;
	}
	/* Some address in [CUR, ADDR) (or the end): C answers it. */
	if (!fr->stored && fr->f.nx < addr && flt_store(fr, fr->cur, fr->cfile, fr->cline, 0))
		return -ENOMEM;
	if (end) {
		fr->have = 0;
		fr->cur = UINT64_MAX;
		return flt_store(fr, addr, file, line, 1);
	}
	if (fr->f.nx < addr)
		flt_step(fr, addr);
	fr->cur = addr;
	fr->cfile = file;
	fr->cline = line;
	fr->stored = 0;
	return 0;
}

/*
 * Runs the line number program from Q: rows through PD into CU's table
 * (FR NULL), or through the filter FR.  0, -ENOMEM, or 1 when the filter
 * gives up.  Inlined twice, each loop with only its own rows' state.
 */
RD_INLINE int lt_decode(struct rd *qp, const struct lt_hdr *hp, const uint32_t *sp_addr,
			const int32_t *sp_line, struct dw_cu *cu, size_t *cap,
			struct lt_pending *pd, struct flt_run *fr)
{
	const struct lt_hdr h = *hp;
	struct rd q = *qp; /* a copy whose address does not escape: registers */
	uint64_t addr = 0;
	uint32_t file = 1, line = 1;
	int e = 0;

#define LT_ROW(end)                                                                                \
	(fr ? flt_row(fr, addr, file, line, end) : lt_row(cu, cap, pd, addr, file, line, end))
	while (q.p < q.end && !q.bad) {
		uint8_t op = (uint8_t)rd_u(&q, 1);

		if (op >= h.opcode_base) {
			addr += sp_addr[op];
			line += (uint32_t)sp_line[op];
			if ((e = LT_ROW(0)))
				goto out;
			continue;
		}
		switch (op) {
		case 0: {
			uint64_t elen = rd_uleb(&q);
			const uint8_t *next;
			uint8_t sub;

			if (q.bad || !elen || elen > (uint64_t)(q.end - q.p)) {
				q.bad = 1;
				break;
			}
			next = q.p + elen;
			sub = (uint8_t)rd_u(&q, 1);
			if (sub == DW_LNE_end_sequence) {
				if ((e = LT_ROW(1)))
					goto out;
				addr = 0;
				file = 1;
				line = 1;
			} else if (sub == DW_LNE_set_address) {
				if (elen - 1 == 8 || elen - 1 == 4)
					addr = rd_u(&q, (unsigned)(elen - 1));
			}
			q.p = next;
			break;
		}
		case DW_LNS_copy:
			if ((e = LT_ROW(0)))
				goto out;
			break;
		case DW_LNS_advance_pc:
			addr += rd_uleb(&q) * h.min_inst;
			break;
		case DW_LNS_advance_line:
			line += (uint32_t)rd_sleb(&q);
			break;
		case DW_LNS_set_file:
			file = (uint32_t)rd_uleb(&q);
			break;
		case DW_LNS_set_column:
			rd_uleb(&q); /* columns are not kept */
			break;
		case DW_LNS_negate_stmt:
		case DW_LNS_set_basic_block:
		case DW_LNS_set_prologue_end:
		case DW_LNS_set_epilogue_begin:
			break;
		case DW_LNS_const_add_pc:
			addr += (uint64_t)((255 - h.opcode_base) / h.line_range) * h.min_inst;
			break;
		case DW_LNS_fixed_advance_pc:
			addr += rd_u(&q, 2);
			break;
		default:
			/* An opcode this reader does not know: skip its ULEB
			 * operands as the header says. */
			for (unsigned k = 0; k < h.std_lens[op - 1]; k++)
				rd_uleb(&q);
			break;
		}
	}
#undef LT_ROW
out:
	qp->p = q.p;
	qp->bad = q.bad;
	return e;
}

/* gcc 12 at -O2 packs a row's file and line into one vector register,
 * and unpacks them at every opcode: on clang's line program of bench/ 30%
 * more instructions and 0.2-0.3 ms more on the line thread. */
#if defined(__GNUC__) && !defined(__clang__)
#define NO_SLP __attribute__((optimize("no-tree-slp-vectorize")))
#else
#define NO_SLP
#endif

/* Decodes the line program of JOB into its CU's rows.  Touches nothing
 * but the rows and sequences of that CU. */
static NO_SLP void lines_run(struct lt_job *job)
{
	struct dw_cu *cu = job->cu;
	const struct lt_hdr h = job->h;
	struct rd r = {job->prog, job->end, 0, job->be};
	size_t cap = 0;
	int filtered;
	/* What each special opcode adds, without two divisions a row. */
	uint32_t sp_addr[256];
	int32_t sp_line[256];

	for (unsigned op = h.opcode_base; op < 256; op++) {
		unsigned adj = op - h.opcode_base;

		sp_addr[op] = adj / h.line_range * h.min_inst;
		sp_line[op] = h.line_base + (int32_t)(adj % h.line_range);
	}
	/* The line number program: compacted, unless sequences overlap (then
	 * the rows are sorted as a whole, and a second pass keeps them all).
	 * With a filter, rows are kept for its addresses only, unless the
	 * table needs more than sorting its sequences: then it is decoded
	 * again without. */
	if (job->flt_wait)
		while (sem_wait(&job->flt_sem) && errno == EINTR)
			;
	filtered = job->flt.base != NULL;
	for (int compact = 1;;) {
		struct lt_pending pd = {0, 0, 0, 0, 0, compact};
		int sret, e;

		r.p = job->prog;
		r.bad = 0;
		cu->nrows = 0;
		/* A guess from the program's size saves the reallocations. */
		if (!cap && r.end > r.p) {
			size_t want = (size_t)(r.end - r.p) / 3 + 16;

			/* With a filter: a row an address, a few more
			 * (sequences' first and last), in 4 KiB pages when
			 * that is below a huge page's worth. */
			if (filtered && want > job->flt.n + 256)
				want = job->flt.n + 256;
			cu->rows = sym_huge_realloc(NULL, want * sizeof(*cu->rows));
			if (!cu->rows)
				goto nomem;
			cap = want;
		}
		if (filtered) {
			struct flt_run fr = {
			    .f = job->flt, .cur = UINT64_MAX, .rows = cu->rows, .cap = cap};

			e = lt_decode(&r, &h, sp_addr, sp_line, cu, &cap, &pd, &fr);
			/* The program's last row stays. */
			if (!e && fr.have && !fr.stored)
				e = flt_store(&fr, fr.cur, fr.cfile, fr.cline, 0);
			cu->rows = fr.rows;
			cu->nrows = fr.n;
			cap = fr.cap;
			if (e < 0)
				goto nomem;
			if (e) {
				filtered = 0;
				continue;
			}
		} else {
			e = lt_decode(&r, &h, sp_addr, sp_line, cu, &cap, &pd, NULL);
			if (e || (pd.set && lt_emit(cu, &cap, pd.addr, pd.file, pd.line, 0) < 0))
				goto nomem;
		}
		sret = sort_rows(cu, !filtered && (!compact || !pd.dropped), &job->mem);
		if (sret < 0)
			goto nomem;
		if (!sret)
			break;
		if (filtered)
			filtered = 0;
		else
			compact = 0;
	}
	job->rows_gen = filtered ? job->flt_gen : 0;
	job->mem += cap * sizeof(*cu->rows);
	job->ret = r.bad ? -EINVAL : 0;
	return;
nomem:
	job->ret = -ENOMEM;
}

static void *lines_thread(void *arg)
{
	struct lt_job *job = arg;

	for (int i = 0; i < 3; i++)
		sym_huge_populate(job->populate[i].p, job->populate[i].off, job->populate[i].len);
	if (job->want_pre && !__atomic_exchange_n(&job->pre_claim, 1, __ATOMIC_ACQ_REL)) {
		/* Made or not (out of memory), the walk's side may look. */
		(void)sym_arena__alloc(&job->pre, 0);
		__atomic_store_n(&job->pre_ready, 1, __ATOMIC_RELEASE);
	}
	lines_run(job);
	__atomic_store_n(&job->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Line programs smaller than this are decoded at once: a thread costs
 * more than it saves. */
#define LINES_THREAD_MIN (64u << 10)

/* Starts decoding the line program of CU (on a thread when it is large
 * and one can be made; with POPULATE, that thread first faults in where
 * the walk of CU will write); lines_join() waits for it. */
static int lines_start(struct sym_dwarf *d, struct dw_cu *cu, int populate)
{
	struct lt_job *job = calloc(1, sizeof(*job));
	int ret;

	if (!job)
		return -ENOMEM;
	ret = lines_header(d, cu, cu->stmt_list, job);
	if (ret) {
		free(job);
		return ret;
	}
	cu->job = job;
	if (populate) {
		job->populate[0] = (struct warm_span){cu->scopes, 0, (size_t)2 << 20};
		job->populate[1] = (struct warm_span){cu->ranges, 0, (size_t)2 << 20};
		job->populate[2] = d->warm;
		job->want_pre = !cu->arena.head;
		d->warm = (struct warm_span){0};
	}
	job->flt = d->flt;
	job->flt_gen = d->flt_gen;
	if (d->threads && (size_t)(job->end - job->prog) >= LINES_THREAD_MIN) {
		/* A batch's addresses are sorted after its line program is
		 * started: the thread waits for them. */
		job->flt_wait = d->flt_expect && !d->flt.base && !sem_init(&job->flt_sem, 0, 0);
		if (!pthread_create(&job->tid, NULL, lines_thread, job)) {
			job->threaded = 1;
			return 0;
		}
		if (job->flt_wait)
			sem_destroy(&job->flt_sem);
		job->flt_wait = 0;
	}
	lines_run(job);
	return 0;
}

/* Lets the thread of JOB, if it waits for a filter, go on with FLT. */
static void lines_post(struct lt_job *job, const struct row_flt *flt, unsigned gen)
{
	if (!job || !job->flt_wait || job->flt_posted)
		return;
	if (flt) {
		job->flt = *flt;
		job->flt_gen = gen;
	}
	job->flt_posted = 1;
	sem_post(&job->flt_sem);
}

/*
 * Waits for the line program of CU, if one is pending, and takes in its
 * outcome.  Returns 0, -EINVAL (the CU is marked malformed) or -ENOMEM
 * (the CU is dropped).
 */
static int lines_join(struct sym_dwarf *d, struct dw_cu *cu)
{
	struct lt_job *job = cu->job;
	int ret;

	if (!job)
		return 0;
	lines_post(job, NULL, 0);
	if (job->threaded)
		pthread_join(job->tid, NULL);
	if (job->flt_wait)
		sem_destroy(&job->flt_sem);
	/* Its arena chunk, unless the unit had one by then. */
	if (!cu->arena.head)
		sym_arena__adopt(&cu->arena, &job->pre);
	else
		sym_arena__release(&job->pre);
	cu->job = NULL;
	cu->rows_gen = job->rows_gen;
	cu->rows_mem = job->mem;
	ret = job->ret;
	cu->mem += job->mem;
	d->mem += job->mem;
	free(job);
	if (ret == -EINVAL) {
		if (!d->errmsg[0])
			set_err(d, "line table", NULL);
		if (cu->state > 0)
			cu->state = -1;
	}
	return ret;
}

/*
 * Sorts A (N elements) by start address, stably: scope ranges in DIE order
 * come in preorder, so at one start address the enclosing (wider) range
 * stays first.  They come as a few ascending runs (each scope's own
 * ranges; one run when a function's code is laid out as written), so a
 * natural merge sort takes a pass per halving of the runs.  TMP holds N
 * elements.
 */
static void sort_tops(struct dw_top *a, size_t n, struct dw_top *tmp)
{
	struct dw_top *src = a, *dst = tmp, *t;

	for (;;) {
		size_t i = 0, segs = 0;

		while (i < n) {
			size_t m = i + 1, e, l, r, k = i;

			while (m < n && src[m - 1].lo <= src[m].lo)
				m++;
			e = m < n ? m + 1 : n;
			while (e < n && src[e - 1].lo <= src[e].lo)
				e++;
			/* [i, m) and [m, e) into DST; ties from the left. */
			for (l = i, r = m; l < m && r < e;)
				dst[k++] = src[r].lo < src[l].lo ? src[r++] : src[l++];
			while (l < m)
				dst[k++] = src[l++];
			while (r < e)
				dst[k++] = src[r++];
			segs++;
			i = e;
		}
		t = src;
		src = dst;
		dst = t;
		if (segs <= 1)
			break;
	}
	if (src != a)
		memcpy(a, src, n * sizeof(*a));
}

static void flat_scratch_release(struct flat_scratch *fs)
{
	for (int i = 0; i < 2; i++)
		sym_huge_free(fs->flat[i]);
	sym_huge_free(fs->segs);
}

/*
 * Flattens the nested scope ranges of a CU into sorted, disjoint segments,
 * each naming the innermost scope there, so that a lookup is one binary
 * search whatever the number of inlined calls in a function (the chain then
 * follows parent links).  Ranges are nested in sane DWARF; one that is not
 * is clipped to its enclosing range.
 */
static int flatten_scopes(struct flat_scratch *fs, struct sym_arena *arena, struct dw_cu *cu,
			  int32_t head, size_t from, size_t to, int outer, struct dw_seg **out,
			  size_t *nout)
{
	struct dw_top *all, *stack;
	struct dw_seg *segs;
	size_t n = 0, depth = 0, nseg = 0;
	uint64_t cur = 0, seg_end = 0;

	if (head >= 0)
		n += cu->scopes[head].nranges;
	for (size_t i = from; i < to; i++)
		if (!outer || cu->scopes[i].parent < 0)
			n += cu->scopes[i].nranges;
	/* At most 2n + 1 segments, and a gap before each of at most n. */
	if (grow_huge((void **)&fs->flat[0], &fs->flat_cap[0], n + 1, sizeof(*all)) ||
	    grow_huge((void **)&fs->flat[1], &fs->flat_cap[1], n + 1, sizeof(*stack)) ||
	    grow_huge((void **)&fs->segs, &fs->segs_cap, 3 * n + 2, sizeof(*segs)))
		return -ENOMEM;
	all = fs->flat[0];
	stack = fs->flat[1];
	segs = fs->segs;
	n = 0;
	/* The head (the expanded function) first: preorder, outer first. */
	for (size_t j = 0, i; j < (head >= 0) + (to - from); j++) {
		const struct dw_scope *s;

		i = head >= 0 ? (j == 0 ? (size_t)head : from + j - 1) : from + j;
		s = &cu->scopes[i];
		if (outer && s->parent >= 0)
			continue;
		for (uint32_t k = 0; k < s->nranges; k++) {
			const struct dw_range *r = &cu->ranges[s->first_range + k];

			all[n++] = (struct dw_top){r->lo, r->hi, (uint32_t)i};
		}
	}
	sort_tops(all, n, stack);
#define EMIT(to, sc)                                                                               \
	do {                                                                                       \
		if ((to) > cur) {                                                                  \
			if (nseg && cur != seg_end)                                                \
				segs[nseg++] = (struct dw_seg){seg_end, SEG_GAP};                  \
			segs[nseg++] = (struct dw_seg){cur, (sc)};                                 \
			cur = seg_end = (to);                                                      \
		}                                                                                  \
	} while (0)
	for (size_t i = 0; i < n; i++) {
		struct dw_top r = all[i];

		while (depth && stack[depth - 1].hi <= r.lo) {
			EMIT(stack[depth - 1].hi, stack[depth - 1].scope);
			depth--;
		}
		if (depth) {
			EMIT(r.lo, stack[depth - 1].scope);
			if (r.hi > stack[depth - 1].hi)
				r.hi = stack[depth - 1].hi;
		}
		if (r.lo > cur || !depth)
			cur = r.lo;
		if (r.hi > r.lo)
			stack[depth++] = r;
	}
	while (depth) {
		EMIT(stack[depth - 1].hi, stack[depth - 1].scope);
		depth--;
	}
#undef EMIT
	if (nseg)
		segs[nseg++] = (struct dw_seg){seg_end, SEG_GAP};
	*out = sym_arena__alloc(arena, (nseg ? nseg : 1) * sizeof(*segs));
	if (!*out)
		return -ENOMEM;
	memcpy(*out, segs, nseg * sizeof(*segs));
	*nout = nseg;
	return 0;
}

/*
 * The unit's index: its outermost functions.  Each one's subtree is
 * flattened (and walked, if the unit's walk left it) the first time an
 * address lands in it: small sets sort cheaply, and a batch that touches
 * few functions does not pay for the others.
 */
static int build_tops(struct sym_dwarf *d, struct dw_cu *cu)
{
	for (size_t i = 0; i < cu->nscopes; i++)
		if (cu->scopes[i].parent < 0 && !cu->scopes[i].lazy)
			cu->scopes[i].lazy = 3;
	return flatten_scopes(&d->fs, &cu->arena, cu, -1, 0, cu->nscopes, 1, &cu->tops, &cu->ntops);
}

/*
 * A function whose subtree has at most DESCEND_MAX scopes, none of them
 * with more than DESCEND_FANOUT children, is never flattened: a lookup
 * descends its scopes instead, from the function down through the one
 * child that holds the address, stepping over each other child's subtree
 * (its NEXT).  Sorting and sweeping the ranges of every function of
 * clang's bench binary (20 167 scopes, 51 423 ranges, 1 568 functions)
 * took 1.2 ms on two threads before its lookups could start; descending
 * checks 5.5-7 scopes a lookup on the bench's C binaries, whose scopes
 * stay in the cache for the few addresses a batch brings to a function.
 * Wider ones are flattened: g++'s functions of 33-64 scopes, ten calls
 * inlined side by side, took 4 M instructions more to descend than the
 * 2.2 M their flattening costs.
 */
#define DESCEND_MAX 64
#define DESCEND_FANOUT 8

/* The scope after the subtree of scope J (malformed links step by one). */
static inline size_t after_subtree(const struct dw_cu *cu, size_t j)
{
	return cu->scopes[j].next > j ? cu->scopes[j].next : j + 1;
}

/* Children whose subtrees lie in [FROM, TO), counted up to one more
 * than DESCEND_FANOUT. */
static size_t children(const struct dw_cu *cu, size_t from, size_t to)
{
	size_t n = 0;

	for (size_t j = from; j < to && n <= DESCEND_FANOUT; n++)
		j = after_subtree(cu, j);
	return n;
}

/* Whether the subtree [FROM, TO) is small and narrow enough to descend:
 * the function's own children, then each scope's. */
static int descend_ok(const struct dw_cu *cu, size_t from, size_t to)
{
	if (to - from > DESCEND_MAX || children(cu, from, to) > DESCEND_FANOUT)
		return 0;
	for (size_t i = from; i < to; i++)
		if (children(cu, i + 1, cu->scopes[i].next < to ? cu->scopes[i].next : to) >
		    DESCEND_FANOUT)
			return 0;
	return 1;
}

/* The scopes [*FROM, *TO) of the subtree of IDX: walked with the unit
 * (lazy 3), they follow it, up to its NEXT; walked on their own (lazy 4),
 * they are where that walk put them. */
static void walked_subtree(const struct dw_cu *cu, uint32_t idx, size_t *from, size_t *to)
{
	if (cu->scopes[idx].lazy == 4) {
		*from = cu->scopes[idx].walked.from;
		*to = cu->scopes[idx].walked.to;
	} else {
		*from = idx + 1;
		*to = cu->scopes[idx].next;
	}
	if (*to < *from || *to > cu->nscopes)
		*to = *from;
}

/*
 * Walks the children of the outermost function IDX, if the unit's walk
 * left them for later, and flattens its subtree, or leaves it to be
 * descended (lazy 4) when descend_ok().  Returns 0, -EINVAL when the
 * subtree is malformed (what was read is used), or -ENOMEM.
 */
static int expand_scope(struct sym_dwarf *d, struct dw_cu *cu, uint32_t idx)
{
	size_t from = cu->nscopes, to, cap = cu->cap_scopes, capr = cu->cap_ranges, nsub = 0;
	struct dw_seg *sub = NULL;
	struct unit *up = cu->unit;
	struct rd r;
	int ret = 0, fret;

	if (cu->scopes[idx].lazy == 3) {
		walked_subtree(cu, idx, &from, &to);
	} else {
		if (!up || !cu->abt || cu->scopes[idx].kids >= up->end) {
			cu->scopes[idx].lazy = 2;
			return -EINVAL;
		}
		r = (struct rd){up->info.p + cu->scopes[idx].kids, up->info.p + up->end, 0, up->be};
		ret = walk_dies(d, cu, up, cu->abt, r, (int32_t)idx, 0);
		if (ret == -ENOMEM)
			return ret;
		to = cu->nscopes;
	}
	if (descend_ok(cu, from, to)) {
		cu->scopes[idx].lazy = 4;
		cu->scopes[idx].walked.from = (uint32_t)from;
		cu->scopes[idx].walked.to = (uint32_t)to;
	} else {
		cu->scopes[idx].lazy = 2;
		fret =
		    flatten_scopes(&d->fs, &cu->arena, cu, (int32_t)idx, from, to, 0, &sub, &nsub);
		if (fret)
			return fret;
		cu->scopes[idx].sub = sub;
		cu->scopes[idx].nsub = (uint32_t)nsub;
	}
	{
		size_t add = nsub * sizeof(*sub) + (cu->cap_scopes - cap) * sizeof(*cu->scopes) +
			     (cu->cap_ranges - capr) * sizeof(*cu->ranges);

		cu->mem += add;
		d->mem += add;
	}
	return ret;
}

/*
 * Building every function's index of a CU at once, on two threads: a
 * batch with several addresses per function needs them all, and right
 * after the DIE walk the other core has little to do.  Only functions
 * walked with the unit (lazy 3) qualify: their subtrees are in place, so
 * each thread only reads the scopes and writes its own functions' index
 * fields, with a scratch and an arena of its own.
 */
struct preflat {
	struct dw_cu *cu;
	const uint32_t *list; /* outermost functions, [from, to) for this part */
	size_t from, to;
	struct flat_scratch *fs;
	struct sym_arena *arena;
	size_t nsub; /* segments made */
};

/* Stops at the first failure (out of memory): the functions left stay
 * lazy and are expanded when a lookup lands in them. */
static void preflat_run(struct preflat *p)
{
	struct dw_cu *cu = p->cu;

	for (size_t k = p->from; k < p->to; k++) {
		struct dw_scope *s = &cu->scopes[p->list[k]];
		size_t from, to, nsub = 0;
		struct dw_seg *sub = NULL;

		walked_subtree(cu, p->list[k], &from, &to);
		if (flatten_scopes(p->fs, p->arena, cu, (int32_t)p->list[k], from, to, 0, &sub,
				   &nsub))
			return;
		s->sub = sub;
		s->nsub = (uint32_t)nsub;
		s->lazy = 2;
		p->nsub += nsub;
	}
}

static void *preflat_thread(void *arg)
{
	preflat_run(arg);
	return NULL;
}

/* Scopes in the walked subtree of IDX, itself included. */
static size_t subtree_size(const struct dw_cu *cu, uint32_t idx)
{
	size_t from, to;

	walked_subtree(cu, idx, &from, &to);
	return to - from + 1;
}

/* Whether the walked subtree of IDX is to be flattened. */
static int flat_wanted(const struct dw_cu *cu, uint32_t idx)
{
	size_t from, to;

	walked_subtree(cu, idx, &from, &to);
	return !descend_ok(cu, from, to);
}

/* Functions per CU from which building them all on two threads pays. */
#define PREFLAT_MIN 64

static void preflatten(struct sym_dwarf *d, struct dw_cu *cu)
{
	struct flat_scratch fs = {0};
	struct sym_arena arena = {0};
	uint32_t *list;
	size_t n = 0, work = 0, half = 0, split, add;
	pthread_t tid;
	int threaded;

	for (size_t i = 0; i < cu->nscopes; i++)
		n += cu->scopes[i].parent < 0 && cu->scopes[i].lazy == 3;
	/* Of those, the ones to flatten: PREFLAT_MIN or more, and at most a
	 * quarter of the batch's addresses. */
	if (!d->threads || n < PREFLAT_MIN || d->expect / 4 < PREFLAT_MIN)
		return;
	list = malloc(n * sizeof(*list));
	if (!list)
		return;
	n = 0;
	for (size_t i = 0; i < cu->nscopes; i++)
		if (cu->scopes[i].parent < 0 && cu->scopes[i].lazy == 3 &&
		    flat_wanted(cu, (uint32_t)i))
			list[n++] = (uint32_t)i;
	if (n < PREFLAT_MIN || d->expect / 4 < n) {
		free(list);
		return;
	}
	for (size_t k = 0; k < n; k++)
		work += subtree_size(cu, list[k]);
	/* Halves of about the same number of scopes. */
	for (split = 0; split < n && half < work / 2; split++)
		half += subtree_size(cu, list[split]);
	{
		struct preflat mine = {cu, list, 0, split, &d->fs, &cu->arena, 0};
		struct preflat other = {cu, list, split, n, &fs, &arena, 0};

		/* The indexes of clang's 5.7 MB bench binary take 1.4 MB: one
		 * huge page for both halves. */
		sym_arena__split(&cu->arena, &arena);

		threaded = !pthread_create(&tid, NULL, preflat_thread, &other);
		preflat_run(&mine);
		if (threaded)
			pthread_join(tid, NULL);
		else
			preflat_run(&other);
		add = (mine.nsub + other.nsub) * sizeof(struct dw_seg);
	}
	sym_arena__adopt(&cu->arena, &arena);
	flat_scratch_release(&fs);
	free(list);
	cu->mem += add;
	d->mem += add;
}

void sym_dwarf__expect(struct sym_dwarf *d, size_t naddrs)
{
	d->expect = naddrs;
}

void sym_dwarf__warm(struct sym_dwarf *d, void *p, size_t off, size_t len)
{
	d->warm = (struct warm_span){p, off, len};
}

void sym_dwarf__filter_expect(struct sym_dwarf *d)
{
	d->flt_expect = 1;
}

void sym_dwarf__filter(struct sym_dwarf *d, const void *addrs, size_t n, size_t stride)
{
	d->flt = (struct row_flt){addrs, addrs ? n : 0, stride, 0, 0};
	d->flt_gen = 0;
	d->flt_expect = 0;
	if (addrs) {
		if (!++d->flt_count)
			++d->flt_count;
		d->flt_gen = d->flt_count;
	}
	for (size_t i = 0; i < d->ncus; i++) {
		struct lt_job *job = d->cus[i].job;

		/* The end of the batch: its addresses are the caller's again. */
		if (!addrs && job && job->flt.base && lines_join(d, &d->cus[i]) == -ENOMEM)
			cu_release(d, &d->cus[i]);
		else
			lines_post(job, addrs ? &d->flt : NULL, d->flt_gen);
	}
}

/* Rows kept for the addresses of another batch: decoded again for this
 * one (or all).  0 or -ENOMEM (the CU is dropped). */
static int rows_current(struct sym_dwarf *d, struct dw_cu *cu)
{
	int ret;

	if (!cu->rows_gen || cu->rows_gen == d->flt_gen)
		return 0;
	cu->mem -= cu->rows_mem;
	d->mem -= cu->rows_mem;
	rows_free(cu);
	ret = lines_start(d, cu, 0);
	if (!ret)
		ret = lines_join(d, cu);
	if (ret == -ENOMEM)
		cu_release(d, cu);
	return ret == -ENOMEM ? ret : 0;
}

static void evict(struct sym_dwarf *d, struct dw_cu *keep)
{
	for (size_t i = 0; i < d->ncus && d->mem > d->budget / 2; i++)
		if (&d->cus[i] != keep && d->cus[i].state > 0)
			cu_release(d, &d->cus[i]);
}

static int decode_cu(struct sym_dwarf *d, struct dw_cu *cu)
{
	int ret, lret = 0;

	raw_sections_load(d);
	ret = walk_unit(d, cu, &lret);
	if (ret == -EINVAL && !d->errmsg[0])
		set_err(d, "DIE tree", NULL);
	if (lret == -EINVAL && !d->errmsg[0])
		set_err(d, "line table", NULL);
	if (!ret || lret == -ENOMEM)
		ret = lret;
	if (ret != -ENOMEM) {
		int bret;

		/* The arena chunk the line thread made, if it is there yet:
		 * one huge page less to fault in here.  If the thread has not
		 * come to it, it never will: the index makes its own.  (Caught
		 * while its huge page is being faulted in, the chunk is made
		 * twice, as before the claim.) */
		if (cu->job && cu->job->want_pre && !cu->arena.head &&
		    __atomic_exchange_n(&cu->job->pre_claim, 1, __ATOMIC_ACQ_REL) &&
		    __atomic_load_n(&cu->job->pre_ready, __ATOMIC_ACQUIRE))
			sym_arena__adopt(&cu->arena, &cu->job->pre);
		bret = build_tops(d, cu);
		if (bret)
			ret = bret;
	}
	cu->mem += cu->cap_scopes * sizeof(*cu->scopes) + cu->cap_ranges * sizeof(*cu->ranges) +
		   cu->ntops * sizeof(*cu->tops);
	d->mem += cu->mem;
	if (ret) {
		/* A malformed CU keeps what it decoded (state -1: never
		 * retried); out of memory drops it. */
		if (ret == -ENOMEM)
			cu_release(d, cu);
		cu->state = ret == -ENOMEM ? 0 : -1;
		return ret;
	}
	cu->state = 1;
	preflatten(d, cu);
	if (d->mem > d->budget)
		evict(d, cu);
	return 0;
}

/* ---- names ---- */

static const char **name_slot(struct sym_dwarf *d, Dwarf_Off off, int *found)
{
	size_t mask, h;

	if (d->names_used * 2 >= d->names_cap) {
		size_t ncap = d->names_cap ? d->names_cap * 2 : 1024;
		struct name_slot *n = calloc(ncap, sizeof(*n));

		if (!n)
			return NULL;
		for (size_t i = 0; i < d->names_cap; i++) {
			if (!d->names[i].off)
				continue;
			h = (d->names[i].off * 0x9e3779b97f4a7c15ull) >> 20 & (ncap - 1);
			while (n[h].off)
				h = (h + 1) & (ncap - 1);
			n[h] = d->names[i];
		}
		free(d->names);
		d->names = n;
		d->names_cap = ncap;
	}
	mask = d->names_cap - 1;
	h = (off * 0x9e3779b97f4a7c15ull) >> 20 & mask;
	while (d->names[h].off && d->names[h].off != off)
		h = (h + 1) & mask;
	*found = d->names[h].off == off;
	if (!*found) {
		d->names[h].off = off;
		d->names[h].name = NULL;
		d->names_used++;
	}
	return &d->names[h].name;
}

/* As binutils: a linkage name anywhere along abstract_origin /
 * specification wins, else the first DW_AT_name met. */
static const char *die_name(struct sym_dwarf *d, Dwarf_Die die, int depth, int *linkage)
{
	static const Dwarf_Half refs[] = {DW_AT_abstract_origin, DW_AT_specification};
	Dwarf_Error err = NULL;
	Dwarf_Attribute attr;
	const char *name = NULL;
	char *s;

	*linkage = 0;
	if (dwarf_attr(die, DW_AT_linkage_name, &attr, &err) == DW_DLV_OK ||
	    (dw_err_free(d, &err), dwarf_attr(die, DW_AT_MIPS_linkage_name, &attr, &err)) ==
		DW_DLV_OK) {
		int ok = dwarf_formstring(attr, &s, &err) == DW_DLV_OK;

		dwarf_dealloc_attribute(attr);
		dw_err_free(d, &err);
		if (ok) {
			*linkage = 1;
			return s;
		}
	}
	dw_err_free(d, &err);
	if (dwarf_attr(die, DW_AT_name, &attr, &err) == DW_DLV_OK) {
		if (dwarf_formstring(attr, &s, &err) == DW_DLV_OK)
			name = s;
		dwarf_dealloc_attribute(attr);
	}
	dw_err_free(d, &err);
	if (depth >= MAX_NAME_DEPTH)
		return name;
	for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
		Dwarf_Off off;
		Dwarf_Die other = NULL;
		const char *oname;
		int olink = 0;

		if (dwarf_attr(die, refs[i], &attr, &err) != DW_DLV_OK) {
			dw_err_free(d, &err);
			continue;
		}
		if (dwarf_global_formref(attr, &off, &err) == DW_DLV_OK &&
		    dwarf_offdie_b(d->dbg, off, 1, &other, &err) == DW_DLV_OK) {
			oname = die_name(d, other, depth + 1, &olink);
			dwarf_dealloc_die(other);
			if (olink) {
				name = oname;
				*linkage = 1;
			} else if (!name) {
				name = oname;
			}
		}
		dw_err_free(d, &err);
		dwarf_dealloc_attribute(attr);
		if (*linkage)
			break;
	}
	return name;
}

/* An unsigned constant attribute; DW_FORM_implicit_const (gcc 11+ uses it
 * for call_file) only reaches us through dwarf_formsdata. */
static int attr_u32(struct sym_dwarf *d, Dwarf_Die die, Dwarf_Half at, uint32_t *out)
{
	Dwarf_Error err = NULL;
	Dwarf_Attribute attr;
	Dwarf_Unsigned u;
	Dwarf_Signed sv;
	int ok = 0;

	if (dwarf_attr(die, at, &attr, &err) != DW_DLV_OK) {
		dw_err_free(d, &err);
		return 0;
	}
	if (dwarf_formudata(attr, &u, &err) == DW_DLV_OK) {
		ok = u <= UINT32_MAX;
		*out = (uint32_t)u;
	} else {
		dw_err_free(d, &err);
		if (dwarf_formsdata(attr, &sv, &err) == DW_DLV_OK && sv >= 0 && sv <= UINT32_MAX) {
			ok = 1;
			*out = (uint32_t)sv;
		}
	}
	dw_err_free(d, &err);
	dwarf_dealloc_attribute(attr);
	return ok;
}

static void resolve_scope_dwarf(struct sym_dwarf *d, struct dw_scope *s, int use_cache);

/* Names from the unit's own bytes, libdwarf only for references that
 * leave the unit (DW_FORM_ref_addr). */
static void resolve_scope(struct sym_dwarf *d, struct dw_cu *cu, struct dw_scope *s)
{
	const char **slot, *sub;
	int found = 0, sublink;

	if (s->has_link || !s->ref_abs) {
		s->name = s->name_hint;
		s->resolved = 1;
		return;
	}
	if (s->ref_local && cu->unit) {
		if (!s->name_hint) {
			/* Many inlined instances share one origin: cache. */
			slot = name_slot(d, s->ref_abs, &found);
			if (slot && found) {
				s->name = *slot;
				s->resolved = 1;
				return;
			}
			if (unit_name(cu->unit, cu->abt, s->ref_abs, 1, &sub, &sublink)) {
				s->name = sub;
				s->resolved = 1;
				if (slot)
					*slot = sub;
				return;
			}
			resolve_scope_dwarf(d, s, 0);
			if (slot)
				*slot = s->name;
			return;
		} else if (unit_name(cu->unit, cu->abt, s->ref_abs, 1, &sub, &sublink)) {
			s->name = sublink ? sub : s->name_hint;
			s->resolved = 1;
			return;
		}
	}
	resolve_scope_dwarf(d, s, 1);
}

static void resolve_scope_dwarf(struct sym_dwarf *d, struct dw_scope *s, int use_cache)
{
	Dwarf_Error err = NULL;
	Dwarf_Die die = NULL;
	Dwarf_Attribute attr;
	const char **slot;
	int found = 0, linkage;

	s->resolved = 1;
	if (!dbg_ready(d))
		return;
	if (dwarf_offdie_b(d->dbg, s->off, 1, &die, &err) != DW_DLV_OK) {
		dw_err_free(d, &err);
		return;
	}
	/* Many inlined instances share one abstract origin: cache by it,
	 * unless the DIE has its own linkage name (a C++ constructor or
	 * destructor variant shares the origin of its siblings). */
	if (dwarf_attr(die, DW_AT_linkage_name, &attr, &err) == DW_DLV_OK) {
		dwarf_dealloc_attribute(attr);
		found = 1;
		s->name = die_name(d, die, 0, &linkage);
	} else if (dw_err_free(d, &err),
		   dwarf_attr(die, DW_AT_abstract_origin, &attr, &err) == DW_DLV_OK) {
		Dwarf_Off off;

		if (use_cache && dwarf_global_formref(attr, &off, &err) == DW_DLV_OK) {
			slot = name_slot(d, off, &found);
			if (slot && found) {
				s->name = *slot;
			} else {
				s->name = die_name(d, die, 0, &linkage);
				if (slot)
					*slot = s->name;
			}
			found = 1;
		}
		dwarf_dealloc_attribute(attr);
	}
	dw_err_free(d, &err);
	if (!found)
		s->name = die_name(d, die, 0, &linkage);
	if (s->inlined) {
		attr_u32(d, die, DW_AT_call_file, &s->call_file);
		attr_u32(d, die, DW_AT_call_line, &s->call_line);
	}
	dwarf_dealloc_die(die);
}

/* ---- lookup ---- */

static const char *cu_file(const struct dw_cu *cu, uint32_t idx)
{
	if (idx >= cu->nfiles || !cu->files)
		return NULL;
	return cu->files[idx];
}

static struct dw_cu *find_cu(struct sym_dwarf *d, uint64_t addr)
{
	size_t lo = 0, hi = d->ncuranges, h = d->curange_hint;

	/* The range found last, when the next one does not start before
	 * ADDR: addresses come in order, mostly many to a CU. */
	if (h < d->ncuranges && d->curanges[h].lo <= addr && addr < d->curanges[h].hi &&
	    (h + 1 == d->ncuranges || addr < d->curanges[h + 1].lo))
		return &d->cus[d->curanges[h].cu];

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (d->curanges[mid].lo <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* CU ranges normally do not overlap; look back a little if they do. */
	for (size_t i = lo, k = 0; i > 0 && k < 16; i--, k++) {
		const struct dw_curange *r = &d->curanges[i - 1];

		if (addr < r->hi) {
			d->curange_hint = i - 1;
			return &d->cus[r->cu];
		}
	}
	return NULL;
}

static int scope_has(const struct dw_cu *cu, const struct dw_scope *s, uint64_t addr, uint64_t *lo)
{
	for (uint32_t k = 0; k < s->nranges; k++) {
		const struct dw_range *r = &cu->ranges[s->first_range + k];

		if (addr >= r->lo && addr < r->hi) {
			*lo = r->lo;
			return 1;
		}
	}
	return 0;
}

/* The innermost scope of the walked subtree of TOP that holds ADDR (TOP
 * when none does). */
static int32_t descend(const struct dw_cu *cu, uint32_t top, uint64_t addr)
{
	size_t i, to;
	int32_t in = (int32_t)top;
	uint64_t lo;

	walked_subtree(cu, top, &i, &to);
	while (i < to) {
		const struct dw_scope *s = &cu->scopes[i];
		size_t next = after_subtree(cu, i);

		if (next > to)
			next = i + 1;
		if (scope_has(cu, s, addr, &lo)) {
			in = (int32_t)i;
			to = next;
			i++;
		} else {
			i = next;
		}
	}
	return in;
}

/*
 * Index of the first element whose key is above ADDR, in an array sorted by
 * key.  Starts from HINT and gallops forward when ADDR is beyond it, which
 * is the common case: the resolver looks addresses up in ascending order.
 */
#define GALLOP_UPPER(arr, n, key, addr, hint)                                                      \
	({                                                                                         \
		size_t lo_ = 0, hi_ = (n), h_ = (hint);                                            \
		if (h_ < (n) && (arr)[h_].key <= (addr)) {                                         \
			size_t step_ = 1;                                                          \
			lo_ = h_ + 1;                                                              \
			while (h_ + step_ < (n) && (arr)[h_ + step_].key <= (addr)) {              \
				lo_ = h_ + step_ + 1;                                              \
				step_ *= 2;                                                        \
			}                                                                          \
			hi_ = h_ + step_ < (n) ? h_ + step_ : (n);                                 \
		}                                                                                  \
		while (lo_ < hi_) {                                                                \
			size_t mid_ = lo_ + (hi_ - lo_) / 2;                                       \
			if ((arr)[mid_].key <= (addr))                                             \
				lo_ = mid_ + 1;                                                    \
			else                                                                       \
				hi_ = mid_;                                                        \
		}                                                                                  \
		lo_;                                                                               \
	})

static const struct dw_row *find_row(struct dw_cu *cu, uint64_t addr)
{
	const struct dw_row *rows = cu->rows;
	size_t lo;

	if (cu->seqs) {
		size_t k = GALLOP_UPPER(cu->seqs, cu->nseqs, first, addr, cu->seq_hint);
		size_t hi;

		if (!k)
			return NULL;
		/* Within the sequence, gallop from the last row found there. */
		hi = cu->row_hint >= cu->seqs[k - 1].start &&
			     cu->row_hint - cu->seqs[k - 1].start < cu->seqs[k - 1].n
			 ? cu->row_hint - cu->seqs[k - 1].start
			 : 0;
		cu->seq_hint = k - 1;
		rows += cu->seqs[k - 1].start;
		lo = GALLOP_UPPER(rows, cu->seqs[k - 1].n, addr, addr, hi);
		cu->row_hint = cu->seqs[k - 1].start + (lo ? lo - 1 : 0);
	} else {
		lo = GALLOP_UPPER(cu->rows, cu->nrows, addr, addr, cu->row_hint);
		cu->row_hint = lo ? lo - 1 : 0;
	}
	if (lo == 0 || rows[lo - 1].end)
		return NULL;
	return &rows[lo - 1];
}

/* The rows of CU, once its line program is decoded (again, when they
 * were kept for another batch's addresses): 0, or -ENOMEM (the CU is
 * dropped, as when decoding it ran out of memory). */
static int cu_rows_ready(struct sym_dwarf *d, struct dw_cu *cu)
{
	if (cu->job && lines_join(d, cu) == -ENOMEM) {
		cu_release(d, cu);
		return -ENOMEM;
	}
	return rows_current(d, cu);
}

int sym_dwarf__prefetch(struct sym_dwarf *d, uint64_t addr)
{
	struct dw_cu *cu = find_cu(d, addr);

	if (!cu)
		return 0;
	/* What goes wrong here is met and said again by the unit's walk
	 * (walk_unit() starts the program only when nothing has). */
	if (cu->state == 0 && !cu->job && cu->has_stmt_list) {
		struct unit u = {.d = d, .cu = cu};
		uint64_t abbrev_off, next;
		uint8_t type;
		struct rd r;

		raw_sections_load(d);
		/* The walk's arrays now, so that the line thread faults their
		 * first pages in while this one sorts and sets up the batch:
		 * two huge pages less between it and the walk. */
		if (!unit_open(d, cu->hdr_off, &u, &r, &abbrev_off, &type, &next))
			(void)cu_reserve(cu, u.end - u.start);
		(void)lines_start(d, cu, 1);
	}
	return 1;
}

/* 1 when the rows of CU can be read without waiting for their thread. */
static int cu_rows_done(const struct dw_cu *cu)
{
	return !cu->job || !cu->job->threaded || __atomic_load_n(&cu->job->done, __ATOMIC_ACQUIRE);
}

int sym_dwarf__rows_ready(struct sym_dwarf *d, uint64_t addr)
{
	struct dw_cu *cu = find_cu(d, addr);

	return !cu || cu_rows_done(cu);
}

int sym_dwarf__row(struct sym_dwarf *d, uint64_t addr, const char **file, uint32_t *line, int *bad)
{
	struct dw_cu *cu = find_cu(d, addr);
	const struct dw_row *row;

	*file = NULL;
	*line = 0;
	if (!cu)
		return 0;
	/* Dropped for the memory budget since the lookup: decode again. */
	if (cu->state == 0 && decode_cu(d, cu) == -ENOMEM)
		return -ENOMEM;
	if (cu_rows_ready(d, cu))
		return -ENOMEM;
	if (cu->state < 0)
		*bad = 1;
	row = find_row(cu, addr);
	if (!row)
		return 0;
	*file = cu_file(cu, row->file);
	*line = row->line;
	return 1;
}

int sym_dwarf__lookup(struct sym_dwarf *d, uint64_t addr, struct sym_frame *frames, int max,
		      uint64_t *lo_pc, int *bad, int *row_later)
{
	struct dw_cu *cu = find_cu(d, addr);
	const struct dw_row *row = NULL;
	uint32_t chain[MAX_DIE_DEPTH + 2]; /* innermost first */
	int nchain = 0, n = 0, ret, later = row_later && *row_later;
	size_t lo;

	*bad = 0;
	*lo_pc = 0;
	if (!cu)
		return 0;
	if (cu->state == 0) {
		ret = decode_cu(d, cu);
		if (ret == -ENOMEM)
			return ret;
	}
	/* Once the rows are in, the row now: a second call for it would
	 * find the CU and the row's sequence again. */
	if (later && cu_rows_done(cu))
		later = 0;
	if (row_later)
		*row_later = later;
	if (!later) {
		if (cu_rows_ready(d, cu))
			return -ENOMEM;
		row = find_row(cu, addr);
	}
	if (cu->state < 0)
		*bad = 1;

	/* The innermost scope at ADDR, then its parents. */
	lo = GALLOP_UPPER(cu->tops, cu->ntops, lo, addr, cu->top_hint);
	cu->top_hint = lo ? lo - 1 : 0;
	if (lo > 0 && cu->tops[lo - 1].scope != SEG_GAP) {
		uint32_t top = cu->tops[lo - 1].scope;
		int32_t first_sc = (int32_t)top;
		int k = 0;

		if (top < cu->nscopes && (cu->scopes[top].lazy == 1 || cu->scopes[top].lazy == 3)) {
			ret = expand_scope(d, cu, top);
			if (ret == -ENOMEM)
				return ret;
			if (ret)
				*bad = 1;
		}
		if (top < cu->nscopes && cu->scopes[top].lazy == 4) {
			first_sc = descend(cu, top, addr);
		} else if (top < cu->nscopes && cu->scopes[top].sub) {
			/* The innermost scope inside the expanded function. */
			struct dw_scope *ts = &cu->scopes[top];
			size_t lo2 = GALLOP_UPPER(ts->sub, ts->nsub, lo, addr, ts->sub_hint);

			ts->sub_hint = lo2 ? (uint32_t)(lo2 - 1) : 0;
			if (lo2 > 0 && ts->sub[lo2 - 1].scope != SEG_GAP)
				first_sc = (int32_t)ts->sub[lo2 - 1].scope;
		}
		for (int32_t sc = first_sc;
		     sc >= 0 && (size_t)sc < cu->nscopes && k < MAX_DIE_DEPTH;
		     sc = cu->scopes[sc].parent)
			chain[k++] = (uint32_t)sc;
		nchain = k;
	}
	if (!nchain) {
		if (later)
			return -EAGAIN; /* the answer is the row alone: later */
		if (!row || max < 1)
			return 0;
		frames[0] = (struct sym_frame){NULL, cu_file(cu, row->file), row->line, 0};
		return 1;
	}
	for (int i = 0; i < nchain && n < max; i++) {
		struct dw_scope *s = &cu->scopes[chain[i]];
		struct sym_frame *f = &frames[n];

		if (!s->resolved)
			resolve_scope(d, cu, s);
		f->func = s->name;
		f->inlined = 1;
		/* Only the last frame's low pc is of use (the function's
		 * start when no symbol covers it): the ranges of the inner
		 * scopes are not read. */
		if (!s->inlined || i == nchain - 1 || n + 1 == max)
			scope_has(cu, s, addr, lo_pc);
		if (n == 0) {
			f->file = row ? cu_file(cu, row->file) : NULL;
			f->line = row ? row->line : 0;
		} else {
			/* The caller's location is the call site of the frame
			 * inlined into it. */
			struct dw_scope *callee = &cu->scopes[chain[i - 1]];

			f->file = cu_file(cu, callee->call_file);
			f->line = callee->call_line;
		}
		n++;
		if (!s->inlined)
			break; /* a real function ends the chain */
	}
	if (n)
		frames[n - 1].inlined = 0;
	return n;
}

/* ---- open / free ---- */

/*
 * The unit index (address -> CU) read straight from .debug_info: each unit
 * header and its unit DIE, whose abbreviation is looked up alone rather
 * than building the unit's whole table.  libdwarf's own walk over the unit
 * headers (dwarf_next_cu_header_d) builds a context per unit and makes it
 * read every .debug_loclists header too: on libc's debug file that was 0.2
 * G instructions of the 0.33 G an open cost.
 */
static int cu_die_vals(struct unit *u, struct raw_sec abbrev, uint64_t abbrev_off, struct rd *r,
		       struct die_vals *v)
{
	uint64_t code = rd_uleb(r);
	struct rd a;

	if (r->bad || !code || !abbrev.p || abbrev_off >= abbrev.size)
		return -1;
	a = (struct rd){abbrev.p + abbrev_off, abbrev.p + abbrev.size, 0, 0};
	for (;;) {
		uint64_t c = rd_uleb(&a);
		int match;

		(void)rd_uleb(&a); /* tag */
		rd_skip(&a, 1);	   /* children */
		if (a.bad || !c)
			return -1;
		match = c == code;
		for (;;) {
			uint64_t at = rd_uleb(&a), form = rd_uleb(&a);
			int64_t ic = 0;

			if (a.bad)
				return -1;
			if (!at && !form)
				break;
			if (form == DW_FORM_implicit_const)
				ic = rd_sleb(&a);
			if (match) {
				read_attr(u, r, (uint16_t)at, (uint16_t)form, ic, v);
				if (r->bad)
					return -1;
			}
		}
		if (match)
			return 0;
	}
}

static int index_cus_raw(struct sym_dwarf *d)
{
	struct curange_ctx rc = {.d = d};
	struct raw_sec info, abbrev;
	size_t cap_cus = 0;
	uint64_t off = 0;
	int ret = 0;

	raw_sections_load(d);
	info = raw_section(d, RAW_INFO);
	abbrev = raw_section(d, RAW_ABBREV);
	while (info.p && off < info.size) {
		struct unit u = {.d = d};
		struct die_vals v = {0};
		struct rd r;
		uint64_t abbrev_off, hdr = off, lo = 0;
		uint8_t type;
		struct dw_cu *cu;
		int rc_open = unit_open(d, hdr, &u, &r, &abbrev_off, &type, &off);

		if (rc_open == -EINVAL) {
			snprintf(d->errmsg, sizeof(d->errmsg),
				 "'%s': malformed DWARF: unit at .debug_info+0x%" PRIx64
				 ": bad length",
				 d->e->path, hdr);
			ret = d->ncus ? 0 : -EINVAL; /* keep the units read so far */
			break;
		}
		if (rc_open || type == DW_UT_type || type == DW_UT_split_type ||
		    type == DW_UT_skeleton || type == DW_UT_split_compile)
			continue;
		{
			uint64_t die_off = (uint64_t)(r.p - info.p);

			if (cu_die_vals(&u, abbrev, abbrev_off, &r, &v))
				continue;
			if (grow((void **)&d->cus, &cap_cus, d->ncus + 1, sizeof(*d->cus))) {
				ret = -ENOMEM;
				break;
			}
			cu = &d->cus[d->ncus];
			memset(cu, 0, sizeof(*cu));
			cu->die_off = die_off;
		}
		unit_bases(&u, &v);
		u.cu = cu;
		cu->hdr_off = hdr;
		cu->version = u.version;
		if (v.has_low && (!v.low_x || !unit_addrx(&u, v.low, &lo)))
			cu->base = v.low_x ? lo : v.low;
		if (v.comp_form)
			cu->comp_dir = unit_str(&u, v.comp_form, v.comp_val, v.comp_ptr);
		cu->stmt_list = v.stmt_list;
		cu->has_stmt_list = v.has_stmt_list;
		rc.cu = (uint32_t)d->ncus;
		ret = unit_ranges(&u, &v, add_curange, &rc);
		d->ncus++;
		if (ret == -ENOMEM)
			break;
		ret = 0;
	}
	if (d->ncuranges > 1)
		qsort(d->curanges, d->ncuranges, sizeof(*d->curanges), cmp_curange);
	return ret;
}

int sym_dwarf__open(struct sym_dwarf **out, struct sym_elf *e, size_t mem_budget, char *errbuf,
		    size_t errlen)
{
	struct sym_dwarf *d;
	int ret;

	*out = NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->e = e;
	d->budget = mem_budget ? mem_budget : (size_t)256 << 20;
	d->threads = 1;
	ret = setup_sections(d);
	if (ret)
		goto out;
	raw_sections_load(d);
	if (!d->raw[RAW_INFO].p) {
		ret = -ENOENT; /* no DWARF (or none that can be read) */
		goto out;
	}
	ret = index_cus_raw(d);
	if (ret == -EINVAL)
		snprintf(errbuf, errlen, "%s", d->errmsg);
out:
	if (ret) {
		sym_dwarf__free(d);
		return ret;
	}
	*out = d;
	return 0;
}

void sym_dwarf__free(struct sym_dwarf *d)
{
	Dwarf_Error err = NULL;

	if (!d)
		return;
	for (size_t i = 0; i < d->ncus; i++)
		cu_release(d, &d->cus[i]);
	free(d->cus);
	free(d->curanges);
	flat_scratch_release(&d->fs);
	free(d->names);
	for (size_t i = 0; i < d->paths_cap; i++)
		free(d->paths[i]);
	free(d->paths);
	if (d->dbg) {
		dwarf_object_finish(d->dbg, &err);
		if (err)
			dwarf_dealloc(NULL, err, DW_DLA_ERROR);
	}
	for (size_t i = 0; i < d->nsecs; i++)
		free(d->secs[i].name);
	free(d->secs);
	free(d);
}

const char *sym_dwarf__errmsg(const struct sym_dwarf *d)
{
	return d->errmsg;
}
