/* SPDX-License-Identifier: MIT */
/*
 * Tracefs event format parsing: the `format` text stored in every tracepoint
 * EVENT_DESC gives each field's declaration, offset, size and signedness, so
 * payloads decode by name on a machine that never saw the kernel.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <tape/endian.h>

#include "analyzer_int.h"

void ana_table_name(const char *event_name, char *out, size_t out_size)
{
	size_t i = 0, j;

	if (!out_size)
		return;
	for (j = 0; j < 3 && i + 1 < out_size; j++)
		out[i++] = "tp_"[j];
	for (; *event_name && i + 1 < out_size; event_name++) {
		unsigned char c = (unsigned char)*event_name;

		out[i++] = isalnum(c) ? (char)c : '_';
	}
	out[i] = '\0';
}

void ana_tpformat__release(struct ana_tpformat *f)
{
	size_t i;

	if (!f)
		return;
	for (i = 0; i < f->nfields; i++) {
		free(f->fields[i].name);
		free(f->fields[i].column);
		free(f->fields[i].type);
	}
	free(f->fields);
	f->fields = NULL;
	f->nfields = 0;
}

/* Finds "KEY:" in LINE and parses the number after it. */
static int get_num(const char *line, const char *key, long *v)
{
	const char *p = strstr(line, key);
	char *end;

	if (!p)
		return -1;
	p += strlen(key);
	*v = strtol(p, &end, 10);
	return end == p ? -1 : 0;
}

static int column_taken(const struct ana_tpformat *f, const char *col)
{
	static const char *const reserved[] = {"event_id", "ts", "cpu", "pid", "tid"};
	size_t i;

	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (!strcasecmp(col, reserved[i]))
			return 1;
	for (i = 0; i < f->nfields; i++)
		if (!strcasecmp(col, f->fields[i].column))
			return 1;
	return 0;
}

static int parse_field(struct ana_tpformat *f, const char *line, size_t lineno, char *err,
		       size_t err_size)
{
	const char *decl = strstr(line, "field:") + 6, *semi = strchr(decl, ';');
	const char *name_end, *name_start;
	struct ana_field *fld, *nf;
	long off, size, sgn;
	char col[256];
	int k = 1;

	if (!semi || get_num(semi, "offset:", &off) || get_num(semi, "size:", &size) || off < 0 ||
	    size < 0 || off > 65535 || size > 65535) {
		snprintf(err, err_size, "format line %zu: expected 'field:DECL; offset:N; size:N;'",
			 lineno);
		return -EINVAL;
	}
	if (get_num(semi, "signed:", &sgn))
		sgn = 0;
	/* The name is the last identifier before an optional [N]. */
	name_end = semi;
	while (name_end > decl && isspace((unsigned char)name_end[-1]))
		name_end--;
	if (name_end > decl && name_end[-1] == ']') {
		while (name_end > decl && name_end[-1] != '[')
			name_end--;
		if (name_end > decl)
			name_end--;
	}
	name_start = name_end;
	while (name_start > decl &&
	       (isalnum((unsigned char)name_start[-1]) || name_start[-1] == '_'))
		name_start--;
	if (name_start == name_end) {
		snprintf(err, err_size, "format line %zu: field without a name", lineno);
		return -EINVAL;
	}
	nf = realloc(f->fields, (f->nfields + 1) * sizeof(*nf));
	if (!nf)
		return -ENOMEM;
	f->fields = nf;
	fld = &f->fields[f->nfields];
	memset(fld, 0, sizeof(*fld));
	fld->name = strndup(name_start, (size_t)(name_end - name_start));
	fld->type = strndup(decl, (size_t)(name_start - decl));
	if (!fld->name || !fld->type) {
		free(fld->name);
		free(fld->type);
		return -ENOMEM;
	}
	/* trim the type */
	{
		size_t n = strlen(fld->type);

		while (n && isspace((unsigned char)fld->type[n - 1]))
			fld->type[--n] = '\0';
	}
	fld->offset = (uint32_t)off;
	fld->size = (uint32_t)size;
	fld->is_signed = sgn != 0;
	fld->common = !strncmp(fld->name, "common_", 7);
	if (strstr(decl, "__data_loc") && strstr(decl, "__data_loc") < semi) {
		fld->kind = ANA_FIELD_DATA_LOC;
		fld->is_text = strstr(fld->type, "char") != NULL;
	} else if (*name_end == '[' && strstr(fld->type, "char")) {
		fld->kind = ANA_FIELD_CHARS;
		fld->is_text = 1;
	} else if (*name_end != '[' && (size == 1 || size == 2 || size == 4 || size == 8)) {
		fld->kind = ANA_FIELD_INT;
	} else {
		fld->kind = ANA_FIELD_BYTES;
	}
	snprintf(col, sizeof(col), "%s", fld->name);
	while (column_taken(f, col))
		snprintf(col, sizeof(col), "f%d_%s", k++, fld->name);
	fld->column = strdup(col);
	if (!fld->column) {
		free(fld->name);
		free(fld->type);
		return -ENOMEM;
	}
	f->nfields++;
	return 0;
}

int ana_tpformat__parse(struct ana_tpformat *f, const char *text, size_t len, char *err,
			size_t err_size)
{
	const char *p = text, *end = text + len;
	size_t lineno = 0;
	int ret = 0;

	memset(f, 0, sizeof(*f));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char line[1024];

		lineno++;
		if (n >= sizeof(line))
			n = sizeof(line) - 1;
		memcpy(line, p, n);
		line[n] = '\0';
		p = nl ? nl + 1 : end;
		if (!strstr(line, "field:"))
			continue;
		if (!strncmp(line, "print fmt", 9))
			break;
		ret = parse_field(f, line, lineno, err, err_size);
		if (ret)
			break;
	}
	if (ret)
		ana_tpformat__release(f);
	return ret;
}

int64_t ana_field__int(const struct ana_field *fld, const void *payload, size_t size)
{
	const uint8_t *p = (const uint8_t *)payload + fld->offset;

	if ((size_t)fld->offset + fld->size > size)
		return 0;
	switch (fld->size) {
	case 1:
		return fld->is_signed ? (int64_t)(int8_t)p[0] : (int64_t)p[0];
	case 2:
		return fld->is_signed ? (int64_t)(int16_t)tape_get_u16(p)
				      : (int64_t)tape_get_u16(p);
	case 4:
		return fld->is_signed ? (int64_t)(int32_t)tape_get_u32(p)
				      : (int64_t)tape_get_u32(p);
	case 8:
		return (int64_t)tape_get_u64(p);
	}
	return 0;
}

const char *ana_field__text(const struct ana_field *fld, const void *payload, size_t size,
			    size_t *len)
{
	const char *base = payload, *s;
	uint32_t off, n;

	if ((size_t)fld->offset + fld->size > size)
		return NULL;
	if (fld->kind == ANA_FIELD_DATA_LOC) {
		uint32_t loc;

		if (fld->size < 4)
			return NULL;
		loc = tape_get_u32(base + fld->offset);
		off = loc & 0xffff;
		n = loc >> 16;
		if ((size_t)off + n > size)
			return NULL;
	} else {
		off = fld->offset;
		n = fld->size;
	}
	s = base + off;
	if (fld->is_text) {
		const char *z = memchr(s, '\0', n);

		if (z)
			n = (uint32_t)(z - s);
	}
	*len = n;
	return s;
}
