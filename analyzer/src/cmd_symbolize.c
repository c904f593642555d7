/* SPDX-License-Identifier: MIT */
/*
 * `bpftape symbolize --exe FILE [--debug-dir DIR]... [ADDR...]`: turns
 * addresses in FILE's own virtual address space (what addr2line takes) into
 * one line per frame, innermost inlined frame first:
 *
 *   ADDR<TAB>DEPTH<TAB>FUNCTION<TAB>FILE:LINE
 *
 * Without ADDR arguments, addresses are read from stdin, one per line, and
 * symbolized in batches; a batch is flushed whenever stdin has nothing more
 * ready, so the command also works as an interactive coprocess.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sym/resolver.h>

#include "commands.h"

#define SYMBOLIZE_BATCH 65536

struct symbolize_ctx {
	struct sym_resolver *res;
	const char *exe;
	uint64_t *addrs;
	struct sym_result *out;
	struct sym_batch batch;
	size_t n;
	int failed;
	int show_reason;
};

static void symbolize_usage(FILE *f)
{
	fprintf(f,
		"usage: bpftape symbolize --exe FILE [--debug-dir DIR]... [--demangle] [ADDR...]\n"
		"\n"
		"Symbolizes addresses of FILE: for each ADDR, one line per frame, innermost\n"
		"(deepest inlined) frame first and the real enclosing function last:\n"
		"\n"
		"  ADDR<TAB>DEPTH<TAB>FUNCTION<TAB>FILE:LINE\n"
		"\n"
		"ADDR is hex (0x...) in FILE's own virtual address space, as addr2line takes\n"
		"it (for a PIE or shared library: the link-time address). Without ADDR\n"
		"arguments, addresses are read from stdin, one per line. Unknown names print\n"
		"as '?"
		"?', unknown locations as '?"
		"?:0'.\n"
		"\n"
		"Options:\n"
		"  -e, --exe FILE        the ELF binary (executable, shared library, debug file)\n"
		"  -d, --debug-dir DIR   where to look for separate debug files (repeatable;\n"
		"                        default /usr/lib/debug): DIR/.build-id/xx/rest.debug\n"
		"                        and DIR/<path of FILE>/<debuglink name>\n"
		"  -C, --demangle        demangle C++ names (default: as stored, mangled)\n"
		"  -s, --symtab-only     ELF symbol tables only, no DWARF (faster)\n"
		"  -r, --reason          append a fifth column: \"ok\" or why the result is\n"
		"                        incomplete (no debug info, no symbol, ...)\n"
		"  -h, --help            show this help\n"
		"\n"
		"Examples:\n"
		"  bpftape symbolize --exe ./app 0x1139 0x1200\n"
		"  bpftape symbolize --exe /usr/bin/ls --debug-dir /usr/lib/debug < addrs.txt\n");
}

/* Strict hex: optional 0x, 1-16 hex digits, surrounding blanks allowed. */
static int parse_addr(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0, digits = 0;

	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r'))
		len--;
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i + 1 < len && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X'))
		i += 2;
	for (; i < len; i++, digits++) {
		int c = s[i], d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -EINVAL;
		if (digits >= 16)
			return -ERANGE;
		v = v << 4 | (uint64_t)d;
	}
	if (!digits)
		return -EINVAL;
	*out = v;
	return 0;
}

/*
 * Output goes through our own buffer, written out with one fwrite per
 * 64 KiB and flushed once per batch (a coprocess sees each batch at
 * once).  Lines are built by hand: stdio's per-call locking and printf
 * were a third of a large batch.  The buffer keeps OUT_SLACK bytes spare
 * past its size so that short pieces are copied with a few wide stores
 * that may run past their end.
 */
#define OUT_BUF_SIZE (1u << 16)
#define OUT_SLACK 64

static char out_buf[OUT_BUF_SIZE + OUT_SLACK];
static size_t out_len;

static int out_drain(void)
{
	if (out_len && fwrite(out_buf, 1, out_len, stdout) != out_len) {
		out_len = 0;
		return -EIO;
	}
	out_len = 0;
	return 0;
}

