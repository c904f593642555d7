/* SPDX-License-Identifier: MIT */
/*
 * bpftape-record internals shared by the recorder's source files and its unit
 * tests: number parsing, probe specs, tracefs formats, stack dedup, process
 * and mapping metadata, and the recording session.
 */
#ifndef REC_INT_H
#define REC_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct tape_writer;

/* ---- numbers (util.c); durations and sizes: tape/units.h ---- */

/* Decimal unsigned integer in [min, max]; rejects trailing garbage. */
int rec_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* ---- probe specs (spec.c) ---- */

enum rec_spec_kind {
	REC_SPEC_PROFILE = 1,
	REC_SPEC_TRACEPOINT,
	REC_SPEC_KPROBE,
	REC_SPEC_KRETPROBE,
	REC_SPEC_UPROBE,
	REC_SPEC_URETPROBE,
	REC_SPEC_USDT,
	REC_SPEC_OFFCPU,
};

#define REC_STACK_K (1u << 0)
#define REC_STACK_U (1u << 1)

struct rec_spec {
	enum rec_spec_kind kind;
	char text[256];	     /* as written */
	char cat[128];	     /* tracepoint category glob / probe target */
	char name[128];	     /* tracepoint name glob / function */
	unsigned int hz;     /* profile */
	unsigned int stacks; /* REC_STACK_* requested by the spec itself */
};

/*
 * Parses one -e spec.  On error returns -EINVAL and writes a one-line reason
 * (without program name) into err.
 */
int rec_spec__parse(const char *s, struct rec_spec *out, char *err, size_t errsz);
const char *rec_spec_kind__name(enum rec_spec_kind k);

/* ---- tracefs (tracefs.c) ---- */

/* Finds (or mounts) tracefs; root receives e.g. "/sys/kernel/tracing". */
int rec_tracefs__root(char *root, size_t size, char *err, size_t errsz);

struct rec_tp_name {
	char cat[128];
	char name[128];
};
/* Lists tracepoints matching the globs, sorted.  *out is malloc'd. */
int rec_tracefs__match(const char *root, const char *cat_glob, const char *name_glob,
		       struct rec_tp_name **out, size_t *n);

/* What the BPF side needs to know about a tracepoint's raw record. */
struct rec_tp_layout {
	uint32_t id;	     /* tracefs ID */
	uint32_t fixed_size; /* end of the last fixed field */
	uint32_t n_loc;
	uint16_t loc_off[8];
	uint8_t loc_rel[8];
};
/* Parses the text of a tracefs format file. */
int rec_tp_format__parse(const char *text, struct rec_tp_layout *out, char *err, size_t errsz);

/* Reads a whole (small, procfs/sysfs) file into a NUL-terminated buffer. */
int rec_read_file(const char *path, char **buf, size_t *len);

/* ---- stack dedup (stacks.c) ---- */

struct rec_stacks;
int rec_stacks__new(struct rec_stacks **out);
void rec_stacks__free(struct rec_stacks *st);
/*
 * Returns the trace-local id (>= 1) of the stack IPS[0..n) of the given kind
 * (kernel or user; the two never share an entry).  *is_new is set when the id
 * was just assigned, i.e. the caller must write the STACK record.
 */
int rec_stacks__intern(struct rec_stacks *st, bool kernel, const uint64_t *ips, uint32_t n,
		       uint32_t *id, bool *is_new);
uint64_t rec_stacks__count(const struct rec_stacks *st);

/* ---- metadata (meta.c) ---- */

/* Build-id of the ELF file at PATH; returns its size (> 0), 0 if none, or -errno. */
int rec_elf_build_id(const char *path, uint8_t *buf, size_t size);

struct rec_buildid_cache;
int rec_buildid_cache__new(struct rec_buildid_cache **out);
void rec_buildid_cache__free(struct rec_buildid_cache *c);
/* Cached by (dev, inode); returns the size or 0. */
int rec_buildid_cache__get(struct rec_buildid_cache *c, uint64_t dev, uint64_t ino,
			   const char *path, uint8_t *buf);

int rec_write_host(struct tape_writer *w, int argc, char **argv, uint64_t start_ns);
/* Address ranges [start, end) of kernel code, sorted by start. */
struct rec_ranges {
	uint64_t (*r)[2];
	size_t n;
};
void rec_ranges_release(struct rec_ranges *rr);
bool rec_ranges_contains(const struct rec_ranges *rr, uint64_t addr);

/*
 * Writes the /proc/kallsyms snapshot; returns the number of symbols or
 * -errno.  If BPF_FRAMES is not NULL it receives the ranges of the code a
 * BPF program's kernel stack starts with when captured from a raw
 * tracepoint: the JIT-ed programs ([bpf]) and the bpf_trace_run* /
 * __bpf_trace_* glue.
 */
long rec_write_kallsyms(struct tape_writer *w, struct rec_ranges *bpf_frames);
/*
 * Writes SCAN PROC records and MMAP records (executable mappings, with
 * build-ids) of PID, or of every process when pid == 0.  Returns the number
 * of mappings written.
 */
long rec_scan_procs(struct tape_writer *w, struct rec_buildid_cache *bc, pid_t pid, uint64_t ts_ns);

uint64_t rec_now_mono_ns(void);

#endif /* REC_INT_H */
