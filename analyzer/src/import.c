/* SPDX-License-Identifier: MIT */
/*
 * Import: streams a trace into a SQLite database (docs/SCHEMA.md), one chunk
 * at a time, in one transaction with prepared statements and no journal;
 * indexes are built after the load.  Stacks are symbolized at the end, each
 * distinct (binary, address) once, in one batch per binary.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sym/resolver.h>
#include <tape/endian.h>
#include <tape/format.h>
#include <tape/reader.h>

#include "analyzer_int.h"
#include "hashmap.h"

static const char schema_sql[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value);\n"
    "CREATE TABLE host(hostname TEXT, sysname TEXT, release TEXT, version TEXT, machine TEXT,"
    " page_size INTEGER, ncpus INTEGER, clock_mono_ns INTEGER, clock_realtime_ns INTEGER,"
    " start_ns INTEGER, recorder TEXT, cmdline TEXT, kernel_build_id TEXT);\n"
    "CREATE TABLE event_types(type_id INTEGER PRIMARY KEY, name TEXT NOT NULL, source TEXT,"
    " source_id INTEGER, flags INTEGER, tp_id INTEGER, spec TEXT, format TEXT,"
    " table_name TEXT, events INTEGER NOT NULL DEFAULT 0);\n"
    "CREATE TABLE tp_fields(type_id INTEGER, idx INTEGER, name TEXT, column_name TEXT,"
    " type TEXT, offset INTEGER, size INTEGER, signed INTEGER, kind TEXT, common INTEGER,"
    " PRIMARY KEY(type_id, idx));\n"
    "CREATE TABLE events(id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, cpu INTEGER,"
    " pid INTEGER, tid INTEGER, type_id INTEGER NOT NULL, kstack_id INTEGER,"
    " ustack_id INTEGER, flags INTEGER);\n"
    "CREATE TABLE payloads(event_id INTEGER PRIMARY KEY, payload BLOB);\n"
    "CREATE TABLE event_counts(type_id INTEGER, pid INTEGER, tid INTEGER, kstack_id INTEGER,"
    " ustack_id INTEGER, count INTEGER, first_ts INTEGER, last_ts INTEGER);\n"
    "CREATE TABLE stacks(stack_id INTEGER PRIMARY KEY, kernel INTEGER, truncated INTEGER,"
    " nframes INTEGER, ips BLOB);\n"
    "CREATE TABLE frames(stack_id INTEGER NOT NULL, pid INTEGER NOT NULL, depth INTEGER NOT NULL,"
    " inline_depth INTEGER NOT NULL, kernel INTEGER, ip INTEGER, func TEXT, file TEXT,"
    " line INTEGER, inlined INTEGER, module TEXT, build_id TEXT, offset INTEGER,"
    " func_offset INTEGER, reason TEXT, PRIMARY KEY(stack_id, pid, depth, inline_depth))"
    " WITHOUT ROWID;\n"
    "CREATE TABLE proc_events(ts INTEGER, kind TEXT, pid INTEGER, tid INTEGER, ppid INTEGER,"
    " comm TEXT, filename TEXT, exit_status INTEGER, thread INTEGER);\n"
    "CREATE TABLE processes(pid INTEGER PRIMARY KEY, ppid INTEGER, comm TEXT, filename TEXT,"
    " start_ts INTEGER, exec_ts INTEGER, exit_ts INTEGER, exit_status INTEGER,"
    " exit_code INTEGER, exit_signal INTEGER, scanned INTEGER);\n"
    "CREATE TABLE threads(tid INTEGER PRIMARY KEY, pid INTEGER, comm TEXT, start_ts INTEGER,"
    " exit_ts INTEGER);\n"
    "CREATE TABLE mappings(id INTEGER PRIMARY KEY, ts INTEGER, pid INTEGER, start INTEGER,"
    " end INTEGER, pgoff INTEGER, path TEXT, build_id TEXT, prot INTEGER, flags INTEGER,"
    " dev INTEGER, inode INTEGER);\n"
    "CREATE TABLE stats(source TEXT NOT NULL, name TEXT NOT NULL, type_id INTEGER, cpu INTEGER,"
    " value INTEGER, ts INTEGER);\n"
    "CREATE VIEW event_list AS SELECT e.id, e.ts, e.cpu, e.pid, e.tid, t.name AS event,"
    " COALESCE(th.comm, p.comm) AS comm, e.kstack_id, e.ustack_id, e.flags FROM events e"
    " JOIN event_types t USING(type_id) LEFT JOIN threads th ON th.tid = e.tid"
    " LEFT JOIN processes p ON p.pid = e.pid;\n";

static const char post_sql[] =
    "CREATE INDEX proc_events_pid ON proc_events(pid, ts);\n"
    "CREATE INDEX mappings_pid ON mappings(pid, ts);\n"
    /* processes: one row per tgid seen in lifecycle records */
    "INSERT INTO processes(pid) SELECT DISTINCT pid FROM proc_events WHERE pid != 0;\n"
    "UPDATE processes SET"
    " ppid = (SELECT ppid FROM proc_events q WHERE q.pid = processes.pid AND q.ppid != 0"
    "   AND q.kind IN ('scan','fork','exec') AND q.thread = 0 ORDER BY ts DESC LIMIT 1),"
    " comm = (SELECT comm FROM proc_events q WHERE q.pid = processes.pid AND q.comm != ''"
    "   AND (q.thread = 0 OR q.tid = q.pid) ORDER BY ts DESC LIMIT 1),"
    " filename = (SELECT filename FROM proc_events q WHERE q.pid = processes.pid"
    "   AND q.filename != '' ORDER BY ts DESC LIMIT 1),"
    " start_ts = (SELECT MIN(ts) FROM proc_events q WHERE q.pid = processes.pid"
    "   AND q.kind IN ('fork','scan') AND q.thread = 0),"
    " exec_ts = (SELECT MAX(ts) FROM proc_events q WHERE q.pid = processes.pid"
    "   AND q.kind = 'exec'),"
    " exit_ts = (SELECT MAX(ts) FROM proc_events q WHERE q.pid = processes.pid"
    "   AND q.kind = 'exit' AND q.thread = 0),"
    " exit_status = (SELECT exit_status FROM proc_events q WHERE q.pid = processes.pid"
    "   AND q.kind = 'exit' AND q.thread = 0 ORDER BY ts DESC LIMIT 1),"
    " scanned = EXISTS(SELECT 1 FROM proc_events q WHERE q.pid = processes.pid"
    "   AND q.kind = 'scan');\n"
    "UPDATE processes SET exit_code = (exit_status >> 8) & 255, exit_signal = exit_status & 127"
    " WHERE exit_status IS NOT NULL;\n"
    /* threads: from lifecycle records, then every tid events mention */
    "INSERT INTO threads(tid, pid) SELECT tid, MAX(pid) FROM proc_events WHERE tid != 0"
    " GROUP BY tid;\n"
    "UPDATE threads SET"
    " comm = (SELECT comm FROM proc_events q WHERE q.tid = threads.tid AND q.comm != ''"
    "   ORDER BY ts DESC LIMIT 1),"
    " start_ts = (SELECT MIN(ts) FROM proc_events q WHERE q.tid = threads.tid"
    "   AND q.kind IN ('fork','scan')),"
    " exit_ts = (SELECT MAX(ts) FROM proc_events q WHERE q.tid = threads.tid"
    "   AND q.kind = 'exit');\n"
    "INSERT OR IGNORE INTO threads(tid, pid) SELECT DISTINCT tid, pid FROM event_counts;\n"
    "UPDATE threads SET comm = (SELECT comm FROM processes p WHERE p.pid = threads.pid)"
    " WHERE comm IS NULL;\n"
    "UPDATE threads SET comm = 'swapper' WHERE tid = 0 AND comm IS NULL;\n";

struct imp_type {
	int known;
	uint32_t source;
	uint64_t events;
	struct ana_hm agg;	   /* (tid << 32 | pid, kstack << 32 | ustack) -> index in aggs */
	uint64_t last_k1, last_k2; /* the previous event's key ... */
	size_t last_agg;	   /* ... and its row, + 1 (0 = none) */
	struct ana_tpformat fmt;
	sqlite3_stmt *ins; /* tracepoint table insert, or NULL */
};

struct imp_map {
	uint64_t ts, start, end, pgoff;
	int module;
};

struct imp_frame_ref {
	uint32_t stack_id, pid, depth, kernel;
	uint64_t ip;
	size_t slot;
};

/* Events are inserted EV_BATCH rows per statement: most of SQLite's per-row
 * cost is the statement round trip, not the b-tree. */
#define EV_BATCH 64
struct imp_ev {
	int64_t id, ts;
	uint32_t cpu, pid, tid, type_id, kstack, ustack, flags;
};

/* One event_counts row: events of one type, thread and stack pair. */
struct imp_agg {
	uint32_t type_id, pid, tid, kstack, ustack;
	uint64_t count, first_ts, last_ts;
};

struct imp_symtab {
	char *path;
	uint8_t build_id[TAPE_BUILD_ID_MAX];
	uint32_t build_id_size;
	uint64_t *addrs, *sizes;
	char **names;
	size_t n, cap;
};

struct imp_module {
	int readable; /* -1 unknown, 0 no, 1 yes */
	char *path;
	uint8_t build_id[TAPE_BUILD_ID_MAX];
	uint32_t build_id_size;
	char build_id_hex[2 * TAPE_BUILD_ID_MAX + 1]; /* "" until needed */
	int special;				      /* [vdso], [anon]...: not a file */
	uint64_t *offsets;			      /* file offsets to symbolize */
	size_t *slot_idx;			      /* their result slots */
	size_t n, cap;
};

struct imp_slot {
	struct sym_result res;
	int module;	 /* index in modules, -1 = kernel, -2 = unmapped */
	uint64_t offset; /* file offset (user) or address (kernel) */
	int done;	 /* resolved by the worker during the load */
};

/*
 * With a worker (stream_start), symbolization overlaps the load: when an
 * event brings a new (user stack, process) pair, its addresses are mapped through the mappings seen
 * so far and every new (binary, offset) of a binary present here is queued for a worker thread that
 * owns the resolver (the DWARF work).  Items live in fixed blocks that never move; the count is
 * published under the mutex. Pairs whose mappings are not known yet, binaries that are absent
 * (their embedded symbols may come later in the file) and kernel addresses are resolved after the
 * load, as before.
 */
#define Q_BLOCK 1024
#define Q_MAX_BLOCKS 65536
struct imp_qitem {
	const char *path; /* the module's (stable) path */
	uint8_t build_id[TAPE_BUILD_ID_MAX];
	uint32_t build_id_size;
	uint64_t offset;
	size_t slot;
	struct sym_result res;
};

/* Up to two workers, each with its own resolver and queue; a binary's
 * offsets are split between them in 128 KiB bands, so each decodes mostly
 * its own compilation units. */
#define IMP_WORKERS 2
struct importer;
struct imp_worker {
	struct importer *im;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct sym_resolver *res;
	struct imp_qitem **blocks; /* Q_MAX_BLOCKS pointers */
	size_t n, published;
	int stop;
};

/*
 * The trace is read (chunk checksums, zstd) on a reader thread, one step
 * ahead of the main thread, which owns the database: records are copied
 * into blocks that pass through a ring of RQ_NBLOCKS.  A read error travels
 * in the stream as a record of type RQ_ERROR whose body is the message, so
 * errors keep their order with the records around them.
 */
#define RQ_NBLOCKS 4
#define RQ_BYTES (1u << 20)
#define RQ_RECS 16384
#define RQ_ERROR 0xffff
struct imp_rblock {
	uint8_t *data;
	size_t used, cap;
	struct tape_record *recs;
	size_t n;
};

struct imp_rq {
	int on;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t filled, emptied;
	struct tape_reader *r;
	struct imp_rblock b[RQ_NBLOCKS];
	size_t prod, cons; /* blocks published / taken back */
	int done;	   /* the reader has published its last block */
	int quit;	   /* the main thread gives up */
	int oom;
};

