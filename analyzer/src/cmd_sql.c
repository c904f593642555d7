/* SPDX-License-Identifier: MIT */
/*
 * bpftape sql: one query on the trace database (opened read-only), printed
 * as aligned text, CSV (RFC 4180) or JSON (an array of objects).
 */
#include <ctype.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer_int.h"
#include "commands.h"

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: bpftape sql [--csv | --json] [--db PATH] [--reimport] TRACE \"QUERY\"\n\n"
	    "Runs one SQL query on the database of TRACE (imported on first use, then\n"
	    "reused while the trace is unchanged; opened read-only).  Tables and views\n"
	    "are described in docs/SCHEMA.md.\n\n"
	    "  -c, --csv        CSV with a header row\n"
	    "  -j, --json       a JSON array of objects\n"
	    "      --db PATH    database path (default TRACE.db)\n"
	    "      --reimport   import again even when the database is up to date\n"
	    "  -h, --help       this help\n\n"
	    "Examples:\n"
	    "  bpftape sql trace.tape \"SELECT event, COUNT(*) FROM event_list GROUP BY event\"\n"
	    "  bpftape sql --csv trace.tape \"SELECT pid, comm, exit_code FROM processes\"\n"
	    "  bpftape sql --json trace.tape \"SELECT * FROM stats\"\n");
}

enum fmt { FMT_TEXT, FMT_CSV, FMT_JSON };

static char *cell_text(sqlite3_stmt *st, int i)
{
	int t = sqlite3_column_type(st, i);

	if (t == SQLITE_NULL)
		return strdup("");
	if (t == SQLITE_BLOB) {
		const unsigned char *b = sqlite3_column_blob(st, i);
		int n = sqlite3_column_bytes(st, i), k;
		char *s = malloc(2 * (size_t)n + 3);

		if (!s)
			return NULL;
		strcpy(s, "x'");
		for (k = 0; k < n; k++)
			sprintf(s + 2 + 2 * k, "%02x", b[k]);
		strcpy(s + 2 + 2 * n, "'");
		return s;
	}
	return strdup((const char *)sqlite3_column_text(st, i));
}

static void csv_cell(const char *s)
{
	if (strpbrk(s, ",\"\r\n")) {
		putchar('"');
		for (; *s; s++) {
			if (*s == '"')
				putchar('"');
			putchar(*s);
		}
		putchar('"');
	} else {
		fputs(s, stdout);
	}
}

/* Display width in characters, counting UTF-8 continuation bytes as 0. */
static size_t width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

