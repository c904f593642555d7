/* SPDX-License-Identifier: MIT */
/*
 * Internals shared by the bpftape subcommands: the trace database (import,
 * cache check, opening), tracepoint format parsing, histogram printing and
 * small CLI helpers.  Not installed; everything here is private to analyzer/
 * and its tests.
 */
#ifndef BPFTAPE_ANALYZER_INT_H
#define BPFTAPE_ANALYZER_INT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <sqlite3.h>

/* Schema version stored in meta('schema_version'); docs/SCHEMA.md. */
#define ANA_SCHEMA_VERSION 2

/* ---- tracepoint formats (tpformat.c) ---- */

enum ana_field_kind {
	ANA_FIELD_INT,	    /* 1, 2, 4 or 8 byte integer */
	ANA_FIELD_CHARS,    /* char[N]: text up to the first NUL */
	ANA_FIELD_DATA_LOC, /* __data_loc: u32 (len << 16 | offset) */
	ANA_FIELD_BYTES,    /* anything else: stored as a BLOB */
};

struct ana_field {
	char *name;   /* as in the format; owned */
	char *column; /* SQL column name (differs on clashes); owned */
	char *type;   /* declaration without the name, e.g. "pid_t"; owned */
	enum ana_field_kind kind;
	uint32_t offset, size;
	int is_signed;
	int is_text; /* CHARS, or a __data_loc char[] */
	int common;  /* common_* field */
};

struct ana_tpformat {
	struct ana_field *fields;
	size_t nfields;
};

/* Parses tracefs format TEXT (LEN bytes).  Returns 0 or -EINVAL with a
 * message in ERR ("line 7: no offset"). */
int ana_tpformat__parse(struct ana_tpformat *f, const char *text, size_t len, char *err,
			size_t err_size);
void ana_tpformat__release(struct ana_tpformat *f);

/* Reads an integer field from PAYLOAD; 0 when it lies outside. */
int64_t ana_field__int(const struct ana_field *fld, const void *payload, size_t size);
/* Text of a CHARS or DATA_LOC field: *len is set; NULL when out of bounds. */
const char *ana_field__text(const struct ana_field *fld, const void *payload, size_t size,
			    size_t *len);

/* "sched:sched_switch" -> "tp_sched_sched_switch" (letters, digits, _). */
void ana_table_name(const char *event_name, char *out, size_t out_size);

/* ---- the trace database (db.c, import.c) ---- */

struct ana_import_opts {
	int quiet;	/* no progress on stderr */
	int no_symbols; /* skip symbolization (raw addresses only) */
	int no_dwarf;	/* symbol tables only */
	const char *const *debug_dirs;
	size_t n_debug_dirs;
};

struct ana_import_stats {
	uint64_t records, events, stacks, frames, procs, mmaps, bad_chunks;
	uint64_t bytes_skipped;
	double seconds;
};

/* Imports TRACE into a new database at DB_PATH (written to DB_PATH.tmp and
 * renamed).  Returns 0 or a negative errno with a message in ERR.  A damaged
 * trace imports what is intact and records the damage in stats. */
int ana_import(const char *trace, const char *db_path, const struct ana_import_opts *opts,
	       struct ana_import_stats *st, char *err, size_t err_size);

/* The default database path for TRACE: TRACE.db if its directory is
 * writable, else $XDG_CACHE_HOME/bpftape/<hash>.db (~/.cache). */
int ana_default_db_path(const char *trace, char *out, size_t out_size);

/* 1 when the database at DB_PATH is a complete import of TRACE as it is
 * now (size, mtime and header hash match), 0 otherwise. */
int ana_db_is_fresh(const char *trace, const char *db_path);

/* Identity of a trace file: size, mtime and a hash of its first and last
 * 64 KiB. */
struct ana_trace_id {
	int64_t size;
	int64_t mtime_ns;
	char hash[17];
};
int ana_trace_id(const char *trace, struct ana_trace_id *id);

struct ana_db_opts {
	const char *db_path; /* NULL = default */
	int reimport;	     /* import even when fresh */
	int quiet;
	int no_symbols;
};

/* Opens (importing first when needed) the database of TRACE read-only.
 * Prints a one-line error and returns NULL on failure. */
sqlite3 *ana_db_open(const char *trace, const struct ana_db_opts *opts);

/* ---- bulk writer for an append-only rowid table (btree.c) ---- */

#define ANA_BT_MAX_COLS 16
struct ana_bt;
/* A writer of PAGE_SIZE-byte pages whose finished leaves go to a side file
 * created at SIDE_PATH (and unlinked at once).  0 or a negative errno. */
int ana_bt__open(struct ana_bt **bt, const char *side_path, uint32_t page_size);
/* One row: NCOLS integers, bit i of NULL_MASK making column i NULL (as the
 * INTEGER PRIMARY KEY column must be); ROWID above the previous one. */
