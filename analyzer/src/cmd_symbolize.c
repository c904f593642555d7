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
 * were a third of a large batch.
 */
#define OUT_BUF_SIZE (1u << 16)

static char out_buf[OUT_BUF_SIZE];
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

/* Appends the decimal digits of V at P; returns the end. */
static char *put_u32(char *p, uint32_t v)
{
	char tmp[10], *t = tmp + sizeof(tmp);

	do {
		*--t = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	memcpy(p, t, (size_t)(tmp + sizeof(tmp) - t));
	return p + (tmp + sizeof(tmp) - t);
}

/* One output line, built in place in the buffer when it fits. */
static void put_frame(const char *prefix, size_t plen, uint32_t depth, const char *func,
		      const char *file, uint32_t line, const char *reason)
{
	size_t flen, filelen, rlen, need;
	char *p;

	func = func ? func : "??";
	if (!file) {
		file = "??";
		line = 0;
	}
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

/* "0x<hex>\t" into BUF (at least 20 bytes); returns its length. */
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
	err = sym_resolver__lookup(c->res, c->exe, NULL, 0, c->addrs, c->n, c->out);
	if (err) {
		fprintf(stderr, "bpftape symbolize: lookup failed: %s\n", strerror(-err));
		return err;
	}
	for (size_t i = 0; i < c->n; i++) {
		struct sym_result *r = &c->out[i];
		const char *why = c->show_reason ? sym_reason__str(r->reason) : NULL;
		char prefix[20];
		size_t plen = addr_prefix(prefix, r->addr);

		/* The frames were allocated in address order and are read in
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
		sym_result_release(r);
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

/* Reads stdin with read(2) so that a batch can be flushed as soon as no
 * more input is ready (poll would not see data hidden in a stdio buffer). */
static int read_stdin(struct symbolize_ctx *c)
{
	char buf[65536], line[256];
	size_t llen = 0, lineno = 0;
	int overlong = 0, err = 0;

	for (;;) {
		ssize_t got;

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
		for (ssize_t i = 0; i <= got; i++) {
			uint64_t addr;

			/* got == 0 (EOF) terminates a last line without newline. */
			if (i < got && buf[i] != '\n') {
				if (llen < sizeof(line))
					line[llen++] = buf[i];
				else
					overlong = 1;
				continue;
			}
			if (i == got && (got != 0 || (!llen && !overlong)))
				break;
			lineno++;
			if (overlong || (llen && parse_addr(line, llen, &addr))) {
				fprintf(
				    stderr,
				    "bpftape symbolize: stdin line %zu: invalid address '%.*s'\n",
				    lineno, (int)(llen > 64 ? 64 : llen), line);
				flush_batch(c);
				return 1;
			}
			if (llen && (err = add_addr(c, addr)))
				return 1;
			llen = 0;
			overlong = 0;
		}
		if (got == 0)
			break;
	}
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
	free(c.addrs);
	free(c.out);
	free(dirs);
	return rc;
}
