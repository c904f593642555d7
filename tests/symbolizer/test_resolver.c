/* SPDX-License-Identifier: MIT */
/*
 * Resolver tests on fixtures compiled at build time from the sources in
 * fixtures/ (make_fixtures.sh): inline chains with call sites, DWARF 4/5, compressed
 * sections, clang, debug files by build-id and debuglink, every miss
 * reason, embedded symbols, file offsets, build-ids, kernel symbols.
 *
 * usage: test_resolver FIXTURE_DIR SOURCE_DIR
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <gelf.h>
#include <libelf.h>

#include <sym/huge.h>
#include <sym/resolver.h>

static const char *fx_dir, *src_dir;

static const char *fx(const char *name)
{
	static char buf[8][4096];
	static int k;

	k = (k + 1) % 8;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", fx_dir, name);
	return buf[k];
}

/* Address and size of symbol NAME in PATH's .symtab, read with libelf
 * independently of the resolver. */
static int elf_symbol(const char *path, const char *name, uint64_t *addr, uint64_t *size)
{
	int fd = open(path, O_RDONLY), found = 0;
	Elf *e;
	Elf_Scn *scn = NULL;

	if (fd < 0)
		return 0;
	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ, NULL);
	while (e && !found && (scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB)
			continue;
		d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym s;
			const char *n;

			if (!gelf_getsym(d, (int)i, &s))
				continue;
			n = elf_strptr(e, sh.sh_link, s.st_name);
			if (n && !strcmp(n, name)) {
				*addr = s.st_value;
				*size = s.st_size;
				found = 1;
				break;
			}
		}
	}
	elf_end(e);
	close(fd);
	return found;
}

/* Line number of the line of fixtures/FILE holding MARKER. */
static uint32_t marker_line(const char *file, const char *marker)
{
	char path[4096], line[512];
	uint32_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/tests/symbolizer/fixtures/%s", src_dir, file);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		n++;
		if (strstr(line, marker)) {
			fclose(f);
			return n;
		}
	}
	fclose(f);
	fail_msg("marker %s not in %s", marker, file);
	return 0;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = s ? strlen(s) : 0, b = strlen(suffix);

	return s && a >= b && !strcmp(s + a - b, suffix);
}

