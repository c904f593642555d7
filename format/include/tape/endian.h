/* SPDX-License-Identifier: MIT */
/*
 * Little-endian put/get helpers and a bounds-checked read cursor.  Every
 * on-disk integer goes through these; no struct is ever written raw.
 */
#ifndef TAPE_ENDIAN_H
#define TAPE_ENDIAN_H

#include <stdint.h>
#include <stddef.h>
#include <string.h>

static inline void tape_put_u16(void *p, uint16_t v)
{
	uint8_t *b = p;
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
}

static inline void tape_put_u32(void *p, uint32_t v)
{
	uint8_t *b = p;
	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
	b[2] = (uint8_t)(v >> 16);
	b[3] = (uint8_t)(v >> 24);
}

static inline void tape_put_u64(void *p, uint64_t v)
{
	tape_put_u32(p, (uint32_t)v);
	tape_put_u32((uint8_t *)p + 4, (uint32_t)(v >> 32));
}

static inline uint16_t tape_get_u16(const void *p)
{
	const uint8_t *b = p;
	return (uint16_t)(b[0] | b[1] << 8);
}

static inline uint32_t tape_get_u32(const void *p)
{
	const uint8_t *b = p;
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static inline uint64_t tape_get_u64(const void *p)
{
	return (uint64_t)tape_get_u32(p) | (uint64_t)tape_get_u32((const uint8_t *)p + 4) << 32;
}

/*
 * A read cursor over a byte range.  Reads past the end set ->err and return
 * zero, so a decoder checks once at the end instead of after every field.
 */
struct tape_cursor {
	const uint8_t *p;
	const uint8_t *end;
	int err; /* 0, or -EBADMSG after an out-of-bounds read */
};

static inline void tape_cursor_init(struct tape_cursor *c, const void *p, size_t len)
{
	c->p = p;
	c->end = (const uint8_t *)p + len;
	c->err = 0;
}

static inline size_t tape_cursor__left(const struct tape_cursor *c)
{
	return (size_t)(c->end - c->p);
}

/* Returns a pointer to the next n bytes and advances, or NULL (err set). */
static inline const uint8_t *tape_cursor__take(struct tape_cursor *c, size_t n)
{
	const uint8_t *r = c->p;

	if (c->err || n > tape_cursor__left(c)) {
		c->err = -74; /* EBADMSG */
		c->p = c->end;
		return NULL;
	}
	c->p += n;
	return r;
}

static inline uint8_t tape_cursor__u8(struct tape_cursor *c)
{
	const uint8_t *b = tape_cursor__take(c, 1);
	return b ? b[0] : 0;
}

static inline uint16_t tape_cursor__u16(struct tape_cursor *c)
{
	const uint8_t *b = tape_cursor__take(c, 2);
	return b ? tape_get_u16(b) : 0;
}

static inline uint32_t tape_cursor__u32(struct tape_cursor *c)
{
	const uint8_t *b = tape_cursor__take(c, 4);
	return b ? tape_get_u32(b) : 0;
}

static inline uint64_t tape_cursor__u64(struct tape_cursor *c)
{
	const uint8_t *b = tape_cursor__take(c, 8);
	return b ? tape_get_u64(b) : 0;
}

#endif /* TAPE_ENDIAN_H */
