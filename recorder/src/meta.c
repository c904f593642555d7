// SPDX-License-Identifier: MIT
/*
 * Host and process metadata written into the trace so it can be analyzed
 * elsewhere: host facts and the clock reference, the kallsyms snapshot and
 * kernel build-id, and a /proc scan of processes and executable mappings
 * (with build-ids read from the ELF notes) at start.
 */
#include <ctype.h>
#include <stdbool.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <tape/writer.h>

#include "rec_int.h"

uint64_t rec_now_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Finds an NT_GNU_BUILD_ID note in a raw note area. */
static int find_build_id_note(const uint8_t *p, size_t len, uint8_t *buf, size_t size)
{
	size_t off = 0;

	while (off + 12 <= len) {
		uint32_t namesz, descsz, type;

		memcpy(&namesz, p + off, 4);
		memcpy(&descsz, p + off + 4, 4);
		memcpy(&type, p + off + 8, 4);
		off += 12;
		size_t nameal = (namesz + 3) & ~3u, descal = (descsz + 3) & ~3u;
		if (nameal > len - off || descal > len - off - nameal)
			break;
		if (type == 3 && namesz == 4 && !memcmp(p + off, "GNU", 4) && descsz > 0) {
			size_t n = descsz < size ? descsz : size;

			memcpy(buf, p + off + nameal, n);
			return (int)n;
		}
		off += nameal + descal;
	}
	return 0;
}

int rec_elf_build_id(const char *path, uint8_t *buf, size_t size)
{
	int fd, ret = 0;
	Elf *e;
	size_t nph;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF) {
		ret = -ENOEXEC;
		goto out;
	}
	if (elf_getphdrnum(e, &nph) == 0) {
		for (size_t i = 0; i < nph && ret == 0; i++) {
			GElf_Phdr ph;
			Elf_Data *d;

			if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_NOTE)
				continue;
			d = elf_getdata_rawchunk(e, (int64_t)ph.p_offset, ph.p_filesz, ELF_T_NHDR);
			if (d && d->d_buf)
				ret = find_build_id_note(d->d_buf, d->d_size, buf, size);
		}
	}
	if (ret == 0) {
		Elf_Scn *scn = NULL;

		while ((scn = elf_nextscn(e, scn)) && ret == 0) {
			GElf_Shdr sh;
			Elf_Data *d;

			if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
				continue;
			d = elf_rawdata(scn, NULL);
			if (d && d->d_buf)
				ret = find_build_id_note(d->d_buf, d->d_size, buf, size);
		}
	}
out:
	if (e)
		elf_end(e);
	close(fd);
	return ret;
}

struct bid_entry {
	uint64_t dev, ino;
	uint8_t size;
	uint8_t id[20];
};

struct rec_buildid_cache {
	struct bid_entry *v;
	size_t n, cap;
};

int rec_buildid_cache__new(struct rec_buildid_cache **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void rec_buildid_cache__free(struct rec_buildid_cache *c)
{
	if (!c)
		return;
	free(c->v);
	free(c);
}

int rec_buildid_cache__get(struct rec_buildid_cache *c, uint64_t dev, uint64_t ino,
			   const char *path, uint8_t *buf)
{
	struct bid_entry *e;
	int r;

	for (size_t i = 0; i < c->n; i++) {
		e = &c->v[i];
		if (e->dev == dev && e->ino == ino && ino) {
			memcpy(buf, e->id, e->size);
			return e->size;
		}
	}
	r = rec_elf_build_id(path, buf, 20);
	if (r < 0)
		r = 0;
	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 64;
		struct bid_entry *nv = realloc(c->v, ncap * sizeof(*nv));

		if (!nv)
			return r;
		c->v = nv;
		c->cap = ncap;
	}
	e = &c->v[c->n++];
	e->dev = dev;
	e->ino = ino;
	e->size = (uint8_t)r;
	memcpy(e->id, buf, (size_t)r);
	return r;
}

