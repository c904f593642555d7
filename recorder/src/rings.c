// SPDX-License-Identifier: MIT
/*
 * BPF ringbuf consumer (see rings.h).  Layout of a mapped ringbuf: one
 * writable page holding consumer_pos, then a read-only page holding
 * producer_pos followed by the data area mapped twice, so a record that
 * wraps is still contiguous.  Each record starts with an 8-byte header: u32
 * length with BUSY (not yet committed) and DISCARD bits, u32 page offset.
 */
#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include "rings.h"

struct ring {
	uint64_t *consumer_pos;
	const uint64_t *producer_pos;
	const uint8_t *data;
	size_t size; /* data bytes, a power of two */
};

struct rec_rings {
	struct ring *r;
	int n;
	int epfd;
	size_t page;
	rec_ring_fn fn;
	void *ctx;
};

int rec_rings__new(struct rec_rings **out, rec_ring_fn fn, void *ctx)
{
	struct rec_rings *rs = calloc(1, sizeof(*rs));

	*out = NULL;
	if (!rs)
		return -ENOMEM;
	rs->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (rs->epfd < 0) {
		int err = -errno;

		free(rs);
		return err;
	}
	rs->page = (size_t)sysconf(_SC_PAGESIZE);
	rs->fn = fn;
	rs->ctx = ctx;
	*out = rs;
	return 0;
}

int rec_rings__add(struct rec_rings *rs, int map_fd, size_t size)
{
	struct ring *nr = realloc(rs->r, (size_t)(rs->n + 1) * sizeof(*nr)), *r;
	struct epoll_event ev = {.events = EPOLLIN | EPOLLET};
	void *c, *p;

	if (!nr)
		return -ENOMEM;
	rs->r = nr;
	c = mmap(NULL, rs->page, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
	if (c == MAP_FAILED)
		return -errno;
	p = mmap(NULL, rs->page + 2 * size, PROT_READ, MAP_SHARED, map_fd, (off_t)rs->page);
	if (p == MAP_FAILED) {
		int err = -errno;

		munmap(c, rs->page);
		return err;
	}
	r = &rs->r[rs->n];
	r->consumer_pos = c;
	r->producer_pos = p;
	r->data = (const uint8_t *)p + rs->page;
	r->size = size;
	ev.data.u32 = (uint32_t)rs->n;
	if (epoll_ctl(rs->epfd, EPOLL_CTL_ADD, map_fd, &ev)) {
		int err = -errno;

		munmap(c, rs->page);
		munmap(p, rs->page + 2 * size);
		return err;
	}
	rs->n++;
	return 0;
}

static long consume_ring(struct rec_rings *rs, struct ring *r)
{
	uint64_t cons = __atomic_load_n(r->consumer_pos, __ATOMIC_ACQUIRE);
	uint64_t published = cons;
	long cnt = 0;

	for (;;) {
		uint64_t prod = __atomic_load_n(r->producer_pos, __ATOMIC_ACQUIRE);

		if (cons >= prod)
			break;
		while (cons < prod) {
			const uint32_t *hdr = (const uint32_t *)(r->data + (cons & (r->size - 1)));
			uint32_t len = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);

			if (len & BPF_RINGBUF_BUSY_BIT)
				goto out; /* not committed yet: next time */
			cons += ((len & ~BPF_RINGBUF_DISCARD_BIT) + BPF_RINGBUF_HDR_SZ + 7) & ~7ull;
			if (!(len & BPF_RINGBUF_DISCARD_BIT)) {
				rs->fn(rs->ctx, (const uint8_t *)hdr + BPF_RINGBUF_HDR_SZ,
				       len & ~BPF_RINGBUF_DISCARD_BIT);
				cnt++;
			}
			if (cons - published >= REC_RINGS_PUBLISH_BYTES) {
				__atomic_store_n(r->consumer_pos, cons, __ATOMIC_RELEASE);
				published = cons;
			}
		}
	}
out:
	if (cons != published)
		__atomic_store_n(r->consumer_pos, cons, __ATOMIC_RELEASE);
	return cnt;
}

long rec_rings__consume(struct rec_rings *rs)
{
	long total = 0;

	for (int i = 0; i < rs->n; i++)
		total += consume_ring(rs, &rs->r[i]);
	return total;
}

long rec_rings__poll(struct rec_rings *rs, int timeout_ms)
{
	struct epoll_event evs[16];

	if (epoll_wait(rs->epfd, evs, 16, timeout_ms) < 0 && errno != EINTR)
		return -errno;
	return rec_rings__consume(rs);
}

void rec_rings__free(struct rec_rings *rs)
{
	if (!rs)
		return;
	for (int i = 0; i < rs->n; i++) {
		munmap(rs->r[i].consumer_pos, rs->page);
		munmap((void *)rs->r[i].producer_pos, rs->page + 2 * rs->r[i].size);
	}
	if (rs->epfd >= 0)
		close(rs->epfd);
	free(rs->r);
	free(rs);
}
