/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Perf event probes (perf.type(N).config(M), .sample(K), .hz(K),
 * .process, .counter("NAME")): kernel counters made with
 * perf_event_create_kernel_counter(), whose overflow handler runs the
 * probe with the registers of the code the event interrupted. A
 * system-wide point has one counter per online CPU when the session
 * starts; a .process point one counter in the target process (-c/-x),
 * which follows it across exec. A .counter point has no handler: it only
 * counts, and @perf("NAME") reads it, in the counting task, with
 * perf_event_read_local() (not exported: found through kallsyms; without
 * it, or in another task, the value is 0). An event the machine does not
 * have (hardware events in a guest without a PMU) is SystemTap's ERROR
 * with the kernel's error code, and the session ends with an error.
 */
#ifdef CONFIG_PERF_EVENTS
#include <linux/perf_event.h>
#include <linux/cpu.h>
#endif

struct stp_perf {
	const struct stp_probe *probe;
	u32 type;
	u64 config;
	u64 period;           /* the sample period, or a frequency with freq */
	bool freq;
	bool task;            /* .process: in the target process */
	const char *counter;  /* .counter("NAME"): counts only */
	bool optional;
#ifdef CONFIG_PERF_EVENTS
	struct perf_event *__percpu *events;  /* system-wide: per CPU */
	struct perf_event *event;             /* .process */
#endif
};

#ifdef CONFIG_PERF_EVENTS
typedef int (*stp_perf_read_local_func_t)(struct perf_event *, u64 *, u64 *, u64 *);
static stp_perf_read_local_func_t stp_perf_read_local;
static struct stp_perf *stp_perf_points;
static int stp_perf_npoints;

static void stp_perf_hit(struct perf_event *e, struct perf_sample_data *data,
			 struct pt_regs *regs)
{
	struct stp_perf *p = e->overflow_handler_context;

	stp_probe_run(p->probe, STP_PT_PERF, STP_RUNNING, regs);
}

static void stp_perf_attr(const struct stp_perf *p, struct perf_event_attr *attr)
{
	memset(attr, 0, sizeof(*attr));
	attr->type = p->type;
	attr->size = sizeof(*attr);
	attr->config = p->config;
	if (p->counter)
		return;
	if (p->freq) {
		attr->freq = 1;
		attr->sample_freq = p->period;
	} else {
		attr->sample_period = p->period;
	}
}

static void stp_perf_release(struct stp_perf *p)
{
	int cpu;

	if (p->event) {
		perf_event_release_kernel(p->event);
		p->event = NULL;
	}
	if (!p->events)
		return;
	for_each_possible_cpu(cpu) {
		struct perf_event **e = per_cpu_ptr(p->events, cpu);

		if (*e)
			perf_event_release_kernel(*e);
		*e = NULL;
	}
	free_percpu(p->events);
	p->events = NULL;
}

/* The target process's main thread, referenced; NULL when there is none. */
static struct task_struct *stp_perf_target(void)
{
	struct task_struct *t = NULL;

	if (!stp_target_pid)
		return NULL;
	rcu_read_lock();
	t = pid_task(find_vpid((pid_t)stp_target_pid), PIDTYPE_PID);
	if (t)
		get_task_struct(t);
	rcu_read_unlock();
	return t;
}

static int stp_perf_place(struct stp_perf *p)
{
	struct perf_event_attr attr;
	perf_overflow_handler_t handler = p->counter ? NULL : stp_perf_hit;
	struct perf_event *e;
	int cpu, rc = 0;

	stp_perf_attr(p, &attr);
	if (p->task) {
		struct task_struct *t = stp_perf_target();

		/* Without a target process there is nothing to count in. */
		if (!t)
			return -ESRCH;
		e = perf_event_create_kernel_counter(&attr, -1, t, handler, p);
		put_task_struct(t);
		if (IS_ERR(e))
			return PTR_ERR(e);
		p->event = e;
		return 0;
	}
	p->events = alloc_percpu(struct perf_event *);
	if (!p->events)
		return -ENOMEM;
	cpus_read_lock();
	for_each_online_cpu(cpu) {
		e = perf_event_create_kernel_counter(&attr, cpu, NULL, handler, p);
		if (IS_ERR(e)) {
			rc = PTR_ERR(e);
			break;
		}
		*per_cpu_ptr(p->events, cpu) = e;
	}
	cpus_read_unlock();
	if (rc)
		stp_perf_release(p);
	return rc;
}
#endif

/*
 * @perf("NAME"): the count of the .counter("NAME") point in the current
 * task; 0 where it does not count.
 */
static __maybe_unused int64_t stp_perf_counter_read(const char *name)
{
#ifdef CONFIG_PERF_EVENTS
	u64 value = 0, enabled, running;
	int i;

	for (i = 0; i < stp_perf_npoints; i++) {
		struct stp_perf *p = &stp_perf_points[i];

		if (!p->counter || strcmp(p->counter, name))
			continue;
		if (!p->event || !stp_perf_read_local)
			return 0;
		if (stp_perf_read_local(p->event, &value, &enabled, &running))
			return 0;
		return (int64_t)value;
	}
#endif
	return 0;
}

static void stp_perfs_register(struct stp_perf *ps, int n, struct stp_reg_count *count)
{
	int i;

#ifdef CONFIG_PERF_EVENTS
	stp_perf_read_local = (stp_perf_read_local_func_t)
		stp_kallsyms_callable("perf_event_read_local");
	stp_perf_points = ps;
	stp_perf_npoints = n;
#endif
	for (i = 0; i < n; i++) {
#ifdef CONFIG_PERF_EVENTS
		int rc = stp_perf_place(&ps[i]);
#else
		int rc = -ENOSYS;
#endif
		/* SystemTap fails the session on a perf event the kernel
		 * refuses, with this error, once the begin probes have run. */
		if (rc && !ps[i].optional) {
			stp_stderr("ERROR: probe %s registration error [man warning::pass5] (rc %d)\n",
				   ps[i].probe->pp, rc);
			stp_request_exit(true);
		}
		stp_reg_count_note(count, ps[i].probe, true, rc);
	}
}

static void stp_perfs_unregister(struct stp_perf *ps, int n)
{
#ifdef CONFIG_PERF_EVENTS
	int i;

	for (i = 0; i < n; i++)
		stp_perf_release(&ps[i]);
	stp_perf_npoints = 0;
	stp_perf_points = NULL;
#endif
}

/* The perf event family: a generated module lists its table. */
STP_FAMILY(perf, struct stp_perf, stp_perfs_register, stp_perfs_unregister);
