/* SPDX-License-Identifier: MIT */
/*
 * The one parser for numbers with units on the command line: durations
 * ("10s", "500ms", "2m", "1.5s", a bare number is seconds) and sizes ("64M",
 * "4k", "1G", a bare number is bytes).  Rejects trailing junk ("10abc"),
 * negatives and overflow.  Both programs use it.
 */
#ifndef TAPE_UNITS_H
#define TAPE_UNITS_H

#include <stdint.h>

/* Returns 0 with *ns set, or -EINVAL / -ERANGE. */
int tape_parse_duration_ns(const char *s, uint64_t *ns);
/* Returns 0 with *bytes set (k/M/G/T are powers of 1024), or -EINVAL / -ERANGE. */
int tape_parse_size(const char *s, uint64_t *bytes);

#endif
