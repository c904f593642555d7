/* SPDX-License-Identifier: MIT */
/* The deterministic example trace (example_trace.c) and the values it holds,
 * so tests can check results against numbers computed independently. */
#ifndef BPFTAPE_EXAMPLE_TRACE_H
#define BPFTAPE_EXAMPLE_TRACE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Writes the example trace to PATH (replacing it).  0 or a negative errno. */
int example_trace_write(const char *path, char *err, size_t err_size);

/* read() latencies of threads 200 and 201, in ns. */
extern const int64_t example_read_lat_ns_200[];
extern const int64_t example_read_lat_ns_201[];
extern const size_t example_n_read_200, example_n_read_201;
/* nr_sector of the block:block_rq_complete events. */
extern const int64_t example_nr_sector[];
extern const size_t example_n_block;

#define EXAMPLE_EVENTS 376
#define EXAMPLE_PROFILE 340

#endif
