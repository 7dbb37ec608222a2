/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * stat.h - statistics values (`<<<`), their aggregates and histograms.
 *
 * A statistics variable (or array element) is a struct stp_stat followed by
 * its histogram counters; its shape is fixed by a struct stp_stat_desc that
 * the generated code builds once per global (one histogram type per
 * global, as SystemTap requires).  Probes accumulate into per-CPU copies
 * with stp_stat_add(); readers clear a scratch copy and stp_stat_merge()
 * every CPU's copy into it, then extract aggregates from the scratch copy.
 *
 * Histogram buckets, as SystemTap numbers them for @hist_*(s)[i] and
 * foreach:
 *   log:    128 buckets; 64 holds 0, 64+k holds [2^(k-1), 2^k) (k = 1..63),
 *           64-k holds [-(2^k - 1), -2^(k-1)] and bucket 0 holds -2^63.
 *   linear: bucket 0 counts values < start, 1..N hold
 *           [start + (i-1)*interval, start + i*interval) where
 *           N = (stop - start) / interval + 1, bucket N+1 counts the rest.
 */
#ifndef STP_STAT_H
#define STP_STAT_H

#include "common.h"

enum stp_hist_type {
	STP_HIST_NONE = 0,
	STP_HIST_LOG = 1,
	STP_HIST_LINEAR = 2
};

/* Aggregates usable by @op() and by sorted foreach over stat arrays. */
enum stp_agg {
	STP_AGG_COUNT = 1,
	STP_AGG_SUM = 2,
	STP_AGG_MIN = 3,
	STP_AGG_MAX = 4,
	STP_AGG_AVG = 5,
	STP_AGG_VARIANCE = 6
};

#define STP_HIST_LOG_BUCKETS 128
/* Largest linear histogram accepted (payload buckets, excluding under/overflow). */
#define STP_HIST_MAX_LINEAR 65536
/* HIST_ELISION default: empty rows kept around each non-empty run. */
#define STP_HIST_ELISION_DEFAULT 2
/* Width of the bar column in printed histograms. */
#define STP_HIST_BAR_WIDTH 50

/* Shape of one statistics global; build with stp_stat_desc_init(). */
struct stp_stat_desc {
	int hist_type;		/* enum stp_hist_type */
	int nbuckets;		/* counters after the struct stp_stat header */
	int64_t start, stop, interval;	/* linear only */
	int var_shift;		/* @variance(s, shift): 0..62 */
	int want_variance;	/* 0 skips the per-sample Welford update */
};

/* A statistics value; buckets[] has desc->nbuckets entries. */
struct stp_stat {
	int64_t count;
	int64_t sum;
	int64_t min;
	int64_t max;
	int64_t avg_s;		/* running mean << var_shift (unmerged copies) */
	int64_t m2;		/* sum of squared deviations << 2*var_shift */
	int64_t a1;		/* merged: sum of n_i * avg_i */
	int64_t a2;		/* merged: sum of n_i * avg_i^2 */
	int64_t merged;		/* nonzero after stp_stat_merge() into it */
	int64_t buckets[];
};

/* Fills a descriptor; STP_E_INVAL for a bad type, interval <= 0, stop <= start, too many buckets or shift outside 0..62. */
STP_API int stp_stat_desc_init(struct stp_stat_desc *d, int hist_type, int64_t start, int64_t stop,
			       int64_t interval, int var_shift, int want_variance);

/* Bytes of one struct stp_stat including its buckets (a multiple of 8). */
STP_API size_t stp_stat_size(const struct stp_stat_desc *d);

/* Resets to the empty statistic (delete). */
STP_API void stp_stat_clear(struct stp_stat *s, const struct stp_stat_desc *d);

/* s <<< v: O(1), no division unless want_variance. */
STP_API void stp_stat_add(struct stp_stat *s, const struct stp_stat_desc *d, int64_t v);

/* Folds src (e.g. one CPU's copy) into dst; src unchanged. */
STP_API void stp_stat_merge(struct stp_stat *dst, const struct stp_stat *src,
			    const struct stp_stat_desc *d);

/* @count / @sum: 0 for an empty statistic. */
STP_API int64_t stp_stat_count(const struct stp_stat *s);
STP_API int64_t stp_stat_sum(const struct stp_stat *s);

/* Any aggregate into *out; STP_E_EMPTY for @min/@max/@avg/@variance of an empty statistic,
 * STP_E_INVAL for @variance unless the descriptor was built with want_variance. */
STP_API int stp_stat_get(const struct stp_stat *s, const struct stp_stat_desc *d, int agg,
			 int64_t *out);

/* Bucket index a value falls into (0 if the descriptor has no histogram). */
STP_API int stp_hist_bucket_of(const struct stp_stat_desc *d, int64_t v);

/* @hist_*(s)[i] into *out; STP_E_HIST without a histogram, STP_E_EMPTY if empty, STP_E_RANGE if i is not a bucket. */
STP_API int stp_hist_bucket(const struct stp_stat *s, const struct stp_stat_desc *d, int64_t i,
			    int64_t *out);

/* A bucket's count as a foreach over the buckets sees it (0 for a NULL s). */
STP_API int64_t stp_hist_count(const struct stp_stat *s, int b);

/*
 * print(@hist_*(s)) in SystemTap's ASCII layout into buf (snprintf
 * convention: returns the full length needed, always NUL-terminates when
 * size > 0).  elision is HIST_ELISION (STP_HIST_ELISION_DEFAULT; < 0 keeps
 * every empty row).  STP_E_EMPTY for an empty statistic, STP_E_HIST without
 * a histogram.
 */
STP_API int stp_hist_print(char *buf, size_t size, const struct stp_stat *s,
			   const struct stp_stat_desc *d, int elision);

/* An upper bound of stp_hist_print()'s length for this descriptor (for sizing buffers). */
STP_API size_t stp_hist_print_max(const struct stp_stat_desc *d);

#endif /* STP_STAT_H */