static int same_str(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static struct sym_resolver *new_resolver(const char *debug_dir)
{
	struct sym_resolver_opts opts = {0};
	struct sym_resolver *r = NULL;
	const char *dirs[1] = {debug_dir};

	opts.debug_dirs = dirs;
	opts.n_debug_dirs = debug_dir ? 1 : 0;
	assert_int_equal(sym_resolver__new(&r, &opts), 0);
	return r;
}

/*
 * Scans chain_top in BIN for an address whose chain is
 * chain_leaf <- chain_mid <- chain_top and checks names, files and the call
 * sites of each frame.  LOOKUP_PATH is what the resolver opens (a stripped
 * binary), SYM_PATH where the test reads the symbol.
 */
static void check_chain(const char *lookup_path, const char *sym_path, const char *debug_dir)
{
	struct sym_resolver *r = new_resolver(debug_dir);
	uint64_t top, size;
	uint32_t leaf_line = marker_line("chain.h", "LINE_LEAF_BODY");
	uint32_t call_leaf = marker_line("chain.h", "LINE_CALL_LEAF");
	uint32_t call_mid = marker_line("chain.c", "LINE_CALL_MID");
	int seen_chain = 0, seen_entry = 0;

	assert_true(elf_symbol(sym_path, "chain_top", &top, &size));
	assert_true(size > 0 && size < 4096);
	for (uint64_t a = top; a < top + size; a++) {
		struct sym_result res;
		const struct sym_frame *f;

		assert_int_equal(sym_resolver__lookup(r, lookup_path, NULL, 0, &a, 1, &res), 0);
		assert_int_equal(res.reason, SYM_OK);
		assert_true(res.nframes >= 1);
		f = &res.frames[res.nframes - 1];
		/* The real function is last, whatever is inlined. */
		assert_string_equal(f->func, "chain_top");
		assert_false(f->inlined);
		assert_int_equal(res.func_addr, top);
		assert_int_equal(res.func_offset, a - top);
		assert_true(ends_with(f->file, "/chain.c"));
		if (a == top) {
			seen_entry = 1;
			assert_true(f->line > 0);
		}
		if (res.nframes == 3 && !strcmp(res.frames[0].func, "chain_leaf")) {
			seen_chain = 1;
			assert_true(res.frames[0].inlined);
			assert_true(ends_with(res.frames[0].file, "/chain.h"));
			assert_int_equal(res.frames[0].line, leaf_line);
			assert_string_equal(res.frames[1].func, "chain_mid");
			assert_true(res.frames[1].inlined);
			assert_true(ends_with(res.frames[1].file, "/chain.h"));
			assert_int_equal(res.frames[1].line, call_leaf);
			assert_int_equal(res.frames[2].line, call_mid);
		}
		sym_result_release(&res);
	}
	assert_true(seen_entry);
	assert_true(seen_chain);
	sym_resolver__free(r);
}

static void test_resolver__inline_chain_dwarf5(void **state)
{
	check_chain(fx("chain"), fx("chain"), NULL);
}

static void test_resolver__inline_chain_dwarf4(void **state)
{
	check_chain(fx("chain-dw4"), fx("chain-dw4"), NULL);
}

static void test_resolver__compressed_sections(void **state)
{
	check_chain(fx("chain-z"), fx("chain-z"), NULL);
}

static void test_resolver__clang(void **state)
{
	if (access(fx("chain-clang"), R_OK))
		skip();
	check_chain(fx("chain-clang"), fx("chain-clang"), NULL);
}

static void test_resolver__debug_file_by_build_id(void **state)
{
	char dbg[4096];
	uint8_t bid[64];
	int n = sym_read_build_id(fx("chain-bid"), bid, sizeof(bid));

	assert_int_equal(n, 20);
	snprintf(dbg, sizeof(dbg), "%s/debug/.build-id/%02x/", fx_dir, bid[0]);
	for (int i = 1; i < n; i++)
		snprintf(dbg + strlen(dbg), sizeof(dbg) - strlen(dbg), "%02x", bid[i]);
	strcat(dbg, ".debug");
	/* Stripped binary: the symbol is read from its debug file. */
	check_chain(fx("chain-bid"), dbg, fx("debug"));
}

static void test_resolver__debug_file_by_debuglink(void **state)
{
	check_chain(fx("dl/chain-dl"), fx("dl/chain-dl.debug"), NULL);
}

static void test_resolver__stripped_without_debug_dir(void **state)
{
	struct sym_resolver *r = new_resolver("/nonexistent");
	uint64_t a = 0x1000;
	struct sym_result res;

	/* Stripped to .dynsym only and no debug file: a miss with a reason. */
	assert_int_equal(sym_resolver__lookup(r, fx("chain-bid"), NULL, 0, &a, 1, &res), 0);
	assert_true(res.reason == SYM_NO_SYMBOL || res.reason == SYM_NO_DEBUG_INFO);
	sym_result_release(&res);
	sym_resolver__free(r);
}

static void test_resolver__no_debug_info(void **state)
{
	struct sym_resolver *r = new_resolver(NULL);
	uint64_t top, size;
	struct sym_result res;

	assert_true(elf_symbol(fx("chain-nodebug"), "chain_top", &top, &size));
	top += 2;
	assert_int_equal(sym_resolver__lookup(r, fx("chain-nodebug"), NULL, 0, &top, 1, &res), 0);
	assert_int_equal(res.reason, SYM_NO_DEBUG_INFO);
	assert_int_equal(res.nframes, 1);
	assert_string_equal(res.frames[0].func, "chain_top");
	assert_int_equal(res.func_offset, 2);
	assert_int_equal(res.frames[0].line, 0);
	sym_result_release(&res);
	sym_resolver__free(r);
}

static void test_resolver__build_id_mismatch_debug_file(void **state)
{
	struct sym_resolver *r = new_resolver(fx("mismatch"));
	uint64_t top, size;
	struct sym_result res;

	/* The debug file at this build-id's path is from another build: not
	 * used, and the result says so. */
	assert_true(elf_symbol(fx("chain-mm"), "chain_top", &top, &size));
	assert_int_equal(sym_resolver__lookup(r, fx("chain-mm"), NULL, 0, &top, 1, &res), 0);
	assert_int_equal(res.reason, SYM_BUILD_ID_MISMATCH);
	assert_int_equal(res.nframes, 1);
	assert_string_equal(res.frames[0].func, "chain_top");
	assert_null(res.frames[0].file);
	assert_string_not_equal(sym_resolver__errmsg(r), "");
	sym_result_release(&res);
	sym_resolver__free(r);
}

static void test_resolver__build_id_mismatch_binary(void **state)
{
	struct sym_resolver *r = new_resolver(NULL);
	static const uint8_t wrong[20] = {1, 2, 3};
	uint64_t addrs[2] = {0x1000, 0x2000};
	const uint64_t sym_addrs[1] = {0x1000}, sizes[1] = {0x100};
	const char *const names[1] = {"embedded_fn"};
	struct sym_result res[2];

	assert_int_equal(sym_resolver__lookup(r, fx("chain"), wrong, sizeof(wrong), addrs, 2, res),
			 0);
	assert_int_equal(res[0].reason, SYM_BUILD_ID_MISMATCH);
	assert_int_equal(res[0].nframes, 0);
	sym_result_release(&res[0]);
	sym_result_release(&res[1]);
	/* The trace's embedded symbols for that build-id take over. */
	assert_int_equal(sym_resolver__add_symbols(r, fx("chain"), wrong, sizeof(wrong), sym_addrs,
						   sizes, names, 1),
			 0);
	assert_int_equal(sym_resolver__lookup(r, fx("chain"), wrong, sizeof(wrong), addrs, 2, res),
			 0);
	assert_int_equal(res[0].nframes, 1);
	assert_string_equal(res[0].frames[0].func, "embedded_fn");
	assert_int_equal(res[0].reason, SYM_NO_DEBUG_INFO);
	assert_int_equal(res[1].nframes, 0);
	assert_int_equal(res[1].reason, SYM_NO_SYMBOL);
	sym_result_release(&res[0]);
	sym_result_release(&res[1]);
	sym_resolver__free(r);
}

static void test_resolver__missing_file_uses_embedded_symbols(void **state)
{
	struct sym_resolver *r = new_resolver(NULL);
	const uint64_t sym_addrs[3] = {0x3000, 0x1000, 0x2000}, sizes[3] = {0x10, 0x800, 0};
	char name[8] = "a";
	const char *const names[3] = {"c", name, "b"};
	uint64_t addrs[4] = {0x1004, 0x2ff0, 0x3008, 0x3010};
	struct sym_result res[4];

	assert_int_equal(sym_resolver__lookup(r, "/nonexistent/app", NULL, 0, addrs, 1, res), 0);
	assert_int_equal(res[0].reason, SYM_NO_FILE);
	sym_result_release(&res[0]);
	assert_int_equal(
	    sym_resolver__add_symbols(r, "/nonexistent/app", NULL, 0, sym_addrs, sizes, names, 3),
	    0);
	name[0] = 'z'; /* names were copied */
	assert_int_equal(sym_resolver__lookup(r, "/nonexistent/app", NULL, 0, addrs, 4, res), 0);
	assert_string_equal(res[0].frames[0].func, "a");
	assert_int_equal(res[0].func_offset, 4);
	assert_string_equal(res[1].frames[0].func, "b"); /* unsized: runs to the next */
	assert_string_equal(res[2].frames[0].func, "c");
	assert_int_equal(res[3].nframes, 0); /* past c's size */
	for (int i = 0; i < 4; i++)
		sym_result_release(&res[i]);
	sym_resolver__free(r);
}

static void test_resolver__no_symtab(void **state)
{
	struct sym_resolver *r = new_resolver(NULL);
	uint64_t a = 0x401000;
	struct sym_result res;

	assert_int_equal(sym_resolver__lookup(r, fx("nolibc"), NULL, 0, &a, 1, &res), 0);
	assert_int_equal(res.reason, SYM_NO_SYMTAB);
	assert_int_equal(res.nframes, 0);
	sym_result_release(&res);
	sym_resolver__free(r);
}

static void test_resolver__unmapped(void **state)
{
	struct sym_resolver *r = new_resolver(NULL);
	uint64_t addrs[2] = {0x7fff00000000ull, UINT64_MAX};
	struct sym_result res[2];

	assert_int_equal(sym_resolver__lookup(r, fx("chain"), NULL, 0, addrs, 2, res), 0);
	assert_int_equal(res[0].reason, SYM_UNMAPPED);
	assert_int_equal(res[1].reason, SYM_UNMAPPED);
	assert_string_equal(sym_reason__str(res[0].reason), "unmapped");
	sym_result_release(&res[0]);
	sym_result_release(&res[1]);
	sym_resolver__free(r);
}

static void test_resolver__bad_elf(void **state)
{
	struct sym_resolver *r = new_resolver(NULL);
	uint64_t a = 0x1000;
	struct sym_result res;
	uint8_t bid[20];

	assert_int_equal(sym_resolver__lookup(r, fx("notelf.txt"), NULL, 0, &a, 1, &res), 0);
	assert_int_equal(res.reason, SYM_BAD_ELF);
	assert_non_null(strstr(sym_resolver__errmsg(r), "not an ELF file"));
	sym_result_release(&res);
	assert_int_equal(sym_read_build_id(fx("notelf.txt"), bid, sizeof(bid)), -ENOEXEC);
	assert_int_equal(sym_read_build_id(fx("nonexistent"), bid, sizeof(bid)), -ENOENT);
	sym_resolver__free(r);
}

static void test_resolver__file_offset_to_vaddr(void **state)
{
	struct sym_resolver *r = new_resolver(NULL);
	uint64_t top, size, vaddr = 0, off = 0;
	int fd = open(fx("chain"), O_RDONLY);
	Elf *e;
	size_t n = 0;

	assert_true(elf_symbol(fx("chain"), "chain_top", &top, &size));
	/* The offset of chain_top in the file, from the program headers. */
	assert_true(fd >= 0);
	e = elf_begin(fd, ELF_C_READ, NULL);
	assert_int_equal(elf_getphdrnum(e, &n), 0);
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		gelf_getphdr(e, (int)i, &ph);
		if (ph.p_type == PT_LOAD && top >= ph.p_vaddr && top < ph.p_vaddr + ph.p_filesz)
			off = top - ph.p_vaddr + ph.p_offset;
	}
	elf_end(e);
	close(fd);
	assert_true(off > 0);
	assert_int_equal(sym_resolver__file_offset_to_vaddr(r, fx("chain"), NULL, 0, off, &vaddr),
			 0);
	assert_int_equal(vaddr, top);
	assert_int_equal(
	    sym_resolver__file_offset_to_vaddr(r, fx("chain"), NULL, 0, 1ull << 40, &vaddr),
	    -ENOENT);
	assert_int_equal(sym_resolver__file_offset_to_vaddr(r, "/nonexistent", NULL, 0, 0, &vaddr),
			 -ENOENT);
	sym_resolver__free(r);
}

