// SPDX-License-Identifier: MIT
/*
 * getppid N [--time]: makes exactly N getppid system calls (through
 * syscall(2), so no libc caching can elide one), then exits.  Used to check
 * that a traced syscall count is exact, and as the syscall storm of
 * bench/record.sh, where --time prints the loop's own cost per call
 * ("ns_per_call X" on stderr) so tracer start-up is not counted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char *end;
	unsigned long long n;

	struct timespec t0, t1;
	int timing = argc == 3 && !strcmp(argv[2], "--time");

	if (argc != 2 && !timing) {
		fprintf(stderr, "usage: getppid N [--time]\n");
		return 2;
	}
	n = strtoull(argv[1], &end, 10);
	if (!*argv[1] || *end) {
		fprintf(stderr, "getppid: invalid count '%s'\n", argv[1]);
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned long long i = 0; i < n; i++)
		syscall(SYS_getppid);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (timing && n)
		fprintf(
		    stderr, "ns_per_call %.1f\n",
		    ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) /
			(double)n);
	return 0;
}
