// SPDX-License-Identifier: MIT
/*
 * The recording session: resolve probe specs into event types (tracefs
 * formats), load and configure the BPF skeleton, create the per-CPU rings,
 * write the trace preamble (host, event descriptors, kallsyms, /proc scan),
 * attach, then drain rings and the mapping side-band into the writer until
 * told to stop.  Loss counters from BPF and from userspace are written as
 * cumulative LOSS records every second and at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/perf_event.h>
#include <linux/types.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <tape/writer.h>

#include "bpftape_events.h"
#include "bpftape.skel.h"
#include "mmapwatch.h"
#include "rings.h"
#include "session.h"

#define PROG "bpftape-record"
#define REC_MAX_RINGS 64

struct rec_type {
	uint32_t id;
	uint32_t source; /* TAPE_SRC_* */
	char name[300];
	const char *spec;
	char *format;
	struct bt_type_cfg cfg;
	char cat[128], tp[128];
	unsigned int hz;
	int sys_kind; /* SYS_* below: served by the raw_syscalls hooks */
	uint32_t sys_nr;
	uint64_t events;
	uint64_t stack_trunc; /* userspace counters */
	uint64_t payload_trunc;
	uint64_t w_stack_trunc, w_payload_trunc; /* last values written */
};

enum { SYS_NONE, SYS_RAW_ENTER, SYS_RAW_EXIT, SYS_ENTER, SYS_EXIT };

static const struct {
	const char *name;
	int nr;
} syscall_table[] = {
#include "syscall_table.h"
};

/* Syscall number of a tracefs syscall event name ("getppid"), or -1. */
static int syscall_nr(const char *name)
{
	for (size_t i = 0; i < sizeof(syscall_table) / sizeof(syscall_table[0]); i++)
		if (!strcmp(syscall_table[i].name, name))
			return syscall_table[i].nr;
	return -1;
}

static int classify_syscall(const char *cat, const char *name, uint32_t *nr)
{
	int n;

	if (!strcmp(cat, "raw_syscalls"))
		return !strcmp(name, "sys_enter")  ? SYS_RAW_ENTER
		       : !strcmp(name, "sys_exit") ? SYS_RAW_EXIT
						   : SYS_NONE;
	if (strcmp(cat, "syscalls"))
		return SYS_NONE;
	if (!strncmp(name, "sys_enter_", 10) && (n = syscall_nr(name + 10)) >= 0 && n < 1024) {
		*nr = (uint32_t)n;
		return SYS_ENTER;
	}
	if (!strncmp(name, "sys_exit_", 9) && (n = syscall_nr(name + 9)) >= 0 && n < 1024) {
		*nr = (uint32_t)n;
		return SYS_EXIT;
	}
	return SYS_NONE;
}

struct session {
	const struct rec_opts *o;
	struct rec_type *types; /* index = type id; [0] unused */
	uint32_t ntypes;
	struct bpftape_bpf *skel;
	int *ring_fds;
	int nrings;
	uint64_t ring_bytes;
	struct rec_rings *rb;
	struct bpf_link **links;
	size_t nlinks, caplinks;
	int *pfds; /* profile perf_event fds */
	size_t npfds;
	struct rec_mmapwatch *mw;
	struct tape_writer *w;
	struct rec_stacks *stacks;
	struct rec_buildid_cache *bc;
	int ncpus;
	bool filter;
	int tracked_fd;
	uint32_t offcpu_type;
	struct rec_ranges bpf_frames; /* leading kernel frames that are BPF's own */
	uint32_t *exited;	      /* tgids to untrack after the next mapping drain */
	size_t nexited, capexited;
	uint64_t *loss_prev; /* last written per-CPU loss values */
	uint64_t events, procs, maps, stacks_written;
	uint64_t mmap_lost_written;
	uint64_t recursion_written;
	uint64_t malformed; /* ring records too short or inconsistent to use */
	int fatal;	    /* writer error */
	char errbuf[512];
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return vfprintf(stderr, fmt, ap);
}

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

static bool have_privileges(void)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2] = {{0}};

	if (syscall(SYS_capget, &h, d))
		return geteuid() == 0;
#define HAS(cap) (d[(cap) / 32].effective & (1u << ((cap) % 32)))
	return HAS(21 /* CAP_SYS_ADMIN */) || (HAS(39 /* CAP_BPF */) && HAS(38 /* CAP_PERFMON */));
#undef HAS
}

/* ---- resolving specs into event types ---- */

static int add_type(struct session *s, struct rec_type **out)
{
	struct rec_type *nt;

	if (s->ntypes + 1 >= BT_MAX_TYPES) {
		fprintf(stderr, PROG ": too many event types (max %d)\n", BT_MAX_TYPES - 1);
		return -E2BIG;
	}
	nt = realloc(s->types, (s->ntypes + 2) * sizeof(*nt));
	if (!nt)
		return -ENOMEM;
	s->types = nt;
	if (s->ntypes == 0) {
		memset(&s->types[0], 0, sizeof(s->types[0]));
		s->ntypes = 1;
	}
	*out = &s->types[s->ntypes];
	memset(*out, 0, sizeof(**out));
	(*out)->id = s->ntypes++;
	return 0;
}

static unsigned int stack_cfg(const struct session *s, const struct rec_spec *sp)
{
	unsigned int st = sp->stacks;

	if (s->o->all_stacks)
		st |= REC_STACK_K | REC_STACK_U;
	return (st & REC_STACK_K ? BT_CFG_KSTACK : 0) | (st & REC_STACK_U ? BT_CFG_USTACK : 0);
}

static bool kernel_has_kprobes(const char *tracefs)
{
	char p[300];

	snprintf(p, sizeof(p), "%s/kprobe_events", tracefs);
	return access(p, F_OK) == 0 || access("/sys/bus/event_source/devices/kprobe", F_OK) == 0;
}

/* Format texts stored with uprobe events, in tracefs syntax, so readers
 * decode their payload by field name like a tracepoint's. */
static const char uprobe_format[] = "name: uprobe\nID: 0\nformat:\n"
				    "\tfield:u64 arg0;\toffset:0;\tsize:8;\tsigned:0;\n"
				    "\tfield:u64 arg1;\toffset:8;\tsize:8;\tsigned:0;\n"
				    "\tfield:u64 arg2;\toffset:16;\tsize:8;\tsigned:0;\n"
				    "\tfield:u64 arg3;\toffset:24;\tsize:8;\tsigned:0;\n"
				    "\tfield:u64 arg4;\toffset:32;\tsize:8;\tsigned:0;\n"
				    "\tfield:u64 arg5;\toffset:40;\tsize:8;\tsigned:0;\n"
				    "\nprint fmt: \"(%llx) arg0=%llx\", REC->arg0\n";
