/* SPDX-License-Identifier: MIT */
/*
 * bpftape hist: a histogram of a tracepoint field, of the time between
 * paired events of one thread, or of any one-column query; log2 like bcc's
 * print_log2_hist or linear like bpftrace's lhist, optionally one per key,
 * each followed by a count/min/mean/percentiles/max line.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer_int.h"
#include "commands.h"
#include "hashmap.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: bpftape hist [OPTIONS] TRACE\n"
		"  value from one of:\n"
		"       --event NAME --field FIELD   a tracepoint field\n"
		"       --latency START,END          time from START to the next END event\n"
		"                                    of the same thread\n"
		"       --sql \"SELECT value [, key] ...\"  any query (second column = key)\n\n"
		"Prints a log2 histogram in bcc's format (print_log2_hist), or a linear one\n"
		"like bpftrace's lhist, followed by count, min, mean, p50, p90, p99, p99.9\n"
		"and max.\n\n"
		"  -l, --linear STEP      linear buckets of STEP\n"
		"      --range MIN,MAX    linear range (default: what the values span)\n"
		"  -b, --by KEY           one histogram per comm, pid, tid, cpu or field\n"
		"                         (with --sql: per value of the second column)\n"
		"  -u, --unit UNIT        latency unit: ns, us (default), ms, s\n"
		"  -p, --pid PID          only this process\n"
		"  -c, --comm GLOB        only threads whose command name matches\n"
		"      --since TIME       only events at least TIME after the first\n"
		"      --until TIME       only events less than TIME after the first\n"
		"      --db PATH          database path (default TRACE.db)\n"
		"  -h, --help             this help\n\n"
		"Examples:\n"
		"  bpftape hist --event block:block_rq_complete --field nr_sector trace.tape\n"
		"  bpftape hist --latency syscalls:sys_enter_read,syscalls:sys_exit_read \\\n"
		"               --by comm trace.tape\n"
		"  bpftape hist --sql \"SELECT count FROM tp_syscalls_sys_enter_read\" trace.tape\n"
		"  bpftape hist --linear 10 --event sched:sched_wakeup --field prio trace.tape\n");
}

struct series {
	char *key;
	int64_t *vals;
	size_t n, cap;
};

struct hist_ctx {
	struct series *s;
	size_t ns;
	struct ana_hm keys; /* hash(key) -> index, with collisions chained by linear probe */
};

static uint64_t str_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	return h;
}

static int add_value(struct hist_ctx *h, const char *key, int64_t v)
{
	struct series *s = NULL;
	uint64_t hv = str_hash(key);
	uint64_t salt;

	/* find the series of KEY: (hash, salt) until the key matches */
	for (salt = 0;; salt++) {
		struct ana_hm_slot *slot;
		int created;

		slot = ana_hm__upsert(&h->keys, hv, salt, &created);
		if (!slot)
			return -1;
		if (!created) {
			if (!strcmp(h->s[slot->val].key, key)) {
				s = &h->s[slot->val];
				break;
			}
			continue;
		}
		{
			struct series *n = realloc(h->s, (h->ns + 1) * sizeof(*n));

			if (!n)
				return -1;
			h->s = n;
			s = &h->s[h->ns];
			memset(s, 0, sizeof(*s));
			s->key = strdup(key);
			if (!s->key)
				return -1;
			slot->val = h->ns++;
		}
		break;
	}
	if (s->n == s->cap) {
		size_t nc = s->cap ? 2 * s->cap : 256;
		int64_t *n = realloc(s->vals, nc * sizeof(*n));

		if (!n)
			return -1;
		s->vals = n;
		s->cap = nc;
	}
	s->vals[s->n++] = v;
	return 0;
}

static int is_int(const char *s)
{
	char *end;

	if (!*s)
		return 0;
	(void)strtoll(s, &end, 10);
	return !*end;
}

static int all_int;

static int cmp_series(const void *a, const void *b)
{
	const struct series *x = a, *y = b;

	if (all_int) {
		long long p = strtoll(x->key, NULL, 10), q = strtoll(y->key, NULL, 10);

		return p < q ? -1 : p > q;
	}
	return strcmp(x->key, y->key);
}