static void test_resolver__batch_matches_single(void **state)
{
	struct sym_resolver *batch = new_resolver(NULL), *single = new_resolver(NULL);
	uint64_t top, size, addrs[512];
	struct sym_result res[512];

	assert_true(elf_symbol(fx("chain"), "main", &top, &size));
	/* A spread over the text, out of order, with duplicates. */
	for (int i = 0; i < 512; i++)
		addrs[i] = 0x1000 + (uint64_t)((i * 7919) % 0x600);
	assert_int_equal(sym_resolver__lookup(batch, fx("chain"), NULL, 0, addrs, 512, res), 0);
	for (int i = 0; i < 512; i++) {
		struct sym_result one;

		assert_int_equal(
		    sym_resolver__lookup(single, fx("chain"), NULL, 0, &addrs[i], 1, &one), 0);
		assert_int_equal(one.reason, res[i].reason);
		assert_int_equal(one.nframes, res[i].nframes);
		for (uint32_t k = 0; k < one.nframes; k++) {
			assert_true(one.frames[k].func == res[i].frames[k].func ||
				    !strcmp(one.frames[k].func, res[i].frames[k].func));
			assert_int_equal(one.frames[k].line, res[i].frames[k].line);
		}
		sym_result_release(&one);
		sym_result_release(&res[i]);
	}
	sym_resolver__free(batch);
	sym_resolver__free(single);
}

