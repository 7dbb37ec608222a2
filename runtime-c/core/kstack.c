/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Kernel stacks and symbols without debuginfo: addresses are named by the
 * running kernel's kallsyms (sprint_symbol(), which also knows modules),
 * and stacks are walked by the kernel's own unwinder: on x86-64 the ORC
 * unwinder's exported API, which starts from a probe's registers, the
 * current frame or a sleeping task; elsewhere stack_trace_save_regs() and
 * stack_trace_save_tsk(), found through kallsyms when the tree does not
 * export them (STP_NEED_KSTACK: stp_kstack_init() at module load).
 */

/* One address, named. */
struct stp_ksym {
	const char *name;       /* NULL when kallsyms does not know it */
	size_t name_len;
	unsigned long offset;
	unsigned long size;
	const char *module;     /* "kernel" for the kernel image */
	size_t module_len;
};

/*
 * Names addr into sym, using buf (KSYM_SYMBOL_LEN bytes) for the text.
 * sprint_symbol() writes "name+0xoff/0xsize [module]" (the module part
 * only for modules, perhaps followed by a build id) or "0xaddr" for an
 * unknown address.
 */
static __maybe_unused bool stp_ksym_lookup(unsigned long addr, char *buf, struct stp_ksym *sym)
{
	char *plus, *slash, *open;

	memset(sym, 0, sizeof(*sym));
	if (!addr)
		return false;
	sprint_symbol(buf, addr);
	plus = strrchr(buf, '+');
	if (!plus || plus == buf)
		return false;
	slash = strchr(plus, '/');
	if (!slash)
		return false;
	sym->name = buf;
	sym->name_len = plus - buf;
	sym->offset = simple_strtoul(plus + 1, NULL, 16);
	sym->size = simple_strtoul(slash + 1, NULL, 16);
	open = strchr(slash, '[');
	if (open) {
		sym->module = open + 1;
		sym->module_len = strcspn(sym->module, " ]");
	} else {
		sym->module = "kernel";
		sym->module_len = strlen("kernel");
	}
	return true;
}

#if defined(CONFIG_X86_64) && defined(CONFIG_UNWINDER_ORC) && defined(STP_HAVE_EXPORT___UNWIND_START)
#include <asm/unwind.h>
#define STP_KSTACK_ORC 1
#endif

#ifdef STP_NEED_KSTACK
#ifndef STP_KSTACK_ORC
typedef unsigned int (*stp_stack_trace_save_regs_t)(struct pt_regs *, unsigned long *, unsigned int,
						    unsigned int);
static stp_stack_trace_save_regs_t stp_stack_trace_save_regs_fn;
#endif
typedef unsigned int (*stp_stack_trace_save_tsk_t)(struct task_struct *, unsigned long *, unsigned int,
						   unsigned int);
static stp_stack_trace_save_tsk_t stp_stack_trace_save_tsk_fn;
#endif

/* Finds the unexported walkers, in process context at module load. */
static __maybe_unused void stp_kstack_init(void)
{
#ifdef STP_NEED_KSTACK
#ifndef STP_KSTACK_ORC
	stp_stack_trace_save_regs_fn =
		(stp_stack_trace_save_regs_t)stp_kallsyms_callable("stack_trace_save_regs");
#endif
#ifdef STP_HAVE_EXPORT_STACK_TRACE_SAVE_TSK
	stp_stack_trace_save_tsk_fn = stack_trace_save_tsk;
#else
	stp_stack_trace_save_tsk_fn =
		(stp_stack_trace_save_tsk_t)stp_kallsyms_callable("stack_trace_save_tsk");
#endif
#endif
}

#ifdef STP_NEED_KSTACK
/* The walk from a probe's kernel registers: the probed address first. */
static unsigned int stp_kstack_regs(struct stp_context *c, struct pt_regs *regs, unsigned long *out,
				    unsigned int max)
{
	unsigned int n = 0;
#ifdef STP_KSTACK_ORC
	struct unwind_state state;

	out[n++] = instruction_pointer(regs);
	for (unwind_start(&state, current, regs, NULL); !unwind_done(&state) && n < max;
	     unwind_next_frame(&state)) {
		unsigned long addr = unwind_get_return_address(&state);

		if (!addr)
			break;
		out[n++] = addr;
	}
#else
	if (!stp_stack_trace_save_regs_fn)
		return 0;
	n = stp_stack_trace_save_regs_fn(regs, out, max, 0);
#ifdef CONFIG_ARM64
	/*
	 * At a function's first instructions its caller's return address is
	 * still in the link register, not yet in a frame record that the
	 * frame-pointer walk can find.
	 */
	if (n > 0 && n < max) {
		struct stp_ksym sym;
		unsigned long lr = stp_ptrauth_strip(regs->regs[30]);

		if (lr && stp_ksym_lookup(out[0], c->sym_buf, &sym) && sym.offset <= 16 &&
		    (n < 2 || out[1] != lr)) {
			memmove(&out[2], &out[1], (n - 1) * sizeof(out[0]));
			out[1] = lr;
			n++;
		}
	}
#endif
#endif
	return n;
}

