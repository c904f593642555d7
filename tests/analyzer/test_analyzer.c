/* SPDX-License-Identifier: MIT */
/*
 * The bpftape command on the example trace (samples/traces/example_trace.c,
 * written here with the format writer): golden outputs, every subcommand's
 * --help, histogram buckets and percentiles against values computed here,
 * SQL counts against info and the records in the file, database reuse, bad
 * input, damaged traces; plus unit tests of the bcc-compatible histogram
 * printer and the tracefs format parser.
 *
 * BPFTAPE_UPDATE_GOLDEN=1 rewrites tests/analyzer/golden/ from the current
 * output (review the diff before committing).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <tape/reader.h>
#include <tape/writer.h>

#include "analyzer_int.h"
#include "example_trace.h"

static char tmpdir[4096];
static char trace[4200];
static const char *bin_dir, *src_dir;

struct run {
	int status; /* exit code, or -1 */
	char *out;  /* stdout */
	char *err;  /* stderr */
};

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Runs "bpftape ARGS" in tmpdir with TZ=UTC; ARGS is a shell fragment. */
static struct run vbt(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
static struct run vbt(const char *fmt, va_list ap)
{
	char args[8192], cmd[32768], outp[4400], errp[4400];
	struct run r;
	int st;

	vsnprintf(args, sizeof(args), fmt, ap);
	snprintf(outp, sizeof(outp), "%s/out.txt", tmpdir);
	snprintf(errp, sizeof(errp), "%s/err.txt", tmpdir);
	snprintf(cmd, sizeof(cmd), "cd '%s' && TZ=UTC '%s/bpftape' %s >'%s' 2>'%s'", tmpdir,
		 bin_dir, args, outp, errp);
	st = system(cmd);
	r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	r.out = slurp(outp);
	r.err = slurp(errp);
	assert_non_null(r.out);
	assert_non_null(r.err);
	return r;
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

static struct run bt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static struct run bt(const char *fmt, ...)
{
	struct run r;
	va_list ap;

	va_start(ap, fmt);
	r = vbt(fmt, ap);
	va_end(ap);
	return r;
}

/* Runs "bpftape ARGS" and expects exit STATUS with NEEDLE in stderr. */
static void bt_fails(int status, const char *needle, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void bt_fails(int status, const char *needle, const char *fmt, ...)
{
	struct run r;
	va_list ap;

	va_start(ap, fmt);
	r = vbt(fmt, ap);
	va_end(ap);
	assert_int_equal(r.status, status);
	assert_non_null(strstr(r.err, needle));
	run_free(&r);
}

static void write_trace(const char *path)
{
	char err[512];

	if (example_trace_write(path, err, sizeof(err)))
		fail_msg("example trace: %s", err);
}

static int setup(void **state)
{
	const char *base = getenv("BPFTAPE_BUILD_DIR");

	bin_dir = getenv("BPFTAPE_BIN_DIR");
	src_dir = getenv("BPFTAPE_SOURCE_DIR");
	if (!bin_dir || !src_dir) {
		fprintf(stderr,
			"BPFTAPE_BIN_DIR and BPFTAPE_SOURCE_DIR must be set (run via ctest)\n");
		return -1;
	}
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_analyzer.XXXXXX", base ? base : "/tmp");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(trace, sizeof(trace), "%s/example.tape", tmpdir);
	write_trace(trace);
	(void)state;
	return 0;
}

static int teardown(void **state)
{
	char cmd[8192];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	(void)state;
	return system(cmd) == 0 ? 0 : -1;
}

/* Drops lines starting with PREFIX (values that depend on the zstd build). */
static void drop_lines(char *s, const char *prefix)
{
	char *p = s, *w = s;

	while (*p) {
		char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p + 1) : strlen(p);

		if (strncmp(p, prefix, strlen(prefix))) {
			memmove(w, p, n);
			w += n;
		}
		p += n;
	}
	*w = '\0';
}

static void check_golden(const char *name, const char *actual)
{
	char path[4400];
	char *expect;

	snprintf(path, sizeof(path), "%s/tests/analyzer/golden/%s", src_dir, name);
	if (getenv("BPFTAPE_UPDATE_GOLDEN")) {
		FILE *f = fopen(path, "w");

		assert_non_null(f);
		fputs(actual, f);
		fclose(f);
		return;
	}
	expect = slurp(path);
	if (!expect)
		fail_msg("missing golden file %s", path);
	if (strcmp(expect, actual)) {
		fprintf(stderr, "--- expected %s\n%s--- actual\n%s", name, expect, actual);
		free(expect);
		fail_msg("output differs from %s", path);
	}
	free(expect);
}

static void golden(const char *name, const char *args)
{
	struct run r = bt("%s", args);

	if (r.status != 0)
		fail_msg("bpftape %s: exit %d: %s", args, r.status, r.err);
	drop_lines(r.out, "size:");
	check_golden(name, r.out);
	run_free(&r);
}

static void test_cli__every_command_has_help(void **state)
{
	static const char *const cmds[] = {"info",   "import",	   "sql",	"events", "hist",
					   "folded", "flamegraph", "symbolize", "export", "record"};
	struct run r;
	size_t i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		r = bt("%s --help", cmds[i]);
		if (r.status != 0 || !strstr(r.out, "usage"))
			fail_msg("bpftape %s --help: exit %d, stdout '%s'", cmds[i], r.status,
				 r.out);
		run_free(&r);
	}
	r = bt("--help");
	assert_int_equal(r.status, 0);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		assert_non_null(strstr(r.out, cmds[i]));
	run_free(&r);
	bt_fails(2, "'frobnicate' is not a bpftape command", "frobnicate");
	r = bt("folded --no-such-option example.tape");
	assert_int_equal(r.status, 2);
	run_free(&r);
	(void)state;
}

static void test_golden__example_outputs(void **state)
{
	golden("info.txt", "info example.tape");
	golden("folded.txt", "folded example.tape");
	golden("folded_kernel_suffix_pid.txt", "folded -k --pid-in-comm example.tape");
	golden("folded_comm_filter.txt", "folded --comm demo-worker example.tape");
	golden("events.txt", "events example.tape");
	golden("events_stacks.txt",
	       "events --stacks --event profile --since 300ms -n 2 example.tape");
	golden("events_procs.txt", "events --procs example.tape");
	golden("events_relative_filter.txt",
	       "events -r --event 'syscalls:*' --pid 200 --until 500ms example.tape");
	golden("hist_latency.txt",
	       "hist --latency syscalls:sys_enter_read,syscalls:sys_exit_read example.tape");
	golden("hist_latency_by_comm.txt",
	       "hist --latency syscalls:sys_enter_read,syscalls:sys_exit_read --by comm -u ns"
	       " example.tape");
	golden("hist_field.txt",
	       "hist --event block:block_rq_complete --field nr_sector example.tape");
	golden("hist_linear.txt", "hist --linear 50 --range 0,300 --event block:block_rq_complete"
				  " --field nr_sector example.tape");
	golden("flamegraph.svg", "flamegraph example.tape");
	golden("export.csv", "export --until 12ms example.tape");
	golden("export_chrome.json", "export --format chrome --event 'sched:*' example.tape");
	golden("sql_text.txt", "sql example.tape \"SELECT pid, ppid, comm, filename, exit_code,"
			       " exit_signal FROM processes ORDER BY pid\"");
	golden("sql_csv.txt",
	       "sql --csv example.tape \"SELECT * FROM stats WHERE source != 'reader'"
	       " ORDER BY source, name, type_id\"");
	golden("sql_json.txt",
	       "sql --json example.tape \"SELECT stack_id, pid, depth, func, module,"
	       " offset, reason FROM frames ORDER BY stack_id, pid, depth\"");
	(void)state;
}

/* Parses "     A -> B : N |...|" lines into slots by the low bound. */
static void parse_log2(const char *out, uint64_t *slots, size_t n)
{
	const char *p = out;

	memset(slots, 0, n * sizeof(*slots));
	while ((p = strstr(p, " -> "))) {
		const char *ls = p;
		unsigned long long lo, hi, cnt;

		while (ls > out && ls[-1] != '\n')
			ls--;
		if (sscanf(ls, " %llu -> %llu : %llu", &lo, &hi, &cnt) == 3) {
			unsigned int slot = 0;

			while ((2ull << slot) - 1 < hi)
				slot++;
			if (slot < n)
				slots[slot] = cnt;
		}
		p += 4;
	}
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest rank, computed the long way: the smallest value such that at
 * least P percent of all values are <= it. */
static int64_t nearest_rank(const int64_t *sorted, size_t n, double p)
{
	size_t i, le;

	for (i = 0; i < n; i++) {
		for (le = 0; le < n && sorted[le] <= sorted[i]; le++)
			;
		if ((double)le * 100.0 >= p * (double)n - 1e-9)
			return sorted[i];
	}
	return sorted[n - 1];
}

static void expect_summary(const char *out, int64_t *v, size_t n)
{
	char line[256];
	double sum = 0;
	size_t i;
#define PCT(p) nearest_rank(v, n, p)

	qsort(v, n, sizeof(*v), cmp64);
	for (i = 0; i < n; i++)
		sum += (double)v[i];
	snprintf(
	    line, sizeof(line),
	    "count %zu, min %lld, mean %.1f, p50 %lld, p90 %lld, p99 %lld, p99.9 %lld, max %lld", n,
	    (long long)v[0], sum / (double)n, (long long)PCT(50), (long long)PCT(90),
	    (long long)PCT(99), (long long)PCT(99.9), (long long)v[n - 1]);
#undef PCT
	if (!strstr(out, line))
		fail_msg("summary '%s' not in:\n%s", line, out);
}

static void test_hist__buckets_and_percentiles_match_independent_values(void **state)
{
	int64_t v[64];
	uint64_t got[65], want[65];
	size_t n = 0, i;
	struct run r;

	/* latency in usecs, integer division like bcc's tools */
	for (i = 0; i < example_n_read_200; i++)
		v[n++] = example_read_lat_ns_200[i] / 1000;
	for (i = 0; i < example_n_read_201; i++)
		v[n++] = example_read_lat_ns_201[i] / 1000;
	memset(want, 0, sizeof(want));
	for (i = 0; i < n; i++) {
		unsigned int s = 0;

		while (s < 63 && (uint64_t)v[i] >= (2ull << s))
			s++;
		want[s]++;
	}
	r = bt("hist --latency syscalls:sys_enter_read,syscalls:sys_exit_read example.tape");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "     usecs               : count    distribution\n"));
	parse_log2(r.out, got, 65);
	for (i = 0; i < 65; i++)
		if (got[i] != want[i])
			fail_msg("slot %zu: got %llu, want %llu\n%s", i, (unsigned long long)got[i],
				 (unsigned long long)want[i], r.out);
	expect_summary(r.out, v, n);
	run_free(&r);

	/* a field, through --sql as well */
	n = 0;
	for (i = 0; i < example_n_block; i++)
		v[n++] = example_nr_sector[i];
	r = bt("hist --sql \"SELECT nr_sector FROM tp_block_block_rq_complete\" example.tape");
	assert_int_equal(r.status, 0);
	memset(want, 0, sizeof(want));
	for (i = 0; i < n; i++) {
		unsigned int s = 0;

		while (s < 63 && (uint64_t)v[i] >= (2ull << s))
			s++;
		want[s]++;
	}
	parse_log2(r.out, got, 65);
	assert_memory_equal(got, want, sizeof(got));
	expect_summary(r.out, v, n);
	run_free(&r);
	(void)state;
}

