/* SPDX-License-Identifier: MIT */
/* Durations and sizes with units, see tape/units.h. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tape/units.h"

struct unit {
	const char *suffix;
	double scale;
};

static int parse_with_units(const char *s, const struct unit *units, size_t n, double max,
			    uint64_t *out)
{
	char *end;
	double v;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno || !isfinite(v) || v < 0)
		return errno == ERANGE ? -ERANGE : -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (strcasecmp(end, units[i].suffix))
			continue;
		v *= units[i].scale;
		if (v > max)
			return -ERANGE;
		*out = (uint64_t)(v + 0.5);
		return 0;
	}
	return -EINVAL;
}

int tape_parse_duration_ns(const char *s, uint64_t *ns)
{
	static const struct unit units[] = {
	    {"", 1e9}, {"s", 1e9},  {"ms", 1e6},   {"us", 1e3},
	    {"ns", 1}, {"m", 60e9}, {"min", 60e9}, {"h", 3600e9},
	};
	return parse_with_units(s, units, sizeof(units) / sizeof(units[0]), 1.8e19, ns);
}

int tape_parse_size(const char *s, uint64_t *bytes)
{
	static const struct unit units[] = {
	    {"", 1},
	    {"b", 1},
	    {"k", 1024.0},
	    {"kb", 1024.0},
	    {"kib", 1024.0},
	    {"m", 1048576.0},
	    {"mb", 1048576.0},
	    {"mib", 1048576.0},
	    {"g", 1073741824.0},
	    {"gb", 1073741824.0},
	    {"gib", 1073741824.0},
	    {"t", 1099511627776.0},
	    {"tib", 1099511627776.0},
	};
	return parse_with_units(s, units, sizeof(units) / sizeof(units[0]), 1.8e19, bytes);
}
