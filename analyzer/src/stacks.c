/* SPDX-License-Identifier: MIT */
/*
 * Folded stack strings from the frames table: "root;...;leaf" for one
 * (stack, pid), cached, with the naming rules of docs/ANALYZER.md (inline
 * frames included unless asked, unresolved frames as module+0xoffset,
 * optional _[k] on kernel frames).
 */
#include <stdlib.h>
#include <string.h>

#include "analyzer_int.h"
#include "stacks.h"

/* The columns both readers of frames select, in this order. */
#define FRAME_COLS "stack_id, pid, depth, inline_depth, func, module, offset, inlined, kernel"

/* NAME (SIZE bytes) gets the name of the frame row ST is on, as the folded
 * format shows it; returns its length, 0 when the row is left out. */
static size_t row_name(const struct ana_stacks *s, sqlite3_stmt *st, char *name, size_t size)
{
	int kernel = sqlite3_column_int(st, 8);

	if (s->no_inline && sqlite3_column_int(st, 7))
		return 0;
	ana_frame_name(name, size - 8, (const char *)sqlite3_column_text(st, 4),
		       (const char *)sqlite3_column_text(st, 5),
		       sqlite3_column_type(st, 6) != SQLITE_NULL,
		       (long long)sqlite3_column_int64(st, 6), kernel);
	if (kernel && s->kernel_suffix)
		strcat(name, "_[k]");
	return strlen(name);
}

int ana_stacks__init(struct ana_stacks *s, sqlite3 *db, int kernel_suffix, int no_inline)
{
	memset(s, 0, sizeof(*s));
	s->db = db;
	s->kernel_suffix = kernel_suffix;
	s->no_inline = no_inline;
	if (sqlite3_prepare_v2(
		db,
		"SELECT " FRAME_COLS " FROM frames"
		" WHERE stack_id = ? AND pid = ? ORDER BY depth DESC, inline_depth DESC",
		-1, &s->sel, NULL) != SQLITE_OK) {
		ana_err("sql: %s", sqlite3_errmsg(db));
		return -1;
	}
	return 0;
}

void ana_stacks__release(struct ana_stacks *s)
{
	size_t i;

	sqlite3_finalize(s->sel);
	for (i = 0; i < s->n; i++)
		free(s->strs[i]);
	free(s->strs);
	ana_hm__release(&s->cache);
}

static int append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t nc = (*len + n + 1) * 2;
		char *nb = realloc(*buf, nc);

		if (!nb)
			return -1;
		*buf = nb;
		*cap = nc;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
	return 0;
}

/* Copies S (N bytes at most) to OUT with ';' (the folded format's frame
 * separator) turned into ':'; returns the length written. */
static size_t copy_name(char *out, size_t size, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n && s[i] && i + 1 < size; i++)
		out[i] = s[i] == ';' ? ':' : s[i];
	out[i] = '\0';
	return i;
}

void ana_frame_name(char *out, size_t size, const char *func, const char *module, int has_offset,
		    long long offset, int kernel)
{
	(void)kernel;
	if (!size)
		return;
	if (func) {
		copy_name(out, size, func, (size_t)-1);
	} else if (module && *module) {
		const char *base = strrchr(module, '/');
		size_t n;

		base = base ? base + 1 : module;
		n = copy_name(out, size, base, (size_t)-1);
		if (has_offset)
			snprintf(out + n, size - n, "+0x%llx", offset);
	} else {
		copy_name(out, size, "[unknown]", (size_t)-1);
	}
}

static int add_str(struct ana_stacks *s, struct ana_hm_slot *slot, char *str)
{
	if (s->n == s->cap) {
		size_t nc = s->cap ? 2 * s->cap : 256;
		char **n = realloc(s->strs, nc * sizeof(*n));

		if (!n)
			return -1;
		s->strs = n;
		s->cap = nc;
	}
	slot->val = s->n;
	s->strs[s->n++] = str;
	return 0;
}

int ana_stacks__want(struct ana_stacks *s, uint32_t stack_id, uint32_t pid)
{
	struct ana_hm_slot *slot;
	int created;

	slot = ana_hm__upsert(&s->cache, stack_id, pid, &created);
	if (!slot || (created && add_str(s, slot, NULL))) {
		ana_err("out of memory");
		return -1;
	}
	return 0;
}

/* One frame of a wanted stack met in the scan: its name is at OFF in the
 * names buffer. */
struct frame_rec {
	uint32_t str, depth, inline_depth;
	uint32_t off, len;
};

