/* SPDX-License-Identifier: MIT */
/*
 * The example trace: a small, fully deterministic trace written with the
 * format writer, with every record kind the analyzer reads (host facts,
 * tracepoints with __data_loc and char[] fields, CPU samples with kernel and
 * user stacks, embedded symbols, kallsyms, process lifecycle, mappings,
 * losses, end).  The analyzer's golden outputs (tests/analyzer/golden) are
 * made from it; docs/ANALYZER.md explains what it contains.
 *
 * Contents (T0 = 1000 s monotonic = 2025-11-22 10:15:00 UTC):
 *  - processes: bash (100, scanned) forks 200 which execs /nonexistent/demo
 *    and starts thread 201 (renamed demo-worker); bash forks 300 which execs
 *    /usr/bin/sleep and is killed by SIGKILL; 200 exits with code 1.
 *  - profile: 200 samples demo main>burner_branch_a>spin, 100 samples
 *    demo-worker main>burner_branch_b>spin, 30 of branch a with a timer
 *    interrupt kernel stack, 5 in the vdso, 2 unmapped (sleep), 3 idle.
 *  - syscalls:sys_enter_read/sys_exit_read pairs with known latencies.
 *  - block:block_rq_complete with known nr_sector values.
 */
#include <errno.h>
#include <string.h>

#include <tape/endian.h>
#include <tape/writer.h>

#include "example_trace.h"

#define T0 1000000000000ull
#define MS 1000000ull
#define EXE_BASE 0x555555554000ull
#define LIBC_BASE 0x7f0000000000ull
#define VDSO_BASE 0x7fff00000000ull

static const char fmt_common[] =
    "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
    "\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"
    "\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"
    "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n";

static const char fmt_exec[] =
    "\tfield:__data_loc char[] filename;\toffset:8;\tsize:4;\tsigned:0;\n"
    "\tfield:pid_t pid;\toffset:12;\tsize:4;\tsigned:1;\n"
    "\tfield:pid_t old_pid;\toffset:16;\tsize:4;\tsigned:1;\n\n"
    "print fmt: \"filename=%s pid=%d old_pid=%d\", __get_str(filename), REC->pid, "
    "REC->old_pid\n";

static const char fmt_enter_read[] =
    "\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n"
    "\tfield:unsigned int fd;\toffset:16;\tsize:8;\tsigned:0;\n"
    "\tfield:char * buf;\toffset:24;\tsize:8;\tsigned:0;\n"
    "\tfield:size_t count;\toffset:32;\tsize:8;\tsigned:0;\n\n"
    "print fmt: \"fd: 0x%08lx, buf: 0x%08lx, count: 0x%08lx\", ((unsigned long)(REC->fd)), "
    "((unsigned long)(REC->buf)), ((unsigned long)(REC->count))\n";

static const char fmt_exit_read[] = "\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;\n"
				    "\tfield:long ret;\toffset:16;\tsize:8;\tsigned:1;\n\n"
				    "print fmt: \"0x%lx\", REC->ret\n";

static const char fmt_block[] = "\tfield:dev_t dev;\toffset:8;\tsize:4;\tsigned:0;\n"
				"\tfield:sector_t sector;\toffset:16;\tsize:8;\tsigned:0;\n"
				"\tfield:unsigned int nr_sector;\toffset:24;\tsize:4;\tsigned:0;\n"
				"\tfield:int error;\toffset:28;\tsize:4;\tsigned:1;\n"
				"\tfield:unsigned short ioprio;\toffset:32;\tsize:2;\tsigned:0;\n"
				"\tfield:char rwbs[10];\toffset:34;\tsize:10;\tsigned:0;\n"
				"\tfield:__data_loc char[] cmd;\toffset:44;\tsize:4;\tsigned:0;\n\n"
				"print fmt: \"%d,%d %s (%s) %llu + %u\", ...\n";

static const uint8_t demo_build_id[20] = {0xde, 0x30, 0x01, 0x02, 0x03, 0x04, 0x05,
					  0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c,
					  0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12};