static const char uretprobe_format[] = "name: uretprobe\nID: 0\nformat:\n"
				       "\tfield:u64 ret;\toffset:0;\tsize:8;\tsigned:0;\n"
				       "\nprint fmt: \"ret=%llx\", REC->ret\n";

/* offcpu events: struct bt_offcpu */
static const char offcpu_format[] =
    "name: offcpu\nID: 0\nformat:\n"
    "\tfield:u64 duration_ns;\toffset:0;\tsize:8;\tsigned:0;\n"
    "\tfield:u32 state;\toffset:8;\tsize:4;\tsigned:0;\n"
    "\nprint fmt: \"duration_ns=%llu state=%u\", REC->duration_ns, REC->state\n";

/* Returns 0, or an exit code (1 runtime, 2 usage) after printing the error. */
static int resolve_specs(struct session *s)
{
	char tracefs[256] = "", err[300];
	bool have_tracefs = false;

	for (size_t i = 0; i < s->o->nspecs; i++) {
		const struct rec_spec *sp = &s->o->specs[i];
		struct rec_type *t;

		switch (sp->kind) {
		case REC_SPEC_PROFILE:
			if (add_type(s, &t))
				return 1;
			t->source = TAPE_SRC_PROFILE;
			snprintf(t->name, sizeof(t->name), "profile");
			t->spec = sp->text;
			t->hz = sp->hz;
			t->cfg.flags = (uint16_t)stack_cfg(s, sp);
			break;
		case REC_SPEC_TRACEPOINT: {
			struct rec_tp_name *names;
			size_t n;

			if (!have_tracefs) {
				if (rec_tracefs__root(tracefs, sizeof(tracefs), err, sizeof(err))) {
					fprintf(stderr, PROG ": %s\n", err);
					return 1;
				}
				have_tracefs = true;
			}
			if (rec_tracefs__match(tracefs, sp->cat, sp->name, &names, &n) || !n) {
				fprintf(stderr,
					PROG
					": unknown tracepoint '%s:%s' (no match in %s/events)\n",
					sp->cat, sp->name, tracefs);
				free(names);
				return 2;
			}
			for (size_t j = 0; j < n; j++) {
				char path[600];
				struct rec_tp_layout lay;

				if (add_type(s, &t)) {
					free(names);
					return 1;
				}
				t->source = TAPE_SRC_TRACEPOINT;
				t->spec = sp->text;
				snprintf(t->cat, sizeof(t->cat), "%s", names[j].cat);
				snprintf(t->tp, sizeof(t->tp), "%s", names[j].name);
				snprintf(t->name, sizeof(t->name), "%s:%s", names[j].cat,
					 names[j].name);
				snprintf(path, sizeof(path), "%s/events/%s/%s/format", tracefs,
					 names[j].cat, names[j].name);
				if (rec_read_file(path, &t->format, NULL)) {
					fprintf(stderr, PROG ": cannot read '%s': %s\n", path,
						strerror(errno));
					free(names);
					return 1;
				}
				if (rec_tp_format__parse(t->format, &lay, err, sizeof(err))) {
					fprintf(stderr, PROG ": cannot parse '%s': %s\n", path,
						err);
					free(names);
					return 1;
				}
				t->cfg.fixed_size = lay.fixed_size;
				t->cfg.n_loc = (uint8_t)lay.n_loc;
				memcpy(t->cfg.loc_off, lay.loc_off, sizeof(lay.loc_off));
				memcpy(t->cfg.loc_rel, lay.loc_rel, sizeof(lay.loc_rel));
				t->cfg.flags = (uint16_t)stack_cfg(s, sp);
				t->cfg.common_type = (uint16_t)lay.id;
				if (!strcmp(names[j].cat, "syscalls"))
					t->cfg.flags |= BT_CFG_FIX_COMMON;
				t->hz = lay.id; /* reused below as tp_id */
				t->sys_kind = classify_syscall(t->cat, t->tp, &t->sys_nr);
				/*
				 * The kernel stack of a syscall entry/exit event is always the
				 * syscall entry path: -g records only its user stack (unwinding
				 * it would triple the event's cost for no information).  An
				 * explicit ,kstack or ,stack on the spec still gets it.
				 */
				if (!(sp->stacks & REC_STACK_K) &&
				    (!strcmp(t->cat, "syscalls") ||
				     !strcmp(t->cat, "raw_syscalls")))
					t->cfg.flags &= (uint16_t)~BT_CFG_KSTACK;
				/* the raw hooks build at most the 64-byte enter record */
				if (t->sys_kind != SYS_NONE && (lay.fixed_size > 64 || lay.n_loc))
					t->sys_kind = SYS_NONE;
			}
			free(names);
			break;
		}
		case REC_SPEC_USDT:
			if (strchr(sp->cat, '/') && access(sp->cat, R_OK)) {
				fprintf(stderr, PROG ": '%s': cannot read '%s': %s\n", sp->text,
					sp->cat, strerror(errno));
				return 2;
			}
			if (add_type(s, &t))
				return 1;
			t->source = TAPE_SRC_USDT;
			t->spec = sp->text;
			snprintf(t->name, sizeof(t->name), "usdt:%s:%s", sp->cat, sp->name);
			snprintf(t->cat, sizeof(t->cat), "%s", sp->cat);
			snprintf(t->tp, sizeof(t->tp), "%s", sp->name); /* PROVIDER:NAME */
			t->format = strdup(uprobe_format);
			if (!t->format)
				return 1;
			t->cfg.fixed_size = 48;
			t->cfg.flags = (uint16_t)stack_cfg(s, sp);
			if (!(sp->stacks & REC_STACK_K))
				t->cfg.flags &= (uint16_t)~BT_CFG_KSTACK;
			break;
		case REC_SPEC_UPROBE:
		case REC_SPEC_URETPROBE: {
			bool ret = sp->kind == REC_SPEC_URETPROBE;

			if (strchr(sp->cat, '/') && access(sp->cat, R_OK)) {
				fprintf(stderr, PROG ": '%s': cannot read '%s': %s\n", sp->text,
					sp->cat, strerror(errno));
				return 2;
			}
			if (add_type(s, &t))
				return 1;
			t->source = ret ? TAPE_SRC_URETPROBE : TAPE_SRC_UPROBE;
			t->spec = sp->text;
			snprintf(t->name, sizeof(t->name), "%s:%s:%s", ret ? "uretprobe" : "uprobe",
				 sp->cat, sp->name);
			snprintf(t->cat, sizeof(t->cat), "%s", sp->cat);
			snprintf(t->tp, sizeof(t->tp), "%s", sp->name);
			t->format = strdup(ret ? uretprobe_format : uprobe_format);
			if (!t->format)
				return 1;
			t->cfg.fixed_size = ret ? 8 : 48;
			/* like syscalls, the kernel stack of a uprobe hit is the trap path */
			t->cfg.flags = (uint16_t)stack_cfg(s, sp);
			if (!(sp->stacks & REC_STACK_K))
				t->cfg.flags &= (uint16_t)~BT_CFG_KSTACK;
			break;
		}
		case REC_SPEC_KPROBE:
		case REC_SPEC_KRETPROBE:
			if (!have_tracefs &&
			    rec_tracefs__root(tracefs, sizeof(tracefs), err, sizeof(err)) == 0)
				have_tracefs = true;
			if (!kernel_has_kprobes(tracefs)) {
				fprintf(stderr,
					PROG ": cannot use '%s': this kernel has no kprobes "
					     "(CONFIG_KPROBES / CONFIG_KPROBE_EVENTS)\n",
					sp->text);
				return 1;
			}
			fprintf(stderr, PROG ": '%s': %s probes are not supported yet\n", sp->text,
				rec_spec_kind__name(sp->kind));
			return 2;
		case REC_SPEC_OFFCPU:
			if (s->offcpu_type) {
				fprintf(stderr, PROG ": offcpu given twice\n");
				return 2;
			}
			if (add_type(s, &t))
				return 1;
			t->source = TAPE_SRC_OFFCPU;
			t->spec = sp->text;
			snprintf(t->name, sizeof(t->name), "offcpu");
			t->format = strdup(offcpu_format);
			if (!t->format)
				return 1;
			t->cfg.fixed_size = 16;
			t->cfg.flags = BT_CFG_KSTACK | BT_CFG_USTACK;
			s->offcpu_type = t->id;
			break;
		}
	}
	return 0;
}

