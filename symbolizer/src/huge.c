/* SPDX-License-Identifier: MIT */
/*
 * Large arrays on transparent huge pages.
 *
 * Symbolizing a large binary fills a few arrays of megabytes once (scope
 * records, line rows, the frames of a batch) in a short-lived process.
 * Every fresh 4 KiB page costs a page fault, and with memory cgroups
 * charging each page that was about 40% of the symbolizing thread's time
 * on a 5 MB binary (3,800 faults).  An array of 1 MiB or more is therefore
 * mapped on its own, aligned to 2 MiB and advised MADV_HUGEPAGE, so the
 * kernel may fault it in 2 MiB at a time.  Where huge pages are off
 * ("never") or the advice is refused, it is an ordinary mapping; smaller
 * arrays come from malloc.  Either way a header before the array says how
 * it was made; a mapped array's lies in a 4 KiB page of its own in front,
 * so that making the mapping touches none of the array's huge pages: the
 * first to write there faults each in, and it may be another thread than
 * the one that asked for the array (sym_huge_populate()).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sym_int.h"

#define HUGE_ALIGN ((size_t)2 << 20)
/* Under AddressSanitizer everything comes from malloc, whose bounds it
 * checks (the fuzz targets run the DWARF reader under it). */
#define HUGE_MIN (SYM_ASAN ? SIZE_MAX : (size_t)1 << 20)
#define HDR 64			/* keeps a malloc'ed array 64-byte aligned */
#define HDR_PAGE ((size_t)4096) /* in front of a mapped array */

struct huge_hdr {
	size_t map_len; /* 0: from malloc; else the mapping's, header page included */
	size_t size;	/* usable bytes */
};

static struct huge_hdr *hdr_of(void *p)
{
	return (struct huge_hdr *)((char *)p - HDR);
}

/* The start of the mapping of a mapped array P. */
static char *map_base(void *p)
{
	return (char *)p - HDR_PAGE;
}

/* A 2 MiB-aligned array of SIZE bytes (rounded up to 2 MiB) after a header
 * page, none of it touched but the header. */