/* What test_resolver__progress saw of each result when it was reported. */
struct progress_seen {
	const struct sym_result *out;
	int count[3000];
	uint32_t nframes[3000];
	const char *func0[3000];
	uint32_t line0[3000];
	uint64_t last_addr;
	int in_order;
};

static void progress_fn(void *ctx, const size_t *idx, size_t count)
{
	struct progress_seen *s = ctx;

	for (size_t k = 0; k < count; k++) {
		const struct sym_result *r = &s->out[idx[k]];

		s->count[idx[k]]++;
		s->nframes[idx[k]] = r->nframes;
		s->func0[idx[k]] = r->nframes ? r->frames[0].func : NULL;
		s->line0[idx[k]] = r->nframes ? r->frames[0].line : 0;
		if (r->addr < s->last_addr)
			s->in_order = 0;
		s->last_addr = r->addr;
	}
}

static void test_resolver__progress(void **state)
{
	struct sym_resolver *r = new_resolver(NULL), *ref = new_resolver(NULL);
	static uint64_t addrs[3000];
	static struct sym_result res[3000], want[3000];
	static struct progress_seen seen;
	struct sym_batch b = {0}, bw = {0};
	struct sym_progress pg = {progress_fn, &seen, 0};
	const char *files[] = {"chain", "no-such-file"};

	(void)state;
	for (int i = 0; i < 3000; i++)
		addrs[i] = 0x1000 + (uint64_t)((i * 7919) % 0x700);
	for (int f = 0; f < 2; f++) {
		memset(&seen, 0, sizeof(seen));
		seen.out = res;
		seen.in_order = 1;
		assert_int_equal(sym_resolver__lookup_progress(r, fx(files[f]), NULL, 0, addrs,
							       3000, res, &b, &pg),
				 0);
		assert_int_equal(
		    sym_resolver__lookup_batch(ref, fx(files[f]), NULL, 0, addrs, 3000, want, &bw),
		    0);
		/* Each result once, in address order, already final when
		 * reported, and as a lookup without progress gives it. */
		assert_true(seen.in_order);
		for (int i = 0; i < 3000; i++) {
			assert_int_equal(seen.count[i], 1);
			assert_int_equal(seen.nframes[i], res[i].nframes);
			assert_int_equal(res[i].nframes, want[i].nframes);
			assert_int_equal(res[i].reason, want[i].reason);
			if (res[i].nframes) {
				assert_ptr_equal(seen.func0[i], res[i].frames[0].func);
				assert_int_equal(seen.line0[i], res[i].frames[0].line);
				assert_true(
				    same_str(res[i].frames[0].func, want[i].frames[0].func));
				assert_int_equal(res[i].frames[0].line, want[i].frames[0].line);
			}
		}
		if (f == 0)
			assert_int_not_equal(res[0].nframes, 0);
		else
			assert_int_equal(res[0].reason, SYM_NO_FILE);
	}
	/* Addresses whose differing bits span from 11 to 60 (the radix sort
	 * of the batch then takes one to five passes), and batches of 9 to
	 * 3000 (narrower digits for small ones), some addresses repeated:
	 * still each result once, in address order. */
	for (unsigned span = 11; span <= 60; span += 7) {
		static const size_t ns[] = {9, 200, 3000};

		for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++) {
			static uint64_t wide[3000];
			size_t n = ns[k];

			for (size_t i = 0; i < n; i++) {
				uint64_t x = (uint64_t)(i * 2654435761u) * 0x9e3779b97f4a7c15ull;

				wide[i] = i % 5 == 4 ? wide[i / 2]
					  : i % 2    ? 0x1000 + (x >> 53)
						     : x >> (64 - span);
			}
			memset(&seen, 0, sizeof(seen));
			seen.out = res;
			seen.in_order = 1;
			assert_int_equal(sym_resolver__lookup_progress(r, fx("chain"), NULL, 0,
								       wide, n, res, &b, &pg),
					 0);
			assert_int_equal(sym_resolver__lookup_batch(ref, fx("chain"), NULL, 0, wide,
								    n, want, &bw),
					 0);
			assert_true(seen.in_order);
			for (size_t i = 0; i < n; i++) {
				assert_int_equal(seen.count[i], 1);
				assert_int_equal(res[i].addr, wide[i]);
				assert_int_equal(res[i].reason, want[i].reason);
				assert_int_equal(res[i].nframes, want[i].nframes);
			}
		}
	}
	/* One batch through calls of both kinds, growing and shrinking: the
	 * frames share a block with the sort order of progress lookups. */
	{
		static const size_t sizes[] = {1, 3000, 3000, 20, 3000};
		struct sym_batch b2 = {0};

		for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
			size_t n = sizes[k];

			memset(&seen, 0, sizeof(seen));
			seen.out = res;
			seen.in_order = 1;
			assert_int_equal(sym_resolver__lookup_batch(ref, fx("chain"), NULL, 0,
								    addrs, n, want, &bw),
					 0);
			if (k % 2 == 0)
				assert_int_equal(sym_resolver__lookup_progress(r, fx("chain"), NULL,
									       0, addrs, n, res,
									       &b2, &pg),
						 0);
			else
				assert_int_equal(sym_resolver__lookup_batch(r, fx("chain"), NULL, 0,
									    addrs, n, res, &b2),
						 0);
			for (size_t i = 0; i < n; i++) {
				assert_int_equal(res[i].nframes, want[i].nframes);
				assert_int_equal(seen.count[i], k % 2 == 0);
				for (uint32_t d = 0; d < res[i].nframes; d++) {
					assert_true(same_str(res[i].frames[d].func,
							     want[i].frames[d].func));
					assert_int_equal(res[i].frames[d].line,
							 want[i].frames[d].line);
				}
			}
		}
		sym_batch_release(&b2);
	}
	/* A progress lookup needs a batch and a callback. */
	assert_int_equal(
	    sym_resolver__lookup_progress(r, fx("chain"), NULL, 0, addrs, 1, res, NULL, &pg),
	    -EINVAL);
	assert_int_equal(
	    sym_resolver__lookup_progress(r, fx("chain"), NULL, 0, addrs, 1, res, &b, NULL),
	    -EINVAL);
	sym_batch_release(&b);
	sym_batch_release(&bw);
	sym_resolver__free(r);
	sym_resolver__free(ref);
}

