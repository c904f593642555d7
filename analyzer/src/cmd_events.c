/* SPDX-License-Identifier: MIT */
/*
 * bpftape events: the time-ordered listing of events with their decoded
 * fields (like perf script or bcc's trace), optionally with symbolized
 * stacks; --procs lists exec and exit records like libbpf-bootstrap's
 * bootstrap or bcc's execsnoop.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analyzer_int.h"
#include "commands.h"
#include "stacks.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: bpftape events [OPTIONS] TRACE\n\n"
		"Lists events in time order: TIME CPU COMM PID/TID EVENT FIELDS, with the\n"
		"decoded tracepoint fields (common_* fields left out).\n\n"
		"  -e, --event GLOB    only events of this type (e.g. 'syscalls:*')\n"
		"  -p, --pid PID       only this process\n"
		"  -c, --comm GLOB     only threads whose command name matches\n"
		"      --since TIME    only events at least TIME after the first (10s, 500ms)\n"
		"      --until TIME    only events less than TIME after the first\n"
		"  -s, --stacks        print the symbolized stacks under each event\n"
		"  -r, --relative      time as seconds since the first event (default: wall\n"
		"                      clock of the recording host, in the local time zone)\n"
		"  -n, --limit N       stop after N events\n"
		"  -P, --procs         list process exec and exit records instead (like\n"
		"                      libbpf-bootstrap's bootstrap): TIME EVENT COMM PID PPID\n"
		"                      FILENAME/EXIT CODE, with the process duration\n"
		"      --db PATH       database path (default TRACE.db)\n"
		"  -h, --help          this help\n\n"
		"Examples:\n"
		"  bpftape events trace.tape | head\n"
		"  bpftape events --event 'syscalls:sys_enter_*' --comm bash trace.tape\n"
		"  bpftape events --stacks --event profile --limit 5 trace.tape\n"
		"  bpftape events --procs trace.tape\n");
}

struct clock_ref {
	int64_t mono, real;
	int ok;
	int64_t start;
	int relative;
};

static void load_clock(sqlite3 *db, struct clock_ref *c)
{
	sqlite3_stmt *st;

	c->ok = 0;
	if (sqlite3_prepare_v2(db, "SELECT clock_mono_ns, clock_realtime_ns FROM host", -1, &st,
			       NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		c->mono = sqlite3_column_int64(st, 0);
		c->real = sqlite3_column_int64(st, 1);
		c->ok = c->real != 0;
	}
	sqlite3_finalize(st);
	c->start = ana_db_start_ns(db);
}

/* PREC: digits of the fraction (6 for events, 0 for --procs). */
static void fmt_time(char *buf, size_t n, const struct clock_ref *c, int64_t ts, int prec)
{
	if (c->relative || !c->ok) {
		int64_t d = ts - c->start;
		const char *sign = d < 0 ? "-" : "";

		if (d < 0)
			d = -d;
		snprintf(buf, n, "%s%" PRId64 ".%06" PRId64, sign, d / 1000000000,
			 (d % 1000000000) / 1000);
	} else {
		int64_t wall = c->real + (ts - c->mono);
		time_t sec = (time_t)(wall / 1000000000);
		struct tm tm;
		char t[32];

		localtime_r(&sec, &tm);
		strftime(t, sizeof(t), "%H:%M:%S", &tm);
		if (prec)
			snprintf(buf, n, "%s.%06" PRId64, t, (wall % 1000000000) / 1000);
		else
			snprintf(buf, n, "%s", t);
	}
}

