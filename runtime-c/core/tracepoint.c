/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Tracepoint probes: kernel.trace("system:name"), registered when the
 * session starts (after the begin probes) on the struct tracepoint found
 * by name among the kernel's own (for_each_kernel_tracepoint(); those of
 * modules are not searched).
 *
 * The generated code gives each point a probe function with the
 * tracepoint's arity, void fn(void *data, unsigned long a0, ...): every
 * argument the translator accepts (integers, enums, pointers) travels in
 * one register-width slot on x86-64 and arm64, and the handler narrows it
 * to its declared type. With kernel CFI the call would need the exact
 * prototype, so such kernels are refused at build time.
 *
 * As for kprobes, a point the kernel refuses is a warning and the script
 * goes on with the others.
 */

#if defined(CONFIG_CFI_CLANG) || defined(CONFIG_CFI)
#define STP_TRACEPOINT_SLOTS_OK 0
#else
#define STP_TRACEPOINT_SLOTS_OK 1
#endif

struct stp_tracepoint {
	const struct stp_probe *probe;
	const char *name;     /* the tracepoint, without its subsystem */
	void *func;           /* the generated probe function of its arity */
	bool optional;        /* probe P? : a failed registration is silent */
	struct tracepoint *tp;
	bool registered;
};

/* Called by the generated probe functions with the arguments in slots. */
static __maybe_unused void stp_tracepoint_run(void *data, unsigned long *args)
{
	struct stp_tracepoint *p = data;

	stp_probe_run_args(p->probe, STP_RUNNING, args);
}

struct stp_tracepoint_search {
	struct stp_tracepoint *ps;
	int n;
};

static void stp_tracepoint_match(struct tracepoint *tp, void *priv)
{
	struct stp_tracepoint_search *s = priv;
	int i;

	for (i = 0; i < s->n; i++)
		if (!s->ps[i].tp && strcmp(tp->name, s->ps[i].name) == 0)
			s->ps[i].tp = tp;
}

static void stp_tracepoints_unregister(struct stp_tracepoint *ps, int n)
{
	bool any = false;
	int i;

	for (i = 0; i < n; i++) {
		if (!ps[i].registered)
			continue;
#ifdef STP_HAVE_TRACEPOINT_REGISTER_TP
		stp_tracepoint_unregister(ps[i].tp, ps[i].func, &ps[i]);
#endif
		ps[i].registered = false;
		any = true;
	}
	/* No probe function may still be running once this returns. */
	if (any)
		tracepoint_synchronize_unregister();
}

/* Registers every point, counting into *count. */
static void stp_tracepoints_register(struct stp_tracepoint *ps, int n, struct stp_reg_count *count)
{
	int i, rc;

	if (n == 0)
		return;
#ifdef STP_HAVE_TRACEPOINT_REGISTER_TP
	{
		struct stp_tracepoint_search search = { ps, n };

		for (i = 0; i < n; i++)
			ps[i].tp = NULL;
		stp_for_each_kernel_tracepoint(stp_tracepoint_match, &search);
	}
#endif
	for (i = 0; i < n; i++) {
		struct stp_tracepoint *p = &ps[i];

#ifdef STP_HAVE_TRACEPOINT_REGISTER_TP
		rc = p->tp ? stp_tracepoint_register(p->tp, p->func, p) : -ENOENT;
#else
		rc = -ENOSYS;
#endif
		stp_reg_count_note(count, p->probe, p->optional, rc);
		if (rc == 0)
			p->registered = true;
	}
}
