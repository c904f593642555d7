// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * bpftape's kernel side: one generic tracepoint program (the attach cookie
 * says which event type it is serving), a perf_event CPU sampler and three
 * raw tracepoints for process lifecycle.  Everything goes into per-CPU
 * ringbufs without a wakeup per event; userspace polls with a short timeout
 * and is only woken early when a ring is over the wakeup threshold.
 *
 * Stacks are captured with bpf_get_stack() straight into the event record,
 * never through a stack map, so a stack can never be attributed to another
 * event and capture cannot fail because a map filled up.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>
#include "bpftape_events.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Set by the recorder before load. */
const volatile __u32 filter_pids = 0;	  /* only tgids in `tracked` */
const volatile __u32 follow_children = 0; /* add forked children to `tracked` */
const volatile __u32 n_rings = 1;
/* syscall events served from the raw_syscalls hooks (see bt_sys_enter) */
const volatile __u32 sys_raw_enter_type = 0; /* raw_syscalls:sys_enter */
const volatile __u32 sys_raw_exit_type = 0;  /* raw_syscalls:sys_exit */
const volatile __u32 sys_per_nr = 0;	     /* syscalls:sys_{enter,exit}_* present */
const volatile __u32 offcpu_type = 0;	     /* type id of the offcpu event, 0 = off */
const volatile __u64 wakeup_bytes = 1 << 20; /* force a wakeup above this */

struct ring {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16); /* template only: rings are made by userspace */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1); /* resized to n_rings */
	__type(key, __u32);
	__array(values, struct ring);
} rings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BT_MAX_TYPES);
	__type(key, __u32);
	__type(value, struct bt_type_cfg);
} type_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} tracked SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BT_MAX_TYPES *BT_LOSS_NKINDS);
	__type(key, __u32);
	__type(value, __u64);
} losses SEC(".maps");

#define BT_MAX_SYSCALLS 1024
/* syscall nr -> type id of syscalls:sys_enter_NAME / sys_exit_NAME (0 = none) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BT_MAX_SYSCALLS);
	__type(key, __u32);
	__type(value, __u32);
} sys_enter_types SEC(".maps"), sys_exit_types SEC(".maps");

struct scratch {
	__u8 buf[BT_SCRATCH_BYTES];
};

/*
 * One scratch slot per kind of program that can interrupt another on the
 * same CPU.  perf-path tracepoint and perf_event programs exclude each other
 * (bpf_prog_active), but the BTF raw tracepoint programs only exclude
 * themselves: a CPU sample or an interrupt's tracepoint can run in the
 * middle of a syscall event and must not overwrite its half-built record.
 */
enum {
	SLOT_TRACEPOINT = 0,
	SLOT_PROFILE = 1,
	SLOT_SYSCALL = 2,
	SLOT_UPROBE = 3,
	SLOT_OFFCPU = 4,
	NR_SLOTS = 5
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NR_SLOTS);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

/* parked off-CPU records (see bt_offcpu) */
struct offcpu_val {
	__u8 buf[BT_OFFCPU_VALUE_BYTES];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct offcpu_val);
} offcpu_start SEC(".maps");

static __always_inline void count_loss(__u32 type_id, __u32 kind)
{
	__u32 key = (type_id & (BT_MAX_TYPES - 1)) * BT_LOSS_NKINDS + kind;
	__u64 *v = bpf_map_lookup_elem(&losses, &key);

	if (v)
		*v += 1;
}

static __always_inline void *cpu_ring(__u32 cpu)
{
	__u32 idx = n_rings > 1 ? cpu % n_rings : 0;

	return bpf_map_lookup_elem(&rings, &idx);
}

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} wake_acc SEC(".maps");

/*
 * No wakeup per event: count the bytes this CPU produced into its ring and
 * force one wakeup every wakeup_bytes.  (Asking the ring how full it is would
 * read consumer_pos, a cache line the consumer keeps writing.)
 */
static __always_inline __u64 wake_flag(__u64 bytes)
{
	__u32 zero = 0;
	__u64 *acc = bpf_map_lookup_elem(&wake_acc, &zero);

	if (!acc)
		return BPF_RB_NO_WAKEUP;
	*acc += bytes;
	if (*acc < wakeup_bytes)
		return BPF_RB_NO_WAKEUP;
	*acc = 0;
	return BPF_RB_FORCE_WAKEUP;
}

