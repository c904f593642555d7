/* SPDX-License-Identifier: MIT */
/*
 * ELF side of the symbolizer: opening a file with libelf (mapped, so a large
 * binary costs address space, not memory), its build-id note, debuglink,
 * PT_LOAD segments, and its function symbols (.symtab, else .dynsym).
 * Every field read from the file is bounds-checked: malformed files give a
 * reason, never a crash.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sym_int.h"

int sym_strpool__add(struct sym_strpool *p, const char *s, size_t len, uint32_t *off)
{
	if (p->len + len + 1 > UINT32_MAX)
		return -E2BIG;
	if (p->len + len + 1 > p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 4096;
		char *b;

		while (cap < p->len + len + 1)
			cap *= 2;
		b = realloc(p->buf, cap);
		if (!b)
			return -ENOMEM;
		p->buf = b;
		p->cap = cap;
	}
	memcpy(p->buf + p->len, s, len);
	p->buf[p->len + len] = '\0';
	*off = (uint32_t)p->len;
	p->len += len + 1;
	return 0;
}

void sym_strpool__release(struct sym_strpool *p)
{
	free(p->buf);
	memset(p, 0, sizeof(*p));
}

static int elf_version_done;

Elf_Scn *sym_elf__section(struct sym_elf *e, const char *name, GElf_Shdr *shdr)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(e->elf, scn))) {
		const char *n;

		if (!gelf_getshdr(scn, shdr))
			continue;
		n = elf_strptr(e->elf, e->shstrndx, shdr->sh_name);
		if (n && !strcmp(n, name))
			return scn;
	}
	return NULL;
}

/* Finds NT_GNU_BUILD_ID in the notes of one data block. */
static int find_build_id(struct sym_elf *e, Elf_Data *data)
{
	size_t off = 0, name_off, desc_off;
	GElf_Nhdr nhdr;

	while (data && data->d_buf && off < data->d_size &&
	       (off = gelf_getnote(data, off, &nhdr, &name_off, &desc_off)) > 0) {
		if (nhdr.n_type == NT_GNU_BUILD_ID && nhdr.n_namesz == 4 &&
		    !memcmp((char *)data->d_buf + name_off, "GNU", 4) && nhdr.n_descsz > 0 &&
		    nhdr.n_descsz <= SYM_BUILD_ID_MAX) {
			memcpy(e->build_id, (char *)data->d_buf + desc_off, nhdr.n_descsz);
			e->build_id_size = nhdr.n_descsz;
			return 1;
		}
	}
	return 0;
}

static void read_notes(struct sym_elf *e)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr shdr;

	while ((scn = elf_nextscn(e->elf, scn))) {
		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_NOTE)
			continue;
		if (find_build_id(e, elf_getdata(scn, NULL)))
			return;
	}
	/* No section headers (or stripped of them): try PT_NOTE. */
	for (size_t i = 0, n = 0; !elf_getphdrnum(e->elf, &n) && i < n; i++) {
		GElf_Phdr ph;
		Elf_Data *d;

		if (!gelf_getphdr(e->elf, (int)i, &ph) || ph.p_type != PT_NOTE)
			continue;
		d = elf_getdata_rawchunk(e->elf, (int64_t)ph.p_offset, ph.p_filesz,
					 ph.p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR);
		if (find_build_id(e, d))
			return;
	}
}

static void read_sections(struct sym_elf *e)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr shdr;

	while ((scn = elf_nextscn(e->elf, scn))) {
		const char *n;

		if (!gelf_getshdr(scn, &shdr))
			continue;
		n = elf_strptr(e->elf, e->shstrndx, shdr.sh_name);
		if (!n)
			continue;
		if ((!strcmp(n, ".debug_info") || !strcmp(n, ".zdebug_info")) &&
		    shdr.sh_type != SHT_NOBITS && shdr.sh_size > 0)
			e->has_debug_info = 1;
		else if (shdr.sh_type == SHT_SYMTAB && shdr.sh_entsize &&
			 shdr.sh_size / shdr.sh_entsize > 1)
			e->has_symtab = 1;
		else if (shdr.sh_type == SHT_DYNSYM && shdr.sh_entsize &&
			 shdr.sh_size / shdr.sh_entsize > 1)
			e->has_dynsym = 1;
		else if (!strcmp(n, ".gnu_debuglink") && shdr.sh_type != SHT_NOBITS) {
			Elf_Data *d = elf_getdata(scn, NULL);
			size_t len;

			if (!d || !d->d_buf || d->d_size < 8)
				continue;
			len = strnlen(d->d_buf, d->d_size);
			if (len == 0 || len >= d->d_size)
				continue;
			/* The CRC follows the name, 4-byte aligned. */
			len = (len + 4) & ~(size_t)3;
			if (len + 4 > d->d_size)
				continue;
			e->debuglink = d->d_buf;
			memcpy(&e->debuglink_crc, (char *)d->d_buf + len, 4);
			if (e->ehdr.e_ident[EI_DATA] != ELFDATA2LSB)
				e->debuglink_crc = __builtin_bswap32(e->debuglink_crc);
		}
	}
}

