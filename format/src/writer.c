/* SPDX-License-Identifier: MIT */
/*
 * The streaming writer: records accumulate in one uncompressed chunk buffer;
 * a full chunk is compressed and written with a single writev(2) of header
 * and payload.  The footer (chunk index) is written only by a clean close;
 * readers rebuild it by a forward scan when it is missing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "tape/writer.h"
#include "tape_int.h"

struct chunk_entry {
	uint64_t offset;
	uint32_t csize, usize, records, seq;
	uint64_t min_ts, max_ts, base_ts;
};

struct tape_writer {
	int fd;
	int failed; /* sticky first error */
	uint32_t flags;
	int level;
	size_t chunk_bytes;

	uint8_t *buf; /* current chunk, uncompressed */
	size_t buf_cap;
	size_t pos;
	uint32_t nrecords;
	uint64_t min_ts, max_ts;
	int have_base;
	uint64_t base_ts, prev_ts; /* EVENT delta coding */

	uint8_t *cbuf;
	size_t cbuf_cap;
	ZSTD_CCtx *cctx;

	uint64_t file_off;
	struct chunk_entry *index;
	size_t nindex, index_cap;
	uint64_t total_records, total_usize, total_csize;
	uint64_t all_min_ts, all_max_ts;

	char errmsg[256];
};

static int set_err(struct tape_writer *w, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int set_err(struct tape_writer *w, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->errmsg, sizeof(w->errmsg), fmt, ap);
	va_end(ap);
	if (!w->failed)
		w->failed = err;
	return err;
}

static int write_all(int fd, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t r = writev(fd, iov, n);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		while (n > 0 && (size_t)r >= iov->iov_len) {
			r -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + r;
			iov->iov_len -= (size_t)r;
		}
	}
	return 0;
}