struct imp_pmaps {
	struct imp_map *m;
	size_t n, cap;
};

struct imp_ustack {
	uint32_t n;
	uint64_t *ips;
};

struct importer {
	sqlite3 *db;
	struct tape_reader *r;
	const struct ana_import_opts *opts;
	struct ana_import_stats *st;
	char *err;
	size_t err_size;

	sqlite3_stmt *ins_event, *ins_event_batch, *ins_payload, *ins_stack, *ins_proc, *ins_mmap,
	    *ins_frame;
	struct imp_type *types;
	size_t ntypes;

	uint64_t first_ts, last_ts;
	int have_host;
	uint64_t host_start_ns;
	struct ana_hm losses; /* (type_id << 32 | cpu, kind) -> index in loss arrays */
	struct {
		uint64_t count, ts;
		uint32_t type_id, cpu, kind;
	} * loss;
	size_t nloss;
	struct ana_hm ustack_pids; /* (ustack_id, pid) -> first ts, built after the load */
	struct imp_agg *aggs;	   /* event_counts rows */
	size_t naggs, cap_aggs;
	struct imp_ev batch[EV_BATCH];
	size_t nbatch;
	struct ana_bt *bt; /* events written as b-tree pages (btree.c), or NULL */
	uint32_t page_size, events_root, frames_root; /* for bt */
	int64_t next_id;
	uint64_t prev_ts;
	int unsorted;
	uint64_t bad_records, unknown_records, unknown_type_events, ksyms, symtab_syms;
	int have_end;
	struct tape_end end;
	char first_error[512];

	struct sym_kernel *kernel;
	struct imp_symtab *symtabs;
	size_t nsymtabs;

	/* symbolization */
	struct imp_module *modules;
	size_t nmodules;
	struct imp_slot *slots;
	size_t nslots, cap_slots;
	struct ana_hm slot_map; /* (module + 2, offset) -> slot index */

	/* streaming symbolization */
	int stream; /* workers running */
	struct imp_worker workers[IMP_WORKERS];
	int nworkers;
	struct sym_resolver *res;		     /* worker 0's, kept after the join */
	struct sym_resolver *extra_res[IMP_WORKERS]; /* the other workers' */
	struct ana_hm pair_seen;  /* (ustack, pid) -> 1 done in stream, 2 later */
	struct ana_hm ustack_idx; /* user stack id -> index in ustacks */
	struct imp_ustack *ustacks;
	size_t nustacks;
	struct ana_hm pid_idx; /* pid -> index in pmaps */
	struct imp_pmaps *pmaps;
	size_t npmaps;
	struct imp_frame_ref *refs; /* frames to write */
	size_t nrefs, cap_refs;

	struct imp_rq rq;
};

static int stream_pair(struct importer *im, uint32_t ustack, uint32_t pid, uint64_t ts);
static int stream_mmap(struct importer *im, const struct tape_mmap *mm);
static int stream_stack(struct importer *im, const struct tape_stack *st);

static int sql_err(struct importer *im, const char *what)
{
	snprintf(im->err, im->err_size, "%s: %s", what, sqlite3_errmsg(im->db));
	return -EIO;
}

static int exec_sql(struct importer *im, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(im->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(im->err, im->err_size, "sqlite: %s", msg ? msg : "error");
		sqlite3_free(msg);
		return -EIO;
	}
	return 0;
}

