/* SPDX-License-Identifier: MIT */
/*
 * The symbolizer's large-array allocator (symbolizer/src/huge.c): growth
 * keeps the contents across the switch from malloc to a mapping of its
 * own and across moves between mappings, mappings are 2 MiB aligned, and
 * arena allocations are aligned, disjoint and all released.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "sym_int.h"

#define MIB ((size_t)1 << 20)

static void fill(uint32_t *p, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		p[i] = (uint32_t)(i * 2654435761u);
}

static void check(const uint32_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (uint32_t)(i * 2654435761u))
			fail_msg("word %zu of %zu changed", i, n);
}

static void test_huge__growth_keeps_contents(void **state)
{
	size_t n = 1000, sizes[] = {64 * 1024, MIB - 100, 3 * MIB, 3 * MIB + 1, 9 * MIB, 40 * MIB};
	uint32_t *p = sym_huge_realloc(NULL, n * sizeof(*p));

	(void)state;
	assert_non_null(p);
	fill(p, 0, n);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t m = sizes[k] / sizeof(*p);

		p = sym_huge_realloc(p, sizes[k]);
		assert_non_null(p);
		check(p, n);
		fill(p, n, m);
		n = m;
		/* From 1 MiB on (without AddressSanitizer) the array has a
		 * mapping of its own, starting 2 MiB aligned. */
		if (sym_huge__mapped(p))
			assert_int_equal((uintptr_t)p % (2 * MIB), 0);
	}
	check(p, n);
	/* Asking for less keeps the array where it is. */
	assert_ptr_equal(sym_huge_realloc(p, MIB), p);
	check(p, n);
	sym_huge_free(p);
	sym_huge_free(NULL);
}

static void test_huge__mapped_from_one_mib(void **state)
{
	void *small = sym_huge_realloc(NULL, MIB - 4096);
	void *big = sym_huge_realloc(NULL, 2 * MIB);

	(void)state;
	assert_non_null(small);
	assert_non_null(big);
	assert_false(sym_huge__mapped(small));
#if !defined(__SANITIZE_ADDRESS__)
	assert_true(sym_huge__mapped(big));
	/* Fresh mappings read as zeroes. */
	for (size_t i = 0; i < 2 * MIB; i += 4096)
		assert_int_equal(((unsigned char *)big)[i], 0);
#endif
	sym_huge_free(small);
	sym_huge_free(big);
}

/* sym_huge_map(): a mapping of its own at any size, sanitizer builds
 * included, that keeps its contents when grown and is freed like any. */
static void test_huge__map_any_size(void **state)
{
	char *p = sym_huge_map(100), *q;

	(void)state;
	assert_non_null(p);
	assert_true(sym_huge__mapped(p));
	assert_int_equal(p[0], 0);
	memset(p, 'x', 100);
	q = sym_huge_realloc(p, 3 * MIB);
	assert_non_null(q);
	assert_true(sym_huge__mapped(q));
	for (size_t i = 0; i < 100; i++)
		assert_int_equal(q[i], 'x');
	q[3 * MIB - 1] = 'y';
	sym_huge_free(q);
	p = sym_huge_map(0);
	assert_non_null(p);
	sym_huge_free(p);
}

static void test_huge__arena(void **state)
{
	struct sym_arena a = {0};
	enum { N = 20000 };
	static unsigned char *ptr[N];
	static size_t len[N];

	(void)state;
	for (size_t i = 0; i < N; i++) {
		/* Mostly small, now and then larger than a chunk. */
		len[i] = i % 5000 == 4999 ? 3 * MIB : 1 + (i * 37) % 700;
		ptr[i] = sym_arena__alloc(&a, len[i]);
		assert_non_null(ptr[i]);
		assert_int_equal((uintptr_t)ptr[i] % _Alignof(max_align_t), 0);
		memset(ptr[i], (int)(i & 0xff), len[i]);
	}
	/* Nothing overlapped: every block still holds its own byte. */
	for (size_t i = 0; i < N; i++)
		for (size_t k = 0; k < len[i]; k += 97)
			assert_int_equal(ptr[i][k], i & 0xff);
	assert_true(a.bytes >= 4 * 3 * MIB);
	sym_arena__release(&a);
	assert_null(a.head);
	assert_int_equal(a.bytes, 0);
	/* Usable again after a release. */
	assert_non_null(sym_arena__alloc(&a, 10));
	sym_arena__release(&a);
}

/* An arena filled on another thread joins its owner's: every block stays
 * where it is, the owner keeps allocating from its own chunk, and one
 * release frees both (the sanitizer build checks for leaks). */
