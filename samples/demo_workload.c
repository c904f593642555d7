// SPDX-License-Identifier: MIT
/*
 * demo_workload SECONDS: a small program for docs and demos that mixes CPU
 * burning (demo_compute -> demo_hash) with read(2) calls of varied sizes from
 * /dev/zero and /dev/urandom, so a recording shows both a flame graph and a
 * read-latency histogram with some spread.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

volatile unsigned long demo_sink;

__attribute__((noinline)) unsigned long demo_hash(const unsigned char *p, size_t n)
{
	unsigned long h = 1469598103934665603ul;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ul;
	return h;
}

__attribute__((noinline)) void demo_compute(const unsigned char *p, size_t n, int rounds)
{
	for (int r = 0; r < rounds; r++)
		demo_sink += demo_hash(p, n);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static unsigned char buf[1 << 20];
	double end = now() + (argc > 1 ? atof(argv[1]) : 2.0);
	int zero = open("/dev/zero", O_RDONLY), rnd = open("/dev/urandom", O_RDONLY);
	unsigned int seed = 42;

	if (zero < 0 || rnd < 0)
		return 1;
	while (now() < end) {
		size_t n = (size_t)1 << (rand_r(&seed) % 20); /* 1 B .. 512 KiB */
		int fd = rand_r(&seed) % 4 ? zero : rnd;

		if (read(fd, buf, n) < 0)
			return 1;
		demo_compute(buf, n < 4096 ? n : 4096, 20);
	}
	return 0;
}
