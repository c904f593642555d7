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

/* A fresh database of PAGE_SIZE pages with tables "before", "after" and
 * the one SQL creates, named NAME; returns NAME's root page. */
static uint32_t make_db_with(const char *path, unsigned page_size, const char *sql,
			     const char *name)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	char pre[64];
	uint32_t root;

	unlink(path);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	snprintf(pre, sizeof(pre), "PRAGMA page_size=%u; CREATE TABLE before(x);", page_size);
	exec_ok(db, pre);
	exec_ok(db, sql);
	exec_ok(db, "CREATE TABLE after(y); INSERT INTO after VALUES(1);");
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT rootpage FROM sqlite_schema WHERE name = ?",
					    -1, &st, NULL),
			 SQLITE_OK);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	root = (uint32_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	return root;
}

/* Table t, column 0 the INTEGER PRIMARY KEY. */
static void make_db(const char *path, unsigned page_size, uint32_t *root)
{
	*root = make_db_with(path, page_size,
			     "CREATE TABLE t(id INTEGER PRIMARY KEY, a, b, c, d, e)", "t");
}

static void assert_integrity(sqlite3 *db)
{
	sqlite3_stmt *st;

	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
}

/* Levels of table NAME's b-tree (dbstat: '/' is the root, '/000/' its
 * first child...). */