static int prepare(struct importer *im, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v3(im->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
		return sql_err(im, "prepare");
	return 0;
}

static void bind_str(sqlite3_stmt *st, int i, struct tape_str s)
{
	sqlite3_bind_text(st, i, s.ptr ? s.ptr : "", (int)s.len, SQLITE_TRANSIENT);
}

static void hex(char *out, const uint8_t *b, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

static int step_done(struct importer *im, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return sql_err(im, what);
	return 0;
}

static int set_meta(struct importer *im, const char *key, const char *text, int64_t num)
{
	sqlite3_stmt *st;
	int ret;

	if (prepare(im, "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)", &st))
		return -EIO;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (text)
		sqlite3_bind_text(st, 2, text, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_int64(st, 2, num);
	ret = step_done(im, st, "meta");
	sqlite3_finalize(st);
	return ret;
}

/* ---- records ---- */

static int on_host(struct importer *im, const struct tape_record *rec)
{
	struct tape_host h;
	sqlite3_stmt *st;
	char bid[2 * 64 + 1];
	int ret;

	if (tape_record__host(rec, &h))
		return -EBADMSG;
	if (im->have_host)
		return 0;
	im->have_host = 1;
	im->host_start_ns = h.start_ns;
	if (prepare(im, "INSERT INTO host VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)", &st))
		return -EIO;
	bind_str(st, 1, h.hostname);
	bind_str(st, 2, h.sysname);
	bind_str(st, 3, h.release);
	bind_str(st, 4, h.version);
	bind_str(st, 5, h.machine);
	sqlite3_bind_int64(st, 6, h.page_size);
	sqlite3_bind_int64(st, 7, h.ncpus);
	sqlite3_bind_int64(st, 8, (int64_t)h.clock_mono_ns);
	sqlite3_bind_int64(st, 9, (int64_t)h.clock_realtime_ns);
	sqlite3_bind_int64(st, 10, (int64_t)h.start_ns);
	bind_str(st, 11, h.recorder);
	bind_str(st, 12, h.cmdline);
	hex(bid, (const uint8_t *)h.kernel_build_id.ptr,
	    h.kernel_build_id.len > 64 ? 64 : h.kernel_build_id.len);
	sqlite3_bind_text(st, 13, bid, -1, SQLITE_TRANSIENT);
	ret = step_done(im, st, "host");
	sqlite3_finalize(st);
	return ret;
}

static int create_tp_table(struct importer *im, uint32_t type_id, const char *table,
			   struct imp_type *t)
{
	char *sql, *ins, *n;
	sqlite3_stmt *st;
	size_t i;
	int ret;

	sql = sqlite3_mprintf("CREATE TABLE \"%w\"(event_id INTEGER PRIMARY KEY, ts INTEGER,"
			      " cpu INTEGER, pid INTEGER, tid INTEGER",
			      table);
	ins = sqlite3_mprintf("INSERT INTO \"%w\" VALUES(?,?,?,?,?", table);
	for (i = 0; i < t->fmt.nfields && sql && ins; i++) {
		const struct ana_field *f = &t->fmt.fields[i];
		const char *ty = f->kind == ANA_FIELD_INT ? "INTEGER"
				 : f->is_text		  ? "TEXT"
							  : "BLOB";

		n = sqlite3_mprintf("%s, \"%w\" %s", sql, f->column, ty);
		sqlite3_free(sql);
		sql = n;
		n = sqlite3_mprintf("%s,?", ins);
		sqlite3_free(ins);
		ins = n;
	}
	if (!sql || !ins) {
		sqlite3_free(sql);
		sqlite3_free(ins);
		return -ENOMEM;
	}
	n = sqlite3_mprintf("%s)", sql);
	sqlite3_free(sql);
	sql = n;
	n = sqlite3_mprintf("%s)", ins);
	sqlite3_free(ins);
	ins = n;
	ret = exec_sql(im, sql);
	if (!ret)
		ret = prepare(im, ins, &t->ins);
	sqlite3_free(sql);
	sqlite3_free(ins);
	if (ret)
		return ret;
	if (prepare(im, "INSERT INTO tp_fields VALUES(?,?,?,?,?,?,?,?,?,?)", &st))
		return -EIO;
	for (i = 0; i < t->fmt.nfields && !ret; i++) {
		const struct ana_field *f = &t->fmt.fields[i];
		static const char *const kinds[] = {"int", "chars", "data_loc", "bytes"};

		sqlite3_bind_int64(st, 1, type_id);
		sqlite3_bind_int64(st, 2, (int64_t)i);
		sqlite3_bind_text(st, 3, f->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, f->column, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, f->type, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 6, f->offset);
		sqlite3_bind_int64(st, 7, f->size);
		sqlite3_bind_int64(st, 8, f->is_signed);
		sqlite3_bind_text(st, 9, kinds[f->kind], -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 10, f->common);
		ret = step_done(im, st, "tp_fields");
	}
	sqlite3_finalize(st);
	return ret;
}

static int on_event_desc(struct importer *im, const struct tape_record *rec)
{
	struct tape_event_desc d;
	struct imp_type *t;
	char name[256], table[300] = "", ferr[128];
	sqlite3_stmt *st;
	int ret;

	if (tape_record__event_desc(rec, &d))
		return -EBADMSG;
	if (d.type_id > 1000000)
		return -EBADMSG;
	if (d.type_id >= im->ntypes) {
		size_t n = d.type_id + 1;
		struct imp_type *nt = realloc(im->types, n * sizeof(*nt));

		if (!nt)
			return -ENOMEM;
		memset(nt + im->ntypes, 0, (n - im->ntypes) * sizeof(*nt));
		im->types = nt;
		im->ntypes = n;
	}
	t = &im->types[d.type_id];
	if (t->known)
		return 0; /* a repeated descriptor: the first one wins */
	t->known = 1;
	t->source = d.source;
	snprintf(name, sizeof(name), "%.*s", (int)d.name.len, d.name.ptr ? d.name.ptr : "");
	if (d.source == TAPE_SRC_TRACEPOINT && d.format.len) {
		if (ana_tpformat__parse(&t->fmt, d.format.ptr, d.format.len, ferr, sizeof(ferr)) ==
		    0) {
			ana_table_name(name, table, sizeof(table));
			ret = create_tp_table(im, d.type_id, table, t);
			if (ret == -EIO) {
				/* most likely a name clash: suffix the type id */
				snprintf(table + strlen(table), sizeof(table) - strlen(table),
					 "_%u", d.type_id);
				ret = create_tp_table(im, d.type_id, table, t);
			}
			if (ret)
				return ret;
		} else {
			im->bad_records++;
			if (!im->first_error[0])
				snprintf(im->first_error, sizeof(im->first_error),
					 "event type %u (%s): bad format: %s", d.type_id, name,
					 ferr);
		}
	}
	if (prepare(im,
		    "INSERT INTO event_types(type_id, name, source, source_id, flags, tp_id,"
		    " spec, format, table_name) VALUES(?,?,?,?,?,?,?,?,?)",
		    &st))
		return -EIO;
	sqlite3_bind_int64(st, 1, d.type_id);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, tape_source__name(d.source), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, d.source);
	sqlite3_bind_int64(st, 5, d.flags);
	sqlite3_bind_int64(st, 6, d.tp_id);
	bind_str(st, 7, d.spec);
	bind_str(st, 8, d.format);
	if (table[0] && t->ins)
		sqlite3_bind_text(st, 9, table, -1, SQLITE_STATIC);
	ret = step_done(im, st, "event_types");
	sqlite3_finalize(st);
	return ret;
}

static void bind_ev(sqlite3_stmt *st, int base, const struct imp_ev *e)
{
	/* NULL: SQLite assigns max(id) + 1, which is e->id (the table only
	 * grows, from 1), and appends without a b-tree seek */
	sqlite3_bind_null(st, base + 1);
	sqlite3_bind_int64(st, base + 2, e->ts);
	sqlite3_bind_int64(st, base + 3, e->cpu);
	sqlite3_bind_int64(st, base + 4, e->pid);
	sqlite3_bind_int64(st, base + 5, e->tid);
	sqlite3_bind_int64(st, base + 6, e->type_id);
	if (e->kstack)
		sqlite3_bind_int64(st, base + 7, e->kstack);
	else
		sqlite3_bind_null(st, base + 7);
	if (e->ustack)
		sqlite3_bind_int64(st, base + 8, e->ustack);
	else
		sqlite3_bind_null(st, base + 8);
	sqlite3_bind_int64(st, base + 9, e->flags);
}

static int flush_events(struct importer *im)
{
	size_t i;
	int rc;

	if (im->nbatch == EV_BATCH) {
		for (i = 0; i < EV_BATCH; i++)
			bind_ev(im->ins_event_batch, 9 * (int)i, &im->batch[i]);
		rc = sqlite3_step(im->ins_event_batch);
		sqlite3_reset(im->ins_event_batch);
		if (rc != SQLITE_DONE)
			return sql_err(im, "events");
	} else {
		for (i = 0; i < im->nbatch; i++) {
			bind_ev(im->ins_event, 0, &im->batch[i]);
			rc = sqlite3_step(im->ins_event);
			sqlite3_reset(im->ins_event);
			if (rc != SQLITE_DONE)
				return sql_err(im, "events");
		}
	}
	im->nbatch = 0;
	return 0;
}

static int count_event(struct importer *im, struct imp_type *t, const struct tape_event *ev)
{
	uint64_t k1 = (uint64_t)ev->tid << 32 | ev->pid;
	uint64_t k2 = (uint64_t)ev->kstack_id << 32 | ev->ustack_id;
	struct ana_hm_slot *s;
	struct imp_agg *a;
	int created;

	/* runs of samples of one thread in one place skip the hash */
	if (!t->last_agg || t->last_k1 != k1 || t->last_k2 != k2) {
		s = ana_hm__upsert(&t->agg, k1, k2, &created);
		if (!s)
			return -ENOMEM;
		if (created) {
			if (ana_grow((void **)&im->aggs, &im->cap_aggs, im->naggs,
				     sizeof(*im->aggs), 1024))
				return -ENOMEM;
			im->aggs[im->naggs] =
			    (struct imp_agg){ev->type_id,   ev->pid, ev->tid,	ev->kstack_id,
					     ev->ustack_id, 0,	     ev->ts_ns, ev->ts_ns};
			s->val = im->naggs++;
			if (ev->ustack_id && im->stream) {
				int ret = stream_pair(im, ev->ustack_id, ev->pid, ev->ts_ns);

				if (ret)
					return ret;
			}
		}
		t->last_k1 = k1;
		t->last_k2 = k2;
		t->last_agg = s->val + 1;
	}
	a = &im->aggs[t->last_agg - 1];
	a->count++;
	if (ev->ts_ns < a->first_ts)
		a->first_ts = ev->ts_ns;
	if (ev->ts_ns > a->last_ts)
		a->last_ts = ev->ts_ns;
	return 0;
}

static int on_event(struct importer *im, const struct tape_record *rec)
{
	struct tape_event ev;
	struct imp_type *t;
	sqlite3_stmt *st;
	int64_t id;
	int rc;

	if (tape_record__event(rec, &ev))
		return -EBADMSG;
	if (ev.type_id >= im->ntypes || !im->types[ev.type_id].known) {
		im->unknown_type_events++;
		return 0;
	}
	t = &im->types[ev.type_id];
	id = im->next_id++;
	if (im->bt) {
		/* the columns of events; id is the rowid, stored as NULL */
		const int64_t v[9] = {0,	  (int64_t)ev.ts_ns, ev.cpu,	   ev.pid,  ev.tid,
				      ev.type_id, ev.kstack_id,	     ev.ustack_id, ev.flags};
		uint32_t nulls = 1u | (ev.kstack_id ? 0 : 1u << 6) | (ev.ustack_id ? 0 : 1u << 7);

		if ((rc = ana_bt__append(im->bt, id, v, nulls, 9))) {
			snprintf(im->err, im->err_size, "%s", ana_bt__errmsg(im->bt));
			return rc;
		}
	} else {
		im->batch[im->nbatch++] =
		    (struct imp_ev){id,		(int64_t)ev.ts_ns, ev.cpu,	 ev.pid,  ev.tid,
				    ev.type_id, ev.kstack_id,	   ev.ustack_id, ev.flags};
		if (im->nbatch == EV_BATCH && (rc = flush_events(im)))
			return rc;
	}
	if (!im->st->events || ev.ts_ns < im->first_ts)
		im->first_ts = ev.ts_ns;
	if (ev.ts_ns > im->last_ts)
		im->last_ts = ev.ts_ns;
	if (ev.ts_ns < im->prev_ts)
		im->unsorted = 1;
	im->prev_ts = ev.ts_ns;
	im->st->events++;
	t->events++;
	if ((rc = count_event(im, t, &ev)))
		return rc;

	if (t->ins) {
		size_t i;

		st = t->ins;
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, (int64_t)ev.ts_ns);
		sqlite3_bind_int64(st, 3, ev.cpu);
		sqlite3_bind_int64(st, 4, ev.pid);
		sqlite3_bind_int64(st, 5, ev.tid);
		for (i = 0; i < t->fmt.nfields; i++) {
			const struct ana_field *f = &t->fmt.fields[i];
			int col = (int)i + 6;

			if ((size_t)f->offset + f->size > ev.payload_size) {
				sqlite3_bind_null(st, col);
			} else if (f->kind == ANA_FIELD_INT) {
				sqlite3_bind_int64(st, col,
						   ana_field__int(f, ev.payload, ev.payload_size));
			} else {
				size_t n;
				const char *s = ana_field__text(f, ev.payload, ev.payload_size, &n);

				if (!s)
					sqlite3_bind_null(st, col);
				else if (f->is_text)
					sqlite3_bind_text(st, col, s, (int)n, SQLITE_TRANSIENT);
				else
					sqlite3_bind_blob(st, col, s, (int)n, SQLITE_TRANSIENT);
			}
		}
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return sql_err(im, "tracepoint table");
	} else if (ev.payload_size) {
		st = im->ins_payload;
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_blob(st, 2, ev.payload, (int)ev.payload_size, SQLITE_TRANSIENT);
		return step_done(im, st, "payloads");
	}
	return 0;
}

static int on_stack(struct importer *im, const struct tape_record *rec)
{
	struct tape_stack s;
	sqlite3_stmt *st = im->ins_stack;
	int rc;

	if (tape_record__stack(rec, &s))
		return -EBADMSG;
	sqlite3_bind_int64(st, 1, s.id);
	sqlite3_bind_int64(st, 2, !!(s.flags & TAPE_STACK_F_KERNEL));
	sqlite3_bind_int64(st, 3, !!(s.flags & TAPE_STACK_F_TRUNCATED));
	sqlite3_bind_int64(st, 4, s.nframes);
	sqlite3_bind_blob(st, 5, s.ips_le, (int)(8 * (size_t)s.nframes), SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_CONSTRAINT)
		return 0; /* duplicate id: the first one wins */
	if (rc != SQLITE_DONE)
		return sql_err(im, "stacks");
	im->st->stacks++;
	return stream_stack(im, &s);
}

static int on_proc(struct importer *im, const struct tape_record *rec)
{
	static const char *const kinds[] = {"?", "scan", "fork", "exec", "exit", "comm"};
	struct tape_proc p;
	sqlite3_stmt *st = im->ins_proc;

	if (tape_record__proc(rec, &p))
		return -EBADMSG;
	sqlite3_bind_int64(st, 1, (int64_t)p.ts_ns);
	sqlite3_bind_text(st, 2, p.kind < 6 ? kinds[p.kind] : "?", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, p.pid);
	sqlite3_bind_int64(st, 4, p.tid);
	sqlite3_bind_int64(st, 5, p.ppid);
	{
		/* comm is a C string in the kernel: cut at the first NUL */
		const char *z = p.comm.ptr ? memchr(p.comm.ptr, '\0', p.comm.len) : NULL;

		if (z)
			p.comm.len = (uint32_t)(z - p.comm.ptr);
	}
	bind_str(st, 6, p.comm);
	bind_str(st, 7, p.filename);
	if (p.kind == TAPE_PROC_EXIT)
		sqlite3_bind_int64(st, 8, p.exit_code);
	else
		sqlite3_bind_null(st, 8);
	sqlite3_bind_int64(st, 9, !!(p.flags & TAPE_PROC_F_THREAD));
	im->st->procs++;
	return step_done(im, st, "proc_events");
}

static int on_mmap(struct importer *im, const struct tape_record *rec)
{
	struct tape_mmap m;
	sqlite3_stmt *st = im->ins_mmap;
	char bid[2 * TAPE_BUILD_ID_MAX + 1];

	if (tape_record__mmap(rec, &m))
		return -EBADMSG;
	sqlite3_bind_int64(st, 1, (int64_t)m.ts_ns);
	sqlite3_bind_int64(st, 2, m.pid);
	sqlite3_bind_int64(st, 3, (int64_t)m.start);
	sqlite3_bind_int64(st, 4, (int64_t)m.end);
	sqlite3_bind_int64(st, 5, (int64_t)m.pgoff);
	bind_str(st, 6, m.path);
	if (m.build_id_size && m.build_id_size <= TAPE_BUILD_ID_MAX) {
		hex(bid, m.build_id, m.build_id_size);
		sqlite3_bind_text(st, 7, bid, -1, SQLITE_TRANSIENT);
	} else {
		sqlite3_bind_null(st, 7);
	}
	sqlite3_bind_int64(st, 8, m.prot);
	sqlite3_bind_int64(st, 9, m.flags);
	sqlite3_bind_int64(st, 10, (int64_t)m.dev);
	sqlite3_bind_int64(st, 11, (int64_t)m.inode);
	im->st->mmaps++;
	if (step_done(im, st, "mappings"))
		return -EIO;
	return stream_mmap(im, &m);
}

static int on_ksyms(struct importer *im, const struct tape_record *rec)
{
	struct tape_sym_iter it;
	struct tape_ksym k;
	int ret;

	if (tape_record__ksyms(rec, &it))
		return -EBADMSG;
	if (!im->kernel && sym_kernel__new(&im->kernel))
		return -ENOMEM;
	while ((ret = tape_ksyms__next(&it, &k)) == 1) {
		sym_kernel__add(im->kernel, k.addr, k.type, k.name.ptr, k.name.len, k.module.ptr,
				k.module.len);
		im->ksyms++;
	}
	return ret < 0 ? -EBADMSG : 0;
}

static int on_symtab(struct importer *im, const struct tape_record *rec)
{
	struct tape_symtab h;
	struct tape_sym_iter it;
	struct tape_sym s;
	struct imp_symtab *t = NULL;
	size_t i;
	int ret;

	if (tape_record__symtab(rec, &h, &it))
		return -EBADMSG;
	if (h.build_id_size > TAPE_BUILD_ID_MAX)
		return -EBADMSG;
	for (i = 0; i < im->nsymtabs; i++) {
		t = &im->symtabs[i];
		if (strlen(t->path) == h.path.len && !memcmp(t->path, h.path.ptr, h.path.len) &&
		    t->build_id_size == h.build_id_size &&
		    !memcmp(t->build_id, h.build_id, h.build_id_size))
			break;
	}
	if (i == im->nsymtabs) {
		struct imp_symtab *nt = realloc(im->symtabs, (i + 1) * sizeof(*nt));

		if (!nt)
			return -ENOMEM;
		im->symtabs = nt;
		t = &nt[i];
		memset(t, 0, sizeof(*t));
		t->path = strndup(h.path.ptr ? h.path.ptr : "", h.path.len);
		if (!t->path)
			return -ENOMEM;
		memcpy(t->build_id, h.build_id, h.build_id_size);
		t->build_id_size = h.build_id_size;
		im->nsymtabs++;
	}
	while ((ret = tape_symtab__next(&it, &s)) == 1) {
		if (t->n == t->cap) {
			size_t nc = t->cap ? 2 * t->cap : 256;
			uint64_t *na = realloc(t->addrs, nc * sizeof(*na));
			uint64_t *ns;
			char **nn;

			if (!na)
				return -ENOMEM;
			t->addrs = na;
			ns = realloc(t->sizes, nc * sizeof(*ns));
			if (!ns)
				return -ENOMEM;
			t->sizes = ns;
			nn = realloc(t->names, nc * sizeof(*nn));
			if (!nn)
				return -ENOMEM;
			t->names = nn;
			t->cap = nc;
		}
		t->names[t->n] = strndup(s.name.ptr ? s.name.ptr : "", s.name.len);
		if (!t->names[t->n])
			return -ENOMEM;
		t->addrs[t->n] = s.addr;
		t->sizes[t->n] = s.size;
		t->n++;
		im->symtab_syms++;
	}
	return ret < 0 ? -EBADMSG : 0;
}

static int on_loss(struct importer *im, const struct tape_record *rec)
{
	struct tape_loss l;
	struct ana_hm_slot *s;
	int created;

	if (tape_record__loss(rec, &l))
		return -EBADMSG;
	s = ana_hm__upsert(&im->losses, (uint64_t)l.type_id << 32 | l.cpu, l.kind, &created);
	if (!s)
		return -ENOMEM;
	if (created) {
		void *n = realloc(im->loss, (im->nloss + 1) * sizeof(*im->loss));

		if (!n)
			return -ENOMEM;
		im->loss = n;
		s->val = im->nloss++;
		im->loss[s->val].ts = 0;
	}
	if (created || l.ts_ns >= im->loss[s->val].ts) {
		im->loss[s->val].count = l.count;
		im->loss[s->val].ts = l.ts_ns;
		im->loss[s->val].type_id = l.type_id;
		im->loss[s->val].cpu = l.cpu;
		im->loss[s->val].kind = l.kind;
	}
	return 0;
}

static int on_record(struct importer *im, const struct tape_record *rec)
{
	switch (rec->type) {
	case TAPE_REC_HOST:
		return on_host(im, rec);
	case TAPE_REC_EVENT_DESC:
		return on_event_desc(im, rec);
	case TAPE_REC_EVENT:
		return on_event(im, rec);
	case TAPE_REC_STACK:
		return on_stack(im, rec);
	case TAPE_REC_PROC:
		return on_proc(im, rec);
	case TAPE_REC_MMAP:
		return on_mmap(im, rec);
	case TAPE_REC_KSYMS:
		return on_ksyms(im, rec);
	case TAPE_REC_SYMTAB:
		return on_symtab(im, rec);
	case TAPE_REC_LOSS:
		return on_loss(im, rec);
	case TAPE_REC_END:
		if (tape_record__end(rec, &im->end))
			return -EBADMSG;
		im->have_end = 1;
		return 0;
	default:
		im->unknown_records++;
		return 0;
	}
}

/* ---- symbolization ---- */

static int add_slot(struct importer *im, int module, uint64_t offset, size_t *idx)
{
	struct ana_hm_slot *s;
	int created;

	s = ana_hm__upsert(&im->slot_map, (uint64_t)(module + 2), offset, &created);
	if (!s)
		return -ENOMEM;
	if (!created) {
		*idx = s->val;
		return 0;
	}
	if (im->nslots == im->cap_slots) {
		size_t nc = im->cap_slots ? 2 * im->cap_slots : 1024;
		struct imp_slot *n = realloc(im->slots, nc * sizeof(*n));

		if (!n)
			return -ENOMEM;
		im->slots = n;
		im->cap_slots = nc;
	}
	memset(&im->slots[im->nslots], 0, sizeof(im->slots[0]));
	im->slots[im->nslots].module = module;
	im->slots[im->nslots].offset = offset;
	im->slots[im->nslots].res.reason = SYM_UNMAPPED;
	s->val = im->nslots;
	*idx = im->nslots++;
	if (module >= 0) {
		struct imp_module *m = &im->modules[module];

		if (m->n == m->cap) {
			size_t nc = m->cap ? 2 * m->cap : 64;
			uint64_t *no = realloc(m->offsets, nc * sizeof(*no));
			size_t *ni;

			if (!no)
				return -ENOMEM;
			m->offsets = no;
			ni = realloc(m->slot_idx, nc * sizeof(*ni));
			if (!ni)
				return -ENOMEM;
			m->slot_idx = ni;
			m->cap = nc;
		}
		m->offsets[m->n] = offset;
		m->slot_idx[m->n] = *idx;
		m->n++;
	}
	return 0;
}

static int find_module_raw(struct importer *im, const char *path, const uint8_t *bid, uint32_t nb);

static int find_module(struct importer *im, const char *path, const char *bid_hex)
{
	uint8_t bid[TAPE_BUILD_ID_MAX];
	uint32_t nb = 0;

	if (bid_hex) {
		for (; nb < TAPE_BUILD_ID_MAX && bid_hex[2 * nb] && bid_hex[2 * nb + 1]; nb++) {
			unsigned int v;

			if (sscanf(bid_hex + 2 * nb, "%2x", &v) != 1)
				break;
			bid[nb] = (uint8_t)v;
		}
	}
	return find_module_raw(im, path, bid, nb);
}

static int find_module_raw(struct importer *im, const char *path, const uint8_t *bid, uint32_t nb)
{
	struct imp_module *m;
	size_t i;
	for (i = 0; i < im->nmodules; i++) {
		m = &im->modules[i];
		if (!strcmp(m->path, path) && m->build_id_size == nb &&
		    !memcmp(m->build_id, bid, nb))
			return (int)i;
	}
	m = realloc(im->modules, (im->nmodules + 1) * sizeof(*m));
	if (!m)
		return -ENOMEM;
	im->modules = m;
	m = &im->modules[im->nmodules];
	memset(m, 0, sizeof(*m));
	m->path = strdup(path);
	if (!m->path)
		return -ENOMEM;
	memcpy(m->build_id, bid, nb);
	m->build_id_size = nb;
	m->special = path[0] != '/';
	m->readable = -1;
	return (int)im->nmodules++;
}

struct imp_pair {
	uint32_t stack_id, pid;
	uint64_t ts;
};

static int cmp_pair(const void *a, const void *b)
{
	const struct imp_pair *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->stack_id < y->stack_id ? -1 : x->stack_id > y->stack_id;
}

static int load_maps(struct importer *im, sqlite3_stmt *sel, uint32_t pid, struct imp_map **maps,
		     size_t *n)
{
	size_t cap = 0;
	int rc;

	*n = 0;
	sqlite3_bind_int64(sel, 1, pid);
	while ((rc = sqlite3_step(sel)) == SQLITE_ROW) {
		const char *path = (const char *)sqlite3_column_text(sel, 4);
		const char *bid = (const char *)sqlite3_column_text(sel, 5);
		int mod;

		if (*n == cap) {
			struct imp_map *nm;

			cap = cap ? 2 * cap : 64;
			nm = realloc(*maps, cap * sizeof(*nm));
			if (!nm) {
				sqlite3_reset(sel);
				return -ENOMEM;
			}
			*maps = nm;
		}
		mod = find_module(im, path ? path : "", bid);
		if (mod < 0) {
			sqlite3_reset(sel);
			return mod;
		}
		(*maps)[*n].ts = (uint64_t)sqlite3_column_int64(sel, 0);
		(*maps)[*n].start = (uint64_t)sqlite3_column_int64(sel, 1);
		(*maps)[*n].end = (uint64_t)sqlite3_column_int64(sel, 2);
		(*maps)[*n].pgoff = (uint64_t)sqlite3_column_int64(sel, 3);
		(*maps)[*n].module = mod;
		(*n)++;
	}
	sqlite3_reset(sel);
	return rc == SQLITE_DONE ? 0 : sql_err(im, "mappings");
}

/* The mapping covering ADDR: the most recent one at or before TS, else the
 * earliest one after it. */
static const struct imp_map *find_map(const struct imp_map *maps, size_t n, uint64_t addr,
				      uint64_t ts)
{
	const struct imp_map *best = NULL, *later = NULL;
	size_t i;

	for (i = 0; i < n; i++) {
		const struct imp_map *m = &maps[i];

		if (addr < m->start || addr >= m->end)
			continue;
		if (m->ts <= ts) {
			if (!best || m->ts >= best->ts)
				best = m;
		} else if (!later || m->ts < later->ts) {
			later = m;
		}
	}
	return best ? best : later;
}

#define FRAME_COLS 15

static struct ana_bt_val val_int(int64_t i)
{
	return (struct ana_bt_val){.type = ANA_BT_INT, .i = i};
}

static struct ana_bt_val val_text(const char *s)
{
	if (!s)
		return (struct ana_bt_val){.type = ANA_BT_NULL};
	return (struct ana_bt_val){.type = ANA_BT_TEXT, .text = s, .len = (uint32_t)strlen(s)};
}

/* The frames row of inline level K of frame reference F, in column order. */
static void frame_row(struct importer *im, const struct imp_frame_ref *f, uint32_t k,
		      struct ana_bt_val *v)
{
	static const struct ana_bt_val null = {.type = ANA_BT_NULL};
	const struct imp_slot *s = &im->slots[f->slot];
	struct imp_module *m = s->module >= 0 ? &im->modules[s->module] : NULL;
	const struct sym_frame *fr = s->res.nframes ? &s->res.frames[k] : NULL;
	/* user return addresses were looked up at ip - 1 */
	int64_t back = !f->kernel && f->depth ? 1 : 0;

	v[0] = val_int(f->stack_id);
	v[1] = val_int(f->pid);
	v[2] = val_int(f->depth);
	v[3] = val_int(k);
	v[4] = val_int(f->kernel);
	v[5] = val_int((int64_t)f->ip);
	v[6] = val_text(fr ? fr->func : NULL);
	v[7] = val_text(fr ? fr->file : NULL);
	v[8] = fr && fr->line ? val_int(fr->line) : null;
	v[9] = val_int(fr ? fr->inlined : 0);
	v[10] = val_text(m ? m->path : s->res.module ? s->res.module : f->kernel ? "kernel" : NULL);
	if (m && m->build_id_size) {
		if (!m->build_id_hex[0])
			hex(m->build_id_hex, m->build_id, m->build_id_size);
		v[11] = val_text(m->build_id_hex);
	} else {
		v[11] = null;
	}
	v[12] = s->module == -2 || f->kernel ? null : val_int((int64_t)s->offset + back);
	v[13] = fr && fr->func && !fr->inlined ? val_int((int64_t)s->res.func_offset + back) : null;
	v[14] =
	    s->res.reason != SYM_OK || !fr || !fr->func
		? val_text(sym_reason__str(s->res.reason != SYM_OK ? s->res.reason : SYM_NO_SYMBOL))
		: null;
}

/* Walks the frames rows in key order, each key once (the first of equal
 * ones, as INSERT OR IGNORE keeps), for ana_bt__write_index. */
struct frame_iter {
	struct importer *im;
	size_t i;    /* reference */
	uint32_t k;  /* inline level in it */
	int started; /* last_* valid */
	uint32_t last[4];
};

/* A > B, (stack_id, pid, depth, inline_depth) in that order. */
static int key_after(const uint32_t *a, const uint32_t *b)
{
	int i;

	for (i = 0; i < 4; i++)
		if (a[i] != b[i])
			return a[i] > b[i];
	return 0;
}

static int frame_next(void *ctx, struct ana_bt_val *v)
{
	struct frame_iter *it = ctx;
	struct importer *im = it->im;

	for (; it->i < im->nrefs; it->i++, it->k = 0) {
		const struct imp_frame_ref *f = &im->refs[it->i];
		const struct imp_slot *s = &im->slots[f->slot];
		uint32_t nf = s->res.nframes ? s->res.nframes : 1;

		while (it->k < nf) {
			uint32_t key[4] = {f->stack_id, f->pid, f->depth, it->k++};

			if (it->started && !key_after(key, it->last))
				continue;
			memcpy(it->last, key, sizeof(key));
			it->started = 1;
			frame_row(im, f, key[3], v);
			im->st->frames++;
			return 1;
		}
	}
	return 0;
}

static void bind_val(sqlite3_stmt *st, int col, const struct ana_bt_val *v)
{
	if (v->type == ANA_BT_INT)
		sqlite3_bind_int64(st, col, v->i);
	else if (v->type == ANA_BT_TEXT)
		sqlite3_bind_text(st, col, v->text, (int)v->len, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, col);
}

/* frames through INSERT OR IGNORE (im->ins_frame). */
static int write_frames(struct importer *im, const struct imp_frame_ref *refs, size_t n)
{
	sqlite3_stmt *st = im->ins_frame;
	struct ana_bt_val v[FRAME_COLS];
	size_t i;
	uint32_t k;
	int c;

	for (i = 0; i < n; i++) {
		const struct imp_slot *s = &im->slots[refs[i].slot];
		uint32_t nf = s->res.nframes ? s->res.nframes : 1;

		for (k = 0; k < nf; k++) {
			int rc;

			frame_row(im, &refs[i], k, v);
			for (c = 0; c < FRAME_COLS; c++)
				bind_val(st, c + 1, &v[c]);
			rc = sqlite3_step(st);
			sqlite3_reset(st);
			if (rc != SQLITE_DONE)
				return sql_err(im, "frames");
			if (sqlite3_changes(im->db))
				im->st->frames++;
		}
	}
	return 0;
}

static int resolve_modules(struct importer *im, struct sym_resolver *res)
{
	uint64_t *vaddrs = NULL;
	struct sym_result *out = NULL;
	size_t i, j, cap = 0;
	int ret = 0;

	for (i = 0; i < im->nmodules && !ret; i++) {
		struct imp_module *m = &im->modules[i];
		const uint8_t *bid = m->build_id_size ? m->build_id : NULL;
		size_t nok = 0;

		if (!m->n)
			continue;
		if (m->special || !res) {
			for (j = 0; j < m->n; j++)
				if (!im->slots[m->slot_idx[j]].done)
					im->slots[m->slot_idx[j]].res.reason =
					    m->special ? SYM_NO_FILE : SYM_NO_SYMTAB;
			continue;
		}
		if (m->n > cap) {
			void *a = realloc(vaddrs, m->n * sizeof(*vaddrs));

			if (!a) {
				ret = -ENOMEM;
				break;
			}
			vaddrs = a;
			a = realloc(out, m->n * sizeof(*out));
			if (!a) {
				ret = -ENOMEM;
				break;
			}
			out = a;
			cap = m->n;
		}
		/* offsets that no PT_LOAD covers stay unresolved ("unmapped"
		 * or, when the file is missing, "no file") */
		{
			size_t *which = malloc(m->n * sizeof(*which));

			if (!which) {
				ret = -ENOMEM;
				break;
			}
			if (m->readable < 0)
				m->readable = access(m->path, R_OK) == 0;
			for (j = 0; j < m->n; j++) {
				uint64_t va;
				int r;

				if (im->slots[m->slot_idx[j]].done)
					continue;
				r = sym_resolver__file_offset_to_vaddr(
				    res, m->path, bid, m->build_id_size, m->offsets[j], &va);

				if (r == 0) {
					vaddrs[nok] = va;
					which[nok++] = m->slot_idx[j];
				} else if (!m->readable) {
					/* the binary is not here: its embedded symbols
					 * (if any) answer, assuming file offset ==
					 * virtual address as in PIE executables and
					 * shared objects (the trace has no PT_LOADs) */
					vaddrs[nok] = m->offsets[j];
					which[nok++] = m->slot_idx[j];
				} else {
					im->slots[m->slot_idx[j]].res.reason = SYM_UNMAPPED;
				}
			}
			if (nok) {
				memset(out, 0, nok * sizeof(*out));
				if (sym_resolver__lookup(res, m->path, bid, m->build_id_size,
							 vaddrs, nok, out) == 0) {
					for (j = 0; j < nok; j++)
						im->slots[which[j]].res = out[j];
				}
			}
			free(which);
		}
	}
	free(vaddrs);
	free(out);
	return ret;
}

static int add_ref(struct importer *im, uint32_t sid, uint32_t pid, uint32_t depth, uint32_t kernel,
		   uint64_t ip, size_t slot)
{
	if (im->nrefs == im->cap_refs) {
		size_t nc = im->cap_refs ? 2 * im->cap_refs : 4096;
		struct imp_frame_ref *nr = realloc(im->refs, nc * sizeof(*nr));

		if (!nr)
			return -ENOMEM;
		im->refs = nr;
		im->cap_refs = nc;
	}
	im->refs[im->nrefs++] = (struct imp_frame_ref){sid, pid, depth, kernel, ip, slot};
	return 0;
}

/* ---- the symbolization worker ---- */

static void *sym_worker(void *arg)
{
	struct imp_worker *w = arg;
	size_t done = 0, n, i;
	int stop;

	for (;;) {
		pthread_mutex_lock(&w->lock);
		while (done == w->published && !w->stop)
			pthread_cond_wait(&w->cond, &w->lock);
		n = w->published;
		stop = w->stop;
		pthread_mutex_unlock(&w->lock);
		for (i = done; i < n; i++) {
			struct imp_qitem *q = &w->blocks[i / Q_BLOCK][i % Q_BLOCK];
			const uint8_t *bid = q->build_id_size ? q->build_id : NULL;
			uint64_t va;

			if (sym_resolver__file_offset_to_vaddr(w->res, q->path, bid,
							       q->build_id_size, q->offset, &va) ||
			    sym_resolver__lookup(w->res, q->path, bid, q->build_id_size, &va, 1,
						 &q->res)) {
				memset(&q->res, 0, sizeof(q->res));
				q->res.reason = SYM_UNMAPPED;
			}
		}
		done = n;
		if (stop && done == n)
			break;
	}
	return NULL;
}

static void stream_start(struct importer *im)
{
	struct sym_resolver_opts ro = {0};
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int k, want;

	if (im->opts->no_symbols)
		return;
	ro.debug_dirs = im->opts->debug_dirs;
	ro.n_debug_dirs = im->opts->n_debug_dirs;
	ro.no_dwarf = im->opts->no_dwarf;
	if (sym_resolver__new(&im->res, &ro)) {
		im->res = NULL;
		return;
	}
	/*
	 * One worker symbolizes while the main thread loads, where there is a
	 * second CPU for it: on the 2-CPU machine measured, folded on a
	 * 500k-sample python profile (libc's compressed debug file alone costs
	 * 70 ms to open) took 0.37 s against 0.47 s without it.  Two workers
	 * split the DWARF work of one binary and rarely pay on 2 CPUs.
	 * BPFTAPE_IMPORT_WORKERS=0, 1 or 2 overrides.
	 */
	want = ncpu > 1 ? 1 : 0;
	if (getenv("BPFTAPE_IMPORT_WORKERS")) {
		want = atoi(getenv("BPFTAPE_IMPORT_WORKERS"));
		want = want < 0 ? 0 : want > IMP_WORKERS ? IMP_WORKERS : want;
	}
	if (ncpu < 2 && want > 1)
		want = 1;
	if (!want)
		return;
	/* libelf's one-time setup happens on the first ELF opened: do it here,
	 * on this thread, rather than racing in two workers */
	{
		uint8_t bid[64];

		(void)sym_read_build_id("/proc/self/exe", bid, sizeof(bid));
	}
	for (k = 0; k < want; k++) {
		struct imp_worker *w = &im->workers[k];

		w->im = im;
		w->blocks = calloc(Q_MAX_BLOCKS, sizeof(*w->blocks));
		if (!w->blocks)
			break;
		if (k == 0) {
			w->res = im->res;
		} else if (sym_resolver__new(&w->res, &ro)) {
			w->res = NULL;
			free(w->blocks);
			w->blocks = NULL;
			break;
		}
		pthread_mutex_init(&w->lock, NULL);
		pthread_cond_init(&w->cond, NULL);
		if (pthread_create(&w->thread, NULL, sym_worker, w)) {
			pthread_mutex_destroy(&w->lock);
			pthread_cond_destroy(&w->cond);
			if (k)
				sym_resolver__free(w->res);
			w->res = NULL;
			free(w->blocks);
			w->blocks = NULL;
			break;
		}
		im->nworkers = k + 1;
	}
	im->stream = im->nworkers > 0;
}

/* Waits for the workers and takes their results; their resolvers stay
 * (im->res, im->extra_res) as long as the results. */
static void stream_stop(struct importer *im)
{
	size_t i, b;
	int k;

	if (!im->stream)
		return;
	for (k = 0; k < im->nworkers && k < IMP_WORKERS; k++) {
		struct imp_worker *w = &im->workers[k];

		pthread_mutex_lock(&w->lock);
		w->published = w->n;
		w->stop = 1;
		pthread_cond_signal(&w->cond);
		pthread_mutex_unlock(&w->lock);
	}
	for (k = 0; k < im->nworkers && k < IMP_WORKERS; k++) {
		struct imp_worker *w = &im->workers[k];

		pthread_join(w->thread, NULL);
		pthread_mutex_destroy(&w->lock);
		pthread_cond_destroy(&w->cond);
		for (i = 0; i < w->n; i++) {
			struct imp_qitem *q = &w->blocks[i / Q_BLOCK][i % Q_BLOCK];

			im->slots[q->slot].res = q->res;
			im->slots[q->slot].done = 1;
			memset(&q->res, 0, sizeof(q->res));
		}
		for (b = 0; b < Q_MAX_BLOCKS && w->blocks[b]; b++)
			free(w->blocks[b]);
		free(w->blocks);
		w->blocks = NULL;
		/* the results point into the resolver's strings: it lives on
		 * until the importer is released */
		if (k)
			im->extra_res[k] = w->res;
		w->res = NULL;
	}
	im->nworkers = 0;
	im->stream = 0;
}

static int enqueue(struct importer *im, const struct imp_module *m, uint64_t offset, size_t slot)
{
	size_t wi = im->nworkers > 1 ? (size_t)((offset >> 17) % (uint64_t)im->nworkers) : 0;
	struct imp_worker *w;
	size_t b;
	struct imp_qitem *q;

	if (wi >= IMP_WORKERS)
		wi = 0;
	w = &im->workers[wi];
	b = w->n / Q_BLOCK;

	if (b >= Q_MAX_BLOCKS)
		return 0; /* resolved after the load instead */
	if (!w->blocks[b]) {
		w->blocks[b] = calloc(Q_BLOCK, sizeof(struct imp_qitem));
		if (!w->blocks[b])
			return -ENOMEM;
	}
	q = &w->blocks[b][w->n % Q_BLOCK];
	q->path = m->path;
	memcpy(q->build_id, m->build_id, m->build_id_size);
	q->build_id_size = m->build_id_size;
	q->offset = offset;
	q->slot = slot;
	w->n++;
	/* publish in batches: one lock round trip per 64 items */
	if (w->n - w->published >= 64) {
		pthread_mutex_lock(&w->lock);
		w->published = w->n;
		pthread_cond_signal(&w->cond);
		pthread_mutex_unlock(&w->lock);
	}
	return 0;
}

/* MMAP records, kept per process for the streaming path. */
static int stream_mmap(struct importer *im, const struct tape_mmap *mm)
{
	struct ana_hm_slot *s;
	struct imp_pmaps *pm;
	char path[4096];
	int created, mod;

	if (!im->stream || !(mm->prot & TAPE_MMAP_PROT_EXEC))
		return 0;
	s = ana_hm__upsert(&im->pid_idx, mm->pid, 0, &created);
	if (!s)
		return -ENOMEM;
	if (created) {
		struct imp_pmaps *n = realloc(im->pmaps, (im->npmaps + 1) * sizeof(*n));

		if (!n)
			return -ENOMEM;
		im->pmaps = n;
		memset(&n[im->npmaps], 0, sizeof(*n));
		s->val = im->npmaps++;
	}
	pm = &im->pmaps[s->val];
	if (pm->n == pm->cap) {
		size_t nc = pm->cap ? 2 * pm->cap : 16;
		struct imp_map *n = realloc(pm->m, nc * sizeof(*n));

		if (!n)
			return -ENOMEM;
		pm->m = n;
		pm->cap = nc;
	}
	snprintf(path, sizeof(path), "%.*s", (int)mm->path.len, mm->path.ptr ? mm->path.ptr : "");
	mod = find_module_raw(im, path, mm->build_id,
			      mm->build_id_size <= TAPE_BUILD_ID_MAX ? mm->build_id_size : 0);
	if (mod < 0)
		return mod;
	pm->m[pm->n++] = (struct imp_map){mm->ts_ns, mm->start, mm->end, mm->pgoff, mod};
	return 0;
}

/* User STACK records, kept for the streaming path. */
static int stream_stack(struct importer *im, const struct tape_stack *st)
{
	struct ana_hm_slot *s;
	struct imp_ustack *u;
	uint32_t i;
	int created;

	if (!im->stream || (st->flags & TAPE_STACK_F_KERNEL))
		return 0;
	s = ana_hm__upsert(&im->ustack_idx, st->id, 0, &created);
	if (!s)
		return -ENOMEM;
	if (!created)
		return 0;
	u = realloc(im->ustacks, (im->nustacks + 1) * sizeof(*u));
	if (!u)
		return -ENOMEM;
	im->ustacks = u;
	u = &im->ustacks[im->nustacks];
	u->n = st->nframes;
	u->ips = malloc((st->nframes ? st->nframes : 1) * sizeof(*u->ips));
	if (!u->ips)
		return -ENOMEM;
	for (i = 0; i < st->nframes; i++)
		u->ips[i] = tape_stack__ip(st, i);
	s->val = im->nustacks++;
	return 0;
}

/* The first event of a (user stack, process) pair: map its frames now if
 * every one falls in a known mapping, else leave the pair to the end. */
static int stream_pair(struct importer *im, uint32_t ustack, uint32_t pid, uint64_t ts)
{
	const struct ana_hm_slot *us, *pm;
	struct ana_hm_slot *seen;
	const struct imp_ustack *u;
	const struct imp_pmaps *maps;
	uint32_t d;
	int created, ret;

	seen = ana_hm__upsert(&im->pair_seen, ustack, pid, &created);
	if (!seen)
		return -ENOMEM;
	if (!created)
		return 0;
	seen->val = 2;
	us = ana_hm__find(&im->ustack_idx, ustack, 0);
	pm = ana_hm__find(&im->pid_idx, pid, 0);
	if (!us || !pm)
		return 0;
	u = &im->ustacks[us->val];
	maps = &im->pmaps[pm->val];
	for (d = 0; d < u->n; d++) {
		uint64_t look = d ? u->ips[d] - 1 : u->ips[d];

		if (u->ips[d] && !find_map(maps->m, maps->n, look, ts))
			return 0;
	}
	for (d = 0; d < u->n; d++) {
		uint64_t look = d ? u->ips[d] - 1 : u->ips[d];

		if (!u->ips[d])
			continue; /* a zero return address ends a frame-pointer walk */
		const struct imp_map *m = find_map(maps->m, maps->n, look, ts);
		uint64_t off = look - m->start + m->pgoff;
		size_t before = im->nslots, slot;
		struct imp_module *mod = &im->modules[m->module];

		if ((ret = add_slot(im, m->module, off, &slot)))
			return ret;
		if (im->nslots != before && !mod->special) {
			if (mod->readable < 0)
				mod->readable = access(mod->path, R_OK) == 0;
			if (mod->readable && (ret = enqueue(im, mod, off, slot)))
				return ret;
		}
		if ((ret = add_ref(im, ustack, pid, d, 0, u->ips[d], slot)))
			return ret;
	}
	seen->val = 1;
	return 0;
}

static int cmp_ref(const void *a, const void *b)
{
	const struct imp_frame_ref *x = a, *y = b;

	if (x->stack_id != y->stack_id)
		return x->stack_id < y->stack_id ? -1 : 1;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->depth < y->depth ? -1 : x->depth > y->depth;
}

static int symbolize(struct importer *im)
{
	struct sym_resolver *res = NULL;
	size_t npairs = 0, i;
	struct imp_pair *pairs = NULL;
	struct imp_map *maps = NULL;
	size_t nmaps = 0;
	sqlite3_stmt *sel_stack = NULL, *sel_maps = NULL, *sel_k = NULL;
	uint32_t cur_pid = UINT32_MAX;
	int ret = 0, rc;

	stream_stop(im);
	res = im->res; /* the worker's, caches warm */
	for (i = 0; res && i < im->nsymtabs; i++) {
		struct imp_symtab *t = &im->symtabs[i];

		sym_resolver__add_symbols(res, t->path, t->build_id_size ? t->build_id : NULL,
					  t->build_id_size, t->addrs, t->sizes,
					  (const char *const *)t->names, t->n);
	}

	/* kernel stacks: one symbol per address */
	if (prepare(im, "SELECT stack_id, ips FROM stacks WHERE kernel = 1", &sel_k)) {
		ret = -EIO;
		goto out;
	}
	while ((rc = sqlite3_step(sel_k)) == SQLITE_ROW) {
		uint32_t sid = (uint32_t)sqlite3_column_int64(sel_k, 0);
		const uint8_t *ips = sqlite3_column_blob(sel_k, 1);
		uint32_t nf = (uint32_t)sqlite3_column_bytes(sel_k, 1) / 8, d;

		for (d = 0; d < nf; d++) {
			uint64_t ip = tape_get_u64(ips + 8 * d);
			size_t slot;
			size_t before = im->nslots;

			if ((ret = add_slot(im, -1, ip, &slot)))
				goto out;
			if (im->nslots != before) {
				if (im->kernel && !im->opts->no_symbols)
					sym_kernel__lookup(im->kernel, ip, &im->slots[slot].res);
				else
					im->slots[slot].res.reason = SYM_NO_SYMTAB;
			}
			if ((ret = add_ref(im, sid, 0, d, 1, ip, slot)))
				goto out;
		}
	}
	if (rc != SQLITE_DONE) {
		ret = sql_err(im, "stacks");
		goto out;
	}

	/* user stacks not mapped during the load: per (stack, pid), through
	 * all of that pid's mappings */
	for (i = 0; i < im->naggs; i++) {
		const struct imp_agg *a = &im->aggs[i];
		const struct ana_hm_slot *seen;
		struct ana_hm_slot *s;
		int created;

		if (!a->ustack)
			continue;
		seen = ana_hm__find(&im->pair_seen, a->ustack, a->pid);
		if (seen && seen->val == 1)
			continue;
		s = ana_hm__upsert(&im->ustack_pids, a->ustack, a->pid, &created);
		if (!s) {
			ret = -ENOMEM;
			goto out;
		}
		if (created || a->first_ts < s->val)
			s->val = a->first_ts;
	}
	pairs = malloc((im->ustack_pids.len + 1) * sizeof(*pairs));
	if (!pairs) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < im->ustack_pids.cap; i++) {
		const struct ana_hm_slot *s = &im->ustack_pids.slots[i];

		if (s->used)
			pairs[npairs++] =
			    (struct imp_pair){(uint32_t)s->k1, (uint32_t)s->k2, s->val};
	}
	qsort(pairs, npairs, sizeof(*pairs), cmp_pair);
	if (prepare(im, "SELECT ips FROM stacks WHERE stack_id = ? AND kernel = 0", &sel_stack) ||
	    prepare(im, "SELECT ts, start, end, pgoff, path, build_id FROM mappings WHERE pid = ?",
		    &sel_maps)) {
		ret = -EIO;
		goto out;
	}
	for (i = 0; i < npairs; i++) {
		const struct imp_pair *p = &pairs[i];
		const uint8_t *ips;
		uint32_t nf, d;

		if (p->pid != cur_pid) {
			if ((ret = load_maps(im, sel_maps, p->pid, &maps, &nmaps)))
				goto out;
			cur_pid = p->pid;
		}
		sqlite3_bind_int64(sel_stack, 1, p->stack_id);
		if (sqlite3_step(sel_stack) != SQLITE_ROW) {
			sqlite3_reset(sel_stack);
			continue;
		}
		ips = sqlite3_column_blob(sel_stack, 0);
		nf = (uint32_t)sqlite3_column_bytes(sel_stack, 0) / 8;
		for (d = 0; d < nf; d++) {
			uint64_t ip = tape_get_u64(ips + 8 * d);
			/* return addresses point after the call: look up ip - 1
			 * for every frame but the sampled one */
			uint64_t look = d ? ip - 1 : ip;
			const struct imp_map *m;
			size_t slot;

			if (!ip)
				continue; /* the end of a frame-pointer walk */
			m = find_map(maps, nmaps, look, p->ts);

			if (m)
				ret = add_slot(im, m->module, look - m->start + m->pgoff, &slot);
			else
				ret = add_slot(im, -2, look, &slot);
			if (!ret)
				ret = add_ref(im, p->stack_id, p->pid, d, 0, ip, slot);
			if (ret) {
				sqlite3_reset(sel_stack);
				goto out;
			}
		}
		sqlite3_reset(sel_stack);
	}
	if ((ret = resolve_modules(im, res)))
		goto out;
	/* in key order: the frames table is clustered on it */
	if (im->nrefs > 1)
		qsort(im->refs, im->nrefs, sizeof(*im->refs), cmp_ref);
	/* with the b-tree writer, frames go in after SQLite is done */
	if (!im->bt)
		ret = write_frames(im, im->refs, im->nrefs);
out:
	sqlite3_finalize(sel_k);
	sqlite3_finalize(sel_stack);
	sqlite3_finalize(sel_maps);
	free(pairs);
	free(maps);
	return ret;
}

