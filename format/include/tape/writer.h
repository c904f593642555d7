/* SPDX-License-Identifier: MIT */
/*
 * Streaming trace writer.  Records are appended to an in-memory chunk of about
 * chunk_bytes; a full chunk (or tape_writer__flush) is zstd-compressed and
 * written with one write(2), so a killed writer leaves only complete chunks
 * plus at most one torn tail that readers detect.  Memory is bounded by the
 * chunk size (plus the largest single record).
 */
#ifndef TAPE_WRITER_H
#define TAPE_WRITER_H

#include <stdint.h>
#include <stddef.h>
#include "format.h"

struct tape_writer;

#define TAPE_WRITER_F_FORCE (1u << 0) /* replace an existing file */
#define TAPE_WRITER_F_NO_COMPRESS (1u << 1)
#define TAPE_WRITER_F_FSYNC (1u << 2) /* fdatasync after every chunk */

struct tape_writer_opts {
	size_t chunk_bytes;	    /* 0 = TAPE_DEFAULT_CHUNK_BYTES */
	int zstd_level;		    /* 0 = 1 (fast); negative levels allowed */
	uint32_t flags;		    /* TAPE_WRITER_F_* */
	uint64_t optional_features; /* TAPE_FEAT_OPT_* to advertise */
};

/*
 * Creates PATH (mode 0600, O_NOFOLLOW, O_EXCL unless TAPE_WRITER_F_FORCE) and
 * writes the file header.  opts may be NULL.  On failure *out is NULL and, if
 * errmsg is not NULL, a message is copied into errmsg (errmsg_size bytes).
 * Returns 0 or a negative errno.
 */
int tape_writer__open(struct tape_writer **out, const char *path,
		      const struct tape_writer_opts *opts, char *errmsg, size_t errmsg_size);

/* Same on an already open fd, which the writer takes ownership of. */
int tape_writer__open_fd(struct tape_writer **out, int fd, const struct tape_writer_opts *opts,
			 char *errmsg, size_t errmsg_size);

/*
 * Reserves a record of TYPE with BODY_SIZE bytes of body and returns a pointer
 * to the body (zeroed padding included), valid until the next writer call.
 * Flushes the current chunk first when the record does not fit.  Returns NULL
 * on error (see tape_writer__errmsg).
 */
void *tape_writer__reserve(struct tape_writer *w, uint16_t type, uint32_t body_size);

/* Appends a record with a ready-made body. */
int tape_writer__append(struct tape_writer *w, uint16_t type, const void *body, uint32_t size);

/* Typed records (see format.h).  Each returns 0 or a negative errno. */
int tape_writer__host(struct tape_writer *w, const struct tape_host *h);
int tape_writer__event_desc(struct tape_writer *w, const struct tape_event_desc *d);
int tape_writer__event(struct tape_writer *w, const struct tape_event *ev);
int tape_writer__stack(struct tape_writer *w, const struct tape_stack *s); /* uses s->ips */
int tape_writer__proc(struct tape_writer *w, const struct tape_proc *p);
int tape_writer__mmap(struct tape_writer *w, const struct tape_mmap *m);
/* Writes N kernel symbols, split into records of bounded size. */
int tape_writer__ksyms(struct tape_writer *w, const struct tape_ksym *syms, size_t n);
/* Writes one binary's symbols, split into records of bounded size. */
int tape_writer__symtab(struct tape_writer *w, const struct tape_symtab *hdr,
			const struct tape_sym *syms, size_t n);
int tape_writer__loss(struct tape_writer *w, const struct tape_loss *l);
int tape_writer__end(struct tape_writer *w, const struct tape_end *e);

/* Compresses and writes the current chunk, if it holds any record. */
int tape_writer__flush(struct tape_writer *w);

struct tape_writer_stats {
	uint64_t records;
	uint64_t chunks;
	uint64_t bytes_uncompressed; /* record bytes */
	uint64_t bytes_written;	     /* file size so far */
	uint64_t pending_bytes;	     /* in the current, unflushed chunk */
};
void tape_writer__stats(const struct tape_writer *w, struct tape_writer_stats *st);

/* Last error, e.g. "write 'x.tape': No space left on device". */
const char *tape_writer__errmsg(const struct tape_writer *w);

/*
 * Flushes, writes the footer (chunk index) and closes.  Returns 0 or the
 * first error.  Frees W in every case; accepts NULL.
 */
int tape_writer__close(struct tape_writer *w);

#endif /* TAPE_WRITER_H */