/*
 * The pid filter.  A hash lookup per event is a large share of its cost, and
 * event storms come from few processes: each CPU remembers its last verdict,
 * valid while tracked_gen -- bumped on every change of `tracked`, by BPF
 * and by userspace -- has not moved.
 */
__u64 tracked_gen = 0;

struct tcache {
	__u64 gen;
	__u32 tgid;
	__u32 verdict;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tcache);
} tcache SEC(".maps");

static __always_inline int is_tracked(__u32 tgid)
{
	__u32 zero = 0;
	struct tcache *c;
	__u64 gen;
	int v;

	if (!filter_pids)
		return 1;
	gen = *(volatile __u64 *)&tracked_gen;
	c = bpf_map_lookup_elem(&tcache, &zero);
	if (c && c->tgid == tgid && c->gen == gen)
		return c->verdict;
	v = bpf_map_lookup_elem(&tracked, &tgid) != NULL;
	if (c) {
		c->gen = gen;
		c->tgid = tgid;
		c->verdict = v;
	}
	return v;
}

/* An event header: no stacks yet, no flags. */
static __always_inline void fill_hdr(struct bt_event *e, __u32 type_id, __u64 ts, __u32 pid,
				     __u32 tid, __u32 cpu, __u32 payload_size)
{
	e->kind = BT_REC_EVENT;
	e->type_id = type_id;
	e->ts_ns = ts;
	e->pid = pid;
	e->tid = tid;
	e->cpu = cpu;
	e->flags = 0;
	e->kstack_n = 0;
	e->ustack_n = 0;
	e->__pad0 = 0;
	e->payload_size = payload_size;
}

/*
 * Fast path for a fixed-size record without stacks: reserve the event in the
 * ring (CAP bytes of payload room, a compile-time constant) and read the
 * record straight into it -- no scratch buffer, no second copy.
 */
static __always_inline int emit_fixed(void *rb, const struct bt_type_cfg *cfg, __u32 type_id,
				      __u64 id, __u32 cpu, const void *src, const __u32 cap)
{
	struct bt_event *e = bpf_ringbuf_reserve(rb, sizeof(*e) + cap, 0);
	__u64 n = cfg->fixed_size;

	if (!e) {
		count_loss(type_id, BT_LOSS_RINGBUF);
		return 0;
	}
	fill_hdr(e, type_id, bpf_ktime_get_ns(), id >> 32, (__u32)id, cpu, 0);
	barrier_var(n);
	if (n > cap)
		n = cap;
	if (bpf_probe_read_kernel((void *)(e + 1), n, src))
		n = 0;
	if ((cfg->flags & BT_CFG_FIX_COMMON) && n >= 8) {
		*(__u16 *)(e + 1) = cfg->common_type;
		*((__u16 *)(e + 1) + 1) = 0;
		*((__u32 *)(e + 1) + 1) = (__u32)id;
	}
	e->payload_size = n;
	bpf_ringbuf_submit(e, wake_flag(sizeof(*e) + cap));
	return 0;
}

/*
 * User stack by frame pointers, the walk perf_callchain_user() does for a
 * 64-bit task: the IP and rbp saved at the last entry from user mode, then
 * (next frame, return address) pairs until a read fails.  Done here with one
 * bpf_probe_read_user() per frame, it costs a fraction of
 * bpf_get_stack(BPF_F_USER_STACK) on the kernels measured.  A kernel thread
 * has no user stack (0 frames).
 */
