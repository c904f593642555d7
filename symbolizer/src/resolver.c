/* SPDX-License-Identifier: MIT */
/*
 * Placeholder resolver: every lookup is a miss with a reason.  The real
 * ELF/DWARF implementation replaces it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sym/resolver.h>

struct sym_resolver {
	int unused;
};

struct sym_kernel {
	int unused;
};

const char *sym_reason__str(enum sym_reason r)
{
	static const char *const s[] = { "ok", "no file", "no symtab", "no debug info",
					 "build-id mismatch", "unmapped", "no symbol",
					 "bad elf", "bad dwarf" };

	if ((unsigned)r < sizeof(s) / sizeof(s[0]))
		return s[r];
	return "unknown";
}

void sym_result_release(struct sym_result *res)
{
	if (!res)
		return;
	free(res->frames);
	res->frames = NULL;
	res->nframes = 0;
}

int sym_resolver__new(struct sym_resolver **out, const struct sym_resolver_opts *opts)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void sym_resolver__free(struct sym_resolver *r)
{
	free(r);
}

const char *sym_resolver__errmsg(const struct sym_resolver *r)
{
	return "not implemented";
}

void sym_resolver__set_log(struct sym_resolver *r, sym_log_fn fn, void *ctx)
{
}

int sym_resolver__lookup(struct sym_resolver *r, const char *path, const uint8_t *build_id,
			 size_t build_id_size, const uint64_t *addrs, size_t n,
			 struct sym_result *out)
{
	for (size_t i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		out[i].addr = addrs[i];
		out[i].reason = SYM_NO_FILE;
	}
	return 0;
}

int sym_resolver__file_offset_to_vaddr(struct sym_resolver *r, const char *path,
				       const uint8_t *build_id, size_t build_id_size,
				       uint64_t file_offset, uint64_t *vaddr)
{
	return -ENOENT;
}

int sym_resolver__add_symbols(struct sym_resolver *r, const char *path, const uint8_t *build_id,
			      size_t build_id_size, const uint64_t *addrs, const uint64_t *sizes,
			      const char *const *names, size_t n)
{
	return 0;
}

int sym_read_build_id(const char *path, uint8_t *buf, size_t buf_size)
{
	return 0;
}

int sym_kernel__new(struct sym_kernel **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void sym_kernel__free(struct sym_kernel *k)
{
	free(k);
}

int sym_kernel__add(struct sym_kernel *k, uint64_t addr, char type, const char *name,
		    size_t name_len, const char *module, size_t module_len)
{
	return 0;
}

int sym_kernel__lookup(struct sym_kernel *k, uint64_t addr, struct sym_result *out)
{
	memset(out, 0, sizeof(*out));
	out->addr = addr;
	out->reason = SYM_UNMAPPED;
	return 0;
}
