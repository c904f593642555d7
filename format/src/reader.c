/* SPDX-License-Identifier: MIT */
/*
 * The reader: validates the header, finds the footer from the end when there
 * is one (else data runs to EOF), then walks chunks in file order holding one
 * decompressed chunk at a time.  Every size read from the file is checked
 * against the bytes that really exist before anything is allocated.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "tape/reader.h"
#include "tape_int.h"

struct tape_reader {
	int fd;		    /* -1 for memory images */
	const uint8_t *mem; /* memory image */
	uint64_t file_size;
	uint64_t data_end; /* footer offset, or file size */
	char *name;
	struct tape_file_info info;

	uint64_t next_off; /* where the next chunk header is expected */
	uint32_t expect_seq;

	/* current chunk */
	struct tape_chunk_info chunk;
	uint8_t *cbuf;
	size_t cbuf_cap;
	uint8_t *ubuf; /* decompressed records (or points into cbuf/mem) */
	size_t ubuf_cap;
	const uint8_t *recs;
	size_t recs_len, recs_pos;
	uint32_t recs_seen;
	uint64_t base_ts, prev_ts;
	int in_chunk;

	ZSTD_DCtx *dctx;
	struct tape_reader_stats st;
	char errmsg[320];
};

static int set_err(struct tape_reader *r, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int set_err(struct tape_reader *r, int err, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(r->errmsg, sizeof(r->errmsg), "%s: %s", r->name, msg);
	return err;
}

/* Reads exactly LEN bytes at OFF; the caller has checked OFF+LEN <= size. */
static int src_read(struct tape_reader *r, uint64_t off, void *buf, size_t len)
{
	uint8_t *p = buf;

	if (r->mem) {
		memcpy(buf, r->mem + off, len);
		return 0;
	}
	while (len) {
		ssize_t n = pread(r->fd, p, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -ENODATA; /* file shrank under us */
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static void find_footer(struct tape_reader *r)
{
	uint8_t tail[TAPE_TAIL_SIZE];
	uint64_t off, size;
	uint8_t *f;

	r->data_end = r->file_size;
	if (r->file_size < TAPE_FILE_HEADER_SIZE + TAPE_TAIL_SIZE + FT_HEAD_SIZE)
		return;
	if (src_read(r, r->file_size - TAPE_TAIL_SIZE, tail, sizeof(tail)))
		return;
	if (memcmp(tail + TL_MAGIC, TAPE_TAIL_MAGIC, 8))
		return;
	off = tape_get_u64(tail + TL_FOOTER_OFFSET);
	size = tape_get_u32(tail + TL_FOOTER_SIZE);
	if (off < TAPE_FILE_HEADER_SIZE || size < FT_HEAD_SIZE ||
	    off > r->file_size - TAPE_TAIL_SIZE || size != r->file_size - TAPE_TAIL_SIZE - off)
		return;
	f = malloc(size);
	if (!f)
		return;
	if (!src_read(r, off, f, size) && !memcmp(f, TAPE_FOOTER_MAGIC, 4) &&
	    tape_crc32c(0, f, size) == tape_get_u32(tail + TL_FOOTER_CRC)) {
		r->data_end = off;
		r->info.has_footer = 1;
	}
	free(f);
}

static int open_common(struct tape_reader *r, char *errmsg, size_t errmsg_size)
{
	uint8_t h[TAPE_FILE_HEADER_SIZE];
	uint16_t major;
	uint64_t unknown;
	int err = 0;

	r->dctx = ZSTD_createDCtx();
	if (!r->dctx) {
		err = set_err(r, -ENOMEM, "out of memory");
		goto out;
	}
	if (r->file_size < TAPE_FILE_HEADER_SIZE) {
		err =
		    set_err(r, -EBADMSG, "not a bpftape trace: %llu bytes, too short for a header",
			    (unsigned long long)r->file_size);
		goto out;
	}
	err = src_read(r, 0, h, sizeof(h));
	if (err) {
		set_err(r, err, "cannot read header: %s", strerror(-err));
		goto out;
	}
	if (memcmp(h + FH_MAGIC, TAPE_MAGIC, TAPE_MAGIC_SIZE)) {
		err = set_err(r, -EBADMSG, "not a bpftape trace (bad magic)");
		goto out;
	}
	if (tape_crc32c(0, h, FH_CRC) != tape_get_u32(h + FH_CRC)) {
		err = set_err(r, -EBADMSG, "file header at offset 0x0: checksum mismatch");
		goto out;
	}
	major = tape_get_u16(h + FH_MAJOR);
	r->info.major = major;
	r->info.minor = tape_get_u16(h + FH_MINOR);
	if (major != TAPE_VERSION_MAJOR) {
		err = set_err(r, -EPROTONOSUPPORT,
			      "unsupported format version %u.%u (this bpftape reads %u.x)", major,
			      r->info.minor, TAPE_VERSION_MAJOR);
		goto out;
	}
	if (tape_get_u32(h + FH_SIZE) != TAPE_FILE_HEADER_SIZE) {
		err = set_err(r, -EBADMSG, "file header size %u, expected %u",
			      tape_get_u32(h + FH_SIZE), TAPE_FILE_HEADER_SIZE);
		goto out;
	}
	r->info.required_features = tape_get_u64(h + FH_REQ);
	r->info.optional_features = tape_get_u64(h + FH_OPT);
	r->info.created_realtime_ns = tape_get_u64(h + FH_CREATED);
	r->info.file_size = r->file_size;
	unknown = r->info.required_features & ~TAPE_FEAT_REQ_KNOWN;
	if (unknown) {
		err = set_err(r, -EPROTONOSUPPORT, "requires unknown features 0x%llx",
			      (unsigned long long)unknown);
		goto out;
	}
	find_footer(r);
	r->next_off = TAPE_FILE_HEADER_SIZE;
out:
	if (err && errmsg)
		snprintf(errmsg, errmsg_size, "%s", r->errmsg);
	return err;
}

int tape_reader__open(struct tape_reader **out, const char *path, char *errmsg, size_t errmsg_size)
{
	struct tape_reader *r;
	struct stat st;
	int err;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r || !(r->name = strdup(path))) {
		free(r);
		if (errmsg)
			snprintf(errmsg, errmsg_size, "out of memory");
		return -ENOMEM;
	}
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0) {
		err = -errno;
		if (errmsg)
			snprintf(errmsg, errmsg_size, "cannot open trace '%s': %s", path,
				 strerror(-err));
		tape_reader__close(r);
		return err;
	}
	if (fstat(r->fd, &st) || !S_ISREG(st.st_mode)) {
		err = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		if (errmsg)
			snprintf(errmsg, errmsg_size, "cannot read trace '%s': %s", path,
				 S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
		tape_reader__close(r);
		return err;
	}
	r->file_size = (uint64_t)st.st_size;
	err = open_common(r, errmsg, errmsg_size);
	if (err) {
		tape_reader__close(r);
		return err;
	}
	*out = r;
	return 0;
}

int tape_reader__open_mem(struct tape_reader **out, const void *data, size_t size, char *errmsg,
			  size_t errmsg_size)
{
	struct tape_reader *r;
	int err;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r || !(r->name = strdup("<memory>"))) {
		free(r);
		return -ENOMEM;
	}
	r->fd = -1;
	r->mem = data ? data : (const uint8_t *)"";
	r->file_size = size;
	err = open_common(r, errmsg, errmsg_size);
	if (err) {
		tape_reader__close(r);
		return err;
	}
	*out = r;
	return 0;
}

void tape_reader__file_info(const struct tape_reader *r, struct tape_file_info *fi)
{
	*fi = r->info;
}

static int grow(uint8_t **buf, size_t *cap, size_t need)
{
	uint8_t *n;

	if (need <= *cap)
		return 0;
	n = realloc(*buf, need);
	if (!n)
		return -ENOMEM;
	*buf = n;
	*cap = need;
	return 0;
}

/*
 * Loads the chunk at r->next_off.  Returns 1 when loaded, 0 at the end of
 * data, negative on damage (r->next_off is left at the bad chunk).
 */
static int load_chunk(struct tape_reader *r)
{
	uint8_t h[TAPE_CHUNK_HEADER_SIZE];
	uint64_t off = r->next_off;
	uint32_t csize, usize, seq;
	uint8_t codec;
	int err;

	r->in_chunk = 0;
	if (off >= r->data_end)
		return 0;
	if (r->data_end - off < TAPE_CHUNK_HEADER_SIZE)
		return set_err(r, -ENODATA,
			       "chunk %u at offset 0x%llx: truncated header (%llu of %u bytes)",
			       r->expect_seq, (unsigned long long)off,
			       (unsigned long long)(r->data_end - off), TAPE_CHUNK_HEADER_SIZE);
	err = src_read(r, off, h, sizeof(h));
	if (err)
		return set_err(r, err, "chunk %u at offset 0x%llx: %s", r->expect_seq,
			       (unsigned long long)off, strerror(-err));
	if (!r->info.has_footer && !memcmp(h, TAPE_FOOTER_MAGIC, 4)) {
		/* a footer that the tail does not vouch for: data ends here */
		r->info.footer_damaged = 1;
		return 0;
	}
	if (memcmp(h + CH_MAGIC, TAPE_CHUNK_MAGIC, 4))
		return set_err(r, -EBADMSG, "chunk %u at offset 0x%llx: bad chunk magic",
			       r->expect_seq, (unsigned long long)off);
	if (tape_crc32c(0, h, CH_CRC) != tape_get_u32(h + CH_CRC))
		return set_err(r, -EBADMSG, "chunk %u at offset 0x%llx: header checksum mismatch",
			       r->expect_seq, (unsigned long long)off);
	seq = tape_get_u32(h + CH_SEQ);
	codec = h[CH_CODEC];
	csize = tape_get_u32(h + CH_CSIZE);
	usize = tape_get_u32(h + CH_USIZE);
	if (tape_get_u32(h + CH_SIZE) != TAPE_CHUNK_HEADER_SIZE)
		return set_err(
		    r, -EBADMSG, "chunk %u at offset 0x%llx: header size %u, expected %u", seq,
		    (unsigned long long)off, tape_get_u32(h + CH_SIZE), TAPE_CHUNK_HEADER_SIZE);
	if (usize > TAPE_MAX_CHUNK_BYTES || (codec == TAPE_CODEC_NONE && csize != usize) ||
	    codec > TAPE_CODEC_ZSTD)
		return set_err(r, -EBADMSG,
			       "chunk %u at offset 0x%llx: invalid sizes or codec (codec %u, "
			       "%u -> %u bytes)",
			       seq, (unsigned long long)off, codec, csize, usize);
	if (csize > r->data_end - off - TAPE_CHUNK_HEADER_SIZE)
		return set_err(r, -ENODATA,
			       "chunk %u at offset 0x%llx: truncated (payload of %u bytes, %llu "
			       "in file)",
			       seq, (unsigned long long)off, csize,
			       (unsigned long long)(r->data_end - off - TAPE_CHUNK_HEADER_SIZE));
	if (grow(&r->cbuf, &r->cbuf_cap, csize ? csize : 1))
		return set_err(r, -ENOMEM, "out of memory");
	err = src_read(r, off + TAPE_CHUNK_HEADER_SIZE, r->cbuf, csize);
	if (err)
		return set_err(r, err, "chunk %u at offset 0x%llx: %s", seq,
			       (unsigned long long)off, strerror(-err));
	if (tape_crc32c(0, r->cbuf, csize) != tape_get_u32(h + CH_PAYLOAD_CRC))
		return set_err(r, -EBADMSG, "chunk %u at offset 0x%llx: payload checksum mismatch",
			       seq, (unsigned long long)off);
	if (codec == TAPE_CODEC_ZSTD) {
		size_t n;

		if (grow(&r->ubuf, &r->ubuf_cap, usize ? usize : 1))
			return set_err(r, -ENOMEM, "out of memory");
		n = ZSTD_decompressDCtx(r->dctx, r->ubuf, usize, r->cbuf, csize);
		if (ZSTD_isError(n) || n != usize)
			return set_err(r, -EBADMSG,
				       "chunk %u at offset 0x%llx: decompression failed (%s)", seq,
				       (unsigned long long)off,
				       ZSTD_isError(n) ? ZSTD_getErrorName(n) : "size mismatch");
		r->recs = r->ubuf;
	} else {
		r->recs = r->cbuf;
	}
	r->recs_len = usize;
	r->recs_pos = 0;
	r->recs_seen = 0;
	r->chunk.seq = seq;
	r->chunk.offset = off;
	r->chunk.compressed_size = csize;
	r->chunk.uncompressed_size = usize;
	r->chunk.records = tape_get_u32(h + CH_RECORDS);
	r->chunk.min_ts = tape_get_u64(h + CH_MIN_TS);
	r->chunk.max_ts = tape_get_u64(h + CH_MAX_TS);
	r->base_ts = tape_get_u64(h + CH_BASE_TS);
	r->prev_ts = r->base_ts;
	r->in_chunk = 1;
	r->expect_seq = seq + 1;
	r->next_off = off + TAPE_CHUNK_HEADER_SIZE + csize;
	r->st.chunks++;
	r->st.bytes_compressed += csize;
	r->st.bytes_uncompressed += usize;
	return 1;
}

static int chunk_fail(struct tape_reader *r, int err)
{
	/* resync starts after this chunk's header */
	r->in_chunk = 0;
	r->next_off = r->chunk.offset;
	r->st.chunks--;
	r->st.bytes_compressed -= r->chunk.compressed_size;
	r->st.bytes_uncompressed -= r->chunk.uncompressed_size;
	r->st.records -= r->recs_seen;
	return err;
}

int tape_reader__next(struct tape_reader *r, struct tape_record *rec)
{
	const uint8_t *p;
	uint32_t size, padded;

	for (;;) {
		int ret;

		if (r->in_chunk && r->recs_pos < r->recs_len)
			break;
		if (r->in_chunk && r->recs_seen != r->chunk.records)
			return chunk_fail(r,
					  set_err(r, -EBADMSG,
						  "chunk %u at offset 0x%llx: holds %u records, "
						  "header says %u",
						  r->chunk.seq, (unsigned long long)r->chunk.offset,
						  r->recs_seen, r->chunk.records));
		ret = load_chunk(r);
		if (ret <= 0)
			return ret;
	}
	p = r->recs + r->recs_pos;
	if (r->recs_len - r->recs_pos < TAPE_RECORD_HEADER_SIZE)
		return chunk_fail(r, set_err(r, -EBADMSG,
					     "chunk %u at offset 0x%llx: record at +0x%zx: "
					     "truncated record header",
					     r->chunk.seq, (unsigned long long)r->chunk.offset,
					     r->recs_pos));
	size = tape_get_u32(p);
	padded = tape_align8(size);
	if (size < TAPE_RECORD_HEADER_SIZE || size > TAPE_MAX_RECORD_BYTES ||
	    padded > r->recs_len - r->recs_pos)
		return chunk_fail(r, set_err(r, -EBADMSG,
					     "chunk %u at offset 0x%llx: record at +0x%zx: invalid "
					     "size %u",
					     r->chunk.seq, (unsigned long long)r->chunk.offset,
					     r->recs_pos, size));
	rec->type = tape_get_u16(p + 4);
	rec->flags = tape_get_u16(p + 6);
	rec->size = size - TAPE_RECORD_HEADER_SIZE;
	rec->body = p + TAPE_RECORD_HEADER_SIZE;
	rec->chunk = r->chunk.seq;
	rec->chunk_offset = r->chunk.offset;
	rec->ts_ns = 0;
	if (rec->type == TAPE_REC_EVENT) {
		if (rec->size < EV_FIXED_SIZE)
			return chunk_fail(r,
					  set_err(r, -EBADMSG,
						  "chunk %u at offset 0x%llx: event at +0x%zx: "
						  "%u bytes, too short",
						  r->chunk.seq, (unsigned long long)r->chunk.offset,
						  r->recs_pos, rec->size));
		r->prev_ts += tape_get_u64((const uint8_t *)rec->body + EV_TS_DELTA);
		rec->ts_ns = r->prev_ts;
	}
	r->recs_pos += padded;
	r->recs_seen++;
	r->st.records++;
	return 1;
}

int tape_reader__resync(struct tape_reader *r)
{
	uint8_t buf[64 << 10];
	uint64_t off = r->next_off + 1;

	r->in_chunk = 0;
	r->st.bad_chunks++;
	while (off + TAPE_CHUNK_HEADER_SIZE <= r->data_end) {
		size_t len = sizeof(buf);

		if (len > r->data_end - off)
			len = (size_t)(r->data_end - off);
		if (src_read(r, off, buf, len))
			break;
		for (size_t i = 0; i + TAPE_CHUNK_HEADER_SIZE <= len; i++) {
			if (buf[i] != 'T' || memcmp(buf + i, TAPE_CHUNK_MAGIC, 4))
				continue;
			if (tape_crc32c(0, buf + i, CH_CRC) != tape_get_u32(buf + i + CH_CRC))
				continue;
			r->st.bytes_skipped += off + i - r->next_off;
			r->next_off = off + i;
			r->expect_seq = tape_get_u32(buf + i + CH_SEQ);
			return 1;
		}
		if (len <= TAPE_CHUNK_HEADER_SIZE)
			break;
		off += len - TAPE_CHUNK_HEADER_SIZE + 1;
	}
	r->st.bytes_skipped += r->data_end - r->next_off;
	r->next_off = r->data_end;
	return 0;
}

int tape_reader__rewind(struct tape_reader *r)
{
	r->next_off = TAPE_FILE_HEADER_SIZE;
	r->expect_seq = 0;
	r->in_chunk = 0;
	memset(&r->st, 0, sizeof(r->st));
	return 0;
}

void tape_reader__chunk_info(const struct tape_reader *r, struct tape_chunk_info *ci)
{
	*ci = r->chunk;
}

void tape_reader__stats(const struct tape_reader *r, struct tape_reader_stats *st)
{
	*st = r->st;
}

const char *tape_reader__errmsg(const struct tape_reader *r)
{
	return r->errmsg;
}

void tape_reader__close(struct tape_reader *r)
{
	if (!r)
		return;
	if (r->fd >= 0 && !r->mem)
		close(r->fd);
	ZSTD_freeDCtx(r->dctx);
	free(r->cbuf);
	free(r->ubuf);
	free(r->name);
	free(r);
}
