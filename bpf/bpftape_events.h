/* SPDX-License-Identifier: MIT */
/*
 * The kernel -> userspace event ABI of bpftape-record: the layout of every
 * ringbuf record the BPF programs in bpftape.bpf.c produce and of the
 * per-type configuration userspace hands to them.
 *
 * This header includes nothing: the includer provides __u8..__u64/__s32
 * (vmlinux.h in BPF, <linux/types.h> in userspace).  Every struct uses
 * fixed-width types with explicit padding and is checked below, so the two
 * sides can never disagree silently.  Records are native-endian (kernel and
 * recorder run on the same host); the recorder converts to the on-disk
 * little-endian trace format.
 */
#ifndef BPFTAPE_EVENTS_H
#define BPFTAPE_EVENTS_H

#define BT_MAX_STACK_FRAMES 127 /* kernel.perf_event_max_stack default */
#define BT_STACK_BYTES (BT_MAX_STACK_FRAMES * 8)
#define BT_MAX_PAYLOAD 4096 /* tracepoint record bytes kept (power of two) */
#define BT_MAX_TYPES 2048   /* event type ids 1..BT_MAX_TYPES-1 */
#define BT_MAX_DATALOC 8    /* __data_loc / __rel_loc fields per tracepoint */
#define BT_COMM_LEN 16
#define BT_FILENAME_LEN 512
#define BT_SCRATCH_BYTES 8192

/* First u32 of every ringbuf record. */
enum bt_rec_kind {
	BT_REC_EVENT = 1, /* struct bt_event + payload + stacks */
	BT_REC_FORK = 2,  /* struct bt_proc (no filename) */
	BT_REC_EXEC = 3,  /* struct bt_proc with filename */
	BT_REC_EXIT = 4,  /* struct bt_proc (no filename) */
	BT_REC_COMM = 5,  /* struct bt_proc (no filename): comm = the new name */
};

/* bt_event.flags */
#define BT_EVF_KSTACK_LOST (1u << 0)
#define BT_EVF_USTACK_LOST (1u << 1)
#define BT_EVF_PAYLOAD_TRUNC (1u << 2)

/*
 * An event (tracepoint hit or CPU sample).  Followed in the same ringbuf
 * record by:
 *   payload_size bytes   the raw tracepoint record (from common_type on),
 *                        zero-padded to a multiple of 8;
 *   kstack_n u64         kernel stack, innermost first;
 *   ustack_n u64         user stack, innermost first.
 */
struct bt_event {
	__u32 kind; /* BT_REC_EVENT */
	__u32 type_id;
	__u64 ts_ns; /* bpf_ktime_get_ns: CLOCK_MONOTONIC */
	__u32 pid;   /* tgid */
	__u32 tid;
	__u32 cpu;
	__u16 flags; /* BT_EVF_* */
	__u16 kstack_n;
	__u16 ustack_n;
	__u16 __pad0;
	__u32 payload_size;
};

/* bt_proc.flags */
#define BT_PROCF_THREAD (1u << 0) /* fork/exit of a non-leader thread */

/* Process lifecycle: fork, exec, exit. */
struct bt_proc {
	__u32 kind; /* BT_REC_FORK / EXEC / EXIT */
	__u32 flags;
	__u64 ts_ns;
	__u32 pid; /* tgid of the task (the child for fork) */
	__u32 tid;
	__u32 ppid;	 /* parent's tgid */
	__s32 exit_code; /* EXIT: task->exit_code (wait status) */
	__u32 cpu;
	__u32 __pad0;
	char comm[BT_COMM_LEN];
	char filename[BT_FILENAME_LEN]; /* EXEC only: NUL-terminated */
};
#define BT_PROC_SMALL_SIZE 56 /* bytes reserved for fork/exit (no filename) */