const int64_t example_read_lat_ns_200[] = {1500, 3000, 7000, 12000, 25000, 60000, 250000, 1100000};
const int64_t example_read_lat_ns_201[] = {2000, 4000, 900000};
const size_t example_n_read_200 = sizeof(example_read_lat_ns_200) / sizeof(int64_t);
const size_t example_n_read_201 = sizeof(example_read_lat_ns_201) / sizeof(int64_t);
const int64_t example_nr_sector[] = {8, 8, 8, 16, 16, 32, 64, 128, 256, 1, 0, 2048};
const size_t example_n_block = sizeof(example_nr_sector) / sizeof(int64_t);

static int desc(struct tape_writer *w, uint32_t id, uint32_t source, uint32_t flags,
		const char *name, const char *spec, const char *tpname, uint32_t tp_id,
		const char *fields)
{
	struct tape_event_desc d = {0};
	char format[4096];

	d.type_id = id;
	d.source = source;
	d.flags = flags;
	d.tp_id = tp_id;
	d.name = tape_str_c(name);
	d.spec = tape_str_c(spec);
	if (fields) {
		snprintf(format, sizeof(format), "name: %s\nID: %u\nformat:\n%s%s", tpname, tp_id,
			 fmt_common, fields);
		d.format = tape_str_c(format);
	}
	return tape_writer__event_desc(w, &d);
}

static int event(struct tape_writer *w, uint32_t type, uint64_t ts, uint32_t cpu, uint32_t pid,
		 uint32_t tid, uint32_t kstack, uint32_t ustack, const void *payload, uint32_t size)
{
	struct tape_event ev = {
	    .type_id = type,
	    .cpu = cpu,
	    .ts_ns = ts,
	    .pid = pid,
	    .tid = tid,
	    .kstack_id = kstack,
	    .ustack_id = ustack,
	    .payload_size = size,
	    .payload = payload,
	};

	return tape_writer__event(w, &ev);
}

static void tp_header(uint8_t *p, uint16_t tp_id, uint32_t pid)
{
	tape_put_u16(p, tp_id);
	p[2] = 0;
	p[3] = 0;
	tape_put_u32(p + 4, pid);
}

static int proc(struct tape_writer *w, uint32_t kind, uint32_t flags, uint64_t ts, uint32_t pid,
		uint32_t tid, uint32_t ppid, int32_t status, const char *comm, const char *file)
{
	struct tape_proc p = {
	    .kind = kind,
	    .flags = flags,
	    .ts_ns = ts,
	    .pid = pid,
	    .tid = tid,
	    .ppid = ppid,
	    .exit_code = status,
	    .comm = tape_str_c(comm),
	    .filename = tape_str_c(file),
	};

	return tape_writer__proc(w, &p);
}

static int mmap_rec(struct tape_writer *w, uint64_t ts, uint32_t pid, uint64_t start, uint64_t end,
		    const char *path, const uint8_t *bid)
{
	struct tape_mmap m = {
	    .ts_ns = ts,
	    .pid = pid,
	    .prot = TAPE_MMAP_PROT_READ | TAPE_MMAP_PROT_EXEC,
	    .start = start,
	    .end = end,
	    .pgoff = 0,
	    .path = tape_str_c(path),
	};

	if (bid) {
		memcpy(m.build_id, bid, 20);
		m.build_id_size = 20;
	}
	return tape_writer__mmap(w, &m);
}

static int stack(struct tape_writer *w, uint32_t id, uint32_t flags, const uint64_t *ips,
		 uint32_t n)
{
	struct tape_stack s = {.id = id, .flags = flags, .nframes = n, .ips = ips};

	return tape_writer__stack(w, &s);
}

