/* SPDX-License-Identifier: MIT */
/*
 * bpftape folded: stacks in Brendan Gregg's folded format
 * ("comm;root;...;leaf count"), ready for flamegraph.pl, inferno or
 * speedscope.  Events are counted per (thread, kernel stack, user stack) in
 * one scan, then each distinct stack is named once.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer_int.h"
#include "commands.h"
#include "stacks.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: bpftape folded [OPTIONS] TRACE\n\n"
		"Prints the stacks of TRACE's events in folded format, one line per distinct\n"
		"stack: comm;root;...;leaf COUNT, sorted by stack (like stackcollapse-perf.pl).\n"
		"User frames come first (root at the left), kernel frames on top.\n\n"
		"  -e, --event GLOB     only events of this type (e.g. profile, 'sched:*')\n"
		"  -p, --pid PID        only this process\n"
		"  -c, --comm GLOB      only threads whose command name matches\n"
		"      --since TIME     only events at least TIME after the first (10s, 500ms)\n"
		"      --until TIME     only events less than TIME after the first\n"
		"  -k, --kernel-suffix  append _[k] to kernel frames (flamegraph.pl colors)\n"
		"      --no-inline      leave out inlined frames\n"
		"      --pid-in-comm    use comm-PID as the first frame\n"
		"      --db PATH        database path (default TRACE.db)\n"
		"  -h, --help           this help\n\n"
		"Unresolved frames print as module+0xOFFSET (file offset), or [unknown]\n"
		"when not even the module is known.\n\n"
		"Examples:\n"
		"  bpftape folded trace.tape > out.folded && flamegraph.pl out.folded > cpu.svg\n"
		"  bpftape folded --comm burner --kernel-suffix trace.tape | inferno-flamegraph\n");
}

struct group {
	uint32_t tid, pid, kstack, ustack;
	uint64_t count;
};

static int cmp_line(const void *a, const void *b)
{
	return strcmp(((const struct ana_folded_line *)a)->stack,
		      ((const struct ana_folded_line *)b)->stack);
}

void ana_folded_free(struct ana_folded_line *lines, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(lines[i].stack);
	free(lines);
}

int ana_folded_collect(sqlite3 *db, const struct ana_filter *f, int kernel_suffix, int no_inline,
		       int by_pid, struct ana_folded_line **out, size_t *nout)
{
	struct ana_hm groups = {0}, comms = {0};
	struct group *g = NULL;
	size_t ng = 0, capg = 0, i, nl = 0, k;
	char **comm_strs = NULL;
	size_t ncomm = 0;
	struct ana_folded_line *lines = NULL;
	struct ana_stacks stacks;
	sqlite3_stmt *st = NULL;
	char *cond = ana_filter_sql(db, f), *sql;
	int ret = -1, rc;

	*out = NULL;
	*nout = 0;
	if (ana_stacks__init(&stacks, db, kernel_suffix, no_inline)) {
		sqlite3_free(cond);
		return -1;
	}
	/* without a time window the per-thread, per-stack counts made at
	 * import answer; with one, the events themselves are counted */
	if (f->since_ns < 0 && f->until_ns < 0)
		sql = sqlite3_mprintf("SELECT e.tid, e.pid, e.kstack_id, e.ustack_id, e.count"
				      " FROM event_counts e WHERE (e.kstack_id IS NOT NULL"
				      " OR e.ustack_id IS NOT NULL)%s",
				      cond ? cond : "");
	else
		sql = sqlite3_mprintf("SELECT e.tid, e.pid, e.kstack_id, e.ustack_id, 1"
				      " FROM events e WHERE (e.kstack_id IS NOT NULL"
				      " OR e.ustack_id IS NOT NULL)%s",
				      cond ? cond : "");
	sqlite3_free(cond);
	if (!sql || sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		ana_err("sql: %s", sqlite3_errmsg(db));
		goto out;
	}
	/* one pass over the events: count per (tid, pid, kstack, ustack) */
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint32_t tid = (uint32_t)sqlite3_column_int64(st, 0);
		uint32_t pid = (uint32_t)sqlite3_column_int64(st, 1);
		uint32_t ks = (uint32_t)sqlite3_column_int64(st, 2);
		uint32_t us = (uint32_t)sqlite3_column_int64(st, 3);
		struct ana_hm_slot *s;
		int created;

		s = ana_hm__upsert(&groups, (uint64_t)tid << 32 | pid, (uint64_t)ks << 32 | us,
				   &created);
		if (!s)
			goto oom;
		if (created) {
			if (ana_grow((void **)&g, &capg, ng, sizeof(*g), 1024))
				goto oom;
			g[ng] = (struct group){tid, pid, ks, us, 0};
			s->val = ng++;
		}
		g[s->val].count += (uint64_t)sqlite3_column_int64(st, 4);
	}
	if (rc != SQLITE_DONE) {
		ana_err("sql: %s", sqlite3_errmsg(db));
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	/* thread names */
	if (sqlite3_prepare_v2(db, "SELECT tid, comm FROM threads WHERE comm IS NOT NULL", -1, &st,
			       NULL) != SQLITE_OK) {
		ana_err("sql: %s", sqlite3_errmsg(db));
		goto out;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct ana_hm_slot *s;
		int created;
		char **n;

		s = ana_hm__upsert(&comms, (uint64_t)sqlite3_column_int64(st, 0), 0, &created);
		if (!s)
			goto oom;
		n = realloc(comm_strs, (ncomm + 1) * sizeof(*n));
		if (!n)
			goto oom;
		comm_strs = n;
		comm_strs[ncomm] = strdup((const char *)sqlite3_column_text(st, 1));
		if (!comm_strs[ncomm])
			goto oom;
		s->val = ncomm++;
	}
	sqlite3_finalize(st);
	st = NULL;

	/* many stacks: name them all in one scan of the frames table (a few
	 * are cheaper one query each) */
	for (i = 0; i < ng; i++)
		if ((g[i].ustack && ana_stacks__want(&stacks, g[i].ustack, g[i].pid)) ||
		    (g[i].kstack && ana_stacks__want(&stacks, g[i].kstack, 0)))
			goto out;
	if (ng >= 256 && ana_stacks__load(&stacks))
		goto out;
	lines = calloc(ng ? ng : 1, sizeof(*lines));
	if (!lines)
		goto oom;
	for (i = 0; i < ng; i++) {
		const struct ana_hm_slot *c = ana_hm__find(&comms, g[i].tid, 0);
		const char *comm = c ? comm_strs[c->val] : "[unknown]";
		const char *us = g[i].ustack ? ana_stacks__get(&stacks, g[i].ustack, g[i].pid) : "";
		const char *ks = g[i].kstack ? ana_stacks__get(&stacks, g[i].kstack, 0) : "";
		size_t len;
		char *line, *p;

		if (!us || !ks)
			goto oom;
		len = strlen(comm) + strlen(us) + strlen(ks) + 40;
		line = malloc(len);
		if (!line)
			goto oom;
		if (by_pid)
			snprintf(line, len, "%s-%u", comm, g[i].pid);
		else
			snprintf(line, len, "%s", comm);
		for (p = line; *p; p++)
			if (*p == ';')
				*p = ':';
		if (*us)
			strcat(strcat(line, ";"), us);
		if (*ks)
			strcat(strcat(line, ";"), ks);
		lines[nl].stack = line;
		lines[nl++].count = g[i].count;
	}
	qsort(lines, nl, sizeof(*lines), cmp_line);
	/* merge equal stacks (threads and processes of the same comm) */
	for (i = 0, k = 0; i < nl; i++) {
		if (k && !strcmp(lines[k - 1].stack, lines[i].stack)) {
			lines[k - 1].count += lines[i].count;
			free(lines[i].stack);
		} else {
			lines[k++] = lines[i];
		}
	}
	*out = lines;
	*nout = k;
	lines = NULL;
	nl = 0;
	ret = 0;
	goto out;
oom:
	ana_err("out of memory");
out:
	sqlite3_free(sql);
	sqlite3_finalize(st);
	ana_folded_free(lines, nl);
	for (i = 0; i < ncomm; i++)
		free(comm_strs[i]);
	free(comm_strs);
	free(g);
	ana_hm__release(&groups);
	ana_hm__release(&comms);
	ana_stacks__release(&stacks);
	return ret;
}