static void out_put(const char *s, size_t len)
{
	while (len) {
		size_t room = OUT_BUF_SIZE - out_len, k = len < room ? len : room;

		memcpy(out_buf + out_len, s, k);
		out_len += k;
		s += k;
		len -= k;
		if (out_len == OUT_BUF_SIZE)
			out_drain();
	}
}

/* Copies LEN bytes in 16-byte steps: SRC must be readable, and DST
 * writable, up to LEN rounded up to 16 (both come with slack). */
static inline char *copy_wide(char *dst, const char *src, size_t len)
{
	for (size_t i = 0; i < len; i += 16)
		memcpy(dst + i, src + i, 16);
	return dst + len;
}

/* Appends the decimal digits of V at P; returns the end. */
static inline char *put_u32(char *p, uint32_t v)
{
	static const char pairs[201] = "00010203040506070809101112131415161718192021222324"
				       "25262728293031323334353637383940414243444546474849"
				       "50515253545556575859606162636465666768697071727374"
				       "75767778798081828384858687888990919293949596979899";
	unsigned n = 1;
	char *end, *q;

	for (uint32_t t = v; t >= 10; t /= 10)
		n++;
	end = q = p + n;
	while (v >= 100) {
		q -= 2;
		memcpy(q, pairs + 2 * (v % 100), 2);
		v /= 100;
	}
	if (v >= 10) {
		q -= 2;
		memcpy(q, pairs + 2 * v, 2);
	} else {
		*--q = (char)('0' + v);
	}
	return end;
}

/*
 * The middle of a line, "\tFUNCTION\tFILE:", for each (function, file)
 * pair met: both strings belong to the resolver and keep their address
 * while it lives, and a few thousand pairs make the 100 000 frames of a
 * large batch, so each pair's lengths and bytes are worked out once.
 */
struct mid_slot {
	const char *func, *file;
	uint32_t off, len; /* in mid_pool */
	int used;
};

static struct mid_slot *mid_tab;
static size_t mid_cap, mid_used;
static char *mid_pool;
static size_t mid_pool_len, mid_pool_cap;

static void mid_free(void)
{
	free(mid_tab);
	free(mid_pool);
	mid_tab = NULL;
	mid_pool = NULL;
	mid_cap = mid_used = mid_pool_len = mid_pool_cap = 0;
}

static size_t mid_hash(const char *func, const char *file, size_t mask)
{
	uint64_t h = (uint64_t)(uintptr_t)func * 0x9e3779b97f4a7c15ull ^
		     (uint64_t)(uintptr_t)file * 0xc2b2ae3d27d4eb4full;

	return (size_t)(h >> 29) & mask;
}

static const struct mid_slot *mid_add(const char *func, const char *file);

/* The slot of (FUNC, FILE), made on first use; NULL when out of memory
 * or when the piece is too long for the wide copies. */
static inline const struct mid_slot *mid_get(const char *func, const char *file)
{
	size_t mask = mid_cap - 1;

	if (mid_cap) {
		for (size_t h = mid_hash(func, file, mask);; h = (h + 1) & mask) {
			const struct mid_slot *sl = &mid_tab[h];

			if (!sl->used)
				break;
			if (sl->func == func && sl->file == file)
				return sl;
		}
	}
	return mid_add(func, file);
}