static int list_procs(sqlite3 *db, const struct ana_filter *f, const struct clock_ref *c,
		      long long limit)
{
	sqlite3_stmt *st = NULL;
	char *sql;
	int64_t start = c->start;
	long long n = 0;
	int rc;

	sqlite3_str *q = sqlite3_str_new(db);

	sqlite3_str_appendall(
	    q,
	    "SELECT q.ts, q.kind, q.comm, q.pid, COALESCE(NULLIF(q.ppid, 0), p.ppid), q.filename,"
	    " q.exit_status, COALESCE(p.exec_ts, p.start_ts) FROM proc_events q"
	    " LEFT JOIN processes p ON p.pid = q.pid"
	    " WHERE q.kind IN ('exec', 'exit') AND q.thread = 0");
	if (f->pid >= 0)
		sqlite3_str_appendf(q, " AND q.pid = %lld", (long long)f->pid);
	if (f->comm)
		sqlite3_str_appendf(q, " AND q.comm GLOB %Q", f->comm);
	if (f->since_ns >= 0)
		sqlite3_str_appendf(q, " AND q.ts >= %lld", (long long)(start + f->since_ns));
	if (f->until_ns >= 0)
		sqlite3_str_appendf(q, " AND q.ts < %lld", (long long)(start + f->until_ns));
	sqlite3_str_appendall(q, " ORDER BY q.ts, q.rowid");
	sql = sqlite3_str_finish(q);
	if (!sql || sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		ana_err("sql: %s", sqlite3_errmsg(db));
		sqlite3_free(sql);
		return 1;
	}
	printf("%-8s %-5s %-16s %-7s %-7s %s\n", "TIME", "EVENT", "COMM", "PID", "PPID",
	       "FILENAME/EXIT CODE");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && (limit < 0 || n < limit)) {
		int64_t ts = sqlite3_column_int64(st, 0);
		const char *kind = (const char *)sqlite3_column_text(st, 1);
		char tbuf[64];

		fmt_time(tbuf, sizeof(tbuf), c, ts, 0);
		if (!strcmp(kind, "exec")) {
			printf("%-8s %-5s %-16s %-7lld %-7lld %s\n", tbuf, "EXEC",
			       (const char *)sqlite3_column_text(st, 2),
			       (long long)sqlite3_column_int64(st, 3),
			       (long long)sqlite3_column_int64(st, 4),
			       (const char *)sqlite3_column_text(st, 5));
		} else {
			int status = sqlite3_column_int(st, 6);

			printf("%-8s %-5s %-16s %-7lld %-7lld [%d]", tbuf, "EXIT",
			       (const char *)sqlite3_column_text(st, 2),
			       (long long)sqlite3_column_int64(st, 3),
			       (long long)sqlite3_column_int64(st, 4), (status >> 8) & 0xff);
			if (status & 0x7f)
				printf(" signal %d", status & 0x7f);
			if (sqlite3_column_type(st, 7) != SQLITE_NULL &&
			    sqlite3_column_int64(st, 7) <= ts)
				printf(" (%lldms)",
				       (long long)((ts - sqlite3_column_int64(st, 7)) / 1000000));
			putchar('\n');
		}
		n++;
	}
	sqlite3_finalize(st);
	sqlite3_free(sql);
	return 0;
}

struct type_info {
	sqlite3_stmt *sel; /* SELECT * FROM tp table WHERE event_id = ? */
	char *name;
	int *hex;     /* per column: print as hex (pointers) */
	int *skip;    /* per column: common_* or the key columns */
	char **names; /* per column: the field's name in the format */
	int ncol;
};