static void test_hist__bad_requests_fail_cleanly(void **state)
{
	struct run r;

	bt_fails(1, "has no field 'nope'",
		 "hist --event block:block_rq_complete --field nope example.tape");
	r = bt("hist --event no:such --field x example.tape");
	assert_int_equal(r.status, 1);
	run_free(&r);
	bt_fails(1, "no fields", "hist --event profile --field x example.tape");
	bt_fails(1, "is not a number",
		 "hist --event block:block_rq_complete --field rwbs example.tape");
	/* a field named like an events column is found by its own name */
	r = bt("hist --event sched:sched_process_exec --field pid example.tape");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "count 2, min 200, mean 250.0"));
	run_free(&r);
	r = bt("hist example.tape");
	assert_int_equal(r.status, 2);
	run_free(&r);
	r = bt("hist --linear 0 --sql 'SELECT 1' example.tape");
	assert_int_equal(r.status, 2);
	run_free(&r);
	r = bt("hist --sql 'SELECT 1, 2' example.tape");
	assert_int_equal(r.status, 1);
	run_free(&r);
	(void)state;
}

/* Expected strings derived by hand from libbpf-tools' print_log2_hist:
 * header "%*s%-*s : count    distribution" (5/19 or 15/29), rows
 * "%*lld -> %-*lld : %-8d |" + stars + "|" (10 wide, 40 stars; or 20 wide,
 * 20 stars when the last slot index > 32). */