/*
 * The kernel stack where the probe hit: the probed address first, then
 * the return addresses of its callers. Probes without kernel registers
 * (begin, timers, tracepoints, user-space probes) walk from the handler's
 * own frame, leaving out the module's frames.
 */
static unsigned int stp_kstack_walk(struct stp_context *c, unsigned long *out, unsigned int max)
{
	struct pt_regs *regs = c->regs && !user_mode(c->regs) ? c->regs : NULL;
	unsigned int n, skip = 0;

	if (regs)
		return stp_kstack_regs(c, regs, out, max);
	n = stack_trace_save(out, max, 0);
	while (skip < n && within_module(out[skip], THIS_MODULE))
		skip++;
	memmove(out, out + skip, (n - skip) * sizeof(out[0]));
	return n - skip;
}

/* The running handler's stack, walked once (stack(n) reads it often). */
static __maybe_unused unsigned int stp_kstack(struct stp_context *c, const unsigned long **out)
{
	if (c->kstack_n < 0)
		c->kstack_n = stp_kstack_walk(c, c->kstack, MAXBACKTRACE);
	*out = c->kstack;
	return c->kstack_n;
}

/*
 * A task's kernel stack; the current task's is stp_kstack(). No entries
 * when the walker is not available.
 */
static __maybe_unused unsigned int stp_kstack_task(struct task_struct *task, unsigned long *out,
						   unsigned int max)
{
	if (!stp_stack_trace_save_tsk_fn)
		return 0;
	return stp_stack_trace_save_tsk_fn(task, out, max, 0);
}
#endif /* STP_NEED_KSTACK */

/* Hex address lists, for the kernel and the user stack functions. */
/*
 * The addresses of a string of hex numbers ("0xffffffff81234567 0x..."
 * as backtrace() and callers() write them): calls each(addr) for each,
 * in order. A word that is no number counts as 0.
 */
static __maybe_unused void stp_hex_list(const char *s, void (*each)(unsigned long, void *), void *data)
{
	while (*s) {
		char word[24];
		size_t n = 0;
		unsigned long addr = 0;

		while (*s == ' ')
			s++;
		if (!*s)
			break;
		while (*s && *s != ' ') {
			if (n + 1 < sizeof(word))
				word[n++] = *s;
			s++;
		}
		word[n] = '\0';
		if (kstrtoul(word, 16, &addr))
			addr = 0;
		each(addr, data);
	}
}

/*
 * Addresses as hex numbers, each followed by a space (backtrace()) or
 * separated by spaces (callers()).
 */
static __maybe_unused void stp_hex_join(char *dst, size_t cap, const unsigned long *addrs, unsigned int n,
					bool trailing)
{
	size_t len = 0;
	unsigned int i;

	dst[0] = '\0';
	for (i = 0; i < n && len + 1 < cap; i++)
		len += scnprintf(dst + len, cap - len, trailing ? "0x%lx " : i ? " 0x%lx" : "0x%lx", addrs[i]);
}

#ifdef STP_NEED_KSTACK
/* How stp_ksym_append() writes an address, in SystemTap's formats. */
enum stp_ksym_style {
	STP_KSYM_NAME,          /* symname(): "vfs_read", or "0x..." when unknown */
	STP_KSYM_DATA,          /* symdata(): "vfs_read+0x0/0x180 [kernel]" */
	STP_KSYM_STACK,         /* print_stack(): " 0x... : vfs_read+0x0/0x180 [kernel]\n" */
	STP_KSYM_BACKTRACE,     /* print_backtrace(): " 0x%016lx : ..." then " (inexact)" */
	STP_KSYM_SBACKTRACE,    /* sprint_backtrace(): "vfs_read+0x0 [kernel]" */
};

/*
 * Appends addr, named in `style`, to dst (cap bytes, NUL-terminated).
 * `inexact` marks a frame found by unwinding, not by the probe itself.
 */
static __maybe_unused void stp_ksym_append(struct stp_context *c, char *dst, size_t cap, unsigned long addr,
					   enum stp_ksym_style style, bool inexact)
{
	struct stp_ksym sym;
	size_t len = strnlen(dst, cap);
	bool known = stp_ksym_lookup(addr, c->sym_buf, &sym);

