/* SPDX-License-Identifier: MIT */
/*
 * Stand-alone driver for `bpftape symbolize`: runs cmd_symbolize() so the
 * symbolizer's tests and benchmarks do not depend on the analyzer's main.
 */
#include <string.h>

#include "commands.h"

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "symbolize"))
		return cmd_symbolize(argc - 1, argv + 1);
	return cmd_symbolize(argc, argv);
}