static void test_hist__log2_format_is_bcc_byte_compatible(void **state)
{
	uint64_t slots[ANA_LOG2_SLOTS] = {0};
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	slots[0] = 482291;
	slots[1] = 120572;
	slots[3] = 5;
	f = open_memstream(&buf, &len);
	ana_print_log2_hist(f, slots, ANA_LOG2_SLOTS, "usecs");
	fclose(f);
	assert_string_equal(
	    buf,
	    "     usecs               : count    distribution\n"
	    "         0 -> 1          : 482291   |****************************************|\n"
	    "         2 -> 3          : 120572   |*********                               |\n"
	    "         4 -> 7          : 0        |                                        |\n"
	    "         8 -> 15         : 5        |                                        |\n");
	free(buf);

	/* leading empty slots are printed (libbpf-tools), wide format past
	 * slot 32 */
	memset(slots, 0, sizeof(slots));
	slots[4] = 3;
	slots[33] = 1;
	buf = NULL;
	f = open_memstream(&buf, &len);
	ana_print_log2_hist(f, slots, ANA_LOG2_SLOTS, "nsecs");
	fclose(f);
	{
		const char *head =
		    "               nsecs                         : count    distribution\n"
		    "                   0 -> 1                    : 0        |                    "
		    "|\n"
		    "                   2 -> 3                    : 0        |                    "
		    "|\n"
		    "                   4 -> 7                    : 0        |                    "
		    "|\n"
		    "                   8 -> 15                   : 0        |                    "
		    "|\n"
		    "                  16 -> 31                   : 3        "
		    "|********************|\n"
		    "                  32 -> 63                   : 0        |                    "
		    "|\n";

		assert_true(strncmp(buf, head, strlen(head)) == 0);
	}
	assert_non_null(strstr(
	    buf,
	    "          8589934592 -> 17179869183          : 1        |******              |\n"));
	free(buf);

	/* empty: nothing at all, like bcc */
	memset(slots, 0, sizeof(slots));
	buf = NULL;
	f = open_memstream(&buf, &len);
	ana_print_log2_hist(f, slots, ANA_LOG2_SLOTS, "usecs");
	fclose(f);
	assert_string_equal(buf, "");
	free(buf);

	assert_int_equal(ana_log2_slot(0), 0);
	assert_int_equal(ana_log2_slot(1), 0);
	assert_int_equal(ana_log2_slot(2), 1);
	assert_int_equal(ana_log2_slot(3), 1);
	assert_int_equal(ana_log2_slot(1024), 10);
	assert_int_equal(ana_log2_slot(UINT64_MAX), 63);
	(void)state;
}

/* bpftrace's lhist rows: "%-16s%8d |" + 52 '@' scaled + "|" (as printed by
 * bpftrace 0.17 for lhist(x, 0, 100, 10)). */
static void test_hist__linear_format_is_bpftrace_lhist(void **state)
{
	uint64_t counts[4] = {1, 0, 2, 0};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ana_print_linear_hist(f, counts, 4, 0, 10, 1, 1);
	fclose(f);
	assert_string_equal(
	    buf,
	    "(..., 0)               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |\n"
	    "[0, 10)                1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |\n"
	    "[10, 20)               0 |                                                    |\n"
	    "[20, 30)               2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n"
	    "[30, 40)               0 |                                                    |\n"
	    "[40, ...)              1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |\n");
	free(buf);
	(void)state;
}

static void test_summary__nearest_rank_percentiles(void **state)
{
	int64_t v[1000];
	struct ana_summary s;
	size_t i;

	for (i = 0; i < 1000; i++)
		v[i] = (int64_t)(999 - i); /* 0..999, shuffled order */
	ana_summarize(v, 1000, &s);
	assert_int_equal(s.count, 1000);
	assert_int_equal(s.min, 0);
	assert_int_equal(s.max, 999);
	assert_int_equal(s.p50, 499);
	assert_int_equal(s.p90, 899);
	assert_int_equal(s.p99, 989);
	assert_int_equal(s.p999, 998);
	assert_true(s.mean > 499.49 && s.mean < 499.51);
	(void)state;
}

