/* SPDX-License-Identifier: MIT */
/*
 * bpftape trace file format: on-disk constants, record types and the decoded
 * (in-memory) forms of every record.  docs/FORMAT.md is the normative
 * description of every byte; this header mirrors it.  Nothing here is ever
 * written raw: records are encoded field by field, little-endian, by
 * records.c.
 *
 * Decoded records point into the reader's current chunk buffer (strings are
 * (ptr, len) pairs, NOT NUL-terminated); they stay valid until the next call
 * to tape_reader__next().  The same structs are used to write records: the
 * writer copies what they point to.
 */
#ifndef TAPE_FORMAT_H
#define TAPE_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define TAPE_MAGIC "BPFTAPE\0" /* 8 bytes at offset 0 */
#define TAPE_MAGIC_SIZE 8
#define TAPE_VERSION_MAJOR 1 /* readers reject a larger major */
#define TAPE_VERSION_MINOR 0 /* readers accept any minor */

#define TAPE_FILE_HEADER_SIZE 64
#define TAPE_CHUNK_HEADER_SIZE 64
#define TAPE_CHUNK_MAGIC "TCHK"
#define TAPE_FOOTER_MAGIC "TFTR"
#define TAPE_FOOTER_ENTRY_SIZE 48
#define TAPE_TAIL_SIZE 24
#define TAPE_TAIL_MAGIC "BPFTEND\0"

#define TAPE_RECORD_HEADER_SIZE 8
#define TAPE_RECORD_ALIGN 8

/* Hard limits a reader enforces before allocating anything. */
#define TAPE_MAX_CHUNK_BYTES (256u << 20) /* uncompressed payload of one chunk */
#define TAPE_MAX_RECORD_BYTES (64u << 20)
#define TAPE_DEFAULT_CHUNK_BYTES (1u << 20)

/* Feature bits in the file header.  A reader must refuse a file with a
 * required bit it does not know; optional bits may be ignored. */
#define TAPE_FEAT_REQ_KNOWN 0ull
#define TAPE_FEAT_OPT_EMBEDDED_SYMBOLS (1ull << 0)

enum tape_codec {
	TAPE_CODEC_NONE = 0,
	TAPE_CODEC_ZSTD = 1,
};

enum tape_record_type {
	TAPE_REC_HOST = 1,	 /* struct tape_host */
	TAPE_REC_EVENT_DESC = 2, /* struct tape_event_desc */
	TAPE_REC_EVENT = 3,	 /* struct tape_event */
	TAPE_REC_STACK = 4,	 /* struct tape_stack */
	TAPE_REC_PROC = 5,	 /* struct tape_proc */
	TAPE_REC_MMAP = 6,	 /* struct tape_mmap */
	TAPE_REC_KSYMS = 7,	 /* a block of struct tape_ksym, see tape_ksyms_iter */
	TAPE_REC_SYMTAB = 8,	 /* struct tape_symtab: embedded symbol table block */
	TAPE_REC_LOSS = 9,	 /* struct tape_loss */
	TAPE_REC_END = 10,	 /* struct tape_end: clean end of recording */
	TAPE_REC__MAX,
};

/* Kinds of event sources (struct tape_event_desc.source). */
enum tape_source {
	TAPE_SRC_TRACEPOINT = 1,
	TAPE_SRC_PROFILE = 2,
	TAPE_SRC_OFFCPU = 3,
	TAPE_SRC_UPROBE = 4,
	TAPE_SRC_URETPROBE = 5,
	TAPE_SRC_USDT = 6,
	TAPE_SRC_KPROBE = 7,
	TAPE_SRC_KRETPROBE = 8,
};

/* A byte string inside a record: not NUL-terminated. */
struct tape_str {
	const char *ptr;
	uint32_t len;
};

static inline struct tape_str tape_str_c(const char *s)
{
	struct tape_str r = {s ? s : "", s ? (uint32_t)strlen(s) : 0};
	return r;
}