/* The bounds of FILE's .text. */
static int text_range(const char *path, uint64_t *lo, uint64_t *hi)
{
	int fd = open(path, O_RDONLY), found = 0;
	Elf *e;
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (fd < 0)
		return 0;
	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ, NULL);
	while (e && !found && !elf_getshdrstrndx(e, &shstrndx) && (scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		const char *n;

		if (!gelf_getshdr(scn, &sh))
			continue;
		n = elf_strptr(e, shstrndx, sh.sh_name);
		if (n && !strcmp(n, ".text") && sh.sh_size) {
			*lo = sh.sh_addr;
			*hi = sh.sh_addr + sh.sh_size;
			found = 1;
		}
	}
	elf_end(e);
	close(fd);
	return found;
}

static void assert_same_result(const struct sym_result *a, const struct sym_result *b)
{
	assert_int_equal(a->reason, b->reason);
	assert_int_equal(a->nframes, b->nframes);
	for (uint32_t k = 0; k < a->nframes; k++) {
		assert_true(same_str(a->frames[k].func, b->frames[k].func));
		assert_true(same_str(a->frames[k].file, b->frames[k].file));
		assert_int_equal(a->frames[k].line, b->frames[k].line);
	}
}

static void count_reported(void *ctx, const size_t *idx, size_t count)
{
	(void)idx;
	*(size_t *)ctx += count;
}

/*
 * A last batch decodes line tables for its own addresses only.  Each of
 * them must get what the whole table gives (a batch dense over the text
 * and a sparse one; a line program large enough to be decoded on a
 * thread that waits for the sorted batch, and small ones decoded at
 * once; one unit and two), and other addresses looked up afterwards must
 * find the whole table again.
 */
static void test_resolver__last_batch(void **state)
{
	static const char *const files[] = {"big", "chain", "chain-dw4", "chain-2cu",
					    "chain-clang"};
	static uint64_t addrs[4000], other[500];
	static struct sym_result res[4000], want[4000];

	(void)state;
	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		uint64_t lo = 0, hi = 0;

		if (access(fx(files[f]), R_OK) && !strcmp(files[f], "chain-clang"))
			continue;
		assert_true(text_range(fx(files[f]), &lo, &hi));
		for (int dense = 0; dense < 2; dense++) {
			struct sym_resolver *r = new_resolver(NULL), *ref = new_resolver(NULL);
			struct sym_batch b = {0}, bw = {0};
			size_t n = dense ? 4000 : 300, reported = 0;
			struct sym_progress pg = {count_reported, &reported, 1};

			for (size_t i = 0; i < n; i++)
				addrs[i] = lo + (dense ? i * 7919 : i * 104729 + 13) % (hi - lo);
			assert_int_equal(sym_resolver__lookup_progress(r, fx(files[f]), NULL, 0,
								       addrs, n, res, &b, &pg),
					 0);
			assert_int_equal(reported, n);
			assert_int_equal(sym_resolver__lookup_batch(ref, fx(files[f]), NULL, 0,
								    addrs, n, want, &bw),
					 0);
			for (size_t i = 0; i < n; i++)
				assert_same_result(&res[i], &want[i]);
			/* Then addresses that batch did not have. */
			for (size_t i = 0; i < 500; i++)
				other[i] = lo + (i * 31 + 5) % (hi - lo);
			assert_int_equal(sym_resolver__lookup_batch(r, fx(files[f]), NULL, 0, other,
								    500, res, &b),
					 0);
			assert_int_equal(sym_resolver__lookup_batch(ref, fx(files[f]), NULL, 0,
								    other, 500, want, &bw),
					 0);
			for (size_t i = 0; i < 500; i++)
				assert_same_result(&res[i], &want[i]);
			sym_batch_release(&b);
			sym_batch_release(&bw);
			sym_resolver__free(r);
			sym_resolver__free(ref);
		}
	}
}

