/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Process probes: process("PATH").begin/.end, process(PID).begin/.end,
 * process.begin and process.end, on the scheduler's tracepoints
 * (registered like kernel.trace() points, core/tracepoint.c):
 *
 *   sched_process_exec  an exec ends the old program's process and
 *                       begins the new one's, as in SystemTap:
 *                       process.end, and process("PATH").end when it was
 *                       tracked; then process("PATH").begin when the new
 *                       program is PATH, and process.begin (all in the
 *                       task, whose comm is already the new one);
 *   sched_process_fork  a new process begins: a tracked process's child
 *                       runs PATH too and is tracked, and the .begin
 *                       probes that match it run in the child;
 *   sched_process_exit  once the last thread of a process exits:
 *                       process.end, process(PID).end, and
 *                       process("PATH").end when it was tracked.
 *
 * The probes of one process's begin (or end) run in the table's order,
 * which the translator makes SystemTap 5.1's: process("PATH") probes
 * before the others when the script has no uprobe, after them when it
 * has one (docs/oracle/FINDINGS.md, "Order of process begin and end
 * probes").
 *
 * A .begin runs in the context of the process that begins, as in
 * SystemTap. A forked child (and, when the session starts, every process
 * already running, which gets its .begin once) is handed task work that
 * runs the matching .begin probes when it next returns to user space; a
 * process that never does (one asleep until the session ends) gets none.
 * Work still queued when the session stops is cancelled, and the module
 * waits for work already running: task_work_cancel is not exported, so it
 * is found through kallsyms, and without it .begin probes other than
 * process("PATH").begin do not register.
 *
 * At exit a task's mm (and with it its executable) is already gone, so
 * the processes running a probed PATH are remembered from exec, fork and
 * the start-up scan in a fixed table (STP_MAXPROCESSES; a process that
 * does not fit counts as a skipped probe).
 */

#ifndef STP_MAXPROCESSES
#define STP_MAXPROCESSES 256
#endif

struct stp_process_probe {
	const struct stp_probe *probe;
	const char *path;     /* process("PATH"), else NULL */
	pid_t pid;            /* process(PID), else 0; neither: any process */
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
static struct stp_process_probe *stp_process_probes;
static int stp_nprocess_probes;
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

static bool stp_pid_exists(pid_t pid)
{
	bool found;

	rcu_read_lock();
	found = pid_task(find_vpid(pid), PIDTYPE_TGID) != NULL;
	rcu_read_unlock();
	return found;
}

/* The executable task t runs (NULL for none); only compared, never used. */
static struct inode *stp_task_exe_inode(struct task_struct *t)
{
	struct inode *inode = NULL;
	struct file *exe;

	task_lock(t);
	if (t->mm) {
		rcu_read_lock();
		exe = rcu_dereference(t->mm->exe_file);
		if (exe)
			inode = file_inode(exe);
		rcu_read_unlock();
	}
	task_unlock(t);
	return inode;
}

/* Whether .begin probe pp is for process tgid running exe; process(PID)
 * probes only begin at start-up. */
static bool stp_begin_matches(const struct stp_process_probe *pp, pid_t tgid,
			      struct inode *exe, bool startup)
{
	if (pp->end)
		return false;
	if (pp->pid)
		return startup && pp->pid == tgid;
	if (pp->path)
		return pp->inode && pp->inode == exe;
	return true;
}

static bool stp_begin_any(pid_t tgid, struct inode *exe, bool startup)
{
	int i;

	for (i = 0; i < stp_nprocess_probes; i++)
		if (stp_begin_matches(&stp_process_probes[i], tgid, exe, startup))
			return true;
	return false;
}

/* Task work that runs a process's .begin probes in the process. */
struct stp_begin_work {
	struct callback_head cb;
	struct task_struct *task;
	struct list_head node;   /* on stp_begin_works while queued */
	bool startup;
};

static LIST_HEAD(stp_begin_works);
static DEFINE_RAW_SPINLOCK(stp_begin_lock);
/* Works queued or running: the module waits for none to be left. */
static atomic_t stp_begin_outstanding = ATOMIC_INIT(0);
/* Some .begin probe may match a new process: forks need looking at. */
static bool stp_begin_on_fork;
/* task_work_cancel_func (or the older task_work_cancel); NULL: no task work. */
static stp_task_work_cancel_func_t stp_begin_cancel;

static void stp_begin_unlist(struct stp_begin_work *w)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&stp_begin_lock, flags);
	list_del_init(&w->node);
	raw_spin_unlock_irqrestore(&stp_begin_lock, flags);
}

static void stp_begin_free(struct stp_begin_work *w)
{
	put_task_struct(w->task);
	kfree(w);
	atomic_dec(&stp_begin_outstanding);
}

static void stp_begin_run(struct callback_head *cb)
{
	struct stp_begin_work *w = container_of(cb, struct stp_begin_work, cb);
	int i;

	stp_begin_unlist(w);
	/* Task work also runs on the way out of an exiting task. */
	if (!(current->flags & PF_EXITING)) {
		struct inode *exe = stp_task_exe_inode(current);

		for (i = 0; i < stp_nprocess_probes; i++)
			if (stp_begin_matches(&stp_process_probes[i], current->tgid, exe, w->startup))
				stp_probe_run(stp_process_probes[i].probe, STP_PT_PROCESS, STP_RUNNING, NULL);
	}
	stp_begin_free(w);
}