static int write_header(struct tape_writer *w, uint64_t optional_features)
{
	uint8_t h[TAPE_FILE_HEADER_SIZE] = {0};
	struct timespec ts;
	struct iovec iov = {h, sizeof(h)};
	int err;

	clock_gettime(CLOCK_REALTIME, &ts);
	memcpy(h + FH_MAGIC, TAPE_MAGIC, TAPE_MAGIC_SIZE);
	tape_put_u16(h + FH_MAJOR, TAPE_VERSION_MAJOR);
	tape_put_u16(h + FH_MINOR, TAPE_VERSION_MINOR);
	tape_put_u32(h + FH_SIZE, TAPE_FILE_HEADER_SIZE);
	tape_put_u64(h + FH_REQ, TAPE_FEAT_REQ_KNOWN);
	tape_put_u64(h + FH_OPT, optional_features);
	tape_put_u64(h + FH_CREATED, (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
	tape_put_u32(h + FH_CRC, tape_crc32c(0, h, FH_CRC));
	err = write_all(w->fd, &iov, 1);
	if (err)
		return set_err(w, err, "cannot write trace header: %s", strerror(-err));
	w->file_off = sizeof(h);
	return 0;
}

int tape_writer__open_fd(struct tape_writer **out, int fd, const struct tape_writer_opts *opts,
			 char *errmsg, size_t errmsg_size)
{
	struct tape_writer *w;
	int err;

	*out = NULL;
	w = calloc(1, sizeof(*w));
	if (!w) {
		close(fd);
		if (errmsg)
			snprintf(errmsg, errmsg_size, "out of memory");
		return -ENOMEM;
	}
	w->fd = fd;
	w->chunk_bytes = opts && opts->chunk_bytes ? opts->chunk_bytes : TAPE_DEFAULT_CHUNK_BYTES;
	if (w->chunk_bytes > TAPE_MAX_CHUNK_BYTES / 2)
		w->chunk_bytes = TAPE_MAX_CHUNK_BYTES / 2;
	if (w->chunk_bytes < 256)
		w->chunk_bytes = 256;
	w->level = opts && opts->zstd_level ? opts->zstd_level : 1;
	w->flags = opts ? opts->flags : 0;
	w->all_min_ts = UINT64_MAX;
	w->buf_cap = w->chunk_bytes;
	w->buf = malloc(w->buf_cap);
	w->cctx = ZSTD_createCCtx();
	if (!w->buf || !w->cctx) {
		err = -ENOMEM;
		set_err(w, err, "out of memory");
		goto fail;
	}
	if (!(w->flags & TAPE_WRITER_F_NO_COMPRESS) &&
	    ZSTD_isError(ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, w->level))) {
		err = -EINVAL;
		set_err(w, err, "invalid zstd level %d", w->level);
		goto fail;
	}
	err = write_header(w, opts ? opts->optional_features : 0);
	if (err)
		goto fail;
	*out = w;
	return 0;
fail:
	if (errmsg)
		snprintf(errmsg, errmsg_size, "%s", w->errmsg);
	w->failed = 1; /* no footer */
	tape_writer__close(w);
	return err;
}

int tape_writer__open(struct tape_writer **out, const char *path,
		      const struct tape_writer_opts *opts, char *errmsg, size_t errmsg_size)
{
	int flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC;
	int fd, err;

	*out = NULL;
	if (opts && (opts->flags & TAPE_WRITER_F_FORCE))
		flags |= O_TRUNC;
	else
		flags |= O_EXCL;
	fd = open(path, flags, 0600);
	if (fd < 0) {
		err = -errno;
		if (errmsg) {
			if (err == -EEXIST)
				snprintf(errmsg, errmsg_size,
					 "'%s' already exists (use -f to overwrite)", path);
			else if (err == -ELOOP)
				snprintf(errmsg, errmsg_size,
					 "cannot create '%s': it is a symbolic link", path);
			else
				snprintf(errmsg, errmsg_size, "cannot create '%s': %s", path,
					 strerror(-err));
		}
		return err;
	}
	return tape_writer__open_fd(out, fd, opts, errmsg, errmsg_size);
}

static int index_add(struct tape_writer *w, const struct chunk_entry *e)
{
	if (w->nindex == w->index_cap) {
		size_t cap = w->index_cap ? w->index_cap * 2 : 64;
		struct chunk_entry *n = realloc(w->index, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		w->index = n;
		w->index_cap = cap;
	}
	w->index[w->nindex++] = *e;
	return 0;
}

int tape_writer__flush(struct tape_writer *w)
{
	uint8_t h[TAPE_CHUNK_HEADER_SIZE] = {0};
	struct chunk_entry e = {0};
	struct iovec iov[2];
	const uint8_t *payload = w->buf;
	size_t csize = w->pos;
	uint8_t codec = TAPE_CODEC_NONE;
	int err;

	if (w->failed)
		return w->failed;
	if (!w->pos)
		return 0;
	if (!(w->flags & TAPE_WRITER_F_NO_COMPRESS)) {
		size_t bound = ZSTD_compressBound(w->pos);
		size_t r;

		if (bound > w->cbuf_cap) {
			uint8_t *n = realloc(w->cbuf, bound);

			if (!n)
				return set_err(w, -ENOMEM, "out of memory");
			w->cbuf = n;
			w->cbuf_cap = bound;
		}
		r = ZSTD_compress2(w->cctx, w->cbuf, w->cbuf_cap, w->buf, w->pos);
		if (ZSTD_isError(r))
			return set_err(w, -EIO, "zstd: %s", ZSTD_getErrorName(r));
		if (r < w->pos) { /* else store raw: incompressible */
			payload = w->cbuf;
			csize = r;
			codec = TAPE_CODEC_ZSTD;
		}
	}
	e.offset = w->file_off;
	e.csize = (uint32_t)csize;
	e.usize = (uint32_t)w->pos;
	e.records = w->nrecords;
	e.seq = (uint32_t)w->nindex;
	e.min_ts = w->min_ts == UINT64_MAX ? 0 : w->min_ts;
	e.max_ts = w->max_ts;
	e.base_ts = w->have_base ? w->base_ts : 0;

	memcpy(h + CH_MAGIC, TAPE_CHUNK_MAGIC, 4);
	tape_put_u32(h + CH_SIZE, TAPE_CHUNK_HEADER_SIZE);
	tape_put_u32(h + CH_SEQ, e.seq);
	h[CH_CODEC] = codec;
	tape_put_u32(h + CH_CSIZE, e.csize);
	tape_put_u32(h + CH_USIZE, e.usize);
	tape_put_u32(h + CH_RECORDS, e.records);
	tape_put_u32(h + CH_PAYLOAD_CRC, tape_crc32c(0, payload, csize));
	tape_put_u64(h + CH_BASE_TS, e.base_ts);
	tape_put_u64(h + CH_MIN_TS, e.min_ts);
	tape_put_u64(h + CH_MAX_TS, e.max_ts);
	tape_put_u32(h + CH_CRC, tape_crc32c(0, h, CH_CRC));

	iov[0].iov_base = h;
	iov[0].iov_len = sizeof(h);
	iov[1].iov_base = (void *)payload;
	iov[1].iov_len = csize;
	err = write_all(w->fd, iov, 2);
	if (err)
		return set_err(w, err, "cannot write chunk %u: %s", e.seq, strerror(-err));
	if ((w->flags & TAPE_WRITER_F_FSYNC) && fdatasync(w->fd))
		return set_err(w, -errno, "fdatasync: %s", strerror(errno));
	if (index_add(w, &e))
		return set_err(w, -ENOMEM, "out of memory");

	w->file_off += sizeof(h) + csize;
	w->total_records += w->nrecords;
	w->total_usize += w->pos;
	w->total_csize += csize;
	if (w->min_ts < w->all_min_ts)
		w->all_min_ts = w->min_ts;
	if (w->max_ts > w->all_max_ts)
		w->all_max_ts = w->max_ts;
	w->pos = 0;
	w->nrecords = 0;
	w->min_ts = UINT64_MAX;
	w->max_ts = 0;
	w->have_base = 0;
	return 0;
}

void *tape_writer__reserve(struct tape_writer *w, uint16_t type, uint32_t body_size)
{
	uint32_t total, padded;
	uint8_t *p;

	if (w->failed)
		return NULL;
	if (body_size > TAPE_MAX_RECORD_BYTES - TAPE_RECORD_HEADER_SIZE) {
		set_err(w, -E2BIG, "record of %u bytes exceeds the %u-byte limit", body_size,
			TAPE_MAX_RECORD_BYTES);
		return NULL;
	}
	total = TAPE_RECORD_HEADER_SIZE + body_size;
	padded = tape_align8(total);
	if (w->pos + padded > w->chunk_bytes && w->pos) {
		if (tape_writer__flush(w))
			return NULL;
	}
	if (padded > w->buf_cap) { /* one oversized record alone in a chunk */
		uint8_t *n = realloc(w->buf, padded);

		if (!n) {
			set_err(w, -ENOMEM, "out of memory");
			return NULL;
		}
		w->buf = n;
		w->buf_cap = padded;
	}
	if (w->nrecords == 0) {
		w->min_ts = UINT64_MAX;
		w->max_ts = 0;
	}
	p = w->buf + w->pos;
	tape_put_u32(p, total);
	tape_put_u16(p + 4, type);
	tape_put_u16(p + 6, 0);
	if (padded != total)
		memset(p + total, 0, padded - total);
	w->pos += padded;
	w->nrecords++;
	return p + TAPE_RECORD_HEADER_SIZE;
}

int tape_writer__append(struct tape_writer *w, uint16_t type, const void *body, uint32_t size)
{
	void *p = tape_writer__reserve(w, type, size);

	if (!p)
		return w->failed;
	if (size)
		memcpy(p, body, size);
	return 0;
}

static void note_ts(struct tape_writer *w, uint64_t ts)
{
	if (ts < w->min_ts)
		w->min_ts = ts;
	if (ts > w->max_ts)
		w->max_ts = ts;
}

int tape_writer__host(struct tape_writer *w, const struct tape_host *h)
{
	const struct tape_str strs[] = {h->hostname, h->sysname,  h->release, h->version,
					h->machine,  h->recorder, h->cmdline, h->kernel_build_id};
	size_t size = 32;
	uint8_t *p;

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		size += tape_str_size(strs[i]);
	if (size > UINT32_MAX)
		return set_err(w, -E2BIG, "host record too large");
	p = tape_writer__reserve(w, TAPE_REC_HOST, (uint32_t)size);
	if (!p)
		return w->failed;
	tape_put_u32(p, h->page_size);
	tape_put_u32(p + 4, h->ncpus);
	tape_put_u64(p + 8, h->clock_mono_ns);
	tape_put_u64(p + 16, h->clock_realtime_ns);
	tape_put_u64(p + 24, h->start_ns);
	p += 32;
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		p = tape_put_str(p, strs[i]);
	return 0;
}

int tape_writer__event_desc(struct tape_writer *w, const struct tape_event_desc *d)
{
	size_t size =
	    16 + tape_str_size(d->name) + tape_str_size(d->spec) + tape_str_size(d->format);
	uint8_t *p;

	if (size > UINT32_MAX)
		return set_err(w, -E2BIG, "event descriptor too large");
	p = tape_writer__reserve(w, TAPE_REC_EVENT_DESC, (uint32_t)size);
	if (!p)
		return w->failed;
	tape_put_u32(p, d->type_id);
	tape_put_u32(p + 4, d->source);
	tape_put_u32(p + 8, d->flags);
	tape_put_u32(p + 12, d->tp_id);
	p = tape_put_str(p + 16, d->name);
	p = tape_put_str(p, d->spec);
	tape_put_str(p, d->format);
	return 0;
}

int tape_writer__event(struct tape_writer *w, const struct tape_event *ev)
{
	uint8_t *p = tape_writer__reserve(w, TAPE_REC_EVENT, EV_FIXED_SIZE + ev->payload_size);

	if (!p)
		return w->failed;
	/* reserve may have flushed: the delta base belongs to this chunk */
	if (!w->have_base) {
		w->have_base = 1;
		w->base_ts = ev->ts_ns;
		w->prev_ts = ev->ts_ns;
	}
	tape_put_u32(p, ev->type_id);
	tape_put_u32(p + 4, ev->cpu);
	tape_put_u64(p + EV_TS_DELTA, ev->ts_ns - w->prev_ts);
	tape_put_u32(p + 16, ev->pid);
	tape_put_u32(p + 20, ev->tid);
	tape_put_u32(p + 24, ev->kstack_id);
	tape_put_u32(p + 28, ev->ustack_id);
	tape_put_u32(p + 32, ev->flags);
	tape_put_u32(p + 36, ev->payload_size);
	if (ev->payload_size)
		memcpy(p + EV_FIXED_SIZE, ev->payload, ev->payload_size);
	w->prev_ts = ev->ts_ns;
	note_ts(w, ev->ts_ns);
	return 0;
}

int tape_writer__stack(struct tape_writer *w, const struct tape_stack *s)
{
	uint8_t *p;

	if (s->nframes > TAPE_STACK_MAX_FRAMES)
		return set_err(w, -E2BIG, "stack %u has %u frames (limit %u)", s->id, s->nframes,
			       TAPE_STACK_MAX_FRAMES);
	p = tape_writer__reserve(w, TAPE_REC_STACK, STACK_FIXED_SIZE + 8 * s->nframes);
	if (!p)
		return w->failed;
	tape_put_u32(p, s->id);
	tape_put_u32(p + 4, s->flags);
	tape_put_u32(p + 8, s->nframes);
	tape_put_u32(p + 12, 0);
	for (uint32_t i = 0; i < s->nframes; i++)
		tape_put_u64(p + STACK_FIXED_SIZE + 8 * i, s->ips[i]);
	return 0;
}

int tape_writer__proc(struct tape_writer *w, const struct tape_proc *pr)
{
	size_t size = 32 + tape_str_size(pr->comm) + tape_str_size(pr->filename);
	uint8_t *p;

	if (size > UINT32_MAX)
		return set_err(w, -E2BIG, "proc record too large");
	p = tape_writer__reserve(w, TAPE_REC_PROC, (uint32_t)size);
	if (!p)
		return w->failed;
	tape_put_u32(p, pr->kind);
	tape_put_u32(p + 4, pr->flags);
	tape_put_u64(p + 8, pr->ts_ns);
	tape_put_u32(p + 16, pr->pid);
	tape_put_u32(p + 20, pr->tid);
	tape_put_u32(p + 24, pr->ppid);
	tape_put_u32(p + 28, (uint32_t)pr->exit_code);
	p = tape_put_str(p + 32, pr->comm);
	tape_put_str(p, pr->filename);
	note_ts(w, pr->ts_ns);
	return 0;
}

int tape_writer__mmap(struct tape_writer *w, const struct tape_mmap *m)
{
	size_t size = MMAP_FIXED_SIZE + tape_str_size(m->path);
	uint8_t *p;

	if (m->build_id_size > TAPE_BUILD_ID_MAX)
		return set_err(w, -EINVAL, "build-id of %u bytes (limit %u)", m->build_id_size,
			       TAPE_BUILD_ID_MAX);
	if (size > UINT32_MAX)
		return set_err(w, -E2BIG, "mmap record too large");
	p = tape_writer__reserve(w, TAPE_REC_MMAP, (uint32_t)size);
	if (!p)
		return w->failed;
	tape_put_u64(p, m->ts_ns);
	tape_put_u32(p + 8, m->pid);
	tape_put_u32(p + 12, m->prot);
	tape_put_u32(p + 16, m->flags);
	tape_put_u32(p + 20, m->build_id_size);
	tape_put_u64(p + 24, m->start);
	tape_put_u64(p + 32, m->end);
	tape_put_u64(p + 40, m->pgoff);
	tape_put_u64(p + 48, m->dev);
	tape_put_u64(p + 56, m->inode);
	memset(p + 64, 0, TAPE_BUILD_ID_MAX);
	memcpy(p + 64, m->build_id, m->build_id_size);
	tape_put_str(p + MMAP_FIXED_SIZE, m->path);
	note_ts(w, m->ts_ns);
	return 0;
}

/* Entries per KSYMS/SYMTAB record: keep records well under a chunk. */
#define BLOCK_BYTES (64u << 10)

int tape_writer__ksyms(struct tape_writer *w, const struct tape_ksym *syms, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t j = i, size = 4;
		uint8_t *p;

		while (j < n && (j == i || size < BLOCK_BYTES)) {
			size += 9 + tape_str_size(syms[j].name) + tape_str_size(syms[j].module);
			j++;
		}
		if (size > TAPE_MAX_RECORD_BYTES / 2)
			return set_err(w, -E2BIG, "kernel symbol %zu too large", i);
		p = tape_writer__reserve(w, TAPE_REC_KSYMS, (uint32_t)size);
		if (!p)
			return w->failed;
		tape_put_u32(p, (uint32_t)(j - i));
		p += 4;
		for (; i < j; i++) {
			tape_put_u64(p, syms[i].addr);
			p[8] = (uint8_t)syms[i].type;
			p = tape_put_str(p + 9, syms[i].name);
			p = tape_put_str(p, syms[i].module);
		}
	}
	return 0;
}

int tape_writer__symtab(struct tape_writer *w, const struct tape_symtab *hdr,
			const struct tape_sym *syms, size_t n)
{
	size_t i = 0;

	if (hdr->build_id_size > TAPE_BUILD_ID_MAX)
		return set_err(w, -EINVAL, "build-id of %u bytes (limit %u)", hdr->build_id_size,
			       TAPE_BUILD_ID_MAX);
	do {
		size_t j = i, size = 4 + TAPE_BUILD_ID_MAX + tape_str_size(hdr->path) + 4;
		uint8_t *p;

		while (j < n && (j == i || size < BLOCK_BYTES)) {
			size += 16 + tape_str_size(syms[j].name);
			j++;
		}
		if (size > TAPE_MAX_RECORD_BYTES / 2)
			return set_err(w, -E2BIG, "symbol table record too large");
		p = tape_writer__reserve(w, TAPE_REC_SYMTAB, (uint32_t)size);
		if (!p)
			return w->failed;
		tape_put_u32(p, hdr->build_id_size);
		memset(p + 4, 0, TAPE_BUILD_ID_MAX);
		memcpy(p + 4, hdr->build_id, hdr->build_id_size);
		p = tape_put_str(p + 4 + TAPE_BUILD_ID_MAX, hdr->path);
		tape_put_u32(p, (uint32_t)(j - i));
		p += 4;
		for (; i < j; i++) {
			tape_put_u64(p, syms[i].addr);
			tape_put_u64(p + 8, syms[i].size);
			p = tape_put_str(p + 16, syms[i].name);
		}
	} while (i < n);
	return 0;
}

int tape_writer__loss(struct tape_writer *w, const struct tape_loss *l)
{
	uint8_t *p = tape_writer__reserve(w, TAPE_REC_LOSS, 32);

	if (!p)
		return w->failed;
	tape_put_u64(p, l->ts_ns);
	tape_put_u32(p + 8, l->type_id);
	tape_put_u32(p + 12, l->cpu);
	tape_put_u32(p + 16, l->kind);
	tape_put_u32(p + 20, 0);
	tape_put_u64(p + 24, l->count);
	note_ts(w, l->ts_ns);
	return 0;
}

int tape_writer__end(struct tape_writer *w, const struct tape_end *e)
{
	uint8_t *p = tape_writer__reserve(w, TAPE_REC_END, 32);

	if (!p)
		return w->failed;
	tape_put_u64(p, e->ts_ns);
	tape_put_u32(p + 8, (uint32_t)e->status);
	tape_put_u32(p + 12, e->flags);
	tape_put_u64(p + 16, e->events);
	tape_put_u64(p + 24, e->lost);
	note_ts(w, e->ts_ns);
	return 0;
}

void tape_writer__stats(const struct tape_writer *w, struct tape_writer_stats *st)
{
	st->records = w->total_records + w->nrecords;
	st->chunks = w->nindex;
	st->bytes_uncompressed = w->total_usize + w->pos;
	st->bytes_written = w->file_off;
	st->pending_bytes = w->pos;
}

const char *tape_writer__errmsg(const struct tape_writer *w)
{
	return w->errmsg;
}

static int write_footer(struct tape_writer *w)
{
	size_t size = FT_HEAD_SIZE + w->nindex * TAPE_FOOTER_ENTRY_SIZE;
	uint8_t *f = calloc(1, size + TAPE_TAIL_SIZE);
	uint8_t *tail;
	struct iovec iov;
	int err;

	if (!f)
		return set_err(w, -ENOMEM, "out of memory");
	memcpy(f + FT_MAGIC, TAPE_FOOTER_MAGIC, 4);
	tape_put_u32(f + FT_SIZE, FT_HEAD_SIZE);
	tape_put_u32(f + FT_COUNT, (uint32_t)w->nindex);
	tape_put_u64(f + FT_RECORDS, w->total_records);
	tape_put_u64(f + FT_USIZE, w->total_usize);
	tape_put_u64(f + FT_CSIZE, w->total_csize);
	tape_put_u64(f + FT_MIN_TS, w->all_min_ts == UINT64_MAX ? 0 : w->all_min_ts);
	tape_put_u64(f + FT_MAX_TS, w->all_max_ts);
	for (size_t i = 0; i < w->nindex; i++) {
		uint8_t *e = f + FT_HEAD_SIZE + i * TAPE_FOOTER_ENTRY_SIZE;
		const struct chunk_entry *c = &w->index[i];

		tape_put_u64(e + FE_OFFSET, c->offset);
		tape_put_u32(e + FE_CSIZE, c->csize);
		tape_put_u32(e + FE_USIZE, c->usize);
		tape_put_u32(e + FE_RECORDS, c->records);
		tape_put_u32(e + FE_SEQ, c->seq);
		tape_put_u64(e + FE_MIN_TS, c->min_ts);
		tape_put_u64(e + FE_MAX_TS, c->max_ts);
		tape_put_u64(e + FE_BASE_TS, c->base_ts);
	}
	tail = f + size;
	tape_put_u64(tail + TL_FOOTER_OFFSET, w->file_off);
	tape_put_u32(tail + TL_FOOTER_SIZE, (uint32_t)size);
	tape_put_u32(tail + TL_FOOTER_CRC, tape_crc32c(0, f, size));
	memcpy(tail + TL_MAGIC, TAPE_TAIL_MAGIC, 8);
	iov.iov_base = f;
	iov.iov_len = size + TAPE_TAIL_SIZE;
	err = write_all(w->fd, &iov, 1);
	free(f);
	if (err)
		return set_err(w, err, "cannot write footer: %s", strerror(-err));
	w->file_off += size + TAPE_TAIL_SIZE;
	return 0;
}

int tape_writer__close(struct tape_writer *w)
{
	int err = 0;

	if (!w)
		return 0;
	if (!w->failed) {
		err = tape_writer__flush(w);
		if (!err)
			err = write_footer(w);
	} else {
		err = w->failed;
	}
	if (w->fd >= 0 && close(w->fd) && !err)
		err = -errno;
	ZSTD_freeCCtx(w->cctx);
	free(w->buf);
	free(w->cbuf);
	free(w->index);
	free(w);
	return err < 0 ? err : (err ? -EIO : 0);
}
