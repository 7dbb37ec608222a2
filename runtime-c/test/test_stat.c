// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_stat.c - statistics, @variance and histogram printing.
 *
 * The histogram texts in runtime-c/test/data/ are SystemTap's real output
 * as recorded by its testsuite (the .exp files of systemtap.maps); each test below
 * feeds the same samples as the matching .stp script and must reproduce
 * the text byte for byte.  Aggregate values (count/sum/min/max/avg/
 * variance) come from the same files, from stap(1) (@variance examples)
 * and from testsuite PR31740.
 */
#include "../lib/stat.h"
#include "check.h"

static struct stp_stat *new_stat(struct stp_stat_desc *d, int type, int64_t start, int64_t stop,
				 int64_t interval, int shift)
{
	int rc = stp_stat_desc_init(d, type, start, stop, interval, shift, 1);

	if (rc != STP_OK) {
		printf("FAIL desc_init %d\n", rc);
		exit(2);
	}
	return calloc(1, stp_stat_size(d));
}

/* Prints one histogram into a static buffer; returns it. */
static const char *hist(const struct stp_stat *s, const struct stp_stat_desc *d, int elision)
{
	static char buf[1 << 16];
	int rc = stp_hist_print(buf, sizeof(buf), s, d, elision);

	if (rc < 0)
		snprintf(buf, sizeof(buf), "<error %d>\n", rc);
	return buf;
}

static long long agg(const struct stp_stat *s, const struct stp_stat_desc *d, int which)
{
	int64_t v;
	int rc = stp_stat_get(s, d, which, &v);

	return rc == STP_OK ? (long long)v : (long long)rc;
}

/* The testsuite's "linear" data set: 1600 samples. */
static void add_linear_set(struct stp_stat *s, const struct stp_stat_desc *d)
{
	static const int mult[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 12, 13, 14, 15 };
	int key, i;

	for (key = 0; key < 100; key++)
		for (i = 0; i < 16; i++)
			stp_stat_add(s, d, (int64_t)key * mult[i]);
}

static void testsuite_linear(void)
{
	struct stp_stat_desc d;
	struct stp_stat *s;

	/* linear.exp: @hist_linear(agg, 0, 1500, 50) and the aggregates */
	s = new_stat(&d, STP_HIST_LINEAR, 0, 1500, 50, 0);
	add_linear_set(s, &d);
	check_int("linear.count", agg(s, &d, STP_AGG_COUNT), 1600);
	check_int("linear.sum", agg(s, &d, STP_AGG_SUM), 653400);
	check_int("linear.min", agg(s, &d, STP_AGG_MIN), 0);
	check_int("linear.max", agg(s, &d, STP_AGG_MAX), 1485);
	check_int("linear.avg", agg(s, &d, STP_AGG_AVG), 408);
	check_int("linear.variance", agg(s, &d, STP_AGG_VARIANCE), 450768);
	check_file("linear.hist", hist(s, &d, 2), "linear.txt");
	free(s);

	/* linear_overunder.exp: @hist_linear(agg, 250, 1000, 50) */
	s = new_stat(&d, STP_HIST_LINEAR, 250, 1000, 50, 0);
	add_linear_set(s, &d);
	check_int("linear_overunder.variance", agg(s, &d, STP_AGG_VARIANCE), 450768);
	check_file("linear_overunder.hist", hist(s, &d, 2), "linear_overunder.txt");
	free(s);
}