static __always_inline __u64 walk_ustack(struct scratch *s, __u64 off)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *regs;
	__u64 fp, lo, n = 1;

	if (!task->mm)
		return 0;
	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	if (!regs)
		return 0;
	barrier_var(off);
	if (off > sizeof(struct bt_event) + BT_MAX_PAYLOAD + BT_STACK_BYTES)
		return 0;
	*(__u64 *)(s->buf + off) = regs->ip;
	fp = regs->bp;
	lo = regs->sp;
	for (int i = 1; i < BT_MAX_STACK_FRAMES; i++) {
		__u64 fr[2];

		/*
		 * Frames live above the stack pointer, each above the last, 8-byte
		 * aligned.  Stopping at a frame pointer that breaks this (a frameless
		 * caller's rbp holds data) avoids faulting on garbage, which costs
		 * microseconds; perf would read it and stop at the fault.
		 */
		if (fp < lo || (fp & 7) || fp > 0x7ffffffff000ull - 16 ||
		    bpf_probe_read_user(fr, sizeof(fr), (const void *)fp))
			break;
		*(__u64 *)(s->buf + off + i * 8) = fr[1];
		n++;
		lo = fp + 16;
		fp = fr[0];
	}
	return n;
}

/*
 * Appends the requested stacks after the header and payload already in the
 * scratch buffer (OFF bytes so far) and outputs the event with one copy.
 */
/*
 * Appends the stacks CFG asks for after the OFF bytes of header and payload
 * in the scratch buffer and sets their counts in the header.  Returns the
 * new length, or 0 when OFF is out of bounds.
 */
static __always_inline __u64 add_stacks(void *ctx, struct scratch *s, const struct bt_type_cfg *cfg,
					__u32 type_id, __u64 off)
{
	struct bt_event *e = (void *)s->buf;
	__u64 nk = 0, nu = 0;
	long ret;

	barrier_var(off);
	if (off > sizeof(*e) + BT_MAX_PAYLOAD)
		return 0;
	if (cfg->flags & BT_CFG_KSTACK) {
		ret = bpf_get_stack(ctx, s->buf + off, BT_STACK_BYTES, 0);
		if (ret < 0) {
			e->flags |= BT_EVF_KSTACK_LOST;
			count_loss(type_id, BT_LOSS_KSTACK);
		} else {
			nk = (__u64)ret / 8;
			if (nk > BT_MAX_STACK_FRAMES)
				nk = BT_MAX_STACK_FRAMES;
		}
	}
	off += nk * 8;
	if (off > sizeof(*e) + BT_MAX_PAYLOAD + BT_STACK_BYTES)
		return 0;
	if (cfg->flags & BT_CFG_USTACK)
		nu = walk_ustack(s, off);
	off += nu * 8;
	e->kstack_n = nk;
	e->ustack_n = nu;
	return off;
}

static __always_inline int finish_scratch(void *ctx, struct scratch *s,
					  const struct bt_type_cfg *cfg, __u32 type_id, __u32 cpu,
					  __u64 off)
{
	void *rb;

	off = add_stacks(ctx, s, cfg, type_id, off);
	if (!off || off > BT_SCRATCH_BYTES)
		return 0;

	rb = cpu_ring(cpu);
	if (!rb)
		return 0;
	if (bpf_ringbuf_output(rb, s->buf, off, wake_flag(off)))
		count_loss(type_id, BT_LOSS_RINGBUF);
	return 0;
}

/*
 * Builds the event in the per-CPU scratch buffer (header, payload copied from
 * SRC, stacks) and outputs it with one copy.  A tracepoint's SRC is its raw
 * record; a CPU sample has none.
 */
