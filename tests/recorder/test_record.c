// SPDX-License-Identifier: MIT
/*
 * Integration tests: run build/bin/bpftape-record for real (root + BPF) on
 * the samples and check the trace through the format reader:
 *   - the burner's CPU profile resolves, through its MMAP records and its
 *     ELF symbol table, to its two branches in a 2:1 ratio;
 *   - exactly N getppid syscalls give exactly N events and no loss;
 *   - 200 short-lived children give 200 exec and exit records with their
 *     exit codes and mappings with build-ids;
 *   - sched_process_exec's __data_loc filename decodes to the exec'd path;
 *   - a SIGKILLed recorder leaves a readable file;
 *   - bad specs, unsupported probes and unsafe output paths fail cleanly.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "rec_int.h"
#include "trace_load.h"
#include <tape/reader.h>

static char recorder[512], samples[512];

static void path_of(char *buf, size_t size, const char *sample)
{
	snprintf(buf, size, "%s/%s", samples, sample);
}

/* Runs the recorder; on an unexpected status prints its stderr. */
static int record(char *const args[], int expect_status)
{
	char errfile[256];
	int st;

	tl_tmp_path(errfile, sizeof(errfile), ".err");
	st = tl_run(args, errfile);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != expect_status) {
		char *text = NULL;

		if (rec_read_file(errfile, &text, NULL) == 0) {
			fprintf(stderr, "recorder stderr:\n%s\n", text);
			free(text);
		}
	}
	unlink(errfile);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int read_stderr_of(char *const args[], char *buf, size_t size)
{
	char errfile[256], *text = NULL;
	int st;

	tl_tmp_path(errfile, sizeof(errfile), ".err");
	st = tl_run(args, errfile);
	buf[0] = 0;
	if (rec_read_file(errfile, &text, NULL) == 0) {
		snprintf(buf, size, "%s", text);
		free(text);
	}
	unlink(errfile);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ---- ELF symbol lookup for the profile test ---- */

struct elfsyms {
	int fd;
	Elf *e;
	GElf_Phdr load[16];
	size_t nload;
	Elf_Scn *symtab;
	GElf_Shdr symsh;
};

static int elfsyms_open(struct elfsyms *s, const char *path)
{
	size_t n;

	memset(s, 0, sizeof(*s));
	elf_version(EV_CURRENT);
	s->fd = open(path, O_RDONLY);
	if (s->fd < 0)
		return -1;
	s->e = elf_begin(s->fd, ELF_C_READ, NULL);
	if (!s->e || elf_getphdrnum(s->e, &n))
		return -1;
	for (size_t i = 0; i < n && s->nload < 16; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(s->e, (int)i, &ph) && ph.p_type == PT_LOAD)
			s->load[s->nload++] = ph;
	}
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(s->e, scn))) {
		GElf_Shdr sh;

		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_SYMTAB) {
			s->symtab = scn;
			s->symsh = sh;
		}
	}
	return s->symtab ? 0 : -1;
}

static void elfsyms_close(struct elfsyms *s)
{
	if (s->e)
		elf_end(s->e);
	if (s->fd >= 0)
		close(s->fd);
}

