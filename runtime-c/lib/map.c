// SPDX-License-Identifier: GPL-2.0-only
/*
 * map.c - associative arrays: a chained hash table over a fixed node pool,
 * plus a circular doubly-linked list (sentinel node 0) in insertion order.
 *
 * Node layout (all offsets multiples of 8):
 *   struct stp_map_node header (16 bytes) | key 1 | ... | key n | value
 * with 8 bytes per long, str_size rounded up to 8 per string, and
 * stp_stat_size() for a statistics value.
 */
#include "map.h"
#include "str.h"

struct stp_map_node {
	uint32_t hnext;		/* next in hash chain or free list; 0 = end */
	uint32_t prev;		/* list neighbours (node indices) */
	uint32_t next;
	uint32_t hash;
};

#define STP_NODE(m, i) ((struct stp_map_node *)((m)->pool + (size_t)(i) * (m)->node_size))

static uint32_t stp_map_index(const struct stp_map *m, const struct stp_map_node *n)
{
	return (uint32_t)(((const char *)n - m->pool) / m->node_size);
}

static size_t stp_round8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

STP_API int stp_map_create(struct stp_map **out, const struct stp_map_desc *desc)
{
	struct stp_map *m;
	size_t off, vsize;
	uint32_t hsize;
	int i;

	*out = NULL;
	if (desc->nkeys < 1 || desc->nkeys > STP_MAP_MAX_KEYS || desc->max_entries == 0 ||
	    desc->max_entries > (1U << 30) || desc->str_size == 0 || desc->str_size > (1U << 20))
		return STP_E_INVAL;
	for (i = 0; i < desc->nkeys; i++)
		if (desc->key_types[i] != STP_TYPE_LONG && desc->key_types[i] != STP_TYPE_STRING)
			return STP_E_INVAL;
	switch (desc->value_type) {
	case STP_TYPE_LONG:
		vsize = sizeof(int64_t);
		break;
	case STP_TYPE_STRING:
		vsize = stp_round8(desc->str_size);
		break;
	case STP_TYPE_STAT:
		if (desc->stat == NULL)
			return STP_E_INVAL;
		vsize = stp_stat_size(desc->stat);
		break;
	default:
		return STP_E_INVAL;
	}

	m = stp_alloc_zeroed(sizeof(*m));
	if (m == NULL)
		return STP_E_NOMEM;
	m->desc = *desc;
	off = sizeof(struct stp_map_node);
	for (i = 0; i < desc->nkeys; i++) {
		m->key_off[i] = off;
		off += desc->key_types[i] == STP_TYPE_LONG ? sizeof(int64_t) :
			stp_round8(desc->str_size);
	}
	m->val_off = off;
	m->node_size = off + vsize;

	for (hsize = 1; hsize < desc->max_entries; hsize <<= 1)
		;
	m->hmask = hsize - 1;
	m->htab = stp_alloc_zeroed((size_t)hsize * sizeof(uint32_t));
	m->pool = stp_alloc_zeroed(((size_t)desc->max_entries + 1) * m->node_size);
	if (m->htab == NULL || m->pool == NULL) {
		stp_map_destroy(m);
		return STP_E_NOMEM;
	}
	stp_map_clear(m);
	*out = m;
	return STP_OK;
}

STP_API void stp_map_destroy(struct stp_map *m)
{
	if (m == NULL)
		return;
	stp_free(m->htab);
	stp_free(m->pool);
	stp_free(m);
}

STP_API size_t stp_map_node_size(const struct stp_map *m)
{
	return m->node_size;
}

STP_API uint32_t stp_map_size(const struct stp_map *m)
{
	return m->count;
}

STP_API uint32_t stp_map_capacity(const struct stp_map *m)
{
	return m->desc.max_entries;
}