/* ---- BPF setup ---- */

/*
 * Keeps link L, or, when the attach that made it failed (L is NULL, errno
 * set), says "cannot attach WHAT: why" (ENOENT_WHY for ENOENT when given).
 * 0, or -1 after the message.
 */
static int keep_link(struct session *s, struct bpf_link *l, const char *what,
		     const char *enoent_why)
{
	if (!l) {
		fprintf(stderr, PROG ": cannot attach %s: %s\n", what,
			errno == ENOENT && enoent_why ? enoent_why : strerror(errno));
		return -1;
	}
	if (s->nlinks == s->caplinks) {
		size_t nc = s->caplinks ? s->caplinks * 2 : 64;
		struct bpf_link **nl = realloc(s->links, nc * sizeof(*nl));

		if (!nl) {
			bpf_link__destroy(l);
			fprintf(stderr, PROG ": out of memory\n");
			return -1;
		}
		s->links = nl;
		s->caplinks = nc;
	}
	s->links[s->nlinks++] = l;
	return 0;
}

static uint64_t round_pow2(uint64_t v)
{
	uint64_t p = 4096;

	while (p < v)
		p <<= 1;
	return p;
}

static void handle_ring(void *ctx, const void *data, size_t size);

static int setup_bpf(struct session *s)
{
	struct bpftape_bpf *skel;
	uint64_t rsize;
	int err;

	skel = bpftape_bpf__open();
	if (!skel) {
		fprintf(stderr, PROG ": cannot open BPF object: %s\n", strerror(errno));
		return -1;
	}
	s->skel = skel;
	/*
	 * One ring per CPU, so CPUs never share a producer lock -- up to
	 * REC_MAX_RINGS, beyond which CPUs share rings in groups (cpu % n).
	 * Default size: 8 MiB per ring (a 3 M events/s storm on one CPU fills
	 * 3.4 MiB per 10 ms drain interval) within 64 MiB in all, never below
	 * 2 MiB.
	 */
	s->nrings = libbpf_num_possible_cpus();
	if (s->nrings <= 0)
		s->nrings = 1;
	if (s->nrings > REC_MAX_RINGS)
		s->nrings = REC_MAX_RINGS;
	if (s->o->buffer_bytes) {
		rsize = round_pow2(s->o->buffer_bytes);
	} else {
		rsize = 8ull << 20;
		while (rsize > (2ull << 20) && rsize * (uint64_t)s->nrings > (64ull << 20))
			rsize >>= 1;
	}
	s->ring_bytes = rsize;
	skel->rodata->filter_pids = s->filter;
	skel->rodata->follow_children = s->o->cmd != NULL;
	skel->rodata->n_rings = (uint32_t)s->nrings;
	/* each CPU counts its own bytes: CPUs sharing a ring share the budget */
	skel->rodata->wakeup_bytes = rsize / 4 / (uint64_t)((s->ncpus + s->nrings - 1) / s->nrings);
	bpf_map__set_max_entries(skel->maps.rings, (uint32_t)s->nrings);
	skel->rodata->offcpu_type = s->offcpu_type;
	for (uint32_t id = 1; id < s->ntypes; id++) {
		if (s->types[id].sys_kind == SYS_RAW_ENTER)
			skel->rodata->sys_raw_enter_type = id;
		else if (s->types[id].sys_kind == SYS_RAW_EXIT)
			skel->rodata->sys_raw_exit_type = id;
		else if (s->types[id].sys_kind != SYS_NONE)
			skel->rodata->sys_per_nr = 1;
	}
	err = bpftape_bpf__load(skel);
	if (err) {
		fprintf(stderr, PROG ": cannot load BPF programs: %s%s\n", strerror(-err),
			s->o->verbosity > 0 ? "" : " (use -v for the verifier log)");
		return -1;
	}
	s->ring_fds = calloc((size_t)s->nrings, sizeof(int));
	if (!s->ring_fds || rec_rings__new(&s->rb, handle_ring, s))
		return -1;
	for (int i = 0; i < s->nrings; i++) {
		int fd =
		    bpf_map_create(BPF_MAP_TYPE_RINGBUF, "bt_ring", 0, 0, (uint32_t)rsize, NULL);
		uint32_t key = (uint32_t)i;

		s->ring_fds[i] = fd;
		if (fd < 0) {
			fprintf(stderr, PROG ": cannot create a %llu KiB ring buffer: %s\n",
				(unsigned long long)(rsize >> 10), strerror(errno));
			return -1;
		}
		if (bpf_map_update_elem(bpf_map__fd(skel->maps.rings), &key, &fd, BPF_ANY)) {
			fprintf(stderr, PROG ": cannot install ring buffer %d: %s\n", i,
				strerror(errno));
			return -1;
		}
		err = rec_rings__add(s->rb, fd, rsize);
		if (err) {
			fprintf(stderr, PROG ": cannot map ring buffer %d: %s\n", i,
				strerror(-err));
			return -1;
		}
	}
	for (uint32_t id = 1; id < s->ntypes; id++) {
		if (bpf_map_update_elem(bpf_map__fd(skel->maps.type_cfg), &id, &s->types[id].cfg,
					BPF_ANY)) {
			fprintf(stderr, PROG ": cannot configure event type %u: %s\n", id,
				strerror(errno));
			return -1;
		}
	}
	for (uint32_t id = 1; id < s->ntypes; id++) {
		struct rec_type *t = &s->types[id];
		int mfd = t->sys_kind == SYS_ENTER  ? bpf_map__fd(skel->maps.sys_enter_types)
			  : t->sys_kind == SYS_EXIT ? bpf_map__fd(skel->maps.sys_exit_types)
						    : -1;

		if (mfd >= 0 && bpf_map_update_elem(mfd, &t->sys_nr, &id, BPF_ANY)) {
			fprintf(stderr, PROG ": cannot configure syscall %u: %s\n", t->sys_nr,
				strerror(errno));
			return -1;
		}
	}
	s->tracked_fd = bpf_map__fd(skel->maps.tracked);
	s->loss_prev = calloc((size_t)BT_MAX_TYPES * BT_LOSS_NKINDS * (size_t)s->ncpus, 8);
	return s->loss_prev ? 0 : -1;
}

