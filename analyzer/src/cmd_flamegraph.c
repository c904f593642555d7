/* SPDX-License-Identifier: MIT */
/*
 * bpftape flamegraph: a self-contained SVG flame graph of the folded stacks
 * (no script, no external file; hover a frame for its name, samples and
 * share).  Layout as flamegraph.pl's: the sorted folded lines are swept once,
 * a frame closes when the next line's stack diverges from it.  For
 * interactive views, pipe `bpftape folded` into flamegraph.pl, inferno or
 * speedscope.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer_int.h"
#include "commands.h"
#include "stacks.h"

#define SVG_WIDTH 1200
#define FRAME_H 16
#define PAD 10
#define TOP 36
#define MAX_DEPTH 2048

static void usage(FILE *out)
{
	fprintf(out, "usage: bpftape flamegraph [OPTIONS] TRACE > out.svg\n\n"
		     "Writes a self-contained SVG flame graph of TRACE's stacks (the same\n"
		     "stacks and filters as 'bpftape folded').  Hover a frame for its name,\n"
		     "sample count and share.\n\n"
		     "  -o, --output FILE    write to FILE instead of stdout\n"
		     "  -t, --title TEXT     title (default: Flame Graph: TRACE)\n"
		     "  -e, --event GLOB     only events of this type\n"
		     "  -p, --pid PID        only this process\n"
		     "  -c, --comm GLOB      only threads whose command name matches\n"
		     "      --since TIME     only events at least TIME after the first\n"
		     "      --until TIME     only events less than TIME after the first\n"
		     "  -k, --kernel-suffix  append _[k] to kernel frames\n"
		     "      --no-inline      leave out inlined frames\n"
		     "      --pid-in-comm    use comm-PID as the first frame\n"
		     "      --db PATH        database path (default TRACE.db)\n"
		     "  -h, --help           this help\n\n"
		     "Examples:\n"
		     "  bpftape flamegraph trace.tape > cpu.svg\n"
		     "  bpftape flamegraph --comm burner -o burner.svg trace.tape\n");
}

int ana_stack_cli(int argc, char **argv, struct ana_filter *f, struct ana_db_opts *dbo,
		  int *kernel_suffix, int *no_inline, int *by_pid, const char **output,
		  const char **title, void (*usage_fn)(FILE *));

static void xml(FILE *out, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n && s[i]; i++) {
		switch (s[i]) {
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '&':
			fputs("&amp;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		default:
			fputc(s[i], out);
		}
	}
}

struct open_frame {
	const char *name; /* points into the current or previous line */
	size_t len;
	uint64_t start;
};

static void emit(FILE *out, const struct open_frame *f, int depth, uint64_t end, uint64_t total,
		 int max_depth)
{
	double scale = (double)(SVG_WIDTH - 2 * PAD) / (double)total;
	double x = PAD + (double)f->start * scale, w = (double)(end - f->start) * scale;
	int y = TOP + (max_depth - depth) * FRAME_H;
	uint64_t h = 2166136261u;
	size_t i, fit;
	int r, g, b;

	if (w < 0.1)
		return;
	for (i = 0; i < f->len; i++)
		h = (h ^ (unsigned char)f->name[i]) * 16777619u;
	/* flamegraph.pl's "hot" palette */
	r = 205 + (int)(h % 50);
	g = (int)((h >> 8) % 230);
	b = (int)((h >> 16) % 55);
	fprintf(out, "<g><title>");
	xml(out, f->name, f->len);
	fprintf(out,
		" (%" PRIu64 " samples, %.2f%%)</title><rect x=\"%.1f\" y=\"%d\" width=\"%.1f\""
		" height=\"%d\" fill=\"rgb(%d,%d,%d)\" rx=\"2\"/>",
		end - f->start, 100.0 * (double)(end - f->start) / (double)total, x, y, w,
		FRAME_H - 1, r, g, b);
	fit = (size_t)(w / 7.0);
	if (fit >= 3) {
		fprintf(out, "<text x=\"%.1f\" y=\"%d\">", x + 3, y + FRAME_H - 4);
		if (f->len <= fit) {
			xml(out, f->name, f->len);
		} else {
			xml(out, f->name, fit - 2);
			fputs("..", out);
		}
		fputs("</text>", out);
	}
	fputs("</g>\n", out);
}