	if (len + 1 >= cap)
		return;
	dst += len;
	cap -= len;
	len = 0;
	switch (style) {
	case STP_KSYM_NAME:
		if (known)
			len = scnprintf(dst, cap, "%.*s", (int)sym.name_len, sym.name);
		else
			len = scnprintf(dst, cap, "0x%lx", addr);
		break;
	case STP_KSYM_DATA:
	case STP_KSYM_STACK:
		if (style == STP_KSYM_STACK)
			len = scnprintf(dst, cap, " 0x%lx : ", addr);
		if (known)
			len += scnprintf(dst + len, cap - len, "%.*s+%#lx/%#lx [%.*s]", (int)sym.name_len,
					 sym.name, sym.offset, sym.size, (int)sym.module_len, sym.module);
		else
			len += scnprintf(dst + len, cap - len, "0x%lx", addr);
		if (style == STP_KSYM_STACK)
			len += scnprintf(dst + len, cap - len, "\n");
		break;
	case STP_KSYM_BACKTRACE:
		len = scnprintf(dst, cap, " 0x%016lx", addr);
		if (known)
			len += scnprintf(dst + len, cap - len, " : %.*s+%#lx/%#lx [%.*s]", (int)sym.name_len,
					 sym.name, sym.offset, sym.size, (int)sym.module_len, sym.module);
		len += scnprintf(dst + len, cap - len, "%s\n", inexact ? " (inexact)" : "");
		break;
	case STP_KSYM_SBACKTRACE:
		if (known)
			len = scnprintf(dst, cap, "%.*s+%#lx [%.*s]", (int)sym.name_len, sym.name, sym.offset,
					(int)sym.module_len, sym.module);
		else
			len = scnprintf(dst, cap, "0x%lx", addr);
		len += scnprintf(dst + len, cap - len, "%s\n", inexact ? " (inexact)" : "");
		break;
	}
}

/* Writes, or prints, one line per address. */
struct stp_ksym_lines {
	struct stp_context *c;
	char *dst;              /* NULL: print */
	size_t cap;
	enum stp_ksym_style style;
	unsigned int n;         /* lines so far */
};

static __maybe_unused void stp_ksym_line(unsigned long addr, void *data)
{
	struct stp_ksym_lines *l = data;
	bool inexact = l->n++ > 0;

	if (l->dst) {
		stp_ksym_append(l->c, l->dst, l->cap, addr, l->style, inexact);
		return;
	}
	l->c->sym_line[0] = '\0';
	stp_ksym_append(l->c, l->c->sym_line, sizeof(l->c->sym_line), addr, l->style, inexact);
	stp_print_str(l->c, l->c->sym_line);
}

/*
 * print_backtrace() and sprint_backtrace(): the probe's stack, one line
 * per frame. A .return probe's starts from the function returning
 * ("Returning from:") and where it returns to ("Returning to  :").
 */
static __maybe_unused void stp_backtrace_lines(struct stp_context *c, char *dst, size_t cap,
					       enum stp_ksym_style style)
{
	const unsigned long *frames;
	unsigned int n = stp_kstack(c, &frames), i = 0;
	struct stp_ksym_lines lines = { .c = c, .dst = dst, .cap = cap, .style = style };

	if (dst)
		dst[0] = '\0';
	if (style == STP_KSYM_BACKTRACE && c->type == STP_PT_KRETPROBE && c->probe_addr && n > 0) {
		c->sym_line[0] = '\0';
		stp_ksym_append(c, c->sym_line, sizeof(c->sym_line), c->probe_addr, STP_KSYM_DATA, false);
		stp_print_fmt(c, "Returning from:  0x%016lx : ", c->probe_addr);
		stp_print_str(c, c->sym_line);
		c->sym_line[0] = '\0';
		stp_ksym_append(c, c->sym_line, sizeof(c->sym_line), frames[0], STP_KSYM_DATA, false);
		stp_print_fmt(c, "\nReturning to  :  0x%016lx : ", frames[0]);
		stp_print_str(c, c->sym_line);
		stp_print_char(c, '\n');
		i = 1;
		lines.n = 1;
	}
	for (; i < n; i++)
		stp_ksym_line(frames[i], &lines);
}

/*
 * probefunc(): the probe's function, or "0x0" outside one. In a return
 * probe on a kernel function it is the function returned to,
 * symname(addr()), as in SystemTap 5.6, whose manual computes it so
 * (FINDINGS, "probefunc() in a return probe").
 */
static __maybe_unused void stp_probefunc(struct stp_context *c, char *dst, size_t cap)
{
	if (c->type == STP_PT_KRETPROBE && c->regs) {
		dst[0] = '\0';
		stp_ksym_append(c, dst, cap, instruction_pointer(c->regs), STP_KSYM_NAME, false);
		return;
	}
	stp_strlcpy(dst, c->probe->func && c->probe->func[0] ? c->probe->func : "0x0", cap);
}

#endif /* STP_NEED_KSTACK */