static int track_pid(struct session *s, uint32_t pid)
{
	uint8_t one = 1;

	if (bpf_map_update_elem(s->tracked_fd, &pid, &one, BPF_ANY))
		return -errno;
	__atomic_fetch_add(&s->skel->bss->tracked_gen, 1, __ATOMIC_SEQ_CST);
	return 0;
}

/* 'SPEC' in BUF. */
static const char *quoted(char *buf, size_t size, const char *spec)
{
	snprintf(buf, size, "'%s'", spec);
	return buf;
}

static int attach_all(struct session *s)
{
	char what[600];

	bool sys_enter = false, sys_exit = false;

	for (uint32_t id = 1; id < s->ntypes; id++) {
		struct rec_type *t = &s->types[id];

		if (t->sys_kind == SYS_RAW_ENTER || t->sys_kind == SYS_ENTER) {
			sys_enter = true;
		} else if (t->sys_kind == SYS_RAW_EXIT || t->sys_kind == SYS_EXIT) {
			sys_exit = true;
		} else if (t->source == TAPE_SRC_TRACEPOINT) {
			LIBBPF_OPTS(bpf_tracepoint_opts, topts, .bpf_cookie = id);
			struct bpf_link *l = bpf_program__attach_tracepoint_opts(
			    s->skel->progs.bt_tracepoint, t->cat, t->tp, &topts);

			snprintf(what, sizeof(what), "to tracepoint '%s'", t->name);
			if (keep_link(s, l, what, NULL))
				return -1;
		} else if (t->source == TAPE_SRC_UPROBE || t->source == TAPE_SRC_URETPROBE) {
			bool ret = t->source == TAPE_SRC_URETPROBE;
			LIBBPF_OPTS(bpf_uprobe_opts, uopts, .bpf_cookie = id, .retprobe = ret,
				    .func_name = t->tp);
			/* -p: only that process; otherwise every process, filtered in BPF */
			struct bpf_link *l = bpf_program__attach_uprobe_opts(
			    ret ? s->skel->progs.bt_uretprobe : s->skel->progs.bt_uprobe,
			    s->o->pid > 0 ? s->o->pid : -1, t->cat, 0, &uopts);

			if (keep_link(s, l, quoted(what, sizeof(what), t->spec),
				      "no such file or symbol"))
				return -1;
		} else if (t->source == TAPE_SRC_USDT) {
			char prov[128];
			const char *name = strchr(t->tp, ':');
			LIBBPF_OPTS(bpf_usdt_opts, uo, .usdt_cookie = id);
			struct bpf_link *l;

			snprintf(prov, sizeof(prov), "%.*s", (int)(name - t->tp), t->tp);
			l = bpf_program__attach_usdt(s->skel->progs.bt_usdt,
						     s->o->pid > 0 ? s->o->pid : -1, t->cat, prov,
						     name + 1, &uo);
			if (keep_link(s, l, quoted(what, sizeof(what), t->spec),
				      "no such file or probe"))
				return -1;
		} else if (t->source == TAPE_SRC_PROFILE) {
			for (int cpu = 0; cpu < s->ncpus; cpu++) {
				struct perf_event_attr a = {0};
				int fd;

				a.size = sizeof(a);
				a.type = PERF_TYPE_SOFTWARE;
				a.config = PERF_COUNT_SW_CPU_CLOCK;
				a.freq = 1;
				a.sample_freq = t->hz;
				fd = (int)syscall(SYS_perf_event_open, &a, -1, cpu, -1,
						  PERF_FLAG_FD_CLOEXEC);
				if (fd < 0) {
					if (errno == ENODEV)
						continue; /* offline */
					fprintf(stderr,
						PROG ": cannot open CPU clock on CPU %d: %s\n", cpu,
						strerror(errno));
					return -1;
				}
				int *np = realloc(s->pfds, (s->npfds + 1) * sizeof(int));
				if (!np) {
					close(fd);
					return -1;
				}
				s->pfds = np;
				s->pfds[s->npfds++] = fd;
				LIBBPF_OPTS(bpf_perf_event_opts, popts, .bpf_cookie = id);
				struct bpf_link *l = bpf_program__attach_perf_event_opts(
				    s->skel->progs.bt_profile, fd, &popts);
				snprintf(what, sizeof(what), "CPU sampler on CPU %d", cpu);
				if (keep_link(s, l, what, NULL))
					return -1;
			}
		}
	}
	if (s->offcpu_type) {
		struct bpf_link *l = bpf_program__attach(s->skel->progs.bt_offcpu);

		if (keep_link(s, l, "to sched:sched_switch", NULL))
			return -1;
	}
	for (int i = 0; i < 2; i++) {
		struct bpf_program *p =
		    i ? s->skel->progs.bt_sys_exit : s->skel->progs.bt_sys_enter;
		struct bpf_link *l;

		if (!(i ? sys_exit : sys_enter))
			continue;
		l = bpf_program__attach(p);
		if (keep_link(s, l, i ? "to raw_syscalls:sys_exit" : "to raw_syscalls:sys_enter",
			      NULL))
			return -1;
	}
	return 0;
}