static long long field_of(const char *out, const char *label)
{
	const char *p = strstr(out, label);

	if (!p)
		fail_msg("'%s' not in output", label);
	return strtoll(p + strlen(label), NULL, 10);
}

static void test_sql__counts_equal_info_and_file(void **state)
{
	struct tape_reader *rd;
	struct tape_record rec;
	char err[256];
	uint64_t file_events[8] = {0}, file_total = 0;
	struct run r, ri;
	int rc;

	assert_int_equal(tape_reader__open(&rd, trace, err, sizeof(err)), 0);
	while ((rc = tape_reader__next(rd, &rec)) == 1) {
		struct tape_event ev;

		if (rec.type != TAPE_REC_EVENT)
			continue;
		assert_int_equal(tape_record__event(&rec, &ev), 0);
		if (ev.type_id < 8)
			file_events[ev.type_id]++;
		file_total++;
	}
	assert_int_equal(rc, 0);
	tape_reader__close(rd);
	assert_int_equal(file_total, EXAMPLE_EVENTS);

	r = bt("sql --csv example.tape \"SELECT type_id, name, COUNT(e.id) FROM event_types"
	       " LEFT JOIN events e USING(type_id) GROUP BY type_id ORDER BY type_id\"");
	assert_int_equal(r.status, 0);
	ri = bt("info example.tape");
	assert_int_equal(ri.status, 0);
	assert_int_equal(field_of(ri.out, "events:"), (long long)file_total);
	{
		const char *p = strchr(r.out, '\n') + 1;
		uint64_t total = 0;

		while (*p) {
			unsigned int type;
			char name[128], label[160];
			unsigned long long n;

			assert_int_equal(sscanf(p, "%u,%127[^,],%llu", &type, name, &n), 3);
			assert_true(type < 8);
			assert_int_equal(n, file_events[type]);
			snprintf(label, sizeof(label), "  %s", name);
			assert_int_equal(field_of(ri.out, label), (long long)n);
			total += n;
			p = strchr(p, '\n') + 1;
		}
		assert_int_equal(total, file_total);
	}
	run_free(&r);
	/* the materialized per-type counts agree too */
	r = bt("sql --csv example.tape \"SELECT SUM(events) FROM event_types\"");
	assert_int_equal(strtoll(strchr(r.out, '\n') + 1, NULL, 10), (long long)file_total);
	run_free(&r);
	/* losses: info's total equals the stats table */
	r = bt("sql --csv example.tape \"SELECT SUM(value) FROM stats WHERE source = 'loss'\"");
	assert_int_equal(strtoll(strchr(r.out, '\n') + 1, NULL, 10), field_of(ri.out, "losses:"));
	run_free(&r);
	run_free(&ri);
	(void)state;
}

static void test_sql__errors_and_read_only(void **state)
{
	struct run r;

	r = bt("sql example.tape \"SELECT * FROM no_such_table\"");
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "no such table: no_such_table"));
	assert_int_equal(strchr(r.err, '\n') - r.err + 1, (long)strlen(r.err)); /* one line */
	run_free(&r);
	bt_fails(1, "readonly", "sql example.tape \"DELETE FROM events\"");
	r = bt("sql example.tape \"SELECT COUNT(*) FROM events\"");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "376"));
	run_free(&r);
	(void)state;
}

static void test_import__database_reused_while_trace_unchanged(void **state)
{
	char db[4300];
	struct stat a, b;
	struct run r;

	snprintf(db, sizeof(db), "%s.db", trace);
	r = bt("folded example.tape");
	assert_int_equal(r.status, 0);
	run_free(&r);
	assert_int_equal(stat(db, &a), 0);
	r = bt("sql example.tape \"SELECT 1\"");
	run_free(&r);
	assert_int_equal(stat(db, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino); /* not rebuilt */
	assert_true(ana_db_is_fresh(trace, db));

	/* a changed trace is imported again */
	sleep(0); /* mtime granularity is ns; size changes anyway below */
	{
		FILE *f = fopen(trace, "ab");

		assert_non_null(f);
		fputc(0, f);
		fclose(f);
	}
	assert_false(ana_db_is_fresh(trace, db));
	r = bt("sql example.tape \"SELECT COUNT(*) FROM events\"");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "376"));
	run_free(&r);
	assert_int_equal(stat(db, &b), 0);
	assert_int_not_equal(a.st_ino, b.st_ino);
	assert_true(ana_db_is_fresh(trace, db));
	write_trace(trace); /* restore for the other tests */
	(void)state;
}