/* ---- the reader thread ---- */

/* Appends REC (or, for RQ_ERROR, the message MSG) to block B; -1 when it
 * does not fit (B is then not empty) or on ENOMEM (B empty). */
static int rq_put(struct imp_rblock *b, const struct tape_record *rec, const char *msg)
{
	size_t len = msg ? strlen(msg) + 1 : rec->size;
	size_t need = b->used + ((len + 7) & ~(size_t)7);
	struct tape_record *out;

	if (b->n == RQ_RECS || need > b->cap) {
		uint8_t *nd;

		if (b->n)
			return -1;
		/* one record bigger than a block: the block grows to it */
		nd = realloc(b->data, need);
		if (!nd)
			return -1;
		b->data = nd;
		b->cap = need;
	}
	out = &b->recs[b->n++];
	*out = *rec;
	memcpy(b->data + b->used, msg ? (const void *)msg : rec->body, len);
	out->body = b->data + b->used;
	out->size = (uint32_t)len;
	b->used = need;
	return 0;
}

static int rq_publish(struct imp_rq *q, int last)
{
	int quit;

	pthread_mutex_lock(&q->lock);
	q->prod++;
	q->done = last;
	pthread_cond_signal(&q->filled);
	while (q->prod - q->cons == RQ_NBLOCKS && !q->quit)
		pthread_cond_wait(&q->emptied, &q->lock);
	quit = q->quit;
	pthread_mutex_unlock(&q->lock);
	return quit;
}