STP_API void stp_map_clear(struct stp_map *m)
{
	struct stp_map_node *head = STP_NODE(m, 0);

	memset(m->htab, 0, ((size_t)m->hmask + 1) * sizeof(uint32_t));
	head->prev = 0;
	head->next = 0;
	m->count = 0;
	m->free_head = 0;
	m->next_unused = 1;
}

/* FNV-1a over the key tuple, strings cut at str_size-1 and terminated. */
static uint32_t stp_map_hash(const struct stp_map *m, const union stp_arg *keys)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	const uint64_t prime = 0x100000001b3ULL;
	uint64_t u;
	const unsigned char *s;
	uint32_t j;
	int i, b;

	for (i = 0; i < m->desc.nkeys; i++) {
		if (m->desc.key_types[i] == STP_TYPE_LONG) {
			u = (uint64_t)keys[i].n;
			for (b = 0; b < 8; b++) {
				h = (h ^ (u & 0xff)) * prime;
				u >>= 8;
			}
		} else {
			s = (const unsigned char *)(keys[i].s ? keys[i].s : "");
			for (j = 0; j + 1 < m->desc.str_size && s[j]; j++)
				h = (h ^ s[j]) * prime;
			h = (h ^ 0xff) * prime;
		}
	}
	return (uint32_t)(h ^ (h >> 32));
}

static int stp_map_key_equal(const struct stp_map *m, const struct stp_map_node *n, int i,
			     const union stp_arg *key)
{
	const char *p = (const char *)n + m->key_off[i];
	int64_t v;

	if (m->desc.key_types[i] == STP_TYPE_LONG) {
		memcpy(&v, p, sizeof(v));
		return v == key->n;
	}
	return strncmp(p, key->s ? key->s : "", m->desc.str_size - 1) == 0;
}

STP_API int stp_map_node_matches(const struct stp_map *m, const struct stp_map_node *n,
				 const union stp_arg *keys, uint32_t wildmask)
{
	int i;

	for (i = 0; i < m->desc.nkeys; i++)
		if (!(wildmask & (1U << i)) && !stp_map_key_equal(m, n, i, &keys[i]))
			return 0;
	return 1;
}

static struct stp_map_node *stp_map_find_hashed(struct stp_map *m, const union stp_arg *keys,
						uint32_t h)
{
	uint32_t i = m->htab[h & m->hmask];
	struct stp_map_node *n;

	while (i) {
		n = STP_NODE(m, i);
		if (n->hash == h && stp_map_node_matches(m, n, keys, 0))
			return n;
		i = n->hnext;
	}
	return NULL;
}

STP_API struct stp_map_node *stp_map_find(struct stp_map *m, const union stp_arg *keys)
{
	return stp_map_find_hashed(m, keys, stp_map_hash(m, keys));
}

/* Unlinks node i from its hash chain and the list, and recycles it. */
static void stp_map_remove(struct stp_map *m, uint32_t i)
{
	struct stp_map_node *n = STP_NODE(m, i);
	uint32_t *link = &m->htab[n->hash & m->hmask];

	while (*link != i)
		link = &STP_NODE(m, *link)->hnext;
	*link = n->hnext;
	STP_NODE(m, n->prev)->next = n->next;
	STP_NODE(m, n->next)->prev = n->prev;
	n->hnext = m->free_head;
	m->free_head = i;
	m->count--;
}

static void stp_map_init_value(struct stp_map *m, struct stp_map_node *n)
{
	char *v = (char *)n + m->val_off;

	switch (m->desc.value_type) {
	case STP_TYPE_LONG:
		memset(v, 0, sizeof(int64_t));
		break;
	case STP_TYPE_STRING:
		v[0] = '\0';
		break;
	default:
		stp_stat_clear((struct stp_stat *)v, m->desc.stat);
		break;
	}
}

STP_API int stp_map_insert(struct stp_map *m, const union stp_arg *keys,
			   struct stp_map_node **out)
{
	uint32_t h, i;
	struct stp_map_node *n, *head;
	char *p;
	int k;