static void test_info__check_names_bad_chunk_and_recovers(void **state)
{
	char bad[4300];
	struct run r;
	char *data;
	FILE *f;
	struct stat sb;

	r = bt("info --check example.tape");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "ok: 6 chunks"));
	run_free(&r);

	/* flip one byte in the middle of the file: one chunk goes bad */
	assert_int_equal(stat(trace, &sb), 0);
	data = slurp(trace);
	assert_non_null(data);
	snprintf(bad, sizeof(bad), "%s/flipped.tape", tmpdir);
	data[sb.st_size / 2] ^= 0x40;
	f = fopen(bad, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, (size_t)sb.st_size, f), (size_t)sb.st_size);
	fclose(f);
	r = bt("info --check flipped.tape");
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "chunk"));
	assert_non_null(strstr(r.out, "damaged:"));
	assert_non_null(strstr(r.out, "1 bad chunks"));
	run_free(&r);
	/* the rest still imports */
	r = bt("sql --csv flipped.tape \"SELECT value FROM stats WHERE name = 'bad_chunks'\"");
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "value\n1\n");
	run_free(&r);
	/* with the import's reader and symbolization threads off and events
	 * through INSERTs, the same rows, damage counters and first error */
	{
		static const char q[] =
		    "sql --csv --db %s flipped.tape \"SELECT (SELECT group_concat(name || '=' ||"
		    " value) FROM stats WHERE source = 'reader'), (SELECT value FROM meta WHERE"
		    " key = 'first_error'), (SELECT count(*) FROM events), (SELECT count(*)"
		    " FROM frames), (SELECT count(*) FROM stacks)\"";
		struct run a = bt(q, "flipped.tape.db"), b;

		setenv("BPFTAPE_IMPORT_READER", "0", 1);
		setenv("BPFTAPE_IMPORT_WORKERS", "0", 1);
		setenv("BPFTAPE_IMPORT_DIRECT", "0", 1);
		b = bt(q, "flipped-serial.db");
		unsetenv("BPFTAPE_IMPORT_READER");
		unsetenv("BPFTAPE_IMPORT_WORKERS");
		unsetenv("BPFTAPE_IMPORT_DIRECT");
		assert_int_equal(a.status, 0);
		assert_int_equal(b.status, 0);
		assert_non_null(strstr(a.out, "bad_chunks=1"));
		assert_non_null(strstr(a.out, "checksum mismatch"));
		assert_string_equal(a.out, b.out);
		run_free(&a);
		run_free(&b);
	}

	/* truncated: what was complete is recovered */
	snprintf(bad, sizeof(bad), "%s/truncated.tape", tmpdir);
	f = fopen(bad, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, (size_t)sb.st_size * 2 / 3, f),
			 (size_t)sb.st_size * 2 / 3);
	fclose(f);
	free(data);
	r = bt("info --check truncated.tape");
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.out, "recovered"));
	assert_true(field_of(r.out, "damaged: ") > 0);
	run_free(&r);
	/* commands work on what is intact and say so, on import and reuse */
	for (int i = 0; i < 2; i++) {
		r = bt("folded truncated.tape");
		assert_int_equal(r.status, 0);
		assert_non_null(strstr(r.err, "'truncated.tape' is damaged"));
		run_free(&r);
	}
	(void)state;
}

static void test_cli__bad_input_one_line_error(void **state)
{
	struct run r;
	FILE *f;
	char path[4300];

	r = bt("info missing.tape");
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "missing.tape"));
	assert_int_equal(strchr(r.err, '\n') - r.err + 1, (long)strlen(r.err));
	run_free(&r);
	r = bt("folded missing.tape");
	assert_int_equal(r.status, 1);
	assert_int_equal(strchr(r.err, '\n') - r.err + 1, (long)strlen(r.err));
	run_free(&r);

	snprintf(path, sizeof(path), "%s/garbage.tape", tmpdir);
	f = fopen(path, "wb");
	assert_non_null(f);
	fputs("this is not a trace file at all, just text\n", f);
	fclose(f);
	bt_fails(1, "garbage.tape", "folded garbage.tape");
	r = bt("info garbage.tape");
	assert_int_equal(r.status, 1);
	run_free(&r);
	r = bt("events --since 10abc example.tape");
	assert_int_equal(r.status, 2);
	run_free(&r);

	/* record, with no bpftape-record next to the binary */
	{
		char cmd[32768], errp[4400];
		int st;
		char *e;

		snprintf(cmd, sizeof(cmd),
			 "mkdir -p '%s/lonely' && cp '%s/bpftape' '%s/lonely/' && "
			 "'%s/lonely/bpftape' record -o x.tape 2>'%s/record.err'",
			 tmpdir, bin_dir, tmpdir, tmpdir, tmpdir);
		st = system(cmd);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
		snprintf(errp, sizeof(errp), "%s/record.err", tmpdir);
		e = slurp(errp);
		assert_non_null(e);
		assert_non_null(strstr(e, "bpftape-record"));
		assert_non_null(strstr(e, "not built or installed"));
		free(e);
	}
	(void)state;
}

static void test_folded__branches_in_known_ratio(void **state)
{
	struct run r = bt("folded example.tape");
	long long a = 0, b = 0;
	const char *p;

	assert_int_equal(r.status, 0);
	for (p = r.out; *p;) {
		const char *nl = strchr(p, '\n');
		const char *sp = nl;
		char line[1024];

		while (sp > p && sp[-1] != ' ')
			sp--;
		snprintf(line, sizeof(line), "%.*s", (int)(nl - p), p);
		if (strstr(line, ";burner_branch_a;"))
			a += strtoll(sp, NULL, 10);
		if (strstr(line, ";burner_branch_b;"))
			b += strtoll(sp, NULL, 10);
		p = nl + 1;
	}
	assert_int_equal(a, 230);
	assert_int_equal(b, 100);
	run_free(&r);
	(void)state;
}

/* Finds, with binutils (independently of the symbolizer), an address of
 * outer_fn in the fixture whose inline chain is leaf_inlined in outer_fn. */