static void *map_aligned(size_t size)
{
	size_t len, slack, tail;
	char *m, *a;

	if (size > SIZE_MAX - HDR_PAGE - 2 * HUGE_ALIGN)
		return NULL;
	len = (size + HUGE_ALIGN - 1) & ~(HUGE_ALIGN - 1);
	m = mmap(NULL, HDR_PAGE + len + HUGE_ALIGN, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	a = (char *)(((uintptr_t)m + HDR_PAGE + HUGE_ALIGN - 1) & ~(uintptr_t)(HUGE_ALIGN - 1));
	slack = (size_t)(a - HDR_PAGE - m);
	tail = HUGE_ALIGN - slack;
	if (slack)
		munmap(m, slack);
	if (tail)
		munmap(a + len, tail);
#ifdef MADV_HUGEPAGE
	madvise(a, len, MADV_HUGEPAGE);
#endif
	*hdr_of(a) = (struct huge_hdr){HDR_PAGE + len, len};
	return a;
}

void *sym_huge_realloc(void *p, size_t size)
{
	struct huge_hdr *h = p ? hdr_of(p) : NULL;
	void *n;

	if (h && size <= h->size)
		return p;
	if (size < HUGE_MIN && (!h || !h->map_len)) {
		h = realloc(h, HDR + size);
		if (!h)
			return NULL;
		*h = (struct huge_hdr){0, size};
		return (char *)h + HDR;
	}
	n = map_aligned(size);
	if (!n)
		return NULL;
	if (h && h->map_len) {
		/* Move the old pages to the start of the new mapping rather
		 * than copy them: both are 2 MiB aligned, so huge pages move
		 * whole. */
		struct huge_hdr nh = *hdr_of(n);

		if (mremap(map_base(p), h->map_len, h->map_len, MREMAP_MAYMOVE | MREMAP_FIXED,
			   map_base(n)) != MAP_FAILED) {
			*hdr_of(n) = nh;
			return n;
		}
	}
	if (h) {
		memcpy(n, p, h->size);
		sym_huge_free(p);
	}
	return n;
}

void *sym_huge_map(size_t size)
{
	return map_aligned(size ? size : 1);
}

int sym_huge__mapped(const void *p)
{
	return p && hdr_of((void *)p)->map_len != 0;
}

void sym_huge_free(void *p)
{
	struct huge_hdr *h;

	if (!p)
		return;
	h = hdr_of(p);
	if (h->map_len)
		munmap(map_base(p), h->map_len);
	else
		free(h);
}

void sym_huge_populate(void *p, size_t off, size_t bytes)
{
#ifdef MADV_POPULATE_WRITE
	struct huge_hdr *h;
	size_t end;

	if (!p)
		return;
	h = hdr_of(p);
	if (!h->map_len || off >= h->size)
		return;
	end = bytes > h->size - off ? h->size : off + bytes;
	off &= ~(HUGE_ALIGN - 1);
	end = (end + HUGE_ALIGN - 1) & ~(HUGE_ALIGN - 1);
	if (end > off)
		(void)madvise((char *)p + off, end - off, MADV_POPULATE_WRITE);
#else
	(void)p;
	(void)off;
	(void)bytes;
#endif
}

size_t sym_huge_resident(const void *p)
{
	const size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	unsigned char vec[512];
	struct huge_hdr *h;
	size_t done = 0;

	if (!p || !(h = hdr_of((void *)p))->map_len || !pg)
		return 0;
	while (done < h->size) {
		size_t len = h->size - done < sizeof(vec) * pg ? h->size - done : sizeof(vec) * pg;

		if (mincore((char *)p + done, len, vec))
			return done;
		for (size_t i = 0; i * pg < len; i++)
			if (!(vec[i] & 1))
				return done + i * pg;
		done += len;
	}
	return h->size;
}

size_t sym_span__take(struct sym_span *spans, size_t n, size_t max, void **pp)
{
	size_t len;

	if (n >= max || !*pp || !(len = sym_huge_resident(*pp)))
		return n;
	spans[n] = (struct sym_span){*pp, len};
	*pp = NULL;
	return n + 1;
}

/*
 * Many small arrays that live as long as one owner (the flattened index
 * of each function of a CU), carved from chunks of at least 2 MiB: no
 * allocation of its own each, no malloc heap growing page by page.
 */
struct sym_arena_chunk {
	struct sym_arena_chunk *next;
	size_t used, cap;
	size_t lent; /* lies in another chunk (sym_arena__split()) */
	max_align_t data[];
};

void *sym_arena__alloc(struct sym_arena *a, size_t size)
{
	struct sym_arena_chunk *c = a->head;
	void *p;

	size = (size + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	if (!c || size > c->cap - c->used) {
		size_t cap = HUGE_ALIGN - sizeof(*c);

		if (size > cap)
			cap = size;
		c = sym_huge_realloc(NULL, sizeof(*c) + cap);
		if (!c)
			return NULL;
		*c = (struct sym_arena_chunk){a->head, 0, cap, 0};
		a->head = c;
		a->bytes += sizeof(*c) + cap;
	}
	p = (char *)c->data + c->used;
	c->used += size;
	return p;
}

void sym_arena__adopt(struct sym_arena *a, struct sym_arena *from)
{
	struct sym_arena_chunk *tail = from->head;

	if (!tail)
		return;
	while (tail->next)
		tail = tail->next;
	/* Behind A's head: that is the chunk A still allocates from. */
	if (a->head) {
		tail->next = a->head->next;
		a->head->next = from->head;
	} else {
		a->head = from->head;
	}
	a->bytes += from->bytes;
	from->head = NULL;
	from->bytes = 0;
}

void sym_arena__split(struct sym_arena *a, struct sym_arena *b)
{
	struct sym_arena_chunk *c = a->head, *n;
	size_t half;

	if (!c || b->head)
		return;
	half = (c->cap - c->used) / 2 & ~(sizeof(max_align_t) - 1);
	if (half < sizeof(*n) + 4096)
		return;
	c->cap -= half;
	n = (struct sym_arena_chunk *)((char *)c->data + c->cap);
	*n = (struct sym_arena_chunk){NULL, 0, half - sizeof(*n), 1};
	b->head = n;
}

size_t sym_arena__hand_over(struct sym_arena *a, struct sym_span *spans, size_t n, size_t max)
{
	struct sym_arena_chunk *c, *next, *keep = NULL;

	/* Nothing handed over is written before this returns, so a chunk
	 * lent inside another may still be read here. */
	for (c = a->head; c; c = next) {
		void *p = c;
		size_t m;

		next = c->next;
		if (c->lent)
			continue;
		m = sym_span__take(spans, n, max, &p);
		if (m == n) {
			c->next = keep;
			keep = c;
		}
		n = m;
	}
	a->head = keep;
	sym_arena__release(a);
	return n;
}

void sym_arena__release(struct sym_arena *a)
{
	struct sym_arena_chunk *c = a->head, *own = NULL, *next;

	/* Every chunk is read before any is freed: a lent one lies in
	 * another. */
	for (; c; c = next) {
		next = c->next;
		if (!c->lent) {
			c->next = own;
			own = c;
		}
	}
	for (; own; own = next) {
		next = own->next;
		sym_huge_free(own);
	}
	a->head = NULL;
	a->bytes = 0;
}
