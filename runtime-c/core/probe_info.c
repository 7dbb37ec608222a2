/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What a handler can learn about the probe it runs for and where it hit:
 * the kind of probe (probe_type(), is_return()), the user-space address
 * of the current task, the stack in use, the registers printed, and the
 * module's own sizes (module_size()).
 */

/* probe_type()'s names, as SystemTap 5.1 gives them. */
static __maybe_unused const char *stp_probe_type_name(const struct stp_context *c)
{
	switch (c->type) {
	case STP_PT_BEGIN:
	case STP_PT_END:
	case STP_PT_ERROR:
		return "begin_end";
	case STP_PT_KPROBE:
		return "kprobe";
	case STP_PT_KRETPROBE:
		return "kretprobe";
	case STP_PT_UPROBE:
		return "uprobe";
	case STP_PT_URETPROBE:
		return "uretprobe";
	case STP_PT_TIMER:
		return "hrtimer";
	case STP_PT_PROFILE:
		/* SystemTap runs timer.profile on a perf event. */
		return "perf_event";
	case STP_PT_TRACEPOINT:
		return "tracepoint";
	case STP_PT_PROCESS:
		return "utrace";
	case STP_PT_NETFILTER:
		return "netfilter";
	case STP_PT_PROCFS:
		return "procfs";
	case STP_PT_HWBKPT:
		return "hwbkpt";
	case STP_PT_PERF:
		return "perf_event";
	}
	return "";
}

/* Whether the handler runs for a .return probe. */
static __maybe_unused int64_t stp_probe_is_return(const struct stp_context *c)
{
	return c->type == STP_PT_KRETPROBE || c->type == STP_PT_URETPROBE;
}

/*
 * Where the current task was in user space: the probe's own registers
 * when it hit in user mode, else those the task entered the kernel with;
 * 0 for kernel threads.
 */
static __maybe_unused int64_t stp_uaddr(const struct stp_context *c)
{
	if (c->regs && user_mode(c->regs))
		return (int64_t)instruction_pointer(c->regs);
	if (!current->mm || (current->flags & PF_KTHREAD))
		return 0;
	return (int64_t)instruction_pointer(task_pt_regs(current));
}

/*
 * Bytes of the kernel stack in use where the probe hit: from the probed
 * code's stack pointer when the probe has kernel registers, else from
 * the handler's own frame. Stacks are THREAD_SIZE-aligned.
 */
static __maybe_unused int64_t stp_stack_used(const struct stp_context *c)
{
	unsigned long sp;

	if (c->regs && !user_mode(c->regs))
		sp = kernel_stack_pointer(c->regs);
	else
		sp = (unsigned long)__builtin_frame_address(0);
	return THREAD_SIZE - (sp & (THREAD_SIZE - 1));
}

/* "NNdata/NNtext/NNctx/NNnet/NNalloc kb": the module's loaded sizes. */
static __maybe_unused void stp_module_size(char *dst, size_t cap)
{
	unsigned long ctx = nr_cpu_ids * (sizeof(struct stp_context) + (MAXNESTING + 1) * stp_frame_size);
	unsigned long net = STP_TRANSPORT_BUFSIZE;

	scnprintf(dst, cap, "%udata/%utext/%luctx/%lunet/%lualloc kb",
		  stp_module_data_size(THIS_MODULE) / 1024, stp_module_text_size(THIS_MODULE) / 1024,
		  ctx / 1024, net / 1024, (ctx + net) / 1024);
}

#if defined(CONFIG_X86_64)
#include <asm/special_insns.h>
#include <asm/segment.h>

/* A model-specific register (the segment bases print_regs() shows). */
static inline unsigned long stp_rdmsr(unsigned int msr)
{
	unsigned int lo, hi;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((unsigned long)hi << 32) | lo;
}
#endif

/*
 * print_regs(): the registers at the probe in SystemTap's layout (the
 * kernel's oops report's, on x86-64 with the segment bases and control
 * registers of the CPU it runs on); nothing for probes without registers.
 */
static __maybe_unused void stp_print_regs(struct stp_context *c)
{
	struct pt_regs *r = c->regs;

	if (!r)
		return;
#if defined(CONFIG_X86_64)
	{
		unsigned int fsindex, gsindex, ds, es;

		savesegment(fs, fsindex);
		savesegment(gs, gsindex);
		savesegment(ds, ds);
		savesegment(es, es);
		stp_print_fmt(c, "RIP: %016lx\n", r->ip);
		stp_print_fmt(c, "RSP: %016lx  EFLAGS: %08lx\n", r->sp, r->flags);
		stp_print_fmt(c, "RAX: %016lx RBX: %016lx RCX: %016lx\n", r->ax, r->bx, r->cx);
		stp_print_fmt(c, "RDX: %016lx RSI: %016lx RDI: %016lx\n", r->dx, r->si, r->di);
		stp_print_fmt(c, "RBP: %016lx R08: %016lx R09: %016lx\n", r->bp, r->r8, r->r9);
		stp_print_fmt(c, "R10: %016lx R11: %016lx R12: %016lx\n", r->r10, r->r11, r->r12);
		stp_print_fmt(c, "R13: %016lx R14: %016lx R15: %016lx\n", r->r13, r->r14, r->r15);
		stp_print_fmt(c, "FS:  %016lx(%04x) GS:%016lx(%04x) knlGS:%016lx\n", stp_rdmsr(0xc0000100),
			      fsindex, stp_rdmsr(0xc0000101), gsindex, stp_rdmsr(0xc0000102));
		stp_print_fmt(c, "CS:  %04x DS: %04x ES: %04x CR0: %016lx\n", (unsigned int)(r->cs & 0xffff), ds,
			      es, native_read_cr0());
		stp_print_fmt(c, "CR2: %016lx CR3: %016lx CR4: %016lx\n", native_read_cr2(), __native_read_cr3(),
			      native_read_cr4());
	}
#elif defined(CONFIG_ARM64)
	{
		int i;

		stp_print_fmt(c, "pc : %016llx lr : %016llx pstate: %08llx\n", r->pc, r->regs[30], r->pstate);
		stp_print_fmt(c, "sp : %016llx\n", r->sp);
		for (i = 29; i >= 0; i--)
			stp_print_fmt(c, "x%-2d: %016llx%s", i, r->regs[i], i % 2 == 0 ? "\n" : " ");
	}
#endif
}
