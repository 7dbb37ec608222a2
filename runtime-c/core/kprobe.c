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
 *
 * A module("m").function("f") or kprobe.module("m").function("f") point
 * (.module set) waits for its module, as SystemTap's do: a
 * module notifier places it when the module loads (MODULE_STATE_COMING,
 * before the module's init runs) and removes it when the module goes, as
 * often as that happens. At start it is tried at once; -ENOENT there means
 * the module is not loaded yet, which is not an error. stp_kprobe_mod_lock
 * serializes the notifier with start and stop over those points' state.
 */

struct stp_kprobe {
	const struct stp_probe *probe;
	const char *symbol;
	const char *module;   /* a module's function: waits for it to load */
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

/*
 * A kprobe hit. The handler sees the probed address as the instruction
 * pointer (addr(), the first frame of a backtrace), as SystemTap shows it,
 * rather than the address past the breakpoint; the kprobe's own value is
 * put back for the single-step that follows.
 */
static int stp_kprobe_entry(struct kprobe *kp, struct pt_regs *regs)
{
	struct stp_kprobe *p = container_of(kp, struct stp_kprobe, u.kp);
	unsigned long ip = instruction_pointer(regs);

	instruction_pointer_set(regs, (unsigned long)kp->addr);
	stp_probe_run(p->probe, STP_PT_KPROBE, STP_RUNNING, regs);
	instruction_pointer_set(regs, ip);
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
	stp_probe_run_data(p->entry, STP_PT_KRETPROBE, STP_RUNNING, regs, ri->data,
			   (unsigned long)rp->kp.addr);
	return 0;
}

static int stp_kretprobe_return(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct kretprobe *rp = stp_kretprobe_of(ri);
	struct stp_kprobe *p;
	unsigned long ip;

	if (!rp)
		return 0;
	p = container_of(rp, struct stp_kprobe, u.krp);
	/*
	 * The handler sees the address the function returns to as the
	 * instruction pointer, as kernels since 5.14 set it; before, it was
	 * the kretprobe trampoline's.
	 */
	ip = instruction_pointer(regs);
	instruction_pointer_set(regs, stp_kretprobe_ret_addr(ri));
	stp_probe_run_data(p->probe, STP_PT_KRETPROBE, STP_RUNNING, regs, p->entry ? ri->data : NULL,
			   (unsigned long)rp->kp.addr);
	instruction_pointer_set(regs, ip);
	return 0;
}

static void stp_kprobe_unregister(struct stp_kprobe *p)
{
	if (!p->registered)
		return;
	if (p->ret)
		unregister_kretprobe(&p->u.krp);
	else
		unregister_kprobe(&p->u.kp);
	p->registered = false;
}

/* Places one point; 0 or the kernel's error. */
static int stp_kprobe_register(struct stp_kprobe *p)
{
	int rc;

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
	if (rc == 0)
		p->registered = true;
	return rc;
}

static DEFINE_MUTEX(stp_kprobe_mod_lock);
/* The table whose waiting points the notifier serves (the script's). */
static struct stp_kprobe *stp_kprobe_mod_points;
static int stp_kprobe_mod_npoints;
static bool stp_kprobe_notifier_registered;

static int stp_kprobe_module_notify(struct notifier_block *nb, unsigned long val, void *data)
{
	struct module *mod = data;
	int i, rc;

	if (val != MODULE_STATE_COMING && val != MODULE_STATE_GOING)
		return NOTIFY_DONE;
	mutex_lock(&stp_kprobe_mod_lock);
	for (i = 0; i < stp_kprobe_mod_npoints; i++) {
		struct stp_kprobe *p = &stp_kprobe_mod_points[i];

		if (!p->module || strcmp(p->module, mod->name) != 0)
			continue;
		if (val == MODULE_STATE_GOING) {
			stp_kprobe_unregister(p);
		} else if (!p->registered) {
			rc = stp_kprobe_register(p);
			if (rc != 0 && !p->optional)
				stp_stderr("WARNING: probe %s registration error (rc %d)\n",
					   p->probe->pp, rc);
		}
	}
	mutex_unlock(&stp_kprobe_mod_lock);
	return NOTIFY_OK;
}

static struct notifier_block stp_kprobe_module_nb = {
	.notifier_call = stp_kprobe_module_notify,
};

static void stp_kprobes_unregister(struct stp_kprobe *ps, int n)
{
	struct kprobe **kps;
	struct kretprobe **krps;
	int i, nk = 0, nr = 0;

	/* No module comes or goes for these points after this. */
	if (stp_kprobe_notifier_registered && ps == stp_kprobe_mod_points) {
		unregister_module_notifier(&stp_kprobe_module_nb);
		stp_kprobe_notifier_registered = false;
	}
	mutex_lock(&stp_kprobe_mod_lock);
	/*
	 * All at once: the kernel waits for an RCU grace period per call of
	 * unregister_kprobes()/unregister_kretprobes(), so hundreds of points
	 * (syscall.*) removed one by one waited for hundreds of them. One by
	 * one only if the lists cannot be had.
	 */
	kps = kmalloc_array(n, sizeof(*kps), GFP_KERNEL);
	krps = kmalloc_array(n, sizeof(*krps), GFP_KERNEL);
	if (n > 0 && kps && krps) {
		for (i = 0; i < n; i++) {
			struct stp_kprobe *p = &ps[i];

			if (!p->registered)
				continue;
			if (p->ret)
				krps[nr++] = &p->u.krp;
			else
				kps[nk++] = &p->u.kp;
			p->registered = false;
		}
		if (nk > 0)
			unregister_kprobes(kps, nk);
		if (nr > 0)
			unregister_kretprobes(krps, nr);
	} else {
		for (i = 0; i < n; i++)
			stp_kprobe_unregister(&ps[i]);
	}
	kfree(kps);
	kfree(krps);
	mutex_unlock(&stp_kprobe_mod_lock);
}

/* Registers every point, counting into *count. */
static void stp_kprobes_register(struct stp_kprobe *ps, int n, struct stp_reg_count *count)
{
	int i, rc;

	for (i = 0; i < n; i++)
		if (ps[i].module)
			break;
	/* Watch modules first: one loading from now on is not missed. */
	if (i < n && !stp_kprobe_notifier_registered) {
		stp_kprobe_mod_points = ps;
		stp_kprobe_mod_npoints = n;
		rc = register_module_notifier(&stp_kprobe_module_nb);
		if (rc == 0)
			stp_kprobe_notifier_registered = true;
		else
			stp_stderr("WARNING: cannot watch modules for their function probes (rc %d)\n", rc);
	}
	mutex_lock(&stp_kprobe_mod_lock);
	for (i = 0; i < n; i++) {
		struct stp_kprobe *p = &ps[i];

		if (p->registered)
			continue;
		rc = stp_kprobe_register(p);
		/* A module not loaded yet: placed by the notifier when it is. */
		if (p->module && rc == -ENOENT && stp_kprobe_notifier_registered)
			continue;
		stp_reg_count_note(count, p->probe, p->optional, rc);
	}
	mutex_unlock(&stp_kprobe_mod_lock);
}

/* The kprobe family: a generated module lists its table with it. */
STP_FAMILY(kprobe, struct stp_kprobe, stp_kprobes_register, stp_kprobes_unregister);