static int run(sqlite3 *db, sqlite3_stmt *st, enum fmt fmt)
{
	int ncol = sqlite3_column_count(st), i, rc;
	size_t nrows = 0, cap = 0, r;
	char **cells = NULL;
	int *numeric = NULL;
	size_t *w = NULL;
	int ret = 0;

	if (fmt == FMT_CSV) {
		for (i = 0; i < ncol; i++) {
			if (i)
				putchar(',');
			csv_cell(sqlite3_column_name(st, i));
		}
		if (ncol)
			putchar('\n');
	} else if (fmt == FMT_JSON) {
		putchar('[');
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (fmt == FMT_CSV) {
			for (i = 0; i < ncol; i++) {
				char *s = cell_text(st, i);

				if (i)
					putchar(',');
				csv_cell(s ? s : "");
				free(s);
			}
			putchar('\n');
		} else if (fmt == FMT_JSON) {
			printf("%s\n  {", nrows ? "," : "");
			for (i = 0; i < ncol; i++) {
				int t = sqlite3_column_type(st, i);

				if (i)
					fputs(", ", stdout);
				ana_json_str(stdout, sqlite3_column_name(st, i));
				fputs(": ", stdout);
				if (t == SQLITE_NULL) {
					fputs("null", stdout);
				} else if (t == SQLITE_INTEGER) {
					printf("%lld", (long long)sqlite3_column_int64(st, i));
				} else if (t == SQLITE_FLOAT) {
					printf("%.17g", sqlite3_column_double(st, i));
				} else {
					char *s = cell_text(st, i);

					ana_json_str(stdout, s);
					free(s);
				}
			}
			putchar('}');
		} else {
			if (nrows == cap) {
				size_t nc = cap ? 2 * cap : 64;
				char **n = realloc(cells, nc * (size_t)ncol * sizeof(*n));

				if (!n) {
					ana_err("out of memory");
					ret = 1;
					goto out;
				}
				cells = n;
				cap = nc;
			}
			if (!numeric) {
				numeric = calloc((size_t)ncol + 1, sizeof(*numeric));
				if (!numeric) {
					ret = 1;
					goto out;
				}
				for (i = 0; i < ncol; i++)
					numeric[i] = 1;
			}
			for (i = 0; i < ncol; i++) {
				int t = sqlite3_column_type(st, i);

				if (t != SQLITE_INTEGER && t != SQLITE_FLOAT && t != SQLITE_NULL)
					numeric[i] = 0;
				cells[nrows * (size_t)ncol + (size_t)i] = cell_text(st, i);
			}
		}
		nrows++;
	}
	if (rc != SQLITE_DONE) {
		if (fmt == FMT_JSON)
			putchar('\n');
		fflush(stdout);
		ana_err("sql: %s", sqlite3_errmsg(db));
		ret = 1;
		goto out;
	}
	if (fmt == FMT_JSON) {
		printf("%s]\n", nrows ? "\n" : "");
	} else if (fmt == FMT_TEXT && ncol) {
		w = calloc((size_t)ncol, sizeof(*w));
		if (!w) {
			ret = 1;
			goto out;
		}
		for (i = 0; i < ncol; i++)
			w[i] = width(sqlite3_column_name(st, i));
		for (r = 0; r < nrows; r++)
			for (i = 0; i < ncol; i++) {
				const char *s = cells[r * (size_t)ncol + (size_t)i];
				size_t cw = s ? width(s) : 0;

				if (cw > w[i])
					w[i] = cw;
			}
		for (i = 0; i < ncol; i++) {
			const char *name = sqlite3_column_name(st, i);
			int right = numeric && numeric[i];
			int pad = (int)(w[i] - width(name));

			printf("%s%*s%s%*s", i ? "  " : "", right ? pad : 0, "", name,
			       (!right && i + 1 < ncol) ? pad : 0, "");
		}
		putchar('\n');
		for (i = 0; i < ncol; i++) {
			size_t k;

			if (i)
				fputs("  ", stdout);
			for (k = 0; k < w[i]; k++)
				putchar('-');
		}
		putchar('\n');
		for (r = 0; r < nrows; r++) {
			for (i = 0; i < ncol; i++) {
				const char *s = cells[r * (size_t)ncol + (size_t)i];
				int pad;

				s = s ? s : "";
				pad = (int)(w[i] - width(s));
				if (numeric[i])
					printf("%s%*s%s", i ? "  " : "", pad, "", s);
				else
					printf("%s%s%*s", i ? "  " : "", s, i + 1 < ncol ? pad : 0,
					       "");
			}
			putchar('\n');
		}
	}
out:
	if (cells) {
		for (r = 0; r < nrows * (size_t)ncol; r++)
			free(cells[r]);
		free(cells);
	}
	free(numeric);
	free(w);
	return ret;
}

int cmd_sql(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"csv", no_argument, NULL, 'c'},	  {"json", no_argument, NULL, 'j'},
	    {"db", required_argument, NULL, 'D'}, {"reimport", no_argument, NULL, 'R'},
	    {"help", no_argument, NULL, 'h'},	  {0},
	};
	struct ana_db_opts dbo = {0};
	enum fmt fmt = FMT_TEXT;
	sqlite3_stmt *st = NULL;
	const char *tail;
	sqlite3 *db;
	int c, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "cjh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			fmt = FMT_CSV;
			break;
		case 'j':
			fmt = FMT_JSON;
			break;
		case 'D':
			dbo.db_path = optarg;
			break;
		case 'R':
			dbo.reimport = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind + 2 != argc) {
		usage(stderr);
		return 2;
	}
	db = ana_db_open(argv[optind], &dbo);
	if (!db)
		return 1;
	if (sqlite3_prepare_v2(db, argv[optind + 1], -1, &st, &tail) != SQLITE_OK) {
		ana_err("sql: %s", sqlite3_errmsg(db));
		sqlite3_close(db);
		return 1;
	}
	while (tail && isspace((unsigned char)*tail))
		tail++;
	if (!st || (tail && *tail && *tail != ';')) {
		ana_err("sql: expected exactly one statement");
		sqlite3_finalize(st);
		sqlite3_close(db);
		return 1;
	}
	ret = run(db, st, fmt);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return ret;
}
