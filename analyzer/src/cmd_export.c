/* SPDX-License-Identifier: MIT */
/*
 * bpftape export: the events as CSV, or as Chrome trace event JSON (which
 * Perfetto and chrome://tracing open): one instant event per trace event,
 * one complete ("X") event per process lifetime, and process/thread names.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer_int.h"
#include "commands.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: bpftape export [--format csv|chrome] [-o FILE] [FILTERS] TRACE\n\n"
		"Exports TRACE's events.\n"
		"  csv     id,ts_ns,cpu,pid,tid,comm,event,kstack_id,ustack_id (a header row)\n"
		"  chrome  Chrome trace event JSON for Perfetto or chrome://tracing: events\n"
		"          as instants, process lifetimes as spans, names as metadata\n\n"
		"  -f, --format FMT     csv (default) or chrome\n"
		"  -o, --output FILE    write to FILE instead of stdout\n"
		"  -e, --event GLOB     only events of this type\n"
		"  -p, --pid PID        only this process\n"
		"  -c, --comm GLOB      only threads whose command name matches\n"
		"      --since TIME     only events at least TIME after the first\n"
		"      --until TIME     only events less than TIME after the first\n"
		"      --db PATH        database path (default TRACE.db)\n"
		"  -h, --help           this help\n\n"
		"Examples:\n"
		"  bpftape export trace.tape > events.csv\n"
		"  bpftape export --format chrome -o trace.json trace.tape   # open in Perfetto\n");
}

static int export_chrome(sqlite3 *db, const char *cond, FILE *out)
{
	sqlite3_stmt *st = NULL;
	int64_t start = ana_db_start_ns(db);
	char *sql;
	int first = 1, rc;

	/* time 0 = the earliest thing in the trace, so no span starts before it */
	if (sqlite3_prepare_v2(db,
			       "SELECT MIN(t) FROM (SELECT MIN(ts) AS t FROM proc_events"
			       " UNION ALL SELECT value FROM meta WHERE key = 'first_ts')"
			       " WHERE t IS NOT NULL AND t > 0",
			       -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		start = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);

	fputs("{\"displayTimeUnit\": \"ns\", \"traceEvents\": [", out);
	/* names */
	if (sqlite3_prepare_v2(db, "SELECT pid, comm FROM processes WHERE comm IS NOT NULL", -1,
			       &st, NULL) != SQLITE_OK)
		goto sql_err;
	while (sqlite3_step(st) == SQLITE_ROW) {
		fprintf(out,
			"%s\n{\"ph\": \"M\", \"name\": \"process_name\", \"pid\": %lld, \"args\":"
			" {\"name\": ",
			first ? "" : ",", (long long)sqlite3_column_int64(st, 0));
		ana_json_str(out, (const char *)sqlite3_column_text(st, 1));
		fputs("}}", out);
		first = 0;
	}
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(db, "SELECT tid, pid, comm FROM threads WHERE comm IS NOT NULL", -1,
			       &st, NULL) != SQLITE_OK)
		goto sql_err;
	while (sqlite3_step(st) == SQLITE_ROW) {
		fprintf(out,
			"%s\n{\"ph\": \"M\", \"name\": \"thread_name\", \"pid\": %lld, \"tid\":"
			" %lld, \"args\": {\"name\": ",
			first ? "" : ",", (long long)sqlite3_column_int64(st, 1),
			(long long)sqlite3_column_int64(st, 0));
		ana_json_str(out, (const char *)sqlite3_column_text(st, 2));
		fputs("}}", out);
		first = 0;
	}
	sqlite3_finalize(st);
	/* process lifetimes */
	if (sqlite3_prepare_v2(db,
			       "SELECT pid, COALESCE(start_ts, exec_ts), exit_ts, comm, filename,"
			       " exit_code, exit_signal FROM processes WHERE exit_ts IS NOT NULL"
			       " AND COALESCE(start_ts, exec_ts) IS NOT NULL",
			       -1, &st, NULL) != SQLITE_OK)
		goto sql_err;
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t s = sqlite3_column_int64(st, 1), e = sqlite3_column_int64(st, 2);

		fprintf(out, "%s\n{\"ph\": \"X\", \"name\": ", first ? "" : ",");
		ana_json_str(out, (const char *)sqlite3_column_text(st, 3));
		fprintf(out,
			", \"cat\": \"process\", \"pid\": %lld, \"tid\": %lld, \"ts\": %.3f,"
			" \"dur\": %.3f, \"args\": {\"filename\": ",
			(long long)sqlite3_column_int64(st, 0),
			(long long)sqlite3_column_int64(st, 0), (double)(s - start) / 1e3,
			(double)(e - s) / 1e3);
		ana_json_str(out, (const char *)sqlite3_column_text(st, 4));
		fprintf(out, ", \"exit_code\": %lld, \"exit_signal\": %lld}}",
			(long long)sqlite3_column_int64(st, 5),
			(long long)sqlite3_column_int64(st, 6));
		first = 0;
	}
	sqlite3_finalize(st);
	sql = sqlite3_mprintf(
	    "SELECT e.ts, e.cpu, e.pid, e.tid, t.name FROM events e JOIN event_types t"
	    " USING(type_id) WHERE 1%s ORDER BY %s",
	    cond, ana_db_time_order(db));
	if (!sql || sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		sqlite3_free(sql);
		goto sql_err;
	}
	sqlite3_free(sql);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		fprintf(out, "%s\n{\"ph\": \"i\", \"s\": \"t\", \"name\": ", first ? "" : ",");
		ana_json_str(out, (const char *)sqlite3_column_text(st, 4));
		fprintf(
		    out, ", \"pid\": %lld, \"tid\": %lld, \"ts\": %.3f, \"args\": {\"cpu\": %lld}}",
		    (long long)sqlite3_column_int64(st, 2), (long long)sqlite3_column_int64(st, 3),
		    (double)(sqlite3_column_int64(st, 0) - start) / 1e3,
		    (long long)sqlite3_column_int64(st, 1));
		first = 0;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		goto sql_err;
	fputs("\n]}\n", out);
	return 0;
