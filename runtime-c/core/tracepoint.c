/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Tracepoint probes: kernel.trace("system:name"), registered when the
 * session starts (after the begin probes) on the struct tracepoint found
 * by name among the kernel's own (for_each_kernel_tracepoint()).
 *
 * A module's tracepoint (.module: the translator found it in the headers
 * but not in the image) is found in the module's own tracepoint table
 * (mod->tracepoints_ptrs) through a tracepoint module notifier, which the
 * kernel calls with MODULE_STATE_COMING for every module already loaded
 * when it is registered and for each module loaded later, and with
 * MODULE_STATE_GOING when a module leaves and for every module when the
 * notifier is unregistered: the probe is attached while its module is
 * there and never fires (no error) while it is not. The kernel serialises
 * the notifier's calls (tracepoint_module_list_mutex), which are the only
 * code touching a module point's state.
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
	bool module;          /* defined in a module: attached when it loads */
	struct tracepoint *tp;
	bool registered;
	struct module *owner; /* a module point's module while attached */
};

/* Called by the generated probe functions with the arguments in slots. */
static __maybe_unused void stp_tracepoint_run(void *data, unsigned long *args)
{
	struct stp_tracepoint *p = data;

	stp_probe_run_args(p->probe, STP_PT_TRACEPOINT, STP_RUNNING, args);
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

#ifdef STP_TRACEPOINT_MODULES
/* The table whose module points the notifier serves (the script's). */
static struct stp_tracepoint *stp_tp_module_points;
static int stp_tp_module_npoints;
static bool stp_tp_notifier_registered;

static int stp_tracepoint_module_notify(struct notifier_block *nb, unsigned long val, void *data)
{
	struct tp_module *tp_mod = data;
	struct module *mod = tp_mod->mod;
	bool gone = false;
	unsigned int t;
	int i, rc;

	for (i = 0; i < stp_tp_module_npoints; i++) {
		struct stp_tracepoint *p = &stp_tp_module_points[i];

		if (!p->module)
			continue;
		if (val == MODULE_STATE_COMING && !p->registered) {
			for (t = 0; t < mod->num_tracepoints; t++) {
				struct tracepoint *tp = tracepoint_ptr_deref(mod->tracepoints_ptrs + t);

				if (strcmp(tp->name, p->name) != 0)
					continue;
				rc = stp_tracepoint_register(tp, p->func, p);
				if (rc == 0) {
					p->tp = tp;
					p->owner = mod;
					p->registered = true;
				} else if (!p->optional) {
					stp_stderr("WARNING: probe %s registration error (rc %d)\n",
						   p->probe->pp, rc);
				}
				break;
			}
		} else if (val == MODULE_STATE_GOING && p->registered && p->owner == mod) {
			stp_tracepoint_unregister(p->tp, p->func, p);
			p->registered = false;
			p->tp = NULL;
			p->owner = NULL;
			gone = true;
		}
	}
	/* No probe function runs on the module's tracepoints once it goes. */
	if (gone)
		tracepoint_synchronize_unregister();
	return NOTIFY_OK;
}

static struct notifier_block stp_tp_module_nb = {
	.notifier_call = stp_tracepoint_module_notify,
};

/* Starts serving the module points of ps (those already loaded at once). */
static void stp_tracepoints_watch_modules(struct stp_tracepoint *ps, int n)
{
	int i, rc;

	for (i = 0; i < n; i++)
		if (ps[i].module)
			break;
	if (i == n || stp_tp_notifier_registered)
		return;
	stp_tp_module_points = ps;
	stp_tp_module_npoints = n;
	rc = register_tracepoint_module_notifier(&stp_tp_module_nb);
	if (rc == 0)
		stp_tp_notifier_registered = true;
	else
		stp_stderr("WARNING: cannot watch modules for their tracepoints (rc %d)\n", rc);
}

/* Detaches every module point (the kernel says GOING for each module). */
static void stp_tracepoints_unwatch_modules(struct stp_tracepoint *ps)
{
	if (!stp_tp_notifier_registered || ps != stp_tp_module_points)
		return;
	unregister_tracepoint_module_notifier(&stp_tp_module_nb);
	stp_tp_notifier_registered = false;
}
#else
static void stp_tracepoints_watch_modules(struct stp_tracepoint *ps, int n)
{
}

static void stp_tracepoints_unwatch_modules(struct stp_tracepoint *ps)
{
}
#endif

static void stp_tracepoints_unregister(struct stp_tracepoint *ps, int n)
{
	bool any = false;
	int i;

	stp_tracepoints_unwatch_modules(ps);
	for (i = 0; i < n; i++) {
		if (!ps[i].registered)
			continue;
		stp_tracepoint_unregister(ps[i].tp, ps[i].func, &ps[i]);
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
	{
		struct stp_tracepoint_search search = { ps, n };

		for (i = 0; i < n; i++)
			ps[i].tp = NULL;
		stp_for_each_kernel_tracepoint(stp_tracepoint_match, &search);
	}
	for (i = 0; i < n; i++) {
		struct stp_tracepoint *p = &ps[i];

		/* A module's: attached by the notifier if and when it loads. */
		if (p->module)
			continue;
		rc = p->tp ? stp_tracepoint_register(p->tp, p->func, p) : -ENOENT;
		stp_reg_count_note(count, p->probe, p->optional, rc);
		if (rc == 0)
			p->registered = true;
	}
	stp_tracepoints_watch_modules(ps, n);
}

/* The tracepoint family: a generated module lists its table with it. */
STP_FAMILY(tracepoint, struct stp_tracepoint, stp_tracepoints_register, stp_tracepoints_unregister);