/* Host facts: one per trace, written first. */
struct tape_host {
	uint32_t page_size;
	uint32_t ncpus;
	/* Clock reference: the same instant read from CLOCK_MONOTONIC (the clock
	 * of every ts_ns in the file) and CLOCK_REALTIME. */
	uint64_t clock_mono_ns;
	uint64_t clock_realtime_ns;
	uint64_t start_ns; /* monotonic time recording started */
	struct tape_str hostname;
	struct tape_str sysname;	 /* uname -s */
	struct tape_str release;	 /* uname -r */
	struct tape_str version;	 /* uname -v */
	struct tape_str machine;	 /* uname -m, e.g. x86_64 */
	struct tape_str recorder;	 /* recorder name and version */
	struct tape_str cmdline;	 /* recorder argv joined by single spaces */
	struct tape_str kernel_build_id; /* raw bytes, may be empty */
};

/* Event type descriptor: every EVENT's type_id refers to one of these,
 * written before the first EVENT that uses it. */
#define TAPE_DESC_F_KSTACK (1u << 0) /* events carry kernel stacks */
#define TAPE_DESC_F_USTACK (1u << 1) /* events carry user stacks */
struct tape_event_desc {
	uint32_t type_id;
	uint32_t source;	/* enum tape_source */
	uint32_t flags;		/* TAPE_DESC_F_* */
	uint32_t tp_id;		/* tracefs event id, 0 if none */
	struct tape_str name;	/* "sched:sched_switch", "profile", ... */
	struct tape_str spec;	/* the probe spec as the user wrote it */
	struct tape_str format; /* tracefs format text; empty if none */
};

/* Event flags. */
#define TAPE_EV_F_KSTACK_LOST (1u << 0)	  /* kernel stack requested, capture failed */
#define TAPE_EV_F_USTACK_LOST (1u << 1)	  /* user stack requested, capture failed */
#define TAPE_EV_F_PAYLOAD_TRUNC (1u << 2) /* payload cut to the recorder's limit */
struct tape_event {
	uint32_t type_id;
	uint32_t cpu;
	uint64_t ts_ns; /* absolute CLOCK_MONOTONIC ns (delta-coded on disk) */
	uint32_t pid;	/* tgid */
	uint32_t tid;
	uint32_t kstack_id; /* 0 = none; else a STACK record's id */
	uint32_t ustack_id; /* 0 = none */
	uint32_t flags;	    /* TAPE_EV_F_* */
	uint32_t payload_size;
	const void *payload; /* source-specific raw bytes, see docs/FORMAT.md */
};

#define TAPE_STACK_F_KERNEL (1u << 0)	 /* kernel addresses (else user) */
#define TAPE_STACK_F_TRUNCATED (1u << 1) /* deeper frames were cut */
#define TAPE_STACK_MAX_FRAMES 1024
/* A distinct stack, written once before the first EVENT that references it.
 * ips[0] is the innermost frame (the sampled/probed address). */
struct tape_stack {
	uint32_t id; /* >= 1, unique in the file */
	uint32_t flags;
	uint32_t nframes;
	const void *ips_le;  /* nframes little-endian u64 (decoded); or: */
	const uint64_t *ips; /* host-order array (when writing) */
};

