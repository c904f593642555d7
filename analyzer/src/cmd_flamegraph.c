/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include "commands.h"
int cmd_flamegraph(int argc, char **argv)
{
	(void)argc; (void)argv;
	printf("usage: bpftape flamegraph TRACE\n");
	return 0;
}
