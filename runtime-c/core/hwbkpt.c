/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Hardware breakpoint probes (kernel.data(ADDRESS|"SYMBOL").write/.rw,
 * with .length(N)): one wide perf hardware breakpoint, on every CPU, per
 * point, at the address or at the symbol kallsyms finds when the session
 * starts. The length is rounded up to one the CPU watches (1, 2, 4 or 8
 * bytes); a longer one, an address not aligned to it, or a CPU out of
 * debug registers fails the point's registration, as in SystemTap. The
 * handler runs in the debug exception, after the access, with the
 * registers of the code that made it.
 */
#ifdef CONFIG_HAVE_HW_BREAKPOINT
#include <linux/hw_breakpoint.h>
#endif

struct stp_hwbkpt {
	const struct stp_probe *probe;
	unsigned long address;          /* when symbol is NULL */
	const char *symbol;
	unsigned long len;
	bool write_only;
	bool optional;
#ifdef CONFIG_HAVE_HW_BREAKPOINT
	struct perf_event *__percpu *events;
#endif
};

#ifdef CONFIG_HAVE_HW_BREAKPOINT
static void stp_hwbkpt_hit(struct perf_event *bp, struct perf_sample_data *data,
			   struct pt_regs *regs)
{
	struct stp_hwbkpt *h = bp->overflow_handler_context;

	stp_probe_run(h->probe, STP_PT_HWBKPT, STP_RUNNING, regs);
}

/* The length the CPU watches for a request of len bytes; 0: none. */
static unsigned long stp_hwbkpt_len(unsigned long len)
{
	if (len <= 1)
		return HW_BREAKPOINT_LEN_1;
	if (len <= 2)
		return HW_BREAKPOINT_LEN_2;
	if (len <= 4)
		return HW_BREAKPOINT_LEN_4;
	if (len <= 8)
		return HW_BREAKPOINT_LEN_8;
	return 0;
}

static int stp_hwbkpt_place(struct stp_hwbkpt *h)
{
	struct perf_event_attr attr;
	unsigned long addr = h->address;
	struct perf_event *__percpu *events;

#ifdef CONFIG_ARM64
	/* arm64 steps over a watchpoint only for perf's own handlers: the
	 * access would trap again forever (the translator refuses these). */
	return -EOPNOTSUPP;
#endif
	if (h->symbol) {
		addr = stp_kallsyms_lookup_name(h->symbol);
		if (!addr)
			return -ENOENT;
	}
	hw_breakpoint_init(&attr);
	attr.bp_addr = addr;
	attr.bp_len = stp_hwbkpt_len(h->len);
	if (!attr.bp_len)
		return -EINVAL;
	attr.bp_type = h->write_only ? HW_BREAKPOINT_W : HW_BREAKPOINT_RW;
	events = register_wide_hw_breakpoint(&attr, stp_hwbkpt_hit, h);
	/* A per-CPU pointer: checked as a number (newer compilers refuse its
	 * cast to a plain pointer), as the kernel's IS_ERR_PCPU() does. */
	if (IS_ERR_VALUE((__force unsigned long)events))
		return (int)(long)(__force unsigned long)events;
	h->events = events;
	return 0;
}
#endif

static void stp_hwbkpts_register(struct stp_hwbkpt *hs, int n, struct stp_reg_count *count)
{
	int i;

	for (i = 0; i < n; i++) {
#ifdef CONFIG_HAVE_HW_BREAKPOINT
		int rc = stp_hwbkpt_place(&hs[i]);
#else
		int rc = -ENOSYS;
#endif
		stp_reg_count_note(count, hs[i].probe, hs[i].optional, rc);
	}
}

static void stp_hwbkpts_unregister(struct stp_hwbkpt *hs, int n)
{
#ifdef CONFIG_HAVE_HW_BREAKPOINT
	int i;

	for (i = 0; i < n; i++) {
		if (!hs[i].events)
			continue;
		unregister_wide_hw_breakpoint(hs[i].events);
		hs[i].events = NULL;
	}
#endif
}

/* The hardware breakpoint family: a generated module lists its table. */
STP_FAMILY(hwbkpt, struct stp_hwbkpt, stp_hwbkpts_register, stp_hwbkpts_unregister);
