/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Registers at a probe: argument N of the probed function by the calling
 * convention (registers, then the stack at function entry), the return
 * value, and registers by name. Kernel probes see kernel registers and
 * uprobes the task's user registers; stack arguments are read from the
 * matching address space, fault-safely.
 *
 * Each function returns NULL or why it cannot answer (the script error).
 */

/*
 * Where argument n (from 1) is at function entry: a pt_regs slot
 * (*reg), or a stack address (*stack_addr, *reg NULL). NULL or why not.
 */
static __maybe_unused const char *stp_regs_arg_place(struct stp_context *c, int64_t n, unsigned long **reg,
						     unsigned long *stack_addr)
{
	struct pt_regs *regs = c->regs;

	*reg = NULL;
	*stack_addr = 0;
	if (!regs)
		return "cannot access function args in this context";
	if (n < 1 || n > 32)
		return "argument number out of range (1 to 32)";
#if defined(CONFIG_X86_64)
	switch (n) {
	case 1: *reg = &regs->di; return NULL;
	case 2: *reg = &regs->si; return NULL;
	case 3: *reg = &regs->dx; return NULL;
	case 4: *reg = &regs->cx; return NULL;
	case 5: *reg = &regs->r8; return NULL;
	case 6: *reg = &regs->r9; return NULL;
	}
	/* Above the return address. */
	*stack_addr = regs->sp + (n - 6) * sizeof(unsigned long);
	return NULL;
#elif defined(CONFIG_ARM64)
	if (n <= 8) {
		*reg = (unsigned long *)&regs->regs[n - 1];
		return NULL;
	}
	*stack_addr = regs->sp + (n - 9) * sizeof(unsigned long);
	return NULL;
#else
	return "the argument functions do not know this architecture's calling convention";
#endif
}

/* Argument n (from 1) at function entry. */
static __maybe_unused const char *stp_regs_arg(struct stp_context *c, int64_t n, uint64_t *out)
{
	unsigned long *reg, addr, v;
	const char *why = stp_regs_arg_place(c, n, &reg, &addr);
	int rc;

	if (why)
		return why;
	if (reg) {
		*out = *reg;
		return NULL;
	}
	if (user_mode(c->regs))
		rc = stp_copy_from_user_nofault(&v, (const void __user *)addr, sizeof(v));
	else
		rc = stp_copy_from_kernel_nofault(&v, (const void *)addr, sizeof(v));
	if (rc)
		return "cannot read a stack argument (fault)";
	*out = v;
	return NULL;
}

/* Sets argument n (from 1) to v, the whole register or stack slot. */
static __maybe_unused const char *stp_regs_set_arg(struct stp_context *c, int64_t n, uint64_t v)
{
	unsigned long *reg, addr, slot = (unsigned long)v;
	const char *why = stp_regs_arg_place(c, n, &reg, &addr);
	bool ok;

	if (why)
		return why;
	if (reg) {
		*reg = slot;
		return NULL;
	}
	if (user_mode(c->regs))
		ok = !copy_to_user_nofault((void __user *)addr, &slot, sizeof(slot));
	else
		ok = stp_copy_to_kernel((void *)addr, &slot, sizeof(slot));
	return ok ? NULL : "cannot write a stack argument (fault)";
}

/* The function's return value, in a .return probe. */
static __maybe_unused const char *stp_regs_return(struct stp_context *c, uint64_t *out)
{
	if (!c->regs)
		return "cannot access CPU registers in this context";
	*out = regs_return_value(c->regs);
	return NULL;
}

struct stp_reg_name {
	const char *name;
	unsigned short offset;
	unsigned char size;
};

