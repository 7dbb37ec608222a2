// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_map.c - associative arrays: insertion order, deletes, overflow,
 * wrap-around, sorted iteration (with limit, filters and ties), stats
 * values and per-CPU merging.
 *
 * Texts named after a testsuite file (ii, foreach_limit, map_wrap) are
 * SystemTap's recorded output of the same script; the loops below do what
 * the generated code for that script would do.
 */
#include "../lib/map.h"
#include "check.h"

static char out[1 << 14];

static void emit(const char *fmt, long long a, long long b)
{
	size_t n = strlen(out);

	snprintf(out + n, sizeof(out) - n, fmt, a, b);
}

static struct stp_map *new_map(int nkeys, const int *ktypes, int vtype, uint32_t max, int wrap,
			       uint32_t str_size, const struct stp_stat_desc *sd)
{
	struct stp_map_desc d;
	struct stp_map *m;
	int i, rc;

	memset(&d, 0, sizeof(d));
	d.nkeys = nkeys;
	for (i = 0; i < nkeys; i++)
		d.key_types[i] = ktypes[i];
	d.value_type = vtype;
	d.max_entries = max;
	d.wrap = wrap;
	d.str_size = str_size;
	d.stat = sd;
	rc = stp_map_create(&m, &d);
	if (rc != STP_OK) {
		printf("FAIL stp_map_create %d\n", rc);
		exit(2);
	}
	return m;
}

static const int LONGKEY[] = { STP_TYPE_LONG };

static union stp_arg K(int64_t n)
{
	union stp_arg a;

	a.n = n;
	return a;
}

static union stp_arg KS(const char *s)
{
	union stp_arg a;

	a.s = s;
	return a;
}

/* foreach (k in foo) printf("foo[%d] = %d\n", k, foo[k]) */
static void print_ii(struct stp_map *m)
{
	struct stp_map_node *n;

	for (n = stp_map_first(m); n; n = stp_map_next(m, n))
		emit("foo[%lld] = %lld\n", stp_map_node_key_long(m, n, 0), stp_map_node_long(m, n));
}

/* systemtap.maps/ii.stp */
static void testsuite_ii(void)
{
	struct stp_map *m = new_map(1, LONGKEY, STP_TYPE_LONG, 2048, 0, 128, NULL);
	union stp_arg k;
	int64_t i, v;

	out[0] = '\0';
	for (i = 0; i < 11; i++) {
		k = K(i);
		stp_map_set_long(m, &k, i * i);
	}
	print_ii(m);
	k = K(11);
	stp_map_delete(m, &k);
	emit("\n", 0, 0);
	print_ii(m);
	k = K(5);
	stp_map_delete(m, &k);
	emit("\n", 0, 0);
	print_ii(m);
	k = K(1);
	stp_map_delete(m, &k);
	k = K(10);
	stp_map_delete(m, &k);
	emit("\n", 0, 0);
	print_ii(m);
	k = K(9);
	stp_map_set_long(m, &k, -81);
	k = K(4);
	stp_map_set_long(m, &k, -stp_map_get_long(m, &k));
	k = K(3);
	stp_map_set_long(m, &k, stp_map_get_long(m, &k) * 100);
	emit("\n", 0, 0);
	print_ii(m);
	k = K(4);
	stp_map_delete(m, &k);
	emit("\n", 0, 0);
	print_ii(m);
	for (i = 0; i < 11; i++) {
		k = K(i);
		stp_map_delete(m, &k);
	}
	emit("\n", 0, 0);
	print_ii(m);
	for (i = 0; i < 11; i++) {
		k = K(i);
		stp_map_set_long(m, &k, i * i);
	}
	for (i = 0; i < 11; i++) {
		k = K(i - 1);
		v = stp_map_get_long(m, &k);	/* foo[-1] reads 0 and is not inserted */
		k = K(i);
		stp_map_add_long(m, &k, v, NULL);
	}
	emit("\n", 0, 0);
	print_ii(m);
	check_file("ii", out, "ii.txt");
	check_int("ii.read-does-not-insert", stp_map_size(m), 11);
	stp_map_destroy(m);
}

/* foreach (key in array[+] [filter] limit n) printf("key %d, value %d\n") */
static void foreach_print(struct stp_map *m, int64_t limit, const union stp_arg *filter,
			  int count_line)
{
	struct stp_map_node *n;
	int64_t i = 0;

	for (n = stp_map_first(m); n && i < limit; n = stp_map_next(m, n)) {
		if (filter && !stp_map_node_matches(m, n, filter, 0))
			continue;
		emit("key %lld, value %lld\n", stp_map_node_key_long(m, n, 0), stp_map_node_long(m, n));
		i++;
	}
	if (count_line)
		emit("loop had %lld iterations\n", i, 0);
}