static int tree_depth(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st;
	int depth;

	assert_int_equal(
	    sqlite3_prepare_v2(db,
			       "SELECT max(length(path) - length(replace(path, '/', '')))"
			       " FROM dbstat WHERE name = ?",
			       -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	depth = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return depth;
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
		/* varints of 4, 6, then 9 bytes from here */
		if (huge_rowids && i == n / 4)
			id = (int64_t)1 << 25;
		if (huge_rowids && i == n / 3)
			id = (int64_t)1 << 40;
		if (huge_rowids && i == n / 2)
			id = (int64_t)1 << 62;
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
	assert_integrity(db);
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
	/* the tree has the depth asked for */
	assert_int_equal(tree_depth(db, "t"), levels);
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
	assert_integrity(db);
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

/* ---- index b-trees (WITHOUT ROWID) ---- */

struct irow {
	int64_t a, b, c;
	char *name, *d; /* NULL = SQL NULL */
};

struct irows {
	struct irow *r;
	size_t n, next;
};

static int irow_fn(void *ctx, struct ana_bt_val *v)
{
	struct irows *rs = ctx;
	const struct irow *r;

	if (rs->next == rs->n)
		return 0;
	r = &rs->r[rs->next++];
	v[0] = (struct ana_bt_val){.type = ANA_BT_INT, .i = r->a};
	v[1] = (struct ana_bt_val){.type = ANA_BT_INT, .i = r->b};
	v[2] = r->name ? (struct ana_bt_val){.type = ANA_BT_TEXT,
					     .text = r->name,
					     .len = (uint32_t)strlen(r->name)}
		       : (struct ana_bt_val){.type = ANA_BT_NULL};
	v[3] = (struct ana_bt_val){.type = ANA_BT_INT, .i = r->c};
	v[4] = r->d ? (struct ana_bt_val){.type = ANA_BT_TEXT,
					  .text = r->d,
					  .len = (uint32_t)strlen(r->d)}
		    : (struct ana_bt_val){.type = ANA_BT_NULL};
	return 1;
}

static char *any_text(size_t max)
{
	size_t n = max ? rng() % (max + 1) : 0, i;
	char *s = malloc(n + 1);

	assert_non_null(s);
	for (i = 0; i < n; i++)
		s[i] = (char)('a' + rng() % 26);
	s[n] = '\0';
	return s;
}

/* Table w, WITHOUT ROWID. */
static uint32_t make_index_db(const char *path, unsigned page_size)
{
	return make_db_with(path, page_size,
			    "CREATE TABLE w(a INTEGER NOT NULL, b INTEGER NOT NULL, name TEXT,"
			    " c INTEGER, d TEXT, PRIMARY KEY(a, b)) WITHOUT ROWID",
			    "w");
}

/* N rows with texts of up to MAXTEXT bytes through ana_bt__write_index,
 * read back through SQLite; returns the tree's depth. */
static int index_roundtrip(unsigned page_size, size_t n, size_t maxtext)
{
	char path[4200], err[256];
	struct irows rs = {calloc(n ? n : 1, sizeof(struct irow)), n, 0};
	sqlite3 *db;
	sqlite3_stmt *st;
	uint32_t root;
	size_t i, got = 0;
	int depth;

	assert_non_null(rs.r);
	snprintf(path, sizeof(path), "%s/w.db", tmpdir);
	root = make_index_db(path, page_size);
	for (i = 0; i < n; i++) {
		struct irow *r = &rs.r[i];

		/* key order: a, then b */
		r->a = (int64_t)(i / 3) - 5;
		r->b = (int64_t)(i % 3) * 1000 - 7;
		r->c = any_int();
		r->name = rng() % 6 ? any_text(maxtext) : NULL;
		r->d = rng() % 3 ? any_text(maxtext / 4) : NULL;
	}
	assert_int_equal(
	    ana_bt__write_index(path, page_size, root, 5, irow_fn, &rs, err, sizeof(err)), 0);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_integrity(db);
	assert_int_equal(
	    sqlite3_prepare_v2(db, "SELECT a, b, name, c, d FROM w ORDER BY a, b", -1, &st, NULL),
	    SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const struct irow *r = &rs.r[got++];

		assert_true(got <= n);
		assert_int_equal(sqlite3_column_int64(st, 0), r->a);
		assert_int_equal(sqlite3_column_int64(st, 1), r->b);
		if (r->name)
			assert_string_equal((const char *)sqlite3_column_text(st, 2), r->name);
		else
			assert_int_equal(sqlite3_column_type(st, 2), SQLITE_NULL);
		assert_int_equal(sqlite3_column_int64(st, 3), r->c);
		if (r->d)
			assert_string_equal((const char *)sqlite3_column_text(st, 4), r->d);
		else
			assert_int_equal(sqlite3_column_type(st, 4), SQLITE_NULL);
	}
	sqlite3_finalize(st);
	assert_int_equal(got, n);
	/* every row found by its key, through the interior pages */
	assert_int_equal(
	    sqlite3_prepare_v2(db, "SELECT c FROM w WHERE a = ? AND b = ?", -1, &st, NULL),
	    SQLITE_OK);
	for (i = 0; i < n; i++) {
		sqlite3_bind_int64(st, 1, rs.r[i].a);
		sqlite3_bind_int64(st, 2, rs.r[i].b);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int64(st, 0), rs.r[i].c);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	depth = tree_depth(db, "w");
	/* SQLite goes on writing it as its own */
	exec_ok(db, "INSERT INTO w VALUES(-1000, 0, 'x', 1, NULL), (99999999, 5, NULL, 2, 'y');"
		    " DELETE FROM w WHERE b = -7 AND a % 2 = 0;");
	assert_integrity(db);
	sqlite3_close(db);
	unlink(path);
	for (i = 0; i < n; i++) {
		free(rs.r[i].name);
		free(rs.r[i].d);
	}
	free(rs.r);
	return depth;
}

static void test_btree__index_rows_read_back_through_sqlite(void **state)
{
	size_t n;

	/* every small count on small pages: each way a leaf or interior
	 * page can end (a last row alone, a last child alone) */
	for (n = 0; n <= 400; n++)
		index_roundtrip(512, n, n % 2 ? 60 : 8);
	assert_true(index_roundtrip(512, 30000, 40) >= 4);
	assert_true(index_roundtrip(4096, 20000, 700) >= 3);
	assert_int_equal(index_roundtrip(65536, 50000, 200), 2);
	assert_int_equal(index_roundtrip(65536, 3, 10), 1);
	(void)state;
}

static void test_btree__index_refuses_rows_needing_overflow(void **state)
{
	char path[4200], err[256], *big;
	struct irow r[3] = {{1, 1, 1, NULL, NULL}, {2, 1, 1, NULL, NULL}, {3, 1, 1, NULL, NULL}};
	struct irows rs = {r, 3, 0};
	size_t max = ana_bt__index_max_payload(4096);
	sqlite3 *db;
	sqlite3_stmt *st;
	uint32_t root;

	snprintf(path, sizeof(path), "%s/big.db", tmpdir);
	root = make_index_db(path, 4096);
	big = malloc(max + 1);
	assert_non_null(big);
	memset(big, 'x', max);
	big[max] = '\0';
	r[2].name = big;
	assert_int_equal(ana_bt__write_index(path, 4096, root, 5, irow_fn, &rs, err, sizeof(err)),
			 -E2BIG);
	assert_non_null(strstr(err, "overflow"));
	/* untouched: SQLite takes the rows itself */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_integrity(db);
	exec_ok(db, "INSERT INTO w(a, b, name) VALUES(3, 1, printf('%.*c', 5000, 'x'))");
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM w", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 1);
	sqlite3_finalize(st);
	assert_integrity(db);
	sqlite3_close(db);
	/* a root that is not an index leaf */
	root = make_index_db(path, 4096);
	rs.next = 0;
	r[2].name = NULL;
	assert_int_equal(ana_bt__write_index(path, 4096, 1, 5, irow_fn, &rs, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(ana_bt__write_index(path, 8192, root, 5, irow_fn, &rs, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "unexpected database layout"));
	unlink(path);
	free(big);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_btree__rows_read_back_through_sqlite),
	    cmocka_unit_test(test_btree__four_levels_and_nine_byte_varints),
	    cmocka_unit_test(test_btree__refuses_what_it_did_not_create),
	    cmocka_unit_test(test_btree__index_rows_read_back_through_sqlite),
	    cmocka_unit_test(test_btree__index_refuses_rows_needing_overflow),
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