int rec_write_host(struct tape_writer *w, int argc, char **argv, uint64_t start_ns)
{
	struct tape_host h = {0};
	struct utsname u;
	char hostname[256] = "", recorder[64];
	char *cmd = NULL, *notes = NULL;
	size_t cmdlen = 0, notes_len = 0;
	uint8_t kbid[20];
	int kbid_len = 0, err;
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);

	for (int i = 0; i < argc; i++)
		cmdlen += strlen(argv[i]) + 1;
	cmd = calloc(1, cmdlen + 1);
	if (!cmd)
		return -ENOMEM;
	for (int i = 0; i < argc; i++) {
		if (i)
			strcat(cmd, " ");
		strcat(cmd, argv[i]);
	}
	if (uname(&u))
		memset(&u, 0, sizeof(u));
	gethostname(hostname, sizeof(hostname) - 1);
	snprintf(recorder, sizeof(recorder), "bpftape-record %s", BPFTAPE_VERSION);
	if (rec_read_file("/sys/kernel/notes", &notes, &notes_len) == 0) {
		kbid_len =
		    find_build_id_note((const uint8_t *)notes, notes_len, kbid, sizeof(kbid));
		free(notes);
	}

	/* the clock reference: realtime read between two monotonic reads */
	uint64_t m0 = now_ns(CLOCK_MONOTONIC), rt = now_ns(CLOCK_REALTIME),
		 m1 = now_ns(CLOCK_MONOTONIC);

	h.page_size = (uint32_t)sysconf(_SC_PAGESIZE);
	h.ncpus = ncpu > 0 ? (uint32_t)ncpu : 1;
	h.clock_mono_ns = m0 + (m1 - m0) / 2;
	h.clock_realtime_ns = rt;
	h.start_ns = start_ns;
	h.hostname = tape_str_c(hostname);
	h.sysname = tape_str_c(u.sysname);
	h.release = tape_str_c(u.release);
	h.version = tape_str_c(u.version);
	h.machine = tape_str_c(u.machine);
	h.recorder = tape_str_c(recorder);
	h.cmdline = tape_str_c(cmd);
	h.kernel_build_id.ptr = (const char *)kbid;
	h.kernel_build_id.len = (uint32_t)kbid_len;
	err = tape_writer__host(w, &h);
	free(cmd);
	return err;
}

void rec_ranges_release(struct rec_ranges *rr)
{
	free(rr->r);
	rr->r = NULL;
	rr->n = 0;
}

bool rec_ranges_contains(const struct rec_ranges *rr, uint64_t addr)
{
	size_t lo = 0, hi = rr->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (addr < rr->r[mid][0])
			hi = mid;
		else if (addr >= rr->r[mid][1])
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_range(const void *a, const void *b)
{
	return cmp_u64(a, b);
}

static bool is_bpf_glue(const struct tape_ksym *k)
{
	return (k->module.len == 3 && !memcmp(k->module.ptr, "bpf", 3)) ||
	       (k->name.len > 13 && !memcmp(k->name.ptr, "bpf_trace_run", 13)) ||
	       (k->name.len > 12 && !memcmp(k->name.ptr, "__bpf_trace_", 12));
}

/* Ranges of the BPF glue symbols: each ends at the next symbol's address. */
static void bpf_glue_ranges(const struct tape_ksym *syms, size_t n, struct rec_ranges *out)
{
	uint64_t *addrs = malloc(n * sizeof(*addrs));
	size_t cnt = 0;

	out->r = NULL;
	out->n = 0;
	if (!addrs)
		return;
	for (size_t i = 0; i < n; i++) {
		addrs[i] = syms[i].addr;
		cnt += is_bpf_glue(&syms[i]);
	}
	qsort(addrs, n, sizeof(*addrs), cmp_u64);
	out->r = cnt ? calloc(cnt, sizeof(*out->r)) : NULL;
	for (size_t i = 0; out->r && i < n; i++) {
		size_t lo = 0, hi = n;

		if (!is_bpf_glue(&syms[i]))
			continue;
		while (lo < hi) { /* first address > addr */
			size_t mid = lo + (hi - lo) / 2;

			if (addrs[mid] <= syms[i].addr)
				lo = mid + 1;
			else
				hi = mid;
		}
		out->r[out->n][0] = syms[i].addr;
		out->r[out->n][1] = lo < n ? addrs[lo] : syms[i].addr + 4096;
		out->n++;
	}
	if (out->n)
		qsort(out->r, out->n, sizeof(*out->r), cmp_range);
	free(addrs);
}

long rec_write_kallsyms(struct tape_writer *w, struct rec_ranges *bpf_frames)
{
	struct tape_ksym *syms = NULL, *ns;
	size_t n = 0, cap = 0, len;
	char *buf, *line, *save = NULL;
	long ret;
	int err = rec_read_file("/proc/kallsyms", &buf, &len);

	if (err)
		return err;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *addr = line, *type, *name, *mod, *end;

		type = strchr(addr, ' ');
		if (!type)
			continue;
		*type++ = 0;
		name = strchr(type, ' ');
		if (!name)
			continue;
		*name++ = 0;
		mod = strchr(name, '\t');
		if (mod) {
			*mod++ = 0;
			if (*mod == '[')
				mod++;
			end = strchr(mod, ']');
			if (end)
				*end = 0;
		}
		/* __pfx_* label the NOP padding before each function (6.2+): never a
		 * PC worth naming, and half of all symbols */
		if (!strncmp(name, "__pfx_", 6))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 65536;
			ns = realloc(syms, cap * sizeof(*syms));
			if (!ns) {
				free(syms);
				free(buf);
				return -ENOMEM;
			}
			syms = ns;
		}
		syms[n].addr = strtoull(addr, NULL, 16);
		syms[n].type = *type;
		syms[n].name = tape_str_c(name);
		syms[n].module = tape_str_c(mod);
		n++;
	}
	ret = tape_writer__ksyms(w, syms, n);
	if (ret == 0)
		ret = (long)n;
	if (bpf_frames)
		bpf_glue_ranges(syms, n, bpf_frames);
	free(syms);
	free(buf);
	return ret;
}