static void testsuite_linear_edges(void)
{
	struct stp_stat_desc d;
	struct stp_stat *s;
	int64_t k;

	/* linear_over.exp: keys 1000..9999 into @hist_linear(agg, 0, 100, 10) */
	s = new_stat(&d, STP_HIST_LINEAR, 0, 100, 10, 0);
	for (k = 1000; k < 10000; k++)
		stp_stat_add(s, &d, k);
	check_int("linear_over.count", agg(s, &d, STP_AGG_COUNT), 9000);
	check_int("linear_over.sum", agg(s, &d, STP_AGG_SUM), 49495500);
	check_int("linear_over.avg", agg(s, &d, STP_AGG_AVG), 5499);
	check_int("linear_over.variance", agg(s, &d, STP_AGG_VARIANCE), 47241750);
	check_file("linear_over.hist", hist(s, &d, 2), "linear_over.txt");
	free(s);

	/* linear_under.exp: keys 0..99 into @hist_linear(agg, 1800, 2500, 100) */
	s = new_stat(&d, STP_HIST_LINEAR, 1800, 2500, 100, 0);
	for (k = 0; k < 100; k++)
		stp_stat_add(s, &d, k);
	check_int("linear_under.avg", agg(s, &d, STP_AGG_AVG), 49);
	check_int("linear_under.variance", agg(s, &d, STP_AGG_VARIANCE), 5741);
	check_file("linear_under.hist", hist(s, &d, 2), "linear_under.txt");
	free(s);

	/* linear_nearlyempty.exp: 444 and 999, @variance(agg, 7) */
	s = new_stat(&d, STP_HIST_LINEAR, 0, 1500, 50, 7);
	stp_stat_add(s, &d, 444);
	stp_stat_add(s, &d, 999);
	check_int("linear_nearlyempty.avg", agg(s, &d, STP_AGG_AVG), 721);
	check_int("linear_nearlyempty.variance", agg(s, &d, STP_AGG_VARIANCE), 154012);
	check_file("linear_nearlyempty.hist", hist(s, &d, 2), "linear_nearlyempty.txt");
	free(s);
}

static void testsuite_log(void)
{
	static char all[4096];
	struct stp_stat_desc d;
	struct stp_stat *s;
	int64_t val, b;
	int i;

	/* log.exp: every power of two, its negation, and twenty zeros */
	s = new_stat(&d, STP_HIST_LOG, 0, 0, 0, 0);
	val = 1;
	for (i = 0; i < 63; i++) {
		stp_stat_add(s, &d, val);
		val = stp_shl64(val, 1);
	}
	val = 1;
	for (i = 0; i < 64; i++) {
		stp_stat_add(s, &d, stp_sub64(0, val));
		val = stp_shl64(val, 1);
	}
	for (i = 0; i < 20; i++)
		stp_stat_add(s, &d, 0);
	check_file("log.hist", hist(s, &d, 2), "log.txt");
	free(s);

	/* log_edge.exp: four small histograms and their non-empty buckets */
	s = new_stat(&d, STP_HIST_LOG, 0, 0, 0, 0);
	all[0] = '\0';
	stp_stat_add(s, &d, -1);
	stp_stat_add(s, &d, 1);
	strcat(all, hist(s, &d, 2));
	check_int("log_edge.bucket63", (stp_hist_bucket(s, &d, 63, &b), b), 1);
	check_int("log_edge.bucket65", (stp_hist_bucket(s, &d, 65, &b), b), 1);
	stp_stat_clear(s, &d);
	stp_stat_add(s, &d, 0);
	strcat(all, hist(s, &d, 2));
	check_int("log_edge.bucket64", (stp_hist_bucket(s, &d, 64, &b), b), 1);
	stp_stat_clear(s, &d);
	stp_stat_add(s, &d, 0x7fffffffffffffffLL);
	strcat(all, hist(s, &d, 2));
	check_int("log_edge.bucket127", (stp_hist_bucket(s, &d, 127, &b), b), 1);
	stp_stat_clear(s, &d);
	for (i = 1; i <= 4; i++)
		stp_stat_add(s, &d, i);
	strcat(all, hist(s, &d, 2));
	check_int("log_edge.bucket66", (stp_hist_bucket(s, &d, 66, &b), b), 2);
	/* foreach (v = b in @hist_log(s)): counts, 0 for an absent element */
	check_int("log_edge.count66", stp_hist_count(s, 66), 2);
	check_int("log_edge.count67", stp_hist_count(s, 67), 1);
	check_int("log_edge.count_absent", stp_hist_count(NULL, 66), 0);
	check_int("log_edge.range128", stp_hist_bucket(s, &d, 128, &b), STP_E_RANGE);
	check_file("log_edge.hist", all, "log_edge.txt");
	free(s);
}

