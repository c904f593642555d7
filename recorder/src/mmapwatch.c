// SPDX-License-Identifier: MIT
/*
 * Mapping side-band: one perf_event dummy software event per CPU with
 * mmap/mmap2/build_id set, so the kernel reports every executable mapping
 * (with its build-id on >= 5.12) as it is created -- including those of a
 * process that lives for a millisecond.  Read by polling the perf rings from
 * the recorder loop.
 */
#include <errno.h>
#include <linux/perf_event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "mmapwatch.h"

#define WATCH_PAGES 64 /* data pages per CPU (256 KiB) */

struct watch_cpu {
	int fd;
	void *base;
	uint8_t *data;
	size_t size;
};

struct rec_mmapwatch {
	struct watch_cpu *cpus;
	int ncpus;
	size_t page;
	uint8_t *tmp; /* for records that wrap */
	size_t tmp_size;
	uint64_t lost;
};

int rec_mmapwatch__open(struct rec_mmapwatch **out, int ncpus)
{
	struct rec_mmapwatch *mw = calloc(1, sizeof(*mw));
	int opened = 0, err = 0;

	*out = NULL;
	if (!mw)
		return -ENOMEM;
	mw->page = (size_t)sysconf(_SC_PAGESIZE);
	mw->cpus = calloc((size_t)ncpus, sizeof(*mw->cpus));
	mw->tmp_size = 65536;
	mw->tmp = malloc(mw->tmp_size);
	if (!mw->cpus || !mw->tmp) {
		rec_mmapwatch__close(mw);
		return -ENOMEM;
	}
	mw->ncpus = ncpus;
	for (int c = 0; c < ncpus; c++) {
		struct perf_event_attr a = {0};
		struct watch_cpu *w = &mw->cpus[c];

		w->fd = -1;
		a.size = sizeof(a);
		a.type = PERF_TYPE_SOFTWARE;
		a.config = PERF_COUNT_SW_DUMMY;
		a.sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_TIME;
		a.sample_id_all = 1;
		a.mmap = 1;
		a.mmap2 = 1;
		a.build_id = 1;
		a.use_clockid = 1;
		a.clockid = CLOCK_MONOTONIC;
		w->fd = (int)syscall(SYS_perf_event_open, &a, -1, c, -1, PERF_FLAG_FD_CLOEXEC);
		if (w->fd < 0 && errno == EINVAL) {
			a.build_id = 0; /* kernels before 5.12 */
			w->fd =
			    (int)syscall(SYS_perf_event_open, &a, -1, c, -1, PERF_FLAG_FD_CLOEXEC);
		}
		if (w->fd < 0) {
			if (errno == ENODEV || errno == ENOENT)
				continue; /* offline CPU */
			err = -errno;
			break;
		}
		w->size = WATCH_PAGES * mw->page;
		w->base =
		    mmap(NULL, w->size + mw->page, PROT_READ | PROT_WRITE, MAP_SHARED, w->fd, 0);
		if (w->base == MAP_FAILED) {
			w->base = NULL;
			err = -errno;
			break;
		}
		w->data = (uint8_t *)w->base + mw->page;
		opened++;
	}
	if (!err && !opened)
		err = -ENODEV;
	if (err) {
		rec_mmapwatch__close(mw);
		return err;
	}
	*out = mw;
	return 0;
}

void rec_mmapwatch__close(struct rec_mmapwatch *mw)
{
	if (!mw)
		return;
	for (int c = 0; mw->cpus && c < mw->ncpus; c++) {
		if (mw->cpus[c].base)
			munmap(mw->cpus[c].base, mw->cpus[c].size + mw->page);
		if (mw->cpus[c].fd >= 0)
			close(mw->cpus[c].fd);
	}
	free(mw->cpus);
	free(mw->tmp);
	free(mw);
}

uint64_t rec_mmapwatch__lost(const struct rec_mmapwatch *mw)
{
	return mw->lost;
}

