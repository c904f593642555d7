/* SPDX-License-Identifier: MIT */
/*
 * Consumer of the per-CPU BPF ringbufs (rings.c).  Unlike libbpf 1.1's
 * ring_buffer, which publishes the consumer position after every record, it
 * publishes once per batch (or every REC_RINGS_PUBLISH_BYTES), so the
 * producers' reads of consumer_pos do not miss the cache on every event.
 */
#ifndef REC_RINGS_H
#define REC_RINGS_H

#include <stddef.h>

#define REC_RINGS_PUBLISH_BYTES (256u << 10)

/* Called for each record; the data stays valid during the call only. */
typedef void (*rec_ring_fn)(void *ctx, const void *data, size_t size);

struct rec_rings;
int rec_rings__new(struct rec_rings **out, rec_ring_fn fn, void *ctx);
/* Maps the ringbuf map MAP_FD of SIZE data bytes and adds it to the epoll set. */
int rec_rings__add(struct rec_rings *rs, int map_fd, size_t size);
/* Waits up to TIMEOUT_MS for a wakeup, then consumes every ring.  Returns
 * the number of records consumed or -errno. */
long rec_rings__poll(struct rec_rings *rs, int timeout_ms);
/* Consumes every ring without waiting. */
long rec_rings__consume(struct rec_rings *rs);
void rec_rings__free(struct rec_rings *rs);

#endif /* REC_RINGS_H */