/* elision.stp, printed with -DHIST_ELISION=-1..3 */
static void testsuite_elision(void)
{
	static char all[1 << 14];
	static const int64_t lin_a[][2] = { { 444, 999 }, { 444, 500 }, { 0, -1 }, { 50, -1 },
					    { 1450, -1 }, { 1500, -1 } };
	struct stp_stat_desc da, db, dc;
	struct stp_stat *a, *b, *c;
	char file[32], name[32];
	int e;
	size_t i;

	a = new_stat(&da, STP_HIST_LINEAR, 0, 1500, 50, 0);
	b = new_stat(&db, STP_HIST_LINEAR, -100, 100, 10, 0);
	c = new_stat(&dc, STP_HIST_LOG, 0, 0, 0, 0);
	for (e = -1; e <= 3; e++) {
		all[0] = '\0';
		for (i = 0; i < sizeof(lin_a) / sizeof(lin_a[0]); i++) {
			stp_stat_clear(a, &da);
			stp_stat_add(a, &da, lin_a[i][0]);
			if (lin_a[i][1] >= 0)
				stp_stat_add(a, &da, lin_a[i][1]);
			strcat(all, hist(a, &da, e));
		}
		stp_stat_clear(b, &db);
		stp_stat_add(b, &db, -10);
		strcat(all, hist(b, &db, e));
		stp_stat_clear(b, &db);
		stp_stat_add(b, &db, 0);
		strcat(all, hist(b, &db, e));
		stp_stat_clear(c, &dc);
		stp_stat_add(c, &dc, 128);
		strcat(all, hist(c, &dc, e));
		stp_stat_clear(c, &dc);
		stp_stat_add(c, &dc, 0);
		strcat(all, hist(c, &dc, e));
		stp_stat_clear(c, &dc);
		stp_stat_add(c, &dc, -2);
		stp_stat_add(c, &dc, -4096);
		strcat(all, hist(c, &dc, e));
		snprintf(file, sizeof(file), "elision_%d.txt", e);
		snprintf(name, sizeof(name), "elision.%d", e);
		check_file(name, all, file);
	}
	free(a);
	free(b);
	free(c);
}

static void testsuite_foreach_limit(void)
{
	static const int64_t values[] = { 18, 40, 16, 4, 14, 36, 12, 10, 8, 20 };
	struct stp_stat_desc d;
	struct stp_stat *s;
	int64_t b, cnt;
	size_t i;
	int m;

	/* foreach_limit.exp, "Aggregates:" */
	s = new_stat(&d, STP_HIST_LOG, 0, 0, 0, 0);
	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++)
		for (m = 1; m <= 15; m++)
			stp_stat_add(s, &d, values[i] * m);
	check_int("foreach_limit.count", agg(s, &d, STP_AGG_COUNT), 150);
	check_int("foreach_limit.sum", agg(s, &d, STP_AGG_SUM), 21360);
	check_int("foreach_limit.min", agg(s, &d, STP_AGG_MIN), 4);
	check_int("foreach_limit.max", agg(s, &d, STP_AGG_MAX), 600);
	check_file("foreach_limit.hist", hist(s, &d, 2), "foreach_limit.txt");
	/* foreach (bucket in @hist_log(agg) limit 71): non-empty ones */
	for (b = 0; b < 71; b++)
		if (stp_hist_bucket(s, &d, b, &cnt) == STP_OK && cnt)
			printf("     bucket %lld: %lld\n", (long long)b, (long long)cnt);
	check_int("foreach_limit.bucket70", (stp_hist_bucket(s, &d, 70, &cnt), cnt), 28);
	free(s);
}