static __always_inline int emit_event(void *ctx, __u32 type_id, const void *src, __u32 slot)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, cpu;
	__u64 psize = 0, off;
	struct bt_type_cfg *cfg;
	struct bt_event *e;
	struct scratch *s;
	void *rb;

	if (!is_tracked(tgid))
		return 0;
	type_id &= BT_MAX_TYPES - 1;
	cfg = bpf_map_lookup_elem(&type_cfg, &type_id);
	if (!cfg)
		return 0;
	cpu = bpf_get_smp_processor_id();
	if (src && !cfg->n_loc && !(cfg->flags & (BT_CFG_KSTACK | BT_CFG_USTACK))) {
		__u32 fs = cfg->fixed_size;

		rb = cpu_ring(cpu);
		if (!rb)
			return 0;
		if (fs <= 64)
			return emit_fixed(rb, cfg, type_id, id, cpu, src, 64);
		if (fs <= 128)
			return emit_fixed(rb, cfg, type_id, id, cpu, src, 128);
		if (fs <= 256)
			return emit_fixed(rb, cfg, type_id, id, cpu, src, 256);
		if (fs <= 512)
			return emit_fixed(rb, cfg, type_id, id, cpu, src, 512);
	}
	s = bpf_map_lookup_elem(&scratch, &slot);
	if (!s)
		return 0;
	e = (void *)s->buf;
	fill_hdr(e, type_id, bpf_ktime_get_ns(), tgid, (__u32)id, cpu, 0);

	if (src && cfg->fixed_size) {
		psize = cfg->fixed_size & (BT_MAX_PAYLOAD - 1);
		if (cfg->fixed_size >= BT_MAX_PAYLOAD)
			psize = BT_MAX_PAYLOAD;
		if (bpf_probe_read_kernel(s->buf + sizeof(*e), psize, src))
			psize = 0;
		/* The record goes on past the fixed part by its __data_loc areas. */
		__u64 end = psize;
#pragma unroll
		for (int i = 0; i < BT_MAX_DATALOC; i++) {
			if (i >= cfg->n_loc || !psize)
				break;
			__u32 lo = cfg->loc_off[i];
			if (lo > BT_MAX_PAYLOAD - 4)
				break;
			__u32 loc = *(__u32 *)(s->buf + sizeof(*e) + lo);
			__u32 dend = (loc & 0xffff) + (loc >> 16);
			if (cfg->loc_rel[i])
				dend += lo + 4;
			if (dend > end)
				end = dend;
		}
		if (end > BT_MAX_PAYLOAD) {
			end = BT_MAX_PAYLOAD;
			e->flags |= BT_EVF_PAYLOAD_TRUNC;
		}
		if (end > psize) {
			/* keep the compiler from folding the bound the verifier needs */
			__u64 n = end;

			barrier_var(n);
			if (n <= BT_MAX_PAYLOAD &&
			    bpf_probe_read_kernel(s->buf + sizeof(*e), n, src) == 0)
				psize = end;
		}
	}
	if ((cfg->flags & BT_CFG_FIX_COMMON) && psize >= 8) {
		*(__u16 *)(s->buf + sizeof(*e)) = cfg->common_type;
		*(__u16 *)(s->buf + sizeof(*e) + 2) = 0;
		*(__u32 *)(s->buf + sizeof(*e) + 4) = (__u32)id;
	}
	barrier_var(psize);
	if (psize > BT_MAX_PAYLOAD)
		psize = BT_MAX_PAYLOAD;
	e->payload_size = psize;
	/* zero the padding up to 8 bytes so no stale scratch bytes reach the file */
	if (psize <= BT_MAX_PAYLOAD)
		*(__u64 *)(s->buf + sizeof(*e) + psize) = 0;
	off = sizeof(*e) + ((psize + 7) & ~7u);
	if (off > sizeof(*e) + BT_MAX_PAYLOAD)
		return 0;

	return finish_scratch(ctx, s, cfg, type_id, cpu, off);
}

SEC("tracepoint")
int bt_tracepoint(void *ctx)
{
	return emit_event(ctx, (__u32)bpf_get_attach_cookie(ctx), ctx, SLOT_TRACEPOINT);
}

SEC("perf_event")
int bt_profile(struct bpf_perf_event_data *ctx)
{
	return emit_event(ctx, (__u32)bpf_get_attach_cookie(ctx), NULL, SLOT_PROFILE);
}

static __always_inline struct bt_proc *proc_reserve(void **rbp, __u32 size)
{
	void *rb = cpu_ring(bpf_get_smp_processor_id());
	struct bt_proc *p;

	*rbp = rb;
	if (!rb)
		return NULL;
	p = bpf_ringbuf_reserve(rb, size, 0);
	if (!p)
		count_loss(0, BT_LOSS_RINGBUF);
	return p;
}

static __always_inline void proc_fill(struct bt_proc *p, __u32 kind, struct task_struct *t)
{
	p->kind = kind;
	p->flags = 0;
	p->ts_ns = bpf_ktime_get_ns();
	p->pid = BPF_CORE_READ(t, tgid);
	p->tid = BPF_CORE_READ(t, pid);
	p->ppid = BPF_CORE_READ(t, real_parent, tgid);
	p->exit_code = 0;
	p->cpu = bpf_get_smp_processor_id();
	p->__pad0 = 0;
	__builtin_memset(p->comm, 0, sizeof(p->comm));
	BPF_CORE_READ_STR_INTO(&p->comm, t, comm);
}

