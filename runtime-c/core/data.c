/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Script data in the kernel: global arrays, statistics and per-CPU
 * statistics arrays, built on runtime-c/lib, and the errors their
 * operations raise.
 *
 * Statistics (`s <<< v`, `a[k] <<< v`) accumulate into the running CPU's
 * own copy, so adding needs only the global's read lock. Reading an
 * aggregate merges every CPU's copy into one aggregate copy, which needs
 * the write lock; the merge is redone only when an adder marked the data
 * dirty since.
 */

/*
 * Sets the handler's error to SystemTap's overflow text: the declared size
 * for `global a[N]`, MAXMAPENTRIES otherwise.
 */
static __maybe_unused void stp_array_overflow(struct stp_context *c, struct stp_map *m, const char *stmt)
{
	if (m && m->desc.sized) {
		scnprintf(c->error_buf, sizeof(c->error_buf), "Array overflow, check size limit (%u)",
			  stp_map_capacity(m));
		STP_ERROR(c, c->error_buf, stmt);
	} else {
		STP_ERROR(c, "Array overflow, check MAXMAPENTRIES", stmt);
	}
}

/* Turns a library status into the handler's error; true if it failed. */
static __maybe_unused bool stp_data_failed(struct stp_context *c, struct stp_map *m, int status, const char *stmt)
{
	if (likely(status >= 0))
		return false;
	switch (status) {
	case STP_E_OVERFLOW:
		stp_array_overflow(c, m, stmt);
		break;
	case STP_E_EMPTY:
		STP_ERROR(c, "empty aggregate", stmt);
		break;
	case STP_E_RANGE:
		STP_ERROR(c, "index out of range", stmt);
		break;
	default:
		STP_ERROR(c, "internal error in the data library", stmt);
		break;
	}
	return true;
}

/* ---- a statistics global ---------------------------------------------- */

struct stp_pstat {
	struct stp_stat_desc desc;
	struct stp_stat **cpu;   /* nr_cpu_ids copies (NULL for impossible CPUs) */
	struct stp_stat *agg;    /* merged copy, valid when !dirty */
	char *hist_buf;          /* print(@hist_*(s)) scratch */
	size_t hist_size;
	bool dirty;
};

static __maybe_unused void stp_pstat_exit(struct stp_pstat *p)
{
	unsigned int cpu;

	if (p->cpu) {
		for_each_possible_cpu(cpu)
			stp_free(p->cpu[cpu]);
		kfree(p->cpu);
	}
	stp_free(p->agg);
	stp_free(p->hist_buf);
	memset(p, 0, sizeof(*p));
}

static __maybe_unused int stp_pstat_init(struct stp_pstat *p, int hist_type, int64_t start, int64_t stop,
			  int64_t interval, int var_shift)
{
	unsigned int cpu;
	size_t size;

	if (stp_stat_desc_init(&p->desc, hist_type, start, stop, interval, var_shift, 1))
		return -EINVAL;
	size = stp_stat_size(&p->desc);
	p->cpu = kcalloc(nr_cpu_ids, sizeof(*p->cpu), GFP_KERNEL);
	p->agg = stp_alloc_zeroed(size);
	if (!p->cpu || !p->agg)
		goto nomem;
	for_each_possible_cpu(cpu) {
		p->cpu[cpu] = stp_alloc_zeroed(size);
		if (!p->cpu[cpu])
			goto nomem;
		stp_stat_clear(p->cpu[cpu], &p->desc);
	}
	stp_stat_clear(p->agg, &p->desc);
	if (hist_type != STP_HIST_NONE) {
		p->hist_size = stp_hist_print_max(&p->desc) + 1;
		p->hist_buf = stp_alloc_zeroed(p->hist_size);
		if (!p->hist_buf)
			goto nomem;
	}
	return 0;
nomem:
	stp_pstat_exit(p);
	return -ENOMEM;
}

/* s <<< v (read lock held). */
static __maybe_unused inline void stp_pstat_add(struct stp_pstat *p, int64_t v)
{
	stp_stat_add(p->cpu[smp_processor_id()], &p->desc, v);
	WRITE_ONCE(p->dirty, true);
}

/* The merged statistic (write lock held). */
static __maybe_unused struct stp_stat *stp_pstat_agg(struct stp_pstat *p)
{
	unsigned int cpu;

	if (READ_ONCE(p->dirty)) {
		stp_stat_clear(p->agg, &p->desc);
		for_each_possible_cpu(cpu)
			stp_stat_merge(p->agg, p->cpu[cpu], &p->desc);
		p->dirty = false;
	}
	return p->agg;
}

/* @op(s) (write lock held). */
static __maybe_unused int64_t stp_pstat_get(struct stp_context *c, struct stp_pstat *p, int agg, const char *stmt)
{
	int64_t out = 0;

	stp_data_failed(c, NULL, stp_stat_get(stp_pstat_agg(p), &p->desc, agg, &out), stmt);
	return out;
}