static void variance_docs(void)
{
	struct stp_stat_desc d;
	struct stp_stat *s;
	int i;

	/* stap(1): 1..5 gives 12 with no shift and 2 with @variance(x, 1) */
	s = new_stat(&d, STP_HIST_NONE, 0, 0, 0, 0);
	for (i = 1; i <= 5; i++)
		stp_stat_add(s, &d, i);
	check_int("man.variance.shift0", agg(s, &d, STP_AGG_VARIANCE), 12);
	free(s);
	s = new_stat(&d, STP_HIST_NONE, 0, 0, 0, 1);
	for (i = 1; i <= 5; i++)
		stp_stat_add(s, &d, i);
	check_int("man.variance.shift1", agg(s, &d, STP_AGG_VARIANCE), 2);
	free(s);

	/* testsuite PR31740: 1, 2, 3 with @variance(s, 7) */
	s = new_stat(&d, STP_HIST_LOG, 0, 0, 0, 7);
	for (i = 1; i <= 3; i++)
		stp_stat_add(s, &d, i);
	check_int("PR31740.variance", agg(s, &d, STP_AGG_VARIANCE), 1);
	free(s);
}

static void buckets(void)
{
	struct stp_stat_desc d;
	struct stp_stat *s;
	int64_t b;
	int i;

	/* stap(1): hist_linear(x,1,3,1) of -100 1 2 3 100: buckets 0..4, one each */
	s = new_stat(&d, STP_HIST_LINEAR, 1, 3, 1, 0);
	stp_stat_add(s, &d, -100);
	stp_stat_add(s, &d, 1);
	stp_stat_add(s, &d, 2);
	stp_stat_add(s, &d, 3);
	stp_stat_add(s, &d, 100);
	check_int("man.linear.nbuckets", d.nbuckets, 5);
	for (i = 0; i < 5; i++)
		check_int("man.linear.bucket", (stp_hist_bucket(s, &d, i, &b), b), 1);
	check_int("bucket.out-of-range", stp_hist_bucket(s, &d, 5, &b), STP_E_RANGE);
	check_int("bucket.negative", stp_hist_bucket(s, &d, -1, &b), STP_E_RANGE);
	fputs(hist(s, &d, 2), stdout);
	free(s);

	stp_stat_desc_init(&d, STP_HIST_LOG, 0, 0, 0, 0, 0);
	check_int("log.bucket_of(INT64_MIN)", stp_hist_bucket_of(&d, STP_INT64_MIN), 0);
	check_int("log.bucket_of(-2^62)", stp_hist_bucket_of(&d, -(1LL << 62)), 1);
	check_int("log.bucket_of(-3)", stp_hist_bucket_of(&d, -3), 62);
	check_int("log.bucket_of(-2)", stp_hist_bucket_of(&d, -2), 62);
	check_int("log.bucket_of(-1)", stp_hist_bucket_of(&d, -1), 63);
	check_int("log.bucket_of(0)", stp_hist_bucket_of(&d, 0), 64);
	check_int("log.bucket_of(1)", stp_hist_bucket_of(&d, 1), 65);
	check_int("log.bucket_of(3)", stp_hist_bucket_of(&d, 3), 66);
	check_int("log.bucket_of(4)", stp_hist_bucket_of(&d, 4), 67);
	check_int("log.bucket_of(INT64_MAX)", stp_hist_bucket_of(&d, STP_INT64_MAX), 127);

	stp_stat_desc_init(&d, STP_HIST_LINEAR, 0, 100, 10, 0, 0);
	check_int("linear.bucket_of(-1)", stp_hist_bucket_of(&d, -1), 0);
	check_int("linear.bucket_of(0)", stp_hist_bucket_of(&d, 0), 1);
	check_int("linear.bucket_of(9)", stp_hist_bucket_of(&d, 9), 1);
	check_int("linear.bucket_of(100)", stp_hist_bucket_of(&d, 100), 11);
	check_int("linear.bucket_of(109)", stp_hist_bucket_of(&d, 109), 11);
	check_int("linear.bucket_of(110)", stp_hist_bucket_of(&d, 110), 12);
	check_int("linear.bucket_of(INT64_MAX)", stp_hist_bucket_of(&d, STP_INT64_MAX), 12);
	check_int("linear.bucket_of(INT64_MIN)", stp_hist_bucket_of(&d, STP_INT64_MIN), 0);

	stp_stat_desc_init(&d, STP_HIST_LINEAR, STP_INT64_MIN, STP_INT64_MAX, STP_INT64_MAX, 0, 0);
	check_int("linear.huge-range.nbuckets", d.nbuckets, 5);
	check_int("linear.huge-range.bucket_of(INT64_MAX)", stp_hist_bucket_of(&d, STP_INT64_MAX), 3);
}