static void print_series(struct series *s, const char *unit, int64_t step, int have_range,
			 int64_t rmin, int64_t rmax)
{
	struct ana_summary sum;
	size_t i;
	uint64_t neg = 0;

	if (!s->n)
		return;
	if (step > 0) {
		int64_t lo, hi, mn = INT64_MAX, mx = INT64_MIN;
		uint64_t *counts, below = 0, above = 0;
		size_t nb;

		for (i = 0; i < s->n; i++) {
			if (s->vals[i] < mn)
				mn = s->vals[i];
			if (s->vals[i] > mx)
				mx = s->vals[i];
		}
		if (have_range) {
			lo = rmin;
			hi = rmax;
		} else {
			lo = mn >= 0 ? mn / step * step : -((-mn + step - 1) / step) * step;
			hi = (mx >= 0 ? mx / step + 1 : -((-mx) / step) + 0) * step;
			if (hi <= lo)
				hi = lo + step;
		}
		nb = (size_t)((hi - lo + step - 1) / step);
		if (nb > 100000) {
			ana_err("--linear %" PRId64 " would make %zu buckets; use a larger step or"
				" --range",
				step, nb);
			return;
		}
		counts = calloc(nb ? nb : 1, sizeof(*counts));
		if (!counts)
			return;
		for (i = 0; i < s->n; i++) {
			int64_t v = s->vals[i];

			if (v < lo)
				below++;
			else if (v >= lo + (int64_t)nb * step)
				above++;
			else
				counts[(v - lo) / step]++;
		}
		printf("@%s:\n", unit);
		ana_print_linear_hist(stdout, counts, nb, lo, step, below, above);
		free(counts);
	} else {
		uint64_t slots[ANA_LOG2_SLOTS] = {0};

		for (i = 0; i < s->n; i++) {
			if (s->vals[i] < 0)
				neg++;
			else
				slots[ana_log2_slot((uint64_t)s->vals[i])]++;
		}
		ana_print_log2_hist(stdout, slots, ANA_LOG2_SLOTS, unit);
		if (neg)
			printf("(%" PRIu64 " negative values not shown)\n", neg);
	}
	ana_summarize(s->vals, s->n, &sum);
	ana_print_summary(stdout, &sum);
}

static char *key_expr(sqlite3 *db, const char *by, const char *table)
{
	if (!by)
		return sqlite3_mprintf("''");
	if (!strcmp(by, "comm"))
		return sqlite3_mprintf(
		    "COALESCE((SELECT comm FROM threads th WHERE th.tid = e.tid),"
		    " '[unknown]')");
	if (!strcmp(by, "pid") || !strcmp(by, "tid") || !strcmp(by, "cpu"))
		return sqlite3_mprintf("e.%s", by);
	if (table)
		return sqlite3_mprintf("t.\"%w\"", by);
	(void)db;
	return NULL;
}

static int64_t unit_div(const char *unit)
{
	if (!strcmp(unit, "ns"))
		return 1;
	if (!strcmp(unit, "us"))
		return 1000;
	if (!strcmp(unit, "ms"))
		return 1000000;
	if (!strcmp(unit, "s"))
		return 1000000000;
	return 0;
}

static const char *unit_name(const char *unit)
{
	if (!strcmp(unit, "ns"))
		return "nsecs";
	if (!strcmp(unit, "us"))
		return "usecs";
	if (!strcmp(unit, "ms"))
		return "msecs";
	return "secs";
}

