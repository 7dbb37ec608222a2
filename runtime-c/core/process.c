/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Process probes: process("PATH").begin, process("PATH").end and
 * process.end, on the scheduler's tracepoints (registered like
 * kernel.trace() points, core/tracepoint.c):
 *
 *   sched_process_exec  an exec ends the old program's process, as in
 *                       SystemTap: process.end, and process("PATH").end
 *                       when it was tracked; then process("PATH").begin
 *                       when the new program is PATH (all in the task,
 *                       whose comm is already the new one);
 *   sched_process_fork  a tracked process's new child process runs PATH
 *                       too and is tracked;
 *   sched_process_exit  once the last thread of a process exits:
 *                       process.end, and process("PATH").end when the
 *                       process was tracked.
 *
 * At exit a task's mm (and with it its executable) is already gone, so
 * the processes running a probed PATH are remembered from exec and fork
 * in a fixed table (STP_MAXPROCESSES; a process that does not fit counts
 * as a skipped probe).
 *
 * Unlike SystemTap (docs/oracle/outputs/.../uprobes.out), processes
 * already running when the session starts get no .begin and are not
 * tracked, and a tracked process's forked child gets no .begin of its
 * own (it would have to run in the child): it is only tracked for .end.
 */

#ifndef STP_MAXPROCESSES
#define STP_MAXPROCESSES 256
#endif

struct stp_process_probe {
	const struct stp_probe *probe;
	const char *path;     /* NULL: any process (process.end) */
	bool end;             /* .end, else .begin */
	bool optional;
	struct inode *inode;  /* PATH's, held while registered */
};

/* A process running a probed program. */
struct stp_process_slot {
	pid_t tgid;           /* 0: free */
	struct inode *inode;
};

static struct stp_process_slot stp_process_slots[STP_MAXPROCESSES];
static DEFINE_RAW_SPINLOCK(stp_process_lock);

static void stp_process_track(pid_t tgid, struct inode *inode)
{
	unsigned long flags;
	int i, free = -1;

	raw_spin_lock_irqsave(&stp_process_lock, flags);
	for (i = 0; i < STP_MAXPROCESSES; i++) {
		if (stp_process_slots[i].tgid == tgid) {
			free = i;
			break;
		}
		if (free < 0 && stp_process_slots[i].tgid == 0)
			free = i;
	}
	if (free >= 0) {
		stp_process_slots[free].tgid = tgid;
		stp_process_slots[free].inode = inode;
	}
	raw_spin_unlock_irqrestore(&stp_process_lock, flags);
	if (free < 0)
		stp_skip();
}

/* The program tgid was tracked with (NULL if none), forgetting it. */
static struct inode *stp_process_untrack(pid_t tgid)
{
	struct inode *inode = NULL;
	unsigned long flags;
	int i;

	raw_spin_lock_irqsave(&stp_process_lock, flags);
	for (i = 0; i < STP_MAXPROCESSES; i++) {
		if (stp_process_slots[i].tgid == tgid) {
			inode = stp_process_slots[i].inode;
			stp_process_slots[i].tgid = 0;
			break;
		}
	}
	raw_spin_unlock_irqrestore(&stp_process_lock, flags);
	return inode;
}

static struct inode *stp_process_tracked(pid_t tgid)
{
	struct inode *inode = NULL;
	unsigned long flags;
	int i;

	raw_spin_lock_irqsave(&stp_process_lock, flags);
	for (i = 0; i < STP_MAXPROCESSES; i++)
		if (stp_process_slots[i].tgid == tgid)
			inode = stp_process_slots[i].inode;
	raw_spin_unlock_irqrestore(&stp_process_lock, flags);
	return inode;
}

static struct stp_process_probe *stp_process_probes;
static int stp_nprocess_probes;

static void stp_process_exec(void *data, struct task_struct *p, pid_t old_pid,
			     struct linux_binprm *bprm)
{
	struct inode *inode = bprm && bprm->file ? file_inode(bprm->file) : NULL;
	struct inode *old;
	bool tracked = false;
	int i;

