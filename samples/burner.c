// SPDX-License-Identifier: MIT
/*
 * burner SECONDS: burns CPU through a known call tree for profile tests.
 *   main -> burner_run -> burner_branch_a -> burner_leaf_spin  (2/3 of the time)
 *                      -> burner_branch_b -> burner_leaf_spin  (1/3)
 * Built with clang -O1 -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer
 * so a frame-pointer unwind from the leaf always finds its caller (gcc 12
 * ignores -mno-omit-leaf-frame-pointer and would lose the branch frame).
 */
#include <stdlib.h>
#include <time.h>

volatile unsigned long burner_sink;

#define UNIT 20000ul

__attribute__((noinline)) void burner_leaf_spin(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++)
		burner_sink += i;
}

/* The increments after the calls keep them from becoming tail calls. */
__attribute__((noinline)) void burner_branch_a(void)
{
	burner_leaf_spin(2 * UNIT);
	burner_sink++;
}

__attribute__((noinline)) void burner_branch_b(void)
{
	burner_leaf_spin(UNIT);
	burner_sink++;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

__attribute__((noinline)) void burner_run(double seconds)
{
	double end = now() + seconds;

	while (now() < end) {
		burner_branch_a();
		burner_branch_b();
	}
	burner_sink++;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 2.0;

	if (secs <= 0 || secs > 3600)
		return 2;
	burner_run(secs);
	return 0;
}
