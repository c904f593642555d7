/* SPDX-License-Identifier: MIT */
/*
 * Bulk writer for one append-only rowid table of a SQLite database: the
 * table's b-tree is written in SQLite's file format (sqlite.org/fileformat2)
 * instead of through INSERT statements.
 *
 * An INSERT costs about 3,000 instructions per row in SQLite 3.40 (binds,
 * VDBE, record building, b-tree append), which made the events table the
 * largest part of an import.  Rows here are appended with strictly growing
 * rowids, so the tree is built bottom-up: leaf pages are filled in order
 * and streamed to a side file while the load runs; once SQLite has written
 * the rest of the database and closed it, the leaves are copied after its
 * last page, interior pages are built over them, the top one replaces the
 * table's (empty) root page, and the header's page count is updated.
 *
 * The database must be one this process created: no reserved bytes, no
 * auto-vacuum, schema format 4, the root page still an empty leaf.  Any
 * other layout is refused with a message, never written.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analyzer_int.h"

#define LEAF_TABLE 0x0d
#define INTERIOR_TABLE 0x05
#define MAX_CELL 256 /* far above what ANA_BT_MAX_COLS integers need */

struct bt_node {
	uint32_t pgno;
	int64_t max_rowid;
};

struct ana_bt {
	int fd; /* side file of finished leaves (unlinked) */
	uint32_t page_size;
	uint8_t *page; /* the leaf being filled */
	uint32_t ncells, content;
	int64_t last_rowid; /* also the largest of the leaf being filled */
	uint64_t rows;
	int64_t *leaf_max; /* largest rowid of each written leaf */
	size_t nleaves, cap_leaves;
	char err[256];
};