	h = stp_map_hash(m, keys);
	n = stp_map_find_hashed(m, keys, h);
	if (n) {
		*out = n;
		return STP_OK;
	}
	*out = NULL;
	if (m->count >= m->desc.max_entries) {
		if (!m->desc.wrap)
			return STP_E_OVERFLOW;
		stp_map_remove(m, STP_NODE(m, 0)->next);
	}
	if (m->free_head) {
		i = m->free_head;
		m->free_head = STP_NODE(m, i)->hnext;
	} else {
		i = m->next_unused++;
	}
	n = STP_NODE(m, i);
	n->hash = h;
	n->hnext = m->htab[h & m->hmask];
	m->htab[h & m->hmask] = i;
	head = STP_NODE(m, 0);
	n->prev = head->prev;
	n->next = 0;
	STP_NODE(m, head->prev)->next = i;
	head->prev = i;
	m->count++;
	for (k = 0; k < m->desc.nkeys; k++) {
		p = (char *)n + m->key_off[k];
		if (m->desc.key_types[k] == STP_TYPE_LONG)
			memcpy(p, &keys[k].n, sizeof(int64_t));
		else
			stp_strlcpy(p, keys[k].s ? keys[k].s : "", m->desc.str_size);
	}
	stp_map_init_value(m, n);
	*out = n;
	return STP_OK;
}

STP_API int64_t stp_map_node_key_long(const struct stp_map *m, const struct stp_map_node *n,
				      int i)
{
	int64_t v;

	memcpy(&v, (const char *)n + m->key_off[i], sizeof(v));
	return v;
}

STP_API const char *stp_map_node_key_str(const struct stp_map *m, const struct stp_map_node *n,
					 int i)
{
	return (const char *)n + m->key_off[i];
}

STP_API int64_t stp_map_node_long(const struct stp_map *m, const struct stp_map_node *n)
{
	int64_t v;

	memcpy(&v, (const char *)n + m->val_off, sizeof(v));
	return v;
}

STP_API const char *stp_map_node_str(const struct stp_map *m, const struct stp_map_node *n)
{
	return (const char *)n + m->val_off;
}

STP_API struct stp_stat *stp_map_node_stat(const struct stp_map *m, struct stp_map_node *n)
{
	return (struct stp_stat *)((char *)n + m->val_off);
}

STP_API void stp_map_node_set_long(struct stp_map *m, struct stp_map_node *n, int64_t v)
{
	memcpy((char *)n + m->val_off, &v, sizeof(v));
}

STP_API void stp_map_node_set_str(struct stp_map *m, struct stp_map_node *n, const char *s)
{
	stp_strlcpy((char *)n + m->val_off, s ? s : "", m->desc.str_size);
}

STP_API int64_t stp_map_get_long(struct stp_map *m, const union stp_arg *keys)
{
	struct stp_map_node *n = stp_map_find(m, keys);

	return n ? stp_map_node_long(m, n) : 0;
}

STP_API const char *stp_map_get_str(struct stp_map *m, const union stp_arg *keys)
{
	struct stp_map_node *n = stp_map_find(m, keys);

	return n ? stp_map_node_str(m, n) : "";
}

STP_API const struct stp_stat *stp_map_get_stat(struct stp_map *m, const union stp_arg *keys)
{
	struct stp_map_node *n = stp_map_find(m, keys);

	return n ? stp_map_node_stat(m, n) : NULL;
}

STP_API int stp_map_get_stat_agg(struct stp_map *m, const union stp_arg *keys, int agg,
				 int64_t *out)
{
	const struct stp_stat *s = stp_map_get_stat(m, keys);

	if (s)
		return stp_stat_get(s, m->desc.stat, agg, out);
	*out = 0;
	if (agg == STP_AGG_COUNT || agg == STP_AGG_SUM)
		return STP_OK;
	return agg >= STP_AGG_MIN && agg <= STP_AGG_VARIANCE ? STP_E_EMPTY : STP_E_INVAL;
}