static void *rq_main(void *arg)
{
	struct imp_rq *q = arg;
	struct tape_record rec;
	int rc;

	for (;;) {
		struct imp_rblock *b = &q->b[q->prod % RQ_NBLOCKS];
		const char *msg = NULL;

		rc = tape_reader__next(q->r, &rec);
		if (rc == 0)
			break;
		if (rc < 0) {
			memset(&rec, 0, sizeof(rec));
			rec.type = RQ_ERROR;
			msg = tape_reader__errmsg(q->r);
		}
		if (rq_put(b, &rec, msg)) {
			if (!b->n) {
				q->oom = 1;
				break;
			}
			if (rq_publish(q, 0))
				return NULL;
			b = &q->b[q->prod % RQ_NBLOCKS];
			b->n = b->used = 0;
			if (rq_put(b, &rec, msg)) {
				q->oom = 1;
				break;
			}
		}
		if (rc < 0 && tape_reader__resync(q->r) != 1)
			break;
	}
	rq_publish(q, 1);
	return NULL;
}

/* Starts the reader thread; with no thread (one CPU, or it cannot start)
 * the main thread reads. */
static void rq_start(struct importer *im)
{
	struct imp_rq *q = &im->rq;
	size_t i;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2 ||
	    (getenv("BPFTAPE_IMPORT_READER") && !strcmp(getenv("BPFTAPE_IMPORT_READER"), "0")))
		return;
	for (i = 0; i < RQ_NBLOCKS; i++) {
		q->b[i].data = malloc(RQ_BYTES);
		q->b[i].cap = RQ_BYTES;
		q->b[i].recs = malloc(RQ_RECS * sizeof(*q->b[i].recs));
		if (!q->b[i].data || !q->b[i].recs)
			return;
	}
	q->r = im->r;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->filled, NULL);
	pthread_cond_init(&q->emptied, NULL);
	if (pthread_create(&q->thread, NULL, rq_main, q)) {
		pthread_mutex_destroy(&q->lock);
		pthread_cond_destroy(&q->filled);
		pthread_cond_destroy(&q->emptied);
		return;
	}
	q->on = 1;
}