/* systemtap.maps/foreach_limit.stp, "Arrays:" section */
static void testsuite_foreach_limit(void)
{
	static const int64_t kv[][2] = { { 9, 18 }, { 1, 40 }, { 8, 16 }, { 2, 4 }, { 7, 14 },
					 { 3, 36 }, { 6, 12 }, { 5, 10 }, { 4, 8 }, { 10, 20 } };
	struct stp_map *m = new_map(1, LONGKEY, STP_TYPE_LONG, 2048, 0, 128, NULL);
	union stp_arg k;
	int64_t x;
	size_t i;

	out[0] = '\0';
	for (i = 0; i < sizeof(kv) / sizeof(kv[0]); i++) {
		k = K(kv[i][0]);
		stp_map_set_long(m, &k, kv[i][1]);
	}
	emit("\nArrays:\nunsorted:\n", 0, 0);
	foreach_print(m, STP_INT64_MAX, NULL, 0);
	emit("\nunsorted limit 5:\n", 0, 0);
	foreach_print(m, 5, NULL, 1);
	emit("\nsorted (by values) limit 5:\n", 0, 0);
	stp_map_sort(m, STP_SORT_VALUE, 1, 0);
	foreach_print(m, 5, NULL, 1);
	emit("\nsorted (by keys) limit 5:\n", 0, 0);
	stp_map_sort(m, 1, 1, 0);
	foreach_print(m, 5, NULL, 1);
	x = 3;
	emit("\nsorted (by values) limit x (%lld):\n", x, 0);
	stp_map_sort(m, STP_SORT_VALUE, 1, 0);
	foreach_print(m, x, NULL, 1);
	emit("\nsorted (by values) limit x * 2 (%lld):\n", x * 2, 0);
	stp_map_sort(m, STP_SORT_VALUE, 1, 0);
	foreach_print(m, x * 2, NULL, 1);
	emit("\nsorted (by values) limit ++x:\n", 0, 0);
	stp_map_sort(m, STP_SORT_VALUE, 1, 0);
	foreach_print(m, ++x, NULL, 1);
	emit("x ended up as %lld\n", x, 0);
	emit("\nsorted (by values) limit x++:\n", 0, 0);
	stp_map_sort(m, STP_SORT_VALUE, 1, 0);
	foreach_print(m, x++, NULL, 1);
	emit("x ended up as %lld\n", x, 0);
	emit("\nsorted (by values) with key specified limit x++:\n", 0, 0);
	k = K(++x);
	stp_map_sort(m, STP_SORT_VALUE, 1, 0);
	foreach_print(m, x, &k, 1);
	emit("x ended up as %lld\n", x, 0);
	check_file("foreach_limit.arrays", out, "foreach_limit_arrays.txt");
	stp_map_destroy(m);
}

/* systemtap.maps/map_wrap1.stp and map_wrap2.stp: global foo%[5] */
static void testsuite_map_wrap(void)
{
	struct stp_stat_desc sd;
	struct stp_map *m;
	struct stp_map_node *n;
	struct stp_stat *s;
	union stp_arg k;
	int64_t i;

	m = new_map(1, LONGKEY, STP_TYPE_LONG, 5, 1, 128, NULL);
	for (i = 0; i < 10; i++) {
		k = K(i);
		check_int("map_wrap1.insert", stp_map_set_long(m, &k, i), STP_OK);
	}
	out[0] = '\0';
	/* Assumes the shutdown printer of unread globals sorts by value, descending. */
	stp_map_sort(m, STP_SORT_VALUE, -1, 0);
	for (n = stp_map_first(m); n; n = stp_map_next(m, n))
		emit("foo[%lld]=%lld\n", stp_map_node_key_long(m, n, 0), stp_map_node_long(m, n));
	check_str("map_wrap1", out, "foo[9]=9\nfoo[8]=8\nfoo[7]=7\nfoo[6]=6\nfoo[5]=5\n");
	stp_map_destroy(m);

	stp_stat_desc_init(&sd, STP_HIST_NONE, 0, 0, 0, 0, 0);
	m = new_map(1, LONGKEY, STP_TYPE_STAT, 5, 1, 128, &sd);
	for (i = 0; i < 10; i++) {
		k = K(i);
		stp_map_stat_add(m, &k, i);
	}
	out[0] = '\0';
	stp_map_sort(m, 1, 1, 0);
	for (n = stp_map_first(m); n; n = stp_map_next(m, n)) {
		s = stp_map_node_stat(m, n);
		emit("foo[%lld]: count:%lld  ", stp_map_node_key_long(m, n, 0), s->count);
		emit("sum:%lld  avg:%lld  ", s->sum, s->sum / s->count);
		emit("min:%lld  max:%lld\n", s->min, s->max);
	}
	check_str("map_wrap2", out,
		  "foo[5]: count:1  sum:5  avg:5  min:5  max:5\n"
		  "foo[6]: count:1  sum:6  avg:6  min:6  max:6\n"
		  "foo[7]: count:1  sum:7  avg:7  min:7  max:7\n"
		  "foo[8]: count:1  sum:8  avg:8  min:8  max:8\n"
		  "foo[9]: count:1  sum:9  avg:9  min:9  max:9\n");
	stp_map_destroy(m);
}