static const struct mid_slot *mid_add(const char *func, const char *file)
{
	size_t mask = mid_cap - 1, h, flen, filelen, need;
	struct mid_slot *sl;
	char *p;

	if (mid_used * 2 >= mid_cap) {
		size_t ncap = mid_cap ? mid_cap * 2 : 4096;
		struct mid_slot *n = calloc(ncap, sizeof(*n));

		if (!n)
			return NULL;
		for (size_t i = 0; i < mid_cap; i++) {
			if (!mid_tab[i].used)
				continue;
			h = mid_hash(mid_tab[i].func, mid_tab[i].file, ncap - 1);
			while (n[h].used)
				h = (h + 1) & (ncap - 1);
			n[h] = mid_tab[i];
		}
		free(mid_tab);
		mid_tab = n;
		mid_cap = ncap;
		mask = ncap - 1;
	}
	flen = strlen(func ? func : "??");
	filelen = strlen(file ? file : "??");
	need = 1 + flen + 1 + filelen + 1;
	if (need > 4096)
		return NULL;
	if (mid_pool_len + need + OUT_SLACK > mid_pool_cap) {
		size_t ncap = mid_pool_cap ? mid_pool_cap : 65536;
		char *np;

		while (mid_pool_len + need + OUT_SLACK > ncap)
			ncap *= 2;
		np = realloc(mid_pool, ncap);
		if (!np)
			return NULL;
		mid_pool = np;
		mid_pool_cap = ncap;
	}
	p = mid_pool + mid_pool_len;
	*p++ = '\t';
	memcpy(p, func ? func : "??", flen);
	p += flen;
	*p++ = '\t';
	memcpy(p, file ? file : "??", filelen);
	p += filelen;
	*p = ':';
	for (h = mid_hash(func, file, mask); mid_tab[h].used; h = (h + 1) & mask)
		;
	sl = &mid_tab[h];
	*sl = (struct mid_slot){func, file, (uint32_t)mid_pool_len, (uint32_t)need, 1};
	mid_pool_len += need;
	mid_used++;
	return sl;
}

static void put_frame_slow(const char *prefix, size_t plen, uint32_t depth, const char *func,
			   const char *file, uint32_t line, const char *reason);

/* One output line, built in place in the buffer. */
static inline void put_frame(const char *prefix, size_t plen, uint32_t depth, const char *func,
			     const char *file, uint32_t line, const char *reason)
{
	const struct mid_slot *mid;
	char *p;

	if (!file)
		line = 0;
	mid = reason ? NULL : mid_get(func, file);
	if (!mid) {
		put_frame_slow(prefix, plen, depth, func, file, line, reason);
		return;
	}
	/* The common line: prefix, depth, cached middle, line. */
	if (plen + 10 + mid->len + 12 > OUT_BUF_SIZE - out_len)
		out_drain();
	p = copy_wide(out_buf + out_len, prefix, plen);
	p = put_u32(p, depth);
	p = copy_wide(p, mid_pool + mid->off, mid->len);
	p = put_u32(p, line);
	*p++ = '\n';
	out_len = (size_t)(p - out_buf);
}

/* Any line: with a reason, or with names too long for the cache. */
static void put_frame_slow(const char *prefix, size_t plen, uint32_t depth, const char *func,
			   const char *file, uint32_t line, const char *reason)
{
	size_t flen, filelen, rlen, need;
	char *p;

	func = func ? func : "??";
	file = file ? file : "??";
	flen = strlen(func);
	filelen = strlen(file);
	rlen = reason ? strlen(reason) : 0;
	need = plen + 10 + 1 + flen + 1 + filelen + 11 + 1 + rlen + 1;
	if (need > OUT_BUF_SIZE - out_len)
		out_drain();
	if (need > OUT_BUF_SIZE - out_len) {
		/* A name longer than the buffer: piece by piece. */
		char num[16];

		out_put(prefix, plen);
		out_put(num, (size_t)(put_u32(num, depth) - num));
		out_put("\t", 1);
		out_put(func, flen);
		out_put("\t", 1);
		out_put(file, filelen);
		num[0] = ':';
		out_put(num, (size_t)(put_u32(num + 1, line) - num));
		if (reason) {
			out_put("\t", 1);
			out_put(reason, rlen);
		}
		out_put("\n", 1);
		return;
	}
	p = out_buf + out_len;
	memcpy(p, prefix, plen);
	p = put_u32(p + plen, depth);
	*p++ = '\t';
	memcpy(p, func, flen);
	p += flen;
	*p++ = '\t';
	memcpy(p, file, filelen);
	p += filelen;
	*p++ = ':';
	p = put_u32(p, line);
	if (reason) {
		*p++ = '\t';
		memcpy(p, reason, rlen);
		p += rlen;
	}
	*p++ = '\n';
	out_len = (size_t)(p - out_buf);
}