/* The next published block, or NULL after the last one. */
static struct imp_rblock *rq_take(struct imp_rq *q)
{
	struct imp_rblock *b = NULL;

	pthread_mutex_lock(&q->lock);
	while (q->cons == q->prod && !q->done)
		pthread_cond_wait(&q->filled, &q->lock);
	if (q->cons != q->prod)
		b = &q->b[q->cons % RQ_NBLOCKS];
	pthread_mutex_unlock(&q->lock);
	return b;
}

static void rq_give_back(struct imp_rq *q)
{
	pthread_mutex_lock(&q->lock);
	q->cons++;
	pthread_cond_signal(&q->emptied);
	pthread_mutex_unlock(&q->lock);
}

static void rq_stop(struct imp_rq *q)
{
	size_t i;

	if (q->on) {
		pthread_mutex_lock(&q->lock);
		q->quit = 1;
		pthread_cond_signal(&q->emptied);
		pthread_mutex_unlock(&q->lock);
		pthread_join(q->thread, NULL);
		pthread_mutex_destroy(&q->lock);
		pthread_cond_destroy(&q->filled);
		pthread_cond_destroy(&q->emptied);
		q->on = 0;
	}
	for (i = 0; i < RQ_NBLOCKS; i++) {
		free(q->b[i].data);
		free(q->b[i].recs);
		q->b[i].data = NULL;
		q->b[i].recs = NULL;
	}
}