static void put_be16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get_be16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* SQLite's varint: big-endian groups of 7 bits, the 9th byte whole. */
static unsigned varint_len(uint64_t v)
{
	unsigned n = 1;

	if (v >> 56)
		return 9;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static unsigned put_varint_long(uint8_t *p, uint64_t v)
{
	unsigned n, i;

	if (v >> 56) {
		p[8] = (uint8_t)v;
		v >>= 8;
		for (i = 8; i-- > 0;) {
			p[i] = (uint8_t)((v & 0x7f) | 0x80);
			v >>= 7;
		}
		return 9;
	}
	n = varint_len(v);
	for (i = n; i-- > 0;) {
		p[i] = (uint8_t)((v & 0x7f) | (i + 1 < n ? 0x80 : 0));
		v >>= 7;
	}
	return n;
}

/* Up to 3 bytes (ids below 2 M, sizes) inline. */
static inline unsigned put_varint(uint8_t *p, uint64_t v)
{
	if (v < 0x80) {
		p[0] = (uint8_t)v;
		return 1;
	}
	if (v < 0x4000) {
		p[0] = (uint8_t)(0x80 | v >> 7);
		p[1] = (uint8_t)(v & 0x7f);
		return 2;
	}
	if (v < 0x200000) {
		p[0] = (uint8_t)(0x80 | v >> 14);
		p[1] = (uint8_t)(0x80 | (v >> 7 & 0x7f));
		p[2] = (uint8_t)(v & 0x7f);
		return 3;
	}
	return put_varint_long(p, v);
}

/* Serial type of an integer and its size in bytes (schema format 4: 0 and
 * 1 take no bytes). */
static inline unsigned int_serial(int64_t v, unsigned *len)
{
	static const uint8_t serial_of[9] = {0, 1, 2, 3, 4, 5, 5, 6, 6};
	static const uint8_t len_of[7] = {0, 1, 2, 3, 4, 6, 8};
	uint64_t u = (uint64_t)v ^ (uint64_t)(v >> 63); /* ~v when negative */
	unsigned bytes, t;

	if ((uint64_t)v <= 1) {
		*len = 0;
		return 8 + (unsigned)v;
	}
	/* bytes for the magnitude plus a sign bit */
	bytes = (unsigned)(64 - __builtin_clzll(u | 1) + 8) / 8;
	t = serial_of[bytes];
	*len = len_of[t];
	return t;
}

/* V as LEN big-endian bytes at P (P has 8 bytes of room). */
static inline void put_int(uint8_t *p, int64_t v, unsigned len)
{
	uint64_t be = __builtin_bswap64((uint64_t)v << (64 - 8 * len));

	memcpy(p, &be, 8);
}

static int fail(struct ana_bt *bt, int err, const char *what)
{
	snprintf(bt->err, sizeof(bt->err), "%s: %s", what, strerror(err));
	return -err;
}

const char *ana_bt__errmsg(const struct ana_bt *bt)
{
	return bt->err;
}

static void leaf_reset(struct ana_bt *bt)
{
	memset(bt->page, 0, 8);
	bt->page[0] = LEAF_TABLE;
	bt->ncells = 0;
	bt->content = bt->page_size;
}

int ana_bt__open(struct ana_bt **out, const char *side_path, uint32_t page_size)
{
	struct ana_bt *bt;

	*out = NULL;
	if (page_size < 512 || page_size > 65536 || (page_size & (page_size - 1)))
		return -EINVAL;
	bt = calloc(1, sizeof(*bt));
	if (!bt)
		return -ENOMEM;
	bt->fd = -1;
	bt->page_size = page_size;
	bt->page = malloc(page_size);
	if (!bt->page) {
		free(bt);
		return -ENOMEM;
	}
	bt->fd = open(side_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (bt->fd < 0) {
		int e = errno;

		free(bt->page);
		free(bt);
		return -e;
	}
	unlink(side_path);
	leaf_reset(bt);
	*out = bt;
	return 0;
}

void ana_bt__free(struct ana_bt *bt)
{
	if (!bt)
		return;
	if (bt->fd >= 0)
		close(bt->fd);
	free(bt->page);
	free(bt->leaf_max);
	free(bt);
}

/* pread (WRITE = 0) or pwrite all of LEN bytes at OFF; a file shorter than
 * its header says reads as -EIO. */
static int io_all(int fd, void *buf, size_t len, off_t off, int write)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = write ? pwrite(fd, p, len, off) : pread(fd, p, len, off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

static int write_all(int fd, const void *buf, size_t len, off_t off)
{
	return io_all(fd, (void *)buf, len, off, 1);
}

static int read_all(int fd, void *buf, size_t len, off_t off)
{
	return io_all(fd, buf, len, off, 0);
}

/* The leaf being filled goes to the side file. */
static int leaf_flush(struct ana_bt *bt)
{
	int ret;

	if (!bt->ncells)
		return 0;
	put_be16(bt->page + 3, bt->ncells);
	put_be16(bt->page + 5, bt->content == 65536 ? 0 : bt->content);
	memset(bt->page + 8 + 2 * bt->ncells, 0, bt->content - 8 - 2 * bt->ncells);
	if (ana_grow((void **)&bt->leaf_max, &bt->cap_leaves, bt->nleaves, sizeof(int64_t), 64))
		return fail(bt, ENOMEM, "events b-tree");
	ret = write_all(bt->fd, bt->page, bt->page_size, (off_t)bt->nleaves * bt->page_size);
	if (ret)
		return fail(bt, -ret, "writing the events side file");
	bt->leaf_max[bt->nleaves++] = bt->last_rowid;
	leaf_reset(bt);
	return 0;
}

int ana_bt__append(struct ana_bt *bt, int64_t rowid, const int64_t *vals, uint32_t null_mask,
		   unsigned ncols)
{
	uint8_t cell[MAX_CELL], *hdr, *body;
	unsigned i, hlen, n;
	size_t len;

	if (ncols > ANA_BT_MAX_COLS || (bt->rows && rowid <= bt->last_rowid)) {
		snprintf(bt->err, sizeof(bt->err), "events b-tree: rowid %lld out of order",
			 (long long)rowid);
		return -EINVAL;
	}
	/* record: header (its own size, one serial type per column), values;
	 * all serial types used here are < 128, so one byte each */
	hdr = cell + 18; /* room for the payload size and rowid varints */
	hlen = 1 + ncols;
	hdr[0] = (uint8_t)hlen;
	body = hdr + hlen;
	for (i = 0; i < ncols; i++) {
		unsigned sz;

		if (null_mask >> i & 1) {
			hdr[1 + i] = 0;
			continue;
		}
		hdr[1 + i] = (uint8_t)int_serial(vals[i], &sz);
		if (sz) {
			put_int(body, vals[i], sz);
			body += sz;
		}
	}
	len = (size_t)(body - hdr);
	{
		/* the cell: payload size, rowid, then the record */
		unsigned n1 = len < 0x80 ? 1 : 2, n2 = varint_len((uint64_t)rowid);

		hdr -= n1 + n2;
		put_varint(hdr, len);
		put_varint(hdr + n1, (uint64_t)rowid);
		n = n1 + n2 + (unsigned)len;
	}
	if (8 + 2 * (bt->ncells + 1) + n > bt->content) {
		int ret = leaf_flush(bt);

		if (ret)
			return ret;
	}
	bt->content -= n;
	memcpy(bt->page + bt->content, hdr, n);
	put_be16(bt->page + 8 + 2 * bt->ncells, bt->content);
	bt->ncells++;
	bt->last_rowid = rowid;
	bt->rows++;
	return 0;
}

/* Copies LEN bytes of the side file to OFF in FD. */
static int copy_leaves(struct ana_bt *bt, int fd, off_t off, size_t len)
{
	off_t in = 0, outpos = off;
	uint8_t *buf;

	while (len) {
		ssize_t n = copy_file_range(bt->fd, &in, fd, &outpos, len, 0);

		if (n > 0) {
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EXDEV && errno != EINVAL && errno != ENOSYS &&
		    errno != EOPNOTSUPP)
			return -errno;
		break; /* not supported here: copy by hand */
	}
	if (!len)
		return 0;
	buf = malloc(bt->page_size);
	if (!buf)
		return -ENOMEM;
	while (len) {
		int ret = read_all(bt->fd, buf, bt->page_size, in);

		if (!ret)
			ret = write_all(fd, buf, bt->page_size, outpos);
		if (ret) {
			free(buf);
			return ret;
		}
		in += bt->page_size;
		outpos += bt->page_size;
		len -= bt->page_size;
	}
	free(buf);
	return 0;
}

/* An interior page over children KIDS[0..N), the last one its right-most
 * pointer. */
static void build_interior(struct ana_bt *bt, uint8_t *pg, const struct bt_node *kids, size_t n)
{
	uint32_t content = bt->page_size;
	size_t i;

	memset(pg, 0, bt->page_size);
	pg[0] = INTERIOR_TABLE;
	for (i = 0; i + 1 < n; i++) {
		uint8_t cell[13];
		unsigned len = 4;

		put_be32(cell, kids[i].pgno);
		len += put_varint(cell + 4, (uint64_t)kids[i].max_rowid);
		content -= len;
		memcpy(pg + content, cell, len);
		put_be16(pg + 12 + 2 * i, content);
	}
	put_be16(pg + 3, (uint32_t)(n - 1));
	put_be16(pg + 5, content == 65536 ? 0 : content);
	put_be32(pg + 8, kids[n - 1].pgno);
}

/* ---- the database file ---- */

struct bt_file {
	int fd;
	uint8_t hdr[100];
	uint32_t ps, npages; /* page size, pages in the file */
};

/*
 * Opens DB_PATH for the writers and checks that it has the layout they
 * write (no reserved bytes, no auto-vacuum, schema format 4, UTF-8, the
 * header's page count valid and equal to the file's) and that ROOT is an
 * empty page of type ROOT_TYPE.  0 or a negative errno with ERR set.
 */
static int file_open(struct bt_file *f, const char *db_path, uint32_t ps, uint32_t root,
		     uint8_t root_type, char *err, size_t err_size)
{
	uint8_t pg[12];
	struct stat sb;
	int ret;

	f->fd = open(db_path, O_RDWR | O_CLOEXEC);
	if (f->fd < 0) {
		ret = -errno;
		snprintf(err, err_size, "%s: %s", db_path, strerror(-ret));
		return ret;
	}
	ret = read_all(f->fd, f->hdr, sizeof(f->hdr), 0);
	if (ret || fstat(f->fd, &sb)) {
		ret = ret ? ret : -errno;
		snprintf(err, err_size, "%s: %s", db_path, strerror(-ret));
		goto fail;
	}
	f->ps = get_be16(f->hdr + 16) == 1 ? 65536 : get_be16(f->hdr + 16);
	f->npages = get_be32(f->hdr + 28);
	if (memcmp(f->hdr, "SQLite format 3", 16) || f->ps != ps || f->hdr[20] != 0 ||
	    get_be32(f->hdr + 44) != 4 || get_be32(f->hdr + 52) != 0 ||
	    get_be32(f->hdr + 56) != 1 || get_be32(f->hdr + 24) != get_be32(f->hdr + 92) ||
	    (uint64_t)sb.st_size != (uint64_t)f->npages * ps || root < 2 || root > f->npages) {
		snprintf(err, err_size, "%s: unexpected database layout", db_path);
		ret = -EINVAL;
		goto fail;
	}
	ret = read_all(f->fd, pg, sizeof(pg), (off_t)(root - 1) * ps);
	if (ret || pg[0] != root_type || get_be16(pg + 3) != 0) {
		snprintf(err, err_size, "%s: root page %u is not an empty %s leaf", db_path, root,
			 root_type == LEAF_TABLE ? "table" : "index");
		ret = -EINVAL;
		goto fail;
	}
	return 0;
fail:
	close(f->fd);
	f->fd = -1;
	return ret;
}

/* Writes page PGNO (1-based) from PG. */
static int file_put(struct bt_file *f, uint32_t pgno, const uint8_t *pg)
{
	return write_all(f->fd, pg, f->ps, (off_t)(pgno - 1) * f->ps);
}

/* Sets the header's page count to NPAGES (bumping the change counter, as
 * SQLite does on every commit) and closes. */
static int file_close(struct bt_file *f, uint32_t npages, const char *db_path, char *err,
		      size_t err_size)
{
	uint32_t counter = get_be32(f->hdr + 24) + 1;
	int ret;

	put_be32(f->hdr + 24, counter);
	put_be32(f->hdr + 28, npages);
	put_be32(f->hdr + 92, counter);
	put_be32(f->hdr + 96, (uint32_t)sqlite3_libversion_number());
	ret = write_all(f->fd, f->hdr, sizeof(f->hdr), 0);
	if (close(f->fd) && !ret)
		ret = -errno;
	f->fd = -1;
	if (ret)
		snprintf(err, err_size, "%s: %s", db_path, strerror(-ret));
	return ret;
}

int ana_bt__finish(struct ana_bt *bt, const char *db_path, uint32_t root)
{
	struct bt_file f;
	struct bt_node *lvl = NULL;
	uint8_t *pg = NULL;
	uint32_t pgno, ps = bt->page_size;
	size_t n, i, fanout;
	int ret;

	if ((ret = leaf_flush(bt)))
		return ret;
	if ((ret = file_open(&f, db_path, ps, root, LEAF_TABLE, bt->err, sizeof(bt->err))))
		return ret;
	pgno = f.npages;
	pg = malloc(ps);
	if (!pg) {
		ret = fail(bt, ENOMEM, "events b-tree");
		goto out;
	}
	if (bt->nleaves == 1) {
		/* one leaf: it is the root */
		ret = read_all(bt->fd, pg, ps, 0);
		if (!ret)
			ret = file_put(&f, root, pg);
		if (ret)
			ret = fail(bt, -ret, db_path);
		goto out;
	}
	if (!bt->nleaves)
		goto out; /* no rows: the empty root stays */
	/* leaves become pages npages+1 ..., then each interior level */
	if ((uint64_t)f.npages + bt->nleaves * 2 > 0x3fffffff) {
		ret = fail(bt, EFBIG, db_path);
		goto out;
	}
	ret = copy_leaves(bt, f.fd, (off_t)f.npages * ps, bt->nleaves * ps);
	if (ret) {
		ret = fail(bt, -ret, db_path);
		goto out;
	}
	lvl = malloc(bt->nleaves * sizeof(*lvl));
	if (!lvl) {
		ret = fail(bt, ENOMEM, "events b-tree");
		goto out;
	}
	for (i = 0; i < bt->nleaves; i++)
		lvl[i] = (struct bt_node){f.npages + 1 + (uint32_t)i, bt->leaf_max[i]};
	n = bt->nleaves;
	pgno = f.npages + (uint32_t)n;
	/* a cell: 2-byte pointer, 4-byte child, rowid varint of up to 9 */
	fanout = (ps - 12) / 15 + 1;
	while (n > fanout) {
		size_t np = 0;

		for (i = 0; i < n; i += fanout) {
			size_t k = n - i < fanout ? n - i : fanout;

			build_interior(bt, pg, lvl + i, k);
			if ((ret = file_put(&f, ++pgno, pg))) {
				ret = fail(bt, -ret, db_path);
				goto out;
			}
			lvl[np++] = (struct bt_node){pgno, lvl[i + k - 1].max_rowid};
		}
		n = np;
	}
	build_interior(bt, pg, lvl, n);
	if ((ret = file_put(&f, root, pg)))
		ret = fail(bt, -ret, db_path);
out:
	free(lvl);
	free(pg);
	if (!ret)
		ret = file_close(&f, pgno, db_path, bt->err, sizeof(bt->err));
	else
		close(f.fd);
	return ret;
}

/* ---- records of any columns ---- */

/* Size of the header of a record whose serial types take T bytes: the
 * header's size is itself a varint at its start. */
static size_t header_size(size_t t)
{
	return varint_len(t + 1) == 1 ? t + 1 : t + varint_len(t + 2);
}

/* Size of V's record in bytes; serial types go to TYPES and value sizes
 * to LENS. */
static size_t record_size(const struct ana_bt_val *v, unsigned n, uint64_t *types, uint32_t *lens)
{
	size_t body = 0, t = 0;
	unsigned i;

	for (i = 0; i < n; i++) {
		unsigned len = 0;

		if (v[i].type == ANA_BT_INT) {
			types[i] = int_serial(v[i].i, &len);
		} else if (v[i].type == ANA_BT_TEXT) {
			types[i] = 13 + 2 * (uint64_t)v[i].len;
			len = v[i].len;
		} else {
			types[i] = 0;
		}
		lens[i] = len;
		body += len;
		t += varint_len(types[i]);
	}
	return header_size(t) + body;
}

/* Writes V's record at P, with TYPES and LENS from record_size. */
static void record_put(uint8_t *p, const struct ana_bt_val *v, unsigned n, const uint64_t *types,
		       const uint32_t *lens)
{
	size_t t = 0;
	uint8_t *h, *b;
	unsigned i;

	for (i = 0; i < n; i++)
		t += varint_len(types[i]);
	t = header_size(t);
	h = p + put_varint(p, t);
	b = p + t;
	for (i = 0; i < n; i++) {
		h += put_varint(h, types[i]);
		if (!lens[i])
			continue;
		if (v[i].type == ANA_BT_INT) {
			uint8_t tmp[8];

			put_int(tmp, v[i].i, lens[i]);
			memcpy(b, tmp, lens[i]);
		} else {
			memcpy(b, v[i].text, lens[i]);
		}
		b += lens[i];
	}
}

/* ---- index b-trees (WITHOUT ROWID tables) ---- */

#define LEAF_INDEX 0x0a
#define INTERIOR_INDEX 0x02

size_t ana_bt__index_max_payload(uint32_t page_size)
{
	/* sqlite.org/fileformat2: X = ((U-12)*64/255)-23 for index pages;
	 * a longer record would spill to overflow pages */
	return (size_t)(page_size - 12) * 64 / 255 - 23;
}

/* A page being filled: cells from the end, pointers after the header. */
struct ipage {
	uint8_t *pg;
	uint32_t ncells, content, hdr; /* hdr: 8 for leaves, 12 for interior */
	uint32_t last_off, last_len;   /* the last cell added */
};

static void ipage_reset(struct ipage *p, uint32_t ps, uint8_t type)
{
	memset(p->pg, 0, 12);
	p->pg[0] = type;
	p->ncells = 0;
	p->content = ps;
	p->hdr = type == LEAF_INDEX ? 8 : 12;
}

static int ipage_fits(const struct ipage *p, size_t len)
{
	return p->hdr + 2 * (p->ncells + 1) + len <= p->content;
}

static void ipage_add(struct ipage *p, const uint8_t *cell, size_t len)
{
	p->content -= (uint32_t)len;
	memcpy(p->pg + p->content, cell, len);
	put_be16(p->pg + p->hdr + 2 * p->ncells, p->content);
	p->last_off = p->content;
	p->last_len = (uint32_t)len;
	p->ncells++;
}

/* Takes the last cell added back out (its bytes stay readable at
 * pg + last_off until the page is reused). */
static void ipage_drop_last(struct ipage *p)
{
	p->ncells--;
	p->content += p->last_len;
}

static void ipage_seal(struct ipage *p)
{
	put_be16(p->pg + 3, p->ncells);
	put_be16(p->pg + 5, p->content == 65536 ? 0 : p->content);
	memset(p->pg + p->hdr + 2 * p->ncells, 0, p->content - p->hdr - 2 * p->ncells);
}

/* The dividers of one level: payload cells (varint size + record) kept in
 * one arena, and the pages they separate. */
struct ilevel {
	uint8_t *arena;
	size_t used, cap;
	size_t *off; /* divider i: arena[off[i]] up to the next one's start */
	size_t ndiv, cap_div;
	uint32_t *kids; /* child pages: ndiv + 1 when complete */
	size_t nkids, cap_kids;
};

static int ilevel_div(struct ilevel *l, const uint8_t *cell, size_t len)
{
	while (l->used + len > l->cap) {
		size_t nc = l->cap ? 2 * l->cap : 65536;
		uint8_t *na = realloc(l->arena, nc);

		if (!na)
			return -ENOMEM;
		l->arena = na;
		l->cap = nc;
	}
	if (ana_grow((void **)&l->off, &l->cap_div, l->ndiv, sizeof(size_t), 64))
		return -ENOMEM;
	memcpy(l->arena + l->used, cell, len);
	l->off[l->ndiv++] = l->used;
	l->used += len;
	return 0;
}

static size_t ilevel_div_len(const struct ilevel *l, size_t i)
{
	return (i + 1 < l->ndiv ? l->off[i + 1] : l->used) - l->off[i];
}

static int ilevel_kid(struct ilevel *l, uint32_t pgno)
{
	if (ana_grow((void **)&l->kids, &l->cap_kids, l->nkids, sizeof(uint32_t), 64))
		return -ENOMEM;
	l->kids[l->nkids++] = pgno;
	return 0;
}

static void ilevel_release(struct ilevel *l)
{
	free(l->arena);
	free(l->off);
	free(l->kids);
	memset(l, 0, sizeof(*l));
}

/*
 * One interior level over L (children and the dividers between them):
 * nodes are filled in order, and the divider after a full node goes up to
 * UP with the node as a child.  The last node must hold a cell: when only
 * one child would be left for it, the node before gives up its last cell.
 * A level that fits in one node is the top: it goes to TOP and UP stays
 * empty.  SCRATCH holds a cell.
 */
static int build_index_level(struct bt_file *f, const struct ilevel *l, struct ilevel *up,
			     uint32_t *pgno, uint8_t *scratch, uint8_t *top)
{
	struct ipage node;
	size_t i = 0, j;
	int ret = 0;

	node.pg = malloc(f->ps);
	if (!node.pg)
		return -ENOMEM;
	while (i < l->nkids) {
		ipage_reset(&node, f->ps, INTERIOR_INDEX);
		for (j = i; j + 1 < l->nkids; j++) {
			size_t dlen = ilevel_div_len(l, j), len = 4 + dlen;

			if (!ipage_fits(&node, len))
				break;
			put_be32(scratch, l->kids[j]);
			memcpy(scratch + 4, l->arena + l->off[j], dlen);
			ipage_add(&node, scratch, len);
		}
		if (j + 2 == l->nkids && node.ncells > 1) {
			/* kids[j + 1] would be alone in the next node */
			ipage_drop_last(&node);
			j--;
		}
		/* kids[j] is the right-most child; divider j goes up */
		put_be32(node.pg + 8, l->kids[j]);
		ipage_seal(&node);
		if (i == 0 && j + 1 == l->nkids) {
			memcpy(top, node.pg, f->ps);
			break;
		}
		if ((ret = file_put(f, ++*pgno, node.pg)) || (ret = ilevel_kid(up, *pgno)))
			break;
		if (j + 1 < l->nkids &&
		    (ret = ilevel_div(up, l->arena + l->off[j], ilevel_div_len(l, j))))
			break;
		i = j + 1;
	}
	free(node.pg);
	return ret;
}

int ana_bt__write_index(const char *db_path, uint32_t page_size, uint32_t root, unsigned ncols,
			ana_bt_row_fn *row, void *ctx, char *err, size_t err_size)
{
	const size_t maxp = ana_bt__index_max_payload(page_size);
	struct ana_bt_val vals[ANA_BT_MAX_COLS];
	uint64_t types[ANA_BT_MAX_COLS];
	uint32_t lens[ANA_BT_MAX_COLS];
	struct ipage cur = {0}, prev = {0};
	struct ilevel lv[2];
	uint8_t *cell = NULL, *top = NULL, *pending = NULL;
	size_t pending_len = 0;
	int have_pending = 0, ret, cl = 0;
	struct bt_file f;
	uint32_t pgno;

	if (ncols > ANA_BT_MAX_COLS)
		return -EINVAL;
	err[0] = '\0';
	if ((ret = file_open(&f, db_path, page_size, root, LEAF_INDEX, err, err_size)))
		return ret;
	memset(lv, 0, sizeof(lv));
	pgno = f.npages;
	cur.pg = malloc(page_size);
	prev.pg = malloc(page_size);
	cell = malloc(page_size);
	pending = malloc(page_size);
	top = malloc(page_size);
	ret = -ENOMEM;
	if (!cur.pg || !prev.pg || !cell || !pending || !top)
		goto out;
	ipage_reset(&cur, page_size, LEAF_INDEX);
	for (;;) {
		size_t rs, len;

		if ((ret = row(ctx, vals)) <= 0)
			break;
		rs = record_size(vals, ncols, types, lens);
		if (rs > maxp) {
			snprintf(err, err_size, "%s: a row of %zu bytes needs overflow pages",
				 db_path, rs);
			ret = -E2BIG;
			break;
		}
		len = put_varint(cell, rs);
		record_put(cell + len, vals, ncols, types, lens);
		len += rs;
		if (have_pending) {
			/* the divider before this leaf is final now that the
			 * leaf gets a cell: the leaf before it can go */
			have_pending = 0;
			if ((ret = ilevel_div(&lv[0], pending, pending_len)) ||
			    (ret = file_put(&f, ++pgno, prev.pg)) ||
			    (ret = ilevel_kid(&lv[0], pgno)))
				break;
		}
		if (ipage_fits(&cur, len)) {
			ipage_add(&cur, cell, len);
			continue;
		}
		/* CUR is full: it waits as PREV, and this row divides it from
		 * the next leaf */
		ipage_seal(&cur);
		{
			struct ipage t = prev;

			prev = cur;
			cur = t;
		}
		ipage_reset(&cur, page_size, LEAF_INDEX);
		memcpy(pending, cell, len);
		pending_len = len;
		have_pending = 1;
	}
	if (ret < 0)
		goto out;
	if (have_pending) {
		/* the last row became a divider with no leaf after it: it goes
		 * in a last leaf, and the leaf before gives up its last row */
		ipage_add(&cur, pending, pending_len);
		ipage_drop_last(&prev);
		memcpy(pending, prev.pg + prev.last_off, prev.last_len);
		pending_len = prev.last_len;
		ipage_seal(&prev);
		if ((ret = ilevel_div(&lv[0], pending, pending_len)) ||
		    (ret = file_put(&f, ++pgno, prev.pg)) || (ret = ilevel_kid(&lv[0], pgno)))
			goto out;
	}
	ipage_seal(&cur);
	if (!lv[0].nkids) {
		/* no row, or one leaf: that leaf is the root */
		if (cur.ncells)
			ret = file_put(&f, root, cur.pg);
		goto out;
	}
	if ((ret = file_put(&f, ++pgno, cur.pg)) || (ret = ilevel_kid(&lv[0], pgno)))
		goto out;
	/* interior levels up to a single node, which becomes the root */
	for (;;) {
		struct ilevel *l = &lv[cl], *up = &lv[!cl];

		up->used = up->ndiv = up->nkids = 0;
		if ((ret = build_index_level(&f, l, up, &pgno, cell, top)))
			goto out;
		if (!up->nkids)
			break;
		cl = !cl;
	}
	ret = file_put(&f, root, top);
out:
	free(cur.pg);
	free(prev.pg);
	free(cell);
	free(pending);
	free(top);
	ilevel_release(&lv[0]);
	ilevel_release(&lv[1]);
	if (!ret)
		return file_close(&f, pgno, db_path, err, err_size);
	if (!err[0])
		snprintf(err, err_size, "%s: %s", db_path, strerror(-ret));
	/* the header does not count what was appended: cut it off, and the
	 * file is as SQLite left it (the root is written last) */
	if (ftruncate(f.fd, (off_t)f.npages * f.ps) && ret == -E2BIG)
		ret = -EIO;
	close(f.fd);
	return ret;
}