/* File offset -> symbol name containing the vaddr, or NULL. */
static const char *elfsyms_lookup(struct elfsyms *s, uint64_t file_off)
{
	uint64_t vaddr = 0;
	int found = 0;

	for (size_t i = 0; i < s->nload; i++) {
		if (file_off >= s->load[i].p_offset &&
		    file_off < s->load[i].p_offset + s->load[i].p_filesz) {
			vaddr = file_off - s->load[i].p_offset + s->load[i].p_vaddr;
			found = 1;
			break;
		}
	}
	if (!found)
		return NULL;
	Elf_Data *d = elf_getdata(s->symtab, NULL);
	size_t n = s->symsh.sh_entsize ? s->symsh.sh_size / s->symsh.sh_entsize : 0;
	for (size_t i = 0; d && i < n; i++) {
		GElf_Sym sym;

		if (!gelf_getsym(d, (int)i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC)
			continue;
		if (vaddr >= sym.st_value && vaddr < sym.st_value + sym.st_size)
			return elf_strptr(s->e, s->symsh.sh_link, sym.st_name);
	}
	return NULL;
}

static const struct tl_mmap *find_map(const struct trace *t, uint32_t pid, uint64_t addr)
{
	for (size_t i = 0; i < t->nmmaps; i++)
		if (t->mmaps[i].pid == pid && addr >= t->mmaps[i].start && addr < t->mmaps[i].end)
			return &t->mmaps[i];
	return NULL;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

static void test_record__profile_burner_ratio(void **state)
{
	char out[256], burner[600];
	struct trace t;
	struct elfsyms es;
	uint8_t bid[20];
	int bidlen;

	path_of(burner, sizeof(burner), "burner");
	tl_tmp_path(out, sizeof(out), ".tape");
	char *args[] = {recorder, "-q", "-o", out, "-F", "999", "--", burner, "2", NULL};
	assert_int_equal(record(args, 0), 0);
	assert_int_equal(trace_load(out, &t), 0);
	assert_int_equal(t.read_error, 0);
	assert_true(t.has_host && t.has_end && t.has_ksyms);
	assert_true(t.stack_before_use);
	const struct tl_desc *d = trace_desc_by_name(&t, "profile");
	assert_non_null(d);
	assert_int_equal(d->source, TAPE_SRC_PROFILE);
	assert_true(d->flags & TAPE_DESC_F_USTACK);

	assert_int_equal(elfsyms_open(&es, burner), 0);
	bidlen = rec_elf_build_id(burner, bid, sizeof(bid));

	unsigned long a = 0, b = 0, leaf = 0, leaf_with_branch = 0, with_ustack = 0;
	int burner_maps_with_bid = 0;
	for (size_t i = 0; i < t.nmmaps; i++) {
		if (ends_with(t.mmaps[i].path, "/burner") && bidlen > 0 &&
		    t.mmaps[i].build_id_size == (uint32_t)bidlen &&
		    !memcmp(t.mmaps[i].build_id, bid, (size_t)bidlen))
			burner_maps_with_bid++;
	}
	assert_true(burner_maps_with_bid > 0);

	for (size_t i = 0; i < t.nevents; i++) {
		const struct tl_event *e = &t.events[i];
		const struct tl_stack *st;

		assert_int_equal(e->type_id, d->type_id);
		assert_int_equal(e->payload_size, 0);
		if (!e->ustack_id)
			continue;
		st = trace_stack(&t, e->ustack_id);
		assert_non_null(st);
		assert_false(st->flags & TAPE_STACK_F_KERNEL);
		with_ustack++;
		int branch = 0, is_leaf = 0;
		for (uint32_t f = 0; f < st->nframes && !branch; f++) {
			/* return addresses point after the call: look up addr - 1 */
			uint64_t ip = f ? st->ips[f] - 1 : st->ips[f];
			const struct tl_mmap *m = find_map(&t, e->pid, ip);
			const char *sym;

			if (!m || !ends_with(m->path, "/burner"))
				continue;
			sym = elfsyms_lookup(&es, ip - m->start + m->pgoff);
			if (!sym)
				continue;
			if (f == 0 && !strcmp(sym, "burner_leaf_spin")) {
				leaf++;
				is_leaf = 1;
			}
			if (!strcmp(sym, "burner_branch_a"))
				branch = 1;
			else if (!strcmp(sym, "burner_branch_b"))
				branch = 2;
			if (branch && f == 1 && is_leaf)
				leaf_with_branch++;
		}
		if (branch == 1)
			a++;
		else if (branch == 2)
			b++;
	}
	elfsyms_close(&es);
	printf("profile: %zu samples, %lu with user stacks, branch_a %lu, branch_b %lu, "
	       "leaf %lu (caller found %lu)\n",
	       t.nevents, with_ustack, a, b, leaf, leaf_with_branch);
	assert_true(a + b >= 200); /* ~2000 on an idle host */
	double ratio = (double)a / (double)(b ? b : 1);
	assert_true(ratio >= 1.5 && ratio <= 2.7);
	/* a frame-pointer walk from the leaf must always find its caller */
	assert_true(leaf > 0 && leaf_with_branch * 100 >= leaf * 97);
	assert_int_equal(trace_lost(&t, TAPE_LOSS_RINGBUF), 0);
	trace_free(&t);
	unlink(out);
}

static void test_record__getppid_exact_count(void **state)
{
	char out[256], prog[600];
	struct trace t;
	struct stat sb;
	const unsigned long n = 20000;

	path_of(prog, sizeof(prog), "getppid");
	tl_tmp_path(out, sizeof(out), ".tape");
	char *args[] = {recorder, "-q", "-o",	 out, "-e", "t:syscalls:sys_enter_getppid",
			"--",	  prog, "20000", NULL};
	assert_int_equal(record(args, 0), 0);
	assert_int_equal(stat(out, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(trace_load(out, &t), 0);
	assert_int_equal(t.read_error, 0);
	assert_true(t.has_end);
	assert_true(t.desc_before_use);
	const struct tl_desc *d = trace_desc_by_name(&t, "syscalls:sys_enter_getppid");
	assert_non_null(d);
	assert_int_equal(d->source, TAPE_SRC_TRACEPOINT);
	assert_non_null(strstr(d->format, "field:int __syscall_nr;"));
	assert_true(d->tp_id > 0);

	unsigned long count = 0;
	uint32_t pid = 0;
	for (size_t i = 0; i < t.nevents; i++) {
		const struct tl_event *e = &t.events[i];
		uint16_t common_type;
		int32_t nr;

		if (e->type_id != d->type_id)
			continue;
		count++;
		if (!pid)
			pid = e->pid;
		assert_int_equal(e->pid, pid);
		assert_true(e->payload_size >= 12);
		memcpy(&common_type, e->payload, 2);
		memcpy(&nr, e->payload + 8, 4);
		assert_int_equal(common_type, d->tp_id);
		assert_int_equal(nr, SYS_getppid);
	}
	assert_int_equal(count, n);
	assert_true(t.end.events == t.nevents);
	assert_int_equal(t.end.status, 0);
	assert_int_equal(trace_lost(&t, 0), 0);
	/* a zero ringbuf loss is stated, not implied */
	int stated = 0;
	for (size_t i = 0; i < t.nlosses; i++)
		stated |= t.losses[i].kind == TAPE_LOSS_RINGBUF;
	assert_true(stated);
	trace_free(&t);
	unlink(out);
}

static void test_record__forker_lifecycle(void **state)
{
	char out[256], prog[600];
	struct trace t;
	const int n = 200;
	int seen_code[256] = {0};

	path_of(prog, sizeof(prog), "forker");
	tl_tmp_path(out, sizeof(out), ".tape");
	char *args[] = {recorder, "-q", "-o",  out, "-e", "t:sched:sched_process_exit",
			"--",	  prog, "200", NULL};
	assert_int_equal(record(args, 0), 0);
	assert_int_equal(trace_load(out, &t), 0);
	assert_int_equal(t.read_error, 0);

	int execs = 0, exits = 0, forks = 0, with_maps = 0;
	for (size_t i = 0; i < t.nprocs; i++) {
		const struct tl_proc *p = &t.procs[i];

		if (p->kind == TAPE_PROC_FORK && !(p->flags & TAPE_PROC_F_THREAD))
			forks++;
		if (p->kind == TAPE_PROC_EXEC && ends_with(p->filename, "/exit_with")) {
			execs++;
			assert_string_equal(p->comm, "exit_with");
			/* its mappings, with build-ids, captured when they appeared */
			int main_map = 0, any = 0;
			for (size_t j = 0; j < t.nmmaps; j++) {
				const struct tl_mmap *m = &t.mmaps[j];

				if (m->pid != p->pid)
					continue;
				any++;
				if (ends_with(m->path, "/exit_with") && m->build_id_size == 20 &&
				    (m->prot & TAPE_MMAP_PROT_EXEC))
					main_map++;
			}
			if (main_map && any >= 2)
				with_maps++;
		}
		if (p->kind == TAPE_PROC_EXIT && !strcmp(p->comm, "exit_with")) {
			exits++;
			int code = (p->exit_code >> 8) & 0xff;
			assert_int_equal(p->exit_code & 0x7f, 0);
			assert_true(code >= 1 && code <= n);
			seen_code[code]++;
		}
	}
	printf("forker: %d forks, %d execs, %d exits, %d with mappings\n", forks, execs, exits,
	       with_maps);
	assert_int_equal(execs, n);
	assert_int_equal(exits, n);
	assert_true(forks >= n);
	assert_int_equal(with_maps, n);
	for (int c = 1; c <= n; c++)
		assert_int_equal(seen_code[c], 1);
	assert_int_equal(trace_lost(&t, 0), 0);
	trace_free(&t);
	unlink(out);
}

/* Finds "field:TYPE NAME;\toffset:N;" in a format text. */
static int field_offset(const char *format, const char *decl)
{
	const char *p = strstr(format, decl);

	if (!p)
		return -1;
	p = strstr(p, "offset:");
	return p ? atoi(p + 7) : -1;
}

static void test_record__exec_filename_data_loc(void **state)
{
	char out[256], prog[600];
	struct trace t;

	path_of(prog, sizeof(prog), "exit_with");
	tl_tmp_path(out, sizeof(out), ".tape");
	/* the command's exit status becomes the recorder's */
	char *args[] = {recorder, "-q", "-o", out, "-e", "t:sched:sched_process_exec",
			"--",	  prog, "3",  NULL};
	assert_int_equal(record(args, 3), 3);
	assert_int_equal(trace_load(out, &t), 0);
	assert_int_equal(t.read_error, 0);
	assert_true(t.has_end);
	assert_int_equal(t.end.status, 3);
	const struct tl_desc *d = trace_desc_by_name(&t, "sched:sched_process_exec");
	assert_non_null(d);
	int off = field_offset(d->format, "__data_loc char[] filename;");
	assert_true(off >= 8);

	int found = 0;
	for (size_t i = 0; i < t.nevents; i++) {
		const struct tl_event *e = &t.events[i];
		uint32_t loc;

		if (e->type_id != d->type_id)
			continue;
		assert_true(e->payload_size >= (uint32_t)off + 4);
		memcpy(&loc, e->payload + off, 4);
		uint32_t soff = loc & 0xffff, slen = loc >> 16;
		assert_true(soff + slen <= e->payload_size);
		assert_true(slen >= 1);
		char name[600];
		snprintf(name, sizeof(name), "%.*s", (int)slen, (const char *)e->payload + soff);
		assert_string_equal(name, prog);
		found++;
	}
	assert_int_equal(found, 1);
	trace_free(&t);
	unlink(out);
}

/* Starts the recorder with ARGS in the background, output to /dev/null,
 * and waits until its preamble is in OUT (start-up may be slow under a
 * sanitizer).  Returns its pid. */
static pid_t start_recording(char *const args[], const char *out)
{
	struct stat sb;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		dup2(fd, 1);
		dup2(fd, 2);
		execv(args[0], args);
		_exit(126);
	}
	for (int i = 0; i < 200 && (stat(out, &sb) || sb.st_size < 4096); i++)
		usleep(50000);
	return pid;
}

static void test_record__sigkill_leaves_readable_file(void **state)
{
	char out[256];
	struct trace t;
	pid_t pid;
	int st;

	tl_tmp_path(out, sizeof(out), ".tape");
	char *args[] = {recorder, "-q",	 "-o",	    out,  "-F",
			"999",	  "-e",	 "profile", "-e", "t:raw_syscalls:sys_enter",
			"-d",	  "60s", NULL};
	pid = start_recording(args, out);
	/* > 2 flush periods: at least two more flushes */
	struct timespec ts = {2, 600000000};
	nanosleep(&ts, NULL);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st));

	assert_int_equal(trace_load(out, &t), 0);
	assert_int_equal(t.read_error, 0);
	assert_true(t.has_host);
	assert_false(t.has_end);
	assert_true(t.nevents > 0);
	assert_true(t.stack_before_use);
	printf("sigkill: %zu events readable\n", t.nevents);
	trace_free(&t);

	/* the analyzer agrees, when it is built */
	char bpftape[600];
	snprintf(bpftape, sizeof(bpftape), "%s/bpftape", tl_bin_dir());
	if (access(bpftape, X_OK) == 0) {
		char *check[] = {bpftape, "info", "--check", out, NULL};
		st = tl_run(check, NULL);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	unlink(out);
}

/* Ctrl-C and SIGTERM end a recording like -d does: exit 0, an END record,
 * the footer written. */
static void test_record__sigint_and_sigterm_stop_cleanly(void **state)
{
	const int sigs[] = {SIGINT, SIGTERM};

	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct tape_file_info fi;
		struct tape_reader *r;
		char out[256], err[256];
		struct trace t;
		pid_t pid;
		int st;

		tl_tmp_path(out, sizeof(out), ".tape");
		char *args[] = {recorder, "-q", "-o", out, "-e", "profile", "-d", "60s", NULL};

		pid = start_recording(args, out);
		usleep(500000);
		kill(pid, sigs[i]);
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);

		assert_int_equal(trace_load(out, &t), 0);
		assert_int_equal(t.read_error, 0);
		assert_true(t.has_end);
		trace_free(&t);
		assert_int_equal(tape_reader__open(&r, out, err, sizeof(err)), 0);
		tape_reader__file_info(r, &fi);
		assert_true(fi.has_footer);
		tape_reader__close(r);
		unlink(out);
	}
	(void)state;
}