static uint64_t find_inlined_addr(void)
{
	char cmd[8192], line[4096];
	unsigned long long start = 0, size = 0, a, found = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "nm -S --defined-only '%s'", INLINE_FIXTURE);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p)) {
		char type, name[256];

		if (sscanf(line, "%llx %llx %c %255s", &a, &size, &type, name) == 4 &&
		    !strcmp(name, "outer_fn")) {
			start = a;
			break;
		}
	}
	pclose(p);
	if (!start || !size)
		fail_msg("outer_fn not found in %s", INLINE_FIXTURE);
	/* -a prints each address, then func / file:line pairs, innermost first */
	for (a = start; a < start + size && !found; a++) {
		int n = 0;
		char first[4096] = "", last[4096] = "";

		snprintf(cmd, sizeof(cmd), "addr2line -f -i -e '%s' 0x%llx", INLINE_FIXTURE, a);
		p = popen(cmd, "r");
		assert_non_null(p);
		while (fgets(line, sizeof(line), p)) {
			line[strcspn(line, "\n")] = '\0';
			if (n % 2 == 0) {
				if (!n)
					snprintf(first, sizeof(first), "%s", line);
				snprintf(last, sizeof(last), "%s", line);
			}
			n++;
		}
		pclose(p);
		if (n >= 4 && !strcmp(first, "leaf_inlined") && !strcmp(last, "outer_fn"))
			found = a;
	}
	if (!found)
		fail_msg("no address with leaf_inlined inlined in outer_fn");
	return found;
}

/* A new trace at PATH with a host record (start 1000 ns) and event type 1,
 * "profile", with stack FLAGS. */
static struct tape_writer *open_profile_trace(const char *path, uint32_t flags)
{
	struct tape_writer *w;
	struct tape_host h = {0};
	struct tape_event_desc d = {0};
	char err[256];

	assert_int_equal(tape_writer__open(&w, path, NULL, err, sizeof(err)), 0);
	h.hostname = tape_str_c("t");
	h.clock_mono_ns = h.start_ns = 1000;
	assert_int_equal(tape_writer__host(w, &h), 0);
	d.type_id = 1;
	d.source = TAPE_SRC_PROFILE;
	d.flags = flags;
	d.name = tape_str_c("profile");
	assert_int_equal(tape_writer__event_desc(w, &d), 0);
	return w;
}

/*
 * many.tape: 60k events (profile samples with 40 user stacks symbolized
 * from embedded symbols, and tracepoint events with a payload); with
 * GIANT, one function's name is 20,000 bytes, more than a page holds.
 */
static void write_many_trace(const char *path, int giant)
{
	static const char fmt[] =
	    "name: sched_wakeup\nID: 300\nformat:\n"
	    "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
	    "\tfield:pid_t pid;\toffset:8;\tsize:4;\tsigned:1;\n";
	const uint64_t base = 0x555555554000ull;
	struct tape_writer *w;
	struct tape_event_desc d = {0};
	struct tape_event ev = {0};
	struct tape_symtab stab = {0};
	struct tape_sym syms[16];
	struct tape_mmap m = {0};
	struct tape_proc pr = {0};
	char names[16][32], *big;
	uint64_t ips[8];
	uint8_t payload[12] = {0};
	uint32_t i, j;

	w = open_profile_trace(path, TAPE_DESC_F_USTACK | TAPE_DESC_F_KSTACK);
	d.type_id = 2;
	d.source = TAPE_SRC_TRACEPOINT;
	d.flags = 0;
	d.name = tape_str_c("sched:sched_wakeup");
	d.format = tape_str_c(fmt);
	assert_int_equal(tape_writer__event_desc(w, &d), 0);
	big = malloc(20001);
	assert_non_null(big);
	memset(big, 'g', 20000);
	big[20000] = '\0';
	for (i = 0; i < 16; i++) {
		snprintf(names[i], sizeof(names[i]), "fn_%u", i);
		syms[i] = (struct tape_sym){0x1000 + i * 0x100, 0x100,
					    tape_str_c(giant && i == 7 ? big : names[i])};
	}
	stab.path = tape_str_c("/nonexistent/many-app");
	assert_int_equal(tape_writer__symtab(w, &stab, syms, 16), 0);
	for (i = 100; i < 105; i++) {
		pr.kind = TAPE_PROC_EXEC;
		pr.pid = pr.tid = i;
		pr.ts_ns = 1000;
		pr.comm = tape_str_c("many");
		pr.filename = tape_str_c("/nonexistent/many-app");
		assert_int_equal(tape_writer__proc(w, &pr), 0);
		m.ts_ns = 1000;
		m.pid = i;
		m.prot = TAPE_MMAP_PROT_READ | TAPE_MMAP_PROT_EXEC;
		m.start = base;
		m.end = base + 0x10000;
		m.path = tape_str_c("/nonexistent/many-app");
		assert_int_equal(tape_writer__mmap(w, &m), 0);
	}
	for (i = 1; i <= 40; i++) {
		struct tape_stack st = {.id = i, .nframes = 2 + i % 6, .ips = ips};

		for (j = 0; j < st.nframes; j++)
			ips[j] = base + 0x1000 + ((i * 7 + j * 3) % 16) * 0x100 + 0x10;
		assert_int_equal(tape_writer__stack(w, &st), 0);
	}
	for (i = 0; i < 60000; i++) {
		ev = (struct tape_event){0};
		ev.ts_ns = 2000 + (uint64_t)i * 977 + (i % 13 == 0 ? 5000000000000ull : 0);
		ev.cpu = i % 3;
		ev.pid = 100 + i % 5;
		ev.tid = ev.pid + (i % 2) * 1000 + (i % 7 == 0 ? 70000 : 0);
		ev.type_id = i % 10 ? 1 : 2;
		ev.ustack_id = ev.type_id == 1 && i % 4 ? 1 + i % 40 : 0;
		ev.kstack_id = ev.type_id == 1 && i % 6 == 0 ? 1 : 0;
		ev.flags = i % 11 == 0;
		if (ev.type_id == 2) {
			payload[8] = (uint8_t)i;
			payload[9] = (uint8_t)(i >> 8);
			ev.payload = payload;
			ev.payload_size = sizeof(payload);
		}
		assert_int_equal(tape_writer__event(w, &ev), 0);
	}
	assert_int_equal(tape_writer__close(w), 0);
	free(big);
}

