/* SPDX-License-Identifier: MIT */
/*
 * bpftape info: what a trace holds, read straight from the file with the
 * reader (no database): host, time range, events per type, stacks,
 * processes, mappings, sizes and losses.  --check verifies every chunk and
 * says how much of a damaged file is intact.  When a fresh database exists
 * next to the trace, symbolization coverage is added from it.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tape/format.h>
#include <tape/reader.h>

#include "analyzer_int.h"
#include "commands.h"
#include "hashmap.h"

static void usage(FILE *out)
{
	fprintf(out, "usage: bpftape info [--check] [--db PATH] TRACE\n\n"
		     "Prints the host, time range, events per type, stacks, processes, mappings,\n"
		     "compressed and uncompressed sizes and losses of TRACE, read directly from\n"
		     "the file.\n\n"
		     "  -c, --check     verify every chunk; exit 1 naming the first bad one and\n"
		     "                  report how much of a damaged or truncated file is intact\n"
		     "      --db PATH   database to read symbolization coverage from\n"
		     "                  (default TRACE.db, used only when it is up to date)\n"
		     "  -h, --help      this help\n\n"
		     "Examples:\n"
		     "  bpftape info trace.tape\n"
		     "  bpftape info --check trace.tape || echo damaged\n");
}

struct type_count {
	char name[128];
	uint32_t source;
	uint64_t events;
	int known;
};

static void fmt_size(char *buf, size_t n, uint64_t bytes)
{
	if (bytes >= (1ull << 30))
		snprintf(buf, n, "%.1f GiB", (double)bytes / (1 << 30));
	else if (bytes >= (1ull << 20))
		snprintf(buf, n, "%.1f MiB", (double)bytes / (1 << 20));
	else if (bytes >= 1024)
		snprintf(buf, n, "%.1f KiB", (double)bytes / 1024);
	else
		snprintf(buf, n, "%" PRIu64 " B", bytes);
}

static void fmt_wall(char *buf, size_t n, const struct tape_host *h, uint64_t mono_ns)
{
	int64_t wall =
	    (int64_t)h->clock_realtime_ns + ((int64_t)mono_ns - (int64_t)h->clock_mono_ns);
	time_t sec = (time_t)(wall / 1000000000);
	struct tm tm;
	char tbuf[40];

	localtime_r(&sec, &tm);
	strftime(tbuf, sizeof(tbuf), "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(buf, n, "%s.%03d %s", tbuf, (int)((wall % 1000000000) / 1000000), tm.tm_zone);
}

static int check(const char *path)
{
	struct tape_reader *r = NULL;
	struct tape_reader_stats st;
	struct tape_record rec;
	char err[512], first[512] = "";
	int rc;

	if (tape_reader__open(&r, path, err, sizeof(err))) {
		ana_err("%s", err);
		return 1;
	}
	for (;;) {
		rc = tape_reader__next(r, &rec);
		if (rc == 0)
			break;
		if (rc < 0) {
			if (!first[0])
				snprintf(first, sizeof(first), "%s", tape_reader__errmsg(r));
			if (tape_reader__resync(r) != 1)
				break;
		}
	}
	tape_reader__stats(r, &st);
	tape_reader__close(r);
	if (first[0]) {
		ana_err("%s", first);
		printf("damaged: %" PRIu64 " records in %" PRIu64 " intact chunks recovered "
		       "(%" PRIu64 " bytes uncompressed); %" PRIu64 " bad chunks, %" PRIu64
		       " bytes skipped\n",
		       st.records, st.chunks, st.bytes_uncompressed, st.bad_chunks,
		       st.bytes_skipped);
		return 1;
	}
	printf("ok: %" PRIu64 " chunks, %" PRIu64 " records, all checksums match\n", st.chunks,
	       st.records);
	return 0;
}

/* Adds symbolization coverage from a fresh database. */
static void coverage(const char *trace, const char *db_opt)
{
	char path[4096];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	if (db_opt)
		snprintf(path, sizeof(path), "%s", db_opt);
	else if (ana_default_db_path(trace, path, sizeof(path)))
		return;
	if (!ana_db_is_fresh(trace, path)) {
		printf("symbolized:   (not imported yet: run 'bpftape import')\n");
		return;
	}
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK)
		goto out;
	if (sqlite3_prepare_v2(db,
			       "SELECT kernel, COUNT(*), SUM(func IS NOT NULL) FROM frames"
			       " WHERE inline_depth = 0 GROUP BY kernel ORDER BY kernel DESC",
			       -1, &st, NULL) != SQLITE_OK)
		goto out;
	printf("symbolized:  ");
	{
		int any = 0;

		while (sqlite3_step(st) == SQLITE_ROW) {
			int64_t n = sqlite3_column_int64(st, 1), ok = sqlite3_column_int64(st, 2);

			printf("%s %s frames %.1f%% (%" PRId64 "/%" PRId64 ")", any ? "," : "",
			       sqlite3_column_int64(st, 0) ? "kernel" : "user",
			       n ? 100.0 * (double)ok / (double)n : 0.0, ok, n);
			any = 1;
		}
		printf("%s\n", any ? "" : " no stack frames");
	}
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
}