static int read_segments(struct sym_elf *e)
{
	size_t n = 0;

	if (elf_getphdrnum(e->elf, &n) || n == 0)
		return 0;
	e->segs = calloc(n, sizeof(*e->segs));
	if (!e->segs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(e->elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		e->segs[e->nsegs++] =
		    (struct sym_segment){ph.p_vaddr, ph.p_memsz, ph.p_offset, ph.p_filesz};
	}
	return 0;
}

int sym_elf__open_fd(struct sym_elf **out, int fd, const char *path, char *errbuf, size_t errlen)
{
	struct sym_elf *e;
	int err = 0;

	*out = NULL;
	if (!elf_version_done) {
		elf_version(EV_CURRENT);
		elf_version_done = 1;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		close(fd);
		return -ENOMEM;
	}
	e->fd = fd;
	e->path = strdup(path);
	if (!e->path) {
		err = -ENOMEM;
		goto out;
	}
	e->elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e->elf || elf_kind(e->elf) != ELF_K_ELF) {
		snprintf(errbuf, errlen, "'%s': not an ELF file", path);
		err = -ENOEXEC;
		goto out;
	}
	if (!gelf_getehdr(e->elf, &e->ehdr) || elf_getshdrstrndx(e->elf, &e->shstrndx)) {
		snprintf(errbuf, errlen, "'%s': malformed ELF header: %s", path, elf_errmsg(-1));
		err = -ENOEXEC;
		goto out;
	}
	err = read_segments(e);
	if (err)
		goto out;
	read_sections(e);
	read_notes(e);
out:
	if (err) {
		sym_elf__free(e);
		return err;
	}
	*out = e;
	return 0;
}

int sym_elf__open(struct sym_elf **out, const char *path, char *errbuf, size_t errlen)
{
	struct stat st;
	int fd;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int err = -errno;

		snprintf(errbuf, errlen, "cannot open '%s': %s", path, strerror(errno));
		return err;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		snprintf(errbuf, errlen, "'%s': not a regular file", path);
		close(fd);
		return -ENOEXEC;
	}
	return sym_elf__open_fd(out, fd, path, errbuf, errlen);
}

void sym_elf__free(struct sym_elf *e)
{
	if (!e)
		return;
	if (e->elf)
		elf_end(e->elf);
	if (e->fd >= 0)
		close(e->fd);
	free(e->segs);
	free(e->path);
	free(e);
}

int sym_elf__vaddr_mapped(const struct sym_elf *e, uint64_t addr)
{
	if (!e->nsegs) /* relocatable object: no segments to check against */
		return 1;
	for (size_t i = 0; i < e->nsegs; i++)
		if (addr >= e->segs[i].vaddr && addr - e->segs[i].vaddr < e->segs[i].memsz)
			return 1;
	return 0;
}

/* Ranks duplicates at one address: global beats weak beats local, a
 * function beats an untyped label, a sized symbol beats an unsized one. */
static int sym_rank(const GElf_Sym *s)
{
	int bind = GELF_ST_BIND(s->st_info), rank = 0;

	rank += bind == STB_GLOBAL ? 4 : bind == STB_WEAK ? 2 : 0;
	rank += GELF_ST_TYPE(s->st_info) == STT_NOTYPE ? 0 : 8;
	rank += s->st_size ? 1 : 0;
	return rank;
}

struct ranked_sym {
	struct sym_symbol s;
	uint32_t seq;
	uint8_t rank;
};