STP_API int stp_map_get_stat_agg_match(struct stp_map *m, const union stp_arg *keys,
				       uint32_t wildmask, int agg, int64_t *out)
{
	struct stp_stat acc;
	struct stp_stat_desc d;
	uint32_t i;

	if ((wildmask & ((1U << m->desc.nkeys) - 1)) == 0)
		return stp_map_get_stat_agg(m, keys, agg, out);
	if (m->desc.value_type != STP_TYPE_STAT || !m->desc.stat)
		return STP_E_INVAL;
	/* Only the moments are merged: the histogram is not needed here. */
	d = *m->desc.stat;
	d.hist_type = STP_HIST_NONE;
	d.nbuckets = 0;
	memset(&acc, 0, sizeof(acc));
	for (i = STP_NODE(m, 0)->next; i; i = STP_NODE(m, i)->next)
		if (stp_map_node_matches(m, STP_NODE(m, i), keys, wildmask))
			stp_stat_merge(&acc, stp_map_node_stat(m, STP_NODE(m, i)), &d);
	if (acc.count > 0)
		return stp_stat_get(&acc, &d, agg, out);
	*out = 0;
	if (agg == STP_AGG_COUNT || agg == STP_AGG_SUM)
		return STP_OK;
	return agg >= STP_AGG_MIN && agg <= STP_AGG_VARIANCE ? STP_E_EMPTY : STP_E_INVAL;
}

STP_API int stp_map_set_long(struct stp_map *m, const union stp_arg *keys, int64_t v)
{
	struct stp_map_node *n;
	int rc = stp_map_insert(m, keys, &n);

	if (rc == STP_OK)
		stp_map_node_set_long(m, n, v);
	return rc;
}

STP_API int stp_map_set_str(struct stp_map *m, const union stp_arg *keys, const char *s)
{
	struct stp_map_node *n;
	int rc = stp_map_insert(m, keys, &n);

	if (rc == STP_OK)
		stp_map_node_set_str(m, n, s);
	return rc;
}

STP_API int stp_map_add_long(struct stp_map *m, const union stp_arg *keys, int64_t delta,
			     int64_t *result)
{
	struct stp_map_node *n;
	int64_t v = 0;
	int rc = stp_map_insert(m, keys, &n);

	if (rc == STP_OK) {
		v = stp_add64(stp_map_node_long(m, n), delta);
		stp_map_node_set_long(m, n, v);
	}
	if (result)
		*result = v;
	return rc;
}

STP_API int stp_map_stat_add(struct stp_map *m, const union stp_arg *keys, int64_t v)
{
	struct stp_map_node *n;
	int rc = stp_map_insert(m, keys, &n);

	if (rc == STP_OK)
		stp_stat_add(stp_map_node_stat(m, n), m->desc.stat, v);
	return rc;
}

STP_API int stp_map_exists(struct stp_map *m, const union stp_arg *keys)
{
	return stp_map_find(m, keys) != NULL;
}

STP_API int stp_map_delete(struct stp_map *m, const union stp_arg *keys)
{
	struct stp_map_node *n = stp_map_find(m, keys);

	if (n == NULL)
		return 0;
	stp_map_remove(m, stp_map_index(m, n));
	return 1;
}

STP_API int stp_map_exists_match(struct stp_map *m, const union stp_arg *keys, uint32_t wildmask)
{
	uint32_t i;

	if ((wildmask & ((1U << m->desc.nkeys) - 1)) == 0)
		return stp_map_exists(m, keys);
	for (i = STP_NODE(m, 0)->next; i; i = STP_NODE(m, i)->next)
		if (stp_map_node_matches(m, STP_NODE(m, i), keys, wildmask))
			return 1;
	return 0;
}