/*
 * The events and frames tables written as b-tree pages (the default) hold
 * exactly the rows INSERTs give (BPFTAPE_IMPORT_DIRECT=0), and SQLite finds
 * the file sound: 60k events span many leaves and an interior level.  A
 * frame name too long for a page sends frames through INSERTs, with the
 * same result.
 */
static void test_import__pages_equal_inserts(void **state)
{
	static const char q[] =
	    "sql --csv --db %s %s \"SELECT (SELECT * FROM pragma_integrity_check),"
	    " count(*), max(id), sum(id), sum(ts %% 1000003), sum(cpu), sum(pid), sum(tid),"
	    " sum(type_id), count(kstack_id), sum(kstack_id), count(ustack_id), sum(ustack_id),"
	    " sum(flags), sum(id * (ts %% 7919)), (SELECT count(*) FROM tp_sched_sched_wakeup),"
	    " (SELECT sum(w.f1_pid * e.tid) FROM tp_sched_sched_wakeup w JOIN events e"
	    " ON e.id = w.event_id) FROM events\"";
	static const char qf[] =
	    "sql --csv --db %s %s \"SELECT * FROM frames ORDER BY 1, 2, 3, 4\"";
	char path[4300];

	for (int giant = 0; giant < 2; giant++) {
		const char *tape = giant ? "giant.tape" : "many.tape";
		char db_a[64], db_b[64];
		struct run a, b, fa, fb;

		snprintf(path, sizeof(path), "%s/%s", tmpdir, tape);
		write_many_trace(path, giant);
		snprintf(db_a, sizeof(db_a), "%s.db", tape);
		snprintf(db_b, sizeof(db_b), "%s-sql.db", tape);
		a = bt(q, db_a, tape);
		fa = bt(qf, db_a, tape);
		setenv("BPFTAPE_IMPORT_DIRECT", "0", 1);
		b = bt(q, db_b, tape);
		fb = bt(qf, db_b, tape);
		unsetenv("BPFTAPE_IMPORT_DIRECT");
		assert_int_equal(a.status, 0);
		assert_int_equal(b.status, 0);
		assert_true(strncmp(a.out, "(SELECT", 7) == 0);
		assert_non_null(strstr(a.out, "\nok,60000,60000,"));
		assert_null(strstr(a.out, ",,")); /* no NULL sums */
		assert_null(strstr(a.out, ",\n"));
		assert_string_equal(a.out, b.out);
		/* frames: resolved names, and the giant one whole */
		assert_int_equal(fa.status, 0);
		assert_non_null(strstr(fa.out, ",fn_3,"));
		if (giant) {
			char *g = malloc(20003);

			assert_non_null(g);
			memset(g + 1, 'g', 20000);
			g[0] = g[20001] = ',';
			g[20002] = '\0';
			assert_non_null(strstr(fa.out, g));
			free(g);
		}
		assert_string_equal(fa.out, fb.out);
		run_free(&a);
		run_free(&b);
		run_free(&fa);
		run_free(&fb);
	}
	(void)state;
}

static void test_import__inline_frames_from_dwarf(void **state)
{
	struct tape_writer *w;
	struct tape_mmap m = {0};
	struct tape_proc pr = {0};
	struct tape_event ev = {0};
	const uint64_t base = 0x555555554000ull;
	uint64_t ip;
	struct tape_stack st = {.id = 1, .nframes = 1, .ips = &ip};
	char path[4300];
	struct run r;

	ip = base + find_inlined_addr();
	snprintf(path, sizeof(path), "%s/inline.tape", tmpdir);
	w = open_profile_trace(path, TAPE_DESC_F_USTACK);
	pr.kind = TAPE_PROC_EXEC;
	pr.pid = pr.tid = 42;
	pr.ts_ns = 1000;
	pr.comm = tape_str_c("inlfix");
	pr.filename = tape_str_c(INLINE_FIXTURE);
	assert_int_equal(tape_writer__proc(w, &pr), 0);
	m.ts_ns = 1000;
	m.pid = 42;
	m.prot = TAPE_MMAP_PROT_READ | TAPE_MMAP_PROT_EXEC;
	m.start = base;
	m.end = base + 0x100000;
	m.path = tape_str_c(INLINE_FIXTURE);
	assert_int_equal(tape_writer__mmap(w, &m), 0);
	assert_int_equal(tape_writer__stack(w, &st), 0);
	ev.type_id = 1;
	ev.ts_ns = 2000;
	ev.pid = ev.tid = 42;
	ev.ustack_id = 1;
	assert_int_equal(tape_writer__event(w, &ev), 0);
	ev.ts_ns = 3000;
	assert_int_equal(tape_writer__event(w, &ev), 0);
	assert_int_equal(tape_writer__close(w), 0);

	r = bt("folded inline.tape");
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "inlfix;outer_fn;leaf_inlined 2\n");
	run_free(&r);
	r = bt("folded --no-inline inline.tape");
	assert_string_equal(r.out, "inlfix;outer_fn 2\n");
	run_free(&r);
	/* the same frames when worker threads symbolize during the load */
	{
		static const char q[] =
		    "sql --csv --db %s inline.tape \"SELECT stack_id, pid, depth, inline_depth,"
		    " func, file, line, inlined, module, offset, func_offset, reason FROM frames"
		    " ORDER BY 1, 2, 3, 4\"";
		struct run a, b;
		int k;

		for (k = 1; k <= 2; k++) {
			r = bt("import -q -o inline.w.db inline.tape");
			assert_int_equal(r.status, 0);
			run_free(&r);
			a = bt(q, "inline.w.db");
			r = bt("import -q -o inline.w%d.db inline.tape; BPFTAPE_IMPORT_WORKERS=%d"
			       " '%s/bpftape' import -q -o inline.w%d.db inline.tape",
			       k, k, bin_dir, k);
			assert_int_equal(r.status, 0);
			run_free(&r);
			snprintf(path, sizeof(path), "inline.w%d.db", k);
			b = bt(q, path);
			assert_int_equal(a.status, 0);
			assert_int_equal(b.status, 0);
			assert_string_equal(a.out, b.out);
			assert_non_null(strstr(b.out, "leaf_inlined"));
			run_free(&a);
			run_free(&b);
		}
	}
	r = bt("sql --csv inline.tape \"SELECT inline_depth, func, inlined, file LIKE "
	       "'%%inline_fixture.c',"
	       " line > 0, reason FROM frames ORDER BY inline_depth\"");
	assert_int_equal(r.status, 0);
	assert_string_equal(
	    r.out, "inline_depth,func,inlined,file LIKE '%inline_fixture.c',line > 0,reason\n"
		   "0,leaf_inlined,1,1,1,\n"
		   "1,outer_fn,0,1,1,\n");
	run_free(&r);
	(void)state;
}

