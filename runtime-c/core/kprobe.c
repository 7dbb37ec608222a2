/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Function probes: kernel.function("f"), kprobe.function("f") and their
 * .return forms, registered by symbol name (the kernel resolves it through
 * kallsyms) when the session starts, after the begin probes. An inlined
 * copy (kernel.function("f").inline) is a kprobe at symbol+offset, the
 * translator having chosen a symbol whose name is unique.
 *
 * A point the kernel refuses (blacklisted, not a function, missing) is
 * reported as a warning and the script goes on with the others, unless no
 * point registered at all and none was optional.
 */

struct stp_kprobe {
	const struct stp_probe *probe;
	const char *symbol;
	unsigned long addr;   /* kprobe.statement(ADDR).absolute: by address, not symbol */
	unsigned long offset;
	bool ret;             /* .return: a kretprobe */
	int maxactive;        /* .maxactive(N), 0: the kernel's default */
	bool optional;        /* probe P? : a failed registration is silent */
	/* .return probes saving values at entry (@entry, parameters): the
	 * handler that saves them into each instance's data_size bytes. */
	const struct stp_probe *entry;
	size_t data_size;
	bool registered;
	union {
		struct kprobe kp;
		struct kretprobe krp;
	} u;
};

static int stp_kprobe_entry(struct kprobe *kp, struct pt_regs *regs)
{
	struct stp_kprobe *p = container_of(kp, struct stp_kprobe, u.kp);

	stp_probe_run(p->probe, STP_RUNNING, regs);
	return 0;
}

/* Function entry of a .return probe that saves values: zeroed first, so a
 * skipped or failed entry handler leaves 0 and "" rather than garbage. */
static int stp_kretprobe_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct kretprobe *rp = stp_kretprobe_of(ri);
	struct stp_kprobe *p;

	if (!rp)
		return 0;
	p = container_of(rp, struct stp_kprobe, u.krp);
	memset(ri->data, 0, p->data_size);
	stp_probe_run_data(p->entry, STP_RUNNING, regs, ri->data);
	return 0;
}

static int stp_kretprobe_return(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct kretprobe *rp = stp_kretprobe_of(ri);
	struct stp_kprobe *p;

	if (!rp)
		return 0;
	p = container_of(rp, struct stp_kprobe, u.krp);
	stp_probe_run_data(p->probe, STP_RUNNING, regs, p->entry ? ri->data : NULL);
	return 0;
}

static void stp_kprobes_unregister(struct stp_kprobe *ps, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (!ps[i].registered)
			continue;
		if (ps[i].ret)
			unregister_kretprobe(&ps[i].u.krp);
		else
			unregister_kprobe(&ps[i].u.kp);
		ps[i].registered = false;
	}
}

/* Registers every point, counting into *count. */
static void stp_kprobes_register(struct stp_kprobe *ps, int n, struct stp_reg_count *count)
{
	int i, rc;

	for (i = 0; i < n; i++) {
		struct stp_kprobe *p = &ps[i];

		memset(&p->u, 0, sizeof(p->u));
		if (p->ret) {
			p->u.krp.kp.symbol_name = p->symbol;
			p->u.krp.kp.offset = p->offset;
			p->u.krp.handler = stp_kretprobe_return;
			p->u.krp.maxactive = p->maxactive;
			if (p->entry) {
				p->u.krp.entry_handler = stp_kretprobe_entry;
				p->u.krp.data_size = p->data_size;
			}
			rc = register_kretprobe(&p->u.krp);
		} else if (p->addr) {
			p->u.kp.addr = (kprobe_opcode_t *)p->addr;
			p->u.kp.pre_handler = stp_kprobe_entry;
			rc = register_kprobe(&p->u.kp);
		} else {
			p->u.kp.symbol_name = p->symbol;
			p->u.kp.offset = p->offset;
			p->u.kp.pre_handler = stp_kprobe_entry;
			rc = register_kprobe(&p->u.kp);
		}
		stp_reg_count_note(count, p->probe, p->optional, rc);
		if (rc == 0)
			p->registered = true;
	}
}