int example_trace_write(const char *path, char *err, size_t err_size)
{
	struct tape_writer_opts o = {.chunk_bytes = 4096, .flags = TAPE_WRITER_F_FORCE};
	struct tape_writer *w = NULL;
	struct tape_host h = {0};
	static const struct tape_ksym ksyms[] = {
	    {0xffffffff81000000ull, 'T', {"_stext", 6}, {"", 0}},
	    {0xffffffff81100000ull, 'T', {"do_syscall_64", 13}, {"", 0}},
	    {0xffffffff81100400ull, 'T', {"ksys_read", 9}, {"", 0}},
	    {0xffffffff81100800ull, 'T', {"vfs_read", 8}, {"", 0}},
	    {0xffffffff81200000ull, 'T', {"asm_sysvec_apic_timer_interrupt", 31}, {"", 0}},
	    {0xffffffff81200100ull, 'T', {"sysvec_apic_timer_interrupt", 27}, {"", 0}},
	    {0xffffffff81400000ull, 'T', {"_etext", 6}, {"", 0}},
	};
	static const struct tape_sym demo_syms[] = {
	    {0x1100, 0x100, {"main", 4}},
	    {0x1200, 0x100, {"burner_branch_a", 15}},
	    {0x1300, 0x100, {"burner_branch_b", 15}},
	    {0x1400, 0x80, {"spin", 4}},
	};
	const uint64_t st_a[] = {EXE_BASE + 0x1410, EXE_BASE + 0x1225, EXE_BASE + 0x1135,
				 LIBC_BASE + 0x29d90};
	const uint64_t st_b[] = {EXE_BASE + 0x1410, EXE_BASE + 0x1325, EXE_BASE + 0x1145,
				 LIBC_BASE + 0x29d90};
	const uint64_t st_k[] = {0xffffffff81200105ull, 0xffffffff81200010ull};
	const uint64_t st_r[] = {0xffffffff81100820ull, 0xffffffff81100410ull,
				 0xffffffff81100090ull};
	const uint64_t st_v[] = {VDSO_BASE + 0x400, EXE_BASE + 0x1140, LIBC_BASE + 0x29d90};
	const uint64_t st_u[] = {0x12345678};
	struct tape_symtab symtab = {0};
	struct tape_loss loss = {0};
	struct tape_end end = {0};
	uint8_t p[64];
	uint64_t ts;
	uint64_t nev = 0;
	size_t i;
	int ret;

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if ((ret = (x)) < 0)                                                               \
			goto fail;                                                                 \
	} while (0)

	ret = tape_writer__open(&w, path, &o, err, err_size);
	if (ret)
		return ret;
	h.page_size = 4096;
	h.ncpus = 2;
	h.clock_mono_ns = T0;
	h.clock_realtime_ns = 1763806500ull * 1000000000ull;
	h.start_ns = T0;
	h.hostname = tape_str_c("demo-host");
	h.sysname = tape_str_c("Linux");
	h.release = tape_str_c("6.18.0-demo");
	h.version = tape_str_c("#1 SMP PREEMPT_DYNAMIC");
	h.machine = tape_str_c("x86_64");
	h.recorder = tape_str_c("bpftape-record 0.1.0");
	h.cmdline = tape_str_c("bpftape-record -o example.tape -g -e profile:hz:99 -- demo");
	CHECK(tape_writer__host(w, &h));
	CHECK(tape_writer__ksyms(w, ksyms, sizeof(ksyms) / sizeof(ksyms[0])));
	symtab.build_id_size = 20;
	memcpy(symtab.build_id, demo_build_id, 20);
	symtab.path = tape_str_c("/nonexistent/demo");
	CHECK(tape_writer__symtab(w, &symtab, demo_syms, sizeof(demo_syms) / sizeof(demo_syms[0])));
	CHECK(desc(w, 1, TAPE_SRC_PROFILE, TAPE_DESC_F_KSTACK | TAPE_DESC_F_USTACK, "profile",
		   "profile:hz:99", NULL, 0, NULL));
	CHECK(desc(w, 2, TAPE_SRC_TRACEPOINT, 0, "sched:sched_process_exec",
		   "t:sched:sched_process_exec", "sched_process_exec", 365, fmt_exec));
	CHECK(desc(w, 3, TAPE_SRC_TRACEPOINT, TAPE_DESC_F_KSTACK, "syscalls:sys_enter_read",
		   "t:syscalls:sys_enter_read", "sys_enter_read", 842, fmt_enter_read));
	CHECK(desc(w, 4, TAPE_SRC_TRACEPOINT, 0, "syscalls:sys_exit_read",
		   "t:syscalls:sys_exit_read", "sys_exit_read", 841, fmt_exit_read));
	CHECK(desc(w, 5, TAPE_SRC_TRACEPOINT, 0, "block:block_rq_complete",
		   "t:block:block_rq_complete", "block_rq_complete", 2107, fmt_block));

	/* process lifecycle */
	CHECK(proc(w, TAPE_PROC_SCAN, 0, T0, 100, 100, 1, 0, "bash", "/usr/bin/bash"));
	CHECK(proc(w, TAPE_PROC_FORK, 0, T0 + 1 * MS, 200, 200, 100, 0, "bash", ""));
	CHECK(
	    proc(w, TAPE_PROC_EXEC, 0, T0 + 2 * MS, 200, 200, 100, 0, "demo", "/nonexistent/demo"));
	memset(p, 0, sizeof(p));
	tp_header(p, 365, 200);
	tape_put_u32(p + 8, (uint32_t)(sizeof("/nonexistent/demo") << 16 | 20));
	tape_put_u32(p + 12, 200);
	tape_put_u32(p + 16, 200);
	memcpy(p + 20, "/nonexistent/demo", sizeof("/nonexistent/demo"));
	CHECK(event(w, 2, T0 + 2 * MS, 0, 200, 200, 0, 0, p, 20 + sizeof("/nonexistent/demo")));
	nev++;
	CHECK(mmap_rec(w, T0 + 2 * MS, 200, EXE_BASE, EXE_BASE + 0x4000, "/nonexistent/demo",
		       demo_build_id));
	CHECK(mmap_rec(w, T0 + 2 * MS, 200, LIBC_BASE, LIBC_BASE + 0x200000,
		       "/nonexistent/libc.so.6", NULL));
	CHECK(mmap_rec(w, T0 + 2 * MS, 200, VDSO_BASE, VDSO_BASE + 0x2000, "[vdso]", NULL));
	CHECK(
	    proc(w, TAPE_PROC_FORK, TAPE_PROC_F_THREAD, T0 + 3 * MS, 200, 201, 200, 0, "demo", ""));
	CHECK(proc(w, TAPE_PROC_COMM, 0, T0 + 4 * MS, 200, 201, 200, 0, "demo-worker", ""));
	CHECK(proc(w, TAPE_PROC_FORK, 0, T0 + 5 * MS, 300, 300, 100, 0, "bash", ""));
	CHECK(proc(w, TAPE_PROC_EXEC, 0, T0 + 6 * MS, 300, 300, 100, 0, "sleep", "/usr/bin/sleep"));
	memset(p, 0, sizeof(p));
	tp_header(p, 365, 300);
	tape_put_u32(p + 8, (uint32_t)(sizeof("/usr/bin/sleep") << 16 | 20));
	tape_put_u32(p + 12, 300);
	tape_put_u32(p + 16, 300);
	memcpy(p + 20, "/usr/bin/sleep", sizeof("/usr/bin/sleep"));
	CHECK(event(w, 2, T0 + 6 * MS, 1, 300, 300, 0, 0, p, 20 + sizeof("/usr/bin/sleep")));
	nev++;

	CHECK(stack(w, 1, 0, st_a, 4));
	CHECK(stack(w, 2, 0, st_b, 4));
	CHECK(stack(w, 3, TAPE_STACK_F_KERNEL, st_k, 2));
	CHECK(stack(w, 4, TAPE_STACK_F_KERNEL, st_r, 3));
	CHECK(stack(w, 5, 0, st_v, 3));
	CHECK(stack(w, 6, 0, st_u, 1));

	/* CPU samples, 1 ms apart per stream */
	for (i = 0; i < 200; i++, nev++)
		CHECK(event(w, 1, T0 + 10 * MS + i * MS, 0, 200, 200, 0, 1, NULL, 0));
	for (i = 0; i < 100; i++, nev++)
		CHECK(event(w, 1, T0 + 10 * MS + i * MS + 500000, 1, 200, 201, 0, 2, NULL, 0));
	for (i = 0; i < 30; i++, nev++)
		CHECK(event(w, 1, T0 + 300 * MS + i * MS, 0, 200, 200, 3, 1, NULL, 0));
	for (i = 0; i < 5; i++, nev++)
		CHECK(event(w, 1, T0 + 400 * MS + i * MS, 0, 200, 200, 0, 5, NULL, 0));
	for (i = 0; i < 2; i++, nev++)
		CHECK(event(w, 1, T0 + 450 * MS + i * MS, 1, 300, 300, 0, 6, NULL, 0));
	for (i = 0; i < 3; i++, nev++)
		CHECK(event(w, 1, T0 + 460 * MS + i * MS, 1, 0, 0, 3, 0, NULL, 0));

	loss.ts_ns = T0 + 100 * MS;
	loss.type_id = 1;
	loss.cpu = 0;
	loss.kind = TAPE_LOSS_RINGBUF;
	loss.count = 3;
	CHECK(tape_writer__loss(w, &loss));

	/* read() pairs: enter at ts, exit at ts + latency */
	ts = T0 + 500 * MS;
	for (i = 0; i < example_n_read_200; i++, ts += 2 * MS) {
		memset(p, 0, sizeof(p));
		tp_header(p, 842, 200);
		tape_put_u32(p + 8, 0);
		tape_put_u64(p + 16, 3);
		tape_put_u64(p + 24, 0x7ffd0000);
		tape_put_u64(p + 32, 4096);
		CHECK(event(w, 3, ts, 0, 200, 200, 4, 0, p, 40));
		memset(p, 0, sizeof(p));
		tp_header(p, 841, 200);
		tape_put_u64(p + 16, i == 3 ? (uint64_t)-11 : 4096);
		CHECK(event(w, 4, ts + (uint64_t)example_read_lat_ns_200[i], 0, 200, 200, 0, 0, p,
			    24));
		nev += 2;
	}
	ts = T0 + 501 * MS;
	for (i = 0; i < example_n_read_201; i++, ts += 2 * MS) {
		memset(p, 0, sizeof(p));
		tp_header(p, 842, 201);
		tape_put_u64(p + 16, 4);
		tape_put_u64(p + 24, 0x7ffd1000);
		tape_put_u64(p + 32, 512);
		CHECK(event(w, 3, ts, 1, 200, 201, 0, 0, p, 40));
		memset(p, 0, sizeof(p));
		tp_header(p, 841, 201);
		tape_put_u64(p + 16, 512);
		CHECK(event(w, 4, ts + (uint64_t)example_read_lat_ns_201[i], 1, 200, 201, 0, 0, p,
			    24));
		nev += 2;
	}
	/* block completions */
	for (i = 0; i < example_n_block; i++, nev++) {
		memset(p, 0, sizeof(p));
		tp_header(p, 2107, 0);
		tape_put_u32(p + 8, 8u << 20);
		tape_put_u64(p + 16, 1000 + 8 * i);
		tape_put_u32(p + 24, (uint32_t)example_nr_sector[i]);
		tape_put_u32(p + 28, 0);
		memcpy(p + 34, i % 3 ? "R" : "WS", i % 3 ? 2 : 3);
		tape_put_u32(p + 44, 1u << 16 | 48);
		CHECK(event(w, 5, T0 + 600 * MS + i * MS, 0, 0, 0, 0, 0, p, 49));
	}

	loss.ts_ns = T0 + 500 * MS;
	loss.count = 5;
	CHECK(tape_writer__loss(w, &loss));
	loss.ts_ns = T0 + 500 * MS;
	loss.cpu = TAPE_LOSS_ANY;
	loss.kind = TAPE_LOSS_USTACK;
	loss.count = 2;
	CHECK(tape_writer__loss(w, &loss));

	CHECK(proc(w, TAPE_PROC_EXIT, 0, T0 + 506 * MS, 300, 300, 100, 9, "sleep", ""));
	CHECK(proc(w, TAPE_PROC_EXIT, TAPE_PROC_F_THREAD, T0 + 900 * MS, 200, 201, 200, 0,
		   "demo-worker", ""));
	CHECK(proc(w, TAPE_PROC_EXIT, 0, T0 + 1000 * MS, 200, 200, 100, 1 << 8, "demo", ""));
	end.ts_ns = T0 + 1001 * MS;
	end.status = 1;
	end.events = nev;
	end.lost = 7;
	CHECK(tape_writer__end(w, &end));
	return tape_writer__close(w);
fail:
	snprintf(err, err_size, "%s", tape_writer__errmsg(w));
	tape_writer__close(w);
	return ret;
#undef CHECK
}