STP_API uint32_t stp_map_delete_match(struct stp_map *m, const union stp_arg *keys,
				      uint32_t wildmask)
{
	uint32_t i, next, removed = 0;

	if ((wildmask & ((1U << m->desc.nkeys) - 1)) == 0)
		return (uint32_t)stp_map_delete(m, keys);
	for (i = STP_NODE(m, 0)->next; i; i = next) {
		next = STP_NODE(m, i)->next;
		if (stp_map_node_matches(m, STP_NODE(m, i), keys, wildmask)) {
			stp_map_remove(m, i);
			removed++;
		}
	}
	return removed;
}

STP_API struct stp_map_node *stp_map_first(struct stp_map *m)
{
	uint32_t i = STP_NODE(m, 0)->next;

	return i ? STP_NODE(m, i) : NULL;
}

STP_API struct stp_map_node *stp_map_next(struct stp_map *m, struct stp_map_node *n)
{
	return n->next ? STP_NODE(m, n->next) : NULL;
}

/* Orders two entries by one column; the sort direction is applied by the caller. */
static int stp_map_cmp(struct stp_map *m, uint32_t a, uint32_t b, int column, int agg)
{
	struct stp_map_node *na = STP_NODE(m, a), *nb = STP_NODE(m, b);
	int type;
	int64_t x, y;

	if (column == STP_SORT_VALUE) {
		type = m->desc.value_type;
		if (type == STP_TYPE_STRING)
			return stp_strcmp(stp_map_node_str(m, na), stp_map_node_str(m, nb));
		if (type == STP_TYPE_STAT) {
			stp_stat_get(stp_map_node_stat(m, na), m->desc.stat, agg, &x);
			stp_stat_get(stp_map_node_stat(m, nb), m->desc.stat, agg, &y);
		} else {
			x = stp_map_node_long(m, na);
			y = stp_map_node_long(m, nb);
		}
	} else {
		if (m->desc.key_types[column - 1] == STP_TYPE_STRING)
			return stp_strcmp(stp_map_node_key_str(m, na, column - 1),
					  stp_map_node_key_str(m, nb, column - 1));
		x = stp_map_node_key_long(m, na, column - 1);
		y = stp_map_node_key_long(m, nb, column - 1);
	}
	return x < y ? -1 : x > y;
}

/*
 * How stp_chain_sort() orders two nodes: by a column (dir applied), or by
 * the list position each node had before (kept in its prev field).
 */
struct stp_chain_order {
	int column, dir, agg;
	int by_position;
};

static int stp_chain_cmp(struct stp_map *m, uint32_t a, uint32_t b, const struct stp_chain_order *o)
{
	uint32_t x, y;

	if (o->by_position) {
		x = STP_NODE(m, a)->prev;
		y = STP_NODE(m, b)->prev;
		return x < y ? -1 : x > y;
	}
	return o->dir < 0 ? -stp_map_cmp(m, a, b, o->column, o->agg)
			  : stp_map_cmp(m, a, b, o->column, o->agg);
}

/*
 * Bottom-up stable merge sort of the chain of next links starting at list
 * (the last has next 0); returns the new first node.
 */
static uint32_t stp_chain_sort(struct stp_map *m, uint32_t list, const struct stp_chain_order *o)
{
	uint32_t tail, p, q, e;
	uint32_t insize, nmerges, psize, qsize, k;

	if (!list)
		return 0;
	for (insize = 1;; insize *= 2) {
		p = list;
		list = 0;
		tail = 0;
		nmerges = 0;
		while (p) {
			nmerges++;
			q = p;
			psize = 0;
			for (k = 0; k < insize && q; k++) {
				psize++;
				q = STP_NODE(m, q)->next;
			}
			qsize = insize;
			while (psize > 0 || (qsize > 0 && q)) {
				if (psize == 0) {
					e = q;
					q = STP_NODE(m, q)->next;
					qsize--;
				} else if (qsize == 0 || !q) {
					e = p;
					p = STP_NODE(m, p)->next;
					psize--;
				} else if (stp_chain_cmp(m, p, q, o) <= 0) {
					e = p;
					p = STP_NODE(m, p)->next;
					psize--;
				} else {
					e = q;
					q = STP_NODE(m, q)->next;
					qsize--;
				}
				if (tail)
					STP_NODE(m, tail)->next = e;
				else
					list = e;
				tail = e;
			}
			p = q;
		}
		STP_NODE(m, tail)->next = 0;
		if (nmerges <= 1)
			return list;
	}
}

