/* SPDX-License-Identifier: MIT */
/*
 * The trace database next to a trace: where it lives, whether it is still a
 * faithful import of the trace (size, mtime and a hash of the file's ends
 * are stored in meta and compared), and opening it read-only, importing
 * first when needed.
 */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analyzer_int.h"

#define ID_SPAN (64 * 1024)

static uint64_t fnv1a(uint64_t h, const unsigned char *p, size_t n)
{
	while (n--) {
		h ^= *p++;
		h *= 0x100000001b3ull;
	}
	return h;
}

int ana_trace_id(const char *trace, struct ana_trace_id *id)
{
	unsigned char *buf;
	struct stat sb;
	uint64_t h = 0xcbf29ce484222325ull;
	ssize_t n;
	int fd, ret = 0;

	fd = open(trace, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb)) {
		ret = -errno;
		close(fd);
		return ret;
	}
	if (!S_ISREG(sb.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	buf = malloc(ID_SPAN);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	n = pread(fd, buf, ID_SPAN, 0);
	if (n > 0)
		h = fnv1a(h, buf, (size_t)n);
	if (sb.st_size > ID_SPAN) {
		n = pread(fd, buf, ID_SPAN, sb.st_size - ID_SPAN);
		if (n > 0)
			h = fnv1a(h, buf, (size_t)n);
	}
	free(buf);
	close(fd);
	id->size = sb.st_size;
	id->mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
	snprintf(id->hash, sizeof(id->hash), "%016llx", (unsigned long long)h);
	return 0;
}

int ana_default_db_path(const char *trace, char *out, size_t out_size)
{
	char *copy = strdup(trace), *dir;
	const char *cache;
	char cdir[4096];
	struct ana_trace_id id;
	char *abs;
	uint64_t h;

	if (!copy)
		return -ENOMEM;
	dir = dirname(copy);
	if (access(dir, W_OK) == 0) {
		free(copy);
		if ((size_t)snprintf(out, out_size, "%s.db", trace) >= out_size)
			return -ENAMETOOLONG;
		return 0;
	}
	free(copy);
	/* not writable: a per-user cache, keyed by the absolute path */
	cache = getenv("XDG_CACHE_HOME");
	if (cache && *cache)
		snprintf(cdir, sizeof(cdir), "%s/bpftape", cache);
	else
		snprintf(cdir, sizeof(cdir), "%s/.cache/bpftape",
			 getenv("HOME") ? getenv("HOME") : "/tmp");
	{
		char parent[4096];

		snprintf(parent, sizeof(parent), "%s", cdir);
		mkdir(dirname(parent), 0700);
	}
	mkdir(cdir, 0700);
	abs = realpath(trace, NULL);
	h = fnv1a(0xcbf29ce484222325ull, (const unsigned char *)(abs ? abs : trace),
		  strlen(abs ? abs : trace));
	free(abs);
	(void)id;
	if ((size_t)snprintf(out, out_size, "%s/%016llx.db", cdir, (unsigned long long)h) >=
	    out_size)
		return -ENAMETOOLONG;
	return 0;
}

int ana_db_is_fresh(const char *trace, const char *db_path)
{
	struct ana_trace_id id;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int fresh = 0, seen = 0;

	if (access(db_path, R_OK) || ana_trace_id(trace, &id))
		return 0;
	if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK)
		goto out;
	if (sqlite3_prepare_v2(db,
			       "SELECT key, value FROM meta WHERE key IN ('schema_version',"
			       " 'trace_size', 'trace_mtime_ns', 'trace_hash', 'complete')",
			       -1, &st, NULL) != SQLITE_OK)
		goto out;
	fresh = 1;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(st, 0);

		seen++;
		if (!strcmp(k, "schema_version"))
			fresh &= sqlite3_column_int64(st, 1) == ANA_SCHEMA_VERSION;
		else if (!strcmp(k, "trace_size"))
			fresh &= sqlite3_column_int64(st, 1) == id.size;
		else if (!strcmp(k, "trace_mtime_ns"))
			fresh &= sqlite3_column_int64(st, 1) == id.mtime_ns;
		else if (!strcmp(k, "trace_hash"))
			fresh &= sqlite3_column_text(st, 1) &&
				 !strcmp((const char *)sqlite3_column_text(st, 1), id.hash);
		else if (!strcmp(k, "complete"))
			fresh &= sqlite3_column_int64(st, 1) == 1;
	}
	if (seen != 5)
		fresh = 0;
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return fresh;
}

/* Results from a damaged trace lack what the damage took: say so on every
 * use of its database, never silently. */
static void warn_if_damaged(sqlite3 *db, const char *trace)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(db,
			       "SELECT (SELECT value FROM stats WHERE source = 'reader' AND"
			       " name = 'bad_chunks'), (SELECT value FROM stats WHERE"
			       " source = 'reader' AND name = 'bytes_skipped')",
			       -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) > 0)
		fprintf(stderr,
			"bpftape: warning: '%s' is damaged: %lld bad chunks, %lld bytes skipped; "
			"using what is intact ('bpftape info --check' tells more)\n",
			trace, (long long)sqlite3_column_int64(st, 0),
			(long long)sqlite3_column_int64(st, 1));
	sqlite3_finalize(st);
}

sqlite3 *ana_db_open(const char *trace, const struct ana_db_opts *opts)
{
	struct ana_db_opts none = {0};
	char path[4096], err[1024];
	sqlite3 *db = NULL;

	if (!opts)
		opts = &none;
	if (access(trace, R_OK)) {
		ana_err("cannot open trace '%s': %s", trace, strerror(errno));
		return NULL;
	}
	if (opts->db_path)
		snprintf(path, sizeof(path), "%s", opts->db_path);
	else if (ana_default_db_path(trace, path, sizeof(path))) {
		ana_err("cannot find a place for the database of '%s'", trace);
		return NULL;
	}
	if (opts->reimport || !ana_db_is_fresh(trace, path)) {
		struct ana_import_opts io = {.quiet = opts->quiet, .no_symbols = opts->no_symbols};
		struct ana_import_stats st;

		if (!opts->quiet && isatty(2))
			fprintf(stderr, "bpftape: importing '%s' into '%s'...\n", trace, path);
		if (ana_import(trace, path, &io, &st, err, sizeof(err))) {
			ana_err("%s", err);
			return NULL;
		}
	}
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		ana_err("cannot open database '%s': %s", path,
			db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return NULL;
	}
	/* large pages (64 KiB, see import.c): read them through mmap and keep
	 * the stack and frame pages of a run in the cache */
	/* one read transaction for the whole run: no lock round trip per query */
	sqlite3_exec(db, "PRAGMA mmap_size=1073741824; PRAGMA cache_size=-65536; BEGIN;", NULL,
		     NULL, NULL);
	warn_if_damaged(db, trace);
	return db;
}