/* The type_id of NAME, and its table (NULL when none).  -1 when absent. */
static int64_t find_type(sqlite3 *db, const char *name, char *table, size_t size)
{
	sqlite3_stmt *st;
	int64_t id = -1;

	if (sqlite3_prepare_v2(db, "SELECT type_id, table_name FROM event_types WHERE name = ?", -1,
			       &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
		snprintf(table, size, "%s",
			 sqlite3_column_type(st, 1) == SQLITE_NULL
			     ? ""
			     : (const char *)sqlite3_column_text(st, 1));
	}
	sqlite3_finalize(st);
	return id;
}

/* Finds FIELD (a name from the format, or its column) of TYPE_ID: 1 with
 * its column in COL and *is_int set, 0 when there is none. */
static int find_field(sqlite3 *db, int64_t type_id, const char *field, char *col, size_t size,
		      int *is_int)
{
	sqlite3_stmt *st;
	int ok = 0;

	if (sqlite3_prepare_v2(
		db,
		"SELECT column_name, kind = 'int' FROM tp_fields WHERE type_id = ?"
		" AND (name = ?2 OR column_name = ?2) ORDER BY name = ?2 DESC LIMIT 1",
		-1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_int64(st, 1, type_id);
	sqlite3_bind_text(st, 2, field, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(col, size, "%s", (const char *)sqlite3_column_text(st, 0));
		*is_int = sqlite3_column_int(st, 1);
		ok = 1;
	}
	sqlite3_finalize(st);
	return ok;
}

static void list_fields(sqlite3 *db, int64_t type_id)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(db,
			       "SELECT column_name FROM tp_fields WHERE type_id = ?"
			       " AND common = 0 ORDER BY idx",
			       -1, &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(st, 1, type_id);
	fprintf(stderr, "fields:");
	while (sqlite3_step(st) == SQLITE_ROW)
		fprintf(stderr, " %s", sqlite3_column_text(st, 0));
	fputc('\n', stderr);
	sqlite3_finalize(st);
}

int cmd_hist(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"event", required_argument, NULL, 'e'},
	    {"field", required_argument, NULL, 'f'},
	    {"latency", required_argument, NULL, 'L'},
	    {"sql", required_argument, NULL, 'Q'},
	    {"linear", required_argument, NULL, 'l'},
	    {"range", required_argument, NULL, 'r'},
	    {"by", required_argument, NULL, 'b'},
	    {"unit", required_argument, NULL, 'u'},
	    {"pid", required_argument, NULL, 'p'},
	    {"comm", required_argument, NULL, 'c'},
	    {"since", required_argument, NULL, 'S'},
	    {"until", required_argument, NULL, 'U'},
	    {"db", required_argument, NULL, 'D'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	const char *event = NULL, *field = NULL, *latency = NULL, *query = NULL, *by = NULL;
	const char *unit = "us";
	struct ana_db_opts dbo = {0};
	struct ana_filter f;
	struct hist_ctx h = {0};
	int64_t step = 0, rmin = 0, rmax = 0;
	int have_range = 0, c, ret = 1, rc, nsrc;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char *sql = NULL, *cond = NULL, *kexpr = NULL, *end;
	char table[512], fcol[256], bcol[256];
	const char *by_expr = NULL;
	int field_int = 0;
	size_t i;

	ana_filter_init(&f);
	optind = 1;
	while ((c = getopt_long(argc, argv, "e:f:l:b:u:p:c:h", opts, NULL)) != -1) {
		/* -e is the histogram's event here, not a filter */
		int fo = c == 'e' ? 0 : ana_filter_option(&f, c, optarg);

		if (fo < 0)
			return 2;
		if (fo > 0)
			continue;
		switch (c) {
		case 'e':
			event = optarg;
			break;
		case 'f':
			field = optarg;
			break;
		case 'L':
			latency = optarg;
			break;
		case 'Q':
			query = optarg;
			break;
		case 'l':
			step = strtoll(optarg, &end, 10);
			if (*end || end == optarg || step <= 0) {
				ana_err("invalid --linear step '%s'", optarg);
				return 2;
			}
			break;
		case 'r': {
			long long a, b;
			char tail;

			if (sscanf(optarg, "%lld,%lld%c", &a, &b, &tail) != 2 || b <= a) {
				ana_err("invalid --range '%s' (expected MIN,MAX)", optarg);
				return 2;
			}
			rmin = a;
			rmax = b;
			have_range = 1;
			break;
		}
		case 'b':
			by = optarg;
			break;
		case 'u':
			if (!unit_div(optarg)) {
				ana_err("invalid unit '%s' (ns, us, ms or s)", optarg);
				return 2;
			}
			unit = optarg;
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
	nsrc = (event != NULL) + (latency != NULL) + (query != NULL);
	if (optind + 1 != argc || nsrc != 1 || (event && !field) || (field && !event) ||
	    (have_range && !step)) {
		if (nsrc != 1 && optind + 1 == argc)
			ana_err("give exactly one of --event/--field, --latency, --sql");
		usage(stderr);
		return 2;
	}
	db = ana_db_open(argv[optind], &dbo);
	if (!db)
		return 1;
	cond = ana_filter_sql(db, &f);
	by_expr = by;

	if (event) {
		int64_t tid = find_type(db, event, table, sizeof(table));

		if (tid < 0) {
			ana_err("no event '%s' in '%s'", event, argv[optind]);
			goto out;
		}
		if (!table[0]) {
			ana_err("event '%s' has no fields (not a tracepoint)", event);
			goto out;
		}
		if (!find_field(db, tid, field, fcol, sizeof(fcol), &field_int)) {
			ana_err("event '%s' has no field '%s'", event, field);
			list_fields(db, tid);
			goto out;
		}
		if (!field_int) {
			ana_err("field '%s' of '%s' is not a number", field, event);
			goto out;
		}
		if (by && strcmp(by, "comm") && strcmp(by, "pid") && strcmp(by, "tid") &&
		    strcmp(by, "cpu")) {
			if (!find_field(db, tid, by, bcol, sizeof(bcol), &field_int)) {
				ana_err(
				    "cannot group by '%s': not comm, pid, tid, cpu or a field of"
				    " '%s'",
				    by, event);
				goto out;
			}
			by_expr = bcol;
		}
		kexpr = key_expr(db, by_expr, table);
		sql = sqlite3_mprintf("SELECT t.\"%w\", %s FROM \"%w\" t JOIN events e"
				      " ON e.id = t.event_id WHERE 1%s",
				      fcol, kexpr, table, cond);
	} else if (latency) {
		char a[256], b[256];
		const char *comma = strchr(latency, ',');
		int64_t ta, tb;

		if (!comma || comma == latency || !comma[1] ||
		    (size_t)(comma - latency) >= sizeof(a)) {
			ana_err("invalid --latency '%s' (expected START,END)", latency);
			goto usage_err;
		}
		snprintf(a, sizeof(a), "%.*s", (int)(comma - latency), latency);
		snprintf(b, sizeof(b), "%s", comma + 1);
		ta = find_type(db, a, table, sizeof(table));
		tb = find_type(db, b, table, sizeof(table));
		if (ta < 0 || tb < 0) {
			ana_err("no event '%s' in '%s'", ta < 0 ? a : b, argv[optind]);
			goto out;
		}
		if (by && strcmp(by, "comm") && strcmp(by, "pid") && strcmp(by, "tid") &&
		    strcmp(by, "cpu")) {
			ana_err("--latency groups by comm, pid, tid or cpu, not '%s'", by);
			goto out;
		}
		kexpr = key_expr(db, by, NULL);
		sql = sqlite3_mprintf("SELECT e.tid, e.ts, e.type_id = %lld, %s FROM events e"
				      " WHERE e.type_id IN (%lld, %lld)%s ORDER BY %s",
				      (long long)ta, kexpr, (long long)ta, (long long)tb, cond,
				      ana_db_time_order(db));
	} else {
		sql = sqlite3_mprintf("%s", query);
	}
	if (!sql || sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		ana_err("sql: %s", sqlite3_errmsg(db));
		goto out;
	}
	if (query && sqlite3_column_count(st) != 1 && !(by && sqlite3_column_count(st) == 2)) {
		ana_err("--sql needs a query returning one column (two with --by: value, key)");
		goto out;
	}
	if (latency) {
		struct ana_hm pending = {0};
		int64_t div = unit_div(unit);

		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			uint32_t tid = (uint32_t)sqlite3_column_int64(st, 0);
			int64_t ts = sqlite3_column_int64(st, 1);
			int is_start = sqlite3_column_int(st, 2);
			struct ana_hm_slot *s;
			int created;

			s = ana_hm__upsert(&pending, tid, 0, &created);
			if (!s)
				break;
			if (is_start) {
				s->val = (uint64_t)ts + 1; /* 0 = nothing pending */
			} else if (s->val) {
				const char *k = (const char *)sqlite3_column_text(st, 3);

				if (add_value(&h, k ? k : "", (ts - (int64_t)(s->val - 1)) / div))
					break;
				s->val = 0;
			}
		}
		ana_hm__release(&pending);
	} else {
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			const char *k = by ? (const char *)sqlite3_column_text(st, 1) : "";

			if (sqlite3_column_type(st, 0) == SQLITE_NULL)
				continue;
			if (add_value(&h, k ? k : "", sqlite3_column_int64(st, 0)))
				break;
		}
	}
	if (rc != SQLITE_DONE) {
		ana_err("%s", rc == SQLITE_ROW ? "out of memory" : sqlite3_errmsg(db));
		goto out;
	}
	if (!h.ns) {
		printf("no values\n");
		ret = 0;
		goto out;
	}
	all_int = 1;
	for (i = 0; i < h.ns; i++)
		all_int &= is_int(h.s[i].key);
	qsort(h.s, h.ns, sizeof(*h.s), cmp_series);
	for (i = 0; i < h.ns; i++) {
		const char *u = latency ? unit_name(unit)
				: event ? field
					: sqlite3_column_name(st, 0);

		if (by)
			printf("%s%s = %s\n", i ? "\n" : "", by, h.s[i].key);
		print_series(&h.s[i], u, step, have_range, rmin, rmax);
	}
	ret = 0;
	goto out;
usage_err:
	ret = 2;
out:
	for (i = 0; i < h.ns; i++) {
		free(h.s[i].key);
		free(h.s[i].vals);
	}
	free(h.s);
	ana_hm__release(&h.keys);
	sqlite3_free(sql);
	sqlite3_free(cond);
	sqlite3_free(kexpr);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return ret;
}
