/* SPDX-License-Identifier: MIT */
/*
 * Trace reader: iterates records in file order holding one decompressed chunk
 * at a time.  Every error names the chunk and file offset.  After an error
 * the caller may continue with tape_reader__resync(), which skips to the next
 * intact chunk, so intact data is never lost to one bad chunk.
 */
#ifndef TAPE_READER_H
#define TAPE_READER_H

#include <stdint.h>
#include <stddef.h>
#include "format.h"

struct tape_reader;

/* One record as it lies in the chunk. */
struct tape_record {
	uint16_t type;	/* enum tape_record_type, or unknown */
	uint16_t flags; /* record header flags (reserved, 0) */
	uint32_t size;	/* body size in bytes (padding excluded) */
	const void *body;
	uint32_t chunk;	       /* chunk sequence number */
	uint64_t chunk_offset; /* file offset of the chunk header */
	uint64_t ts_ns;	       /* EVENT only: absolute timestamp, delta-decoded */
};

struct tape_file_info {
	uint16_t major, minor;
	uint64_t required_features;
	uint64_t optional_features;
	uint64_t created_realtime_ns;
	uint64_t file_size;
	int has_footer;	    /* a valid footer was found at the end */
	int footer_damaged; /* a footer is there but its tail or checksum is bad */
};

/* Opens PATH and validates the header.  On failure *out is NULL and errmsg
 * (if not NULL) receives e.g. "x.tape: unsupported format version 2.0". */
int tape_reader__open(struct tape_reader **out, const char *path, char *errmsg, size_t errmsg_size);
/* Opens an in-memory image (not copied; must outlive the reader). */
int tape_reader__open_mem(struct tape_reader **out, const void *data, size_t size, char *errmsg,
			  size_t errmsg_size);

void tape_reader__file_info(const struct tape_reader *r, struct tape_file_info *fi);

/*
 * Reads the next record.  Returns 1 with *rec filled, 0 at the end of the
 * data (the footer or a clean EOF), or a negative errno on a damaged or
 * truncated chunk (errmsg says which, where and why).  Records of unknown
 * types are returned too; callers skip them.
 */
int tape_reader__next(struct tape_reader *r, struct tape_record *rec);

/*
 * After an error from tape_reader__next: skips forward to the next chunk
 * whose header checks out.  Returns 1 if one was found, 0 if none is left.
 */
int tape_reader__resync(struct tape_reader *r);

/* Seeks back to the first chunk. */
int tape_reader__rewind(struct tape_reader *r);

struct tape_chunk_info {
	uint32_t seq;
	uint64_t offset; /* of the chunk header */
	uint32_t compressed_size;
	uint32_t uncompressed_size;
	uint32_t records;
	uint64_t min_ts, max_ts;
};

/*
 * Describes the chunk that the last record came from; valid after
 * tape_reader__next returned 1.
 */
void tape_reader__chunk_info(const struct tape_reader *r, struct tape_chunk_info *ci);

/* Totals over all chunks read so far (or of the file, once at the end). */
struct tape_reader_stats {
	uint64_t chunks;
	uint64_t records;
	uint64_t bytes_compressed;   /* chunk payload bytes on disk */
	uint64_t bytes_uncompressed; /* record bytes */
	uint64_t bad_chunks;
	uint64_t bytes_skipped; /* damaged or unreadable bytes passed over */
};
void tape_reader__stats(const struct tape_reader *r, struct tape_reader_stats *st);

const char *tape_reader__errmsg(const struct tape_reader *r);

/* Accepts NULL. */
void tape_reader__close(struct tape_reader *r);

/*
 * Decoders: fill OUT from REC.  Return 0, or -EBADMSG when the body is too
 * short or inconsistent (a message naming the record is left in the reader
 * when R is not NULL).  Bodies longer than a decoder knows are accepted:
 * fields appended in later minor versions are ignored.
 */
int tape_record__host(const struct tape_record *rec, struct tape_host *out);
int tape_record__event_desc(const struct tape_record *rec, struct tape_event_desc *out);
int tape_record__event(const struct tape_record *rec, struct tape_event *out);
int tape_record__stack(const struct tape_record *rec, struct tape_stack *out);
int tape_record__proc(const struct tape_record *rec, struct tape_proc *out);
int tape_record__mmap(const struct tape_record *rec, struct tape_mmap *out);
int tape_record__loss(const struct tape_record *rec, struct tape_loss *out);
int tape_record__end(const struct tape_record *rec, struct tape_end *out);

/* KSYMS and SYMTAB records hold many entries: iterate them. */
struct tape_sym_iter {
	const uint8_t *p, *end;
	uint32_t left;
	int err;
};
int tape_record__ksyms(const struct tape_record *rec, struct tape_sym_iter *it);
/* Returns 1 with *out filled, 0 at the end, -EBADMSG on damage. */
int tape_ksyms__next(struct tape_sym_iter *it, struct tape_ksym *out);
int tape_record__symtab(const struct tape_record *rec, struct tape_symtab *hdr,
			struct tape_sym_iter *it);
int tape_symtab__next(struct tape_sym_iter *it, struct tape_sym *out);

#endif /* TAPE_READER_H */