#define STP_REG(n, field, size) { n, offsetof(struct pt_regs, field), size }
static const struct stp_reg_name stp_reg_names[] = {
#if defined(CONFIG_X86_64)
	STP_REG("rax", ax, 8), STP_REG("eax", ax, 4), STP_REG("ax", ax, 8),
	STP_REG("rbx", bx, 8), STP_REG("ebx", bx, 4), STP_REG("bx", bx, 8),
	STP_REG("rcx", cx, 8), STP_REG("ecx", cx, 4), STP_REG("cx", cx, 8),
	STP_REG("rdx", dx, 8), STP_REG("edx", dx, 4), STP_REG("dx", dx, 8),
	STP_REG("rsi", si, 8), STP_REG("esi", si, 4), STP_REG("si", si, 8),
	STP_REG("rdi", di, 8), STP_REG("edi", di, 4), STP_REG("di", di, 8),
	STP_REG("rbp", bp, 8), STP_REG("ebp", bp, 4), STP_REG("bp", bp, 8),
	STP_REG("rsp", sp, 8), STP_REG("esp", sp, 4), STP_REG("sp", sp, 8),
	STP_REG("rip", ip, 8), STP_REG("eip", ip, 4), STP_REG("ip", ip, 8),
	STP_REG("r8", r8, 8), STP_REG("r9", r9, 8), STP_REG("r10", r10, 8),
	STP_REG("r11", r11, 8), STP_REG("r12", r12, 8), STP_REG("r13", r13, 8),
	STP_REG("r14", r14, 8), STP_REG("r15", r15, 8),
	STP_REG("r8d", r8, 4), STP_REG("r9d", r9, 4), STP_REG("r10d", r10, 4),
	STP_REG("r11d", r11, 4), STP_REG("r12d", r12, 4), STP_REG("r13d", r13, 4),
	STP_REG("r14d", r14, 4), STP_REG("r15d", r15, 4),
	STP_REG("rflags", flags, 8), STP_REG("eflags", flags, 4), STP_REG("flags", flags, 8),
	STP_REG("orig_rax", orig_ax, 8), STP_REG("orig_ax", orig_ax, 8),
	STP_REG("cs", cs, 8), STP_REG("ss", ss, 8),
#elif defined(CONFIG_ARM64)
	STP_REG("x0", regs[0], 8), STP_REG("x1", regs[1], 8), STP_REG("x2", regs[2], 8),
	STP_REG("x3", regs[3], 8), STP_REG("x4", regs[4], 8), STP_REG("x5", regs[5], 8),
	STP_REG("x6", regs[6], 8), STP_REG("x7", regs[7], 8), STP_REG("x8", regs[8], 8),
	STP_REG("x9", regs[9], 8), STP_REG("x10", regs[10], 8), STP_REG("x11", regs[11], 8),
	STP_REG("x12", regs[12], 8), STP_REG("x13", regs[13], 8), STP_REG("x14", regs[14], 8),
	STP_REG("x15", regs[15], 8), STP_REG("x16", regs[16], 8), STP_REG("x17", regs[17], 8),
	STP_REG("x18", regs[18], 8), STP_REG("x19", regs[19], 8), STP_REG("x20", regs[20], 8),
	STP_REG("x21", regs[21], 8), STP_REG("x22", regs[22], 8), STP_REG("x23", regs[23], 8),
	STP_REG("x24", regs[24], 8), STP_REG("x25", regs[25], 8), STP_REG("x26", regs[26], 8),
	STP_REG("x27", regs[27], 8), STP_REG("x28", regs[28], 8), STP_REG("x29", regs[29], 8),
	STP_REG("x30", regs[30], 8), STP_REG("fp", regs[29], 8), STP_REG("lr", regs[30], 8),
	STP_REG("sp", sp, 8), STP_REG("pc", pc, 8), STP_REG("pstate", pstate, 8),
#endif
	{ NULL, 0, 0 },
};
#undef STP_REG

/* Register `name`; 4-byte names sign- or zero-extended by is_signed. */
static __maybe_unused const char *stp_regs_named(struct stp_context *c, const char *name,
						 bool is_signed, int64_t *out)
{
	const struct stp_reg_name *r;
	uint64_t v;

	if (!c->regs)
		return "cannot access CPU registers in this context";
	for (r = stp_reg_names; r->name; r++) {
		if (strcmp(r->name, name))
			continue;
		v = *(const unsigned long *)((const char *)c->regs + r->offset);
		if (r->size == 4)
			*out = is_signed ? (int64_t)(int32_t)v : (int64_t)(uint32_t)v;
		else
			*out = (int64_t)v;
		return NULL;
	}
	return "unknown register name";
}
