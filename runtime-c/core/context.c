/* SPDX-License-Identifier: GPL-2.0-only */
/* Context allocation, the probe runner, error and skip accounting. */

static struct stp_context **stp_contexts;
static size_t stp_frame_size;

static __maybe_unused int stp_contexts_init(size_t frame_size)
{
	unsigned int cpu;

	stp_frame_size = ALIGN(frame_size ? frame_size : 1, 8);
	stp_contexts = kcalloc(nr_cpu_ids, sizeof(*stp_contexts), GFP_KERNEL);
	if (!stp_contexts)
		return -ENOMEM;
	for_each_possible_cpu(cpu) {
		struct stp_context *c;

		c = vzalloc(sizeof(*c) + (MAXNESTING + 1) * stp_frame_size);
		if (!c)
			return -ENOMEM;
		c->frames = (char *)(c + 1);
		stp_tokenize_init(&c->tokenize, c->tokenize_buf, sizeof(c->tokenize_buf));
		stp_contexts[cpu] = c;
	}
	return 0;
}

static __maybe_unused void stp_contexts_exit(void)
{
	unsigned int cpu;

	if (!stp_contexts)
		return;
	for_each_possible_cpu(cpu)
		vfree(stp_contexts[cpu]);
	kfree(stp_contexts);
	stp_contexts = NULL;
}

/* The locals frame of the given call depth. */
static __maybe_unused inline void *stp_frame(struct stp_context *c, int depth)
{
	return c->frames + (size_t)depth * stp_frame_size;
}

static __maybe_unused void stp_print_flush(struct stp_context *c);
#ifdef STP_NEED_SYSTEM
static __maybe_unused void stp_system_flush(struct stp_context *c);
#endif
static __maybe_unused void stp_request_exit(bool error_exit);
static __maybe_unused int stp_session_state(void);

static atomic_t stp_error_count = ATOMIC_INIT(0);
static atomic_t stp_skip_count = ATOMIC_INIT(0);

/*
 * Fails the handler with a formatted message (kept in the context's error
 * buffer). The location is left for the caller to fill: a failing tapset
 * function reports the place it was called from.
 */
static __maybe_unused __printf(2, 3) void stp_error_fmt(struct stp_context *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vscnprintf(c->error_buf, sizeof(c->error_buf), fmt, ap);
	va_end(ap);
	STP_ERROR(c, c->error_buf, NULL);
}

/* error(msg): reported as "ERROR: msg", without a location. */
static __maybe_unused void stp_error_noloc(struct stp_context *c, const char *msg)
{
	stp_strlcpy(c->error_buf, msg, sizeof(c->error_buf));
	STP_ERROR(c, c->error_buf, "");
}

/*
 * abort(): the session ends as after exit(), and the handler unwinds at
 * once, through any try/catch, with nothing reported.
 */
static __maybe_unused void stp_abort(struct stp_context *c)
{
	stp_request_exit(false);
	c->aborted = true;
	STP_ERROR(c, "abort", "");
}