static int attach_lifecycle(struct session *s)
{
	struct bpf_program *progs[] = {s->skel->progs.bt_fork, s->skel->progs.bt_exec,
				       s->skel->progs.bt_exit, s->skel->progs.bt_comm};

	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		struct bpf_link *l = bpf_program__attach(progs[i]);

		if (keep_link(s, l, bpf_program__name(progs[i]), NULL))
			return -1;
	}
	return 0;
}

static void detach_all(struct session *s)
{
	for (size_t i = 0; i < s->nlinks; i++)
		bpf_link__destroy(s->links[i]);
	s->nlinks = 0;
	for (size_t i = 0; i < s->npfds; i++)
		close(s->pfds[i]);
	s->npfds = 0;
}

/* ---- draining ---- */

static void writer_failed(struct session *s)
{
	if (!s->fatal)
		snprintf(s->errbuf, sizeof(s->errbuf), "%s", tape_writer__errmsg(s->w));
	s->fatal = 1;
}

static int put_stack(struct session *s, bool kernel, const uint64_t *ips, uint32_t n,
		     struct rec_type *t, uint32_t *id)
{
	bool is_new, trunc = n >= BT_MAX_STACK_FRAMES;

	*id = 0;
	/*
	 * A kernel stack taken in a raw tracepoint starts inside the BPF program
	 * and its bpf_trace_run* glue: not the event's code, drop those frames.
	 */
	while (kernel && n > 1 && rec_ranges_contains(&s->bpf_frames, ips[0])) {
		ips++;
		n--;
	}
	if (!n)
		return 0;
	if (rec_stacks__intern(s->stacks, kernel, ips, n, id, &is_new))
		return -ENOMEM;
	if (trunc && t)
		t->stack_trunc += 1;
	if (is_new) {
		struct tape_stack st = {
		    .id = *id,
		    .flags =
			(kernel ? TAPE_STACK_F_KERNEL : 0) | (trunc ? TAPE_STACK_F_TRUNCATED : 0),
		    .nframes = n,
		    .ips = ips,
		};
		if (tape_writer__stack(s->w, &st))
			return -EIO;
		s->stacks_written++;
	}
	return 0;
}

static int handle_event(struct session *s, const uint8_t *data, size_t size)
{
	struct bt_event e;
	struct tape_event ev = {0};
	struct rec_type *t;
	uint64_t kips[BT_MAX_STACK_FRAMES], uips[BT_MAX_STACK_FRAMES];
	size_t pad;

	if (size < sizeof(e)) {
		s->malformed++;
		return 0;
	}
	memcpy(&e, data, sizeof(e));
	pad = ((size_t)e.payload_size + 7) & ~(size_t)7;
	if (e.type_id == 0 || e.type_id >= s->ntypes || e.kstack_n > BT_MAX_STACK_FRAMES ||
	    e.ustack_n > BT_MAX_STACK_FRAMES ||
	    sizeof(e) + pad + 8ull * (e.kstack_n + e.ustack_n) > size) {
		s->malformed++;
		return 0;
	}
	t = &s->types[e.type_id];
	/* copy: the ring memory is not 8-aligned for u64 access guarantees */
	memcpy(kips, data + sizeof(e) + pad, 8ull * e.kstack_n);
	memcpy(uips, data + sizeof(e) + pad + 8ull * e.kstack_n, 8ull * e.ustack_n);
	if (put_stack(s, true, kips, e.kstack_n, t, &ev.kstack_id) ||
	    put_stack(s, false, uips, e.ustack_n, t, &ev.ustack_id))
		return -1;
	ev.type_id = e.type_id;
	ev.cpu = e.cpu;
	ev.ts_ns = e.ts_ns;
	ev.pid = e.pid;
	ev.tid = e.tid;
	if (e.flags & BT_EVF_KSTACK_LOST)
		ev.flags |= TAPE_EV_F_KSTACK_LOST;
	if (e.flags & BT_EVF_USTACK_LOST)
		ev.flags |= TAPE_EV_F_USTACK_LOST;
	if (e.flags & BT_EVF_PAYLOAD_TRUNC) {
		ev.flags |= TAPE_EV_F_PAYLOAD_TRUNC;
		t->payload_trunc++;
	}
	ev.payload_size = e.payload_size;
	ev.payload = data + sizeof(e);
	if (tape_writer__event(s->w, &ev))
		return -1;
	t->events++;
	s->events++;
	return 0;
}

static void note_exited(struct session *s, uint32_t pid)
{
	if (!s->filter || pid == (uint32_t)s->o->pid)
		return;
	if (s->nexited == s->capexited) {
		size_t nc = s->capexited ? s->capexited * 2 : 64;
		uint32_t *n = realloc(s->exited, nc * sizeof(*n));

		if (!n)
			return;
		s->exited = n;
		s->capexited = nc;
	}
	s->exited[s->nexited++] = pid;
}

static int handle_proc(struct session *s, const uint8_t *data, size_t size)
{
	struct bt_proc p;
	struct tape_proc pr = {0};

	if (size < BT_PROC_SMALL_SIZE) {
		s->malformed++;
		return 0;
	}
	memset(&p, 0, sizeof(p));
	memcpy(&p, data, size < sizeof(p) ? size : sizeof(p));
	p.comm[BT_COMM_LEN - 1] = 0;
	p.filename[BT_FILENAME_LEN - 1] = 0;
	pr.ts_ns = p.ts_ns;
	pr.pid = p.pid;
	pr.tid = p.tid;
	pr.ppid = p.ppid;
	pr.comm = tape_str_c(p.comm);
	pr.flags = p.flags & BT_PROCF_THREAD ? TAPE_PROC_F_THREAD : 0;
	switch (p.kind) {
	case BT_REC_FORK:
		pr.kind = TAPE_PROC_FORK;
		break;
	case BT_REC_EXEC:
		pr.kind = TAPE_PROC_EXEC;
		pr.filename = tape_str_c(size >= sizeof(p) ? p.filename : "");
		break;
	case BT_REC_COMM:
		pr.kind = TAPE_PROC_COMM;
		break;
	case BT_REC_EXIT:
		pr.kind = TAPE_PROC_EXIT;
		pr.exit_code = p.exit_code;
		if (!(p.flags & BT_PROCF_THREAD))
			note_exited(s, p.pid);
		break;
	default:
		s->malformed++;
		return 0;
	}
	if (tape_writer__proc(s->w, &pr))
		return -1;
	s->procs++;
	return 0;
}