SEC("raw_tp/sched_process_fork")
int BPF_PROG(bt_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid);
	__u32 ctgid = BPF_CORE_READ(child, tgid);
	struct bt_proc *p;
	void *rb;

	if (!is_tracked(ptgid))
		return 0;
	if (filter_pids && follow_children && ctgid != ptgid) {
		__u8 one = 1;

		bpf_map_update_elem(&tracked, &ctgid, &one, BPF_ANY);
		__sync_fetch_and_add(&tracked_gen, 1);
	}
	p = proc_reserve(&rb, BT_PROC_SMALL_SIZE);
	if (!p)
		return 0;
	proc_fill(p, BT_REC_FORK, child);
	/* the child's real_parent may be a subreaper-less thread: use the forker */
	p->ppid = ptgid;
	if (ctgid == ptgid)
		p->flags |= BT_PROCF_THREAD;
	bpf_ringbuf_submit(p, wake_flag(sizeof(*p)));
	return 0;
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(bt_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	struct bt_proc *p;
	const char *fn;
	void *rb;

	if (!is_tracked(BPF_CORE_READ(task, tgid)))
		return 0;
	p = proc_reserve(&rb, sizeof(*p));
	if (!p)
		return 0;
	proc_fill(p, BT_REC_EXEC, task);
	fn = BPF_CORE_READ(bprm, filename);
	if (bpf_probe_read_kernel_str(p->filename, sizeof(p->filename), fn) < 0)
		p->filename[0] = 0;
	bpf_ringbuf_submit(p, wake_flag(sizeof(*p)));
	return 0;
}

/*
 * A task renamed itself (prctl(PR_SET_NAME), /proc/.../comm).  Renames done
 * by exec are left out: the EXEC record carries the new comm.
 */