static void test_record__pid_filter_scans_mappings(void **state)
{
	char out[256], burner[600], pidstr[16];
	struct trace t;
	pid_t child;
	int st;

	path_of(burner, sizeof(burner), "burner");
	tl_tmp_path(out, sizeof(out), ".tape");
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		execl(burner, "burner", "3", (char *)NULL);
		_exit(126);
	}
	usleep(200000);
	snprintf(pidstr, sizeof(pidstr), "%d", (int)child);
	char *args[] = {recorder, "-q", "-o", out, "-p", pidstr, "-d", "1s", "-F", "999", NULL};
	assert_int_equal(record(args, 0), 0);
	kill(child, SIGKILL);
	waitpid(child, &st, 0);

	assert_int_equal(trace_load(out, &t), 0);
	assert_int_equal(t.read_error, 0);
	assert_true(t.has_end);
	assert_true(t.nevents >= 20); /* the burner may get little CPU on a loaded host */
	for (size_t i = 0; i < t.nevents; i++)
		assert_int_equal(t.events[i].pid, (uint32_t)child);
	int scan_proc = 0, scan_maps = 0;
	for (size_t i = 0; i < t.nprocs; i++)
		if (t.procs[i].kind == TAPE_PROC_SCAN && t.procs[i].pid == (uint32_t)child &&
		    ends_with(t.procs[i].filename, "/burner"))
			scan_proc++;
	for (size_t i = 0; i < t.nmmaps; i++) {
		assert_int_equal(t.mmaps[i].pid, (uint32_t)child);
		if ((t.mmaps[i].flags & TAPE_MMAP_F_SCAN) &&
		    ends_with(t.mmaps[i].path, "/burner") && t.mmaps[i].build_id_size == 20)
			scan_maps++;
	}
	assert_int_equal(scan_proc, 1);
	assert_true(scan_maps >= 1);
	trace_free(&t);
	unlink(out);

	/* a pid that does not exist: runtime error, nothing written */
	char msg[1024];
	char *bad[] = {recorder, "-o", out, "-p", "12abc", "-d", "1s", NULL};
	assert_int_equal(read_stderr_of(bad, msg, sizeof(msg)), 2);
	assert_non_null(strstr(msg, "invalid pid"));
	char *gone[] = {recorder, "-o", out, "-p", "4000000", "-d", "1s", NULL};
	assert_int_equal(read_stderr_of(gone, msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, "no process with pid 4000000"));
	assert_int_equal(access(out, F_OK), -1);
}