/* @agg(a[*, k]): the matching entries' statistics merged. */
static void stat_slices(void)
{
	static const int KEYS2[] = { STP_TYPE_LONG, STP_TYPE_LONG };
	struct stp_stat_desc sd;
	struct stp_map *m;
	union stp_arg k[2];
	int64_t v = -1;

	stp_stat_desc_init(&sd, STP_HIST_LOG, 0, 0, 0, 0, 1);
	m = new_map(2, KEYS2, STP_TYPE_STAT, 16, 0, 128, &sd);
	k[0] = K(1); k[1] = K(100);
	stp_map_stat_add(m, k, 5);
	k[1] = K(200);
	stp_map_stat_add(m, k, 7);
	stp_map_stat_add(m, k, 9);
	k[0] = K(2); k[1] = K(100);
	stp_map_stat_add(m, k, 1);
	k[0] = K(1); k[1] = K(0);
	check_int("slice.count", stp_map_get_stat_agg_match(m, k, 2u, STP_AGG_COUNT, &v), STP_OK);
	check_int("slice.count.value", v, 3);
	stp_map_get_stat_agg_match(m, k, 2u, STP_AGG_SUM, &v);
	check_int("slice.sum", v, 21);
	stp_map_get_stat_agg_match(m, k, 2u, STP_AGG_MIN, &v);
	check_int("slice.min", v, 5);
	stp_map_get_stat_agg_match(m, k, 2u, STP_AGG_MAX, &v);
	check_int("slice.max", v, 9);
	stp_map_get_stat_agg_match(m, k, 2u, STP_AGG_AVG, &v);
	check_int("slice.avg", v, 7);
	stp_map_get_stat_agg_match(m, k, 2u, STP_AGG_VARIANCE, &v);
	check_int("slice.variance", v, 4);
	k[0] = K(0); k[1] = K(100);
	stp_map_get_stat_agg_match(m, k, 1u, STP_AGG_SUM, &v);
	check_int("slice.other-column", v, 6);
	stp_map_get_stat_agg_match(m, k, 3u, STP_AGG_COUNT, &v);
	check_int("slice.all", v, 4);
	k[0] = K(9);
	check_int("slice.none.count", stp_map_get_stat_agg_match(m, k, 2u, STP_AGG_COUNT, &v), STP_OK);
	check_int("slice.none.count.value", v, 0);
	check_int("slice.none.min", stp_map_get_stat_agg_match(m, k, 2u, STP_AGG_MIN, &v), STP_E_EMPTY);
	stp_map_destroy(m);
}

static void overflow_and_wrap(void)
{
	struct stp_map *m = new_map(1, LONGKEY, STP_TYPE_LONG, 3, 0, 128, NULL);
	struct stp_map_node *n;
	union stp_arg k;
	int64_t i;

	for (i = 1; i <= 3; i++) {
		k = K(i);
		stp_map_set_long(m, &k, i);
	}
	k = K(4);
	check_int("overflow.set", stp_map_set_long(m, &k, 4), STP_E_OVERFLOW);
	check_int("overflow.add", stp_map_add_long(m, &k, 1, NULL), STP_E_OVERFLOW);
	check_int("overflow.not-inserted", stp_map_exists(m, &k), 0);
	check_int("overflow.capacity", stp_map_capacity(m), 3);
	k = K(2);
	check_int("overflow.update-existing", stp_map_set_long(m, &k, 20), STP_OK);
	stp_map_delete(m, &k);
	k = K(4);
	check_int("overflow.after-delete", stp_map_set_long(m, &k, 4), STP_OK);
	out[0] = '\0';
	for (n = stp_map_first(m); n; n = stp_map_next(m, n))
		emit("%lld=%lld ", stp_map_node_key_long(m, n, 0), stp_map_node_long(m, n));
	check_str("overflow.order", out, "1=1 3=3 4=4 ");
	stp_map_destroy(m);

	/* wrap: the oldest insertion goes; an update does not refresh age */
	m = new_map(1, LONGKEY, STP_TYPE_LONG, 3, 1, 128, NULL);
	for (i = 1; i <= 3; i++) {
		k = K(i);
		stp_map_set_long(m, &k, i);
	}
	k = K(1);
	stp_map_add_long(m, &k, 100, NULL);
	k = K(4);
	stp_map_set_long(m, &k, 4);
	out[0] = '\0';
	for (n = stp_map_first(m); n; n = stp_map_next(m, n))
		emit("%lld=%lld ", stp_map_node_key_long(m, n, 0), stp_map_node_long(m, n));
	check_str("wrap.evicts-oldest-insert", out, "2=2 3=3 4=4 ");
	/* after a sort, the list head (first in sorted order) is evicted next */
	stp_map_sort(m, STP_SORT_VALUE, -1, 0);
	k = K(5);
	stp_map_set_long(m, &k, 5);
	out[0] = '\0';
	for (n = stp_map_first(m); n; n = stp_map_next(m, n))
		emit("%lld=%lld ", stp_map_node_key_long(m, n, 0), stp_map_node_long(m, n));
	check_str("wrap.after-sort", out, "3=3 2=2 5=5 ");
	stp_map_destroy(m);

	/* many wraps over a large map: exactly the last N keys survive */
	m = new_map(1, LONGKEY, STP_TYPE_LONG, 1000, 1, 128, NULL);
	for (i = 0; i < 5000; i++) {
		k = K(i * 7919);
		stp_map_set_long(m, &k, i);
	}
	for (i = 0; i < 5000; i++) {
		k = K(i * 7919);
		if (stp_map_exists(m, &k) != (i >= 4000))
			break;
	}
	check_int("wrap.last-1000-survive", i, 5000);
	check_int("wrap.size", stp_map_size(m), 1000);
	stp_map_destroy(m);
}