sql_err:
	ana_err("sql: %s", sqlite3_errmsg(db));
	return 1;
}

static int export_csv(sqlite3 *db, const char *cond, FILE *out)
{
	sqlite3_stmt *st = NULL;
	char *sql;
	int rc;

	sql = sqlite3_mprintf(
	    "SELECT e.id, e.ts, e.cpu, e.pid, e.tid, COALESCE(th.comm, ''), t.name,"
	    " e.kstack_id, e.ustack_id FROM events e JOIN event_types t USING(type_id)"
	    " LEFT JOIN threads th ON th.tid = e.tid WHERE 1%s ORDER BY %s",
	    cond, ana_db_time_order(db));
	if (!sql || sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		sqlite3_free(sql);
		ana_err("sql: %s", sqlite3_errmsg(db));
		return 1;
	}
	sqlite3_free(sql);
	fputs("id,ts_ns,cpu,pid,tid,comm,event,kstack_id,ustack_id\n", out);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *comm = (const char *)sqlite3_column_text(st, 5);
		int i;

		fprintf(
		    out, "%lld,%lld,%lld,%lld,%lld,", (long long)sqlite3_column_int64(st, 0),
		    (long long)sqlite3_column_int64(st, 1), (long long)sqlite3_column_int64(st, 2),
		    (long long)sqlite3_column_int64(st, 3), (long long)sqlite3_column_int64(st, 4));
		if (strpbrk(comm, ",\"\n")) {
			fputc('"', out);
			for (; *comm; comm++) {
				if (*comm == '"')
					fputc('"', out);
				fputc(*comm, out);
			}
			fputc('"', out);
		} else {
			fputs(comm, out);
		}
		fprintf(out, ",%s", sqlite3_column_text(st, 6));
		for (i = 7; i < 9; i++) {
			if (sqlite3_column_type(st, i) == SQLITE_NULL)
				fputs(",", out);
			else
				fprintf(out, ",%lld", (long long)sqlite3_column_int64(st, i));
		}
		fputc('\n', out);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		ana_err("sql: %s", sqlite3_errmsg(db));
		return 1;
	}
	return 0;
}

int cmd_export(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"format", required_argument, NULL, 'f'}, {"output", required_argument, NULL, 'o'},
	    {"event", required_argument, NULL, 'e'},  {"pid", required_argument, NULL, 'p'},
	    {"comm", required_argument, NULL, 'c'},   {"since", required_argument, NULL, 'S'},
	    {"until", required_argument, NULL, 'U'},  {"db", required_argument, NULL, 'D'},
	    {"help", no_argument, NULL, 'h'},	      {0},
	};
	struct ana_db_opts dbo = {0};
	struct ana_filter f;
	const char *format = "csv", *output = NULL;
	char *cond;
	sqlite3 *db;
	FILE *out = stdout;
	int c, ret;

	ana_filter_init(&f);
	optind = 1;
	while ((c = getopt_long(argc, argv, "f:o:e:p:c:h", opts, NULL)) != -1) {
		int fo = ana_filter_option(&f, c, optarg);

		if (fo < 0)
			return 2;
		if (fo > 0)
			continue;
		switch (c) {
		case 'f':
			format = optarg;
			break;
		case 'o':
			output = optarg;
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
	if (strcmp(format, "csv") && strcmp(format, "chrome")) {
		ana_err("unknown export format '%s' (csv or chrome)", format);
		return 2;
	}
	db = ana_db_open(argv[optind], &dbo);
	if (!db)
		return 1;
	if (output && !(out = fopen(output, "w"))) {
		ana_err("cannot create '%s': %m", output);
		sqlite3_close(db);
		return 1;
	}
	cond = ana_filter_sql(db, &f);
	ret = !strcmp(format, "csv") ? export_csv(db, cond, out) : export_chrome(db, cond, out);
	sqlite3_free(cond);
	sqlite3_close(db);
	if (output && fclose(out)) {
		ana_err("cannot write '%s': %m", output);
		ret = 1;
	}
	return ret;
}
