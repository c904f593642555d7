/* SPDX-License-Identifier: MIT */
/*
 * Small CLI helpers shared by the subcommands: the one parser for numbers
 * with units, git-style errors, JSON string escaping and the common event
 * filters turned into SQL.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <tape/units.h>

#include "analyzer_int.h"

void ana_err(const char *fmt, ...)
{
	va_list ap;

	fputs("bpftape: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int ana_parse_duration_ns(const char *s, int64_t *ns)
{
	uint64_t v;
	int ret = tape_parse_duration_ns(s, &v);

	if (ret)
		return ret;
	if (v > INT64_MAX)
		return -ERANGE;
	*ns = (int64_t)v;
	return 0;
}

void ana_json_str(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	fputc('"', out);
	for (; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", out);
			break;
		case '\\':
			fputs("\\\\", out);
			break;
		case '\n':
			fputs("\\n", out);
			break;
		case '\r':
			fputs("\\r", out);
			break;
		case '\t':
			fputs("\\t", out);
			break;
		default:
			if (*p < 0x20)
				fprintf(out, "\\u%04x", *p);
			else
				fputc(*p, out);
		}
	}
	fputc('"', out);
}

void ana_filter_init(struct ana_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->pid = -1;
	f->since_ns = -1;
	f->until_ns = -1;
}

int ana_grow(void **arr, size_t *cap, size_t n, size_t elem, size_t first)
{
	size_t nc;
	void *p;

	if (n < *cap)
		return 0;
	nc = *cap ? 2 * *cap : first;
	if (nc <= n || nc > SIZE_MAX / elem)
		return -1;
	p = realloc(*arr, nc * elem);
	if (!p)
		return -1;
	*arr = p;
	*cap = nc;
	return 0;
}

int ana_filter_option(struct ana_filter *f, int opt, const char *arg)
{
	char *end;

	switch (opt) {
	case 'e':
		f->event = arg;
		return 1;
	case 'p':
		f->pid = strtoll(arg, &end, 10);
		if (*end || end == arg || f->pid < 0) {
			ana_err("invalid pid '%s'", arg);
			return -1;
		}
		return 1;
	case 'c':
		f->comm = arg;
		return 1;
	case 'S':
	case 'U':
		if (ana_parse_duration_ns(arg, opt == 'S' ? &f->since_ns : &f->until_ns)) {
			ana_err("invalid time '%s' (e.g. 1.5s, 500ms)", arg);
			return -1;
		}
		return 1;
	default:
		return 0;
	}
}

int64_t ana_db_start_ns(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int64_t v = 0;

	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'start_ns'", -1, &st,
			       NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Conditions on events alias e (and threads alias t for --comm). */
char *ana_filter_sql(sqlite3 *db, const struct ana_filter *f)
{
	char *sql = sqlite3_mprintf("%s", ""), *n;
	int64_t start = ana_db_start_ns(db);

	if (f->event) {
		n = sqlite3_mprintf("%s AND e.type_id IN (SELECT type_id FROM event_types WHERE "
				    "name GLOB %Q)",
				    sql, f->event);
		sqlite3_free(sql);
		sql = n;
	}
	if (f->pid >= 0) {
		n = sqlite3_mprintf("%s AND e.pid = %lld", sql, (long long)f->pid);
		sqlite3_free(sql);
		sql = n;
	}
	if (f->comm) {
		n = sqlite3_mprintf("%s AND e.tid IN (SELECT tid FROM threads WHERE comm GLOB %Q)",
				    sql, f->comm);
		sqlite3_free(sql);
		sql = n;
	}
	if (f->since_ns >= 0) {
		n = sqlite3_mprintf("%s AND e.ts >= %lld", sql, (long long)(start + f->since_ns));
		sqlite3_free(sql);
		sql = n;
	}
	if (f->until_ns >= 0) {
		n = sqlite3_mprintf("%s AND e.ts < %lld", sql, (long long)(start + f->until_ns));
		sqlite3_free(sql);
		sql = n;
	}
	return sql;
}

const char *ana_db_time_order(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int sorted = 0;

	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'events_sorted'", -1, &st,
			       NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		sorted = sqlite3_column_int(st, 0) == 1;
	sqlite3_finalize(st);
	return sorted ? "e.id" : "e.ts, e.id";
}