/* Queues t's .begin probes to run in t; any context. */
static void stp_begin_queue(struct task_struct *t, bool startup)
{
	struct stp_begin_work *w;

	if (!stp_begin_cancel)
		return;
	w = kzalloc(sizeof(*w), GFP_ATOMIC);
	if (!w) {
		stp_skip();
		return;
	}
	init_task_work(&w->cb, stp_begin_run);
	get_task_struct(t);
	w->task = t;
	w->startup = startup;
	INIT_LIST_HEAD(&w->node);
	atomic_inc(&stp_begin_outstanding);
	{
		unsigned long flags;

		raw_spin_lock_irqsave(&stp_begin_lock, flags);
		list_add(&w->node, &stp_begin_works);
		raw_spin_unlock_irqrestore(&stp_begin_lock, flags);
	}
	/* Fails only for a task already exiting. */
	if (stp_task_work_add(t, &w->cb)) {
		stp_begin_unlist(w);
		stp_begin_free(w);
	}
}

/* Cancels the work still queued and waits for the work running. */
static void stp_begin_cancel_all(void)
{
	for (;;) {
		struct stp_begin_work *w = NULL;
		struct callback_head *cb;
		struct task_struct *t;
		unsigned long flags;

		raw_spin_lock_irqsave(&stp_begin_lock, flags);
		if (!list_empty(&stp_begin_works)) {
			w = list_first_entry(&stp_begin_works, struct stp_begin_work, node);
			list_del_init(&w->node);
			t = w->task;
			get_task_struct(t);
		}
		raw_spin_unlock_irqrestore(&stp_begin_lock, flags);
		if (!w)
			break;
		/* Everything of ours still queued on t, w or another. */
		while ((cb = stp_begin_cancel(t, stp_begin_run)) != NULL) {
			struct stp_begin_work *c = container_of(cb, struct stp_begin_work, cb);

			stp_begin_unlist(c);
			stp_begin_free(c);
		}
		put_task_struct(t);
	}
	while (atomic_read(&stp_begin_outstanding))
		msleep(1);
}

/*
 * At start-up: tracks the processes already running a probed PATH and
 * queues .begin for those that match one.
 */
static void stp_begin_scan(void)
{
	struct task_struct *t;
	int i;

	rcu_read_lock();
	for_each_process(t) {
		struct inode *exe;

		if (t->flags & (PF_KTHREAD | PF_EXITING))
			continue;
		exe = stp_task_exe_inode(t);
		if (!exe)
			continue;
		for (i = 0; i < stp_nprocess_probes; i++) {
			struct stp_process_probe *pp = &stp_process_probes[i];

			if (pp->end && pp->inode && pp->inode == exe) {
				stp_process_track(t->tgid, exe);
				break;
			}
		}
		if (stp_begin_any(t->tgid, exe, true))
			stp_begin_queue(t, true);
	}
	rcu_read_unlock();
}

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

		if (pp->end && !pp->pid && (!pp->path || (pp->inode && pp->inode == old)))
			stp_probe_run(pp->probe, STP_PT_PROCESS, STP_RUNNING, NULL);
	}
	for (i = 0; i < stp_nprocess_probes; i++) {
		struct stp_process_probe *pp = &stp_process_probes[i];

		if (pp->end && !tracked && pp->inode && pp->inode == inode) {
			stp_process_track(current->tgid, inode);
			tracked = true;
		}
	}
	/* The new program's process begins: process("PATH").begin when it
	 * runs PATH, and process.begin (registered only where task work
	 * serves its other begins), in the table's order. */
	for (i = 0; i < stp_nprocess_probes; i++) {
		struct stp_process_probe *pp = &stp_process_probes[i];

		if (pp->end || pp->pid)
			continue;
		if (pp->path ? pp->inode && pp->inode == inode : stp_begin_cancel != NULL)
			stp_probe_run(pp->probe, STP_PT_PROCESS, STP_RUNNING, NULL);
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
	if (stp_begin_on_fork && !(child->flags & PF_KTHREAD) &&
	    stp_begin_any(child->tgid, stp_task_exe_inode(child), false))
		stp_begin_queue(child, false);
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

		if (pp->end && (pp->pid ? pp->pid == p->tgid :
				!pp->path || (pp->inode && pp->inode == inode)))
			stp_probe_run(pp->probe, STP_PT_PROCESS, STP_RUNNING, NULL);
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
	stp_begin_cancel_all();
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
	stp_begin_on_fork = false;
	for (i = 0; i < n; i++)
		if (!ps[i].end && !ps[i].pid)
			stp_begin_on_fork = true;
	for (i = 0; i < n; i++) {
		struct inode *inode;

		ps[i].inode = NULL;
		if (!ps[i].path)
			continue;
		inode = stp_uprobe_inode(ps[i].path);
		if (!IS_ERR(inode))
			ps[i].inode = inode;
	}
	stp_begin_cancel = (stp_task_work_cancel_func_t)
		stp_kallsyms_callable(STP_TASK_WORK_CANCEL_FUNC_SYMBOL);
	stp_tracepoints_register(stp_process_tps, ARRAY_SIZE(stp_process_tps), &tps);
	if (stp_process_tps[1].registered)
		stp_begin_scan();
	for (i = 0; i < n; i++) {
		struct stp_process_probe *p = &ps[i];
		bool in_task = !p->end && !p->path;  /* runs only through task work */

		if (p->path && !p->inode)
			rc = -ENOENT;
		else if (p->pid && !stp_pid_exists(p->pid))
			rc = -ESRCH;
		else if (in_task && !stp_begin_cancel)
			rc = -ENOSYS;
		else if (p->end)
			rc = stp_process_tps[0].registered && stp_process_tps[1].registered &&
			     stp_process_tps[2].registered ? 0 : -ENOENT;
		else
			rc = stp_process_tps[0].registered && stp_process_tps[1].registered ? 0 : -ENOENT;
		stp_reg_count_note(count, p->probe, p->optional, rc);
	}
}

/* The process family: a generated module lists its table with it. */
STP_FAMILY(process, struct stp_process_probe, stp_processes_register, stp_processes_unregister);
