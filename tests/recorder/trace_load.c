// SPDX-License-Identifier: MIT
/* Test helper: trace -> arrays, and process helpers (see trace_load.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <tape/reader.h>

#include "trace_load.h"

/* Appends VAL, growing ARR geometrically (capacity = next power of two). */
#define PUSH(arr, n, val)                                                                          \
	do {                                                                                       \
		if (((n) & ((n)-1)) == 0) {                                                        \
			void *np_ = realloc((arr), ((n) ? 2 * (n) : 1) * sizeof(*(arr)));          \
			if (!np_)                                                                  \
				abort();                                                           \
			(arr) = np_;                                                               \
		}                                                                                  \
		(arr)[(n)++] = (val);                                                              \
	} while (0)

static void cpy(char *dst, size_t size, struct tape_str s)
{
	size_t n = s.len < size - 1 ? s.len : size - 1;

	memcpy(dst, s.ptr, n);
	dst[n] = 0;
}

int trace_load(const char *path, struct trace *t)
{
	struct tape_reader *r;
	struct tape_record rec;
	int ret;

	memset(t, 0, sizeof(*t));
	t->stack_before_use = true;
	t->desc_before_use = true;
	if (tape_reader__open(&r, path, t->errmsg, sizeof(t->errmsg)))
		return -1;
	while ((ret = tape_reader__next(r, &rec)) == 1) {
		switch (rec.type) {
		case TAPE_REC_HOST: {
			struct tape_host h;

			if (tape_record__host(&rec, &h) == 0) {
				t->has_host = true;
				t->host = h;
				cpy(t->release, sizeof(t->release), h.release);
				cpy(t->cmdline, sizeof(t->cmdline), h.cmdline);
				cpy(t->recorder, sizeof(t->recorder), h.recorder);
			}
			break;
		}
		case TAPE_REC_EVENT_DESC: {
			struct tape_event_desc d;
			struct tl_desc x = {0};

			if (tape_record__event_desc(&rec, &d))
				break;
			x.type_id = d.type_id;
			x.source = d.source;
			x.flags = d.flags;
			x.tp_id = d.tp_id;
			cpy(x.name, sizeof(x.name), d.name);
			x.format = strndup(d.format.ptr, d.format.len);
			PUSH(t->descs, t->ndescs, x);
			break;
		}
		case TAPE_REC_EVENT: {
			struct tape_event e;
			struct tl_event x = {0};

			if (tape_record__event(&rec, &e))
				break;
			x.type_id = e.type_id;
			x.cpu = e.cpu;
			x.pid = e.pid;
			x.tid = e.tid;
			x.kstack_id = e.kstack_id;
			x.ustack_id = e.ustack_id;
			x.flags = e.flags;
			x.ts_ns = e.ts_ns;
			x.payload_size = e.payload_size;
			if (e.payload_size) {
				x.payload = malloc(e.payload_size);
				memcpy(x.payload, e.payload, e.payload_size);
			}
			if ((x.kstack_id && !trace_stack(t, x.kstack_id)) ||
			    (x.ustack_id && !trace_stack(t, x.ustack_id)))
				t->stack_before_use = false;
			bool found = false;
			for (size_t i = 0; i < t->ndescs; i++)
				found |= t->descs[i].type_id == x.type_id;
			if (!found)
				t->desc_before_use = false;
			PUSH(t->events, t->nevents, x);
			break;
		}
		case TAPE_REC_STACK: {
			struct tape_stack s;
			struct tl_stack x = {0};

			if (tape_record__stack(&rec, &s))
				break;
			x.id = s.id;
			x.flags = s.flags;
			x.nframes = s.nframes;
			x.ips = calloc(s.nframes + 1, 8);
			for (uint32_t i = 0; i < s.nframes; i++)
				x.ips[i] = tape_stack__ip(&s, i);
			PUSH(t->stacks, t->nstacks, x);
			break;
		}
		case TAPE_REC_PROC: {
			struct tape_proc p;
			struct tl_proc x = {0};

			if (tape_record__proc(&rec, &p))
				break;
			x.kind = p.kind;
			x.flags = p.flags;
			x.pid = p.pid;
			x.tid = p.tid;
			x.ppid = p.ppid;
			x.exit_code = p.exit_code;
			x.ts_ns = p.ts_ns;
			cpy(x.comm, sizeof(x.comm), p.comm);
			cpy(x.filename, sizeof(x.filename), p.filename);
			PUSH(t->procs, t->nprocs, x);
			break;
		}
		case TAPE_REC_MMAP: {
			struct tape_mmap m;
			struct tl_mmap x = {0};

			if (tape_record__mmap(&rec, &m))
				break;
			x.pid = m.pid;
			x.prot = m.prot;
			x.flags = m.flags;
			x.build_id_size = m.build_id_size;
			memcpy(x.build_id, m.build_id, sizeof(x.build_id));
			x.ts_ns = m.ts_ns;
			x.start = m.start;
			x.end = m.end;
			x.pgoff = m.pgoff;
			cpy(x.path, sizeof(x.path), m.path);
			PUSH(t->mmaps, t->nmmaps, x);
			break;
		}
		case TAPE_REC_KSYMS: {
			struct tape_sym_iter it;
			struct tape_ksym k;

			t->has_ksyms = true;
			if (tape_record__ksyms(&rec, &it) == 0)
				while (tape_ksyms__next(&it, &k) == 1)
					t->nksyms++;
			break;
		}
		case TAPE_REC_LOSS: {
			struct tape_loss l;
			struct tl_loss x;

			if (tape_record__loss(&rec, &l))
				break;
			x.type_id = l.type_id;
			x.cpu = l.cpu;
			x.kind = l.kind;
			x.count = l.count;
			/* cumulative: keep only the latest per key */
			size_t i;
			for (i = 0; i < t->nlosses; i++) {
				struct tl_loss *o = &t->losses[i];
				if (o->type_id == x.type_id && o->cpu == x.cpu &&
				    o->kind == x.kind) {
					o->count = x.count;
					break;
				}
			}
			if (i == t->nlosses)
				PUSH(t->losses, t->nlosses, x);
			break;
		}
		case TAPE_REC_END:
			if (tape_record__end(&rec, &t->end) == 0)
				t->has_end = true;
			break;
		default:
			break;
		}
	}
	if (ret < 0) {
		t->read_error = ret;
		snprintf(t->errmsg, sizeof(t->errmsg), "%s", tape_reader__errmsg(r));
	}
	tape_reader__close(r);
	return 0;
}