/* "0x<hex>\t" into BUF (at least 32 bytes, the tail as slack for the
 * wide copies); returns its length. */
static size_t addr_prefix(char *buf, uint64_t addr)
{
	char tmp[20], *t = tmp + sizeof(tmp);

	*--t = '\t';
	do {
		*--t = "0123456789abcdef"[addr & 15];
		addr >>= 4;
	} while (addr);
	*--t = 'x';
	*--t = '0';
	memcpy(buf, t, (size_t)(tmp + sizeof(tmp) - t));
	return (size_t)(tmp + sizeof(tmp) - t);
}

static int flush_batch(struct symbolize_ctx *c)
{
	int err;

	if (!c->n)
		return 0;
	err =
	    sym_resolver__lookup_batch(c->res, c->exe, NULL, 0, c->addrs, c->n, c->out, &c->batch);
	if (err) {
		fprintf(stderr, "bpftape symbolize: lookup failed: %s\n", strerror(-err));
		return err;
	}
	for (size_t i = 0; i < c->n; i++) {
		struct sym_result *r = &c->out[i];
		const char *why = c->show_reason ? sym_reason__str(r->reason) : NULL;
		char prefix[32];
		size_t plen = addr_prefix(prefix, r->addr);

		/* The frames were stored in address order and are read in
		 * input order: fetch a few results ahead, not one miss each. */
		if (i + 8 < c->n)
			__builtin_prefetch(c->out[i + 8].frames);

		if (r->nframes == 0)
			put_frame(prefix, plen, 0, NULL, NULL, 0, why);
		for (uint32_t d = 0; d < r->nframes; d++) {
			const struct sym_frame *f = &r->frames[d];

			put_frame(prefix, plen, d, f->func, f->file, f->line, why);
		}
		/* The binary itself is unusable: say why once, fail at the end. */
		if (!c->failed && (r->reason == SYM_NO_FILE || r->reason == SYM_BAD_ELF)) {
			fprintf(stderr, "bpftape symbolize: %s\n", sym_resolver__errmsg(c->res));
			c->failed = 1;
		}
	}
	c->n = 0;
	if (out_drain() || fflush(stdout) || ferror(stdout))
		return -EIO;
	return 0;
}

static int add_addr(struct symbolize_ctx *c, uint64_t addr)
{
	c->addrs[c->n++] = addr;
	if (c->n == SYMBOLIZE_BATCH)
		return flush_batch(c);
	return 0;
}

static int stdin_ready(void)
{
	struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};

	return poll(&p, 1, 0) > 0;
}

/* One stdin line (without its newline): an address, or blank. */
static int stdin_line(struct symbolize_ctx *c, const char *s, size_t len, int overlong,
		      size_t lineno)
{
	uint64_t addr;

	if (overlong || (len && parse_addr(s, len, &addr))) {
		fprintf(stderr, "bpftape symbolize: stdin line %zu: invalid address '%.*s'\n",
			lineno, (int)(len > 64 ? 64 : len), s);
		flush_batch(c);
		return 1;
	}
	if (len && add_addr(c, addr))
		return 1;
	return 0;
}

/* Reads stdin with read(2) so that a batch can be flushed as soon as no
 * more input is ready (poll would not see data hidden in a stdio buffer).
 * Lines are parsed where they lie in the buffer; only a line split
 * between two reads is gathered in LINE. */