static void test_huge__arena_adopt(void **state)
{
	struct sym_arena a = {0}, b = {0}, empty = {0};
	unsigned char *pa[3], *pb[3], *after;
	size_t bytes;

	(void)state;
	for (int i = 0; i < 3; i++) {
		pa[i] = sym_arena__alloc(&a, i == 1 ? 3 * MIB : 100);
		pb[i] = sym_arena__alloc(&b, i == 1 ? 3 * MIB : 200);
		assert_non_null(pa[i]);
		assert_non_null(pb[i]);
		pa[i][0] = (unsigned char)(0xa0 + i);
		pb[i][0] = (unsigned char)(0xb0 + i);
	}
	bytes = a.bytes + b.bytes;
	sym_arena__adopt(&a, &b);
	assert_null(b.head);
	assert_int_equal(b.bytes, 0);
	assert_int_equal(a.bytes, bytes);
	/* Adopting nothing changes nothing. */
	sym_arena__adopt(&a, &empty);
	assert_int_equal(a.bytes, bytes);
	/* Still from A's current chunk: right after its last small block. */
	after = sym_arena__alloc(&a, 16);
	assert_ptr_equal(after, pa[2] + (100 + sizeof(max_align_t) - 1) / sizeof(max_align_t) *
					    sizeof(max_align_t));
	for (int i = 0; i < 3; i++) {
		assert_int_equal(pa[i][0], 0xa0 + i);
		assert_int_equal(pb[i][0], 0xb0 + i);
	}
	/* Into an empty arena: it takes the chunks as they are. */
	sym_arena__adopt(&empty, &a);
	assert_int_equal(empty.bytes, bytes);
	assert_null(a.head);
	sym_arena__release(&empty);
	assert_null(empty.head);
}

/* Two arenas filled at once from one chunk: the lent half lies in A's
 * chunk, each side allocates from its own half (and beyond it from chunks
 * of its own), and after the adoption one release frees everything once
 * (the sanitizer build checks both). */
static void test_huge__arena_split(void **state)
{
	struct sym_arena a = {0}, b = {0}, small = {0}, c = {0};
	unsigned char *pa0, *pa, *pb, *big;
	size_t bytes;

	(void)state;
	/* Nothing to lend from an empty arena. */
	sym_arena__split(&a, &b);
	assert_null(b.head);
	pa0 = sym_arena__alloc(&a, 100);
	assert_non_null(pa0);
	bytes = a.bytes;
	sym_arena__split(&a, &b);
	assert_non_null(b.head);
	assert_int_equal(b.bytes, 0);
	pa = sym_arena__alloc(&a, 1000);
	pb = sym_arena__alloc(&b, 1000);
	assert_non_null(pa);
	assert_non_null(pb);
	/* Same chunk: B's half right after A's. */
	assert_true(pb > pa && (size_t)(pb - pa0) < 2 * MIB);
	memset(pa, 0xaa, 1000);
	memset(pb, 0xbb, 1000);
	/* Past its half, B takes a chunk of its own. */
	big = sym_arena__alloc(&b, MIB + MIB / 2);
	assert_non_null(big);
	memset(big, 0xcc, MIB + MIB / 2);
	assert_int_equal(pa[999], 0xaa);
	assert_int_equal(pb[0], 0xbb);
	/* The lent half counts in A's chunk only; B's own chunk joins. */
	assert_true(b.bytes >= MIB + MIB / 2);
	bytes += b.bytes;
	sym_arena__adopt(&a, &b);
	assert_int_equal(a.bytes, bytes);
	/* A keeps allocating from its own half. */
	assert_ptr_equal(sym_arena__alloc(&a, 16), pa + (1000 + sizeof(max_align_t) - 1) /
							    sizeof(max_align_t) *
							    sizeof(max_align_t));
	sym_arena__release(&a);
	assert_null(a.head);
	/* A chunk without the room lends nothing. */
	assert_non_null(sym_arena__alloc(&small, 2 * MIB - 4096));
	sym_arena__split(&small, &c);
	assert_null(c.head);
	sym_arena__release(&small);
}

/* How many of the 4 KiB pages of [P, P + LEN) are resident. */
static size_t resident(const void *p, size_t len)
{
	static unsigned char vec[(8 * MIB) / 4096];
	size_t n = len / 4096, in = 0;

	assert_true(n <= sizeof(vec));
	assert_int_equal(mincore((void *)p, len, vec), 0);
	for (size_t i = 0; i < n; i++)
		in += vec[i] & 1;
	return in;
}

/* Making a mapped array touches none of it (its header has a page of its
 * own), and populating faults in just the huge pages asked for, contents
 * unchanged; an array from malloc is left as it is. */
