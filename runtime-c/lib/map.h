/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * map.h - SystemTap associative arrays on preallocated pools.
 *
 * A map has 1..9 keys (each long or string) and a long, string or
 * statistics value.  All memory - a fixed pool of entries and a hash table -
 * is allocated by stp_map_create() at module init; no later call allocates,
 * sleeps or recurses, so every operation is safe in probe context (the
 * caller provides the locking).
 *
 * Entries form a list in insertion order: that is the order of an unsorted
 * foreach, and the head of that list is what a wrap-around map (global
 * a%[N]) evicts when a new key arrives while it is full.  stp_map_sort()
 * reorders that list in place with a stable merge sort, so a sorted
 * foreach is "sort, then walk the list"; ties keep their previous list
 * order (insertion order unless an earlier sort reordered it).
 *
 * Keys are passed as an array of union stp_arg in declaration order.
 * String keys and values are stored inline and truncated to str_size-1
 * bytes, exactly as MAXSTRINGLEN truncates every script string.
 */
#ifndef STP_MAP_H
#define STP_MAP_H

#include "common.h"
#include "stat.h"

#define STP_MAP_MAX_KEYS 9
/* MAXMAPENTRIES default (stap(1)). */
#define STP_MAP_DEFAULT_ENTRIES 2048

/* Sort column for stp_map_sort(): the value, or key 1..nkeys. */
#define STP_SORT_VALUE 0

/* Everything that fixes a map's shape; from the global's declaration. */
struct stp_map_desc {
	int nkeys;				/* 1..STP_MAP_MAX_KEYS */
	int key_types[STP_MAP_MAX_KEYS];	/* STP_TYPE_LONG or STP_TYPE_STRING */
	int value_type;				/* STP_TYPE_LONG, _STRING or _STAT */
	uint32_t max_entries;			/* global a[N], else MAXMAPENTRIES */
	int sized;				/* N was declared: overflow names it */
	int wrap;				/* global a%[N]: evict the oldest when full */
	uint32_t str_size;			/* MAXSTRINGLEN: bytes per string incl. NUL */
	const struct stp_stat_desc *stat;	/* value_type STAT: must outlive the map */
};

struct stp_map_node;

/* A map; treat the fields as private. */
struct stp_map {
	struct stp_map_desc desc;
	uint32_t count;		/* live entries */
	uint32_t free_head;	/* recycled nodes (chained through hnext) */
	uint32_t next_unused;	/* first never-used node */
	uint32_t hmask;		/* hash table size - 1 */
	uint32_t *htab;		/* bucket heads (node indices, 0 = none) */
	char *pool;		/* node 0 is the list sentinel; 1..max_entries are entries */
	size_t node_size;
	size_t key_off[STP_MAP_MAX_KEYS];
	size_t val_off;
};

/* Validates desc and allocates a map (init only); STP_E_INVAL or STP_E_NOMEM on failure. */
STP_API int stp_map_create(struct stp_map **out, const struct stp_map_desc *desc);

/* Frees a map from stp_map_create(); NULL is fine (exit only). */
STP_API void stp_map_destroy(struct stp_map *m);

/* Bytes one entry occupies in the pool (memory accounting). */
STP_API size_t stp_map_node_size(const struct stp_map *m);

/* Number of live entries (the script's count of the array). */
STP_API uint32_t stp_map_size(const struct stp_map *m);

/* The size limit N reported in "Array overflow, check size limit (N)". */
STP_API uint32_t stp_map_capacity(const struct stp_map *m);

/* The entry for keys, or NULL; never inserts. */
STP_API struct stp_map_node *stp_map_find(struct stp_map *m, const union stp_arg *keys);

/* Finds or creates the entry (new values: 0, "" or empty stat); STP_E_OVERFLOW when full and not wrapping. */
STP_API int stp_map_insert(struct stp_map *m, const union stp_arg *keys,
			   struct stp_map_node **out);

/* a[k] for a long map: 0 when missing. */
STP_API int64_t stp_map_get_long(struct stp_map *m, const union stp_arg *keys);

/* a[k] for a string map: "" when missing; valid until the entry changes. */
STP_API const char *stp_map_get_str(struct stp_map *m, const union stp_arg *keys);

/* a[k] for a stat map: NULL when missing (an empty statistic). */
STP_API const struct stp_stat *stp_map_get_stat(struct stp_map *m, const union stp_arg *keys);

/* @agg(a[k]) of a stat map; as stp_stat_get(), a missing key is an empty statistic. */
STP_API int stp_map_get_stat_agg(struct stp_map *m, const union stp_arg *keys, int agg,
				 int64_t *out);

