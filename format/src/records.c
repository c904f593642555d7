/* SPDX-License-Identifier: MIT */
/*
 * Record decoders: body bytes -> the structs of format.h.  Bodies are read
 * through a bounds-checked cursor; fields a later minor version appends are
 * ignored, missing ones are an error.
 */
#include <errno.h>

#include "tape/reader.h"
#include "tape_int.h"

static int check_type(const struct tape_record *rec, uint16_t type)
{
	return rec->type == type ? 0 : -EINVAL;
}

int tape_record__host(const struct tape_record *rec, struct tape_host *h)
{
	struct tape_cursor c;

	if (check_type(rec, TAPE_REC_HOST))
		return -EINVAL;
	tape_cursor_init(&c, rec->body, rec->size);
	h->page_size = tape_cursor__u32(&c);
	h->ncpus = tape_cursor__u32(&c);
	h->clock_mono_ns = tape_cursor__u64(&c);
	h->clock_realtime_ns = tape_cursor__u64(&c);
	h->start_ns = tape_cursor__u64(&c);
	h->hostname = tape_cursor__str(&c);
	h->sysname = tape_cursor__str(&c);
	h->release = tape_cursor__str(&c);
	h->version = tape_cursor__str(&c);
	h->machine = tape_cursor__str(&c);
	h->recorder = tape_cursor__str(&c);
	h->cmdline = tape_cursor__str(&c);
	h->kernel_build_id = tape_cursor__str(&c);
	return c.err ? -EBADMSG : 0;
}

int tape_record__event_desc(const struct tape_record *rec, struct tape_event_desc *d)
{
	struct tape_cursor c;

	if (check_type(rec, TAPE_REC_EVENT_DESC))
		return -EINVAL;
	tape_cursor_init(&c, rec->body, rec->size);
	d->type_id = tape_cursor__u32(&c);
	d->source = tape_cursor__u32(&c);
	d->flags = tape_cursor__u32(&c);
	d->tp_id = tape_cursor__u32(&c);
	d->name = tape_cursor__str(&c);
	d->spec = tape_cursor__str(&c);
	d->format = tape_cursor__str(&c);
	return c.err ? -EBADMSG : 0;
}

int tape_record__event(const struct tape_record *rec, struct tape_event *ev)
{
	const uint8_t *p = rec->body;

	if (check_type(rec, TAPE_REC_EVENT))
		return -EINVAL;
	if (rec->size < EV_FIXED_SIZE)
		return -EBADMSG;
	ev->type_id = tape_get_u32(p);
	ev->cpu = tape_get_u32(p + 4);
	ev->ts_ns = rec->ts_ns;
	ev->pid = tape_get_u32(p + 16);
	ev->tid = tape_get_u32(p + 20);
	ev->kstack_id = tape_get_u32(p + 24);
	ev->ustack_id = tape_get_u32(p + 28);
	ev->flags = tape_get_u32(p + 32);
	ev->payload_size = tape_get_u32(p + 36);
	if (ev->payload_size > rec->size - EV_FIXED_SIZE)
		return -EBADMSG;
	ev->payload = p + EV_FIXED_SIZE;
	return 0;
}

int tape_record__stack(const struct tape_record *rec, struct tape_stack *s)
{
	const uint8_t *p = rec->body;

	if (check_type(rec, TAPE_REC_STACK))
		return -EINVAL;
	if (rec->size < STACK_FIXED_SIZE)
		return -EBADMSG;
	s->id = tape_get_u32(p);
	s->flags = tape_get_u32(p + 4);
	s->nframes = tape_get_u32(p + 8);
	if (s->nframes > TAPE_STACK_MAX_FRAMES ||
	    (size_t)s->nframes * 8 > rec->size - STACK_FIXED_SIZE)
		return -EBADMSG;
	s->ips_le = p + STACK_FIXED_SIZE;
	s->ips = NULL;
	return 0;
}

int tape_record__proc(const struct tape_record *rec, struct tape_proc *pr)
{
	struct tape_cursor c;

	if (check_type(rec, TAPE_REC_PROC))
		return -EINVAL;
	tape_cursor_init(&c, rec->body, rec->size);
	pr->kind = tape_cursor__u32(&c);
	pr->flags = tape_cursor__u32(&c);
	pr->ts_ns = tape_cursor__u64(&c);
	pr->pid = tape_cursor__u32(&c);
	pr->tid = tape_cursor__u32(&c);
	pr->ppid = tape_cursor__u32(&c);
	pr->exit_code = (int32_t)tape_cursor__u32(&c);
	pr->comm = tape_cursor__str(&c);
	pr->filename = tape_cursor__str(&c);
	return c.err ? -EBADMSG : 0;
}

