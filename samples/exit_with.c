// SPDX-License-Identifier: MIT
/* exit_with K: exits at once with status K (0..255).  The short-lived child
 * that samples/forker execs. */
#include <stdlib.h>

int main(int argc, char **argv)
{
	return argc > 1 ? atoi(argv[1]) & 255 : 0;
}