SEC("tp_btf/task_rename")
int BPF_PROG(bt_comm, struct task_struct *task, const char *comm)
{
	struct bt_proc *p;
	void *rb;

	if (BPF_CORE_READ_BITFIELD(task, in_execve) || !is_tracked(task->tgid))
		return 0;
	p = proc_reserve(&rb, BT_PROC_SMALL_SIZE);
	if (!p)
		return 0;
	proc_fill(p, BT_REC_COMM, task);
	__builtin_memset(p->comm, 0, sizeof(p->comm));
	bpf_probe_read_kernel_str(p->comm, sizeof(p->comm), comm);
	bpf_ringbuf_submit(p, wake_flag(BT_PROC_SMALL_SIZE));
	return 0;
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(bt_exit, struct task_struct *task)
{
	struct bt_proc *p;
	void *rb;

	if (!is_tracked(BPF_CORE_READ(task, tgid)))
		return 0;
	p = proc_reserve(&rb, BT_PROC_SMALL_SIZE);
	if (!p)
		return 0;
	proc_fill(p, BT_REC_EXIT, task);
	if (offcpu_type) {
		__u32 tid = p->tid;

		bpf_map_delete_elem(&offcpu_start, &tid);
	}
	p->exit_code = BPF_CORE_READ(task, exit_code);
	if (p->pid != p->tid)
		p->flags |= BT_PROCF_THREAD;
	bpf_ringbuf_submit(p, wake_flag(sizeof(*p)));
	return 0;
}

/*
 * Syscall events.  raw_syscalls:* and syscalls:sys_{enter,exit}_* records
 * share one layout: the common header, the syscall number at offset 8 (long
 * in raw_syscalls, int + 4 bytes of padding in syscalls:*) and then the six
 * argument words (enter) or the return value (exit), each 8 bytes.  Building
 * that record here from a raw tracepoint skips the perf tracepoint path (a
 * large share of the per-event cost) and lets one attachment serve every
 * syscall: detaching hundreds of perf tracepoints takes tens of seconds.
 * common_flags and common_preempt_count are recorded as 0.
 */
/*
 * Emits an event whose payload the program built itself: the first
 * cfg->fixed_size bytes (<= 64) of REC.  With SET_COMMON the first word is
 * filled with the tracepoint common header.
 */
static __always_inline int emit_local(void *ctx, __u32 type_id, __u64 *rec, __u32 slot,
				      const int set_common)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 cpu;
	struct bt_type_cfg *cfg;
	struct scratch *s;
	struct bt_event *e;
	__u64 n;
	void *rb;

	if (!is_tracked(id >> 32))
		return 0;
	type_id &= BT_MAX_TYPES - 1;
	cfg = bpf_map_lookup_elem(&type_cfg, &type_id);
	if (!cfg)
		return 0;
	if (set_common)
		rec[0] = cfg->common_type | (__u64)(__u32)id << 32;
	n = cfg->fixed_size;
	if (n > 64)
		n = 64;
	cpu = bpf_get_smp_processor_id();
	if (!(cfg->flags & (BT_CFG_KSTACK | BT_CFG_USTACK))) {
		rb = cpu_ring(cpu);
		if (!rb)
			return 0;
		e = bpf_ringbuf_reserve(rb, sizeof(*e) + 64, 0);
		if (!e) {
			count_loss(type_id, BT_LOSS_RINGBUF);
			return 0;
		}
		fill_hdr(e, type_id, bpf_ktime_get_ns(), id >> 32, (__u32)id, cpu, n);
		__builtin_memcpy((void *)(e + 1), rec, 64);
		bpf_ringbuf_submit(e, wake_flag(sizeof(*e) + 64));
		return 0;
	}
	s = bpf_map_lookup_elem(&scratch, &slot);
	if (!s)
		return 0;
	e = (void *)s->buf;
	fill_hdr(e, type_id, bpf_ktime_get_ns(), id >> 32, (__u32)id, cpu, n);
	__builtin_memcpy(s->buf + sizeof(*e), rec, 64);
	return finish_scratch(ctx, s, cfg, type_id, cpu, sizeof(*e) + ((n + 7) & ~7ull));
}

static __always_inline int emit_sys(void *ctx, __u32 type_id, __u64 *rec)
{
	return emit_local(ctx, type_id, rec, SLOT_SYSCALL, 1);
}