int cmd_info(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"check", no_argument, NULL, 'c'},
	    {"db", required_argument, NULL, 'D'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct tape_reader *r = NULL;
	struct tape_record rec;
	struct tape_file_info fi;
	struct tape_reader_stats rs;
	struct tape_host host;
	struct type_count *types = NULL;
	size_t ntypes = 0, i;
	struct ana_hm pids = {0}, tids = {0}, losses = {0};
	struct {
		uint64_t count;
		uint32_t type_id, cpu, kind;
	} *loss = NULL;
	size_t nloss = 0;
	uint64_t events = 0, unknown_type = 0, first_ts = 0, last_ts = 0;
	uint64_t stacks = 0, kstacks = 0, trunc = 0, frames = 0, mmaps = 0, ksyms = 0, symtabs = 0;
	uint64_t forks = 0, execs = 0, exits = 0, scans = 0, bad_records = 0, unknown = 0;
	struct tape_end end;
	int have_host = 0, have_end = 0, do_check = 0, c, rc, ret = 1;
	const char *db_opt = NULL;
	char err[512], first_err[512] = "", b1[128], b2[128];

	optind = 1;
	while ((c = getopt_long(argc, argv, "chD:", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			do_check = 1;
			break;
		case 'D':
			db_opt = optarg;
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
	if (do_check)
		return check(argv[optind]);
	if (tape_reader__open(&r, argv[optind], err, sizeof(err))) {
		ana_err("%s", err);
		return 1;
	}
	memset(&host, 0, sizeof(host));
	for (;;) {
		rc = tape_reader__next(r, &rec);
		if (rc == 0)
			break;
		if (rc < 0) {
			if (!first_err[0])
				snprintf(first_err, sizeof(first_err), "%s",
					 tape_reader__errmsg(r));
			if (tape_reader__resync(r) != 1)
				break;
			continue;
		}
		switch (rec.type) {
		case TAPE_REC_HOST: {
			struct tape_host h;

			if (tape_record__host(&rec, &h)) {
				bad_records++;
				break;
			}
			if (!have_host) {
				/* strings point into the chunk: keep copies */
				static char sv[8][512];
				struct tape_str *f[] = {&h.hostname, &h.sysname, &h.release,
							&h.version,  &h.machine, &h.recorder,
							&h.cmdline};

				for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
					snprintf(sv[i], sizeof(sv[i]), "%.*s", (int)f[i]->len,
						 f[i]->ptr ? f[i]->ptr : "");
					*f[i] = tape_str_c(sv[i]);
				}
				host = h;
				have_host = 1;
			}
			break;
		}
		case TAPE_REC_EVENT_DESC: {
			struct tape_event_desc d;

			if (tape_record__event_desc(&rec, &d) || d.type_id > 1000000) {
				bad_records++;
				break;
			}
			if (d.type_id >= ntypes) {
				struct type_count *n = realloc(types, (d.type_id + 1) * sizeof(*n));

				if (!n)
					goto oom;
				memset(n + ntypes, 0, (d.type_id + 1 - ntypes) * sizeof(*n));
				types = n;
				ntypes = d.type_id + 1;
			}
			if (!types[d.type_id].known) {
				types[d.type_id].known = 1;
				types[d.type_id].source = d.source;
				snprintf(types[d.type_id].name, sizeof(types[0].name), "%.*s",
					 (int)d.name.len, d.name.ptr ? d.name.ptr : "");
			}
			break;
		}
		case TAPE_REC_EVENT: {
			struct tape_event ev;

			if (tape_record__event(&rec, &ev)) {
				bad_records++;
				break;
			}
			if (ev.type_id < ntypes && types[ev.type_id].known)
				types[ev.type_id].events++;
			else
				unknown_type++;
			if (!events || ev.ts_ns < first_ts)
				first_ts = ev.ts_ns;
			if (ev.ts_ns > last_ts)
				last_ts = ev.ts_ns;
			events++;
			break;
		}
		case TAPE_REC_STACK: {
			struct tape_stack s;

			if (tape_record__stack(&rec, &s)) {
				bad_records++;
				break;
			}
			stacks++;
			frames += s.nframes;
			kstacks += !!(s.flags & TAPE_STACK_F_KERNEL);
			trunc += !!(s.flags & TAPE_STACK_F_TRUNCATED);
			break;
		}
		case TAPE_REC_PROC: {
			struct tape_proc p;
			int created;

			if (tape_record__proc(&rec, &p)) {
				bad_records++;
				break;
			}
			forks += p.kind == TAPE_PROC_FORK;
			execs += p.kind == TAPE_PROC_EXEC;
			exits += p.kind == TAPE_PROC_EXIT;
			scans += p.kind == TAPE_PROC_SCAN;
			if (!ana_hm__upsert(&pids, p.pid, 0, &created) ||
			    !ana_hm__upsert(&tids, p.tid, 0, &created))
				goto oom;
			break;
		}
		case TAPE_REC_MMAP:
			mmaps++;
			break;
		case TAPE_REC_KSYMS: {
			struct tape_sym_iter it;
			struct tape_ksym k;

			if (tape_record__ksyms(&rec, &it) == 0)
				while (tape_ksyms__next(&it, &k) == 1)
					ksyms++;
			break;
		}
		case TAPE_REC_SYMTAB:
			symtabs++;
			break;
		case TAPE_REC_LOSS: {
			struct tape_loss l;
			struct ana_hm_slot *s;
			int created;

			if (tape_record__loss(&rec, &l)) {
				bad_records++;
				break;
			}
			s = ana_hm__upsert(&losses, (uint64_t)l.type_id << 32 | l.cpu, l.kind,
					   &created);
			if (!s)
				goto oom;
			if (created) {
				void *n = realloc(loss, (nloss + 1) * sizeof(*loss));

				if (!n)
					goto oom;
				loss = n;
				s->val = nloss++;
			}
			loss[s->val].count = l.count; /* cumulative: the last one is the total */
			loss[s->val].type_id = l.type_id;
			loss[s->val].cpu = l.cpu;
			loss[s->val].kind = l.kind;
			break;
		}
		case TAPE_REC_END:
			if (tape_record__end(&rec, &end) == 0)
				have_end = 1;
			break;
		default:
			unknown++;
		}
	}
	tape_reader__file_info(r, &fi);
	tape_reader__stats(r, &rs);

	printf("trace:        %s (format %u.%u%s)\n", argv[optind], fi.major, fi.minor,
	       fi.has_footer ? "" : ", no footer");
	if (have_host) {
		printf("host:         %s, %s %s %s, %u CPUs, page size %u\n", host.hostname.ptr,
		       host.sysname.ptr, host.release.ptr, host.machine.ptr, host.ncpus,
		       host.page_size);
		printf("recorder:     %s: %s\n", host.recorder.ptr, host.cmdline.ptr);
	} else {
		printf("host:         (no HOST record)\n");
	}
	if (events) {
		printf("time range:   %" PRIu64 ".%09" PRIu64 " .. %" PRIu64 ".%09" PRIu64
		       " (%.3f s, CLOCK_MONOTONIC)\n",
		       first_ts / 1000000000, first_ts % 1000000000, last_ts / 1000000000,
		       last_ts % 1000000000, (double)(last_ts - first_ts) / 1e9);
		if (have_host) {
			fmt_wall(b1, sizeof(b1), &host, first_ts);
			fmt_wall(b2, sizeof(b2), &host, last_ts);
			printf("wall clock:   %s .. %s\n", b1, b2);
		}
	}
	printf("events:       %" PRIu64 "\n", events);
	for (i = 0; i < ntypes; i++) {
		if (types[i].known)
			printf("  %-40s %12" PRIu64 "  (%s, type %zu)\n", types[i].name,
			       types[i].events, tape_source__name(types[i].source), i);
	}
	if (unknown_type)
		printf("  %-40s %12" PRIu64 "\n", "(undescribed type)", unknown_type);
	printf("stacks:       %" PRIu64 " (%" PRIu64 " kernel, %" PRIu64 " user, %" PRIu64
	       " truncated), %" PRIu64 " frames\n",
	       stacks, kstacks, stacks - kstacks, trunc, frames);
	printf("processes:    %zu (%" PRIu64 " scanned, %" PRIu64 " forks, %" PRIu64
	       " execs, %" PRIu64 " exits), %zu threads\n",
	       pids.len, scans, forks, execs, exits, tids.len);
	printf("mappings:     %" PRIu64 "\n", mmaps);
	printf("symbols:      %" PRIu64 " kernel symbols, %" PRIu64 " embedded symbol records\n",
	       ksyms, symtabs);
	fmt_size(b1, sizeof(b1), rs.bytes_compressed);
	fmt_size(b2, sizeof(b2), rs.bytes_uncompressed);
	printf("size:         %" PRIu64 " bytes on disk; %s compressed, %s uncompressed "
	       "(ratio %.2f), %" PRIu64 " chunks, %" PRIu64 " records\n",
	       fi.file_size, b1, b2,
	       rs.bytes_compressed ? (double)rs.bytes_uncompressed / (double)rs.bytes_compressed
				   : 0.0,
	       rs.chunks, rs.records);
	if (!nloss) {
		printf("losses:       none\n");
	} else {
		uint64_t total = 0;

		for (i = 0; i < nloss; i++)
			total += loss[i].count;
		printf("losses:       %" PRIu64 "\n", total);
		for (i = 0; i < nloss; i++) {
			char t[32] = "any", cpu[32] = "any";

			if (!loss[i].count)
				continue;
			if (loss[i].type_id != TAPE_LOSS_ANY)
				snprintf(t, sizeof(t), "%u", loss[i].type_id);
			if (loss[i].cpu != TAPE_LOSS_ANY)
				snprintf(cpu, sizeof(cpu), "%u", loss[i].cpu);
			printf("  %-16s %12" PRIu64 "  (type %s, cpu %s)\n",
			       tape_loss_kind__name(loss[i].kind), loss[i].count, t, cpu);
		}
	}
	if (have_end)
		printf("end:          clean stop (status %d, %" PRIu64 " events, %" PRIu64
		       " lost)\n",
		       end.status, end.events, end.lost);
	else
		printf("end:          no END record (the recorder did not stop cleanly)\n");
	if (first_err[0] || rs.bad_chunks || bad_records)
		printf("damage:       %" PRIu64 " bad chunks, %" PRIu64 " bytes skipped, %" PRIu64
		       " bad records%s%s\n",
		       rs.bad_chunks, rs.bytes_skipped, bad_records,
		       first_err[0] ? "; first: " : "", first_err);
	if (unknown)
		printf("unknown:      %" PRIu64 " records of unknown types skipped\n", unknown);
	coverage(argv[optind], db_opt);
	ret = 0;
	goto out;
oom:
	ana_err("out of memory");
out:
	ana_hm__release(&pids);
	ana_hm__release(&tids);
	ana_hm__release(&losses);
	free(loss);
	free(types);
	tape_reader__close(r);
	return ret;
}