static void test_tpformat__parses_tracefs_fields(void **state)
{
	static const char fmt[] =
	    "name: block_rq_complete\nID: 2107\nformat:\n"
	    "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
	    "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n"
	    "\tfield:dev_t dev;\toffset:8;\tsize:4;\tsigned:0;\n"
	    "\tfield:int error;\toffset:12;\tsize:4;\tsigned:1;\n"
	    "\tfield:char rwbs[10];\toffset:16;\tsize:10;\tsigned:0;\n"
	    "\tfield:__data_loc char[] cmd;\toffset:28;\tsize:4;\tsigned:0;\n"
	    "\tfield:unsigned long args[2];\toffset:32;\tsize:16;\tsigned:0;\n"
	    "\tfield:pid_t pid;\toffset:48;\tsize:4;\tsigned:1;\n\n"
	    "print fmt: \"field:ignored; offset:1;\"\n";
	struct ana_tpformat f;
	char err[128];
	uint8_t p[64] = {0};
	const char *s;
	size_t n;

	assert_int_equal(ana_tpformat__parse(&f, fmt, strlen(fmt), err, sizeof(err)), 0);
	assert_int_equal(f.nfields, 8);
	assert_string_equal(f.fields[2].name, "dev");
	assert_int_equal(f.fields[2].kind, ANA_FIELD_INT);
	assert_true(f.fields[0].common);
	assert_string_equal(f.fields[4].name, "rwbs");
	assert_int_equal(f.fields[4].kind, ANA_FIELD_CHARS);
	assert_string_equal(f.fields[5].name, "cmd");
	assert_int_equal(f.fields[5].kind, ANA_FIELD_DATA_LOC);
	assert_int_equal(f.fields[6].kind, ANA_FIELD_BYTES);
	assert_string_equal(f.fields[7].name, "pid");
	assert_string_not_equal(f.fields[7].column, "pid"); /* clashes with events.pid */

	p[12] = 0xfe;
	p[13] = 0xff;
	p[14] = 0xff;
	p[15] = 0xff; /* error = -2 */
	memcpy(p + 16, "WS", 3);
	p[28] = 52;
	p[30] = 4; /* data_loc: offset 52, length 4 */
	memcpy(p + 52, "abc", 4);
	assert_int_equal(ana_field__int(&f.fields[3], p, sizeof(p)), -2);
	s = ana_field__text(&f.fields[4], p, sizeof(p), &n);
	assert_int_equal(n, 2);
	assert_memory_equal(s, "WS", 2);
	s = ana_field__text(&f.fields[5], p, sizeof(p), &n);
	assert_int_equal(n, 3);
	assert_memory_equal(s, "abc", 3);
	/* out of bounds data_loc is refused, not read */
	p[30] = 200;
	assert_null(ana_field__text(&f.fields[5], p, sizeof(p), &n));
	ana_tpformat__release(&f);

	assert_int_equal(
	    ana_tpformat__parse(&f, "format:\n\tfield:int;\toffset:x;\n", 29, err, sizeof(err)),
	    -EINVAL);
	assert_non_null(strstr(err, "line 2"));
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cli__every_command_has_help),
	    cmocka_unit_test(test_golden__example_outputs),
	    cmocka_unit_test(test_hist__buckets_and_percentiles_match_independent_values),
	    cmocka_unit_test(test_hist__bad_requests_fail_cleanly),
	    cmocka_unit_test(test_hist__log2_format_is_bcc_byte_compatible),
	    cmocka_unit_test(test_hist__linear_format_is_bpftrace_lhist),
	    cmocka_unit_test(test_summary__nearest_rank_percentiles),
	    cmocka_unit_test(test_sql__counts_equal_info_and_file),
	    cmocka_unit_test(test_sql__errors_and_read_only),
	    cmocka_unit_test(test_import__database_reused_while_trace_unchanged),
	    cmocka_unit_test(test_info__check_names_bad_chunk_and_recovers),
	    cmocka_unit_test(test_cli__bad_input_one_line_error),
	    cmocka_unit_test(test_folded__branches_in_known_ratio),
	    cmocka_unit_test(test_tpformat__parses_tracefs_fields),
	    cmocka_unit_test(test_import__inline_frames_from_dwarf),
	    cmocka_unit_test(test_import__pages_equal_inserts),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