/* Reads "Name:", "PPid:" from /proc/PID/status. */
static void proc_status(pid_t pid, char *comm, size_t commsz, uint32_t *ppid)
{
	char path[64], *buf, *p;

	*ppid = 0;
	comm[0] = 0;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (rec_read_file(path, &buf, NULL))
		return;
	p = strstr(buf, "Name:\t");
	if (p) {
		p += 6;
		size_t n = strcspn(p, "\n");
		if (n >= commsz)
			n = commsz - 1;
		memcpy(comm, p, n);
		comm[n] = 0;
	}
	p = strstr(buf, "\nPPid:\t");
	if (p)
		*ppid = (uint32_t)strtoul(p + 7, NULL, 10);
	free(buf);
}

static long scan_one(struct tape_writer *w, struct rec_buildid_cache *bc, pid_t pid, uint64_t ts_ns)
{
	char path[64], exe[4096], comm[64], line[4600];
	struct tape_proc pr = {0};
	ssize_t n;
	FILE *f;
	long maps = 0;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = 0;
	proc_status(pid, comm, sizeof(comm), &pr.ppid);
	pr.kind = TAPE_PROC_SCAN;
	pr.ts_ns = ts_ns;
	pr.pid = (uint32_t)pid;
	pr.tid = (uint32_t)pid;
	pr.comm = tape_str_c(comm);
	pr.filename = tape_str_c(exe);
	if (tape_writer__proc(w, &pr))
		return -EIO;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return 0; /* gone, or a kernel thread */
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start, end, pgoff, ino;
		unsigned int maj, min;
		char perms[8];
		int pos = 0;
		struct tape_mmap m = {0};

		if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &start, &end, perms, &pgoff,
			   &maj, &min, &ino, &pos) < 7)
			continue;
		if (perms[2] != 'x')
			continue;
		char *p = line + pos;
		p[strcspn(p, "\n")] = 0;
		m.ts_ns = ts_ns;
		m.pid = (uint32_t)pid;
		m.prot = TAPE_MMAP_PROT_EXEC | (perms[0] == 'r' ? TAPE_MMAP_PROT_READ : 0) |
			 (perms[1] == 'w' ? TAPE_MMAP_PROT_WRITE : 0);
		m.flags = TAPE_MMAP_F_SCAN;
		m.start = start;
		m.end = end;
		m.pgoff = pgoff;
		m.dev = makedev(maj, min);
		m.inode = ino;
		m.path = tape_str_c(*p ? p : "[anon]");
		if (*p == '/') {
			char mf[128];

			/* map_files reaches the mapped file even if it was replaced */
			snprintf(mf, sizeof(mf), "/proc/%d/map_files/%llx-%llx", pid, start, end);
			int r = rec_buildid_cache__get(bc, m.dev, ino,
						       access(mf, R_OK) == 0 ? mf : p, m.build_id);
			m.build_id_size = r > 0 ? (uint32_t)r : 0;
		}
		if (tape_writer__mmap(w, &m)) {
			fclose(f);
			return -EIO;
		}
		maps++;
	}
	fclose(f);
	return maps;
}

long rec_scan_procs(struct tape_writer *w, struct rec_buildid_cache *bc, pid_t pid, uint64_t ts_ns)
{
	DIR *d;
	struct dirent *de;
	long total = 0, r;

	if (pid > 0)
		return scan_one(w, bc, pid, ts_ns);
	d = opendir("/proc");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		r = scan_one(w, bc, (pid_t)atoi(de->d_name), ts_ns);
		if (r < 0) {
			closedir(d);
			return r;
		}
		total += r;
	}
	closedir(d);
	return total;
}