static void handle_ring(void *ctx, const void *data, size_t size)
{
	struct session *s = ctx;
	uint32_t kind;
	int err;

	if (s->fatal || size < 4)
		return;
	memcpy(&kind, data, 4);
	if (kind == BT_REC_EVENT)
		err = handle_event(s, data, size);
	else
		err = handle_proc(s, data, size);
	if (err)
		writer_failed(s);
}

static int handle_mmap(void *ctx, const struct rec_mmap_info *mi)
{
	struct session *s = ctx;
	struct tape_mmap m = {0};
	char path[4096];
	uint8_t v;

	if (s->fatal)
		return 0;
	if (s->filter && bpf_map_lookup_elem(s->tracked_fd, &mi->pid, &v))
		return 0;
	size_t pl = mi->path_len < sizeof(path) - 1 ? mi->path_len : sizeof(path) - 1;
	memcpy(path, mi->path, pl);
	path[pl] = 0;
	m.ts_ns = mi->ts_ns;
	m.pid = mi->pid;
	m.prot = (mi->prot & PROT_READ ? TAPE_MMAP_PROT_READ : 0) |
		 (mi->prot & PROT_WRITE ? TAPE_MMAP_PROT_WRITE : 0) |
		 (mi->prot & PROT_EXEC ? TAPE_MMAP_PROT_EXEC : 0);
	m.start = mi->start;
	m.end = mi->start + mi->len;
	m.pgoff = mi->pgoff;
	m.dev = mi->dev;
	m.inode = mi->inode;
	m.path = tape_str_c(path);
	if (mi->build_id_size) {
		m.build_id_size = mi->build_id_size;
		memcpy(m.build_id, mi->build_id, mi->build_id_size);
	} else if (path[0] == '/') {
		/* the kernel could not read it (page not resident): read the file */
		int r = rec_buildid_cache__get(s->bc, mi->dev, mi->inode, path, m.build_id);

		m.build_id_size = r > 0 ? (uint32_t)r : 0;
	}
	if (tape_writer__mmap(s->w, &m)) {
		writer_failed(s);
		return 0;
	}
	s->maps++;
	return 0;
}

static void drain(struct session *s)
{
	rec_rings__consume(s->rb);
	rec_mmapwatch__drain(s->mw, handle_mmap, s);
	/* every mapping of an exited process is now written: stop tracking it */
	for (size_t i = 0; i < s->nexited; i++)
		bpf_map_delete_elem(s->tracked_fd, &s->exited[i]);
	if (s->nexited)
		__atomic_fetch_add(&s->skel->bss->tracked_gen, 1, __ATOMIC_SEQ_CST);
	s->nexited = 0;
}

/* ---- loss accounting ---- */

struct loss_totals {
	uint64_t ringbuf, kstack, ustack, trunc, payload, proc, mmap, recursion;
};

/*
 * Program runs the kernel skipped because another BPF program was already
 * running on that CPU (e.g. a tracepoint hit inside a sampled interrupt):
 * events that never reached a ring, counted by the kernel per program.
 */
static uint64_t recursion_misses(struct session *s)
{
	struct bpf_program *progs[] = {
	    s->skel->progs.bt_tracepoint, s->skel->progs.bt_profile, s->skel->progs.bt_sys_enter,
	    s->skel->progs.bt_sys_exit,	  s->skel->progs.bt_fork,    s->skel->progs.bt_exec,
	    s->skel->progs.bt_exit,	  s->skel->progs.bt_comm,    s->skel->progs.bt_uprobe,
	    s->skel->progs.bt_uretprobe,  s->skel->progs.bt_offcpu,  s->skel->progs.bt_usdt,
	};
	uint64_t total = 0;

	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		struct bpf_prog_info info;
		uint32_t len = sizeof(info);

		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(bpf_program__fd(progs[i]), &info, &len) == 0)
			total += info.recursion_misses;
	}
	return total;
}