void trace_free(struct trace *t)
{
	for (size_t i = 0; i < t->ndescs; i++)
		free(t->descs[i].format);
	for (size_t i = 0; i < t->nevents; i++)
		free(t->events[i].payload);
	for (size_t i = 0; i < t->nstacks; i++)
		free(t->stacks[i].ips);
	free(t->descs);
	free(t->events);
	free(t->stacks);
	free(t->procs);
	free(t->mmaps);
	free(t->losses);
	memset(t, 0, sizeof(*t));
}

const struct tl_stack *trace_stack(const struct trace *t, uint32_t id)
{
	/* ids are assigned 1, 2, 3...: try the dense position first */
	if (id >= 1 && id <= t->nstacks && t->stacks[id - 1].id == id)
		return &t->stacks[id - 1];
	for (size_t i = 0; i < t->nstacks; i++)
		if (t->stacks[i].id == id)
			return &t->stacks[i];
	return NULL;
}

const struct tl_desc *trace_desc_by_name(const struct trace *t, const char *name)
{
	for (size_t i = 0; i < t->ndescs; i++)
		if (!strcmp(t->descs[i].name, name))
			return &t->descs[i];
	return NULL;
}

uint64_t trace_lost(const struct trace *t, uint32_t kind)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < t->nlosses; i++)
		if (!kind || t->losses[i].kind == kind)
			sum += t->losses[i].count;
	return sum;
}

const char *tl_bin_dir(void)
{
	const char *d = getenv("BPFTAPE_BIN_DIR");

	return d ? d : "build/bin";
}

const char *tl_build_dir(void)
{
	const char *d = getenv("BPFTAPE_BUILD_DIR");

	return d ? d : "build";
}

void tl_require_root(void)
{
	if (geteuid() != 0) {
		printf("skipped: needs root to load BPF programs\n");
		exit(77);
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		printf("skipped: kernel has no BTF (/sys/kernel/btf/vmlinux)\n");
		exit(77);
	}
}

int tl_run(char *const argv[], const char *errfile)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0)
			dup2(fd, 1);
		if (errfile) {
			int efd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
			if (efd >= 0)
				dup2(efd, 2);
		}
		execv(argv[0], argv);
		_exit(126);
	}
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return st;
}

void tl_tmp_path(char *buf, size_t size, const char *suffix)
{
	static int seq;

	snprintf(buf, size, "/tmp/bpftape-rectest-%d-%d%s", (int)getpid(), seq++, suffix);
	unlink(buf);
}
