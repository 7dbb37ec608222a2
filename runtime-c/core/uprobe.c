/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * User-space function probes: process("PATH").function("f") and its
 * .return form. The translator resolved f to an offset in the file PATH;
 * here PATH is looked up (kern_path) when the session starts, after the
 * begin probes, and a uprobe (or uretprobe) goes on its inode at that
 * offset, in every process that maps the file.
 *
 * Handlers run in the probed task, with its user registers: the argument
 * functions (int_arg(N), ...) and register() read them.
 *
 * SDT markers (process("PATH").mark("m")) are uprobes too; a marker with
 * a semaphore gives its offset in the file (ref_ctr_offset), where the
 * kernel counts the probes registered on it in every process mapping the
 * file, which turns the marker's guarded code on.
 *
 * A point the kernel refuses (no such file, offset past its end) is a
 * warning and the script goes on with the others, as for kprobes.
 */

struct stp_uprobe {
	const struct stp_probe *probe;
	const char *path;
	loff_t offset;
	loff_t ref_ctr_offset; /* an SDT semaphore in the file; 0: none */
	bool ret;             /* .return: a uretprobe */
	bool optional;        /* probe P? : a failed registration is silent */
	struct inode *inode;  /* held (igrab) while registered */
	struct uprobe *uprobe; /* what 6.12+ unregistering takes */
	struct uprobe_consumer uc;
	/* .return probes saving values at entry: the probe's entry part and
	 * the size of what it saves (core/uentry.c keeps it). */
	const struct stp_probe *entry;
	size_t data_size;
};

static STP_UPROBE_HANDLER(stp_uprobe_hit, self, regs)
{
	struct stp_uprobe *p = container_of(self, struct stp_uprobe, uc);

	if (p->ret) {
		stp_uentry_save(p, p->entry, p->data_size, regs);
		return 0;
	}
	stp_probe_run(p->probe, STP_PT_UPROBE, STP_RUNNING, regs);
	return 0;
}

static STP_URETPROBE_HANDLER(stp_uretprobe_hit, self, func, regs)
{
	struct stp_uprobe *p = container_of(self, struct stp_uprobe, uc);

	(void)func;
	if (p->entry) {
		stp_uentry_return(p, p->probe, regs);
		return 0;
	}
	stp_probe_run(p->probe, STP_PT_URETPROBE, STP_RUNNING, regs);
	return 0;
}

/* The inode of path, held; an ERR_PTR when it cannot be found. */
static struct inode *stp_uprobe_inode(const char *path)
{
	struct path found;
	struct inode *inode;
	int rc = kern_path(path, LOOKUP_FOLLOW, &found);

	if (rc)
		return ERR_PTR(rc);
	inode = igrab(d_inode(found.dentry));
	path_put(&found);
	if (!inode)
		return ERR_PTR(-ENOENT);
	if (!S_ISREG(inode->i_mode)) {
		iput(inode);
		return ERR_PTR(-EINVAL);
	}
	return inode;
}

static void stp_uprobes_unregister(struct stp_uprobe *ps, int n)
{
	int i;
	bool any = false;

	for (i = 0; i < n; i++) {
		if (!ps[i].inode)
			continue;
		stp_uprobe_unregister_nosync(ps[i].inode, ps[i].offset, &ps[i].uc, ps[i].uprobe);
		any = true;
	}
	if (!any)
		return;
	/* No handler runs past this point: then the inodes may go. */
	stp_uprobe_unregister_sync();
	for (i = 0; i < n; i++) {
		if (!ps[i].inode)
			continue;
		iput(ps[i].inode);
		ps[i].inode = NULL;
		ps[i].uprobe = NULL;
	}
}

/* Registers every point, counting into *count. */
static void stp_uprobes_register(struct stp_uprobe *ps, int n, struct stp_reg_count *count)
{
	int i, rc;

	for (i = 0; i < n; i++) {
		struct stp_uprobe *p = &ps[i];
		struct inode *inode = stp_uprobe_inode(p->path);

		memset(&p->uc, 0, sizeof(p->uc));
		p->inode = NULL;
		p->uprobe = NULL;
		if (IS_ERR(inode)) {
			rc = PTR_ERR(inode);
		} else {
			if (p->ret && p->entry)
				p->uc.handler = stp_uprobe_hit;
			if (p->ret)
				p->uc.ret_handler = stp_uretprobe_hit;
			else
				p->uc.handler = stp_uprobe_hit;
			rc = stp_uprobe_register(inode, p->offset, p->ref_ctr_offset, &p->uc, &p->uprobe);
			if (rc == 0)
				p->inode = inode;
			else
				iput(inode);
		}
		stp_reg_count_note(count, p->probe, p->optional, rc);
	}
}

/* The uprobe family: a generated module lists its table with it. */
STP_FAMILY(uprobe, struct stp_uprobe, stp_uprobes_register, stp_uprobes_unregister);