/*
 * Line programs made by hand (make_fixtures.sh): a last batch over every
 * byte near them must get, from the rows it keeps, what the whole table
 * gives -- which is pinned too: the line of the first frame at each
 * offset from big_0, 0 for none.
 */
static void test_resolver__last_batch_made_lines(void **state)
{
	static const struct {
		const char *file;
		uint32_t line[6]; /* at +0x08, +0x18, ... +0x58 */
	} cases[] = {
	    /* The last row answers on, with no end of sequence. */
	    {"lines-trunc", {10, 20, 30, 30, 30, 30}},
	    /* An end at the last row's address sorts before that row,
	     * which then answers up to the next sequence. */
	    {"lines-swap", {10, 20, 30, 30, 40, 50}},
	    /* Rows going down are sorted. */
	    {"lines-down", {20, 10, 30, 0, 0, 0}},
	};
	static uint64_t addrs[320];
	static struct sym_result res[320], want[320];

	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct sym_resolver *r = new_resolver(NULL), *ref = new_resolver(NULL);
		struct sym_batch b = {0}, bw = {0};
		size_t n = 320, reported = 0;
		struct sym_progress pg = {count_reported, &reported, 1};
		uint64_t base, size;

		assert_true(elf_symbol(fx(cases[c].file), "big_0", &base, &size));
		/* Every byte from big_0 on, in an order of their own. */
		for (size_t i = 0; i < n; i++)
			addrs[i] = base + (i * 97) % n;
		assert_int_equal(sym_resolver__lookup_progress(r, fx(cases[c].file), NULL, 0, addrs,
							       n, res, &b, &pg),
				 0);
		assert_int_equal(reported, n);
		assert_int_equal(sym_resolver__lookup_batch(ref, fx(cases[c].file), NULL, 0, addrs,
							    n, want, &bw),
				 0);
		for (size_t i = 0; i < n; i++) {
			uint64_t off = addrs[i] - base;

			assert_same_result(&res[i], &want[i]);
			if (off % 16 == 8 && off < 0x60) {
				assert_true(want[i].nframes >= 1);
				assert_int_equal(want[i].frames[0].line, cases[c].line[off / 16]);
			}
		}
		sym_batch_release(&b);
		sym_batch_release(&bw);
		sym_resolver__free(r);
		sym_resolver__free(ref);
	}
}

/*
 * Memory handed over after a last batch (the command writes its lines
 * there): the decoded units' arrays and the batch's block, each in memory
 * and written over here.  The results keep their strings while the units
 * are gone, nothing the resolver keeps lies in what it handed over, and
 * the same addresses looked up again (the units decoded anew) give the
 * same results.  Freeing the resolver reads none of it either.
 */
static void test_resolver__drop_units(void **state)
{
	static const char *const files[] = {"big", "chain-2cu", "chain-clang"};
	static uint64_t addrs[4000];
	static struct sym_result res[4000], want[4000];

	(void)state;
	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		struct sym_resolver *r = new_resolver(NULL), *ref = new_resolver(NULL);
		struct sym_batch b = {0}, bw = {0};
		struct sym_span spans[16], blk;
		size_t n = 4000, reported = 0, nspans;
		struct sym_progress pg = {count_reported, &reported, 1};
		uint64_t lo = 0, hi = 0;

		if (access(fx(files[f]), R_OK) && !strcmp(files[f], "chain-clang"))
			continue;
		assert_true(text_range(fx(files[f]), &lo, &hi));
		for (size_t i = 0; i < n; i++)
			addrs[i] = lo + i * 7919 % (hi - lo);
		assert_int_equal(
		    sym_resolver__lookup_progress(r, fx(files[f]), NULL, 0, addrs, n, res, &b, &pg),
		    0);
		assert_int_equal(
		    sym_resolver__lookup_batch(ref, fx(files[f]), NULL, 0, addrs, n, want, &bw), 0);
		nspans = sym_resolver__drop_units(r, spans, 16);
		/* Every unit's index is carved from 2 MiB chunks of its own
		 * mapping (from malloc under AddressSanitizer: none). */
		assert_true(SYM_ASAN ? nspans == 0 : nspans >= 1);
		for (size_t k = 0; k < nspans; k++) {
			assert_non_null(spans[k].p);
			assert_true(spans[k].len >= 4096);
			memset(spans[k].p, 0xa5, spans[k].len);
		}
		for (size_t i = 0; i < n; i++)
			assert_same_result(&res[i], &want[i]);
		/* The batch's block, reserved for the most frames a batch
		 * can have, is a mapping of its own. */
		sym_batch_take(&b, &blk);
		assert_null(b.frames);
		assert_int_equal(b.cap, 0);
		assert_true(SYM_ASAN ? !blk.p : blk.p && blk.len >= 4096);
		if (blk.p)
			memset(blk.p, 0x5a, blk.len);
		assert_int_equal(
		    sym_resolver__lookup_batch(r, fx(files[f]), NULL, 0, addrs, n, res, &b), 0);
		for (size_t i = 0; i < n; i++)
			assert_same_result(&res[i], &want[i]);
		/* Nothing dropped twice: the units decoded again are
		 * handed over anew. */
		for (size_t k = 0; k < nspans; k++)
			sym_huge_free(spans[k].p);
		nspans = sym_resolver__drop_units(r, spans, 16);
		assert_true(SYM_ASAN ? nspans == 0 : nspans >= 1);
		for (size_t k = 0; k < nspans; k++)
			sym_huge_free(spans[k].p);
		sym_huge_free(blk.p);
		sym_batch_release(&b);
		sym_batch_release(&bw);
		sym_resolver__free(r);
		sym_resolver__free(ref);
	}
	/* Nothing decoded: nothing handed over; a batch never used has
	 * no block. */
	{
		struct sym_resolver *r = new_resolver(NULL);
		struct sym_batch b = {0};
		struct sym_span spans[2], blk;

		assert_int_equal(sym_resolver__drop_units(r, spans, 2), 0);
		sym_batch_take(&b, &blk);
		assert_null(blk.p);
		assert_int_equal(blk.len, 0);
		sym_resolver__free(r);
	}
}

