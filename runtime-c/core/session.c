/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The session: the module's life from load to unload.
 *
 *   STARTING --start--> (begin probes) --> RUNNING --exit()/errors--> STOPPING
 *   STOPPING --stop--> (disarm, end or error probes) --> DONE
 *
 * `start` and `stop` arrive from staprun through the channel and run in
 * its process context. exit() and fatal errors only flag the request; the
 * channel reports it to staprun, which answers with `stop`.
 */

enum {
	STP_STARTING = 1,
	STP_RUNNING,
	STP_STOPPING,
	STP_DONE,
};

/*
 * What registering the event probes (kprobes, tracepoints, ...) came to.
 * Each family reports every point through stp_reg_count_note(); a point
 * the kernel refuses is a warning, and the session fails only when
 * required points exist and none at all registered (begin, end and timer
 * probes count as registered).
 */
struct stp_reg_count {
	int ok;
	int required;
};

/*
 * A probe family's operations on its table of points (an array of the
 * family's own entries, such as struct stp_kprobe): register them all
 * when the session starts, counting into *count, and unregister them when
 * it stops (also when none or only some registered). Each family's file
 * (core/kprobe.c, ...) defines one.
 */
struct stp_family {
	const char *name;
	void (*register_points)(void *points, int n, struct stp_reg_count *count);
	void (*unregister_points)(void *points, int n);
};

/*
 * Defines stp_FAM_family from the family's register and unregister
 * functions, which take its own table type: one line in its file.
 */
#ifdef STP_RUNTIME_DECLS
/* A script compiled apart from the runtime object only names the family. */
#define STP_FAMILY(fam, type, register_fn, unregister_fn)			\
	extern const struct stp_family stp_##fam##_family
#else
#define STP_FAMILY(fam, type, register_fn, unregister_fn)			\
	static void stp_##fam##_family_register(void *points, int n,		\
						 struct stp_reg_count *count)	\
	{									\
		register_fn((type *)points, n, count);				\
	}									\
	static void stp_##fam##_family_unregister(void *points, int n)		\
	{									\
		unregister_fn((type *)points, n);				\
	}									\
	STP_API const struct stp_family stp_##fam##_family __maybe_unused = {	\
		.name = #fam,							\
		.register_points = stp_##fam##_family_register,		\
		.unregister_points = stp_##fam##_family_unregister,		\
	}
#endif

/* One family's points in a module. */
struct stp_family_points {
	const struct stp_family *family;
	void *points;
	int n;
};

/* What the generated code describes about a script. */
struct stp_module_desc {
	const char *name;
	size_t frame_size;                      /* sizeof the locals union */
	const struct stp_probe *const *begin;   /* in priority order */
	int nbegin;
	const struct stp_probe *const *end;
	int nend;
	const struct stp_probe *const *error;
	int nerror;
	int (*globals_init)(void);
	void (*globals_exit)(void);
	/* The event families the script uses: registered in this order once
	 * the begin probes have run, unregistered in the reverse order. */
	const struct stp_family_points *families;
	int nfamilies;
};

static const struct stp_module_desc *stp_desc;

static __maybe_unused void stp_reg_count_note(struct stp_reg_count *count,
					      const struct stp_probe *probe,
					      bool optional, int rc)
{
	if (!optional)
		count->required++;
	if (rc == 0)
		count->ok++;
	else if (!optional)
		stp_stderr("WARNING: probe %s registration error (rc %d)\n", probe->pp, rc);
}

/* The process `stap -x PID` / `staprun -x PID` names; target() returns it. */
static long stp_target_pid;
module_param_named(_stp_target, stp_target_pid, long, 0444);
MODULE_PARM_DESC(_stp_target, "the target process id (stap -x)");

/* The time zone of the host staprun runs on, which it passes at load. */
static long stp_tz_gmtoff;
module_param_named(_stp_tz_gmtoff, stp_tz_gmtoff, long, 0444);
MODULE_PARM_DESC(_stp_tz_gmtoff, "the local time zone's offset, seconds west of UTC");
static char stp_tz_name[16] = "UTC";
module_param_string(_stp_tz_name, stp_tz_name, sizeof(stp_tz_name), 0444);
MODULE_PARM_DESC(_stp_tz_name, "the local time zone's name");
static atomic_t stp_state = ATOMIC_INIT(STP_STARTING);
static atomic_t stp_exit_requested = ATOMIC_INIT(0);
static atomic_t stp_error_exit = ATOMIC_INIT(0);
static bool stp_families_registered;

static __maybe_unused int stp_session_state(void)
{
	return atomic_read(&stp_state);
}

static __maybe_unused bool stp_session_exit_requested(void)
{
	return atomic_read(&stp_exit_requested) != 0;
}

static __maybe_unused bool stp_session_done(void)
{
	return atomic_read(&stp_state) == STP_DONE;
}