static int load_type(sqlite3 *db, int64_t type_id, struct type_info *t)
{
	sqlite3_stmt *st;
	char *sql;
	int i;

	memset(t, 0, sizeof(*t));
	if (sqlite3_prepare_v2(db, "SELECT name, table_name FROM event_types WHERE type_id = ?", -1,
			       &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, type_id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		t->name = strdup("?");
		return 0;
	}
	t->name = strdup((const char *)sqlite3_column_text(st, 0));
	if (sqlite3_column_type(st, 1) != SQLITE_NULL) {
		sql = sqlite3_mprintf("SELECT * FROM \"%w\" WHERE event_id = ?",
				      (const char *)sqlite3_column_text(st, 1));
		if (sql && sqlite3_prepare_v2(db, sql, -1, &t->sel, NULL) != SQLITE_OK)
			t->sel = NULL;
		sqlite3_free(sql);
	}
	sqlite3_finalize(st);
	if (!t->sel)
		return 0;
	t->ncol = sqlite3_column_count(t->sel);
	t->hex = calloc((size_t)t->ncol, sizeof(int));
	t->skip = calloc((size_t)t->ncol, sizeof(int));
	t->names = calloc((size_t)t->ncol, sizeof(char *));
	if (!t->hex || !t->skip || !t->names)
		return -1;
	for (i = 0; i < 5 && i < t->ncol; i++)
		t->skip[i] = 1;
	if (sqlite3_prepare_v2(db,
			       "SELECT idx, type, common, name FROM tp_fields WHERE type_id = ?",
			       -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, type_id);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int col = sqlite3_column_int(st, 0) + 5;
		const char *ty = (const char *)sqlite3_column_text(st, 1);

		if (col >= t->ncol)
			continue;
		t->skip[col] = sqlite3_column_int(st, 2);
		t->hex[col] = ty && strchr(ty, '*');
		free(t->names[col]);
		t->names[col] = strdup((const char *)sqlite3_column_text(st, 3));
	}
	sqlite3_finalize(st);
	return 0;
}

static void free_type(struct type_info *t)
{
	sqlite3_finalize(t->sel);
	free(t->name);
	free(t->hex);
	free(t->skip);
	for (int i = 0; t->names && i < t->ncol; i++)
		free(t->names[i]);
	free(t->names);
}

static void print_fields(struct type_info *t, int64_t id)
{
	int i, first = 1;

	if (!t->sel)
		return;
	sqlite3_bind_int64(t->sel, 1, id);
	if (sqlite3_step(t->sel) == SQLITE_ROW) {
		for (i = 0; i < t->ncol; i++) {
			int ty = sqlite3_column_type(t->sel, i);

			if (t->skip[i])
				continue;
			printf("%s%s=", first ? "" : " ",
			       t->names[i] ? t->names[i] : sqlite3_column_name(t->sel, i));
			first = 0;
			if (ty == SQLITE_NULL) {
				fputs("?", stdout);
			} else if (ty == SQLITE_INTEGER) {
				if (t->hex[i])
					printf("0x%llx",
					       (unsigned long long)sqlite3_column_int64(t->sel, i));
				else
					printf("%lld", (long long)sqlite3_column_int64(t->sel, i));
			} else if (ty == SQLITE_BLOB) {
				const unsigned char *b = sqlite3_column_blob(t->sel, i);
				int n = sqlite3_column_bytes(t->sel, i), k;

				for (k = 0; k < n; k++)
					printf("%02x", b[k]);
			} else {
				fputs((const char *)sqlite3_column_text(t->sel, i), stdout);
			}
		}
	}
	sqlite3_reset(t->sel);
}

static void print_stack(sqlite3_stmt *sel, int64_t stack_id, int64_t pid)
{
	sqlite3_bind_int64(sel, 1, stack_id);
	sqlite3_bind_int64(sel, 2, pid);
	while (sqlite3_step(sel) == SQLITE_ROW) {
		const char *func = (const char *)sqlite3_column_text(sel, 1);
		const char *module = (const char *)sqlite3_column_text(sel, 2);
		const char *file = (const char *)sqlite3_column_text(sel, 5);
		int inlined = sqlite3_column_int(sel, 4);
		char name[1024];

		ana_frame_name(name, sizeof(name), func, module,
			       sqlite3_column_type(sel, 3) != SQLITE_NULL,
			       (long long)sqlite3_column_int64(sel, 3), 0);
		printf("\t%16llx %s", (unsigned long long)sqlite3_column_int64(sel, 0), name);
		if (func && sqlite3_column_type(sel, 7) != SQLITE_NULL)
			printf("+0x%llx", (unsigned long long)sqlite3_column_int64(sel, 7));
		if (inlined)
			fputs(" (inlined)", stdout);
		if (file)
			printf(" %s:%d", file, sqlite3_column_int(sel, 6));
		printf(" (%s)\n", module ? module : "[unknown]");
	}
	sqlite3_reset(sel);
}

int cmd_events(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"event", required_argument, NULL, 'e'}, {"pid", required_argument, NULL, 'p'},
	    {"comm", required_argument, NULL, 'c'},  {"since", required_argument, NULL, 'S'},
	    {"until", required_argument, NULL, 'U'}, {"stacks", no_argument, NULL, 's'},
	    {"relative", no_argument, NULL, 'r'},    {"limit", required_argument, NULL, 'n'},
	    {"procs", no_argument, NULL, 'P'},	     {"db", required_argument, NULL, 'D'},
	    {"help", no_argument, NULL, 'h'},	     {0},
	};
	struct ana_db_opts dbo = {0};
	struct ana_filter f;
	struct clock_ref clk = {0};
	struct type_info *types = NULL;
	size_t ntypes = 0;
	long long limit = -1, n = 0;
	int stacks = 0, procs = 0, c, ret = 1, rc;
	sqlite3 *db;
	sqlite3_stmt *st = NULL, *sel_frames = NULL;
	char *cond = NULL, *sql = NULL, *end;
	size_t i;

	ana_filter_init(&f);
	optind = 1;
	while ((c = getopt_long(argc, argv, "e:p:c:srn:Ph", opts, NULL)) != -1) {
		int fo = ana_filter_option(&f, c, optarg);

		if (fo < 0)
			return 2;
		if (fo > 0)
			continue;
		switch (c) {
		case 's':
			stacks = 1;
			break;
		case 'r':
			clk.relative = 1;
			break;
		case 'n':
			limit = strtoll(optarg, &end, 10);
			if (*end || end == optarg || limit < 0) {
				ana_err("invalid limit '%s'", optarg);
				return 2;
			}
			break;
		case 'P':
			procs = 1;
			break;
		case 'D':
			dbo.db_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return 2;
	}
	db = ana_db_open(argv[optind], &dbo);
	if (!db)
		return 1;
	load_clock(db, &clk);
	if (procs) {
		ret = list_procs(db, &f, &clk, limit);
		sqlite3_close(db);
		return ret;
	}
	cond = ana_filter_sql(db, &f);
	sql = sqlite3_mprintf("SELECT e.id, e.ts, e.cpu, e.pid, e.tid, e.type_id, e.kstack_id,"
			      " e.ustack_id, COALESCE(th.comm, '[unknown]') FROM events e"
			      " LEFT JOIN threads th ON th.tid = e.tid WHERE 1%s"
			      " ORDER BY %s",
			      cond, ana_db_time_order(db));
	if (!sql || sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
			       "SELECT ip, func, module, offset, inlined, file, line,"
			       " func_offset FROM frames WHERE stack_id = ? AND pid = ?"
			       " ORDER BY depth, inline_depth",
			       -1, &sel_frames, NULL) != SQLITE_OK) {
		ana_err("sql: %s", sqlite3_errmsg(db));
		goto out;
	}
	printf("%-15s %3s %-16s %-13s %-26s %s\n", clk.relative || !clk.ok ? "TIME(s)" : "TIME",
	       "CPU", "COMM", "PID/TID", "EVENT", "FIELDS");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && (limit < 0 || n < limit)) {
		int64_t id = sqlite3_column_int64(st, 0), ts = sqlite3_column_int64(st, 1);
		int64_t type_id = sqlite3_column_int64(st, 5);
		char tbuf[64], pt[32];

		if (type_id < 0 || type_id > 1000000)
			continue;
		if ((size_t)type_id >= ntypes) {
			struct type_info *nt = realloc(types, (size_t)(type_id + 1) * sizeof(*nt));

			if (!nt)
				goto out;
			memset(nt + ntypes, 0, ((size_t)type_id + 1 - ntypes) * sizeof(*nt));
			types = nt;
			ntypes = (size_t)type_id + 1;
		}
		if (!types[type_id].name && load_type(db, type_id, &types[type_id]))
			goto out;
		fmt_time(tbuf, sizeof(tbuf), &clk, ts, 6);
		snprintf(pt, sizeof(pt), "%lld/%lld", (long long)sqlite3_column_int64(st, 3),
			 (long long)sqlite3_column_int64(st, 4));
		if (types[type_id].sel) {
			printf("%-15s %3lld %-16s %-13s %-26s ", tbuf,
			       (long long)sqlite3_column_int64(st, 2),
			       (const char *)sqlite3_column_text(st, 8), pt, types[type_id].name);
			print_fields(&types[type_id], id);
		} else {
			printf("%-15s %3lld %-16s %-13s %s", tbuf,
			       (long long)sqlite3_column_int64(st, 2),
			       (const char *)sqlite3_column_text(st, 8), pt, types[type_id].name);
		}
		putchar('\n');
		if (stacks) {
			if (sqlite3_column_type(st, 6) != SQLITE_NULL)
				print_stack(sel_frames, sqlite3_column_int64(st, 6), 0);
			if (sqlite3_column_type(st, 7) != SQLITE_NULL)
				print_stack(sel_frames, sqlite3_column_int64(st, 7),
					    sqlite3_column_int64(st, 3));
			putchar('\n');
		}
		n++;
	}
	ret = 0;
out:
	for (i = 0; i < ntypes; i++)
		free_type(&types[i]);
	free(types);
	sqlite3_free(cond);
	sqlite3_free(sql);
	sqlite3_finalize(st);
	sqlite3_finalize(sel_frames);
	sqlite3_close(db);
	return ret;
}