static void print_si(const char *name, struct stp_map *m, const char *want)
{
	struct stp_map_node *n;
	size_t len;

	out[0] = '\0';
	for (n = stp_map_first(m); n; n = stp_map_next(m, n)) {
		len = strlen(out);
		snprintf(out + len, sizeof(out) - len, "%s=%lld ", stp_map_node_key_str(m, n, 0),
			 (long long)stp_map_node_long(m, n));
	}
	check_str(name, out, want);
}

/* Sorting ties are stable: equal elements keep their current list order. */
static void sort_ties(void)
{
	static const int STRKEY[] = { STP_TYPE_STRING };
	static const char *keys[] = { "a", "b", "c", "d", "e", "f" };
	static const int64_t vals[] = { 3, 1, 3, 2, 1, 3 };
	struct stp_map *m = new_map(1, STRKEY, STP_TYPE_LONG, 16, 0, 128, NULL);
	union stp_arg k;
	int i;

	for (i = 0; i < 6; i++) {
		k = KS(keys[i]);
		stp_map_set_long(m, &k, vals[i]);
	}
	stp_map_sort(m, STP_SORT_VALUE, 1, 0);
	print_si("ties.value-asc", m, "b=1 e=1 d=2 a=3 c=3 f=3 ");
	stp_map_sort(m, 1, 1, 0);
	stp_map_sort(m, STP_SORT_VALUE, -1, 0);
	print_si("ties.value-desc", m, "a=3 c=3 f=3 d=2 b=1 e=1 ");
	/* history matters: after a key-descending sort, ties follow it */
	stp_map_sort(m, 1, -1, 0);
	stp_map_sort(m, STP_SORT_VALUE, 1, 0);
	print_si("ties.after-key-desc", m, "e=1 b=1 d=2 f=3 c=3 a=3 ");
	/* limit 2: the first two of the sort in front, the rest as they were */
	stp_map_sortn(m, STP_SORT_VALUE, -1, 0, 2);
	print_si("ties.sortn-2", m, "f=3 c=3 e=1 b=1 d=2 a=3 ");
	stp_map_sortn(m, 1, 1, 0, 0);
	print_si("ties.sortn-0", m, "f=3 c=3 e=1 b=1 d=2 a=3 ");
	stp_map_sortn(m, 1, 1, 0, 6);
	print_si("ties.sortn-all", m, "a=3 b=1 c=3 d=2 e=1 f=3 ");
	check_int("sort.bad-column", stp_map_sort(m, 2, 1, 0), STP_E_INVAL);
	check_int("sort.bad-dir", stp_map_sort(m, 1, 0, 0), STP_E_INVAL);
	stp_map_destroy(m);
}