static void test_resolver__memory_budget(void **state)
{
	struct sym_resolver_opts opts = {.dwarf_budget_bytes = 1};
	struct sym_resolver *tight = NULL, *roomy = new_resolver(NULL);
	uint64_t a, b, size, size_a, addrs[64];
	struct sym_result res[64], ref[64];
	int other_chain = 0;

	/* A one-byte budget drops every CU but the one in use: lookups that
	 * alternate between the two CUs decode them again and again, and must
	 * give what an unbounded resolver gives. */
	assert_int_equal(sym_resolver__new(&tight, &opts), 0);
	assert_true(elf_symbol(fx("chain-2cu"), "chain_top", &a, &size_a));
	assert_true(elf_symbol(fx("chain-2cu"), "other_unit", &b, &size));
	for (int i = 0; i < 64; i++)
		addrs[i] = i & 1 ? b + (uint64_t)(i / 2) % size : a + (uint64_t)(i / 2) % size_a;
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 64; i++)
			assert_int_equal(sym_resolver__lookup(tight, fx("chain-2cu"), NULL, 0,
							      &addrs[i], 1, &res[i]),
					 0);
		assert_int_equal(
		    sym_resolver__lookup(roomy, fx("chain-2cu"), NULL, 0, addrs, 64, ref), 0);
		for (int i = 0; i < 64; i++) {
			assert_int_equal(res[i].reason, ref[i].reason);
			assert_int_equal(res[i].nframes, ref[i].nframes);
			for (uint32_t k = 0; k < res[i].nframes; k++) {
				assert_true(same_str(res[i].frames[k].func, ref[i].frames[k].func));
				assert_true(same_str(res[i].frames[k].file, ref[i].frames[k].file));
				assert_int_equal(res[i].frames[k].line, ref[i].frames[k].line);
			}
			if (res[i].nframes >= 2 &&
			    !strcmp(res[i].frames[res[i].nframes - 1].func, "other_unit") &&
			    res[i].frames[res[i].nframes - 1].line ==
				marker_line("other.c", "LINE_OTHER_CALL_MID"))
				other_chain = 1;
			sym_result_release(&res[i]);
			sym_result_release(&ref[i]);
		}
	}
	assert_true(other_chain);
	sym_resolver__free(tight);
	sym_resolver__free(roomy);
}

static void test_resolver__read_build_id(void **state)
{
	uint8_t a[64], b[64];
	int n = sym_read_build_id(fx("chain-bid"), a, sizeof(a));

	/* Stripping keeps the note: same id before and after. */
	assert_int_equal(n, 20);
	assert_int_equal(sym_read_build_id(fx("dl/chain-dl"), b, sizeof(b)), 0);
	assert_int_equal(sym_read_build_id(fx("chain-bid"), b, 4), -ENOSPC);
	assert_int_equal(sym_read_build_id(fx("chain-nodebug"), b, sizeof(b)), 20);
}

static void test_resolver__reason_strings(void **state)
{
	assert_string_equal(sym_reason__str(SYM_OK), "ok");
	assert_string_equal(sym_reason__str(SYM_NO_DEBUG_INFO), "no debug info");
	assert_string_equal(sym_reason__str(SYM_BUILD_ID_MISMATCH), "build-id mismatch");
	assert_string_equal(sym_reason__str(SYM_BAD_DWARF), "bad dwarf");
	assert_string_equal(sym_reason__str((enum sym_reason)99), "unknown");
	sym_result_release(NULL);
	sym_resolver__free(NULL);
	sym_kernel__free(NULL);
}

