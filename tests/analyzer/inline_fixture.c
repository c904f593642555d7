/* SPDX-License-Identifier: MIT */
/* Built at test time with -O2 -g: leaf_inlined() is inlined into outer_fn(),
 * so an address inside outer_fn has an inline chain in its DWARF. */
static volatile unsigned int sink;

static inline __attribute__((always_inline)) unsigned int leaf_inlined(unsigned int x)
{
	unsigned int i, h = x;

	for (i = 0; i < x; i++)
		h = h * 31 + i;
	sink = h;
	return h;
}

__attribute__((noinline)) unsigned int outer_fn(unsigned int x)
{
	return leaf_inlined(x) + 1;
}

int main(int argc, char **argv)
{
	(void)argv;
	return (int)(outer_fn((unsigned int)argc * 1000u) & 1);
}
