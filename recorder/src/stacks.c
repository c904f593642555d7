// SPDX-License-Identifier: MIT
/*
 * Stack dedup: each distinct frame array gets one trace-local id, so the
 * trace stores it once.  Open-addressing hash table keyed on the full frame
 * array (compared, never trusted by hash alone), kernel and user stacks kept
 * apart.  Frames live in an append-only arena of blocks.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rec_int.h"

struct slot {
	uint64_t hash;
	uint64_t *ips; /* NULL = empty */
	uint32_t n;
	uint32_t id;
	uint8_t kernel;
};

struct block {
	struct block *next;
	size_t used, cap; /* in u64 */
	uint64_t data[];
};

struct rec_stacks {
	struct slot *slots;
	size_t cap, count;
	uint32_t next_id;
	struct block *blocks;
};

#define BLOCK_WORDS (1u << 16)

int rec_stacks__new(struct rec_stacks **out)
{
	struct rec_stacks *st = calloc(1, sizeof(*st));

	*out = NULL;
	if (!st)
		return -ENOMEM;
	st->cap = 1024;
	st->slots = calloc(st->cap, sizeof(*st->slots));
	if (!st->slots) {
		free(st);
		return -ENOMEM;
	}
	st->next_id = 1;
	*out = st;
	return 0;
}

void rec_stacks__free(struct rec_stacks *st)
{
	struct block *b, *n;

	if (!st)
		return;
	for (b = st->blocks; b; b = n) {
		n = b->next;
		free(b);
	}
	free(st->slots);
	free(st);
}

uint64_t rec_stacks__count(const struct rec_stacks *st)
{
	return st->count;
}

static uint64_t hash_ips(bool kernel, const uint64_t *ips, uint32_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ (kernel ? 0x5bd1e995ull : 0) ^ n;

	for (uint32_t i = 0; i < n; i++) {
		h ^= ips[i];
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 33;
	}
	return h ? h : 1;
}

static uint64_t *arena_copy(struct rec_stacks *st, const uint64_t *ips, uint32_t n)
{
	struct block *b = st->blocks;
	uint64_t *p;

	if (!b || b->cap - b->used < n) {
		size_t cap = n > BLOCK_WORDS ? n : BLOCK_WORDS;

		b = malloc(sizeof(*b) + cap * sizeof(uint64_t));
		if (!b)
			return NULL;
		b->used = 0;
		b->cap = cap;
		b->next = st->blocks;
		st->blocks = b;
	}
	p = b->data + b->used;
	if (n)
		memcpy(p, ips, n * sizeof(*ips));
	b->used += n;
	return p;
}

static int grow(struct rec_stacks *st)
{
	size_t ncap = st->cap * 2;
	struct slot *ns = calloc(ncap, sizeof(*ns));

	if (!ns)
		return -ENOMEM;
	for (size_t i = 0; i < st->cap; i++) {
		struct slot *s = &st->slots[i];

		if (!s->ips)
			continue;
		size_t j = s->hash & (ncap - 1);
		while (ns[j].ips)
			j = (j + 1) & (ncap - 1);
		ns[j] = *s;
	}
	free(st->slots);
	st->slots = ns;
	st->cap = ncap;
	return 0;
}

int rec_stacks__intern(struct rec_stacks *st, bool kernel, const uint64_t *ips, uint32_t n,
		       uint32_t *id, bool *is_new)
{
	uint64_t h = hash_ips(kernel, ips, n);
	size_t i;

	if ((st->count + 1) * 4 > st->cap * 3 && grow(st))
		return -ENOMEM;
	for (i = h & (st->cap - 1);; i = (i + 1) & (st->cap - 1)) {
		struct slot *s = &st->slots[i];

		if (!s->ips)
			break;
		if (s->hash == h && s->n == n && s->kernel == kernel &&
		    !memcmp(s->ips, ips, n * sizeof(*ips))) {
			*id = s->id;
			*is_new = false;
			return 0;
		}
	}
	/* a zero-length stack still needs a non-NULL marker */
	uint64_t *copy = arena_copy(st, ips, n);
	if (!copy)
		return -ENOMEM;
	st->slots[i].hash = h;
	st->slots[i].ips = copy;
	st->slots[i].n = n;
	st->slots[i].kernel = kernel;
	st->slots[i].id = st->next_id++;
	st->count++;
	*id = st->slots[i].id;
	*is_new = true;
	return 0;
}