int tape_record__mmap(const struct tape_record *rec, struct tape_mmap *m)
{
	struct tape_cursor c;
	const uint8_t *bid;

	if (check_type(rec, TAPE_REC_MMAP))
		return -EINVAL;
	tape_cursor_init(&c, rec->body, rec->size);
	m->ts_ns = tape_cursor__u64(&c);
	m->pid = tape_cursor__u32(&c);
	m->prot = tape_cursor__u32(&c);
	m->flags = tape_cursor__u32(&c);
	m->build_id_size = tape_cursor__u32(&c);
	m->start = tape_cursor__u64(&c);
	m->end = tape_cursor__u64(&c);
	m->pgoff = tape_cursor__u64(&c);
	m->dev = tape_cursor__u64(&c);
	m->inode = tape_cursor__u64(&c);
	bid = tape_cursor__take(&c, TAPE_BUILD_ID_MAX);
	m->path = tape_cursor__str(&c);
	if (c.err || m->build_id_size > TAPE_BUILD_ID_MAX)
		return -EBADMSG;
	memcpy(m->build_id, bid, TAPE_BUILD_ID_MAX);
	return 0;
}

int tape_record__loss(const struct tape_record *rec, struct tape_loss *l)
{
	struct tape_cursor c;

	if (check_type(rec, TAPE_REC_LOSS))
		return -EINVAL;
	tape_cursor_init(&c, rec->body, rec->size);
	l->ts_ns = tape_cursor__u64(&c);
	l->type_id = tape_cursor__u32(&c);
	l->cpu = tape_cursor__u32(&c);
	l->kind = tape_cursor__u32(&c);
	tape_cursor__u32(&c);
	l->count = tape_cursor__u64(&c);
	return c.err ? -EBADMSG : 0;
}

int tape_record__end(const struct tape_record *rec, struct tape_end *e)
{
	struct tape_cursor c;

	if (check_type(rec, TAPE_REC_END))
		return -EINVAL;
	tape_cursor_init(&c, rec->body, rec->size);
	e->ts_ns = tape_cursor__u64(&c);
	e->status = (int32_t)tape_cursor__u32(&c);
	e->flags = tape_cursor__u32(&c);
	e->events = tape_cursor__u64(&c);
	e->lost = tape_cursor__u64(&c);
	return c.err ? -EBADMSG : 0;
}

int tape_record__ksyms(const struct tape_record *rec, struct tape_sym_iter *it)
{
	struct tape_cursor c;

	if (check_type(rec, TAPE_REC_KSYMS))
		return -EINVAL;
	tape_cursor_init(&c, rec->body, rec->size);
	it->left = tape_cursor__u32(&c);
	it->p = c.p;
	it->end = c.end;
	it->err = c.err;
	return c.err ? -EBADMSG : 0;
}

int tape_ksyms__next(struct tape_sym_iter *it, struct tape_ksym *out)
{
	struct tape_cursor c;

	if (it->err)
		return -EBADMSG;
	if (!it->left)
		return 0;
	tape_cursor_init(&c, it->p, (size_t)(it->end - it->p));
	out->addr = tape_cursor__u64(&c);
	out->type = (char)tape_cursor__u8(&c);
	out->name = tape_cursor__str(&c);
	out->module = tape_cursor__str(&c);
	if (c.err) {
		it->err = -EBADMSG;
		return -EBADMSG;
	}
	it->p = c.p;
	it->left--;
	return 1;
}

int tape_record__symtab(const struct tape_record *rec, struct tape_symtab *hdr,
			struct tape_sym_iter *it)
{
	struct tape_cursor c;
	const uint8_t *bid;

	if (check_type(rec, TAPE_REC_SYMTAB))
		return -EINVAL;
	tape_cursor_init(&c, rec->body, rec->size);
	hdr->build_id_size = tape_cursor__u32(&c);
	bid = tape_cursor__take(&c, TAPE_BUILD_ID_MAX);
	hdr->path = tape_cursor__str(&c);
	hdr->count = tape_cursor__u32(&c);
	if (c.err || hdr->build_id_size > TAPE_BUILD_ID_MAX) {
		it->err = -EBADMSG;
		return -EBADMSG;
	}
	memcpy(hdr->build_id, bid, TAPE_BUILD_ID_MAX);
	hdr->entries = c.p;
	it->left = hdr->count;
	it->p = c.p;
	it->end = c.end;
	it->err = 0;
	return 0;
}

int tape_symtab__next(struct tape_sym_iter *it, struct tape_sym *out)
{
	struct tape_cursor c;

	if (it->err)
		return -EBADMSG;
	if (!it->left)
		return 0;
	tape_cursor_init(&c, it->p, (size_t)(it->end - it->p));
	out->addr = tape_cursor__u64(&c);
	out->size = tape_cursor__u64(&c);
	out->name = tape_cursor__str(&c);
	if (c.err) {
		it->err = -EBADMSG;
		return -EBADMSG;
	}
	it->p = c.p;
	it->left--;
	return 1;
}
