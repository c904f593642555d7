// SPDX-License-Identifier: MIT
/*
 * getppid N: makes exactly N getppid system calls (through syscall(2), so
 * no libc caching can elide one), then exits.  Used to check that a traced
 * syscall count is exact, and as the syscall storm of bench/record.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char *end;
	unsigned long long n;

	if (argc != 2) {
		fprintf(stderr, "usage: getppid N\n");
		return 2;
	}
	n = strtoull(argv[1], &end, 10);
	if (!*argv[1] || *end) {
		fprintf(stderr, "getppid: invalid count '%s'\n", argv[1]);
		return 2;
	}
	for (unsigned long long i = 0; i < n; i++)
		syscall(SYS_getppid);
	return 0;
}
