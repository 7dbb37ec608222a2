// SPDX-License-Identifier: GPL-2.0-only
/*
 * stat.c - statistics accumulation, per-CPU merging, aggregates and
 * histogram printing in SystemTap's layout.
 *
 * @variance follows the documented design (stap(1): Welford's online
 * algorithm in integer arithmetic with an optional bit-shift): each copy
 * keeps a truncating running mean and M2; a read combines copies around
 * the mean of all samples (sum << shift) / count and divides by count - 1.
 * All arithmetic wraps (mod 2^64), so combining expanded sums is exact.
 */
#include "stat.h"

STP_API int stp_stat_desc_init(struct stp_stat_desc *d, int hist_type, int64_t start, int64_t stop,
			       int64_t interval, int var_shift, int want_variance)
{
	uint64_t n;

	memset(d, 0, sizeof(*d));
	if (var_shift < 0 || var_shift > 62)
		return STP_E_INVAL;
	d->var_shift = var_shift;
	d->want_variance = want_variance != 0;
	d->hist_type = hist_type;
	switch (hist_type) {
	case STP_HIST_NONE:
		d->nbuckets = 0;
		return STP_OK;
	case STP_HIST_LOG:
		d->nbuckets = STP_HIST_LOG_BUCKETS;
		return STP_OK;
	case STP_HIST_LINEAR:
		if (interval <= 0 || stop <= start)
			return STP_E_INVAL;
		n = ((uint64_t)stop - (uint64_t)start) / (uint64_t)interval + 1;
		if (n > STP_HIST_MAX_LINEAR)
			return STP_E_INVAL;
		d->start = start;
		d->stop = stop;
		d->interval = interval;
		d->nbuckets = (int)n + 2;
		return STP_OK;
	default:
		d->hist_type = STP_HIST_NONE;
		return STP_E_INVAL;
	}
}

STP_API size_t stp_stat_size(const struct stp_stat_desc *d)
{
	return sizeof(struct stp_stat) + (size_t)d->nbuckets * sizeof(int64_t);
}

STP_API void stp_stat_clear(struct stp_stat *s, const struct stp_stat_desc *d)
{
	memset(s, 0, stp_stat_size(d));
}

/* Position of the highest set bit, 1-based; 0 for 0. */
static int stp_fls64(uint64_t x)
{
	int r = 0;

	if (x >> 32) {
		r += 32;
		x >>= 32;
	}
	if (x >> 16) {
		r += 16;
		x >>= 16;
	}
	if (x >> 8) {
		r += 8;
		x >>= 8;
	}
	if (x >> 4) {
		r += 4;
		x >>= 4;
	}
	if (x >> 2) {
		r += 2;
		x >>= 2;
	}
	if (x >> 1) {
		r += 1;
		x >>= 1;
	}
	return r + (int)x;
}

STP_API int stp_hist_bucket_of(const struct stp_stat_desc *d, int64_t v)
{
	uint64_t k;
	int n;

	switch (d->hist_type) {
	case STP_HIST_LOG:
		if (v >= 0)
			return 64 + stp_fls64((uint64_t)v);
		return 64 - stp_fls64(stp_uabs64(v));
	case STP_HIST_LINEAR:
		n = d->nbuckets - 2;
		if (v < d->start)
			return 0;
		k = ((uint64_t)v - (uint64_t)d->start) / (uint64_t)d->interval;
		return k >= (uint64_t)n ? n + 1 : (int)k + 1;
	default:
		return 0;
	}
}

STP_API void stp_stat_add(struct stp_stat *s, const struct stp_stat_desc *d, int64_t v)
{
	int64_t x, delta;

	if (s->count == 0 || v < s->min)
		s->min = v;
	if (s->count == 0 || v > s->max)
		s->max = v;
	s->count++;
	s->sum = stp_add64(s->sum, v);
	if (d->want_variance) {
		x = stp_shl64(v, (unsigned int)d->var_shift);
		delta = stp_sub64(x, s->avg_s);
		s->avg_s = stp_add64(s->avg_s, stp_div64(delta, s->count));
		s->m2 = stp_add64(s->m2, stp_mul64(delta, stp_sub64(x, s->avg_s)));
	}
	if (d->hist_type != STP_HIST_NONE)
		s->buckets[stp_hist_bucket_of(d, v)]++;
}

/* The (a1, a2) pair of one copy: its own running mean unless already merged. */
static void stp_stat_moments(const struct stp_stat *s, int64_t *a1, int64_t *a2)
{
	if (s->merged) {
		*a1 = s->a1;
		*a2 = s->a2;
	} else {
		*a1 = stp_mul64(s->count, s->avg_s);
		*a2 = stp_mul64(*a1, s->avg_s);
	}
}