/* One record from the trace (or a read error), handled as the load wants:
 * 0 to go on, 1 to stop reading, negative to fail. */
static int load_record(struct importer *im, const struct tape_record *rec)
{
	int ret;

	if (rec->type == RQ_ERROR) {
		if (!im->first_error[0])
			snprintf(im->first_error, sizeof(im->first_error), "%s",
				 (const char *)rec->body);
		return 0;
	}
	ret = on_record(im, rec);
	if (ret == -EBADMSG) {
		im->bad_records++;
		if (!im->first_error[0])
			snprintf(im->first_error, sizeof(im->first_error),
				 "chunk %u at offset 0x%" PRIx64 ": bad %s record", rec->chunk,
				 rec->chunk_offset, tape_record_type__name(rec->type));
		return 0;
	}
	return ret;
}

/*
 * Counting an event (count_event) looks up its (thread, stacks) group in a
 * hash table that outgrows the CPU caches on profiles with many distinct
 * stacks; the lookup of an event RQ_AHEAD records later is started early.
 */
#define RQ_AHEAD 8
static void prefetch_event(const struct importer *im, const struct tape_record *rec)
{
	const struct ana_hm *m;
	struct tape_event ev;

	if (rec->type != TAPE_REC_EVENT || tape_record__event(rec, &ev) || ev.type_id >= im->ntypes)
		return;
	m = &im->types[ev.type_id].agg;
	if (m->cap)
		__builtin_prefetch(
		    &m->slots[ana_hm__hash((uint64_t)ev.tid << 32 | ev.pid,
					   (uint64_t)ev.kstack_id << 32 | ev.ustack_id) &
			      (m->cap - 1)]);
}

/* Every record of the trace through load_record(). */
static int load_all(struct importer *im)
{
	struct tape_record rec;
	int rc, ret;

	rq_start(im);
	if (im->rq.on) {
		struct imp_rblock *b;

		while ((b = rq_take(&im->rq))) {
			size_t i;

			for (i = 0; i < b->n; i++) {
				if (i + RQ_AHEAD < b->n)
					prefetch_event(im, &b->recs[i + RQ_AHEAD]);
				if ((ret = load_record(im, &b->recs[i])))
					return ret;
			}
			rq_give_back(&im->rq);
		}
		if (im->rq.oom) {
			snprintf(im->err, im->err_size, "out of memory reading the trace");
			return -ENOMEM;
		}
		return 0;
	}
	for (;;) {
		rc = tape_reader__next(im->r, &rec);
		if (rc == 0)
			return 0;
		if (rc < 0) {
			/* as the reader thread passes it on */
			memset(&rec, 0, sizeof(rec));
			rec.type = RQ_ERROR;
			rec.body = tape_reader__errmsg(im->r);
		}
		if ((ret = load_record(im, &rec)))
			return ret;
		if (rc < 0 && tape_reader__resync(im->r) != 1)
			return 0;
	}
}

/* ---- driver ---- */

static void close_db(struct importer *im);

/* frames as b-tree pages once SQLite has closed DB_TMP; a row too long for
 * one page (a C++ name of kilobytes) sends them all through SQLite. */
static int frames_direct(struct importer *im, const char *db_tmp)
{
	struct frame_iter it = {.im = im};
	int ret;

	ret = ana_bt__write_index(db_tmp, im->page_size, im->frames_root, FRAME_COLS, frame_next,
				  &it, im->err, im->err_size);
	if (ret != -E2BIG)
		return ret;
	im->err[0] = '\0';
	im->st->frames = 0;
	if (sqlite3_open_v2(db_tmp, &im->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		snprintf(im->err, im->err_size, "cannot open database '%s': %s", db_tmp,
			 im->db ? sqlite3_errmsg(im->db) : "out of memory");
		return -EIO;
	}
	if ((ret = exec_sql(im, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
				"PRAGMA locking_mode=EXCLUSIVE; BEGIN;")) ||
	    (ret = prepare(im, "INSERT OR IGNORE INTO frames VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
			   &im->ins_frame)) ||
	    (ret = write_frames(im, im->refs, im->nrefs)) ||
	    (ret = exec_sql(im, "COMMIT; PRAGMA journal_mode=DELETE;")))
		return ret;
	close_db(im);
	return 0;
}

/*
 * Unless BPFTAPE_IMPORT_DIRECT=0, events rows are written as b-tree pages
 * by btree.c, about 20 times cheaper than INSERTs; their side file lives
 * next to the database.  The database must have the layout btree.c
 * writes: checked on the schema just committed.
 */
static int events_direct_start(struct importer *im, const char *db_tmp)
{
	const char *env = getenv("BPFTAPE_IMPORT_DIRECT");
	sqlite3_stmt *st = NULL;
	char side[4200];
	int ret, reserved = -1;

	if (env && !strcmp(env, "0"))
		return 0;
	if (prepare(im,
		    "SELECT rootpage, (SELECT rootpage FROM sqlite_schema WHERE type = 'table'"
		    " AND name = 'frames'), (SELECT page_size FROM pragma_page_size),"
		    " (SELECT auto_vacuum FROM pragma_auto_vacuum)"
		    " FROM sqlite_schema WHERE type = 'table' AND name = 'events'",
		    &st))
		return -EIO;
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return sql_err(im, "events");
	}
	im->events_root = (uint32_t)sqlite3_column_int64(st, 0);
	im->frames_root = (uint32_t)sqlite3_column_int64(st, 1);
	im->page_size = (uint32_t)sqlite3_column_int64(st, 2);
	if (sqlite3_file_control(im->db, "main", SQLITE_FCNTL_RESERVE_BYTES, &reserved) !=
		SQLITE_OK ||
	    reserved != 0 || sqlite3_column_int64(st, 3) != 0) {
		sqlite3_finalize(st);
		return 0; /* a layout btree.c does not write: INSERTs */
	}
	snprintf(side, sizeof(side), "%s.events", db_tmp);
	unlink(side);
	ret = ana_bt__open(&im->bt, side, im->page_size);
	sqlite3_finalize(st);
	if (ret)
		snprintf(im->err, im->err_size, "cannot create '%s': %s", side, strerror(-ret));
	return ret;
}

/* BPFTAPE_IMPORT_TIMING=1 prints the time of each import phase. */
static void phase(const char *name, const struct timespec *t0)
{
	static int on = -1;
	struct timespec t;

	if (on < 0)
		on = getenv("BPFTAPE_IMPORT_TIMING") != NULL;
	if (!on)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t);
	fprintf(stderr, "import: %-10s done at %.3f s\n", name,
		(double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9);
}

/* The events table ends at the last id handed out. */
static int check_event_ids(struct importer *im, sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int ok;

	if (sqlite3_prepare_v2(db, "SELECT COALESCE(MAX(id), 0) FROM events", -1, &st, NULL) !=
	    SQLITE_OK) {
		snprintf(im->err, im->err_size, "events: %s", sqlite3_errmsg(db));
		return -EIO;
	}
	ok = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) == im->next_id - 1;
	sqlite3_finalize(st);
	if (!ok) {
		snprintf(im->err, im->err_size, "internal error: event ids out of step");
		return -EIO;
	}
	return 0;
}

/* event_counts and the per-type counts. */
static int write_aggregates(struct importer *im)
{
	sqlite3_stmt *st = NULL;
	size_t i;
	int ret = 0;

	/* the ids given to tracepoint rows must be the ones SQLite assigned */
	if (!im->bt && (ret = check_event_ids(im, im->db)))
		return ret;

	if (prepare(im, "INSERT INTO event_counts VALUES(?,?,?,?,?,?,?,?)", &st))
		return -EIO;
	for (i = 0; i < im->naggs && !ret; i++) {
		const struct imp_agg *a = &im->aggs[i];

		sqlite3_bind_int64(st, 1, a->type_id);
		sqlite3_bind_int64(st, 2, a->pid);
		sqlite3_bind_int64(st, 3, a->tid);
		if (a->kstack)
			sqlite3_bind_int64(st, 4, a->kstack);
		else
			sqlite3_bind_null(st, 4);
		if (a->ustack)
			sqlite3_bind_int64(st, 5, a->ustack);
		else
			sqlite3_bind_null(st, 5);
		sqlite3_bind_int64(st, 6, (int64_t)a->count);
		sqlite3_bind_int64(st, 7, (int64_t)a->first_ts);
		sqlite3_bind_int64(st, 8, (int64_t)a->last_ts);
		ret = step_done(im, st, "event_counts");
	}
	sqlite3_finalize(st);
	if (ret || prepare(im, "UPDATE event_types SET events = ? WHERE type_id = ?", &st))
		return ret ? ret : -EIO;
	for (i = 0; i < im->ntypes && !ret; i++) {
		if (!im->types[i].known)
			continue;
		sqlite3_bind_int64(st, 1, (int64_t)im->types[i].events);
		sqlite3_bind_int64(st, 2, (int64_t)i);
		ret = step_done(im, st, "event_types");
	}
	sqlite3_finalize(st);
	/* No events(ts) index: building it costs more than the import of the
	 * events themselves, and the recorder's files are nearly in time
	 * order, so a time window is one scan and a listing one sort. */
	if (!ret)
		ret = set_meta(im, "events_sorted", NULL, !im->unsorted);
	return ret;
}

