/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Timer probes (timer.s/ms/us/ns/hz/jiffies): one hrtimer per probe,
 * firing first one period after the session starts, then every period
 * (plus a random part up to `randomize_ns` when asked).
 */

struct stp_timer_probe {
	const struct stp_probe *probe;
	u64 period_ns;
	u64 randomize_ns;
	struct hrtimer hr;
};

static __maybe_unused u64 stp_timer_interval(const struct stp_timer_probe *t)
{
	u64 ns = t->period_ns;

	if (t->randomize_ns)
		ns += get_random_u32() % (t->randomize_ns + 1);
	return ns ? ns : 1;
}

static __maybe_unused enum hrtimer_restart stp_timer_fire(struct hrtimer *hr)
{
	struct stp_timer_probe *t = container_of(hr, struct stp_timer_probe, hr);

	if (atomic_read(&stp_state) != STP_RUNNING)
		return HRTIMER_NORESTART;
	stp_probe_run(t->probe, STP_RUNNING, get_irq_regs());
	hrtimer_forward_now(hr, ns_to_ktime(stp_timer_interval(t)));
	return HRTIMER_RESTART;
}

static __maybe_unused void stp_timers_arm(struct stp_timer_probe *timers, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		stp_hrtimer_setup(&timers[i].hr, stp_timer_fire);
		hrtimer_start(&timers[i].hr, ns_to_ktime(stp_timer_interval(&timers[i])), HRTIMER_MODE_REL);
	}
}

static __maybe_unused void stp_timers_disarm(struct stp_timer_probe *timers, int n)
{
	int i;

	for (i = 0; i < n; i++)
		hrtimer_cancel(&timers[i].hr);
}
