/* SPDX-License-Identifier: MIT */
/*
 * Histogram output in the formats users already read: log2 histograms
 * byte-compatible with libbpf-tools' print_log2_hist (bcc), linear ones like
 * bpftrace's lhist, and a one-line summary with percentiles.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer_int.h"

unsigned int ana_log2_slot(uint64_t v)
{
	unsigned int r = 0;

	while (v > 1) {
		v >>= 1;
		r++;
	}
	return r;
}

static void print_stars(FILE *out, uint64_t val, uint64_t val_max, int width)
{
	uint64_t stars = (val < val_max ? val : val_max) * (uint64_t)width / val_max;
	int i;

	for (i = 0; i < (int)stars; i++)
		fputc('*', out);
	for (; i < width; i++)
		fputc(' ', out);
	if (val > val_max)
		fputc('+', out);
}

void ana_print_log2_hist(FILE *out, const uint64_t *slots, unsigned int nslots,
			 const char *val_type)
{
	int idx_max = -1, i, stars, width;
	uint64_t val_max = 0;

	for (i = 0; i < (int)nslots; i++) {
		if (slots[i] > 0)
			idx_max = i;
		if (slots[i] > val_max)
			val_max = slots[i];
	}
	if (idx_max < 0)
		return;
	fprintf(out, "%*s%-*s : count    distribution\n", idx_max <= 32 ? 5 : 15, "",
		idx_max <= 32 ? 19 : 29, val_type);
	stars = idx_max <= 32 ? 40 : 20;
	width = idx_max <= 32 ? 10 : 20;
	/* like libbpf-tools (and bcc python without strip_leading_zero), empty
	 * buckets below the first value are printed too */
	for (i = 0; i <= idx_max; i++) {
		unsigned long long low = (i + 1 >= 64) ? (1ULL << 63) : (1ULL << (i + 1)) >> 1;
		unsigned long long high = (i + 1 >= 64) ? UINT64_MAX : (1ULL << (i + 1)) - 1;

		if (low == high)
			low -= 1;
		fprintf(out, "%*llu -> %-*llu : %-8" PRIu64 " |", width, low, width, high,
			slots[i]);
		print_stars(out, slots[i], val_max, stars);
		fputs("|\n", out);
	}
}

void ana_print_linear_hist(FILE *out, const uint64_t *counts, size_t n, int64_t base, int64_t step,
			   uint64_t below, uint64_t above)
{
	uint64_t max = below > above ? below : above;
	size_t i, first = n, last = 0;
	char label[64];

	for (i = 0; i < n; i++) {
		if (counts[i] > max)
			max = counts[i];
		if (counts[i]) {
			if (first == n)
				first = i;
			last = i;
		}
	}
	if (!max)
		return;
	/* bpftrace prints from the first to the last non-empty bucket, the
	 * out-of-range rows when non-empty. */
	if (below) {
		first = 0;
		snprintf(label, sizeof(label), "(..., %" PRId64 ")", base);
		fprintf(out, "%-16s%8" PRIu64 " |", label, below);
		for (i = 0; i < 52; i++)
			fputc(i < below * 52 / max ? '@' : ' ', out);
		fputs("|\n", out);
	}
	if (above)
		last = n - 1;
	if (first == n)
		first = last + 1;
	for (i = first; i <= last && i < n; i++) {
		size_t k;

		snprintf(label, sizeof(label), "[%" PRId64 ", %" PRId64 ")",
			 base + (int64_t)i * step, base + (int64_t)(i + 1) * step);
		fprintf(out, "%-16s%8" PRIu64 " |", label, counts[i]);
		for (k = 0; k < 52; k++)
			fputc(k < counts[i] * 52 / max ? '@' : ' ', out);
		fputs("|\n", out);
	}
	if (above) {
		snprintf(label, sizeof(label), "[%" PRId64 ", ...)", base + (int64_t)n * step);
		fprintf(out, "%-16s%8" PRIu64 " |", label, above);
		for (i = 0; i < 52; i++)
			fputc(i < above * 52 / max ? '@' : ' ', out);
		fputs("|\n", out);
	}
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest rank: the smallest value with at least PERMILLE/10 % of all
 * values at or below it, i.e. index ceil(permille * n / 1000). */
static int64_t rank(const int64_t *v, size_t n, unsigned int permille)
{
	size_t k = (size_t)(((unsigned long long)permille * n + 999) / 1000);

	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return v[k - 1];
}

void ana_summarize(int64_t *vals, size_t n, struct ana_summary *s)
{
	long double sum = 0;
	size_t i;

	memset(s, 0, sizeof(*s));
	if (!n)
		return;
	qsort(vals, n, sizeof(*vals), cmp_i64);
	for (i = 0; i < n; i++)
		sum += vals[i];
	s->count = n;
	s->min = vals[0];
	s->max = vals[n - 1];
	s->mean = (double)(sum / n);
	s->p50 = rank(vals, n, 500);
	s->p90 = rank(vals, n, 900);
	s->p99 = rank(vals, n, 990);
	s->p999 = rank(vals, n, 999);
}

void ana_print_summary(FILE *out, const struct ana_summary *s)
{
	fprintf(out,
		"count %" PRIu64 ", min %" PRId64 ", mean %.1f, p50 %" PRId64 ", p90 %" PRId64
		", p99 %" PRId64 ", p99.9 %" PRId64 ", max %" PRId64 "\n",
		s->count, s->min, s->mean, s->p50, s->p90, s->p99, s->p999, s->max);
}
