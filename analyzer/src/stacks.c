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

int ana_stacks__init(struct ana_stacks *s, sqlite3 *db, int kernel_suffix, int no_inline)
{
	memset(s, 0, sizeof(*s));
	s->db = db;
	s->kernel_suffix = kernel_suffix;
	s->no_inline = no_inline;
	if (sqlite3_prepare_v2(
		db,
		"SELECT func, module, offset, inlined, kernel FROM frames"
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

void ana_frame_name(char *out, size_t size, const char *func, const char *module, int has_offset,
		    long long offset, int kernel)
{
	if (func) {
		snprintf(out, size, "%s", func);
	} else if (module && *module) {
		const char *base = strrchr(module, '/');

		base = base ? base + 1 : module;
		if (has_offset)
			snprintf(out, size, "%s+0x%llx", base, offset);
		else
			snprintf(out, size, "%s", base);
	} else {
		snprintf(out, size, "[unknown]");
	}
	(void)kernel;
	/* ';' separates frames in the folded format */
	for (; *out; out++)
		if (*out == ';')
			*out = ':';
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
	if (!created)
		return s->strs[slot->val];
	if (append(&buf, &len, &cap, "", 0))
		return NULL;
	sqlite3_bind_int64(s->sel, 1, stack_id);
	sqlite3_bind_int64(s->sel, 2, pid);
	while ((rc = sqlite3_step(s->sel)) == SQLITE_ROW) {
		const char *func = (const char *)sqlite3_column_text(s->sel, 0);
		const char *module = (const char *)sqlite3_column_text(s->sel, 1);
		int kernel = sqlite3_column_int(s->sel, 4);

		if (s->no_inline && sqlite3_column_int(s->sel, 3))
			continue;
		ana_frame_name(name, sizeof(name) - 8, func, module,
			       sqlite3_column_type(s->sel, 2) != SQLITE_NULL,
			       (long long)sqlite3_column_int64(s->sel, 2), kernel);
		if (kernel && s->kernel_suffix)
			strcat(name, "_[k]");
		if ((len && append(&buf, &len, &cap, ";", 1)) ||
		    append(&buf, &len, &cap, name, strlen(name))) {
			sqlite3_reset(s->sel);
			free(buf);
			return NULL;
		}
	}
	sqlite3_reset(s->sel);
	if (s->n == s->cap) {
		size_t nc = s->cap ? 2 * s->cap : 256;
		char **n = realloc(s->strs, nc * sizeof(*n));

		if (!n) {
			free(buf);
			return NULL;
		}
		s->strs = n;
		s->cap = nc;
	}
	slot->val = s->n;
	s->strs[s->n++] = buf;
	return buf;
}
