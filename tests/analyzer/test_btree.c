/* SPDX-License-Identifier: MIT */
/*
 * The bulk rowid-table writer (analyzer/src/btree.c) against SQLite itself:
 * trees of one leaf up to four levels (small pages), integers of every
 * serial type, NULLs, rowids with gaps and 9-byte varints; SQLite's
 * integrity_check must pass and every row read back through SQL must be
 * the one written.  Foreign layouts are refused, never written.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "analyzer_int.h"

#define NCOLS 6

static char tmpdir[4096];

static void exec_ok(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg ? msg : "?");
}

/* A fresh database with table t (column 0 the INTEGER PRIMARY KEY); its
 * root page goes to *ROOT. */
static void make_db(const char *path, unsigned page_size, uint32_t *root)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	char sql[256];

	unlink(path);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	snprintf(sql, sizeof(sql),
		 "PRAGMA page_size=%u; CREATE TABLE before(x); CREATE TABLE t(id INTEGER PRIMARY"
		 " KEY, a, b, c, d, e); CREATE TABLE after(y); INSERT INTO after VALUES(1);",
		 page_size);
	exec_ok(db, sql);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT rootpage FROM sqlite_schema WHERE name='t'",
					    -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	*root = (uint32_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* A value of a random serial type: 0, 1, 8 to 64 bits, negative too. */
static int64_t any_int(void)
{
	static const unsigned bits[] = {0, 1, 7, 8, 15, 16, 23, 24, 31, 32, 47, 48, 63, 64};
	unsigned b = bits[rng() % (sizeof(bits) / sizeof(bits[0]))];
	uint64_t v = b >= 64 ? rng() : rng() & ((1ULL << b) - 1);

	return rng() & 1 ? (int64_t)v : -(int64_t)(v >> 1);
}

struct row {
	int64_t rowid, v[NCOLS];
	uint32_t nulls;
};

/* Writes N rows through ana_bt into a PAGE_SIZE database and checks them
 * back through SQLite. */
static void roundtrip(unsigned page_size, size_t n, int huge_rowids, int levels)
{
	char path[4200], side[4300];
	struct row *rows = calloc(n ? n : 1, sizeof(*rows));
	struct ana_bt *bt;
	sqlite3 *db;
	sqlite3_stmt *st;
	uint32_t root;
	int64_t id = 0;
	size_t i, got = 0;

	assert_non_null(rows);
	snprintf(path, sizeof(path), "%s/t.db", tmpdir);
	snprintf(side, sizeof(side), "%s/t.side", tmpdir);
	make_db(path, page_size, &root);
	assert_int_equal(ana_bt__open(&bt, side, page_size), 0);
	assert_int_equal(access(side, F_OK), -1); /* unlinked at once */
	for (i = 0; i < n; i++) {
		struct row *r = &rows[i];
		unsigned c;

		id += 1 + (int64_t)(rng() % 3);
		if (huge_rowids && i == n / 2)
			id = (int64_t)1 << 62; /* 9-byte varints from here */
		r->rowid = id;
		r->nulls = 1; /* the INTEGER PRIMARY KEY column */
		for (c = 1; c < NCOLS; c++) {
			if (rng() % 5 == 0)
				r->nulls |= 1u << c;
			else
				r->v[c] = any_int();
		}
		assert_int_equal(ana_bt__append(bt, r->rowid, r->v, r->nulls, NCOLS), 0);
	}
	assert_int_equal(ana_bt__finish(bt, path, root), 0);
	ana_bt__free(bt);

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT * FROM t ORDER BY id", -1, &st, NULL),
			 SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const struct row *r = &rows[got++];
		unsigned c;

		assert_true(got <= n);
		assert_int_equal(sqlite3_column_int64(st, 0), r->rowid);
		for (c = 1; c < NCOLS; c++) {
			if (r->nulls >> c & 1) {
				assert_int_equal(sqlite3_column_type(st, (int)c), SQLITE_NULL);
			} else {
				assert_int_equal(sqlite3_column_type(st, (int)c), SQLITE_INTEGER);
				assert_int_equal(sqlite3_column_int64(st, (int)c), r->v[c]);
			}
		}
	}
	sqlite3_finalize(st);
	assert_int_equal(got, n);
	/* the tree has the depth asked for (dbstat: '/' is the root, '/000/'
	 * its first child...) */
	assert_int_equal(
	    sqlite3_prepare_v2(db,
			       "SELECT max(length(path) - length(replace(path, '/', '')))"
			       " FROM dbstat WHERE name = 't'",
			       -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), levels);
	sqlite3_finalize(st);
	/* a point lookup goes down the interior pages */
	if (n) {
		char sql[128];

		snprintf(sql, sizeof(sql), "SELECT count(*) FROM t WHERE id = %lld",
			 (long long)rows[n / 3].rowid);
		assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(st, 0), 1);
		sqlite3_finalize(st);
	}
	/* and SQLite goes on writing it as its own */
	exec_ok(db, "INSERT INTO t(a) VALUES(42); INSERT INTO after VALUES(2);"
		    " DELETE FROM t WHERE rowid % 7 = 0;");
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	sqlite3_close(db);
	unlink(path);
	free(rows);
}