/* Address ascending, then best rank first, then table order. */
static int cmp_ranked(const void *a, const void *b)
{
	const struct ranked_sym *x = a, *y = b;

	if (x->s.addr != y->s.addr)
		return x->s.addr < y->s.addr ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank > y->rank ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int load_table(struct sym_symtab *t, struct sym_elf *e, Elf_Scn *scn, GElf_Shdr *shdr)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	struct ranked_sym *tmp;
	size_t n, m = 0;
	const char *file = NULL;
	int file_after_symbol = 0, symbol_seen = 0;

	if (!d || !d->d_buf || !shdr->sh_entsize)
		return 0;
	n = d->d_size /
	    (e->ehdr.e_ident[EI_CLASS] == ELFCLASS64 ? sizeof(Elf64_Sym) : sizeof(Elf32_Sym));
	if (n > INT32_MAX)
		n = INT32_MAX;
	tmp = malloc((n ? n : 1) * sizeof(*tmp));
	if (!tmp)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		GElf_Sym s;
		GElf_Shdr sh;
		Elf_Scn *sec;
		const char *name;
		int type;

		if (!gelf_getsym(d, (int)i, &s))
			continue;
		type = GELF_ST_TYPE(s.st_info);
		/*
		 * As binutils: a local symbol belongs to the last STT_FILE
		 * before it; a global one only while no FILE symbol came
		 * after other symbols (globals follow all the files).
		 */
		if (type == STT_FILE) {
			file = elf_strptr(e->elf, shdr->sh_link, s.st_name);
			if (file && !*file)
				file = NULL;
			if (symbol_seen)
				file_after_symbol = 1;
			continue;
		}
		if (i > 0)
			symbol_seen = 1;
		if (type != STT_FUNC && type != STT_GNU_IFUNC && type != STT_NOTYPE)
			continue;
		if (s.st_shndx == SHN_UNDEF || s.st_shndx >= SHN_LORESERVE)
			continue;
		if (type == STT_NOTYPE) {
			/* Untyped symbols count only in code, and not as local
			 * labels or mapping symbols. */
			sec = elf_getscn(e->elf, s.st_shndx);
			if (!sec || !gelf_getshdr(sec, &sh) || !(sh.sh_flags & SHF_EXECINSTR))
				continue;
		}
		name = elf_strptr(e->elf, shdr->sh_link, s.st_name);
		if (!name || !*name || name[0] == '$' || !strncmp(name, ".L", 2))
			continue;
		tmp[m].s = (struct sym_symbol){
		    s.st_value, s.st_size, name,
		    (GELF_ST_BIND(s.st_info) == STB_LOCAL || !file_after_symbol) ? file : NULL};
		tmp[m].seq = (uint32_t)i;
		tmp[m].rank = (uint8_t)sym_rank(&s);
		m++;
	}
	qsort(tmp, m, sizeof(*tmp), cmp_ranked);
	free(t->syms);
	t->syms = malloc((m ? m : 1) * sizeof(*t->syms));
	t->n = 0;
	if (!t->syms) {
		free(tmp);
		return -ENOMEM;
	}
	/* Keep the best symbol at each address. */
	for (size_t i = 0; i < m; i++)
		if (!t->n || tmp[i].s.addr != t->syms[t->n - 1].addr)
			t->syms[t->n++] = tmp[i].s;
	free(tmp);
	return 0;
}

int sym_symtab__load(struct sym_symtab *t, struct sym_elf *e)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr shdr;
	int err;

	for (int want = SHT_SYMTAB;; want = SHT_DYNSYM) {
		scn = NULL;
		while ((scn = elf_nextscn(e->elf, scn))) {
			if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != (unsigned)want)
				continue;
			err = load_table(t, e, scn, &shdr);
			if (err)
				return err;
			break;
		}
		if (t->n || want == SHT_DYNSYM)
			break;
	}
	return 0;
}

static int cmp_sym(const void *a, const void *b)
{
	const struct sym_symbol *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return (y->size != 0) - (x->size != 0);
}

void sym_symtab__finish(struct sym_symtab *t)
{
	size_t w = 0;

	if (!t->n)
		return;
	qsort(t->syms, t->n, sizeof(*t->syms), cmp_sym);
	w = 1;
	for (size_t i = 1; i < t->n; i++)
		if (t->syms[i].addr != t->syms[w - 1].addr)
			t->syms[w++] = t->syms[i];
	t->n = w;
}

const struct sym_symbol *sym_symtab__find(struct sym_symtab *t, uint64_t addr)
{
	size_t lo = 0, hi = t->n, h = t->hint;
	const struct sym_symbol *s;

	/* Batches come in address order: most lookups land in the symbol
	 * found last, or the next one. */
	if (h < t->n && t->syms[h].addr <= addr) {
		if (h + 1 == t->n || addr < t->syms[h + 1].addr)
			lo = hi = h + 1;
		else if (h + 2 == t->n || addr < t->syms[h + 2].addr)
			lo = hi = h + 2;
		else
			lo = h + 2;
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	t->hint = lo - 1;
	s = &t->syms[lo - 1];
	if (s->size)
		return addr - s->addr < s->size ? s : NULL;
	/* Unsized (assembly) symbol: it runs to the next symbol. */
	return s;
}

void sym_symtab__release(struct sym_symtab *t)
{
	for (size_t i = 0; i < t->nowned; i++)
		free(t->owned[i]);
	free(t->owned);
	free(t->syms);
	sym_strpool__release(&t->pool);
	memset(t, 0, sizeof(*t));
}

/* CRC-32 (IEEE, reflected) as .gnu_debuglink uses it. */
uint32_t sym_crc32(uint32_t crc, const void *buf, size_t len)
{
	static uint32_t table[256];
	const uint8_t *p = buf;

	if (!table[1]) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;

			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
	}
	crc = ~crc;
	while (len--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}