STP_API void stp_stat_merge(struct stp_stat *dst, const struct stp_stat *src,
			    const struct stp_stat_desc *d)
{
	int64_t a1, a2, b1, b2;
	int i;

	if (src->count == 0)
		return;
	if (dst->count == 0 || src->min < dst->min)
		dst->min = src->min;
	if (dst->count == 0 || src->max > dst->max)
		dst->max = src->max;
	stp_stat_moments(dst, &a1, &a2);
	stp_stat_moments(src, &b1, &b2);
	dst->a1 = stp_add64(a1, b1);
	dst->a2 = stp_add64(a2, b2);
	dst->m2 = stp_add64(dst->m2, src->m2);
	dst->merged = 1;
	dst->count += src->count;
	dst->sum = stp_add64(dst->sum, src->sum);
	for (i = 0; i < d->nbuckets; i++)
		dst->buckets[i] += src->buckets[i];
}

STP_API int64_t stp_stat_count(const struct stp_stat *s)
{
	return s->count;
}

STP_API int64_t stp_stat_sum(const struct stp_stat *s)
{
	return s->sum;
}

static int64_t stp_stat_variance(const struct stp_stat *s, const struct stp_stat_desc *d)
{
	int64_t n = s->count;
	int64_t mean, a1, a2, m2, var;
	unsigned int shift2 = 2 * (unsigned int)d->var_shift;

	if (n < 2)
		return 0;
	mean = stp_shl64(s->sum, (unsigned int)d->var_shift) / n;
	stp_stat_moments(s, &a1, &a2);
	/* m2 + sum n_i (avg_i - mean)^2, expanded */
	m2 = stp_add64(s->m2, a2);
	m2 = stp_sub64(m2, stp_mul64(stp_mul64(2, mean), a1));
	m2 = stp_add64(m2, stp_mul64(stp_mul64(mean, mean), n));
	var = m2 / (n - 1);
	if (shift2 >= 64)
		return var < 0 ? -1 : 0;
	return var >> shift2;
}

STP_API int stp_stat_get(const struct stp_stat *s, const struct stp_stat_desc *d, int agg,
			 int64_t *out)
{
	*out = 0;
	switch (agg) {
	case STP_AGG_COUNT:
		*out = s->count;
		return STP_OK;
	case STP_AGG_SUM:
		*out = s->sum;
		return STP_OK;
	default:
		break;
	}
	if (s->count == 0)
		return agg >= STP_AGG_MIN && agg <= STP_AGG_VARIANCE ? STP_E_EMPTY : STP_E_INVAL;
	switch (agg) {
	case STP_AGG_MIN:
		*out = s->min;
		return STP_OK;
	case STP_AGG_MAX:
		*out = s->max;
		return STP_OK;
	case STP_AGG_AVG:
		*out = s->sum / s->count;
		return STP_OK;
	case STP_AGG_VARIANCE:
		if (!d->want_variance)
			return STP_E_INVAL;
		*out = stp_stat_variance(s, d);
		return STP_OK;
	default:
		return STP_E_INVAL;
	}
}

STP_API int stp_hist_bucket(const struct stp_stat *s, const struct stp_stat_desc *d, int64_t i,
			    int64_t *out)
{
	*out = 0;
	if (d->hist_type == STP_HIST_NONE)
		return STP_E_HIST;
	if (s->count == 0)
		return STP_E_EMPTY;
	if (i < 0 || i >= d->nbuckets)
		return STP_E_RANGE;
	*out = s->buckets[i];
	return STP_OK;
}

STP_API int64_t stp_hist_count(const struct stp_stat *s, int b)
{
	return s ? s->buckets[b] : 0;
}

/* Writes v in decimal to out (>= 21 bytes, no NUL); returns its length. */
static int stp_hist_decimal(char *out, int64_t v)
{
	char tmp[20];
	uint64_t u = stp_uabs64(v);
	int n = 0, len = 0;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		out[len++] = '-';
	while (n)
		out[len++] = tmp[--n];
	return len;
}

/* Row label of bucket b (">= 22 bytes, no NUL); returns its length. */
static int stp_hist_label(char *out, const struct stp_stat_desc *d, int b)
{
	int64_t v;

	if (d->hist_type == STP_HIST_LOG) {
		if (b == 64)
			v = 0;
		else if (b > 64)
			v = (int64_t)(1ULL << (b - 65));
		else
			v = (int64_t)(0 - (1ULL << (63 - b)));
		return stp_hist_decimal(out, v);
	}
	if (b == 0) {
		out[0] = '<';
		return 1 + stp_hist_decimal(out + 1, d->start);
	}
	if (b == d->nbuckets - 1) {
		out[0] = '>';
		return 1 + stp_hist_decimal(out + 1, d->stop);
	}
	v = stp_add64(d->start, stp_mul64(b - 1, d->interval));
	return stp_hist_decimal(out, v);
}

/* Layout shared by every row of one printed histogram. */
struct stp_hist_layout {
	const struct stp_stat *s;
	const struct stp_stat_desc *d;
	int label_w;
	int count_w;
	int64_t scale;
};

