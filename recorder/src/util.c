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

int rec_parse_duration(const char *s, uint64_t *out_ns)
{
	static const struct {
		const char *unit;
		uint64_t mult;
	} units[] = {
		{"", 1000000000ull},  {"s", 1000000000ull}, {"ms", 1000000ull}, {"us", 1000ull},
		{"ns", 1ull},         {"m", 60000000000ull}, {"min", 60000000000ull},
		{"h", 3600000000000ull},
	};
	const char *rest;
	uint64_t v;
	int err = parse_num(s, &v, &rest);

	if (err)
		return err;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(rest, units[i].unit))
			continue;
		if (v > UINT64_MAX / units[i].mult)
			return -ERANGE;
		*out_ns = v * units[i].mult;
		return 0;
	}
	return -EINVAL;
}

int rec_parse_size(const char *s, uint64_t *out_bytes)
{
	const char *rest;
	uint64_t v, mult = 1;
	int err = parse_num(s, &v, &rest);

	if (err)
		return err;
	if (*rest) {
		switch (*rest) {
		case 'k': case 'K': mult = 1ull << 10; break;
		case 'm': case 'M': mult = 1ull << 20; break;
		case 'g': case 'G': mult = 1ull << 30; break;
		default: return -EINVAL;
		}
		rest++;
		if (*rest == 'i')
			rest++;
		if (*rest == 'B' || *rest == 'b')
			rest++;
		if (*rest)
			return -EINVAL;
	}
	if (v > UINT64_MAX / mult)
		return -ERANGE;
	*out_bytes = v * mult;
	return 0;
}