/* Rebuilds the circular doubly linked list around the sentinel from next links. */
static void stp_chain_relink(struct stp_map *m, uint32_t list)
{
	struct stp_map_node *head = STP_NODE(m, 0);
	uint32_t e, prev = 0;

	head->next = list;
	for (e = list; e; e = STP_NODE(m, e)->next) {
		STP_NODE(m, e)->prev = prev;
		prev = e;
	}
	head->prev = prev;
}

STP_API int stp_map_sortn(struct stp_map *m, int column, int dir, int agg, int64_t limit)
{
	struct stp_map_node *head = STP_NODE(m, 0);
	struct stp_chain_order o = { column, dir, agg, 0 };
	uint32_t list, e, last, rest, pos = 0;
	int64_t k;

	if (column < 0 || column > m->desc.nkeys || dir == 0)
		return STP_E_INVAL;
	if (column == STP_SORT_VALUE && m->desc.value_type == STP_TYPE_STAT &&
	    (agg < STP_AGG_COUNT || agg > STP_AGG_VARIANCE))
		return STP_E_INVAL;
	if (m->count < 2)
		return STP_OK;
	if (limit < 0 || limit >= (int64_t)m->count) {
		stp_chain_relink(m, stp_chain_sort(m, head->next, &o));
		return STP_OK;
	}
	if (limit == 0)
		return STP_OK;
	/* Each node's position, in its prev field (rebuilt at the end). */
	for (e = head->next; e; e = STP_NODE(m, e)->next)
		STP_NODE(m, e)->prev = pos++;
	list = stp_chain_sort(m, head->next, &o);
	/* The first `limit` stay in sorted order; the rest go back to theirs. */
	last = list;
	for (k = 1; k < limit; k++)
		last = STP_NODE(m, last)->next;
	rest = STP_NODE(m, last)->next;
	o.by_position = 1;
	STP_NODE(m, last)->next = stp_chain_sort(m, rest, &o);
	stp_chain_relink(m, list);
	return STP_OK;
}

STP_API int stp_map_sort(struct stp_map *m, int column, int dir, int agg)
{
	return stp_map_sortn(m, column, dir, agg, -1);
}

STP_API int stp_map_merge_stats(struct stp_map *dst, struct stp_map *src)
{
	union stp_arg keys[STP_MAP_MAX_KEYS];
	struct stp_map_node *sn, *dn;
	int i, rc;

	if (dst->desc.value_type != STP_TYPE_STAT || src->desc.value_type != STP_TYPE_STAT ||
	    dst->desc.nkeys != src->desc.nkeys || dst->desc.stat->nbuckets != src->desc.stat->nbuckets)
		return STP_E_INVAL;
	for (sn = stp_map_first(src); sn; sn = stp_map_next(src, sn)) {
		for (i = 0; i < src->desc.nkeys; i++) {
			if (src->desc.key_types[i] == STP_TYPE_LONG)
				keys[i].n = stp_map_node_key_long(src, sn, i);
			else
				keys[i].s = stp_map_node_key_str(src, sn, i);
		}
		rc = stp_map_insert(dst, keys, &dn);
		if (rc != STP_OK)
			return rc;
		stp_stat_merge(stp_map_node_stat(dst, dn), stp_map_node_stat(src, sn), dst->desc.stat);
	}
	return STP_OK;
}