static __maybe_unused void stp_session_summary(struct stp_summary *s)
{
	memset(s, 0, sizeof(*s));
	s->errors = atomic_read(&stp_error_count);
	s->skipped = atomic_read(&stp_skip_count);
	s->error_exit = atomic_read(&stp_error_exit);
}

/* exit(), or an error past MAXERRORS: no further probe hits run. */
static __maybe_unused void stp_request_exit(bool error_exit)
{
	if (error_exit)
		atomic_set(&stp_error_exit, 1);
	atomic_set(&stp_exit_requested, 1);
	atomic_cmpxchg(&stp_state, STP_RUNNING, STP_STOPPING);
	atomic_cmpxchg(&stp_state, STP_STARTING, STP_STOPPING);
}

static __maybe_unused void stp_run_all(const struct stp_probe *const *probes, int n,
				       enum stp_probe_type type, int state)
{
	int i;

	for (i = 0; i < n; i++)
		stp_probe_run(probes[i], type, state, NULL);
}

static __maybe_unused int stp_session_start(void)
{
	if (atomic_read(&stp_state) != STP_STARTING)
		return -EBUSY;
	stp_run_all(stp_desc->begin, stp_desc->nbegin, STP_PT_BEGIN, STP_STARTING);
	if (atomic_cmpxchg(&stp_state, STP_STARTING, STP_RUNNING) == STP_STARTING) {
		struct stp_reg_count count = { 0, 0 };
		int i;

		stp_families_registered = true;
		for (i = 0; i < stp_desc->nfamilies; i++) {
			const struct stp_family_points *f = &stp_desc->families[i];

			f->family->register_points(f->points, f->n, &count);
		}
		/* begin and end probes are points that always work (and so are
		 * timers, which their family counts). */
		count.ok += stp_desc->nbegin + stp_desc->nend;
		if (count.required > 0 && count.ok == 0) {
			stp_stderr("ERROR: no probe point could be registered\n");
			atomic_inc(&stp_error_count);
			stp_request_exit(true);
		}
	}
	return 0;
}

static __maybe_unused void stp_disarm(void)
{
	int i;

	if (!stp_families_registered)
		return;
	for (i = stp_desc->nfamilies - 1; i >= 0; i--) {
		const struct stp_family_points *f = &stp_desc->families[i];

		f->family->unregister_points(f->points, f->n);
	}
	stp_families_registered = false;
}

static __maybe_unused int stp_session_stop(void)
{
	int errors, skipped;

	if (atomic_read(&stp_state) == STP_DONE)
		return 0;
	atomic_set(&stp_state, STP_STOPPING);
	stp_disarm();
	/* An error in an end probe also ends in the error probes. */
	if (!atomic_read(&stp_error_exit))
		stp_run_all(stp_desc->end, stp_desc->nend, STP_PT_END, STP_STOPPING);
	if (atomic_read(&stp_error_exit))
		stp_run_all(stp_desc->error, stp_desc->nerror, STP_PT_ERROR, STP_STOPPING);
	errors = atomic_read(&stp_error_count);
	skipped = atomic_read(&stp_skip_count);
	if (errors || skipped)
		stp_stderr("WARNING: Number of errors: %d, skipped probes: %d\n", errors, skipped);
	atomic_set(&stp_state, STP_DONE);
	return 0;
}

static __maybe_unused int stp_session_init(const struct stp_module_desc *desc)
{
	int rc;

	stp_desc = desc;
	rc = stp_contexts_init(desc->frame_size);
	if (rc)
		goto fail_contexts;
	rc = desc->globals_init ? desc->globals_init() : 0;
	if (rc)
		goto fail_contexts;
	/*
	 * Find kallsyms_lookup_name() now, in process context, so that
	 * tapset functions can look unexported kernel data up later from any
	 * context (softirq.entry's softirq_vec). Without it they find nothing.
	 */
	(void)stp_kallsyms_init();
	rc = stp_transport_init(desc->name);
	if (rc)
		goto fail_transport;
	stp_kstack_init();
	stp_ustack_init();
	stp_task_init();
	return 0;
fail_transport:
	if (desc->globals_exit)
		desc->globals_exit();
fail_contexts:
	stp_contexts_exit();
	return rc;
}

static __maybe_unused void stp_session_exit(void)
{
	atomic_set(&stp_state, STP_DONE);
	stp_disarm();
	stp_transport_exit();
	stp_task_exit();
	stp_ustack_exit();
	if (stp_desc->globals_exit)
		stp_desc->globals_exit();
	stp_contexts_exit();
}

/* The module boilerplate every generated file ends with. */
#define STP_MODULE(desc, description)                   \
	static int __init stp_module_init(void)          \
	{                                                \
		return stp_session_init(&(desc));        \
	}                                                \
	static void __exit stp_module_exit(void)         \
	{                                                \
		stp_session_exit();                      \
	}                                                \
	module_init(stp_module_init);                    \
	module_exit(stp_module_exit);                    \
	MODULE_LICENSE("GPL");                           \
	MODULE_DESCRIPTION(description)