/* Options shared by folded and flamegraph. */
int ana_stack_cli(int argc, char **argv, struct ana_filter *f, struct ana_db_opts *dbo,
		  int *kernel_suffix, int *no_inline, int *by_pid, const char **output,
		  const char **title, void (*usage_fn)(FILE *));

int ana_stack_cli(int argc, char **argv, struct ana_filter *f, struct ana_db_opts *dbo,
		  int *kernel_suffix, int *no_inline, int *by_pid, const char **output,
		  const char **title, void (*usage_fn)(FILE *))
{
	static const struct option opts[] = {
	    {"event", required_argument, NULL, 'e'},
	    {"pid", required_argument, NULL, 'p'},
	    {"comm", required_argument, NULL, 'c'},
	    {"since", required_argument, NULL, 'S'},
	    {"until", required_argument, NULL, 'U'},
	    {"kernel-suffix", no_argument, NULL, 'k'},
	    {"no-inline", no_argument, NULL, 'I'},
	    {"pid-in-comm", no_argument, NULL, 'P'},
	    {"db", required_argument, NULL, 'D'},
	    {"output", required_argument, NULL, 'o'},
	    {"title", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	int c;

	ana_filter_init(f);
	optind = 1;
	while ((c = getopt_long(argc, argv, "e:p:c:ko:t:h", opts, NULL)) != -1) {
		int fo = ana_filter_option(f, c, optarg);

		if (fo < 0)
			return 2;
		if (fo > 0)
			continue;
		switch (c) {
		case 'k':
			*kernel_suffix = 1;
			break;
		case 'I':
			*no_inline = 1;
			break;
		case 'P':
			*by_pid = 1;
			break;
		case 'D':
			dbo->db_path = optarg;
			break;
		case 'o':
			if (!output)
				goto bad;
			*output = optarg;
			break;
		case 't':
			if (!title)
				goto bad;
			*title = optarg;
			break;
		case 'h':
			usage_fn(stdout);
			return 0;
		default:
			goto bad;
		}
	}
	if (optind + 1 != argc)
		goto bad;
	return -1;
bad:
	usage_fn(stderr);
	return 2;
}

int cmd_folded(int argc, char **argv)
{
	struct ana_filter f;
	struct ana_db_opts dbo = {0};
	struct ana_folded_line *lines;
	int ks = 0, ni = 0, bp = 0, ret;
	size_t n, i;
	sqlite3 *db;

	ret = ana_stack_cli(argc, argv, &f, &dbo, &ks, &ni, &bp, NULL, NULL, usage);
	if (ret >= 0)
		return ret;
	db = ana_db_open(argv[optind], &dbo);
	if (!db)
		return 1;
	ret = ana_folded_collect(db, &f, ks, ni, bp, &lines, &n);
	sqlite3_close(db);
	if (ret)
		return 1;
	for (i = 0; i < n; i++)
		printf("%s %" PRIu64 "\n", lines[i].stack, lines[i].count);
	ana_folded_free(lines, n);
	return 0;
}
