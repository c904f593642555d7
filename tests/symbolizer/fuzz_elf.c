/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: arbitrary bytes as an ELF file.  The resolver must give a
 * result with a reason for every address, never crash, hang or leak.  The
 * bytes go to a memfd so the resolver opens them by path like any binary.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <sym/resolver.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const no_dirs[] = {NULL};
	struct sym_resolver_opts opts = {.debug_dirs = no_dirs, .n_debug_dirs = 0};
	struct sym_resolver *r = NULL;
	struct sym_result res[16];
	uint64_t addrs[16], vaddr;
	uint8_t bid[64];
	char path[64];
	size_t n = 0;
	int fd;

	fd = memfd_create("fuzz_elf", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (size && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (sym_resolver__new(&r, &opts))
		goto out;
	/* Addresses that real binaries use, and some taken from the bytes
	 * (e_entry and nearby) so mutations steer them. */
	addrs[n++] = 0;
	addrs[n++] = 0x1000;
	addrs[n++] = 0x1139;
	addrs[n++] = 0x401000;
	addrs[n++] = UINT64_MAX;
	if (size >= 0x20) {
		uint64_t entry;

		memcpy(&entry, data + 0x18, sizeof(entry));
		for (int i = 0; i < 8; i++)
			addrs[n++] = entry + (uint64_t)i * 0x17;
	}
	if (!sym_resolver__lookup(r, path, NULL, 0, addrs, n, res))
		for (size_t i = 0; i < n; i++)
			sym_result_release(&res[i]);
	/* Again: cached state must be as safe as fresh state. */
	if (!sym_resolver__lookup(r, path, NULL, 0, addrs, n, res))
		for (size_t i = 0; i < n; i++)
			sym_result_release(&res[i]);
	sym_resolver__file_offset_to_vaddr(r, path, NULL, 0, 0x1000, &vaddr);
	sym_read_build_id(path, bid, sizeof(bid));
out:
	sym_resolver__free(r);
	close(fd);
	return 0;
}