static int write_losses(struct session *s, bool final, struct loss_totals *tot)
{
	int fd = bpf_map__fd(s->skel->maps.losses);
	int ncpu = s->ncpus; /* per-CPU map values: one per possible CPU */
	uint64_t *vals = calloc((size_t)ncpu, 8), now = rec_now_mono_ns();
	static const uint32_t kind_map[BT_LOSS_NKINDS] = {
	    [BT_LOSS_RINGBUF] = TAPE_LOSS_RINGBUF,
	    [BT_LOSS_KSTACK] = TAPE_LOSS_KSTACK,
	    [BT_LOSS_USTACK] = TAPE_LOSS_USTACK,
	};
	struct loss_totals t = {0};

	if (!vals)
		return -ENOMEM;
	for (uint32_t id = 0; id < s->ntypes || id == 0; id++) {
		for (uint32_t k = 0; k < 3; k++) {
			uint32_t key = id * BT_LOSS_NKINDS + k;

			if (bpf_map_lookup_elem(fd, &key, vals))
				continue;
			for (int c = 0; c < ncpu; c++) {
				uint64_t *prev = &s->loss_prev[(size_t)key * ncpu + c];
				struct tape_loss l = {now, id, (uint32_t)c, kind_map[k], vals[c]};

				if (id == 0) {
					l.type_id = TAPE_LOSS_ANY;
					l.kind = TAPE_LOSS_PROC;
					t.proc += vals[c];
				} else if (k == BT_LOSS_RINGBUF) {
					t.ringbuf += vals[c];
				} else if (k == BT_LOSS_KSTACK) {
					t.kstack += vals[c];
				} else {
					t.ustack += vals[c];
				}
				if (vals[c] == *prev)
					continue;
				*prev = vals[c];
				if (tape_writer__loss(s->w, &l))
					writer_failed(s);
			}
		}
		if (id == 0)
			continue;
		struct rec_type *ty = &s->types[id];
		if (ty->stack_trunc != ty->w_stack_trunc) {
			struct tape_loss l = {now, id, TAPE_LOSS_ANY, TAPE_LOSS_STACK_TRUNC,
					      ty->stack_trunc};
			ty->w_stack_trunc = ty->stack_trunc;
			if (tape_writer__loss(s->w, &l))
				writer_failed(s);
		}
		if (ty->payload_trunc != ty->w_payload_trunc) {
			struct tape_loss l = {now, id, TAPE_LOSS_ANY, TAPE_LOSS_PAYLOAD_TRUNC,
					      ty->payload_trunc};
			ty->w_payload_trunc = ty->payload_trunc;
			if (tape_writer__loss(s->w, &l))
				writer_failed(s);
		}
		t.trunc += ty->stack_trunc;
		t.payload += ty->payload_trunc;
	}
	t.mmap = rec_mmapwatch__lost(s->mw);
	if (t.mmap != s->mmap_lost_written) {
		struct tape_loss l = {now, TAPE_LOSS_ANY, TAPE_LOSS_ANY, TAPE_LOSS_MMAP, t.mmap};

		s->mmap_lost_written = t.mmap;
		if (tape_writer__loss(s->w, &l))
			writer_failed(s);
	}
	/* OTHER: runs the kernel skipped, and records nobody could use */
	t.recursion = recursion_misses(s) + s->malformed;
	if (t.recursion != s->recursion_written) {
		struct tape_loss l = {now, TAPE_LOSS_ANY, TAPE_LOSS_ANY, TAPE_LOSS_OTHER,
				      t.recursion};

		s->recursion_written = t.recursion;
		if (tape_writer__loss(s->w, &l))
			writer_failed(s);
	}
	if (final && t.ringbuf == 0) {
		/* state the zero explicitly, so "lost 0" is a record, not an absence */
		struct tape_loss l = {now, TAPE_LOSS_ANY, TAPE_LOSS_ANY, TAPE_LOSS_RINGBUF, 0};

		if (tape_writer__loss(s->w, &l))
			writer_failed(s);
	}
	free(vals);
	if (tot)
		*tot = t;
	return 0;
}

/* ---- the command ---- */

static pid_t start_command(char **cmd, int *go_fd)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		char c;

		close(p[1]);
		/* wait until the recorder tracks us and every probe is attached */
		if (read(p[0], &c, 1) != 1)
			_exit(127);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		execvp(cmd[0], cmd);
		fprintf(stderr, PROG ": cannot run '%s': %s\n", cmd[0], strerror(errno));
		_exit(127);
	}
	close(p[0]);
	*go_fd = p[1];
	return pid;
}

static void human_bytes(uint64_t b, char *buf, size_t size)
{
	if (b >= (10ull << 20))
		snprintf(buf, size, "%.1f MiB", (double)b / (1 << 20));
	else if (b >= (10ull << 10))
		snprintf(buf, size, "%.1f KiB", (double)b / (1 << 10));
	else
		snprintf(buf, size, "%llu B", (unsigned long long)b);
}

static int open_writer(struct session *s)
{
	struct tape_writer_opts wo = {0};
	char err[512];
	int r;

	wo.zstd_level = s->o->zstd_level;
	wo.flags = s->o->force ? TAPE_WRITER_F_FORCE : 0;
	r = tape_writer__open(&s->w, s->o->output, &wo, err, sizeof(err));
	if (r) {
		if (r == -EEXIST)
			fprintf(stderr, PROG ": '%s' exists (use -f to overwrite)\n", s->o->output);
		else
			fprintf(stderr, PROG ": %s\n", err);
		return -1;
	}
	return 0;
}

