// SPDX-License-Identifier: MIT
/*
 * burner SECONDS: burns CPU through a known call tree for profile tests.
 *   main -> burner_run -> burner_branch_a -> burner_leaf_spin  (2/3 of the CPU time)
 *                      -> burner_branch_b -> burner_leaf_spin  (1/3)
 * (200 us and 100 us of thread CPU time per round).
 * Built with clang -O1 -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer
 * so a frame-pointer unwind from the leaf always finds its caller (gcc 12
 * ignores -mno-omit-leaf-frame-pointer and would lose the branch frame).
 */
#include <stdlib.h>
#include <time.h>

volatile unsigned long burner_sink;

/* CPU time of this thread: the branches split CPU time, not iterations, so
 * the 2:1 ratio holds however often the burner is preempted. */
static unsigned long long cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}

__attribute__((noinline)) void burner_leaf_spin(unsigned long long budget_ns)
{
	unsigned long long end = cpu_ns() + budget_ns;

	do {
		for (unsigned long i = 0; i < 500; i++)
			burner_sink += i;
	} while (cpu_ns() < end);
}

/* The increments after the calls keep them from becoming tail calls. */
__attribute__((noinline)) void burner_branch_a(void)
{
	burner_leaf_spin(2 * 100000);
	burner_sink++;
}

__attribute__((noinline)) void burner_branch_b(void)
{
	burner_leaf_spin(100000);
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