static inline uint64_t tape_stack__ip(const struct tape_stack *s, uint32_t i)
{
	const uint8_t *p = (const uint8_t *)s->ips_le + 8 * (size_t)i;
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
	       (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
	       (uint64_t)p[7] << 56;
}

enum tape_proc_kind {
	TAPE_PROC_SCAN = 1, /* existed when recording started (/proc scan) */
	TAPE_PROC_FORK = 2, /* new task: pid/tid = child, ppid = parent tgid */
	TAPE_PROC_EXEC = 3, /* filename = path passed to exec, comm = new comm */
	TAPE_PROC_EXIT = 4, /* task exit; exit_code = wait status */
	TAPE_PROC_COMM = 5, /* comm changed (prctl) */
};
#define TAPE_PROC_F_THREAD (1u << 0) /* FORK/EXIT of a non-leader thread */
struct tape_proc {
	uint32_t kind; /* enum tape_proc_kind */
	uint32_t flags;
	uint64_t ts_ns;
	uint32_t pid; /* tgid */
	uint32_t tid;
	uint32_t ppid;
	int32_t exit_code; /* EXIT: raw wait status (code << 8 | signal) */
	struct tape_str comm;
	struct tape_str filename; /* EXEC: exec'd path; SCAN: /proc/PID/exe */
};

#define TAPE_MMAP_PROT_READ (1u << 0)
#define TAPE_MMAP_PROT_WRITE (1u << 1)
#define TAPE_MMAP_PROT_EXEC (1u << 2)
#define TAPE_MMAP_F_SCAN (1u << 0) /* from a /proc/PID/maps scan */
#define TAPE_BUILD_ID_MAX 20
struct tape_mmap {
	uint64_t ts_ns;
	uint32_t pid;
	uint32_t prot;		/* TAPE_MMAP_PROT_* */
	uint32_t flags;		/* TAPE_MMAP_F_* */
	uint32_t build_id_size; /* 0 = unknown */
	uint64_t start;
	uint64_t end;	/* exclusive */
	uint64_t pgoff; /* file offset of start, in bytes */
	uint64_t dev;
	uint64_t inode;
	uint8_t build_id[TAPE_BUILD_ID_MAX];
	struct tape_str path; /* "[vdso]", "[anon]" etc. for non-file maps */
};

/* Kernel symbols: KSYMS records carry blocks of entries (the writer splits a
 * full /proc/kallsyms snapshot into many records). */
struct tape_ksym {
	uint64_t addr;
	char type; /* nm-style letter from kallsyms */
	struct tape_str name;
	struct tape_str module; /* empty for vmlinux */
};

/* Embedded symbol table of one binary (--embed-symbols). */
struct tape_sym {
	uint64_t addr; /* ELF virtual address (st_value) */
	uint64_t size;
	struct tape_str name;
};
struct tape_symtab {
	uint32_t build_id_size;
	uint8_t build_id[TAPE_BUILD_ID_MAX];
	struct tape_str path;
	uint32_t count;
	const void *entries; /* decoded: use tape_symtab_iter */
};

enum tape_loss_kind {
	TAPE_LOSS_RINGBUF = 1,	     /* ringbuf reserve failed: event dropped */
	TAPE_LOSS_KSTACK = 2,	     /* kernel stack capture failed */
	TAPE_LOSS_USTACK = 3,	     /* user stack capture failed */
	TAPE_LOSS_STACK_TRUNC = 4,   /* stacks truncated at the frame limit */
	TAPE_LOSS_PROC = 5,	     /* lifecycle events dropped */
	TAPE_LOSS_MMAP = 6,	     /* mapping updates dropped */
	TAPE_LOSS_PAYLOAD_TRUNC = 7, /* payloads cut */
	TAPE_LOSS_OTHER = 8,
};
#define TAPE_LOSS_ANY 0xffffffffu /* type_id or cpu not specific */
/* A cumulative counter: the total since recording started as of ts_ns.  The
 * last record for a (type_id, cpu, kind) holds the final total. */
struct tape_loss {
	uint64_t ts_ns;
	uint32_t type_id;
	uint32_t cpu;
	uint32_t kind; /* enum tape_loss_kind */
	uint64_t count;
};

struct tape_end {
	uint64_t ts_ns;
	int32_t status; /* recorder exit status (command's, with -- CMD) */
	uint32_t flags;
	uint64_t events; /* events written */
	uint64_t lost;	 /* total of all loss counters */
};

/* Human-readable names, "?" for unknown values. */
const char *tape_record_type__name(uint32_t type);
const char *tape_source__name(uint32_t source);
const char *tape_loss_kind__name(uint32_t kind);
const char *tape_proc_kind__name(uint32_t kind);

#endif /* TAPE_FORMAT_H */