int rec_session__run(const struct rec_opts *o)
{
	struct session ss = {0}, *s = &ss;
	struct sigaction sa = {0};
	pid_t child = -1;
	int go_fd = -1, ret = 1, child_status = 0, child_done = 0;
	uint64_t start_ns, last_flush, last_progress, last_events = 0;
	bool progress = o->verbosity >= 0 && isatty(STDERR_FILENO);
	struct loss_totals tot = {0};

	s->o = o;
	s->filter = o->pid > 0 || o->cmd;
	s->ncpus = libbpf_num_possible_cpus();
	if (s->ncpus <= 0) {
		fprintf(stderr, PROG ": cannot read /sys/devices/system/cpu/possible\n");
		return 1;
	}
	libbpf_set_print(o->verbosity > 0 ? libbpf_print : libbpf_quiet);

	ret = resolve_specs(s);
	if (ret)
		goto out;
	ret = 1;
	if (!have_privileges()) {
		fprintf(stderr,
			PROG ": need root or CAP_BPF and CAP_PERFMON to load BPF programs\n");
		goto out;
	}
	if (o->pid > 0 && kill(o->pid, 0) && errno == ESRCH) {
		fprintf(stderr, PROG ": no process with pid %d\n", (int)o->pid);
		goto out;
	}
	if (rec_stacks__new(&s->stacks) || rec_buildid_cache__new(&s->bc))
		goto out;
	if (setup_bpf(s))
		goto out;
	if (open_writer(s))
		goto out;

	start_ns = rec_now_mono_ns();
	if (rec_write_host(s->w, o->argc, o->argv, start_ns))
		goto wfail;
	for (uint32_t id = 1; id < s->ntypes; id++) {
		struct rec_type *t = &s->types[id];
		char spec[300];
		struct tape_event_desc d = {0};

		if (t->source == TAPE_SRC_PROFILE)
			snprintf(spec, sizeof(spec), "profile:hz:%u", t->hz);
		else
			snprintf(spec, sizeof(spec), "%s", t->spec);
		d.type_id = id;
		d.source = t->source;
		d.flags = (t->cfg.flags & BT_CFG_KSTACK ? TAPE_DESC_F_KSTACK : 0) |
			  (t->cfg.flags & BT_CFG_USTACK ? TAPE_DESC_F_USTACK : 0);
		d.tp_id = t->source == TAPE_SRC_TRACEPOINT ? t->hz : 0;
		d.name = tape_str_c(t->name);
		d.spec = tape_str_c(spec);
		d.format = tape_str_c(t->format);
		if (tape_writer__event_desc(s->w, &d))
			goto wfail;
	}
	if (rec_write_kallsyms(s->w, &s->bpf_frames) < 0 && o->verbosity > 0)
		fprintf(stderr, PROG ": warning: cannot snapshot /proc/kallsyms\n");

	/* mappings: side-band first, then the scan, so nothing falls between */
	if (rec_mmapwatch__open(&s->mw, s->ncpus)) {
		fprintf(stderr, PROG ": cannot open the mapping side-band: %s\n", strerror(errno));
		goto out;
	}
	if (!o->cmd && rec_scan_procs(s->w, s->bc, o->pid, rec_now_mono_ns()) < 0)
		goto wfail;

	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (o->cmd) {
		child = start_command(o->cmd, &go_fd);
		if (child < 0) {
			fprintf(stderr, PROG ": cannot fork: %s\n", strerror(errno));
			goto out;
		}
		if (track_pid(s, (uint32_t)child))
			goto attach_fail;
	} else if (o->pid > 0 && track_pid(s, (uint32_t)o->pid)) {
		goto attach_fail;
	}
	if (attach_lifecycle(s) || attach_all(s))
		goto attach_fail;
	if (go_fd >= 0) {
		if (write(go_fd, "g", 1) != 1)
			goto attach_fail;
		close(go_fd);
		go_fd = -1;
	}
	if (o->verbosity > 0)
		fprintf(
		    stderr, PROG ": recording %u event type(s) into '%s', %d rings of %llu KiB\n",
		    s->ntypes - 1, o->output, s->nrings, (unsigned long long)(s->ring_bytes >> 10));

	last_flush = last_progress = rec_now_mono_ns();
	while (!stop_signal && !s->fatal) {
		uint64_t now;

		rec_rings__poll(s->rb, 10);
		drain(s);
		if (child > 0 && !child_done) {
			pid_t r = waitpid(child, &child_status, WNOHANG);

			if (r == child) {
				child_done = 1;
				drain(s);
				break;
			}
		}
		now = rec_now_mono_ns();
		if (o->duration_ns && now - start_ns >= o->duration_ns)
			break;
		if (now - last_flush >= 1000000000ull) {
			write_losses(s, false, &tot);
			if (tape_writer__flush(s->w))
				writer_failed(s);
			last_flush = now;
		}
		if (progress && now - last_progress >= 1000000000ull) {
			struct tape_writer_stats st;
			char b[32];

			tape_writer__stats(s->w, &st);
			human_bytes(st.bytes_written, b, sizeof(b));
			fprintf(stderr, "\r\033[K%s: %.0f events/s, %s written, %llu lost", PROG,
				(double)(s->events - last_events) * 1e9 /
				    (double)(now - last_progress),
				b,
				(unsigned long long)(tot.ringbuf + tot.proc + tot.mmap +
						     tot.recursion));
			last_events = s->events;
			last_progress = now;
		}
	}
	if (progress)
		fprintf(stderr, "\r\033[K");

	/* Ctrl-C reaches the command too: take its status if it just died */
	if (child > 0 && !child_done) {
		usleep(20000);
		if (waitpid(child, &child_status, WNOHANG) == child)
			child_done = 1;
	}
	/* stop the producers, then take what they left in the rings */
	detach_all(s);
	drain(s);
	write_losses(s, true, &tot);
	if (s->fatal) {
		fprintf(stderr, PROG ": %s\n", s->errbuf);
		ret = 1;
		goto out;
	}

	if (child > 0 && !child_done) {
		/* stopped by a signal or -d while the command runs: let it be */
		ret = 0;
	} else if (child > 0) {
		ret = WIFEXITED(child_status) ? WEXITSTATUS(child_status)
					      : 128 + WTERMSIG(child_status);
	} else {
		ret = 0;
	}
	{
		uint64_t lost = tot.ringbuf + tot.proc + tot.mmap + tot.recursion;
		struct tape_end e = {rec_now_mono_ns(), ret, 0, s->events,
				     lost + tot.kstack + tot.ustack + tot.trunc + tot.payload};
		struct tape_writer_stats st;
		double secs = (double)(rec_now_mono_ns() - start_ns) / 1e9;
		char b[32];

		if (tape_writer__end(s->w, &e))
			goto wfail;
		tape_writer__stats(s->w, &st);
		if (tape_writer__close(s->w)) {
			s->w = NULL;
			fprintf(stderr, PROG ": cannot finish '%s'\n", o->output);
			ret = 1;
			goto out;
		}
		s->w = NULL;
		if (o->verbosity >= 0) {
			struct stat sb;
			uint64_t fsize =
			    stat(o->output, &sb) == 0 ? (uint64_t)sb.st_size : st.bytes_written;

			human_bytes(fsize, b, sizeof(b));
			fprintf(
			    stderr,
			    PROG
			    ": recorded %llu events (%llu distinct stacks, %llu process "
			    "records, %llu mappings) in %.1f s into '%s' (%s, %.1f bytes/event); "
			    "lost %llu events",
			    (unsigned long long)s->events, (unsigned long long)s->stacks_written,
			    (unsigned long long)s->procs, (unsigned long long)s->maps, secs,
			    o->output, b, s->events ? (double)fsize / (double)s->events : 0.0,
			    (unsigned long long)lost);
			if (tot.kstack + tot.ustack + tot.trunc + tot.payload)
				fprintf(stderr,
					", %llu stack captures failed, %llu stacks truncated, %llu "
					"payloads truncated",
					(unsigned long long)(tot.kstack + tot.ustack),
					(unsigned long long)tot.trunc,
					(unsigned long long)tot.payload);
			fprintf(stderr, ".\n");
		}
	}
	goto out;

attach_fail:
	ret = 1;
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		child = -1;
	}
	/* nothing was recorded: leave no trace file behind */
	if (s->w) {
		tape_writer__close(s->w);
		s->w = NULL;
		unlink(o->output);
	}
	goto out;
wfail:
	fprintf(stderr, PROG ": %s\n", tape_writer__errmsg(s->w));
	ret = 1;
out:
	if (go_fd >= 0)
		close(go_fd);
	detach_all(s);
	if (s->w)
		tape_writer__close(s->w);
	rec_rings__free(s->rb);
	for (int i = 0; s->ring_fds && i < s->nrings; i++)
		if (s->ring_fds[i] > 0)
			close(s->ring_fds[i]);
	free(s->ring_fds);
	bpftape_bpf__destroy(s->skel);
	rec_mmapwatch__close(s->mw);
	rec_stacks__free(s->stacks);
	rec_buildid_cache__free(s->bc);
	for (uint32_t i = 1; i < s->ntypes; i++)
		free(s->types[i].format);
	free(s->types);
	free(s->links);
	free(s->pfds);
	free(s->exited);
	free(s->loss_prev);
	rec_ranges_release(&s->bpf_frames);
	return ret;
}