static void stp_hist_row(struct stp_out *o, const struct stp_hist_layout *l, int b)
{
	char label[24];
	int n = stp_hist_label(label, l->d, b);
	int64_t c = l->s->buckets[b];
	int64_t bars = c / l->scale;

	stp_out_fill(o, ' ', (uint64_t)(l->label_w - n));
	stp_out_write(o, label, (size_t)n);
	stp_out_write(o, " |", 2);
	stp_out_fill(o, '@', (uint64_t)bars);
	stp_out_fill(o, ' ', (uint64_t)(STP_HIST_BAR_WIDTH - bars + 1));
	n = stp_hist_decimal(label, c);
	stp_out_fill(o, ' ', (uint64_t)(l->count_w - n));
	stp_out_write(o, label, (size_t)n);
	stp_out_putc(o, '\n');
}

static void stp_hist_rows(struct stp_out *o, const struct stp_hist_layout *l, int from, int to)
{
	int b;

	for (b = from; b <= to; b++)
		stp_hist_row(o, l, b);
}

static void stp_hist_tilde(struct stp_out *o, const struct stp_hist_layout *l)
{
	stp_out_fill(o, ' ', (uint64_t)l->label_w);
	stp_out_write(o, " ~\n", 3);
}

STP_API int stp_hist_print(char *buf, size_t size, const struct stp_stat *s,
			   const struct stp_stat_desc *d, int elision)
{
	struct stp_out o;
	struct stp_hist_layout l;
	const int64_t *c = s->buckets;
	int nb = d->nbuckets;
	int first = -1, last = -1, low, high, b, next, run;
	int64_t max = 0;
	char label[24];
	int n;

	stp_out_init(&o, buf, size);
	if (d->hist_type == STP_HIST_NONE) {
		stp_out_finish(&o);
		return STP_E_HIST;
	}
	for (b = 0; b < nb; b++) {
		if (c[b] == 0)
			continue;
		if (first < 0)
			first = b;
		last = b;
		if (c[b] > max)
			max = c[b];
	}
	if (s->count == 0 || first < 0) {
		stp_out_finish(&o);
		return STP_E_EMPTY;
	}

	/* Two empty rows of context each side, but not into an empty
	 * under/overflow row, nor below zero in a log histogram without
	 * negative samples (the upper side does cross zero: a lone 0
	 * prints rows 0, 1, 2). */
	low = first >= 2 ? first - 2 : 0;
	high = last + 2 < nb ? last + 2 : nb - 1;
	if (d->hist_type == STP_HIST_LINEAR) {
		if (low == 0 && c[0] == 0)
			low = 1;
		if (high == nb - 1 && c[nb - 1] == 0)
			high = nb - 2;
	} else if (first >= 64 && low < 64) {
		low = 64;
	}

	l.s = s;
	l.d = d;
	l.label_w = 5;		/* strlen("value") */
	for (b = low; b <= high; b++) {
		n = stp_hist_label(label, d, b);
		if (n > l.label_w)
			l.label_w = n;
	}
	l.count_w = stp_hist_decimal(label, max);
	l.scale = max <= STP_HIST_BAR_WIDTH ? 1 : (max - 1) / STP_HIST_BAR_WIDTH + 1;

	stp_out_fill(&o, ' ', (uint64_t)(l.label_w - 5));
	stp_out_write(&o, "value |", 7);
	stp_out_fill(&o, '-', STP_HIST_BAR_WIDTH);
	stp_out_write(&o, " count\n", 7);

	/* Leading empty rows: keep the last `elision`, elide the rest. */
	run = first - low;
	if (elision >= 0 && run > elision) {
		stp_hist_tilde(&o, &l);
		stp_hist_rows(&o, &l, first - elision, first - 1);
	} else {
		stp_hist_rows(&o, &l, low, first - 1);
	}
	/* Non-empty rows and the empty runs between them. */
	for (b = first; b <= last; b = next) {
		stp_hist_row(&o, &l, b);
		if (b == last)
			break;
		for (next = b + 1; c[next] == 0; next++)
			;
		run = next - b - 1;
		if (elision >= 0 && run > 2 * elision) {
			stp_hist_rows(&o, &l, b + 1, b + elision);
			stp_hist_tilde(&o, &l);
			stp_hist_rows(&o, &l, next - elision, next - 1);
		} else {
			stp_hist_rows(&o, &l, b + 1, next - 1);
		}
	}
	/* Trailing empty rows: at most `elision` of them, never a tilde. */
	run = high - last;
	if (elision >= 0 && elision < run)
		run = elision;
	stp_hist_rows(&o, &l, last + 1, last + run);
	stp_out_putc(&o, '\n');
	return stp_out_finish(&o);
}

STP_API size_t stp_hist_print_max(const struct stp_stat_desc *d)
{
	/* per row: label 21 + " |" + bars 50 + " " + count 19 + "\n"; plus header and tildes */
	return ((size_t)d->nbuckets * 2 + 4) * 96;
}