/*
 * @agg(a[k1, *]) of a stat map: the aggregate of every entry matching keys
 * (bit i of wildmask set: key i is '*'), their statistics merged; no match
 * is an empty statistic, as for a missing key.
 */
STP_API int stp_map_get_stat_agg_match(struct stp_map *m, const union stp_arg *keys,
				       uint32_t wildmask, int agg, int64_t *out);

/* a[k] = v (long map). */
STP_API int stp_map_set_long(struct stp_map *m, const union stp_arg *keys, int64_t v);

/* a[k] = s (string map), truncated to str_size-1. */
STP_API int stp_map_set_str(struct stp_map *m, const union stp_arg *keys, const char *s);

/* a[k] += delta (also ++/--); *result (if non-NULL) gets the new value. */
STP_API int stp_map_add_long(struct stp_map *m, const union stp_arg *keys, int64_t delta,
			     int64_t *result);

/* a[k] <<< v (stat map). */
STP_API int stp_map_stat_add(struct stp_map *m, const union stp_arg *keys, int64_t v);

/* [k] in a: 1 or 0. */
STP_API int stp_map_exists(struct stp_map *m, const union stp_arg *keys);

/* delete a[k]: 1 if an entry was removed, 0 if there was none. */
STP_API int stp_map_delete(struct stp_map *m, const union stp_arg *keys);

/* Does the entry match keys, ignoring key i where bit i of wildmask is set ([*, k])? */
STP_API int stp_map_node_matches(const struct stp_map *m, const struct stp_map_node *n,
				 const union stp_arg *keys, uint32_t wildmask);

/* [k1, *] in a: 1 if any entry matches. */
STP_API int stp_map_exists_match(struct stp_map *m, const union stp_arg *keys, uint32_t wildmask);

/* delete a[k1, *]: removes every match; returns how many. */
STP_API uint32_t stp_map_delete_match(struct stp_map *m, const union stp_arg *keys,
				      uint32_t wildmask);

/* delete a: removes every entry. */
STP_API void stp_map_clear(struct stp_map *m);

/* First entry in list order, or NULL. */
STP_API struct stp_map_node *stp_map_first(struct stp_map *m);

/* Entry after n in list order, or NULL. */
STP_API struct stp_map_node *stp_map_next(struct stp_map *m, struct stp_map_node *n);

/* Key i (0-based) of an entry; call the accessor matching the key's type. */
STP_API int64_t stp_map_node_key_long(const struct stp_map *m, const struct stp_map_node *n,
				      int i);
STP_API const char *stp_map_node_key_str(const struct stp_map *m, const struct stp_map_node *n,
					 int i);

/* The value of an entry, by the map's value type. */
STP_API int64_t stp_map_node_long(const struct stp_map *m, const struct stp_map_node *n);
STP_API const char *stp_map_node_str(const struct stp_map *m, const struct stp_map_node *n);
STP_API struct stp_stat *stp_map_node_stat(const struct stp_map *m, struct stp_map_node *n);

/* Sets the value of an existing entry (foreach bodies writing a[k] without a lookup). */
STP_API void stp_map_node_set_long(struct stp_map *m, struct stp_map_node *n, int64_t v);
STP_API void stp_map_node_set_str(struct stp_map *m, struct stp_map_node *n, const char *s);

/*
 * Reorders the list for a sorted foreach: column STP_SORT_VALUE or key
 * 1..nkeys, dir > 0 ascending ('+') or < 0 descending ('-'); agg picks the
 * aggregate when sorting a stat map by value (STP_AGG_COUNT is SystemTap's
 * default).  Stable, O(n log n), iterative, no allocation.
 */
STP_API int stp_map_sort(struct stp_map *m, int column, int dir, int agg);

/*
 * stp_map_sort() for a sorted foreach with `limit N` (SystemTap 5.1's
 * order, observed): only the first N entries of the sort are put first,
 * in sorted order, and every other entry keeps its previous list order
 * behind them.  N < 0, or N at least the count, sorts all; N == 0 leaves
 * the list as it is.  Stable, O(n log n), iterative, no allocation.
 */
STP_API int stp_map_sortn(struct stp_map *m, int column, int dir, int agg, int64_t limit);

/*
 * Per-CPU aggregation: folds every entry of src into dst (same desc shape),
 * inserting missing keys in src's list order.  STP_E_OVERFLOW if dst fills.
 */
STP_API int stp_map_merge_stats(struct stp_map *dst, struct stp_map *src);

#endif /* STP_MAP_H */