static void test_record__wildcards_and_syscall_exit(void **state)
{
	char out[256], prog[600];
	struct trace t;

	path_of(prog, sizeof(prog), "getppid");
	tl_tmp_path(out, sizeof(out), ".tape");
	char *args[] = {recorder,
			"-q",
			"-o",
			out,
			"-g",
			"-e",
			"t:sched:sched_process_e[xz]*",
			"-e",
			"t:syscalls:sys_exit_getppi?",
			"-e",
			"raw_syscalls:sys_exit",
			"--",
			prog,
			"1000",
			NULL};
	assert_int_equal(record(args, 0), 0);
	assert_int_equal(trace_load(out, &t), 0);
	assert_int_equal(t.read_error, 0);
	const struct tl_desc *dexec = trace_desc_by_name(&t, "sched:sched_process_exec");
	const struct tl_desc *dexit = trace_desc_by_name(&t, "sched:sched_process_exit");
	const struct tl_desc *dsys = trace_desc_by_name(&t, "syscalls:sys_exit_getppid");
	const struct tl_desc *draw = trace_desc_by_name(&t, "raw_syscalls:sys_exit");
	assert_non_null(dexec);
	assert_non_null(dexit);
	assert_non_null(dsys);
	assert_non_null(draw);
	/* -g: user stacks only for syscall events, both kinds for the others */
	assert_int_equal(dsys->flags, TAPE_DESC_F_USTACK);
	assert_int_equal(dexec->flags, TAPE_DESC_F_KSTACK | TAPE_DESC_F_USTACK);

	/* the recorder forked the command: getppid() returns the recorder */
	uint32_t cmd_pid = 0, recorder_pid = 0;
	for (size_t i = 0; i < t.nprocs; i++)
		if (t.procs[i].kind == TAPE_PROC_EXEC &&
		    ends_with(t.procs[i].filename, "/getppid")) {
			cmd_pid = t.procs[i].pid;
			recorder_pid = t.procs[i].ppid;
		}
	assert_true(cmd_pid && recorder_pid);
	int n_exec = 0, n_exit = 0, n_sys = 0, n_raw_getppid = 0, with_ustack = 0;
	for (size_t i = 0; i < t.nevents; i++) {
		const struct tl_event *e = &t.events[i];
		int32_t nr;
		int64_t id, ret;

		if (e->type_id == dexec->type_id)
			n_exec++;
		if (e->type_id == dexit->type_id)
			n_exit++;
		if (e->type_id == dsys->type_id) {
			n_sys++;
			assert_int_equal(e->payload_size, 24);
			memcpy(&nr, e->payload + 8, 4);
			memcpy(&ret, e->payload + 16, 8);
			assert_int_equal(nr, SYS_getppid);
			assert_int_equal(ret, recorder_pid);
			assert_int_equal(e->kstack_id, 0);
			with_ustack += e->ustack_id != 0;
		}
		if (e->type_id == draw->type_id) {
			memcpy(&id, e->payload + 8, 8);
			n_raw_getppid += id == SYS_getppid;
		}
	}
	assert_int_equal(n_exec, 1);
	assert_int_equal(n_exit, 1);
	assert_int_equal(n_sys, 1000);
	assert_int_equal(n_raw_getppid, 1000);
	assert_int_equal(with_ustack, 1000);
	assert_int_equal(trace_lost(&t, TAPE_LOSS_RINGBUF), 0);
	trace_free(&t);
	unlink(out);
}

