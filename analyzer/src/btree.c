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
	int64_t last_rowid, page_max;
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
static unsigned put_varint(uint8_t *p, uint64_t v)
{
	uint8_t tmp[9];
	unsigned n = 0, i;

	if (v < 0x80) {
		p[0] = (uint8_t)v;
		return 1;
	}
	if (v >> 56) {
		p[8] = (uint8_t)v;
		v >>= 8;
		for (i = 8; i-- > 0;) {
			p[i] = (uint8_t)((v & 0x7f) | 0x80);
			v >>= 7;
		}
		return 9;
	}
	while (v) {
		tmp[n++] = (uint8_t)((v & 0x7f) | 0x80);
		v >>= 7;
	}
	tmp[0] &= 0x7f;
	for (i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

/* Serial type of an integer and its size in bytes (schema format 4). */
static unsigned int_serial(int64_t v, unsigned *len)
{
	uint64_t u = v < 0 ? ~(uint64_t)v : (uint64_t)v;

	if (v == 0 || v == 1) {
		*len = 0;
		return 8 + (unsigned)v;
	}
	if (u <= 0x7f)
		return *len = 1, 1;
	if (u <= 0x7fff)
		return *len = 2, 2;
	if (u <= 0x7fffff)
		return *len = 3, 3;
	if (u <= 0x7fffffff)
		return *len = 4, 4;
	if (u <= 0x7fffffffffffULL)
		return *len = 6, 5;
	return *len = 8, 6;
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

static int write_all(int fd, const void *buf, size_t len, off_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, off);

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

static int read_all(int fd, void *buf, size_t len, off_t off)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO; /* shorter than its header says */
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
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
	bt->leaf_max[bt->nleaves++] = bt->page_max;
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
		unsigned sz, k;
		uint64_t v;

		if (null_mask >> i & 1) {
			hdr[1 + i] = 0;
			continue;
		}
		hdr[1 + i] = (uint8_t)int_serial(vals[i], &sz);
		v = (uint64_t)vals[i];
		for (k = sz; k-- > 0;) {
			body[k] = (uint8_t)v;
			v >>= 8;
		}
		body += sz;
	}
	len = (size_t)(body - hdr);
	{
		uint8_t pre[18];
		unsigned np = put_varint(pre, len);

		np += put_varint(pre + np, (uint64_t)rowid);
		n = np + (unsigned)len;
		memcpy(hdr - np, pre, np);
		hdr -= np;
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
	bt->page_max = rowid;
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

int ana_bt__finish(struct ana_bt *bt, const char *db_path, uint32_t root)
{
	uint8_t hdr[100], *pg = NULL;
	struct bt_node *lvl = NULL;
	uint32_t npages, pgno, counter, ps;
	size_t n, i, fanout;
	struct stat sb;
	int fd, ret;

	if ((ret = leaf_flush(bt)))
		return ret;
	fd = open(db_path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return fail(bt, errno, db_path);
	ret = read_all(fd, hdr, sizeof(hdr), 0);
	if (ret || fstat(fd, &sb)) {
		ret = fail(bt, ret ? -ret : errno, db_path);
		goto out;
	}
	ps = get_be16(hdr + 16) == 1 ? 65536 : get_be16(hdr + 16);
	npages = get_be32(hdr + 28);
	if (memcmp(hdr, "SQLite format 3", 16) || ps != bt->page_size || hdr[20] != 0 ||
	    get_be32(hdr + 44) != 4 || get_be32(hdr + 52) != 0 ||
	    get_be32(hdr + 24) != get_be32(hdr + 92) ||
	    (uint64_t)sb.st_size != (uint64_t)npages * ps || root < 2 || root > npages) {
		snprintf(bt->err, sizeof(bt->err), "%s: unexpected database layout", db_path);
		ret = -EINVAL;
		goto out;
	}
	pg = malloc(ps);
	if (!pg) {
		ret = fail(bt, ENOMEM, "events b-tree");
		goto out;
	}
	ret = read_all(fd, pg, ps, (off_t)(root - 1) * ps);
	if (ret || pg[0] != LEAF_TABLE || get_be16(pg + 3) != 0) {
		snprintf(bt->err, sizeof(bt->err), "%s: root page %u is not an empty table leaf",
			 db_path, root);
		ret = -EINVAL;
		goto out;
	}
	if (!bt->nleaves)
		goto header; /* no rows: the empty root stays */
	if (bt->nleaves == 1) {
		ret = read_all(bt->fd, pg, ps, 0);
		if (!ret)
			ret = write_all(fd, pg, ps, (off_t)(root - 1) * ps);
		if (ret)
			ret = fail(bt, -ret, db_path);
		goto header;
	}
	/* leaves become pages npages+1 ..., then each interior level */
	if ((uint64_t)npages + bt->nleaves * 2 > 0x3fffffff) {
		ret = fail(bt, EFBIG, db_path);
		goto out;
	}
	ret = copy_leaves(bt, fd, (off_t)npages * ps, bt->nleaves * ps);
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
		lvl[i] = (struct bt_node){npages + 1 + (uint32_t)i, bt->leaf_max[i]};
	n = bt->nleaves;
	pgno = npages + (uint32_t)n;
	/* a cell: 2-byte pointer, 4-byte child, rowid varint of up to 9 */
	fanout = (ps - 12) / 15 + 1;
	while (n > fanout) {
		size_t np = 0;

		for (i = 0; i < n; i += fanout) {
			size_t k = n - i < fanout ? n - i : fanout;

			build_interior(bt, pg, lvl + i, k);
			pgno++;
			if ((ret = write_all(fd, pg, ps, (off_t)(pgno - 1) * ps))) {
				ret = fail(bt, -ret, db_path);
				goto out;
			}
			lvl[np++] = (struct bt_node){pgno, lvl[i + k - 1].max_rowid};
		}
		n = np;
	}
	build_interior(bt, pg, lvl, n);
	if ((ret = write_all(fd, pg, ps, (off_t)(root - 1) * ps))) {
		ret = fail(bt, -ret, db_path);
		goto out;
	}
	npages = pgno;
header:
	if (ret)
		goto out;
	counter = get_be32(hdr + 24) + 1;
	put_be32(hdr + 24, counter);
	put_be32(hdr + 28, npages);
	put_be32(hdr + 92, counter);
	put_be32(hdr + 96, (uint32_t)sqlite3_libversion_number());
	if ((ret = write_all(fd, hdr, sizeof(hdr), 0)))
		ret = fail(bt, -ret, db_path);
out:
	free(lvl);
	free(pg);
	if (close(fd) && !ret)
		ret = fail(bt, errno, db_path);
	return ret;
}