static int read_stdin(struct symbolize_ctx *c)
{
	char buf[65536], line[256];
	size_t llen = 0, lineno = 0;
	int overlong = 0, err = 0;

	for (;;) {
		ssize_t got;
		size_t i = 0;

		if (c->n && !stdin_ready()) {
			err = flush_batch(c);
			if (err)
				return 1;
		}
		got = read(STDIN_FILENO, buf, sizeof(buf));
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			fprintf(stderr, "bpftape symbolize: cannot read stdin: %s\n",
				strerror(errno));
			return 1;
		}
		if (got == 0)
			break;
		while (i < (size_t)got) {
			const char *nl = memchr(buf + i, '\n', (size_t)got - i);
			size_t seg = nl ? (size_t)(nl - (buf + i)) : (size_t)got - i;

			if (llen || overlong || !nl) {
				/* Continues a line from the last read, or is cut
				 * by the end of this one. */
				size_t k = seg < sizeof(line) - llen ? seg : sizeof(line) - llen;

				memcpy(line + llen, buf + i, k);
				llen += k;
				if (k < seg)
					overlong = 1;
				if (!nl)
					break;
				if (stdin_line(c, line, llen, overlong, ++lineno))
					return 1;
				llen = 0;
				overlong = 0;
			} else if (stdin_line(c, buf + i, seg, seg > sizeof(line), ++lineno)) {
				return 1;
			}
			i += seg + 1;
		}
	}
	/* A last line without a newline. */
	if ((llen || overlong) && stdin_line(c, line, llen, overlong, ++lineno))
		return 1;
	return flush_batch(c) ? 1 : 0;
}

int cmd_symbolize(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"exe", required_argument, NULL, 'e'},
	    {"debug-dir", required_argument, NULL, 'd'},
	    {"demangle", no_argument, NULL, 'C'},
	    {"symtab-only", no_argument, NULL, 's'},
	    {"reason", no_argument, NULL, 'r'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct sym_resolver_opts opts = {0};
	struct symbolize_ctx c = {0};
	const char **dirs = NULL;
	int opt, rc = 0, err;

	optind = 0; /* glibc: full reset, the caller may have parsed options */
	dirs = calloc((size_t)argc + 1, sizeof(*dirs));
	if (!dirs) {
		fprintf(stderr, "bpftape symbolize: out of memory\n");
		return 1;
	}
	while ((opt = getopt_long(argc, argv, "e:d:Csrh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'e':
			c.exe = optarg;
			break;
		case 'd':
			dirs[opts.n_debug_dirs++] = optarg;
			break;
		case 'C':
			opts.demangle = 1;
			break;
		case 's':
			opts.no_dwarf = 1;
			break;
		case 'r':
			c.show_reason = 1;
			break;
		case 'h':
			symbolize_usage(stdout);
			free(dirs);
			return 0;
		default:
			symbolize_usage(stderr);
			free(dirs);
			return 2;
		}
	}
	if (!c.exe) {
		fprintf(stderr, "bpftape symbolize: --exe FILE is required\n");
		symbolize_usage(stderr);
		free(dirs);
		return 2;
	}
	for (int i = optind; i < argc; i++) {
		uint64_t addr;

		if (parse_addr(argv[i], strlen(argv[i]), &addr)) {
			fprintf(stderr,
				"bpftape symbolize: invalid address '%s' (want hex, e.g. 0x1139)\n",
				argv[i]);
			free(dirs);
			return 2;
		}
	}
	if (access(c.exe, R_OK)) {
		fprintf(stderr, "bpftape symbolize: cannot open '%s': %s\n", c.exe,
			strerror(errno));
		free(dirs);
		return 1;
	}
	if (opts.n_debug_dirs)
		opts.debug_dirs = dirs;
	err = sym_resolver__new(&c.res, &opts);
	c.addrs = malloc(SYMBOLIZE_BATCH * sizeof(*c.addrs));
	c.out = malloc(SYMBOLIZE_BATCH * sizeof(*c.out));
	if (err || !c.addrs || !c.out) {
		fprintf(stderr, "bpftape symbolize: cannot create resolver: %s\n",
			strerror(err ? -err : ENOMEM));
		rc = 1;
		goto out;
	}
	if (optind < argc) {
		for (int i = optind; i < argc && !rc; i++) {
			uint64_t addr = 0;

			parse_addr(argv[i], strlen(argv[i]), &addr);
			if (add_addr(&c, addr))
				rc = 1;
		}
		if (!rc && flush_batch(&c))
			rc = 1;
	} else {
		rc = read_stdin(&c);
	}
	if (c.failed)
		rc = 1;
out:
	sym_resolver__free(c.res);
	sym_batch_release(&c.batch);
	mid_free();
	free(c.addrs);
	free(c.out);
	free(dirs);
	return rc;
}