	(void)data;
	(void)old_pid;
	if (p != current)
		return;
	old = stp_process_untrack(current->tgid);
	for (i = 0; i < stp_nprocess_probes; i++) {
		struct stp_process_probe *pp = &stp_process_probes[i];

		if (pp->end && (!pp->path || (pp->inode && pp->inode == old)))
			stp_probe_run(pp->probe, STP_RUNNING, NULL);
	}
	for (i = 0; i < stp_nprocess_probes; i++) {
		struct stp_process_probe *pp = &stp_process_probes[i];

		if (!pp->inode || pp->inode != inode)
			continue;
		if (pp->end && !tracked) {
			stp_process_track(current->tgid, inode);
			tracked = true;
		}
		if (!pp->end)
			stp_probe_run(pp->probe, STP_RUNNING, NULL);
	}
}

static void stp_process_fork(void *data, struct task_struct *parent, struct task_struct *child)
{
	struct inode *inode;

	(void)data;
	/* A new thread is not a new process. */
	if (child->tgid == parent->tgid)
		return;
	inode = stp_process_tracked(parent->tgid);
	if (inode)
		stp_process_track(child->tgid, inode);
}

/* Declared with one argument: 7.x adds `bool group_dead`, which the call
 * passes in a register this function ignores (see core/tracepoint.c on
 * register-width slots and CFI). */
static void stp_process_exit(void *data, struct task_struct *p)
{
	struct inode *inode;
	int i;

	(void)data;
	if (p != current || atomic_read(&p->signal->live) != 0)
		return;
	inode = stp_process_untrack(p->tgid);
	for (i = 0; i < stp_nprocess_probes; i++) {
		struct stp_process_probe *pp = &stp_process_probes[i];

		if (pp->end && (!pp->path || (pp->inode && pp->inode == inode)))
			stp_probe_run(pp->probe, STP_RUNNING, NULL);
	}
}

static const struct stp_probe stp_process_tp_probe = { "process", NULL, NULL };

/* The tracepoints process probes use: exec, fork, exit. */
static struct stp_tracepoint stp_process_tps[3] = {
	{ .probe = &stp_process_tp_probe, .name = "sched_process_exec",
	  .func = (void *)stp_process_exec, .optional = true },
	{ .probe = &stp_process_tp_probe, .name = "sched_process_fork",
	  .func = (void *)stp_process_fork, .optional = true },
	{ .probe = &stp_process_tp_probe, .name = "sched_process_exit",
	  .func = (void *)stp_process_exit, .optional = true },
};

static void stp_processes_unregister(struct stp_process_probe *ps, int n)
{
	int i;

	if (n == 0)
		return;
	/* Synchronises: no handler runs once this returns. */
	stp_tracepoints_unregister(stp_process_tps, ARRAY_SIZE(stp_process_tps));
	for (i = 0; i < n; i++) {
		if (ps[i].inode)
			iput(ps[i].inode);
		ps[i].inode = NULL;
	}
	memset(stp_process_slots, 0, sizeof(stp_process_slots));
}

/* Registers every point, counting into *count. */
static void stp_processes_register(struct stp_process_probe *ps, int n, struct stp_reg_count *count)
{
	struct stp_reg_count tps = { 0, 0 };
	int i, rc;

	if (n == 0)
		return;
	stp_process_probes = ps;
	stp_nprocess_probes = n;
	for (i = 0; i < n; i++) {
		struct inode *inode;

		ps[i].inode = NULL;
		if (!ps[i].path)
			continue;
		inode = stp_uprobe_inode(ps[i].path);
		if (!IS_ERR(inode))
			ps[i].inode = inode;
	}
	stp_tracepoints_register(stp_process_tps, ARRAY_SIZE(stp_process_tps), &tps);
	for (i = 0; i < n; i++) {
		struct stp_process_probe *p = &ps[i];

		if (p->path && !p->inode)
			rc = -ENOENT;
		else if (p->end)
			rc = stp_process_tps[0].registered && stp_process_tps[1].registered &&
			     stp_process_tps[2].registered ? 0 : -ENOENT;
		else
			rc = stp_process_tps[0].registered ? 0 : -ENOENT;
		stp_reg_count_note(count, p->probe, p->optional, rc);
	}
}