static void multi_key(void)
{
	static const int KT[] = { STP_TYPE_STRING, STP_TYPE_LONG };
	static const char *names[] = { "bash", "sshd", "bash", "cron", "sshd", "bash" };
	static const int64_t pids[] = { 3, 1, 2, 2, 9, -5 };
	struct stp_map *m = new_map(2, KT, STP_TYPE_LONG, 64, 0, 128, NULL);
	struct stp_map_node *n;
	union stp_arg k[2];
	size_t len;
	int i;

	for (i = 0; i < 6; i++) {
		k[0] = KS(names[i]);
		k[1] = K(pids[i]);
		stp_map_add_long(m, k, 10 * (i + 1), NULL);
	}
	k[0] = KS("bash");
	k[1] = K(3);
	stp_map_add_long(m, k, 1, NULL);

#define DUMP(name, want)                                                                  \
	do {                                                                              \
		out[0] = '\0';                                                            \
		for (n = stp_map_first(m); n; n = stp_map_next(m, n)) {                   \
			len = strlen(out);                                                \
			snprintf(out + len, sizeof(out) - len, "[%s,%lld]=%lld ",         \
				 stp_map_node_key_str(m, n, 0),                           \
				 (long long)stp_map_node_key_long(m, n, 1),               \
				 (long long)stp_map_node_long(m, n));                     \
		}                                                                         \
		check_str(name, out, want);                                               \
	} while (0)

	DUMP("multi.insertion", "[bash,3]=11 [sshd,1]=20 [bash,2]=30 [cron,2]=40 [sshd,9]=50 [bash,-5]=60 ");
	stp_map_sort(m, 2, 1, 0);
	DUMP("multi.key2-asc", "[bash,-5]=60 [sshd,1]=20 [bash,2]=30 [cron,2]=40 [bash,3]=11 [sshd,9]=50 ");
	stp_map_sort(m, 1, -1, 0);
	DUMP("multi.key1-desc", "[sshd,1]=20 [sshd,9]=50 [cron,2]=40 [bash,-5]=60 [bash,2]=30 [bash,3]=11 ");
	stp_map_sort(m, STP_SORT_VALUE, -1, 0);
	DUMP("multi.value-desc", "[bash,-5]=60 [sshd,9]=50 [cron,2]=40 [bash,2]=30 [sshd,1]=20 [bash,3]=11 ");

	k[0] = KS("nobody");
	k[1] = K(2);
	check_int("multi.exists[*,2]", stp_map_exists_match(m, k, 1U << 0), 1);
	check_int("multi.exists[nobody,*]", stp_map_exists_match(m, k, 1U << 1), 0);
	check_int("multi.exists[nobody,2]", stp_map_exists_match(m, k, 0), 0);
	check_int("multi.delete[*,2]", stp_map_delete_match(m, k, 1U << 0), 2);
	DUMP("multi.after-delete[*,2]", "[bash,-5]=60 [sshd,9]=50 [sshd,1]=20 [bash,3]=11 ");
	k[0] = KS("sshd");
	check_int("multi.delete[sshd,*]", stp_map_delete_match(m, k, 1U << 1), 2);
	check_int("multi.delete[*,*]", stp_map_delete_match(m, k, 3), 2);
	check_int("multi.empty", stp_map_size(m), 0);
	stp_map_destroy(m);
#undef DUMP
}

static void nine_keys_and_strings(void)
{
	static const int KT9[] = { STP_TYPE_LONG,   STP_TYPE_STRING, STP_TYPE_LONG,
				   STP_TYPE_STRING, STP_TYPE_LONG,   STP_TYPE_STRING,
				   STP_TYPE_LONG,   STP_TYPE_STRING, STP_TYPE_LONG };
	static const int STRKEY[] = { STP_TYPE_STRING };
	union stp_arg k[9];
	struct stp_map *m;
	int i;

	m = new_map(9, KT9, STP_TYPE_STRING, 8, 0, 16, NULL);
	for (i = 0; i < 9; i++)
		k[i] = (i % 2) ? KS("s") : K(i);
	stp_map_set_str(m, k, "a value longer than sixteen bytes");
	check_str("nine.value-truncated", stp_map_get_str(m, k), "a value longer ");
	k[8] = K(99);
	check_str("nine.missing-reads-empty", stp_map_get_str(m, k), "");
	check_int("nine.missing-not-inserted", stp_map_size(m), 1);
	k[8] = K(8);
	check_int("nine.exists", stp_map_exists(m, k), 1);
	stp_map_destroy(m);

	/* keys are truncated to MAXSTRINGLEN-1 like every script string */
	m = new_map(1, STRKEY, STP_TYPE_LONG, 8, 0, 8, NULL);
	k[0] = KS("abcdefghij");
	stp_map_set_long(m, k, 1);
	k[0] = KS("abcdefgZZZ");
	check_int("strkey.truncated-equal", stp_map_get_long(m, k), 1);
	check_str("strkey.stored", stp_map_node_key_str(m, stp_map_first(m), 0), "abcdefg");
	k[0] = KS("abcdef");
	check_int("strkey.prefix-differs", stp_map_exists(m, k), 0);
	k[0] = KS("");
	stp_map_set_long(m, k, 2);
	check_int("strkey.empty-key", stp_map_get_long(m, k), 2);
	stp_map_destroy(m);
}

static void long_values(void)
{
	struct stp_map *m = new_map(1, LONGKEY, STP_TYPE_LONG, 8, 0, 128, NULL);
	union stp_arg k = K(1);
	int64_t r;

	stp_map_add_long(m, &k, 1, &r);
	check_int("incr.missing-becomes-1", r, 1);
	stp_map_set_long(m, &k, STP_INT64_MAX);
	stp_map_add_long(m, &k, 1, &r);
	check_int("incr.wraps", r, STP_INT64_MIN);
	stp_map_set_long(m, &k, 0);
	check_int("set-zero.keeps-entry", stp_map_exists(m, &k), 1);
	check_int("delete.present", stp_map_delete(m, &k), 1);
	check_int("delete.absent", stp_map_delete(m, &k), 0);
	stp_map_clear(m);
	check_int("clear.size", stp_map_size(m), 0);
	check_int("clear.first", stp_map_first(m) == NULL, 1);
	stp_map_destroy(m);
}