/* delete s (write lock held). */
static __maybe_unused void stp_pstat_clear(struct stp_pstat *p)
{
	unsigned int cpu;

	for_each_possible_cpu(cpu)
		stp_stat_clear(p->cpu[cpu], &p->desc);
	stp_stat_clear(p->agg, &p->desc);
	p->dirty = false;
}

/*
 * @hist_*(s)[i] (write lock held); s is NULL for an array element never
 * added to.  SystemTap's messages: "empty aggregate" for an empty
 * statistic, "histogram index out of range" for a bucket it lacks.
 */
static __maybe_unused bool stp_hist_at(struct stp_context *c, const struct stp_stat *s,
				       const struct stp_stat_desc *d, int64_t i, int64_t *out,
				       const char *stmt)
{
	int status = s ? stp_hist_bucket(s, d, i, out) : STP_E_EMPTY;

	if (status == STP_E_RANGE) {
		STP_ERROR(c, "histogram index out of range", stmt);
		return true;
	}
	return stp_data_failed(c, NULL, status, stmt);
}

/* Appends a drawn histogram of `s` to the output. */
static __maybe_unused void stp_print_hist(struct stp_context *c, const struct stp_stat *s,
			   const struct stp_stat_desc *d, char *buf, size_t size, const char *stmt)
{
	int n = stp_hist_print(buf, size, s, d, HIST_ELISION);

	if (stp_data_failed(c, NULL, n, stmt))
		return;
	stp_print_bytes(c, buf, min_t(size_t, n, size - 1));
}

/* ---- a statistics array ----------------------------------------------- */

struct stp_pmap {
	struct stp_map_desc desc;
	struct stp_stat_desc sdesc;
	struct stp_map **cpu;
	struct stp_map *agg;
	char *hist_buf;
	size_t hist_size;
	bool dirty;
};

static __maybe_unused void stp_pmap_exit(struct stp_pmap *p)
{
	unsigned int cpu;

	if (p->cpu) {
		for_each_possible_cpu(cpu)
			stp_map_destroy(p->cpu[cpu]);
		kfree(p->cpu);
	}
	stp_map_destroy(p->agg);
	stp_free(p->hist_buf);
	memset(p, 0, sizeof(*p));
}

/* `desc` must have value_type STP_TYPE_STAT; its .stat is set here. */
static __maybe_unused int stp_pmap_init(struct stp_pmap *p, const struct stp_map_desc *desc, int hist_type,
			 int64_t start, int64_t stop, int64_t interval, int var_shift)
{
	unsigned int cpu;

	if (stp_stat_desc_init(&p->sdesc, hist_type, start, stop, interval, var_shift, 1))
		return -EINVAL;
	p->desc = *desc;
	p->desc.stat = &p->sdesc;
	p->cpu = kcalloc(nr_cpu_ids, sizeof(*p->cpu), GFP_KERNEL);
	if (!p->cpu || stp_map_create(&p->agg, &p->desc))
		goto nomem;
	for_each_possible_cpu(cpu) {
		if (stp_map_create(&p->cpu[cpu], &p->desc))
			goto nomem;
	}
	if (hist_type != STP_HIST_NONE) {
		p->hist_size = stp_hist_print_max(&p->sdesc) + 1;
		p->hist_buf = stp_alloc_zeroed(p->hist_size);
		if (!p->hist_buf)
			goto nomem;
	}
	return 0;
nomem:
	stp_pmap_exit(p);
	return -ENOMEM;
}

/* a[k] <<< v (read lock held). */
static __maybe_unused void stp_pmap_add(struct stp_context *c, struct stp_pmap *p, const union stp_arg *keys,
			 int64_t v, const char *stmt)
{
	struct stp_map *m = p->cpu[smp_processor_id()];

	WRITE_ONCE(p->dirty, true);
	stp_data_failed(c, m, stp_map_stat_add(m, keys, v), stmt);
}

/* The merged array (write lock held); NULL and an error if it overflows. */
static __maybe_unused struct stp_map *stp_pmap_agg(struct stp_context *c, struct stp_pmap *p, const char *stmt)
{
	unsigned int cpu;

	if (READ_ONCE(p->dirty)) {
		stp_map_clear(p->agg);
		for_each_possible_cpu(cpu) {
			if (stp_data_failed(c, p->agg, stp_map_merge_stats(p->agg, p->cpu[cpu]), stmt))
				return NULL;
		}
		p->dirty = false;
	}
	return p->agg;
}

/* delete a (write lock held). */
static __maybe_unused void stp_pmap_clear(struct stp_pmap *p)
{
	unsigned int cpu;

	for_each_possible_cpu(cpu)
		stp_map_clear(p->cpu[cpu]);
	stp_map_clear(p->agg);
	p->dirty = false;
}

/* delete a[k, *...] (write lock held). */
static __maybe_unused void stp_pmap_delete(struct stp_pmap *p, const union stp_arg *keys, uint32_t wildmask)
{
	unsigned int cpu;

	for_each_possible_cpu(cpu)
		stp_map_delete_match(p->cpu[cpu], keys, wildmask);
	stp_map_delete_match(p->agg, keys, wildmask);
}