static void test_record__uprobe_args_and_returns(void **state)
{
	char out[256], burner[600], spec1[700], spec2[700];
	struct trace t;

	path_of(burner, sizeof(burner), "burner");
	tl_tmp_path(out, sizeof(out), ".tape");
	snprintf(spec1, sizeof(spec1), "uprobe:%s:burner_leaf_spin,ustack", burner);
	snprintf(spec2, sizeof(spec2), "ur:%s:burner_branch_b", burner);
	char *args[] = {recorder, "-q",	 "-o", out,    "-e",  spec1,
			"-e",	  spec2, "--", burner, "0.5", NULL};
	assert_int_equal(record(args, 0), 0);
	assert_int_equal(trace_load(out, &t), 0);
	assert_int_equal(t.read_error, 0);
	const struct tl_desc *du = NULL, *dr = NULL;
	for (size_t i = 0; i < t.ndescs; i++) {
		if (t.descs[i].source == TAPE_SRC_UPROBE)
			du = &t.descs[i];
		if (t.descs[i].source == TAPE_SRC_URETPROBE)
			dr = &t.descs[i];
	}
	assert_true(du && dr);
	if (!du || !dr)
		return;
	assert_non_null(strstr(du->name, "uprobe:"));
	assert_non_null(strstr(du->format, "field:u64 arg0;"));
	assert_non_null(strstr(dr->format, "field:u64 ret;"));

	/* burner_run calls branch_a then branch_b; each calls the leaf with its
	 * CPU-time budget: 200000 ns (a) or 100000 ns (b) */
	long a = 0, b = 0, rets = 0, other = 0, with_stack = 0;
	for (size_t i = 0; i < t.nevents; i++) {
		const struct tl_event *e = &t.events[i];
		uint64_t v;

		if (e->type_id == du->type_id) {
			assert_int_equal(e->payload_size, 48);
			memcpy(&v, e->payload, 8);
			if (v == 200000)
				a++;
			else if (v == 100000)
				b++;
			else
				other++;
			with_stack += e->ustack_id != 0;
		} else if (e->type_id == dr->type_id) {
			assert_int_equal(e->payload_size, 8);
			rets++;
		}
	}
	printf("uprobe: leaf(200000) %ld, leaf(100000) %ld, branch_b returns %ld\n", a, b, rets);
	assert_int_equal(other, 0);
	assert_true(b >= 30);
	assert_true(a - b >= 0 && a - b <= 1);
	assert_int_equal(rets, b);
	assert_int_equal(with_stack, a + b);
	assert_int_equal(trace_lost(&t, 0), 0);
	trace_free(&t);
	unlink(out);
}