static void stat_values(void)
{
	static const int STRKEY[] = { STP_TYPE_STRING };
	static const char *who[] = { "a", "b", "c", "a", "b", "a", "d" };
	static const int64_t val[] = { 10, 1, 7, -4, 3, 100, 7 };
	struct stp_stat_desc sd;
	struct stp_map *m;
	struct stp_map_node *n;
	union stp_arg k;
	int64_t v;
	size_t len;
	int i;

	stp_stat_desc_init(&sd, STP_HIST_LOG, 0, 0, 0, 0, 1);
	m = new_map(1, STRKEY, STP_TYPE_STAT, 16, 0, 128, &sd);
	for (i = 0; i < 7; i++) {
		k = KS(who[i]);
		stp_map_stat_add(m, &k, val[i]);
	}
	k = KS("zz");
	check_int("stat.missing.count", (stp_map_get_stat_agg(m, &k, STP_AGG_COUNT, &v), v), 0);
	check_int("stat.missing.min", stp_map_get_stat_agg(m, &k, STP_AGG_MIN, &v), STP_E_EMPTY);
	check_int("stat.missing.not-inserted", stp_map_size(m), 4);
	k = KS("a");
	check_int("stat.a.avg", (stp_map_get_stat_agg(m, &k, STP_AGG_AVG, &v), v), 35);

#define DUMPS(name, agg, want)                                                            \
	do {                                                                              \
		out[0] = '\0';                                                            \
		for (n = stp_map_first(m); n; n = stp_map_next(m, n)) {                   \
			stp_stat_get(stp_map_node_stat(m, n), &sd, agg, &v);              \
			len = strlen(out);                                                \
			snprintf(out + len, sizeof(out) - len, "%s:%lld ",                \
				 stp_map_node_key_str(m, n, 0), (long long)v);            \
		}                                                                         \
		check_str(name, out, want);                                               \
	} while (0)

	stp_map_sort(m, STP_SORT_VALUE, -1, STP_AGG_COUNT);
	DUMPS("stat.sort-count-desc", STP_AGG_COUNT, "a:3 b:2 c:1 d:1 ");
	stp_map_sort(m, STP_SORT_VALUE, 1, STP_AGG_SUM);
	DUMPS("stat.sort-sum-asc", STP_AGG_SUM, "b:4 c:7 d:7 a:106 ");
	stp_map_sort(m, STP_SORT_VALUE, 1, STP_AGG_MIN);
	DUMPS("stat.sort-min-asc", STP_AGG_MIN, "a:-4 b:1 c:7 d:7 ");
	stp_map_sort(m, STP_SORT_VALUE, -1, STP_AGG_MAX);
	DUMPS("stat.sort-max-desc", STP_AGG_MAX, "a:100 c:7 d:7 b:3 ");
	stp_map_sort(m, STP_SORT_VALUE, 1, STP_AGG_AVG);
	DUMPS("stat.sort-avg-asc", STP_AGG_AVG, "b:2 c:7 d:7 a:35 ");
	stp_map_sort(m, 1, -1, 0);
	DUMPS("stat.sort-key-desc", STP_AGG_COUNT, "d:1 c:1 b:2 a:3 ");
	check_int("stat.sort-bad-agg", stp_map_sort(m, STP_SORT_VALUE, 1, 42), STP_E_INVAL);
	stp_map_destroy(m);
#undef DUMPS
}

static void per_cpu(void)
{
	static const int STRKEY[] = { STP_TYPE_STRING };
	struct stp_stat_desc sd;
	struct stp_map *cpu0, *cpu1, *agg, *tiny;
	struct stp_map_node *n;
	struct stp_stat *s;
	union stp_arg k;
	size_t len;
	int64_t v;

	stp_stat_desc_init(&sd, STP_HIST_LINEAR, 0, 100, 10, 0, 1);
	cpu0 = new_map(1, STRKEY, STP_TYPE_STAT, 8, 0, 64, &sd);
	cpu1 = new_map(1, STRKEY, STP_TYPE_STAT, 8, 0, 64, &sd);
	agg = new_map(1, STRKEY, STP_TYPE_STAT, 8, 0, 64, &sd);
	tiny = new_map(1, STRKEY, STP_TYPE_STAT, 2, 0, 64, &sd);
	k = KS("read");
	stp_map_stat_add(cpu0, &k, 5);
	stp_map_stat_add(cpu1, &k, 50);
	stp_map_stat_add(cpu1, &k, 500);
	k = KS("write");
	stp_map_stat_add(cpu0, &k, 7);
	k = KS("open");
	stp_map_stat_add(cpu1, &k, -3);
	check_int("percpu.merge0", stp_map_merge_stats(agg, cpu0), STP_OK);
	check_int("percpu.merge1", stp_map_merge_stats(agg, cpu1), STP_OK);
	out[0] = '\0';
	for (n = stp_map_first(agg); n; n = stp_map_next(agg, n)) {
		s = stp_map_node_stat(agg, n);
		len = strlen(out);
		snprintf(out + len, sizeof(out) - len, "%s:n=%lld,sum=%lld,min=%lld,max=%lld ",
			 stp_map_node_key_str(agg, n, 0), (long long)s->count, (long long)s->sum,
			 (long long)s->min, (long long)s->max);
	}
	check_str("percpu.aggregate", out,
		  "read:n=3,sum=555,min=5,max=500 write:n=1,sum=7,min=7,max=7 open:n=1,sum=-3,min=-3,max=-3 ");
	k = KS("read");
	stp_hist_bucket(stp_map_get_stat(agg, &k), &sd, 12, &v);
	check_int("percpu.read.overflow-bucket", v, 1);
	check_int("percpu.tiny-overflows", (stp_map_merge_stats(tiny, cpu0),
					     stp_map_merge_stats(tiny, cpu1)), STP_E_OVERFLOW);
	stp_map_destroy(cpu0);
	stp_map_destroy(cpu1);
	stp_map_destroy(agg);
	stp_map_destroy(tiny);
}