static void empty_and_errors(void)
{
	static char buf[64];
	struct stp_stat_desc d;
	struct stp_stat *s;
	int64_t v;

	/* absentstats.exp: @count and @sum of an empty stat are 0, the rest are errors */
	s = new_stat(&d, STP_HIST_LOG, 0, 0, 0, 0);
	check_int("empty.count", agg(s, &d, STP_AGG_COUNT), 0);
	check_int("empty.sum", agg(s, &d, STP_AGG_SUM), 0);
	check_int("empty.min", agg(s, &d, STP_AGG_MIN), STP_E_EMPTY);
	check_int("empty.max", agg(s, &d, STP_AGG_MAX), STP_E_EMPTY);
	check_int("empty.avg", agg(s, &d, STP_AGG_AVG), STP_E_EMPTY);
	check_int("empty.variance", agg(s, &d, STP_AGG_VARIANCE), STP_E_EMPTY);
	check_int("empty.hist_log", stp_hist_print(buf, sizeof(buf), s, &d, 2), STP_E_EMPTY);
	check_int("empty.hist_log[5]", stp_hist_bucket(s, &d, 5, &v), STP_E_EMPTY);
	check_int("bad.aggregate", agg(s, &d, 99), STP_E_INVAL);
	free(s);

	s = new_stat(&d, STP_HIST_NONE, 0, 0, 0, 0);
	stp_stat_add(s, &d, 5);
	check_int("nohist.print", stp_hist_print(buf, sizeof(buf), s, &d, 2), STP_E_HIST);
	check_int("nohist.bucket", stp_hist_bucket(s, &d, 0, &v), STP_E_HIST);
	check_int("one-sample.variance", agg(s, &d, STP_AGG_VARIANCE), 0);
	free(s);

	stp_stat_desc_init(&d, STP_HIST_NONE, 0, 0, 0, 0, 0);
	s = calloc(1, stp_stat_size(&d));
	stp_stat_add(s, &d, 1);
	stp_stat_add(s, &d, 2);
	check_int("variance.not-requested", agg(s, &d, STP_AGG_VARIANCE), STP_E_INVAL);
	check_int("variance.not-requested.avg-still-fine", agg(s, &d, STP_AGG_AVG), 1);
	free(s);

	check_int("desc.interval0", stp_stat_desc_init(&d, STP_HIST_LINEAR, 0, 10, 0, 0, 0),
		  STP_E_INVAL);
	check_int("desc.stop<=start", stp_stat_desc_init(&d, STP_HIST_LINEAR, 10, 10, 1, 0, 0),
		  STP_E_INVAL);
	check_int("desc.too-many-buckets",
		  stp_stat_desc_init(&d, STP_HIST_LINEAR, 0, 1000000, 1, 0, 0), STP_E_INVAL);
	check_int("desc.shift63", stp_stat_desc_init(&d, STP_HIST_LOG, 0, 0, 0, 63, 1), STP_E_INVAL);
	check_int("desc.bad-type", stp_stat_desc_init(&d, 7, 0, 0, 0, 0, 0), STP_E_INVAL);
}

