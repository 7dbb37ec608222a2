/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Timer probes (timer.s/ms/us/ns/hz/jiffies): one hrtimer per probe,
 * firing first one period after the session starts, then every period
 * (plus a random part up to `randomize_ns` when asked). timer.profile
 * (`per_cpu`) is one pinned hrtimer on every online CPU, each started on
 * its own CPU.
 */

struct stp_timer_probe;

struct stp_timer_cpu {
	struct hrtimer hr;
	struct stp_timer_probe *timer;
};

struct stp_timer_probe {
	const struct stp_probe *probe;
	u64 period_ns;
	u64 randomize_ns;
	bool per_cpu;
	struct hrtimer hr;            /* unless per_cpu */
	struct stp_timer_cpu *cpus;   /* nr_cpu_ids timers when per_cpu */
};

static __maybe_unused u64 stp_timer_interval(const struct stp_timer_probe *t)
{
	u64 ns = t->period_ns;

	if (t->randomize_ns)
		ns += get_random_u32() % (t->randomize_ns + 1);
	return ns ? ns : 1;
}

static enum hrtimer_restart stp_timer_tick(struct hrtimer *hr, struct stp_timer_probe *t)
{
	if (atomic_read(&stp_state) != STP_RUNNING)
		return HRTIMER_NORESTART;
	stp_probe_run(t->probe, t->per_cpu ? STP_PT_PROFILE : STP_PT_TIMER, STP_RUNNING,
		      get_irq_regs());
	hrtimer_forward_now(hr, ns_to_ktime(stp_timer_interval(t)));
	return HRTIMER_RESTART;
}

static enum hrtimer_restart stp_timer_fire(struct hrtimer *hr)
{
	return stp_timer_tick(hr, container_of(hr, struct stp_timer_probe, hr));
}

static enum hrtimer_restart stp_timer_fire_cpu(struct hrtimer *hr)
{
	return stp_timer_tick(hr, container_of(hr, struct stp_timer_cpu, hr)->timer);
}

/* Runs on each CPU (IPI): starts that CPU's timer, pinned to it. */
static void stp_timer_start_local(void *info)
{
	struct stp_timer_probe *t = info;

	hrtimer_start(&t->cpus[smp_processor_id()].hr, ns_to_ktime(stp_timer_interval(t)),
		      HRTIMER_MODE_REL_PINNED);
}

static __maybe_unused void stp_timers_arm(struct stp_timer_probe *timers, int n)
{
	unsigned int cpu;
	int i;

	for (i = 0; i < n; i++) {
		struct stp_timer_probe *t = &timers[i];

		if (!t->per_cpu) {
			stp_hrtimer_setup(&t->hr, stp_timer_fire, HRTIMER_MODE_REL);
			hrtimer_start(&t->hr, ns_to_ktime(stp_timer_interval(t)), HRTIMER_MODE_REL);
			continue;
		}
		t->cpus = kcalloc(nr_cpu_ids, sizeof(*t->cpus), GFP_KERNEL);
		if (!t->cpus) {
			stp_stderr("WARNING: probe %s not armed: out of memory\n", t->probe->pp);
			continue;
		}
		for_each_possible_cpu(cpu) {
			t->cpus[cpu].timer = t;
			stp_hrtimer_setup(&t->cpus[cpu].hr, stp_timer_fire_cpu, HRTIMER_MODE_REL_PINNED);
		}
		on_each_cpu(stp_timer_start_local, t, 1);
	}
}

static __maybe_unused void stp_timers_disarm(struct stp_timer_probe *timers, int n)
{
	unsigned int cpu;
	int i;

	for (i = 0; i < n; i++) {
		struct stp_timer_probe *t = &timers[i];

		if (!t->per_cpu) {
			hrtimer_cancel(&t->hr);
			continue;
		}
		if (!t->cpus)
			continue;
		for_each_possible_cpu(cpu)
			hrtimer_cancel(&t->cpus[cpu].hr);
		kfree(t->cpus);
		t->cpus = NULL;
	}
}

/* Timers always work: every point counts as registered. */
static void stp_timers_register(struct stp_timer_probe *timers, int n, struct stp_reg_count *count)
{
	stp_timers_arm(timers, n);
	count->ok += n;
}

/* The timer family: a generated module lists its table with it. */
STP_FAMILY(timer, struct stp_timer_probe, stp_timers_register, stp_timers_disarm);