static void bulk(void)
{
	struct stp_map *m = new_map(1, LONGKEY, STP_TYPE_LONG, 2048, 0, 128, NULL);
	union stp_arg k;
	int64_t i, bad = 0;

	for (i = 0; i < 2048; i++) {
		k = K(i << 11);	/* keys that share low bits */
		stp_map_set_long(m, &k, i);
	}
	k = K(1);
	check_int("bulk.full", stp_map_set_long(m, &k, 1), STP_E_OVERFLOW);
	for (i = 0; i < 2048; i += 2) {
		k = K(i << 11);
		stp_map_delete(m, &k);
	}
	for (i = 0; i < 2048; i++) {
		k = K(i << 11);
		if (stp_map_exists(m, &k) != (i & 1) ||
		    ((i & 1) && stp_map_get_long(m, &k) != i))
			bad++;
	}
	check_int("bulk.half-deleted", bad, 0);
	for (i = 0; i < 1024; i++) {
		k = K(-i);
		if (stp_map_set_long(m, &k, i) != STP_OK)
			bad++;
	}
	check_int("bulk.refilled", bad + stp_map_size(m), 2048);
	stp_map_sort(m, 1, 1, 0);
	check_int("bulk.sorted-first", stp_map_node_key_long(m, stp_map_first(m), 0), -1023);
	stp_map_destroy(m);
}

/* A deliberately naive model of a one-key long map: an ordered array. */
struct model {
	int64_t k[64], v[64];
	int n, cap, wrap;
};

static int model_find(const struct model *md, int64_t k)
{
	int i;

	for (i = 0; i < md->n; i++)
		if (md->k[i] == k)
			return i;
	return -1;
}

static void model_remove(struct model *md, int i)
{
	memmove(md->k + i, md->k + i + 1, (size_t)(md->n - i - 1) * sizeof(int64_t));
	memmove(md->v + i, md->v + i + 1, (size_t)(md->n - i - 1) * sizeof(int64_t));
	md->n--;
}

/* Returns the expected status of a[k] += d (or = d when set). */
static int model_store(struct model *md, int64_t k, int64_t d, int set)
{
	int i = model_find(md, k);

	if (i < 0) {
		if (md->n == md->cap) {
			if (!md->wrap)
				return STP_E_OVERFLOW;
			model_remove(md, 0);
		}
		i = md->n++;
		md->k[i] = k;
		md->v[i] = 0;
	}
	md->v[i] = set ? d : md->v[i] + d;
	return STP_OK;
}

/* Stable insertion sort, as the map's merge sort must order ties. */
static void model_sort(struct model *md, int column, int dir)
{
	int i, j;
	int64_t k, v, a, b;

	for (i = 1; i < md->n; i++) {
		k = md->k[i];
		v = md->v[i];
		for (j = i; j > 0; j--) {
			a = column ? md->k[j - 1] : md->v[j - 1];
			b = column ? k : v;
			if (dir > 0 ? a <= b : a >= b)
				break;
			md->k[j] = md->k[j - 1];
			md->v[j] = md->v[j - 1];
		}
		md->k[j] = k;
		md->v[j] = v;
	}
}

static int model_same(struct stp_map *m, const struct model *md)
{
	struct stp_map_node *n;
	int i = 0;

	if ((int)stp_map_size(m) != md->n)
		return 0;
	for (n = stp_map_first(m); n; n = stp_map_next(m, n), i++)
		if (i >= md->n || stp_map_node_key_long(m, n, 0) != md->k[i] ||
		    stp_map_node_long(m, n) != md->v[i])
			return 0;
	return i == md->n;
}