static int handle(struct rec_mmapwatch *mw, const struct perf_event_header *h, rec_mmapwatch_fn fn,
		  void *ctx)
{
	const uint8_t *p = (const uint8_t *)h;
	struct rec_mmap_info mi = {0};

	if (h->type == PERF_RECORD_LOST) {
		uint64_t lost;

		if (h->size >= sizeof(*h) + 16) {
			memcpy(&lost, p + sizeof(*h) + 8, 8);
			mw->lost += lost;
		}
		return 0;
	}
	if (h->type != PERF_RECORD_MMAP2 && h->type != PERF_RECORD_MMAP)
		return 0;
	/* sample_id trailer: pid, tid (u32 each), time (u64) */
	if (h->size < sizeof(*h) + 16 + 16)
		return 0;
	memcpy(&mi.ts_ns, p + h->size - 8, 8);
	memcpy(&mi.pid, p + sizeof(*h), 4);
	memcpy(&mi.start, p + sizeof(*h) + 8, 8);
	memcpy(&mi.len, p + sizeof(*h) + 16, 8);
	memcpy(&mi.pgoff, p + sizeof(*h) + 24, 8);
	size_t fn_off;
	if (h->type == PERF_RECORD_MMAP2) {
		const uint8_t *u = p + sizeof(*h) + 32;

		if (h->size < sizeof(*h) + 32 + 24 + 8 + 16)
			return 0;
		if (h->misc & PERF_RECORD_MISC_MMAP_BUILD_ID) {
			mi.build_id_size = u[0] > 20 ? 20 : u[0];
			memcpy(mi.build_id, u + 4, mi.build_id_size);
		} else {
			uint32_t maj, min;

			memcpy(&maj, u, 4);
			memcpy(&min, u + 4, 4);
			memcpy(&mi.inode, u + 8, 8);
			mi.dev = makedev(maj, min);
		}
		memcpy(&mi.prot, u + 24, 4);
		memcpy(&mi.flags, u + 28, 4);
		fn_off = sizeof(*h) + 32 + 24 + 8;
	} else {
		mi.prot = PROT_EXEC | PROT_READ;
		fn_off = sizeof(*h) + 32;
	}
	size_t maxlen = h->size - 16 - fn_off;
	mi.path = (const char *)p + fn_off;
	mi.path_len = strnlen(mi.path, maxlen);
	return fn(ctx, &mi);
}

int rec_mmapwatch__drain(struct rec_mmapwatch *mw, rec_mmapwatch_fn fn, void *ctx)
{
	int err = 0;

	for (int c = 0; c < mw->ncpus && !err; c++) {
		struct watch_cpu *w = &mw->cpus[c];
		struct perf_event_mmap_page *mp = w->base;
		uint64_t head, tail;

		if (!mp)
			continue;
		head = __atomic_load_n(&mp->data_head, __ATOMIC_ACQUIRE);
		tail = mp->data_tail;
		while (tail < head && !err) {
			struct perf_event_header h;
			size_t off = tail % w->size;

			if (w->size - off >= sizeof(h)) {
				memcpy(&h, w->data + off, sizeof(h));
			} else {
				size_t a = w->size - off;

				memcpy(&h, w->data + off, a);
				memcpy((uint8_t *)&h + a, w->data, sizeof(h) - a);
			}
			if (h.size < sizeof(h))
				break; /* corrupt: give up on this ring */
			if (off + h.size <= w->size) {
				err = handle(mw, (const struct perf_event_header *)(w->data + off),
					     fn, ctx);
			} else if (h.size <= mw->tmp_size) {
				size_t a = w->size - off;

				memcpy(mw->tmp, w->data + off, a);
				memcpy(mw->tmp + a, w->data, h.size - a);
				err =
				    handle(mw, (const struct perf_event_header *)mw->tmp, fn, ctx);
			}
			tail += h.size;
		}
		__atomic_store_n(&mp->data_tail, tail, __ATOMIC_RELEASE);
	}
	return err;
}