static void test_record__offcpu_sleep(void **state)
{
	char out[256];
	struct trace t;

	tl_tmp_path(out, sizeof(out), ".tape");
	char *args[] = {recorder, "-q", "-o", out, "-e", "offcpu", "--", "/bin/sleep", "0.3", NULL};
	assert_int_equal(record(args, 0), 0);
	assert_int_equal(trace_load(out, &t), 0);
	assert_int_equal(t.read_error, 0);
	const struct tl_desc *d = trace_desc_by_name(&t, "offcpu");
	assert_non_null(d);
	if (!d)
		return;
	assert_int_equal(d->source, TAPE_SRC_OFFCPU);
	assert_non_null(strstr(d->format, "field:u64 duration_ns;\toffset:0;\tsize:8;"));
	uint32_t pid = 0;
	for (size_t i = 0; i < t.nprocs; i++)
		if (t.procs[i].kind == TAPE_PROC_EXEC && !strcmp(t.procs[i].comm, "sleep"))
			pid = t.procs[i].pid;
	assert_true(pid != 0);
	/* the nanosleep: one off-CPU period of ~300 ms, with both stacks */
	int long_sleeps = 0;
	uint64_t total = 0;
	for (size_t i = 0; i < t.nevents; i++) {
		const struct tl_event *e = &t.events[i];
		uint64_t dur;

		assert_int_equal(e->type_id, d->type_id);
		assert_int_equal(e->payload_size, 16);
		memcpy(&dur, e->payload, 8);
		if (e->pid != pid)
			continue;
		total += dur;
		if (dur >= 250000000ull && dur < 2000000000ull) {
			long_sleeps++;
			assert_true(e->kstack_id != 0);
			assert_true(e->ustack_id != 0);
		}
	}
	assert_int_equal(long_sleeps, 1);
	assert_true(total < 2000000000ull);
	assert_int_equal(trace_lost(&t, 0), 0);
	trace_free(&t);
	unlink(out);
}

