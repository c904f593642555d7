// SPDX-License-Identifier: MIT
/*
 * Probe spec parsing (bpftrace-style):
 *   profile | profile:hz:N
 *   tracepoint:CAT:NAME | t:CAT:NAME | CAT:NAME  (globs * ? [..] in CAT and NAME)
 *   kprobe:FUNC | k:FUNC, kretprobe:FUNC | kr:FUNC
 *   uprobe:PATH:SYM | u:..., uretprobe:PATH:SYM | ur:..., usdt:PATH:PROV:NAME
 *   offcpu
 * Any spec may end in ",stack", ",kstack" or ",ustack" to capture stacks for
 * that probe only (-g does it for every probe).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rec_int.h"

const char *rec_spec_kind__name(enum rec_spec_kind k)
{
	switch (k) {
	case REC_SPEC_PROFILE:
		return "profile";
	case REC_SPEC_TRACEPOINT:
		return "tracepoint";
	case REC_SPEC_KPROBE:
		return "kprobe";
	case REC_SPEC_KRETPROBE:
		return "kretprobe";
	case REC_SPEC_UPROBE:
		return "uprobe";
	case REC_SPEC_URETPROBE:
		return "uretprobe";
	case REC_SPEC_USDT:
		return "usdt";
	case REC_SPEC_OFFCPU:
		return "offcpu";
	}
	return "?";
}

static int valid_glob(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++) {
		char c = *s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '*' || c == '?' || c == '[' || c == ']' || c == '-' ||
		      c == '.'))
			return 0;
	}
	return 1;
}

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int rec_spec__parse(const char *s, struct rec_spec *out, char *err, size_t errsz)
{
	char buf[256], *fields[5], *opt, *p;
	const char *kind;
	size_t nf = 0;

	memset(out, 0, sizeof(*out));
	if (!s || !*s)
		return fail(err, errsz, "empty probe spec%s", "");
	if (strlen(s) >= sizeof(buf))
		return fail(err, errsz, "probe spec too long: '%.40s...'", s);
	strcpy(out->text, s);
	strcpy(buf, s);

	/* trailing ,options */
	opt = strchr(buf, ',');
	if (opt) {
		char *save = NULL, *o;

		*opt++ = 0;
		for (o = strtok_r(opt, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
			if (!strcmp(o, "stack"))
				out->stacks |= REC_STACK_K | REC_STACK_U;
			else if (!strcmp(o, "kstack"))
				out->stacks |= REC_STACK_K;
			else if (!strcmp(o, "ustack"))
				out->stacks |= REC_STACK_U;
			else
				return fail(err, errsz,
					    "invalid probe spec '%s': unknown option (use stack, "
					    "kstack or ustack)",
					    s);
		}
	}

	for (p = buf; nf < 5;) {
		fields[nf++] = p;
		p = strchr(p, ':');
		if (!p)
			break;
		*p++ = 0;
	}
	if (p)
		return fail(err, errsz, "invalid probe spec '%s': too many ':' fields", s);
	kind = fields[0];

	if (!strcmp(kind, "profile")) {
		out->kind = REC_SPEC_PROFILE;
		out->hz = 99;
		out->stacks |= REC_STACK_K | REC_STACK_U;
		if (nf == 1)
			return 0;
		uint64_t hz;
		if (nf != 3 || strcmp(fields[1], "hz") || rec_parse_uint(fields[2], 1, 100000, &hz))
			return fail(
			    err, errsz,
			    "invalid probe spec '%s': expected profile:hz:N with N in 1..100000",
			    s);
		out->hz = (unsigned int)hz;
		return 0;
	}
	if (!strcmp(kind, "tracepoint") || !strcmp(kind, "t")) {
		out->kind = REC_SPEC_TRACEPOINT;
		if (nf != 3 || !valid_glob(fields[1]) || !valid_glob(fields[2]))
			return fail(err, errsz,
				    "invalid probe spec '%s': expected tracepoint:CATEGORY:NAME",
				    s);
		snprintf(out->cat, sizeof(out->cat), "%s", fields[1]);
		snprintf(out->name, sizeof(out->name), "%s", fields[2]);
		return 0;
	}
	if (!strcmp(kind, "kprobe") || !strcmp(kind, "k") || !strcmp(kind, "kretprobe") ||
	    !strcmp(kind, "kr")) {
		out->kind = kind[1] == 'r' || !strcmp(kind, "kretprobe") ? REC_SPEC_KRETPROBE
									 : REC_SPEC_KPROBE;
		if (nf != 2 || !valid_glob(fields[1]))
			return fail(err, errsz, "invalid probe spec '%s': expected kprobe:FUNCTION",
				    s);
		snprintf(out->name, sizeof(out->name), "%s", fields[1]);
		return 0;
	}
	if (!strcmp(kind, "uprobe") || !strcmp(kind, "u") || !strcmp(kind, "uretprobe") ||
	    !strcmp(kind, "ur")) {
		out->kind = !strcmp(kind, "ur") || !strcmp(kind, "uretprobe") ? REC_SPEC_URETPROBE
									      : REC_SPEC_UPROBE;
		if (nf != 3 || !*fields[1] || !*fields[2])
			return fail(err, errsz,
				    "invalid probe spec '%s': expected uprobe:PATH:SYMBOL", s);
		snprintf(out->cat, sizeof(out->cat), "%s", fields[1]);
		snprintf(out->name, sizeof(out->name), "%s", fields[2]);
		return 0;
	}
	if (!strcmp(kind, "usdt")) {
		out->kind = REC_SPEC_USDT;
		if (nf != 4 || !*fields[1] || !*fields[2] || !*fields[3])
			return fail(err, errsz,
				    "invalid probe spec '%s': expected usdt:PATH:PROVIDER:NAME", s);
		snprintf(out->cat, sizeof(out->cat), "%s", fields[1]);
		snprintf(out->name, sizeof(out->name), "%s:%s", fields[2], fields[3]);
		return 0;
	}
	if (!strcmp(kind, "offcpu")) {
		out->kind = REC_SPEC_OFFCPU;
		if (nf != 1)
			return fail(err, errsz,
				    "invalid probe spec '%s': offcpu takes no arguments", s);
		return 0;
	}
	if (nf == 2 && valid_glob(fields[0]) && valid_glob(fields[1])) {
		/* perf style CATEGORY:NAME */
		out->kind = REC_SPEC_TRACEPOINT;
		snprintf(out->cat, sizeof(out->cat), "%s", fields[0]);
		snprintf(out->name, sizeof(out->name), "%s", fields[1]);
		return 0;
	}
	return fail(err, errsz,
		    "invalid probe spec '%s': unknown probe type (expected profile, tracepoint, "
		    "kprobe, uprobe, usdt or offcpu)",
		    s);
}
