/* SPDX-License-Identifier: MIT */
/* mktrace OUT.tape: writes the example trace (see example_trace.c). */
#include <stdio.h>

#include "example_trace.h"

int main(int argc, char **argv)
{
	char err[512];

	if (argc != 2) {
		fprintf(stderr, "usage: mktrace OUT.tape\n");
		return 2;
	}
	if (example_trace_write(argv[1], err, sizeof(err))) {
		fprintf(stderr, "mktrace: %s\n", err);
		return 1;
	}
	return 0;
}
