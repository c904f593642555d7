/* SPDX-License-Identifier: MIT */
/*
 * A small open-addressing hash map from a pair of u64 keys to a u64 value,
 * used by the importer to deduplicate (stack, pid) pairs, (module, offset)
 * addresses and loss counters.  Never shrinks; grows at 1/2 load.
 */
#ifndef BPFTAPE_HASHMAP_H
#define BPFTAPE_HASHMAP_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

struct ana_hm_slot {
	uint64_t k1, k2, val;
	int used;
};

struct ana_hm {
	struct ana_hm_slot *slots;
	size_t cap, len;
};

static inline uint64_t ana_hm__hash(uint64_t a, uint64_t b)
{
	uint64_t h = a * 0x9e3779b97f4a7c15ull ^ (b + 0x632be59bd9b4e019ull + (a << 6) + (a >> 2));

	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 29;
	return h;
}

static inline void ana_hm__release(struct ana_hm *m)
{
	free(m->slots);
	m->slots = NULL;
	m->cap = m->len = 0;
}

/* Returns the slot of (k1, k2), or NULL when absent. */
static inline struct ana_hm_slot *ana_hm__find(const struct ana_hm *m, uint64_t k1, uint64_t k2)
{
	size_t i;

	if (!m->cap)
		return NULL;
	for (i = ana_hm__hash(k1, k2) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		struct ana_hm_slot *s = &m->slots[i];

		if (!s->used)
			return NULL;
		if (s->k1 == k1 && s->k2 == k2)
			return s;
	}
}

static inline int ana_hm__grow(struct ana_hm *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 256, i, j;
	struct ana_hm_slot *ns = calloc(ncap, sizeof(*ns));
	volatile char *touch = (volatile char *)ns;

	if (!ns)
		return -ENOMEM;
	/* A large calloc is fresh zero pages; probing reads them first, so
	 * each page would fault twice, the second time (copy on write) with
	 * a TLB shootdown across the import's threads: write each page once
	 * first.  (malloc + memset is the same, gcc turns it into calloc.) */
	for (i = 0; i < ncap * sizeof(*ns); i += 4096)
		touch[i] = 0;
	for (i = 0; i < m->cap; i++) {
		if (!m->slots[i].used)
			continue;
		for (j = ana_hm__hash(m->slots[i].k1, m->slots[i].k2) & (ncap - 1); ns[j].used;
		     j = (j + 1) & (ncap - 1))
			;
		ns[j] = m->slots[i];
	}
	free(m->slots);
	m->slots = ns;
	m->cap = ncap;
	return 0;
}

/* Finds or inserts (k1, k2); *created says which.  NULL on ENOMEM. */
static inline struct ana_hm_slot *ana_hm__upsert(struct ana_hm *m, uint64_t k1, uint64_t k2,
						 int *created)
{
	size_t i;

	if ((m->len + 1) * 2 > m->cap && ana_hm__grow(m))
		return NULL;
	for (i = ana_hm__hash(k1, k2) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		struct ana_hm_slot *s = &m->slots[i];

		if (!s->used) {
			s->used = 1;
			s->k1 = k1;
			s->k2 = k2;
			s->val = 0;
			m->len++;
			*created = 1;
			return s;
		}
		if (s->k1 == k1 && s->k2 == k2) {
			*created = 0;
			return s;
		}
	}
}

#endif
