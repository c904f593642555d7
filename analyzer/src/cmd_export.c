/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include "commands.h"
int cmd_export(int argc, char **argv)
{
	(void)argc; (void)argv;
	printf("usage: bpftape export TRACE\n");
	return 0;
}