static int write_stats(struct importer *im)
{
	struct tape_reader_stats rs;
	sqlite3_stmt *st;
	size_t i;
	int ret = 0;

	if (prepare(im, "INSERT INTO stats VALUES(?,?,?,?,?,?)", &st))
		return -EIO;
#define STAT(src, nm, tid, cpu, val, ts)                                                           \
	do {                                                                                       \
		sqlite3_bind_text(st, 1, src, -1, SQLITE_STATIC);                                  \
		sqlite3_bind_text(st, 2, nm, -1, SQLITE_STATIC);                                   \
		if ((int64_t)(tid) >= 0)                                                           \
			sqlite3_bind_int64(st, 3, (int64_t)(tid));                                 \
		else                                                                               \
			sqlite3_bind_null(st, 3);                                                  \
		if ((int64_t)(cpu) >= 0)                                                           \
			sqlite3_bind_int64(st, 4, (int64_t)(cpu));                                 \
		else                                                                               \
			sqlite3_bind_null(st, 4);                                                  \
		sqlite3_bind_int64(st, 5, (int64_t)(val));                                         \
		if ((int64_t)(ts) >= 0)                                                            \
			sqlite3_bind_int64(st, 6, (int64_t)(ts));                                  \
		else                                                                               \
			sqlite3_bind_null(st, 6);                                                  \
		if ((ret = step_done(im, st, "stats")))                                            \
			goto out;                                                                  \
	} while (0)
	for (i = 0; i < im->nloss; i++) {
		int64_t tid =
		    im->loss[i].type_id == TAPE_LOSS_ANY ? -1 : (int64_t)im->loss[i].type_id;
		int64_t cpu = im->loss[i].cpu == TAPE_LOSS_ANY ? -1 : (int64_t)im->loss[i].cpu;

		STAT("loss", tape_loss_kind__name(im->loss[i].kind), tid, cpu, im->loss[i].count,
		     (int64_t)im->loss[i].ts);
	}
	tape_reader__stats(im->r, &rs);
	STAT("reader", "chunks", -1, -1, rs.chunks, -1);
	STAT("reader", "records", -1, -1, rs.records, -1);
	STAT("reader", "bytes_compressed", -1, -1, rs.bytes_compressed, -1);
	STAT("reader", "bytes_uncompressed", -1, -1, rs.bytes_uncompressed, -1);
	STAT("reader", "bad_chunks", -1, -1, rs.bad_chunks, -1);
	STAT("reader", "bytes_skipped", -1, -1, rs.bytes_skipped, -1);
	STAT("import", "bad_records", -1, -1, im->bad_records, -1);
	STAT("import", "unknown_records", -1, -1, im->unknown_records, -1);
	STAT("import", "events_of_unknown_type", -1, -1, im->unknown_type_events, -1);
	STAT("import", "ksyms", -1, -1, im->ksyms, -1);
	STAT("import", "embedded_symbols", -1, -1, im->symtab_syms, -1);
	if (im->have_end) {
		STAT("end", "events", -1, -1, im->end.events, (int64_t)im->end.ts_ns);
		STAT("end", "lost", -1, -1, im->end.lost, (int64_t)im->end.ts_ns);
		STAT("end", "status", -1, -1, im->end.status, (int64_t)im->end.ts_ns);
	}
#undef STAT
	im->st->bad_chunks = rs.bad_chunks;
	im->st->bytes_skipped = rs.bytes_skipped;
	im->st->records = rs.records;
out:
	sqlite3_finalize(st);
	return ret;
}

/* Finalizes the statements and closes the database (which SQLite refuses
 * while a statement is left). */
static void close_db(struct importer *im)
{
	sqlite3_stmt **sts[] = {&im->ins_event, &im->ins_event_batch, &im->ins_payload,
				&im->ins_stack, &im->ins_proc,	      &im->ins_mmap,
				&im->ins_frame};
	size_t i;

	for (i = 0; i < sizeof(sts) / sizeof(sts[0]); i++) {
		sqlite3_finalize(*sts[i]);
		*sts[i] = NULL;
	}
	for (i = 0; i < im->ntypes; i++) {
		sqlite3_finalize(im->types[i].ins);
		im->types[i].ins = NULL;
	}
	if (im->db)
		sqlite3_close(im->db);
	im->db = NULL;
}

static void importer_release(struct importer *im)
{
	size_t i, j;

	rq_stop(&im->rq);
	stream_stop(im); /* frees the queues; their results go to the slots */
	for (i = 0; i < im->nustacks; i++)
		free(im->ustacks[i].ips);
	free(im->ustacks);
	for (i = 0; i < im->npmaps; i++)
		free(im->pmaps[i].m);
	free(im->pmaps);
	free(im->refs);
	ana_hm__release(&im->pair_seen);
	ana_hm__release(&im->ustack_idx);
	ana_hm__release(&im->pid_idx);

	close_db(im);
	free(im->aggs);
	for (i = 0; i < im->ntypes; i++) {
		ana_hm__release(&im->types[i].agg);
		ana_tpformat__release(&im->types[i].fmt);
	}
	free(im->types);
	free(im->loss);
	ana_hm__release(&im->losses);
	ana_hm__release(&im->ustack_pids);
	ana_bt__free(im->bt);
	ana_hm__release(&im->slot_map);
	for (i = 0; i < im->nsymtabs; i++) {
		for (j = 0; j < im->symtabs[i].n; j++)
			free(im->symtabs[i].names[j]);
		free(im->symtabs[i].names);
		free(im->symtabs[i].addrs);
		free(im->symtabs[i].sizes);
		free(im->symtabs[i].path);
	}
	free(im->symtabs);
	for (i = 0; i < im->nmodules; i++) {
		free(im->modules[i].path);
		free(im->modules[i].offsets);
		free(im->modules[i].slot_idx);
	}
	free(im->modules);
	for (i = 0; i < im->nslots; i++)
		sym_result_release(&im->slots[i].res);
	free(im->slots);
	sym_resolver__free(im->res);
	for (i = 0; i < IMP_WORKERS; i++)
		sym_resolver__free(im->extra_res[i]);
	sym_kernel__free(im->kernel);
	tape_reader__close(im->r);
}

int ana_import(const char *trace, const char *db_path, const struct ana_import_opts *opts,
	       struct ana_import_stats *st, char *err, size_t err_size)
{
	static const struct ana_import_opts no_opts;
	struct ana_import_stats dummy;
	struct importer im;
	struct ana_trace_id id;
	struct timespec t0, t1;
	char tmp[4096], buf[64];
	int ret;

	memset(&im, 0, sizeof(im));
	if (!st)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	im.opts = opts ? opts : &no_opts;
	im.st = st;
	im.err = err;
	im.err_size = err_size;
	clock_gettime(CLOCK_MONOTONIC, &t0);

	if ((ret = ana_trace_id(trace, &id))) {
		snprintf(err, err_size, "cannot open trace '%s': %s", trace, strerror(-ret));
		return ret;
	}
	ret = tape_reader__open(&im.r, trace, err, err_size);
	if (ret)
		return ret;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%d", db_path, (int)getpid()) >=
	    sizeof(tmp)) {
		snprintf(err, err_size, "database path too long");
		ret = -ENAMETOOLONG;
		goto out;
	}
	unlink(tmp);
	if (sqlite3_open_v2(tmp, &im.db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		snprintf(err, err_size, "cannot create database '%s': %s", tmp,
			 im.db ? sqlite3_errmsg(im.db) : "out of memory");
		ret = -EIO;
		goto out;
	}
	/* A small page cache: the load only appends, so written pages are not
	 * read again, and a cache that holds the whole database costs a page
	 * fault per new page (4 MiB: folded with import 10-15% faster than with
	 * 64 MiB on a 500k-sample profile). */
	if ((ret = exec_sql(
		 &im, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
		      "PRAGMA page_size=65536; PRAGMA cache_size=-4096; PRAGMA temp_store=MEMORY;"
		      "PRAGMA locking_mode=EXCLUSIVE; BEGIN;")) ||
	    (ret = exec_sql(&im, schema_sql)))
		goto out;
	{
		char *batch = sqlite3_mprintf("INSERT INTO events VALUES(?,?,?,?,?,?,?,?,?)");
		int k;

		for (k = 1; k < EV_BATCH && batch; k++) {
			char *n = sqlite3_mprintf("%s,(?,?,?,?,?,?,?,?,?)", batch);

			sqlite3_free(batch);
			batch = n;
		}
		if (!batch) {
			ret = -ENOMEM;
			goto out;
		}
		ret = prepare(&im, batch, &im.ins_event_batch);
		sqlite3_free(batch);
		if (ret)
			goto out;
	}
	im.next_id = 1;
	if ((ret = events_direct_start(&im, tmp)))
		goto out;
	stream_start(&im);
	if ((ret = prepare(&im, "INSERT INTO events VALUES(?,?,?,?,?,?,?,?,?)", &im.ins_event)) ||
	    (ret = prepare(&im, "INSERT INTO payloads VALUES(?,?)", &im.ins_payload)) ||
	    (ret = prepare(&im, "INSERT INTO stacks VALUES(?,?,?,?,?)", &im.ins_stack)) ||
	    (ret =
		 prepare(&im, "INSERT INTO proc_events VALUES(?,?,?,?,?,?,?,?,?)", &im.ins_proc)) ||
	    (ret = prepare(&im,
			   "INSERT INTO mappings(ts, pid, start, end, pgoff, path, build_id,"
			   " prot, flags, dev, inode) VALUES(?,?,?,?,?,?,?,?,?,?,?)",
			   &im.ins_mmap)) ||
	    (ret =
		 prepare(&im, "INSERT OR IGNORE INTO frames VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
			 &im.ins_frame)))
		goto out;

	if ((ret = load_all(&im)))
		goto out;
	rq_stop(&im.rq);
	if ((ret = flush_events(&im)))
		goto out;
	phase("load", &t0);
	if ((ret = symbolize(&im)))
		goto out;
	phase("symbolize", &t0);
	if ((ret = write_stats(&im)) || (ret = write_aggregates(&im)) ||
	    (ret = exec_sql(&im, post_sql)))
		goto out;
	phase("post", &t0);
	set_meta(&im, "schema_version", NULL, ANA_SCHEMA_VERSION);
	set_meta(&im, "trace_path", trace, 0);
	set_meta(&im, "trace_size", NULL, id.size);
	set_meta(&im, "trace_mtime_ns", NULL, id.mtime_ns);
	set_meta(&im, "trace_hash", id.hash, 0);
	set_meta(&im, "first_ts", NULL, (int64_t)im.first_ts);
	set_meta(&im, "last_ts", NULL, (int64_t)im.last_ts);
	set_meta(&im, "start_ns", NULL, (int64_t)(st->events ? im.first_ts : im.host_start_ns));
	set_meta(&im, "first_error", im.first_error, 0);
	snprintf(buf, sizeof(buf), "%s", BPFTAPE_VERSION);
	set_meta(&im, "importer_version", buf, 0);
	if ((ret = set_meta(&im, "complete", NULL, 1)))
		goto out;
	if ((ret = exec_sql(&im, "COMMIT; PRAGMA journal_mode=DELETE;")))
		goto out;
	if (im.bt) {
		/* SQLite is done with the file: the events pages go in */
		close_db(&im);
		if ((ret = ana_bt__finish(im.bt, tmp, im.events_root))) {
			snprintf(err, err_size, "%s", ana_bt__errmsg(im.bt));
			goto out;
		}
		if ((ret = frames_direct(&im, tmp)))
			goto out;
		if ((ret = sqlite3_open_v2(tmp, &im.db, SQLITE_OPEN_READONLY, NULL)) != SQLITE_OK) {
			snprintf(err, err_size, "cannot open database '%s': %s", tmp,
				 im.db ? sqlite3_errmsg(im.db) : "out of memory");
			ret = -EIO;
			goto out;
		}
		if ((ret = check_event_ids(&im, im.db)))
			goto out;
	}
	phase("commit", &t0);
	importer_release(&im);
	memset(&im, 0, sizeof(im));
	if (rename(tmp, db_path)) {
		ret = -errno;
		snprintf(err, err_size, "cannot rename '%s' to '%s': %s", tmp, db_path,
			 strerror(errno));
		unlink(tmp);
		return ret;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	st->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	return 0;
out:
	importer_release(&im);
	unlink(tmp);
	return ret ? ret : -EIO;
}