static void test_record__usdt_args(void **state)
{
	char out[256], prog[600], tick[700], done[700];
	struct trace t;

	path_of(prog, sizeof(prog), "usdt");
	tl_tmp_path(out, sizeof(out), ".tape");
	snprintf(tick, sizeof(tick), "usdt:%s:bpftape:tick", prog);
	snprintf(done, sizeof(done), "usdt:%s:bpftape:done,ustack", prog);
	char *args[] = {recorder, "-q", "-o", out, "-e", tick, "-e", done, "--", prog, "500", NULL};
	assert_int_equal(record(args, 0), 0);
	assert_int_equal(trace_load(out, &t), 0);
	assert_int_equal(t.read_error, 0);
	const struct tl_desc *dt = NULL, *dd = NULL;
	for (size_t i = 0; i < t.ndescs; i++) {
		if (strstr(t.descs[i].name, ":bpftape:tick"))
			dt = &t.descs[i];
		if (strstr(t.descs[i].name, ":bpftape:done"))
			dd = &t.descs[i];
	}
	assert_true(dt && dd);
	if (!dt || !dd)
		return;
	assert_int_equal(dt->source, TAPE_SRC_USDT);
	int64_t expect = 0;
	int ticks = 0, dones = 0;
	for (size_t i = 0; i < t.nevents; i++) {
		const struct tl_event *e = &t.events[i];
		int64_t a0, a1;

		assert_int_equal(e->payload_size, 48);
		memcpy(&a0, e->payload, 8);
		memcpy(&a1, e->payload + 8, 8);
		if (e->type_id == dt->type_id) {
			/* one thread: in order, tick(i, 2 * i) */
			assert_int_equal(a0, expect);
			assert_int_equal(a1, 2 * expect);
			expect++;
			ticks++;
		} else if (e->type_id == dd->type_id) {
			assert_int_equal(a0, 500);
			assert_true(e->ustack_id != 0);
			dones++;
		}
	}
	assert_int_equal(ticks, 500);
	assert_int_equal(dones, 1);
	trace_free(&t);
	unlink(out);
}

static void test_record__comm_rename(void **state)
{
	char out[256];
	struct trace t;

	tl_tmp_path(out, sizeof(out), ".tape");
	char *args[] = {recorder, "-q",
			"-o",	  out,
			"-e",	  "t:sched:sched_process_exec",
			"--",	  "/bin/sh",
			"-c",	  "echo -n renamed >/proc/$$/comm; exit 5",
			NULL};
	assert_int_equal(record(args, 5), 5);
	assert_int_equal(trace_load(out, &t), 0);
	int comm = 0, exec_comm = 0;
	for (size_t i = 0; i < t.nprocs; i++) {
		if (t.procs[i].kind == TAPE_PROC_COMM) {
			comm++;
			assert_string_equal(t.procs[i].comm, "renamed");
		}
		/* the exec itself renames the task: that is in the EXEC record */
		if (t.procs[i].kind == TAPE_PROC_EXEC && !strcmp(t.procs[i].comm, "sh"))
			exec_comm++;
	}
	assert_int_equal(comm, 1);
	assert_int_equal(exec_comm, 1);
	trace_free(&t);
	unlink(out);
}