static void extremes(void)
{
	static char small[40];
	struct stp_stat_desc d;
	struct stp_stat *s;
	int rc;

	s = new_stat(&d, STP_HIST_LOG, 0, 0, 0, 0);
	stp_stat_add(s, &d, STP_INT64_MAX);
	stp_stat_add(s, &d, STP_INT64_MIN);
	check_int("extremes.min", agg(s, &d, STP_AGG_MIN), STP_INT64_MIN);
	check_int("extremes.max", agg(s, &d, STP_AGG_MAX), STP_INT64_MAX);
	check_int("extremes.sum-wraps", agg(s, &d, STP_AGG_SUM), -1);
	check_int("extremes.avg", agg(s, &d, STP_AGG_AVG), 0);
	printf("     extremes.variance (overflowed, any value) => %lld\n",
	       agg(s, &d, STP_AGG_VARIANCE));
	fputs(hist(s, &d, 2), stdout);

	rc = stp_hist_print(small, sizeof(small), s, &d, 2);
	check_int("hist.truncated.full-length", rc, (long long)strlen(hist(s, &d, 2)));
	check_int("hist.truncated.nul", (long long)strlen(small), sizeof(small) - 1);
	check_int("hist.print_max-bounds", stp_hist_print_max(&d) >= (size_t)rc, 1);
	free(s);

	/* guess: bars use a scale of ceil(max/50) once max > 50 */
	s = new_stat(&d, STP_HIST_LINEAR, 0, 10, 1, 0);
	for (rc = 0; rc < 51; rc++)
		stp_stat_add(s, &d, 3);
	stp_stat_add(s, &d, 5);
	fputs(hist(s, &d, 2), stdout);
	free(s);
}

static void per_cpu_merge(void)
{
	static const int mult[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 12, 13, 14, 15 };
	struct stp_stat_desc d;
	struct stp_stat *cpu[4], *one, *sum, *again;
	int key, i, n = 0;
	static char h1[1 << 14];

	one = new_stat(&d, STP_HIST_LINEAR, 0, 1500, 50, 0);
	sum = calloc(1, stp_stat_size(&d));
	again = calloc(1, stp_stat_size(&d));
	for (i = 0; i < 4; i++)
		cpu[i] = calloc(1, stp_stat_size(&d));
	for (key = 0; key < 100; key++)
		for (i = 0; i < 16; i++)
			stp_stat_add(cpu[n++ % 4], &d, (int64_t)key * mult[i]);
	add_linear_set(one, &d);
	for (i = 0; i < 4; i++)
		stp_stat_merge(sum, cpu[i], &d);
	check_int("merge.count", agg(sum, &d, STP_AGG_COUNT), 1600);
	check_int("merge.sum", agg(sum, &d, STP_AGG_SUM), 653400);
	check_int("merge.min", agg(sum, &d, STP_AGG_MIN), 0);
	check_int("merge.max", agg(sum, &d, STP_AGG_MAX), 1485);
	check_int("merge.avg", agg(sum, &d, STP_AGG_AVG), 408);
	strcpy(h1, hist(one, &d, 2));
	check_text("merge.hist-equals-single-copy", hist(sum, &d, 2), h1);
	/* Integer Welford depends on how samples were split; SystemTap's does too. */
	printf("     merge.variance 4 cpus round-robin => %lld (single copy %lld)\n",
	       agg(sum, &d, STP_AGG_VARIANCE), agg(one, &d, STP_AGG_VARIANCE));
	/* Merging one copy into an empty scratch copy changes nothing. */
	stp_stat_merge(again, one, &d);
	check_int("merge.one-copy.variance", agg(again, &d, STP_AGG_VARIANCE), 450768);
	/* Merging a merged copy again (scratch of scratch) keeps the moments. */
	stp_stat_clear(again, &d);
	stp_stat_merge(again, sum, &d);
	check_int("merge.of-merged.variance", agg(again, &d, STP_AGG_VARIANCE),
		  agg(sum, &d, STP_AGG_VARIANCE));
	stp_stat_clear(again, &d);
	stp_stat_merge(again, cpu[3], &d);
	stp_stat_merge(again, one, &d);
	check_int("merge.count-twice", agg(again, &d, STP_AGG_COUNT), 2000);
	free(one);
	free(sum);
	free(again);
	for (i = 0; i < 4; i++)
		free(cpu[i]);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s DATADIR\n", argv[0]);
		return 2;
	}
	check_datadir = argv[1];
	testsuite_linear();
	testsuite_linear_edges();
	testsuite_log();
	testsuite_elision();
	testsuite_foreach_limit();
	variance_docs();
	buckets();
	empty_and_errors();
	extremes();
	per_cpu_merge();
	return check_summary("test_stat");
}