static void test_kernel__lookup(void **state)
{
	struct sym_kernel *k;
	struct sym_result res;

	assert_int_equal(sym_kernel__new(&k), 0);
	/* Out of order, with a module in brackets and one without. */
	assert_int_equal(sym_kernel__add(k, 0xffffffff81002000ull, 'T', "vfs_read", 8, NULL, 0), 0);
	assert_int_equal(
	    sym_kernel__add(k, 0xffffffff81001000ull, 't', "do_syscall_64", 13, NULL, 0), 0);
	assert_int_equal(
	    sym_kernel__add(k, 0xffffffffc0100000ull, 't', "ext4_readdir", 12, "[ext4]", 6), 0);
	assert_int_equal(sym_kernel__add(k, 0xffffffffc0200000ull, 'T', "xfs_foo", 7, "xfs", 3), 0);
	assert_int_equal(sym_kernel__add(k, 0xffffffff81003000ull, 'D', "some_data", 9, NULL, 0),
			 0);

	assert_int_equal(sym_kernel__lookup(k, 0xffffffff81002010ull, &res), 0);
	assert_int_equal(res.reason, SYM_OK);
	assert_string_equal(res.frames[0].func, "vfs_read");
	assert_int_equal(res.func_offset, 0x10);
	assert_string_equal(res.module, "kernel");
	sym_result_release(&res);

	/* Data symbols are no frames: still inside vfs_read. */
	assert_int_equal(sym_kernel__lookup(k, 0xffffffff81003004ull, &res), 0);
	assert_string_equal(res.frames[0].func, "vfs_read");
	sym_result_release(&res);

	assert_int_equal(sym_kernel__lookup(k, 0xffffffffc0100042ull, &res), 0);
	assert_string_equal(res.frames[0].func, "ext4_readdir");
	assert_string_equal(res.module, "ext4");
	sym_result_release(&res);

	assert_int_equal(sym_kernel__lookup(k, 0xffffffffc0200001ull, &res), 0);
	assert_string_equal(res.module, "xfs");
	sym_result_release(&res);

	assert_int_equal(sym_kernel__lookup(k, 0x1000, &res), 0);
	assert_int_equal(res.reason, SYM_UNMAPPED);
	assert_int_equal(res.nframes, 0);
	sym_result_release(&res);

	assert_int_equal(sym_kernel__lookup(k, 0xfffffffff0000000ull, &res), 0);
	assert_int_equal(res.reason, SYM_UNMAPPED);
	sym_result_release(&res);

	/* Adding after a lookup re-sorts. */
	assert_int_equal(sym_kernel__add(k, 0xffffffff81002100ull, 'T', "vfs_write", 9, NULL, 0),
			 0);
	assert_int_equal(sym_kernel__lookup(k, 0xffffffff81002104ull, &res), 0);
	assert_string_equal(res.frames[0].func, "vfs_write");
	sym_result_release(&res);
	sym_kernel__free(k);
}

static void test_kernel__empty(void **state)
{
	struct sym_kernel *k;
	struct sym_result res;

	assert_int_equal(sym_kernel__new(&k), 0);
	assert_int_equal(sym_kernel__lookup(k, 0xffffffff81000000ull, &res), 0);
	assert_int_equal(res.reason, SYM_NO_SYMTAB);
	sym_result_release(&res);
	sym_kernel__free(k);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_resolver__inline_chain_dwarf5),
	    cmocka_unit_test(test_resolver__inline_chain_dwarf4),
	    cmocka_unit_test(test_resolver__compressed_sections),
	    cmocka_unit_test(test_resolver__clang),
	    cmocka_unit_test(test_resolver__debug_file_by_build_id),
	    cmocka_unit_test(test_resolver__debug_file_by_debuglink),
	    cmocka_unit_test(test_resolver__stripped_without_debug_dir),
	    cmocka_unit_test(test_resolver__no_debug_info),
	    cmocka_unit_test(test_resolver__build_id_mismatch_debug_file),
	    cmocka_unit_test(test_resolver__build_id_mismatch_binary),
	    cmocka_unit_test(test_resolver__missing_file_uses_embedded_symbols),
	    cmocka_unit_test(test_resolver__no_symtab),
	    cmocka_unit_test(test_resolver__unmapped),
	    cmocka_unit_test(test_resolver__bad_elf),
	    cmocka_unit_test(test_resolver__file_offset_to_vaddr),
	    cmocka_unit_test(test_resolver__batch_matches_single),
	    cmocka_unit_test(test_resolver__progress),
	    cmocka_unit_test(test_resolver__last_batch),
	    cmocka_unit_test(test_resolver__last_batch_made_lines),
	    cmocka_unit_test(test_resolver__drop_units),
	    cmocka_unit_test(test_resolver__memory_budget),
	    cmocka_unit_test(test_resolver__read_build_id),
	    cmocka_unit_test(test_resolver__reason_strings),
	    cmocka_unit_test(test_kernel__lookup),
	    cmocka_unit_test(test_kernel__empty),
	};

	if (argc < 3) {
		fprintf(stderr, "usage: %s FIXTURE_DIR SOURCE_DIR\n", argv[0]);
		return 2;
	}
	fx_dir = argv[1];
	src_dir = argv[2];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