static __always_inline int in_compat_syscall(void)
{
	struct task_struct *t = (void *)bpf_get_current_task();

	return (BPF_CORE_READ(t, thread_info.status) & 0x0002 /* TS_COMPAT */) != 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(bt_sys_enter, struct pt_regs *regs, long nr)
{
	__u64 rec[8];

	/* BTF-typed arguments: direct loads, no helper call */
	rec[1] = nr;
	rec[2] = regs->di;
	rec[3] = regs->si;
	rec[4] = regs->dx;
	rec[5] = regs->r10;
	rec[6] = regs->r8;
	rec[7] = regs->r9;
	if (sys_raw_enter_type)
		emit_sys(ctx, sys_raw_enter_type, rec);
	if (sys_per_nr && nr >= 0 && nr < BT_MAX_SYSCALLS) {
		__u32 k = nr, *t = bpf_map_lookup_elem(&sys_enter_types, &k);

		if (t && *t && !in_compat_syscall()) {
			rec[1] = (__u32)nr;
			emit_sys(ctx, *t, rec);
		}
	}
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(bt_sys_exit, struct pt_regs *regs, long ret)
{
	__u64 rec[8] = {};
	long nr = regs->orig_ax;

	rec[1] = nr;
	rec[2] = ret;
	if (sys_raw_exit_type)
		emit_sys(ctx, sys_raw_exit_type, rec);
	if (sys_per_nr && nr >= 0 && nr < BT_MAX_SYSCALLS) {
		__u32 k = nr, *t = bpf_map_lookup_elem(&sys_exit_types, &k);

		if (t && *t && !in_compat_syscall()) {
			rec[1] = (__u32)nr;
			emit_sys(ctx, *t, rec);
		}
	}
	return 0;
}

/*
 * uprobes: the payload is the probed function's first six integer
 * arguments (uprobe) or its return value (uretprobe), as u64 words; the
 * recorder stores a matching format text (docs/RECORDER.md).
 */
SEC("uprobe")
int BPF_KPROBE(bt_uprobe)
{
	__u64 rec[8] = {};

	rec[0] = PT_REGS_PARM1(ctx);
	rec[1] = PT_REGS_PARM2(ctx);
	rec[2] = PT_REGS_PARM3(ctx);
	rec[3] = PT_REGS_PARM4(ctx);
	rec[4] = PT_REGS_PARM5(ctx);
	rec[5] = ctx->r9; /* x86-64 sixth argument (no PT_REGS_PARM6 in libbpf 1.1) */
	return emit_local(ctx, (__u32)bpf_get_attach_cookie(ctx), rec, SLOT_UPROBE, 0);
}

SEC("uretprobe")
int BPF_KRETPROBE(bt_uretprobe)
{
	__u64 rec[8] = {};

	rec[0] = PT_REGS_RC(ctx);
	return emit_local(ctx, (__u32)bpf_get_attach_cookie(ctx), rec, SLOT_UPROBE, 0);
}

/*
 * Off-CPU time.  When a tracked thread is switched out, its stacks (where it
 * blocked) and the time are parked in `offcpu_start` under its tid; when it
 * is switched back in, the parked record goes out as one event with the
 * duration filled in.  The map entry is the event as it will be written.
 */
SEC("tp_btf/sched_switch")
int BPF_PROG(bt_offcpu, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	__u32 type_id = offcpu_type & (BT_MAX_TYPES - 1), slot = SLOT_OFFCPU, tid, cpu;
	struct bt_type_cfg *cfg;
	struct offcpu_val *v;
	struct bt_event *e;
	struct scratch *s;
	__u64 now = bpf_ktime_get_ns(), size;

	cfg = bpf_map_lookup_elem(&type_cfg, &type_id);
	if (!cfg)
		return 0;
	cpu = bpf_get_smp_processor_id();

	/* next comes back: emit its parked record */
	tid = next->pid;
	v = bpf_map_lookup_elem(&offcpu_start, &tid);
	if (v) {
		e = (void *)v->buf;
		struct bt_offcpu *o = (void *)(e + 1);
		void *rb = cpu_ring(cpu);

		o->duration_ns = now - e->ts_ns;
		size = sizeof(*e) + sizeof(*o) + 8 * ((__u64)e->kstack_n + e->ustack_n);
		if (rb && size <= sizeof(*v)) {
			if (bpf_ringbuf_output(rb, v, size, wake_flag(size)))
				count_loss(type_id, BT_LOSS_RINGBUF);
		}
		bpf_map_delete_elem(&offcpu_start, &tid);
	}

	/* prev goes off-CPU (current is still prev here) */
	if (!prev->pid || !is_tracked(prev->tgid))
		return 0;
	s = bpf_map_lookup_elem(&scratch, &slot);
	if (!s)
		return 0;
	e = (void *)s->buf;
	fill_hdr(e, type_id, now, prev->tgid, prev->pid, cpu, sizeof(struct bt_offcpu));
	struct bt_offcpu *o = (void *)(e + 1);
	o->duration_ns = 0;
	o->state = prev_state;
	o->__pad0 = 0;
	add_stacks(ctx, s, cfg, type_id, sizeof(*e) + sizeof(*o));
	tid = prev->pid;
	/* the scratch buffer starts with exactly the parked value's layout */
	if (bpf_map_update_elem(&offcpu_start, &tid, s->buf, BPF_ANY))
		count_loss(type_id, BT_LOSS_RINGBUF);
	return 0;
}

/* USDT probes: their first six arguments, as u64 words (like uprobes). */
SEC("usdt")
int bt_usdt(struct pt_regs *ctx)
{
	__u64 rec[8] = {};
	int n = bpf_usdt_arg_cnt(ctx);

	for (int i = 0; i < 6; i++) {
		long v;

		if (i >= n)
			break;
		if (bpf_usdt_arg(ctx, i, &v) == 0)
			rec[i] = v;
	}
	return emit_local(ctx, (__u32)bpf_usdt_cookie(ctx), rec, SLOT_UPROBE, 0);
}
