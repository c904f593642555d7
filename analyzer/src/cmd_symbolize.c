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
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <sym/huge.h>
#include <sym/resolver.h>

#include "commands.h"

/* Addresses per lookup call.  A batch is looked up in address order, so
 * each function's index is built and used while it is hot: 20 000 shuffled
 * addresses of a 5 MB binary went 4-7% faster in one batch than in batches
 * of 4096.  The arrays are only touched as far as they are used. */
#define SYMBOLIZE_BATCH 65536

/*
 * The middle of a line, "\tFUNCTION\tFILE:", for each (function, file)
 * pair met: both strings belong to the resolver and keep their address
 * while it lives, and a few thousand pairs make the 100 000 frames of a
 * large batch, so each pair's lengths and bytes are worked out once.
 */
struct mid_slot {
	const char *func, *file;
	uint32_t off, len; /* in the pool */
	int used;
};

struct fmt {
	char *buf; /* cap bytes, plus OUT_SLACK */
	size_t len, cap;
	int err;
	/* Keep everything (a huge array), in the compact form below, for
	 * ring_gather() to expand in input order. */
	int hold;
	struct mid_slot *tab;
	size_t tab_cap, tab_used;
	char *pool;
	size_t pool_len, pool_cap;
	size_t out_len; /* held: the bytes of its lines once expanded */
};

#define RING_SLOTS 4
#define RING_SLOT (128u << 10)
#define GATHER_AHEAD 16
/* Spans of memory a last batch takes over for its lines. */
#define ROOM_MAX 32

/* Where the lines of one result are (struct stream). */
struct line_at {
	size_t off, end; /* its lines are TEXT[who][off, end) */
	uint32_t olen;	 /* their bytes expanded */
	uint8_t who;
};

/*
 * A large batch is formatted while it is looked up: the resolver reports
 * results as they become final (in address order), a helper thread
 * formats each one's lines into TEXT and notes where they are, and once
 * the lookup is done the lines are copied out in input order.  Formatting
 * after the lookup was a third of a one-call run.
 */
struct stream {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t *done;		  /* input positions, in the order they were reported */
	size_t ndone, taken, cap; /* cap: the addresses of the batch */
	int finished;
	/* The lines of the batch, by the helper thread ([0]) and by the
	 * looking-up thread once it is done ([1]), in address order. */
	struct fmt text[2];
	/* Per input position, where its lines are: written at random (in
	 * address order), so one cache line for several results. */
	struct line_at *at;
	const struct sym_result *out;
	int show_reason;
	size_t text_guess; /* bytes of TEXT[0] the helper reserves first */
	int formatted;	   /* the helper is done formatting */
	/* The lines copied out in input order, RING_SLOTS buffers of
	 * RING_SLOT bytes: the looking-up thread fills them in turn and the
	 * helper writes each one out. */
	char *ring; /* in the batch's block (batch_slots()) */
	size_t ring_len[RING_SLOTS];
	size_t filled, written; /* buffers handed over, written: counting up */
	int async;		/* stdout is a pipe or socket: the helper writes */
	int copied;		/* no more buffers come */
	/*
	 * Into a pipe, the lines are copied out to memory of the batch's own
	 * instead and spliced into the pipe (vmsplice(2)): the pipe then
	 * refers to their pages rather than copying them, so they are never
	 * written again -- freed after the batch, they live on until the
	 * reader has read them.  The looking-up thread copies out the lines
	 * of the first HALF results and splices them as it goes; the helper
	 * copies out the others meanwhile (HALF_TODO, then HALF_DONE) into
	 * PIECES, spliced once it is done.  Both take their room from ROOM
	 * first, memory a last batch no longer needs and already in (the
	 * resolver's decoded units, the batch's frames), then from FRESH, a
	 * mapping for the rest of a half.
	 */
	int pipe;      /* stdout is a pipe */
	int no_splice; /* vmsplice(2) was refused: write(2) from now on */
	struct sym_span room[ROOM_MAX];
	size_t nroom, room_next;
	void *fresh[2];
	struct sym_span pieces[ROOM_MAX + 1];
	size_t npieces;
	size_t half;
	int half_todo, half_done, half_err;
	int werr; /* a write failed: its negative errno */
};