static void test_huge__populate(void **state)
{
	unsigned char *small = sym_huge_realloc(NULL, 4096);
	unsigned char *big = sym_huge_realloc(NULL, 6 * MIB);

	(void)state;
	assert_non_null(small);
	assert_non_null(big);
	memset(small, 7, 4096);
	sym_huge_populate(small, 0, 4096);
	for (size_t i = 0; i < 4096; i++)
		assert_int_equal(small[i], 7);
	sym_huge_populate(NULL, 0, MIB);
	if (sym_huge__mapped(big)) {
		assert_int_equal(resident(big, 6 * MIB), 0);
		big[2 * MIB + 5] = 42;
		sym_huge_populate(big, 0, 1); /* the first huge page, whole */
		assert_int_equal(resident(big, 2 * MIB), 2 * MIB / 4096);
		assert_int_equal(resident(big + 4 * MIB, 2 * MIB), 0);
		for (size_t i = 0; i < 2 * MIB; i += 4096)
			assert_int_equal(big[i], 0);
		/* From an offset: the huge page holding it, and on. */
		sym_huge_populate(big, 4 * MIB + 100, 1);
		assert_int_equal(resident(big + 4 * MIB, 2 * MIB), 2 * MIB / 4096);
		sym_huge_populate(big, 8 * MIB, MIB); /* past the end: nothing */
		sym_huge_populate(big, 0, 6 * MIB);
		assert_int_equal(resident(big, 6 * MIB), 6 * MIB / 4096);
		assert_int_equal(big[2 * MIB + 5], 42);
		/* Moved by growing, populated pages keep their contents. */
		big[7] = 9;
		big = sym_huge_realloc(big, 12 * MIB);
		assert_non_null(big);
		assert_int_equal(big[7], 9);
		assert_int_equal(big[2 * MIB + 5], 42);
	}
	sym_huge_free(small);
	sym_huge_free(big);
}

/* What is in memory of an array, from its start: nothing of a fresh
 * mapping, then up to the first page never touched; nothing of one from
 * malloc (which the caller could not tell). */
static void test_huge__resident(void **state)
{
	unsigned char *small = sym_huge_realloc(NULL, 4096);
	unsigned char *big = sym_huge_realloc(NULL, 6 * MIB);
	size_t in;

	(void)state;
	assert_non_null(small);
	assert_non_null(big);
	memset(small, 1, 4096);
	assert_int_equal(sym_huge_resident(small), 0);
	assert_int_equal(sym_huge_resident(NULL), 0);
	if (sym_huge__mapped(big)) {
		assert_int_equal(sym_huge_resident(big), 0);
		big[5] = 1;
		in = sym_huge_resident(big);
		/* A page, or the huge page holding it. */
		assert_true(in >= 4096 && in <= 2 * MIB);
		assert_int_equal(in / 4096, resident(big, in));
		big[5 * MIB] = 1; /* after a hole: not counted */
		assert_int_equal(sym_huge_resident(big), in);
		sym_huge_populate(big, 0, 6 * MIB);
		assert_int_equal(sym_huge_resident(big), 6 * MIB);
	}
	sym_huge_free(small);
	sym_huge_free(big);
}

/* An arena handed over: each chunk in memory becomes a span the taker
 * writes into and frees, a chunk lent inside another is not one of them,
 * and what finds no room among the spans is freed (the sanitizer build
 * checks for leaks and double frees). */
static void test_huge__arena_hand_over(void **state)
{
	struct sym_arena a = {0}, b = {0};
	struct sym_span spans[4];
	unsigned char *pa, *pb, *big;
	size_t n;

	(void)state;
	pa = sym_arena__alloc(&a, 100);
	assert_non_null(pa);
	sym_arena__split(&a, &b);
	pb = sym_arena__alloc(&b, 100);
	big = sym_arena__alloc(&a, 3 * MIB);
	assert_non_null(pb);
	assert_non_null(big);
	memset(pa, 1, 100);
	memset(pb, 2, 100);
	memset(big, 3, 3 * MIB);
	sym_arena__adopt(&a, &b);
	n = sym_arena__hand_over(&a, spans, 0, 4);
	assert_null(a.head);
	assert_int_equal(a.bytes, 0);
	if (SYM_ASAN) {
		assert_int_equal(n, 0); /* chunks from malloc: freed */
		return;
	}
	/* The first chunk (with the lent half in it) and the large one. */
	assert_int_equal(n, 2);
	for (size_t i = 0, holds_pa = 0; i < n; i++) {
		unsigned char *p = spans[i].p;

		assert_true(spans[i].len >= 4096);
		holds_pa += pa >= p && pa < p + spans[i].len;
		assert_true(i < n - 1 || holds_pa == 1);
		memset(p, 0xee, spans[i].len);
		sym_huge_free(p);
	}
	/* No room for any: all freed, none handed over. */
	assert_non_null(sym_arena__alloc(&a, 100));
	assert_int_equal(sym_arena__hand_over(&a, spans, 0, 0), 0);
	assert_null(a.head);
	/* Up to the room given. */
	assert_non_null(sym_arena__alloc(&a, 3 * MIB));
	assert_non_null(memset(sym_arena__alloc(&a, 3 * MIB), 4, 3 * MIB));
	assert_int_equal(sym_arena__hand_over(&a, spans, 3, 4), 4);
	assert_true(spans[3].len >= 4096);
	sym_huge_free(spans[3].p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_huge__growth_keeps_contents),
	    cmocka_unit_test(test_huge__mapped_from_one_mib),
	    cmocka_unit_test(test_huge__map_any_size),
	    cmocka_unit_test(test_huge__populate),
	    cmocka_unit_test(test_huge__arena),
	    cmocka_unit_test(test_huge__arena_adopt),
	    cmocka_unit_test(test_huge__arena_split),
	    cmocka_unit_test(test_huge__resident),
	    cmocka_unit_test(test_huge__arena_hand_over),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
