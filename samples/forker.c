// SPDX-License-Identifier: MIT
/*
 * forker N: starts N children (N <= 255) that each exec samples/exit_with
 * with a distinct exit code (child i exits with i + 1), then reaps them all.
 * Each child lives a few milliseconds: the recorder must still capture its
 * exec, exit code and mappings.  Exits 0 when every child returned its code.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char self[PATH_MAX], prog[PATH_MAX + 16];
	pid_t pids[255];
	int n, bad = 0;
	ssize_t len;

	if (argc != 2 || (n = atoi(argv[1])) < 1 || n > 255) {
		fprintf(stderr, "usage: forker N   (1 <= N <= 255)\n");
		return 2;
	}
	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len < 0) {
		perror("forker: /proc/self/exe");
		return 1;
	}
	self[len] = 0;
	snprintf(prog, sizeof(prog), "%s/exit_with", dirname(self));
	for (int i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			perror("forker: fork");
			return 1;
		}
		if (pids[i] == 0) {
			char code[8];

			snprintf(code, sizeof(code), "%d", i + 1);
			execl(prog, "exit_with", code, (char *)NULL);
			_exit(127);
		}
	}
	for (int i = 0; i < n; i++) {
		int st;

		if (waitpid(pids[i], &st, 0) != pids[i] || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != i + 1)
			bad++;
	}
	if (bad)
		fprintf(stderr, "forker: %d children did not exit as expected\n", bad);
	return bad ? 1 : 0;
}