static int cmp_frame_rec(const void *a, const void *b)
{
	const struct frame_rec *x = a, *y = b;

	if (x->str != y->str)
		return x->str < y->str ? -1 : 1;
	/* root first: deepest frame, then the real function before what was
	 * inlined into it */
	if (x->depth != y->depth)
		return x->depth > y->depth ? -1 : 1;
	if (x->inline_depth != y->inline_depth)
		return x->inline_depth > y->inline_depth ? -1 : 1;
	return 0;
}

int ana_stacks__load(struct ana_stacks *s)
{
	struct frame_rec *recs = NULL;
	size_t nrecs = 0, caprecs = 0, i, j;
	char *names = NULL, name[1024];
	size_t nlen = 0, ncap = 0;
	sqlite3_stmt *st = NULL;
	int rc, ret = -1;

	if (sqlite3_prepare_v2(s->db, "SELECT " FRAME_COLS " FROM frames", -1, &st, NULL) !=
	    SQLITE_OK) {
		ana_err("sql: %s", sqlite3_errmsg(s->db));
		return -1;
	}
	/* one sequential scan; the frames of wanted stacks are kept */
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const struct ana_hm_slot *slot =
		    ana_hm__find(&s->cache, (uint64_t)sqlite3_column_int64(st, 0),
				 (uint64_t)sqlite3_column_int64(st, 1));
		size_t l;

		if (!slot || s->strs[slot->val] || !(l = row_name(s, st, name, sizeof(name))))
			continue;
		if (ana_grow((void **)&recs, &caprecs, nrecs, sizeof(*recs), 4096))
			goto oom;
		if (nlen + l > ncap) {
			size_t nc = (nlen + l) * 2 + 65536;
			char *n;

			if (nc > UINT32_MAX)
				goto oom;
			n = realloc(names, nc);
			if (!n)
				goto oom;
			names = n;
			ncap = nc;
		}
		memcpy(names + nlen, name, l);
		recs[nrecs++] = (struct frame_rec){
		    (uint32_t)slot->val, (uint32_t)sqlite3_column_int64(st, 2),
		    (uint32_t)sqlite3_column_int64(st, 3), (uint32_t)nlen, (uint32_t)l};
		nlen += l;
	}
	if (rc != SQLITE_DONE) {
		ana_err("sql: %s", sqlite3_errmsg(s->db));
		goto out;
	}
	if (nrecs > 1)
		qsort(recs, nrecs, sizeof(*recs), cmp_frame_rec);
	for (i = 0; i < nrecs; i = j) {
		size_t len = 0;
		char *str, *p;

		for (j = i; j < nrecs && recs[j].str == recs[i].str; j++)
			len += recs[j].len + 1;
		str = malloc(len);
		if (!str)
			goto oom;
		for (p = str, j = i; j < nrecs && recs[j].str == recs[i].str; j++) {
			if (p != str)
				*p++ = ';';
			memcpy(p, names + recs[j].off, recs[j].len);
			p += recs[j].len;
		}
		*p = '\0';
		s->strs[recs[i].str] = str;
	}
	/* wanted stacks without frames: "" as for one query */
	for (i = 0; i < s->n; i++)
		if (!s->strs[i] && !(s->strs[i] = strdup("")))
			goto oom;
	ret = 0;
	goto out;
oom:
	ana_err("out of memory");
out:
	sqlite3_finalize(st);
	free(recs);
	free(names);
	return ret;
}

const char *ana_stacks__get(struct ana_stacks *s, uint32_t stack_id, uint32_t pid)
{
	struct ana_hm_slot *slot;
	char *buf = NULL, name[1024];
	size_t len = 0, cap = 0;
	int created, rc;

	slot = ana_hm__upsert(&s->cache, stack_id, pid, &created);
	if (!slot)
		return NULL;
	if (!created && s->strs[slot->val])
		return s->strs[slot->val];
	if (append(&buf, &len, &cap, "", 0))
		return NULL;
	sqlite3_bind_int64(s->sel, 1, stack_id);
	sqlite3_bind_int64(s->sel, 2, pid);
	while ((rc = sqlite3_step(s->sel)) == SQLITE_ROW) {
		size_t l = row_name(s, s->sel, name, sizeof(name));

		if (!l)
			continue;
		if ((len && append(&buf, &len, &cap, ";", 1)) ||
		    append(&buf, &len, &cap, name, l)) {
			sqlite3_reset(s->sel);
			free(buf);
			return NULL;
		}
	}
	sqlite3_reset(s->sel);
	if (!created) {
		s->strs[slot->val] = buf; /* wanted, not loaded */
		return buf;
	}
	if (add_str(s, slot, buf)) {
		free(buf);
		return NULL;
	}
	return buf;
}