static int render(FILE *out, const struct ana_folded_line *lines, size_t n, const char *title)
{
	struct open_frame *open = calloc(MAX_DEPTH, sizeof(*open));
	uint64_t total = 0, x = 0;
	int max_depth = 0, nopen = 0, depth, height;
	size_t i;

	if (!open)
		return -1;
	for (i = 0; i < n; i++) {
		const char *p;

		total += lines[i].count;
		depth = 1;
		for (p = lines[i].stack; *p; p++)
			depth += *p == ';';
		if (depth > max_depth)
			max_depth = depth;
	}
	if (max_depth >= MAX_DEPTH)
		max_depth = MAX_DEPTH - 1;
	height = TOP + (max_depth + 1) * FRAME_H + PAD;
	fprintf(out,
		"<?xml version=\"1.0\" standalone=\"no\"?>\n"
		"<svg version=\"1.1\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\""
		" xmlns=\"http://www.w3.org/2000/svg\">\n"
		"<style>text { font-family: Verdana, sans-serif; font-size: 12px; fill: #000; }"
		" rect:hover { stroke: #000; stroke-width: 0.5; }</style>\n"
		"<rect x=\"0\" y=\"0\" width=\"100%%\" height=\"100%%\" fill=\"#f8f8f8\"/>\n"
		"<text x=\"%d\" y=\"24\" style=\"font-size: 17px\" text-anchor=\"middle\">",
		SVG_WIDTH, height, SVG_WIDTH, height, SVG_WIDTH / 2);
	xml(out, title, strlen(title));
	fputs("</text>\n", out);
	if (!total) {
		fputs("<text x=\"600\" y=\"60\" text-anchor=\"middle\">no stacks</text>\n</svg>\n",
		      out);
		free(open);
		return 0;
	}
	/* depth 0 is "all" */
	open[0] = (struct open_frame){"all", 3, 0};
	nopen = 1;
	for (i = 0; i < n; i++) {
		const char *p = lines[i].stack;
		int d = 1, same = 1;

		/* walk the frames; close what diverges, open what is new */
		while (*p && d < MAX_DEPTH) {
			const char *e = strchr(p, ';');
			size_t len = e ? (size_t)(e - p) : strlen(p);

			if (same && d < nopen && open[d].len == len &&
			    !memcmp(open[d].name, p, len)) {
				open[d].name = p; /* keep pointing at live memory */
			} else {
				if (same) {
					while (nopen > d) {
						nopen--;
						emit(out, &open[nopen], nopen, x, total, max_depth);
					}
					same = 0;
				}
				open[d] = (struct open_frame){p, len, x};
				nopen = d + 1;
			}
			d++;
			p = e ? e + 1 : p + len;
		}
		if (same)
			while (nopen > d) {
				nopen--;
				emit(out, &open[nopen], nopen, x, total, max_depth);
			}
		x += lines[i].count;
	}
	while (nopen > 0) {
		nopen--;
		emit(out, &open[nopen], nopen, x, total, max_depth);
	}
	fputs("</svg>\n", out);
	free(open);
	return 0;
}

int cmd_flamegraph(int argc, char **argv)
{
	struct ana_filter f;
	struct ana_db_opts dbo = {0};
	struct ana_folded_line *lines;
	const char *output = NULL, *title = NULL;
	char tbuf[4200];
	int ks = 0, ni = 0, bp = 0, ret;
	size_t n;
	sqlite3 *db;
	FILE *out = stdout;

	ret = ana_stack_cli(argc, argv, &f, &dbo, &ks, &ni, &bp, &output, &title, usage);
	if (ret >= 0)
		return ret;
	db = ana_db_open(argv[optind], &dbo);
	if (!db)
		return 1;
	ret = ana_folded_collect(db, &f, ks, ni, bp, &lines, &n);
	sqlite3_close(db);
	if (ret)
		return 1;
	if (!title) {
		snprintf(tbuf, sizeof(tbuf), "Flame Graph: %s", argv[optind]);
		title = tbuf;
	}
	if (output && !(out = fopen(output, "w"))) {
		ana_err("cannot create '%s': %m", output);
		ana_folded_free(lines, n);
		return 1;
	}
	ret = render(out, lines, n, title);
	ana_folded_free(lines, n);
	if (output && fclose(out)) {
		ana_err("cannot write '%s': %m", output);
		return 1;
	}
	return ret ? 1 : 0;
}