/* Writes a formatted line to staprun's stderr. */
static __maybe_unused __printf(1, 2) void stp_stderr(const char *fmt, ...)
{
	char buf[MAXSTRINGLEN + 256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vscnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	stp_transport_write(STP_RECORD_STDERR, buf, n);
}

/* Reports the handler's error; stops the session past MAXERRORS. */
static __maybe_unused void stp_report_error(struct stp_context *c)
{
	if (c->last_stmt && c->last_stmt[0])
		stp_stderr("ERROR: %s near %s\n", c->last_error, c->last_stmt);
	else
		stp_stderr("ERROR: %s\n", c->last_error);
	if (atomic_inc_return(&stp_error_count) > MAXERRORS)
		stp_request_exit(true);
}

/* Counts a probe hit that could not run; stops the session past MAXSKIPPED. */
static __maybe_unused void stp_skip(void)
{
	if (atomic_inc_return(&stp_skip_count) > MAXSKIPPED) {
		stp_stderr("ERROR: Skipped too many probes, check MAXSKIPPED or try again with stap -t for more details.\n");
		stp_request_exit(true);
	}
}

/*
 * Runs one probe handler if the session is in `state`: with interrupts
 * off, on this CPU's context, unless a handler is already running here
 * (then the hit is skipped).
 */
#ifndef STP_NO_OVERLOAD
/*
 * Charges a handler's run time to its CPU; past the threshold within one
 * interval, the script is stopped as SystemTap stops it.
 */
static void stp_overload_check(struct stp_context *c, u64 start, u64 end)
{
	if (end - c->overload_start > STP_OVERLOAD_INTERVAL) {
		c->overload_start = end;
		c->overload_used = 0;
	}
	c->overload_used += end - start;
	if (unlikely(c->overload_used > STP_OVERLOAD_THRESHOLD)) {
		/* SystemTap's words; its unit is cycles, stapkit's clock ns. */
		stp_stderr("ERROR: probe overhead (%llu cycles) exceeded threshold (%lld cycles) in last %lld cycles\n",
			   (unsigned long long)c->overload_used,
			   (long long)STP_OVERLOAD_THRESHOLD, (long long)STP_OVERLOAD_INTERVAL);
		c->overload_used = 0;
		atomic_inc(&stp_error_count);
		stp_request_exit(true);
	}
}
#endif

/*
 * Runs probe p's handler on this CPU's context, if the session is in
 * `state` and the context is free; `data` is what the handler's family
 * hands it (a kretprobe instance's values saved at entry), or NULL.
 */
static void stp_probe_run_ctx(const struct stp_probe *p, enum stp_probe_type type, int state,
			      struct pt_regs *regs, void *data, unsigned long *tp_args,
			      unsigned long probe_addr)
{
	struct stp_context *c;
	unsigned long flags;
#ifndef STP_NO_OVERLOAD
	u64 start;
#endif

	local_irq_save(flags);
	if (stp_session_state() != state)
		goto out;
	c = stp_contexts[smp_processor_id()];
	if (atomic_inc_return(&c->busy) != 1) {
		atomic_dec(&c->busy);
		stp_skip();
		goto out;
	}
	c->probe = p;
	c->type = type;
	c->probe_addr = probe_addr;
	c->last_error = NULL;
	c->last_stmt = NULL;
	c->aborted = false;
	c->actionremain = MAXACTION;
	c->nesting = 0;
	/* The last =~ (last_match) is kept: SystemTap's matched()/ngroups()
	 * in a handler that has not matched see this CPU's previous match. */
#ifdef STP_NEED_USTACK
	c->ustack_n = -1;
#endif
#ifdef STP_NEED_KSTACK
	c->kstack_n = -1;
#endif
#ifdef STP_NEED_SYSTEM
	c->system_len = 0;
#endif
	c->regs = regs;
	c->entry_data = data;
	c->tp_args = tp_args;
#ifndef STP_NO_OVERLOAD
	start = ktime_get_mono_fast_ns();
#endif
	p->handler(c);
	stp_print_flush(c);
#ifdef STP_NEED_SYSTEM
	stp_system_flush(c);
#endif
	if (unlikely(c->last_error) && !c->aborted)
		stp_report_error(c);
#ifndef STP_NO_OVERLOAD
	stp_overload_check(c, start, ktime_get_mono_fast_ns());
#endif
	atomic_dec(&c->busy);
out:
	local_irq_restore(flags);
}

/* A kretprobe hit: the values saved at entry, and the probed function. */
static __maybe_unused void stp_probe_run_data(const struct stp_probe *p, enum stp_probe_type type,
					      int state, struct pt_regs *regs, void *data,
					      unsigned long probe_addr)
{
	stp_probe_run_ctx(p, type, state, regs, data, NULL, probe_addr);
}

static __maybe_unused void stp_probe_run(const struct stp_probe *p, enum stp_probe_type type, int state,
					 struct pt_regs *regs)
{
	stp_probe_run_ctx(p, type, state, regs, NULL, NULL, 0);
}

/* A tracepoint hit: no registers, the arguments in register-width slots. */
static __maybe_unused void stp_probe_run_args(const struct stp_probe *p, enum stp_probe_type type,
					      int state, unsigned long *args)
{
	stp_probe_run_ctx(p, type, state, NULL, NULL, args, 0);
}

/*
 * Takes the global locks a handler needs, in index order: write locks for
 * globals it changes, read locks for ones it only reads. Gives up on a
 * lock after MAXTRYLOCK attempts TRYLOCKDELAY microseconds apart (the hit
 * is then skipped), and not before that much time has passed by the
 * clock: udelay() is only as good as its boot-time calibration, which in
 * an emulated guest was seen to make a million 10 us delays pass in under
 * 0.2 s while the lock's holder, a vCPU not being run, kept it.
 */
struct stp_lock_use {
	rwlock_t *lock;
	bool write;
};

static __maybe_unused bool stp_lock_globals(const struct stp_lock_use *uses, int n)
{
	int i, tries;
	u64 deadline;

	for (i = 0; i < n; i++) {
		deadline = 0;
		for (tries = 0;; tries++) {
			if (uses[i].write ? write_trylock(uses[i].lock) : read_trylock(uses[i].lock))
				break;
			if (!deadline)
				deadline = ktime_get_mono_fast_ns() +
					   (u64)MAXTRYLOCK * TRYLOCKDELAY * NSEC_PER_USEC;
			if (tries >= MAXTRYLOCK && ktime_get_mono_fast_ns() >= deadline)
				goto fail;
			udelay(TRYLOCKDELAY);
		}
	}
	return true;
fail:
	while (--i >= 0) {
		if (uses[i].write)
			write_unlock(uses[i].lock);
		else
			read_unlock(uses[i].lock);
	}
	stp_skip();
	return false;
}

static __maybe_unused void stp_unlock_globals(const struct stp_lock_use *uses, int n)
{
	while (--n >= 0) {
		if (uses[n].write)
			write_unlock(uses[n].lock);
		else
			read_unlock(uses[n].lock);
	}
}
