/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: any bytes as a trace, imported into SQLite.  The
 * import must never crash, leak or hang; when it succeeds, the database
 * (whose events and frames tables the import writes as b-tree pages
 * itself, analyzer/src/btree.c) must pass SQLite's integrity_check and
 * hold as many events as the import counted.  Symbolization is off: paths
 * in a mutated trace would send the symbolizer to arbitrary files, and the
 * ELF parser has its own target.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyzer_int.h"

static char dir[64];

static void check_db(const char *db_path, uint64_t events)
{
	sqlite3 *db;
	sqlite3_stmt *st;

	if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		abort();
	if (sqlite3_prepare_v2(db,
			       "SELECT (SELECT group_concat(integrity_check) FROM"
			       " pragma_integrity_check), (SELECT count(*) FROM events),"
			       " (SELECT count(*) FROM frames)",
			       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW)
		abort();
	if (strcmp((const char *)sqlite3_column_text(st, 0), "ok") ||
	    (uint64_t)sqlite3_column_int64(st, 1) != events) {
		fprintf(stderr, "fuzz_import: %s, %lld events of %llu\n",
			sqlite3_column_text(st, 0), (long long)sqlite3_column_int64(st, 1),
			(unsigned long long)events);
		abort();
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ana_import_opts o = {.quiet = 1, .no_symbols = 1};
	struct ana_import_stats st;
	char trace[128], db[160], err[512];
	FILE *f;

	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/bpftape-fuzz-import.XXXXXX");
		if (!mkdtemp(dir))
			abort();
	}
	snprintf(trace, sizeof(trace), "%s/t.tape", dir);
	snprintf(db, sizeof(db), "%s/t.db", dir);
	f = fopen(trace, "wb");
	if (!f || fwrite(data, 1, size, f) != size || fclose(f))
		abort();
	unlink(db);
	if (ana_import(trace, db, &o, &st, err, sizeof(err)) == 0)
		check_db(db, st.events);
	unlink(db);
	unlink(trace);
	return 0;
}