int ana_bt__append(struct ana_bt *bt, int64_t rowid, const int64_t *vals, uint32_t null_mask,
		   unsigned ncols);
/* After SQLite has closed DB_PATH: puts the rows under the table whose
 * root page (still an empty leaf) is ROOT.  0 or a negative errno with
 * ana_bt__errmsg() saying what failed. */
int ana_bt__finish(struct ana_bt *bt, const char *db_path, uint32_t root);
const char *ana_bt__errmsg(const struct ana_bt *bt);
void ana_bt__free(struct ana_bt *bt);

/* A column value for ana_bt__write_index: NULL, an integer or TEXT bytes. */
enum ana_bt_type { ANA_BT_NULL, ANA_BT_INT, ANA_BT_TEXT };
struct ana_bt_val {
	enum ana_bt_type type;
	uint32_t len; /* TEXT: bytes at text */
	int64_t i;
	const char *text;
};
/* Fills VALS with the next row: 1, 0 after the last row, or a negative
 * errno. */
typedef int ana_bt_row_fn(void *ctx, struct ana_bt_val *vals);
/* The largest record an index page holds without overflow pages. */
size_t ana_bt__index_max_payload(uint32_t page_size);
/*
 * After SQLite has closed DB_PATH: writes the rows ROW gives (NCOLS
 * columns each, in strictly increasing key order, as SQLite compares
 * them) as the index b-tree of a WITHOUT ROWID table whose root page
 * (still an empty leaf) is ROOT.  0, or a negative errno with a message in
 * ERR; -E2BIG when a row would need overflow pages.  On failure the file
 * is left as SQLite wrote it.
 */
int ana_bt__write_index(const char *db_path, uint32_t page_size, uint32_t root, unsigned ncols,
			ana_bt_row_fn *row, void *ctx, char *err, size_t err_size);

/* ---- histograms (hist.c) ---- */

#define ANA_LOG2_SLOTS 65

/* bcc/libbpf-tools slot of V: 0 for 0 and 1, else floor(log2(V)). */
unsigned int ana_log2_slot(uint64_t v);

/* Prints a log2 histogram the way libbpf-tools' print_log2_hist does
 * (leading empty slots skipped, as bcc's strip_leading_zero). */
void ana_print_log2_hist(FILE *out, const uint64_t *slots, unsigned int nslots,
			 const char *val_type);

/* Prints a linear histogram like bpftrace's lhist: [lo, hi) rows. */
void ana_print_linear_hist(FILE *out, const uint64_t *counts, size_t n, int64_t base, int64_t step,
			   uint64_t below, uint64_t above);

struct ana_summary {
	uint64_t count;
	int64_t min, max;
	double mean;
	int64_t p50, p90, p99, p999;
};
/* Sorts VALS in place and fills S (nearest-rank percentiles). */
void ana_summarize(int64_t *vals, size_t n, struct ana_summary *s);
void ana_print_summary(FILE *out, const struct ana_summary *s);

/* ---- CLI helpers (util.c) ---- */

/* tape_parse_duration_ns (the one parser for units) into a signed ns. */
int ana_parse_duration_ns(const char *s, int64_t *ns);

/* Prints "bpftape CMD: MSG" style errors in git's style to stderr. */
void ana_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Makes room for one more element in *ARR (N used of *CAP, ELEM bytes
 * each), doubling from FIRST.  0, or -1 on ENOMEM (*ARR unchanged). */
int ana_grow(void **arr, size_t *cap, size_t n, size_t elem, size_t first);

/* Escapes S for JSON into OUT. */
void ana_json_str(FILE *out, const char *s);

/* Common event filters: --event, --pid, --comm, --since, --until. */
struct ana_filter {
	const char *event;
	int64_t pid; /* -1 = any */
	const char *comm;
	int64_t since_ns, until_ns; /* relative to trace start; -1 = unset */
};
void ana_filter_init(struct ana_filter *f);
/*
 * The filter options every listing command shares: -e/--event, -p/--pid,
 * -c/--comm, --since ('S'), --until ('U').  Returns 1 when OPT was one of
 * them and ARG is valid, 0 when OPT is not a filter option, -1 after
 * printing why ARG is invalid (exit 2).  Commands that give -e another
 * meaning handle it before calling this.
 */
int ana_filter_option(struct ana_filter *f, int opt, const char *arg);
/* Appends " AND ..." conditions on events alias E (threads alias T for
 * comm) to SQL; parameters are inlined safely (sqlite3_mprintf %Q). */
char *ana_filter_sql(sqlite3 *db, const struct ana_filter *f);

/* ORDER BY terms for events (alias e) in time order: "e.id" when the
 * import found them already in time order (no sort), else "e.ts, e.id". */
const char *ana_db_time_order(sqlite3 *db);

/* Trace start (first event ts, else host start) from the meta table. */
int64_t ana_db_start_ns(sqlite3 *db);

#endif