/* bt_type_cfg.flags */
#define BT_CFG_KSTACK (1u << 0)
#define BT_CFG_USTACK (1u << 1)
/* syscalls:* tracepoints hand BPF a record whose common_* header holds a
 * pt_regs pointer: rewrite it (common_type = ID, flags and preempt_count 0,
 * common_pid = tid) so the stored record decodes like any other. */
#define BT_CFG_FIX_COMMON (1u << 2)

/*
 * Per event type configuration (array map indexed by type_id, which is also
 * the attach cookie).  For a tracepoint, fixed_size is the end of its last
 * fixed field; the record extends past it by its __data_loc areas, found
 * from the u32 at each loc_off (len << 16 | offset; for __rel_loc the
 * offset counts from the end of the field).
 */
struct bt_type_cfg {
	__u32 fixed_size;
	__u16 flags; /* BT_CFG_* */
	__u8 n_loc;
	__u8 __pad0;
	__u16 loc_off[BT_MAX_DATALOC];
	__u8 loc_rel[BT_MAX_DATALOC];
	__u16 common_type; /* tracefs ID, for BT_CFG_FIX_COMMON */
	__u16 __pad1[3];
};

/* Payload of an off-CPU event (emitted when the thread runs again; ts_ns is
 * when it went off-CPU, the stacks are where it blocked). */
struct bt_offcpu {
	__u64 duration_ns;
	__u32 state; /* prev_state at the switch: 0 = preempted (runnable) */
	__u32 __pad0;
};
#define BT_OFFCPU_VALUE_BYTES                                                                      \
	(sizeof(struct bt_event) + sizeof(struct bt_offcpu) + 2 * BT_STACK_BYTES)

/* Loss counters: per-CPU array indexed by type_id * BT_LOSS_NKINDS + kind.
 * type_id 0 holds lifecycle (process) losses. */
enum bt_loss_kind {
	BT_LOSS_RINGBUF = 0, /* ringbuf reserve/output failed */
	BT_LOSS_KSTACK = 1,  /* kernel stack capture failed */
	BT_LOSS_USTACK = 2,  /* user stack capture failed */
	BT_LOSS_NKINDS = 4,
};

_Static_assert(sizeof(struct bt_event) == 40, "bt_event size");
_Static_assert(__builtin_offsetof(struct bt_event, ts_ns) == 8, "bt_event.ts_ns");
_Static_assert(__builtin_offsetof(struct bt_event, cpu) == 24, "bt_event.cpu");
_Static_assert(__builtin_offsetof(struct bt_event, kstack_n) == 30, "bt_event.kstack_n");
_Static_assert(__builtin_offsetof(struct bt_event, payload_size) == 36, "bt_event.payload_size");
_Static_assert(sizeof(struct bt_proc) == BT_PROC_SMALL_SIZE + BT_FILENAME_LEN, "bt_proc size");
_Static_assert(__builtin_offsetof(struct bt_proc, exit_code) == 28, "bt_proc.exit_code");
_Static_assert(__builtin_offsetof(struct bt_proc, comm) == 40, "bt_proc.comm");
_Static_assert(__builtin_offsetof(struct bt_proc, filename) == BT_PROC_SMALL_SIZE,
	       "bt_proc.filename");
_Static_assert(sizeof(struct bt_type_cfg) == 40, "bt_type_cfg size");
_Static_assert(sizeof(struct bt_offcpu) == 16, "bt_offcpu size");
_Static_assert(__builtin_offsetof(struct bt_type_cfg, common_type) == 32,
	       "bt_type_cfg.common_type");
_Static_assert(__builtin_offsetof(struct bt_type_cfg, loc_off) == 8, "bt_type_cfg.loc_off");
_Static_assert(__builtin_offsetof(struct bt_type_cfg, loc_rel) == 24, "bt_type_cfg.loc_rel");
_Static_assert(sizeof(struct bt_event) + BT_MAX_PAYLOAD + 2 * BT_STACK_BYTES <= BT_SCRATCH_BYTES,
	       "scratch buffer too small");

#endif /* BPFTAPE_EVENTS_H */