/* Random operations on real maps and the model must never disagree. */
static void random_ops(void)
{
	static struct model md;
	uint64_t x = 88172645463325252ULL;
	struct stp_map *m;
	union stp_arg k;
	int round, op, rc, want, bad = 0, steps = 0;
	int64_t key, val;

	for (round = 0; round < 40; round++) {
		memset(&md, 0, sizeof(md));
		md.cap = 1 + round % 32;
		md.wrap = round & 1;
		m = new_map(1, LONGKEY, STP_TYPE_LONG, (uint32_t)md.cap, md.wrap, 16, NULL);
		for (op = 0; op < 3000; op++, steps++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			key = (int64_t)(x % 48) - 8;
			val = (int64_t)((x >> 8) % 5);
			k = K(key);
			switch ((x >> 20) % 16) {
			case 0: case 1: case 2: case 3:
				want = model_store(&md, key, val, 1);
				rc = stp_map_set_long(m, &k, val);
				break;
			case 4: case 5: case 6:
				want = model_store(&md, key, val, 0);
				rc = stp_map_add_long(m, &k, val, NULL);
				break;
			case 7: case 8: case 9:
				want = model_find(&md, key) >= 0;
				if (want)
					model_remove(&md, model_find(&md, key));
				rc = stp_map_delete(m, &k);
				break;
			case 10: case 11:
				want = model_find(&md, key) >= 0;
				rc = stp_map_exists(m, &k);
				if (rc && stp_map_get_long(m, &k) != md.v[model_find(&md, key)])
					bad++;
				break;
			case 12: case 13: case 14:
				want = STP_OK;
				model_sort(&md, (int)(x >> 30) & 1, (x >> 31) & 1 ? 1 : -1);
				rc = stp_map_sort(m, (int)(x >> 30) & 1, (x >> 31) & 1 ? 1 : -1, 0);
				break;
			default:
				if ((x >> 33) % 8 == 0) {
					md.n = 0;
					stp_map_clear(m);
				}
				want = rc = 0;
				break;
			}
			if (rc != want || !model_same(m, &md))
				bad++;
		}
		stp_map_destroy(m);
	}
	check_int("random-ops.disagreements", bad, 0);
	check_int("random-ops.steps", steps, 120000);
}

static void descriptors(void)
{
	struct stp_map_desc d;
	struct stp_map *m;
	struct stp_stat_desc sd;

	memset(&d, 0, sizeof(d));
	d.nkeys = 1;
	d.key_types[0] = STP_TYPE_LONG;
	d.value_type = STP_TYPE_LONG;
	d.max_entries = 2048;
	d.str_size = 128;
	check_int("desc.ok", stp_map_create(&m, &d), STP_OK);
	printf("     layout [long] -> long: %zu bytes/entry\n", stp_map_node_size(m));
	stp_map_destroy(m);
	d.key_types[0] = STP_TYPE_STRING;
	stp_map_create(&m, &d);
	printf("     layout [string] -> long, MAXSTRINGLEN 128: %zu bytes/entry\n",
	       stp_map_node_size(m));
	stp_map_destroy(m);
	d.str_size = 512;
	stp_map_create(&m, &d);
	printf("     layout [string] -> long, MAXSTRINGLEN 512: %zu bytes/entry\n",
	       stp_map_node_size(m));
	stp_map_destroy(m);
	d.str_size = 128;
	d.nkeys = 2;
	d.key_types[1] = STP_TYPE_LONG;
	d.value_type = STP_TYPE_STRING;
	stp_map_create(&m, &d);
	printf("     layout [string, long] -> string, MAXSTRINGLEN 128: %zu bytes/entry\n",
	       stp_map_node_size(m));
	stp_map_destroy(m);
	d.nkeys = 1;
	d.key_types[0] = STP_TYPE_LONG;
	d.value_type = STP_TYPE_STAT;
	stp_stat_desc_init(&sd, STP_HIST_NONE, 0, 0, 0, 0, 0);
	d.stat = &sd;
	stp_map_create(&m, &d);
	printf("     layout [long] -> stat: %zu bytes/entry\n", stp_map_node_size(m));
	stp_map_destroy(m);
	stp_stat_desc_init(&sd, STP_HIST_LOG, 0, 0, 0, 0, 0);
	stp_map_create(&m, &d);
	printf("     layout [long] -> stat with @hist_log: %zu bytes/entry\n", stp_map_node_size(m));
	stp_map_destroy(m);

	d.stat = NULL;
	check_int("desc.stat-without-desc", stp_map_create(&m, &d), STP_E_INVAL);
	d.value_type = STP_TYPE_LONG;
	d.nkeys = 0;
	check_int("desc.no-keys", stp_map_create(&m, &d), STP_E_INVAL);
	d.nkeys = 10;
	check_int("desc.ten-keys", stp_map_create(&m, &d), STP_E_INVAL);
	d.nkeys = 1;
	d.key_types[0] = STP_TYPE_STAT;
	check_int("desc.stat-key", stp_map_create(&m, &d), STP_E_INVAL);
	d.key_types[0] = STP_TYPE_LONG;
	d.max_entries = 0;
	check_int("desc.zero-entries", stp_map_create(&m, &d), STP_E_INVAL);
	check_int("desc.failure-leaves-null", m == NULL, 1);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s DATADIR\n", argv[0]);
		return 2;
	}
	check_datadir = argv[1];
	testsuite_ii();
	testsuite_foreach_limit();
	testsuite_map_wrap();
	overflow_and_wrap();
	stat_slices();
	sort_ties();
	multi_key();
	nine_keys_and_strings();
	long_values();
	stat_values();
	per_cpu();
	bulk();
	random_ops();
	descriptors();
	return check_summary("test_map");
}
