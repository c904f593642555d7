/* SPDX-License-Identifier: MIT */
/*
 * bpftape record: runs bpftape-record from the directory of this binary, so
 * users learn one command.  The analyzer itself never needs libbpf or root.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyzer_int.h"
#include "commands.h"

int cmd_record(int argc, char **argv)
{
	char self[PATH_MAX], path[PATH_MAX + 32];
	ssize_t n;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0) {
		ana_err("cannot find the bpftape binary: %s", strerror(errno));
		return 1;
	}
	self[n] = '\0';
	snprintf(path, sizeof(path), "%s/bpftape-record", dirname(self));
	if (access(path, X_OK)) {
		if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
			printf("usage: bpftape record [RECORDER OPTIONS] [-- COMMAND ARGS...]\n\n"
			       "Runs bpftape-record (installed next to bpftape) with the same\n"
			       "arguments.  It is not installed here (%s).\n\n"
			       "Example:\n  bpftape record -o trace.tape -- ./app\n",
			       path);
			return 0;
		}
		ana_err("cannot run '%s': %s (the recorder is not built or installed here)", path,
			strerror(errno));
		return 1;
	}
	argv[0] = path;
	execv(path, argv);
	ana_err("cannot run '%s': %s", path, strerror(errno));
	return 1;
}
