// SPDX-License-Identifier: MIT
/*
 * usdt N: fires the USDT probe bpftape:tick(i, 2 * i) for i = 0..N-1, then
 * bpftape:done(N), and exits.  For usdt: probe tests.
 */
#include <stdio.h>
#include <stdlib.h>

#include "sdt_min.h"

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 10;

	if (n < 0) {
		fprintf(stderr, "usage: usdt N\n");
		return 2;
	}
	for (long i = 0; i < n; i++)
		SDT_MIN_PROBE2(bpftape, tick, i, 2 * i);
	SDT_MIN_PROBE1(bpftape, done, n);
	return 0;
}