static void test_btree__rows_read_back_through_sqlite(void **state)
{
	static const struct {
		size_t rows;
		int levels_64k, levels_512;
	} cases[] = {{0, 1, 1}, {1, 1, 1}, {2, 1, 1}, {40, 1, 2}, {300, 1, 2}, {5000, 2, 3}};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		roundtrip(65536, cases[i].rows, 0, cases[i].levels_64k);
		roundtrip(512, cases[i].rows, 0, cases[i].levels_512);
	}
	(void)state;
}

static void test_btree__four_levels_and_nine_byte_varints(void **state)
{
	/* 512-byte pages: ~15 rows per leaf and 34 children per interior
	 * page, so 60k rows need three interior levels */
	roundtrip(512, 60000, 1, 4);
	roundtrip(1024, 20000, 1, 3);
	roundtrip(65536, 200000, 1, 2);
	(void)state;
}

static void test_btree__refuses_what_it_did_not_create(void **state)
{
	char path[4200], side[4300];
	int64_t v[NCOLS] = {0, 5, 6, 7, 8, 9};
	struct ana_bt *bt;
	sqlite3 *db;
	uint32_t root;

	snprintf(path, sizeof(path), "%s/r.db", tmpdir);
	snprintf(side, sizeof(side), "%s/r.side", tmpdir);

	/* rowids must grow */
	assert_int_equal(ana_bt__open(&bt, side, 4096), 0);
	assert_int_equal(ana_bt__append(bt, 5, v, 1, NCOLS), 0);
	assert_int_equal(ana_bt__append(bt, 5, v, 1, NCOLS), -EINVAL);
	assert_non_null(strstr(ana_bt__errmsg(bt), "out of order"));
	ana_bt__free(bt);
	assert_int_equal(ana_bt__open(&bt, side, 1000), -EINVAL);
	ana_bt__free(NULL);

	/* a page size other than the database's */
	make_db(path, 4096, &root);
	assert_int_equal(ana_bt__open(&bt, side, 8192), 0);
	assert_int_equal(ana_bt__append(bt, 1, v, 1, NCOLS), 0);
	assert_int_equal(ana_bt__finish(bt, path, root), -EINVAL);
	assert_non_null(strstr(ana_bt__errmsg(bt), "unexpected database layout"));
	ana_bt__free(bt);

	/* a table that already has rows */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	exec_ok(db, "INSERT INTO t(a) VALUES(1)");
	sqlite3_close(db);
	assert_int_equal(ana_bt__open(&bt, side, 4096), 0);
	assert_int_equal(ana_bt__append(bt, 2, v, 1, NCOLS), 0);
	assert_int_equal(ana_bt__finish(bt, path, root), -EINVAL);
	assert_non_null(strstr(ana_bt__errmsg(bt), "not an empty table leaf"));
	ana_bt__free(bt);

	/* a root page number outside the file */
	make_db(path, 4096, &root);
	assert_int_equal(ana_bt__open(&bt, side, 4096), 0);
	assert_int_equal(ana_bt__finish(bt, path, 999), -EINVAL);
	ana_bt__free(bt);

	/* the database is untouched by all of this */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	exec_ok(db, "SELECT * FROM t");
	sqlite3_close(db);
	unlink(path);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_btree__rows_read_back_through_sqlite),
	    cmocka_unit_test(test_btree__four_levels_and_nine_byte_varints),
	    cmocka_unit_test(test_btree__refuses_what_it_did_not_create),
	};
	int ret;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/bpftape-test-btree.XXXXXX");
	if (!mkdtemp(tmpdir))
		return 1;
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	if (!ret) {
		char cmd[4200];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd))
			ret = 1;
	}
	return ret;
}