struct symbolize_ctx {
	struct sym_resolver *res;
	const char *exe;
	uint64_t *addrs;
	size_t n;
	struct sym_result *out;
	void *slots; /* OUT and the stream's per-address arrays, in one block */
	size_t nslots;
	struct sym_batch batch;
	struct fmt fmt; /* output */
	struct stream st;
	int failed;
	int show_reason;
	int last; /* the batch looked up now is the last */
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

/* One more than the value of a hex digit, 0 for any other byte. */
static const uint8_t hex_value[256] = {
    ['0'] = 0 + 1,  ['1'] = 1 + 1,  ['2'] = 2 + 1,  ['3'] = 3 + 1,  ['4'] = 4 + 1,  ['5'] = 5 + 1,
    ['6'] = 6 + 1,  ['7'] = 7 + 1,  ['8'] = 8 + 1,  ['9'] = 9 + 1,  ['a'] = 10 + 1, ['b'] = 11 + 1,
    ['c'] = 12 + 1, ['d'] = 13 + 1, ['e'] = 14 + 1, ['f'] = 15 + 1, ['A'] = 10 + 1, ['B'] = 11 + 1,
    ['C'] = 12 + 1, ['D'] = 13 + 1, ['E'] = 14 + 1, ['F'] = 15 + 1,
};

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
	if (len - i > 16) {
		/* Junk within the first 17 characters, else too many digits. */
		for (size_t k = i; k <= i + 16; k++)
			if (!hex_value[(unsigned char)s[k]])
				return -EINVAL;
		return -ERANGE;
	}
	for (; i < len; i++, digits++) {
		unsigned d = hex_value[(unsigned char)s[i]];

		if (!d)
			return -EINVAL;
		v = v << 4 | (d - 1);
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
 * were a third of a large batch.  Buffers keep OUT_SLACK bytes spare past
 * their size so that short pieces are copied with a few wide stores that
 * may run past their end.
 */
#define OUT_BUF_SIZE (1u << 16)
#define PIPE_BUF_WANT (1 << 20)
#define OUT_SLACK 64

static void fmt_release(struct fmt *f)
{
	if (f->hold)
		sym_huge_free(f->buf);
	else
		free(f->buf);
	free(f->tab);
	free(f->pool);
	memset(f, 0, sizeof(*f));
}

/* Writes P[0, LEN) to the standard output: 0 or a negative errno. */
static int write_all(const char *p, size_t len)
{
	while (len) {
		ssize_t w = write(STDOUT_FILENO, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static int fmt_drain(struct fmt *f)
{
	if (!f->err && f->len)
		f->err = write_all(f->buf, f->len);
	f->len = 0;
	return f->err;
}

/* Room for NEED more bytes (plus the slack); 0 or -ENOMEM. */
static int fmt_room(struct fmt *f, size_t need)
{
	size_t cap;
	char *nb;

	if (need <= f->cap - f->len)
		return 0;
	if (f->buf && !f->hold) {
		fmt_drain(f);
		if (need <= f->cap)
			return 0;
	}
	cap = f->cap ? f->cap : OUT_BUF_SIZE;
	while (need > cap - f->len)
		cap *= 2;
	nb = f->hold ? sym_huge_realloc(f->buf, cap + OUT_SLACK) : realloc(f->buf, cap + OUT_SLACK);
	if (!nb)
		return -ENOMEM;
	f->buf = nb;
	f->cap = cap;
	return 0;
}

static void fmt_put(struct fmt *f, const char *s, size_t len)
{
	if (fmt_room(f, len)) {
		f->err = -ENOMEM;
		return;
	}
	memcpy(f->buf + f->len, s, len);
	f->len += len;
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
	unsigned n = v < 10 ? 1 : v < 100 ? 2 : v < 1000 ? 3 : v < 10000 ? 4 : 5;
	char *end, *q;

	for (uint32_t t = v / 100000; t; t /= 10)
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

static size_t mid_hash(const char *func, const char *file, size_t mask)
{
	uint64_t h = (uint64_t)(uintptr_t)func * 0x9e3779b97f4a7c15ull ^
		     (uint64_t)(uintptr_t)file * 0xc2b2ae3d27d4eb4full;

	return (size_t)(h >> 29) & mask;
}

static const struct mid_slot *mid_add(struct fmt *f, const char *func, const char *file);

/* The slot of (FUNC, FILE), made on first use; NULL when out of memory
 * or when the piece is too long for the wide copies. */
static inline const struct mid_slot *mid_get(struct fmt *f, const char *func, const char *file)
{
	size_t mask = f->tab_cap - 1;

	if (f->tab_cap) {
		for (size_t h = mid_hash(func, file, mask);; h = (h + 1) & mask) {
			const struct mid_slot *sl = &f->tab[h];

			if (!sl->used)
				break;
			if (sl->func == func && sl->file == file)
				return sl;
		}
	}
	return mid_add(f, func, file);
}

static const struct mid_slot *mid_add(struct fmt *f, const char *func, const char *file)
{
	size_t mask = f->tab_cap - 1, h, flen, filelen, need;
	struct mid_slot *sl;
	char *p;

	if (f->tab_used * 2 >= f->tab_cap) {
		size_t ncap = f->tab_cap ? f->tab_cap * 2 : 4096;
		/* Zeroed by writing, not calloc(): a table this large is
		 * fresh pages, and calloc() leaves them to the first access.
		 * The probes read first, which maps the shared zero page, and
		 * the write after it is a copy-on-write fault whose TLB flush
		 * interrupts every CPU running this process's other threads
		 * (0.5 ms of a 20,000-address call on clang's binary, here). */
		struct mid_slot *n =
		    ncap <= SIZE_MAX / sizeof(*n) ? malloc(ncap * sizeof(*n)) : NULL;

		if (!n)
			return NULL;
		/* Keeps the compiler from making the two one calloc(). */
		__asm__ volatile("" : : "r"(n) : "memory");
		memset(n, 0, ncap * sizeof(*n));
		for (size_t i = 0; i < f->tab_cap; i++) {
			if (!f->tab[i].used)
				continue;
			h = mid_hash(f->tab[i].func, f->tab[i].file, ncap - 1);
			while (n[h].used)
				h = (h + 1) & (ncap - 1);
			n[h] = f->tab[i];
		}
		free(f->tab);
		f->tab = n;
		f->tab_cap = ncap;
		mask = ncap - 1;
	}
	flen = strlen(func ? func : "??");
	filelen = strlen(file ? file : "??");
	need = 1 + flen + 1 + filelen + 1;
	if (need > 4096)
		return NULL;
	if (f->pool_len + need + OUT_SLACK > f->pool_cap) {
		size_t ncap = f->pool_cap ? f->pool_cap : 65536;
		char *np;

		while (f->pool_len + need + OUT_SLACK > ncap)
			ncap *= 2;
		np = realloc(f->pool, ncap);
		if (!np)
			return NULL;
		f->pool = np;
		f->pool_cap = ncap;
	}
	p = f->pool + f->pool_len;
	*p++ = '\t';
	memcpy(p, func ? func : "??", flen);
	p += flen;
	*p++ = '\t';
	memcpy(p, file ? file : "??", filelen);
	p += filelen;
	*p = ':';
	for (h = mid_hash(func, file, mask); f->tab[h].used; h = (h + 1) & mask)
		;
	sl = &f->tab[h];
	*sl = (struct mid_slot){func, file, (uint32_t)f->pool_len, (uint32_t)need, 1};
	f->pool_len += need;
	f->tab_used++;
	return sl;
}

static void put_frame_slow(struct fmt *f, const char *prefix, size_t plen, uint32_t depth,
			   const char *func, const char *file, uint32_t line, const char *reason);

/* One output line, built in place in the buffer. */
static inline void put_frame(struct fmt *f, const char *prefix, size_t plen, uint32_t depth,
			     const char *func, const char *file, uint32_t line, const char *reason)
{
	const struct mid_slot *mid;
	char *p;

	if (!file)
		line = 0;
	mid = reason ? NULL : mid_get(f, func, file);
	if (!mid) {
		put_frame_slow(f, prefix, plen, depth, func, file, line, reason);
		return;
	}
	/* The common line: prefix, depth, cached middle, line. */
	if (plen + 10 + mid->len + 12 > f->cap - f->len && fmt_room(f, plen + 10 + mid->len + 12)) {
		f->err = -ENOMEM;
		return;
	}
	p = copy_wide(f->buf + f->len, prefix, plen);
	p = put_u32(p, depth);
	p = copy_wide(p, f->pool + mid->off, mid->len);
	p = put_u32(p, line);
	*p++ = '\n';
	f->len = (size_t)(p - f->buf);
}

/* Any line: with a reason, or with names too long for the cache. */
static void put_frame_slow(struct fmt *f, const char *prefix, size_t plen, uint32_t depth,
			   const char *func, const char *file, uint32_t line, const char *reason)
{
	char num[16];

	func = func ? func : "??";
	file = file ? file : "??";
	fmt_put(f, prefix, plen);
	fmt_put(f, num, (size_t)(put_u32(num, depth) - num));
	fmt_put(f, "\t", 1);
	fmt_put(f, func, strlen(func));
	fmt_put(f, "\t", 1);
	fmt_put(f, file, strlen(file));
	num[0] = ':';
	fmt_put(f, num, (size_t)(put_u32(num + 1, line) - num));
	if (reason) {
		fmt_put(f, "\t", 1);
		fmt_put(f, reason, strlen(reason));
	}
	fmt_put(f, "\n", 1);
}

/* "0x<hex>\t" into BUF (at least 32 bytes, the tail as slack for the
 * wide copies); returns its length. */
static size_t addr_prefix(char *buf, uint64_t addr)
{
	/* Written in place, right to left, once the digits are counted:
	 * no copy (memcpy(3) of a variable length was a call a result). */
	size_t digits = addr ? (size_t)(67 - __builtin_clzll(addr)) / 4 : 1;
	char *q = buf + 2 + digits;

	buf[0] = '0';
	buf[1] = 'x';
	*q = '\t';
	do {
		*--q = "0123456789abcdef"[addr & 15];
		addr >>= 4;
	} while (addr);
	return 3 + digits;
}

/*
 * The lines of a streamed batch are kept compact until they are copied
 * out: the "\tFUNCTION\tFILE:" piece, most of a line's bytes, is named by
 * its place in the formatting thread's pool rather than copied.  A result
 * is its "0x<hex>\t" prefix (a length byte, then the bytes), then one
 * record per line:
 *   LINE_MID  u32 pool offset, u16 length, u8 depth digits, u8 line
 *             digits, the digits of both: PREFIX DEPTH MIDDLE LINE '\n'
 *   LINE_RAW  u32 length, the whole line's bytes (with a reason, or with
 *             names too long for the pool)
 * A result of the clang binary of bench/ takes 75 bytes so, 350 written
 * out: 1.4 MB for 20k addresses rather than 7 MB, three fewer huge pages
 * to fault in and far less to write and read back.
 */
enum { LINE_MID, LINE_RAW };
#define MID_REC 9 /* tag, offset, length, two digit counts */

static inline void put_frame_compact(struct fmt *f, const char *prefix, size_t plen, uint32_t depth,
				     const char *func, const char *file, uint32_t line,
				     const char *reason)
{
	const struct mid_slot *mid;
	char *p, *rec;

	if (!file)
		line = 0;
	mid = reason ? NULL : mid_get(f, func, file);
	if (!mid) {
		const char hdr[5] = {LINE_RAW};
		size_t at = f->len;
		uint32_t n;

		fmt_put(f, hdr, sizeof(hdr));
		put_frame_slow(f, prefix, plen, depth, func, file, line, reason);
		if (f->err)
			return;
		n = (uint32_t)(f->len - at - 5);
		memcpy(f->buf + at + 1, &n, sizeof(n));
		f->out_len += n;
		return;
	}
	if (MID_REC + 20 > f->cap - f->len && fmt_room(f, MID_REC + 20)) {
		f->err = -ENOMEM;
		return;
	}
	rec = f->buf + f->len;
	rec[0] = LINE_MID;
	memcpy(rec + 1, &mid->off, 4);
	memcpy(rec + 5, &(uint16_t){(uint16_t)mid->len}, 2);
	p = put_u32(rec + MID_REC, depth);
	rec[7] = (char)(p - (rec + MID_REC));
	rec[8] = (char)(put_u32(p, line) - p);
	f->len += MID_REC + (size_t)(uint8_t)rec[7] + (uint8_t)rec[8];
	f->out_len += plen + (size_t)(uint8_t)rec[7] + mid->len + (uint8_t)rec[8] + 1;
}

/* The lines of result R into F (compact when F is held). */
static void format_one(struct fmt *f, const struct sym_result *r, int show_reason)
{
	const char *why = show_reason ? sym_reason__str(r->reason) : NULL;
	char prefix[32];
	size_t plen = addr_prefix(prefix, r->addr);

	if (!f->hold) {
		if (r->nframes == 0)
			put_frame(f, prefix, plen, 0, NULL, NULL, 0, why);
		for (uint32_t d = 0; d < r->nframes; d++) {
			const struct sym_frame *fr = &r->frames[d];

			put_frame(f, prefix, plen, d, fr->func, fr->file, fr->line, why);
		}
		return;
	}
	if (fmt_room(f, 1 + plen)) {
		f->err = -ENOMEM;
		return;
	}
	f->buf[f->len++] = (char)plen;
	memcpy(f->buf + f->len, prefix, 20); /* plen at most 19; the rest is slack */
	f->len += plen;
	if (r->nframes == 0)
		put_frame_compact(f, prefix, plen, 0, NULL, NULL, 0, why);
	for (uint32_t d = 0; d < r->nframes; d++) {
		const struct sym_frame *fr = &r->frames[d];

		put_frame_compact(f, prefix, plen, d, fr->func, fr->file, fr->line, why);
	}
}

/* Results waiting before the helper is woken: it formats faster than they
 * come, and woken for each 256 it slept and woke 78 times a run of 20k
 * addresses (93 voluntary context switches a run in all; 37-40 so, and
 * about 1 ms less CPU in paired runs on the clang binary of bench/).  The
 * last ones are shared out when the lookup is finished. */
#define STREAM_WAKE 2048

/* Called by the resolver, on the looking-up thread, with final results. */
static void stream_done(void *ctx, const size_t *idx, size_t count)
{
	struct stream *s = ctx;

	pthread_mutex_lock(&s->mu);
	if (count > s->cap - s->ndone)
		count = s->cap - s->ndone; /* each result comes once: never */
	memcpy(s->done + s->ndone, idx, count * sizeof(*idx));
	s->ndone += count;
	if (s->ndone - s->taken >= STREAM_WAKE)
		pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

#define STREAM_CHUNK 256

/* Formats reported results into TEXT[W], a chunk at a time, until the
 * lookup is finished and none is left. */
static void stream_format(struct stream *s, uint8_t w)
{
	struct fmt *text = &s->text[w];

	for (;;) {
		size_t from, to;

		pthread_mutex_lock(&s->mu);
		while (s->taken == s->ndone && !s->finished)
			pthread_cond_wait(&s->cv, &s->mu);
		from = s->taken;
		to = s->ndone - from > STREAM_CHUNK ? from + STREAM_CHUNK : s->ndone;
		s->taken = to;
		pthread_mutex_unlock(&s->mu);
		if (from == to)
			return;
		for (size_t k = from; k < to; k++) {
			size_t i = s->done[k], before = text->out_len, off = text->len;

			/* The results come in address order, so they and their
			 * places in AT lie at random: fetched ahead (without,
			 * formatting fell behind the lookups, and a call took
			 * 6% longer, median of 60 paired runs). */
			if (k + 8 < to) {
				__builtin_prefetch(&s->out[s->done[k + 8]]);
				__builtin_prefetch(&s->at[s->done[k + 8]], 1);
			}
			format_one(text, &s->out[i], s->show_reason);
			if (text->out_len - before > UINT32_MAX)
				text->err = -EOVERFLOW;
			s->at[i] =
			    (struct line_at){off, text->len, (uint32_t)(text->out_len - before), w};
		}
	}
}

/*
 * Writes P[0, LEN) to the standard output, a pipe, by splicing its pages
 * in (the caller never writes them again); where the kernel refuses
 * (seccomp, an old kernel), by write(2), from then on.  0 or a negative
 * errno.
 */
static int splice_all(struct stream *s, const char *p, size_t len)
{
	while (!s->no_splice && len) {
		struct iovec iov = {(void *)p, len};
		ssize_t w = vmsplice(STDOUT_FILENO, &iov, 1, 0);

		if (w > 0) {
			p += w;
			len -= (size_t)w;
		} else if (w < 0 && errno == EINTR) {
			continue;
		} else if (w < 0 && (errno == EPIPE || errno == EAGAIN)) {
			return -errno;
		} else {
			s->no_splice = 1;
		}
	}
	return write_all(p, len);
}

/* Expands the LINE_MID record REC of a result whose prefix is PREFIX[0,
 * PLEN) at Q, which has room for the line and 32 bytes more; returns the
 * end of the line, and the record's length in *RLEN.  The short pieces (a
 * prefix of at most 19 bytes, digits of at most 10) are fixed-size copies,
 * without loops: the sources have their slack. */
static inline char *expand_mid(char *q, const char *prefix, size_t plen, const char *rec,
			       const char *pool, size_t *rlen)
{
	uint32_t at;
	uint16_t mlen;
	size_t dl = (uint8_t)rec[7], ll = (uint8_t)rec[8];

	memcpy(&at, rec + 1, 4);
	memcpy(&mlen, rec + 5, 2);
	memcpy(q, prefix, 32);
	q += plen;
	memcpy(q, rec + MID_REC, 16);
	q = copy_wide(q + dl, pool + at, mlen);
	memcpy(q, rec + MID_REC + dl, 16);
	q += ll;
	*q++ = '\n';
	*rlen = MID_REC + dl + ll;
	return q;
}

/* The lines of result J lie in address order and are read in input order:
 * a miss each unless fetched a few results ahead. */
static inline void gather_prefetch(const struct stream *s, size_t j)
{
	for (size_t k = s->at[j].off; k < s->at[j].end; k += 64)
		__builtin_prefetch(s->text[s->at[j].who].buf + k);
}

/* Expands the compact lines of result I at Q, which has room for them and
 * OUT_SLACK bytes more; returns their end. */
static char *expand_result(const struct stream *s, size_t i, char *q)
{
	const struct fmt *t = &s->text[s->at[i].who];
	const char *p = t->buf + s->at[i].off, *e = t->buf + s->at[i].end, *prefix = p + 1;
	size_t plen = (uint8_t)*p, rlen;

	for (p += 1 + plen; p < e; p += rlen) {
		uint32_t n;

		if (*p != LINE_RAW) {
			q = expand_mid(q, prefix, plen, p, t->pool, &rlen);
			continue;
		}
		memcpy(&n, p + 1, 4);
		memcpy(q, p + 5, n);
		q += n;
		rlen = 5 + (size_t)n;
	}
	return q;
}

/* Room for the next NEED bytes at least of the lines of half W, which
 * has REST bytes left to copy out: the next span of ROOM large enough,
 * else a mapping for the rest of the half (so that it takes no other).
 * *CAP is set to its size.  NULL when out of memory. */
static char *room_take(struct stream *s, int w, size_t need, size_t rest, size_t *cap)
{
	char *p = NULL;

	pthread_mutex_lock(&s->mu);
	while (!p && s->room_next < s->nroom) {
		const struct sym_span *r = &s->room[s->room_next++];

		if (r->len >= need) {
			p = r->p;
			*cap = r->len;
		}
	}
	pthread_mutex_unlock(&s->mu);
	if (!p && rest <= SIZE_MAX - OUT_SLACK) {
		*cap = rest + OUT_SLACK;
		p = s->fresh[w] = sym_huge_map(*cap);
	}
	return p;
}

/* The lines [FROM, Q) are done: spliced now (SPLICE) or kept as the next
 * of the helper's PIECES. */
static int piece_end(struct stream *s, int splice, char *from, char *q)
{
	if (q == from)
		return 0;
	if (splice)
		return splice_all(s, from, (size_t)(q - from));
	s->pieces[s->npieces++] = (struct sym_span){from, (size_t)(q - from)};
	return 0;
}

/*
 * Copies the lines of results [LO, HI), half W of a spliced batch, out in
 * input order, into room taken as needed: a result's lines never straddle
 * two rooms.  The looking-up thread (SPLICE) splices every RING_SLOT bytes
 * and at the end of each room; the helper keeps the pieces.  Returns 0 or
 * a negative errno.
 */
static int copy_out(struct stream *s, int w, size_t lo, size_t hi, int splice)
{
	char *base = NULL, *q = NULL, *from = NULL;
	size_t rest = 0, cap = 0;
	int err = 0;

	for (size_t i = lo; i < hi; i++)
		rest += s->at[i].olen;
	for (size_t i = lo; i < hi && !err; i++) {
		if (i + GATHER_AHEAD < s->cap)
			gather_prefetch(s, i + GATHER_AHEAD);
		if (!base || (size_t)(base + cap - q) < s->at[i].olen + OUT_SLACK) {
			err = piece_end(s, splice, from, q);
			base = from = q = room_take(s, w, s->at[i].olen + OUT_SLACK, rest, &cap);
			if (!base)
				return err ? err : -ENOMEM;
		}
		q = expand_result(s, i, q);
		rest -= s->at[i].olen;
		if (splice && (size_t)(q - from) >= RING_SLOT) {
			err = splice_all(s, from, (size_t)(q - from));
			from = q;
		}
	}
	return err ? err : piece_end(s, splice, from, q);
}

/* Writes the buffers of the ring as they are handed over, until no more
 * come; or copies out the helper's share of a spliced batch when asked. */
static void ring_write(struct stream *s)
{
	pthread_mutex_lock(&s->mu);
	for (;;) {
		size_t k, len;
		int err;

		while (s->written == s->filled && !s->copied && !s->half_todo)
			pthread_cond_wait(&s->cv, &s->mu);
		if (s->half_todo) {
			s->half_todo = 0;
			pthread_mutex_unlock(&s->mu);
			s->half_err = copy_out(s, 1, s->half, s->cap, 0);
			pthread_mutex_lock(&s->mu);
			s->half_done = 1;
			pthread_cond_broadcast(&s->cv);
			continue;
		}
		if (s->written == s->filled)
			break;
		k = s->written % RING_SLOTS;
		len = s->ring_len[k];
		pthread_mutex_unlock(&s->mu);
		err = s->werr ? 0 : write_all(s->ring + k * RING_SLOT, len);
		pthread_mutex_lock(&s->mu);
		if (err)
			s->werr = err;
		s->written++;
		pthread_cond_broadcast(&s->cv);
	}
	pthread_mutex_unlock(&s->mu);
}

static void *stream_thread(void *arg)
{
	struct stream *s = arg;

	/* Address space for the helper's likely share up front: growing it
	 * later moves pages under the other thread, and each move interrupts
	 * that thread to flush its TLB.  Reserved here, not by the looking-up
	 * thread: making the mapping faults its first huge page in (0.25 ms),
	 * which the looking-up thread, about to sort and walk, cannot spare.
	 * (That thread's own share is small or none: its first page would be
	 * a fault for nothing.) */
	if (s->text_guess)
		fmt_room(&s->text[0], s->text_guess);
	stream_format(s, 0);
	pthread_mutex_lock(&s->mu);
	s->formatted = 1;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	if (s->async)
		ring_write(s);
	return NULL;
}

/* Hands the current ring buffer (LEN bytes) to the writer and waits for
 * the next one to be free; or, into a file or device, where a write is a
 * copy that no one else waits on, writes it.  Returns 0 or the writer's
 * error. */
static int ring_hand(struct stream *s, size_t len)
{
	int err;

	if (!s->async)
		return write_all(s->ring + s->filled++ % RING_SLOTS * RING_SLOT, len);
	pthread_mutex_lock(&s->mu);
	s->ring_len[s->filled % RING_SLOTS] = len;
	s->filled++;
	pthread_cond_broadcast(&s->cv);
	while (s->filled - s->written == RING_SLOTS && !s->werr)
		pthread_cond_wait(&s->cv, &s->mu);
	err = s->werr;
	pthread_mutex_unlock(&s->mu);
	return err;
}

/* The ring buffer being filled: BUF, USED bytes of it. */
struct ring_pos {
	char *buf;
	size_t used;
};

/* Hands the ring buffer being filled over and goes on in the next one.
 * Returns 0 or the writer's error. */
static int ring_next(struct stream *s, struct ring_pos *rp)
{
	int err = ring_hand(s, rp->used);

	rp->buf = s->ring + s->filled % RING_SLOTS * RING_SLOT;
	rp->used = 0;
	return err;
}

/* Room for NEED more bytes (at most RING_SLOT) in the ring buffer, plus 16
 * for the wide copies, going on in the next buffer when it has not. */
static int ring_room(struct stream *s, struct ring_pos *rp, size_t need)
{
	return need + 16 <= RING_SLOT - rp->used ? 0 : ring_next(s, rp);
}

/* Copies LEN bytes from P into the ring, across buffers if need be. */
static int ring_put(struct stream *s, struct ring_pos *rp, const char *p, size_t len)
{
	while (len) {
		size_t m = len < RING_SLOT - rp->used ? len : RING_SLOT - rp->used;
		int err;

		memcpy(rp->buf + rp->used, p, m);
		rp->used += m;
		p += m;
		len -= m;
		if (rp->used == RING_SLOT && (err = ring_next(s, rp)))
			return err;
	}
	return 0;
}

/* Expands the compact lines of one result, TEXT[OFF, END) with the pool
 * POOL, into the ring. */
static int ring_expand(struct stream *s, struct ring_pos *rp, const char *text, size_t off,
		       size_t end, const char *pool)
{
	const char *p = text + off, *e = text + end, *prefix = p + 1;
	size_t plen = (uint8_t)*p;
	int err;

	for (p += 1 + plen; p < e;) {
		uint32_t n;
		uint16_t mlen;
		size_t rlen;

		if (*p == LINE_RAW) {
			memcpy(&n, p + 1, 4);
			if ((err = ring_put(s, rp, p + 5, n)))
				return err;
			p += 5 + n;
			continue;
		}
		memcpy(&mlen, p + 5, 2);
		if ((err = ring_room(s, rp, plen + (uint8_t)p[7] + mlen + (uint8_t)p[8] + 1 + 16)))
			return err;
		rp->used = (size_t)(expand_mid(rp->buf + rp->used, prefix, plen, p, pool, &rlen) -
				    rp->buf);
		p += rlen;
	}
	return 0;
}

/*
 * Copies the lines of the N results out in input order into the ring,
 * whose buffers the helper writes meanwhile (into a socket, writing costs
 * more than the copies, and the two overlap), or this thread in turn
 * (into a file or device).  Returns 0 or the writer's error.
 */
static int ring_gather(struct stream *s, size_t n)
{
	struct ring_pos rp = {s->ring, 0};
	int err;

	for (size_t i = 0; i < n; i++) {
		const struct fmt *t = &s->text[s->at[i].who];

		if (i + GATHER_AHEAD < n)
			gather_prefetch(s, i + GATHER_AHEAD);
		if ((err = ring_expand(s, &rp, t->buf, s->at[i].off, s->at[i].end, t->pool)))
			return err;
	}
	return rp.used ? ring_hand(s, rp.used) : 0;
}

/*
 * Copies the lines of the N results out in input order into the pipe by
 * splicing: the first half here, spliced piece by piece as it goes, the
 * second half by the helper meanwhile, spliced once done.  Into a pipe,
 * write(2) copies every page and its reader frees each one: 7 MB of lines
 * took 2.7-3.0 ms to reach a reader so, 0.7-0.8 spliced; and the copying
 * out, on two threads, no longer waits for the writing.  Returns 0 or a
 * negative errno.
 */
static int lines_gather(struct stream *s, size_t n)
{
	int err;

	pthread_mutex_lock(&s->mu);
	s->half = n / 2;
	s->npieces = 0;
	s->half_err = 0;
	s->half_todo = 1;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	err = copy_out(s, 0, 0, s->half, 1);
	/* The helper writes in its room until it is done, error or not. */
	pthread_mutex_lock(&s->mu);
	while (!s->half_done)
		pthread_cond_wait(&s->cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
	if (!err)
		err = s->half_err;
	for (size_t k = 0; k < s->npieces && !err; k++)
		err = splice_all(s, s->pieces[k].p, s->pieces[k].len);
	return err;
}

/*
 * Room for the lines of the last batch in memory it no longer needs: the
 * resolver's decoded units and the batch's frames, dropped (the results'
 * frames are gone after) -- some 10 MB already faulted in on the clang
 * binary of bench/, where its 7 MB of lines took four fresh huge pages.
 */
static void room_gather(struct symbolize_ctx *c)
{
	struct stream *s = &c->st;

	s->nroom = s->room_next = 0;
	if (!c->last)
		return;
	sym_batch_take(&c->batch, &s->room[0]);
	s->nroom = s->room[0].p != NULL;
	s->nroom += sym_resolver__drop_units(c->res, s->room + s->nroom, ROOM_MAX - s->nroom);
}

/*
 * Room for the results of N addresses, the stream's arrays about them and
 * the ring of a streamed batch, carved from one block sized to the batch:
 * the 2 MB that 20k addresses need then come as one huge page rather than
 * some 500 fresh 4 KiB pages, each a fault.  The ring goes last: a batch
 * spliced into a pipe does not use it, and for 20k addresses it is then
 * all that lies in the block's second huge page, never faulted in.
 * Nothing in it outlives a batch.
 */
static int batch_slots(struct symbolize_ctx *c, size_t n)
{
	const size_t per = sizeof(*c->out) + sizeof(size_t) + sizeof(struct line_at);
	const size_t ring = RING_SLOTS * RING_SLOT + 4096;
	char *p;

	if (n > (SIZE_MAX - ring) / per)
		return -ENOMEM;
	if (n > c->nslots) {
		sym_huge_free(c->slots);
		c->nslots = 0;
		c->slots = sym_huge_realloc(NULL, n * per + ring);
		if (!c->slots)
			return -ENOMEM;
		c->nslots = n;
	}
	p = c->slots;
	c->out = (struct sym_result *)p;
	p += n * sizeof(*c->out);
	c->st.done = (size_t *)p;
	p += n * sizeof(size_t);
	c->st.at = (struct line_at *)p;
	p += n * sizeof(struct line_at);
	c->st.ring = (char *)(((uintptr_t)p + 4095) & ~(uintptr_t)4095);
	c->st.cap = n;
	c->st.out = c->out;
	return 0;
}

/* Batches from this size on are formatted while they are looked up. */
#define STREAM_MIN 1024
/* Bytes of compact lines per address reserved (not touched) for a
 * streamed batch: about 75 on the large clang binary of bench/, more with
 * reasons or long names (kept whole). */
#define TEXT_GUESS 512

/*
 * Looks up the pending addresses and puts their lines into the output
 * buffer, in input order.  Returns 0 or a negative errno (said on stderr).
 */
static int lookup_and_format(struct symbolize_ctx *c)
{
	struct stream *s = &c->st;
	struct sym_progress pg = {stream_done, s, c->last};
	pthread_t tid;
	int threaded = 0, err;

	err = batch_slots(c, c->n);
	if (err) {
		fprintf(stderr, "bpftape symbolize: out of memory\n");
		return err;
	}
	if (c->n >= STREAM_MIN && !c->fmt.err) {
		s->ndone = s->taken = 0;
		s->finished = s->formatted = s->copied = s->werr = 0;
		s->filled = s->written = 0;
		for (int w = 0; w < 2; w++) {
			s->text[w].len = 0;
			s->text[w].out_len = 0;
			s->text[w].err = 0;
		}
		s->text_guess = c->n <= SIZE_MAX / TEXT_GUESS ? c->n * TEXT_GUESS : 0;
		s->half_todo = s->half_done = 0;
		threaded = !pthread_create(&tid, NULL, stream_thread, s);
	}
	if (threaded) {
		int ok;

		err = sym_resolver__lookup_progress(c->res, c->exe, NULL, 0, c->addrs, c->n, c->out,
						    &c->batch, &pg);
		pthread_mutex_lock(&s->mu);
		s->finished = 1;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		/* Whatever is left to format is shared with the helper. */
		stream_format(s, 1);
		pthread_mutex_lock(&s->mu);
		while (!s->formatted)
			pthread_cond_wait(&s->cv, &s->mu);
		pthread_mutex_unlock(&s->mu);
		ok = !err && !s->text[0].err && !s->text[1].err && s->ndone == c->n;
		/* What an earlier batch left in the output buffer goes
		 * first. */
		if (ok && !fmt_drain(&c->fmt)) {
			if (s->pipe && !s->no_splice) {
				room_gather(c);
				c->fmt.err = lines_gather(s, c->n);
			} else {
				c->fmt.err = ring_gather(s, c->n);
			}
		}
		pthread_mutex_lock(&s->mu);
		s->copied = 1;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(tid, NULL);
		/* The pipe holds its own references to the pages spliced.  The
		 * last batch's are left to the exit, as everything else. */
		if (!c->last || SYM_ASAN) {
			for (size_t k = 0; k < s->nroom; k++)
				sym_huge_free(s->room[k].p);
			sym_huge_free(s->fresh[0]);
			sym_huge_free(s->fresh[1]);
			s->nroom = 0;
			s->fresh[0] = s->fresh[1] = NULL;
		}
		if (s->werr)
			c->fmt.err = s->werr;
	} else {
		err = sym_resolver__lookup_batch(c->res, c->exe, NULL, 0, c->addrs, c->n, c->out,
						 &c->batch);
	}
	if (err) {
		fprintf(stderr, "bpftape symbolize: lookup failed: %s\n", strerror(-err));
		return err;
	}
	/* The binary itself is unusable: say why once, fail at the end. */
	for (size_t i = 0; i < c->n && !c->failed; i++)
		if (c->out[i].reason == SYM_NO_FILE || c->out[i].reason == SYM_BAD_ELF) {
			fprintf(stderr, "bpftape symbolize: %s\n", sym_resolver__errmsg(c->res));
			c->failed = 1;
		}
	if (!threaded) {
		for (size_t i = 0; i < c->n && !c->fmt.err; i++)
			format_one(&c->fmt, &c->out[i], c->show_reason);
	} else if (s->text[0].err || s->text[1].err) {
		c->fmt.err = s->text[0].err ? s->text[0].err : s->text[1].err;
	} else if (s->ndone != c->n) {
		fprintf(stderr, "bpftape symbolize: %zu of %zu results came back\n", s->ndone,
			c->n);
		return -EIO;
	}
	return 0;
}

/*
 * Looks up the pending addresses and writes their lines.  With WAIT,
 * everything is written and flushed before returning: a coprocess sees
 * its answer.
 */
static int flush_batch(struct symbolize_ctx *c, int wait)
{
	int err = c->n ? lookup_and_format(c) : 0;

	c->n = 0;
	if (err)
		return err;
	if (c->fmt.err == -ENOMEM) {
		fprintf(stderr, "bpftape symbolize: out of memory\n");
		return -ENOMEM;
	}
	if (wait)
		fmt_drain(&c->fmt);
	if (c->fmt.err) {
		fprintf(stderr, "bpftape symbolize: cannot write the output: %s\n",
			strerror(-c->fmt.err));
		return c->fmt.err;
	}
	return 0;
}

static int add_addr(struct symbolize_ctx *c, uint64_t addr)
{
	c->addrs[c->n++] = addr;
	if (c->n == SYMBOLIZE_BATCH)
		return flush_batch(c, 0);
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
		flush_batch(c, 1);
		return 1;
	}
	if (len && add_addr(c, addr))
		return 1;
	return 0;
}

/* "0x" and 1-16 hex digits, nothing else: 0 and *OUT, or -1 for any other
 * line (parse_addr() then says what is wrong with it, or accepts it). */
static inline int fast_addr(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;

	if (len < 3 || len > 18 || s[0] != '0' || s[1] != 'x')
		return -1;
	for (size_t i = 2; i < len; i++) {
		unsigned d = hex_value[(unsigned char)s[i]];

		if (!d)
			return -1;
		v = v << 4 | (d - 1);
	}
	*out = v;
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
	uint64_t addr;

	for (;;) {
		ssize_t got;
		size_t i = 0;

		/* Answered as soon as stdin pauses, for a caller that waits
		 * for the answers before it writes more; but not while a
		 * line is cut: that writer is in the middle of a write (into
		 * a pipe not grown yet, 64 KiB at a time), and a batch split
		 * there costs a second walk of the units it needs. */
		if (c->n && !llen && !overlong && !stdin_ready()) {
			err = flush_batch(c, 1);
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
			} else if (!fast_addr(buf + i, seg, &addr)) {
				/* The common line, "0x" and hex digits, inline. */
				++lineno;
				if (add_addr(c, addr))
					return 1;
			} else if (stdin_line(c, buf + i, seg, seg > sizeof(line), ++lineno)) {
				return 1;
			}
			i += seg + 1;
		}
	}
	/* A last line without a newline. */
	if ((llen || overlong) && stdin_line(c, line, llen, overlong, ++lineno))
		return 1;
	c->last = 1;
	return flush_batch(c, 1) ? 1 : 0;
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
	struct stat st;
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
	/* A pipe of 64 KiB took 90 round trips with its reader for the 5 MB
	 * of lines of 20k addresses; larger pipes take fewer (a failure --
	 * not a pipe, or over the system's limit -- changes nothing). */
	fcntl(STDOUT_FILENO, F_SETPIPE_SZ, PIPE_BUF_WANT);
	fcntl(STDIN_FILENO, F_SETPIPE_SZ, PIPE_BUF_WANT);
	if (!fstat(STDOUT_FILENO, &st)) {
		c.st.async = S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode);
		c.st.pipe = S_ISFIFO(st.st_mode);
	}
	err = sym_resolver__new(&c.res, &opts);
	c.addrs = malloc(SYMBOLIZE_BATCH * sizeof(*c.addrs));
	c.st.text[0].hold = c.st.text[1].hold = 1;
	c.st.show_reason = c.show_reason;
	pthread_mutex_init(&c.st.mu, NULL);
	pthread_cond_init(&c.st.cv, NULL);
	if (err || !c.addrs) {
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
		c.last = 1;
		if (!rc && flush_batch(&c, 1))
			rc = 1;
	} else {
		rc = read_stdin(&c);
	}
	if (c.failed)
		rc = 1;
	if (!SYM_ASAN) {
		/* Everything is written: the process ends right after, and
		 * unmapping it all here would only do the kernel's work
		 * twice (0.6 ms of a 20 ms call on the clang binary of
		 * bench/).  Sanitizer builds free all for the leak check. */
		if (fflush(stdout) || ferror(stdout))
			rc = 1;
		return rc;
	}
out:
	sym_resolver__free(c.res);
	sym_batch_release(&c.batch);
	fmt_release(&c.fmt);
	fmt_release(&c.st.text[0]);
	fmt_release(&c.st.text[1]);
	pthread_mutex_destroy(&c.st.mu);
	pthread_cond_destroy(&c.st.cv);
	free(c.addrs);
	sym_huge_free(c.slots);
	free(dirs);
	return rc;
}