static void test_record__errors_are_one_line(void **state)
{
	char out[256], msg[2048], prog[600];
	int rc;

	tl_tmp_path(out, sizeof(out), ".tape");
	path_of(prog, sizeof(prog), "exit_with");

	struct {
		const char *spec;
		int code;
		const char *needle;
	} cases[] = {
	    {"t:sched", 2, "invalid probe spec"},
	    {"bogus:thing:x", 2, "unknown probe type"},
	    {"nosuchcat:nosuchevent", 2, "unknown tracepoint"},
	    {"t:nosuchcat:nosuchevent", 2, "unknown tracepoint"},
	    {"usdt:/nonexistent/x:prov:probe", 2, "cannot read '/nonexistent/x'"},
	    {"uprobe:/nonexistent/bin:main", 2, "cannot read '/nonexistent/bin'"},
	    {"profile:hz:0", 2, "profile:hz:N"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *args[] = {recorder, "-o", out, "-e", (char *)cases[i].spec,
				"--",	  prog, "0", NULL};
		rc = read_stderr_of(args, msg, sizeof(msg));
		assert_int_equal(rc, cases[i].code);
		assert_non_null(strstr(msg, cases[i].needle));
		assert_non_null(strstr(msg, "bpftape-record: "));
		assert_int_equal(strchr(msg, '\n') - msg, (long)strlen(msg) - 1);
		assert_int_equal(access(out, F_OK), -1);
	}
	/* a probe that cannot be attached: runtime error, no file left */
	{
		char spec[700];
		char *args[] = {recorder, "-o", out, "-e", spec, "--", prog, "0", NULL};

		snprintf(spec, sizeof(spec), "uprobe:%s:no_such_function_here", prog);
		rc = read_stderr_of(args, msg, sizeof(msg));
		assert_int_equal(rc, 1);
		assert_non_null(strstr(msg, "bpftape-record: cannot attach 'uprobe:"));
		assert_non_null(strstr(msg, "': no such file or symbol"));
		assert_int_equal(strchr(msg, '\n') - msg, (long)strlen(msg) - 1);
		assert_int_equal(access(out, F_OK), -1);
	}
	/* kprobes: missing here (runtime error, 1), or not implemented (usage, 2) */
	{
		char *args[] = {recorder, "-o", out, "-e", "kprobe:vfs_read",
				"--",	  prog, "0", NULL};
		rc = read_stderr_of(args, msg, sizeof(msg));
		assert_true(rc == 1 || rc == 2);
		assert_non_null(strstr(msg, "kprobe"));
		assert_int_equal(access(out, F_OK), -1);
	}
	{
		char *args[] = {recorder, "--bogus", NULL};
		rc = read_stderr_of(args, msg, sizeof(msg));
		assert_int_equal(rc, 2);
		assert_string_equal(msg, "bpftape-record: unknown option '--bogus' (see --help)\n");
		char *args2[] = {recorder, "-o", NULL};
		rc = read_stderr_of(args2, msg, sizeof(msg));
		assert_int_equal(rc, 2);
		assert_string_equal(msg, "bpftape-record: option '-o' needs a value\n");
	}
	{
		char *args[] = {recorder, "-d", "10xyz", "-o", out, NULL};
		rc = read_stderr_of(args, msg, sizeof(msg));
		assert_int_equal(rc, 2);
		assert_non_null(strstr(msg, "invalid duration '10xyz'"));
	}
	/* without privileges: one line, exit 1, before anything is created */
	{
		char errfile[256];

		tl_tmp_path(errfile, sizeof(errfile), ".err");
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			int fd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0666);

			dup2(fd, 2);
			if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
				_exit(125);
			execl(recorder, recorder, "-o", out, "-d", "1s", (char *)NULL);
			_exit(126);
		}
		int st;
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 1);
		char *text = NULL;
		assert_int_equal(rec_read_file(errfile, &text, NULL), 0);
		assert_non_null(
		    strstr(text, "bpftape-record: need root or CAP_BPF and CAP_PERFMON"));
		free(text);
		unlink(errfile);
		assert_int_equal(access(out, F_OK), -1);
	}
	/* an existing file is not overwritten without -f */
	{
		int fd = open(out, O_CREAT | O_WRONLY | O_EXCL, 0644);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, "keep", 4), 4);
		close(fd);
		char *args[] = {recorder, "-o", out, "-e", "t:sched:sched_process_exec",
				"--",	  prog, "0", NULL};
		rc = read_stderr_of(args, msg, sizeof(msg));
		assert_int_equal(rc, 1);
		assert_non_null(strstr(msg, "exists"));
		struct stat sb;
		assert_int_equal(stat(out, &sb), 0);
		assert_int_equal(sb.st_size, 4);
		char *fargs[] = {
		    recorder, "-q", "-f", "-o", out, "-e", "t:sched:sched_process_exec",
		    "--",     prog, "0",  NULL};
		assert_int_equal(record(fargs, 0), 0);
		assert_int_equal(stat(out, &sb), 0);
		assert_true(sb.st_size > 4);
		unlink(out);
	}
	/* never follows a symlink, even with -f */
	{
		char target[256];

		tl_tmp_path(target, sizeof(target), ".target");
		int fd = open(target, O_CREAT | O_WRONLY | O_EXCL, 0644);
		assert_true(fd >= 0);
		close(fd);
		assert_int_equal(symlink(target, out), 0);
		char *args[] = {recorder, "-f", "-o", out, "-e", "t:sched:sched_process_exec",
				"--",	  prog, "0",  NULL};
		rc = read_stderr_of(args, msg, sizeof(msg));
		assert_int_equal(rc, 1);
		struct stat sb;
		assert_int_equal(stat(target, &sb), 0);
		assert_int_equal(sb.st_size, 0);
		unlink(out);
		unlink(target);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_record__getppid_exact_count),
	    cmocka_unit_test(test_record__exec_filename_data_loc),
	    cmocka_unit_test(test_record__forker_lifecycle),
	    cmocka_unit_test(test_record__profile_burner_ratio),
	    cmocka_unit_test(test_record__sigkill_leaves_readable_file),
	    cmocka_unit_test(test_record__sigint_and_sigterm_stop_cleanly),
	    cmocka_unit_test(test_record__pid_filter_scans_mappings),
	    cmocka_unit_test(test_record__wildcards_and_syscall_exit),
	    cmocka_unit_test(test_record__comm_rename),
	    cmocka_unit_test(test_record__usdt_args),
	    cmocka_unit_test(test_record__offcpu_sleep),
	    cmocka_unit_test(test_record__uprobe_args_and_returns),
	    cmocka_unit_test(test_record__errors_are_one_line),
	};

	tl_require_root();
	snprintf(recorder, sizeof(recorder), "%s/bpftape-record", tl_bin_dir());
	snprintf(samples, sizeof(samples), "%s/samples", tl_build_dir());
	if (access(recorder, X_OK)) {
		printf("skipped: %s not built\n", recorder);
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
