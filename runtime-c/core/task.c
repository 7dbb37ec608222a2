/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Tasks as the task tapsets see them: fields of a task_struct a script
 * names by address (read fault-safely, so a stale or bogus address is a
 * script error, never an oops), ids as seen from the namespaces staprun
 * runs in, and the current process's arguments and environment, read from
 * its own memory without sleeping.
 */

/*
 * Reads the `size` bytes at kernel address `addr`; on a fault fails the
 * handler with SystemTap's text for a task field it cannot read (the
 * first fault only) and returns false.
 */
static __maybe_unused bool stp_kget(struct stp_context *c, void *dst, unsigned long addr, size_t size)
{
	if (!stp_copy_from_kernel_nofault(dst, (const void *)addr, size))
		return true;
	if (!c->last_error)
		stp_error_fmt(c, "read fault [man error::fault] at 0x%lx", addr);
	return false;
}

/* Field `field` of the task_struct at `task` into `*out`; false on a fault. */
#define STP_TASK_GET(c, task, field, out) \
	stp_kget((c), (out), (unsigned long)(task) + offsetof(struct task_struct, field), \
		 sizeof(((struct task_struct *)0)->field))

/* Member `field` of the struct `type` at `addr` into `*out`; false on a fault. */
#define STP_STRUCT_GET(c, type, addr, field, out) \
	stp_kget((c), (out), (unsigned long)(addr) + offsetof(type, field), sizeof(((type *)0)->field))

/*
 * The namespaces ids are "seen from": staprun's, as it loaded the module
 * (SystemTap's "stap process namespace"). Held until unload.
 */
static struct pid_namespace *stp_pid_ns __maybe_unused;
static struct user_namespace *stp_user_ns __maybe_unused;
/* staprun's process id (stp_pid()). */
static pid_t stp_staprun_pid __maybe_unused;

static __maybe_unused void stp_task_init(void)
{
	stp_staprun_pid = current->tgid;
#ifdef STP_NEED_NS
	stp_pid_ns = get_pid_ns(task_active_pid_ns(current));
	stp_user_ns = get_user_ns(current_user_ns());
#endif
}

static __maybe_unused void stp_task_exit(void)
{
#ifdef STP_NEED_NS
	if (stp_pid_ns)
		put_pid_ns(stp_pid_ns);
	if (stp_user_ns)
		put_user_ns(stp_user_ns);
	stp_pid_ns = NULL;
	stp_user_ns = NULL;
#endif
}

/*
 * The number `pid` has in namespace `ns` (0 when it has none there),
 * read fault-safely from a struct pid a task points to.
 */
static __maybe_unused int64_t stp_pid_nr_in(struct stp_context *c, unsigned long pid,
					     struct pid_namespace *ns)
{
	unsigned int level;
	struct upid upid;

	if (!pid || !ns || !STP_STRUCT_GET(c, struct pid, pid, level, &level) || ns->level > level)
		return 0;
	if (!stp_kget(c, &upid, pid + offsetof(struct pid, numbers) + ns->level * sizeof(struct upid),
		      sizeof(upid)))
		return 0;
	return upid.ns == ns ? upid.nr : 0;
}

/*
 * Task `task`'s id of kind `type` (PIDTYPE_PID: its thread id; TGID,
 * PGID, SID: its process's) in `ns`; false when the task cannot be read.
 */
static __maybe_unused bool stp_task_id_in(struct stp_context *c, int64_t task, enum pid_type type,
					  struct pid_namespace *ns, int64_t *out)
{
	unsigned long pid = 0, signal = 0;

	if (type == PIDTYPE_PID) {
		if (!STP_TASK_GET(c, task, thread_pid, &pid))
			return false;
	} else {
		if (!STP_TASK_GET(c, task, signal, &signal) ||
		    !stp_kget(c, &pid, signal + offsetof(struct signal_struct, pids) + type * sizeof(pid),
			      sizeof(pid)))
			return false;
	}
	*out = stp_pid_nr_in(c, pid, ns);
	return !c->last_error;
}

/*
 * A credential of the task at `task` (its objective ones, real_cred):
 * `off` is the offset of the kuid_t/kgid_t in struct cred. As numbered
 * in `ns`; false when the task cannot be read.
 */
static __maybe_unused bool stp_task_cred_id(struct stp_context *c, int64_t task, size_t off, bool gid,
					    struct user_namespace *ns, int64_t *out)
{
	unsigned long cred = 0;
	u32 id;

	if (!STP_TASK_GET(c, task, real_cred, &cred) || !stp_kget(c, &id, cred + off, sizeof(id)))
		return false;
	*out = gid ? from_kgid_munged(ns, KGIDT_INIT(id)) : from_kuid_munged(ns, KUIDT_INIT(id));
	return true;
}

/* The task's parent (real_parent), as an address. */
static __maybe_unused bool stp_task_parent(struct stp_context *c, int64_t task, int64_t *out)
{
	unsigned long parent = 0;

	if (!STP_TASK_GET(c, task, real_parent, &parent))
		return false;
	*out = (int64_t)parent;
	return true;
}

/*
 * The task's comm, NUL-terminated, into dst (TASK_COMM_LEN bytes); a
 * fault is SystemTap's string copy fault.
 */
static __maybe_unused bool stp_task_get_comm(struct stp_context *c, int64_t task, char *dst)
{
	unsigned long at = (unsigned long)task + offsetof(struct task_struct, comm);

	if (stp_copy_from_kernel_nofault(dst, (const void *)at, TASK_COMM_LEN)) {
		dst[0] = '\0';
		stp_error_fmt(c, "kernel string copy fault at 0x%lx [man error::fault]", at);
		return false;
	}
	dst[TASK_COMM_LEN - 1] = '\0';
	return true;
}

/*
 * A task's file descriptor table (RCU held): its address in *fdt (0 for a
 * task without files) and its size. False on a fault.
 */
static __maybe_unused bool stp_task_fdtable(struct stp_context *c, int64_t task, unsigned long *fdt,
					    unsigned int *max_fds)
{
	unsigned long files = 0;

	*fdt = 0;
	*max_fds = 0;
	if (!STP_TASK_GET(c, task, files, &files))
		return false;
	return !files || (STP_STRUCT_GET(c, struct files_struct, files, fdt, fdt) &&
			  STP_STRUCT_GET(c, struct fdtable, *fdt, max_fds, max_fds));
}

/* The open file descriptors of a task: set bits of its fd table's open_fds. */
static __maybe_unused bool stp_task_open_files(struct stp_context *c, int64_t task, int64_t *out)
{
	unsigned long fdt, bits = 0, word;
	unsigned int max_fds, i;
	bool ok;

	*out = 0;
	rcu_read_lock();
	ok = stp_task_fdtable(c, task, &fdt, &max_fds) &&
	     (!fdt || STP_STRUCT_GET(c, struct fdtable, fdt, open_fds, &bits));
	for (i = 0; ok && bits && i < max_fds; i += BITS_PER_LONG) {
		if (stp_copy_from_kernel_nofault(&word, (const void *)(bits + (i / BITS_PER_LONG) * sizeof(word)),
						 sizeof(word)))
			break;
		*out += hweight_long(word);
	}
	rcu_read_unlock();
	return ok;
}

/* The size of a task's fd table (how many descriptors it holds now). */
static __maybe_unused bool stp_task_max_files(struct stp_context *c, int64_t task, int64_t *out)
{
	unsigned long fdt;
	unsigned int max_fds;
	bool ok;

	rcu_read_lock();
	ok = stp_task_fdtable(c, task, &fdt, &max_fds);
	rcu_read_unlock();
	*out = max_fds;
	return ok;
}

/* The task with thread id `tid` (as the caller's namespace numbers it), or NULL. */
static __maybe_unused struct task_struct *stp_tid_task(int64_t tid)
{
	struct task_struct *t;

	if (tid < 0 || tid > PID_MAX_LIMIT)
		return NULL;
	rcu_read_lock();
	t = pid_task(find_vpid((pid_t)tid), PIDTYPE_PID);
	rcu_read_unlock();
	return t;
}

/*
 * The current process's memory between start and end (its arguments or
 * environment: NUL-separated strings), a chunk at a time: calls
 * visit(chunk, len, data) until it returns false. False when current has
 * no user memory or a page is not there (the walk cannot sleep to fetch
 * it).
 */
static __maybe_unused bool stp_user_strings(bool env, bool (*visit)(const char *, size_t, void *),
					    void *data)
{
	struct mm_struct *mm = current->mm;
	unsigned long start, end, at;
	char chunk[64];

	if (!mm || (current->flags & PF_KTHREAD))
		return false;
	start = env ? mm->env_start : mm->arg_start;
	end = env ? mm->env_end : mm->arg_end;
	for (at = start; at < end; at += sizeof(chunk)) {
		size_t n = min_t(unsigned long, sizeof(chunk), end - at);

		if (stp_copy_from_user_nofault(chunk, (const void __user *)at, n))
			return false;
		if (!visit(chunk, n, data))
			break;
	}
	return true;
}

/* What a walk of stp_user_strings() collects. */
struct stp_args_walk {
	int64_t index;          /* the string being read */
	int64_t first, last;    /* wanted, inclusive; last < 0: to the end */
	const char *delim;
	char *dst;
	size_t len, cap;
	bool found;             /* the first wanted string was reached */
	bool between;           /* the last byte read ended a string */
	/* env_var(): the name to find, how much of it matched so far. */
	const char *name;
	size_t matched;
	bool in_value, done;
};

static __maybe_unused void stp_args_put(struct stp_args_walk *w, const char *s, size_t n)
{
	size_t room = w->cap - 1 - w->len;

	n = min(n, room);
	memcpy(w->dst + w->len, s, n);
	w->len += n;
	w->dst[w->len] = '\0';
}

/* Arguments first..last, a delimiter before each but the first. */
static __maybe_unused bool stp_args_visit(const char *chunk, size_t n, void *data)
{
	struct stp_args_walk *w = data;
	size_t i;

	for (i = 0; i < n; i++) {
		bool wanted;

		if (w->last >= 0 && w->index > w->last)
			return false;
		wanted = w->index >= w->first;
		if (w->between && wanted) {
			if (w->found)
				stp_args_put(w, w->delim, strlen(w->delim));
			w->found = true;
		}
		w->between = false;
		if (chunk[i] == '\0') {
			w->index++;
			w->between = true;
		} else if (wanted) {
			stp_args_put(w, &chunk[i], 1);
		}
	}
	return true;
}

/*
 * Arguments first..last (last < 0: all from first) of the current
 * process, joined by delim, into dst (cap bytes). False when they cannot
 * be read or there are not that many.
 */
static __maybe_unused bool stp_cmdline_args(char *dst, size_t cap, int64_t first, int64_t last,
					    const char *delim)
{
	struct stp_args_walk w = {
		.first = first, .last = last, .delim = delim, .dst = dst, .cap = cap, .between = true,
	};

	dst[0] = '\0';
	if (first < 0 || !stp_user_strings(false, stp_args_visit, &w) || !w.found) {
		dst[0] = '\0';
		return false;
	}
	return true;
}

static __maybe_unused bool stp_env_visit(const char *chunk, size_t n, void *data)
{
	struct stp_args_walk *w = data;
	size_t name_len = strlen(w->name), i;

	for (i = 0; i < n && !w->done; i++) {
		char ch = chunk[i];

		if (w->in_value) {
			if (ch == '\0')
				w->done = true;
			else
				stp_args_put(w, &ch, 1);
		} else if (ch == '\0') {
			w->matched = 0;
		} else if (w->matched == SIZE_MAX) {
			/* Rest of a variable that did not match. */
		} else if (w->matched < name_len && ch == w->name[w->matched]) {
			w->matched++;
		} else if (w->matched == name_len && ch == '=') {
			w->in_value = true;
			w->found = true;
		} else {
			w->matched = SIZE_MAX;
		}
	}
	return !w->done;
}

/* The value of environment variable `name` of the current process, or "". */
static __maybe_unused void stp_env_var(char *dst, size_t cap, const char *name)
{
	struct stp_args_walk w = { .name = name, .dst = dst, .cap = cap };

	dst[0] = '\0';
	if (!name[0] || !stp_user_strings(true, stp_env_visit, &w) || !w.found)
		dst[0] = '\0';
}

/*
 * /proc/PID/statm's counts, in pages, for process `pid` (-1: the current
 * one): 0 size, 1 resident, 2 shared, 3 text, 4 data (and stack). 0 when
 * there is no such process or it has no memory.
 */
static __maybe_unused int64_t stp_proc_mem(int64_t pid, int which)
{
	struct task_struct *t = current;
	struct mm_struct *mm;
	int64_t v = 0;

	rcu_read_lock();
	if (pid >= 0) {
		t = pid <= PID_MAX_LIMIT ? pid_task(find_vpid((pid_t)pid), PIDTYPE_TGID) : NULL;
		if (!t)
			goto out;
	}
	mm = READ_ONCE(t->mm);
	if (!mm || (t->flags & PF_KTHREAD))
		goto out;
	switch (which) {
	case 0:
		v = READ_ONCE(mm->total_vm);
		break;
	case 1:
		v = get_mm_counter(mm, MM_FILEPAGES) + get_mm_counter(mm, MM_ANONPAGES) +
		    get_mm_counter(mm, MM_SHMEMPAGES);
		break;
	case 2:
		v = get_mm_counter(mm, MM_FILEPAGES) + get_mm_counter(mm, MM_SHMEMPAGES);
		break;
	case 3:
		v = (PAGE_ALIGN(READ_ONCE(mm->end_code)) - (READ_ONCE(mm->start_code) & PAGE_MASK)) >>
		    PAGE_SHIFT;
		break;
	default:
		v = READ_ONCE(mm->data_vm) + READ_ONCE(mm->stack_vm);
	}
out:
	rcu_read_unlock();
	return v;
}

/* Whether task t is the target process or descends from it (RCU held). */
static __maybe_unused bool stp_in_target_set(struct task_struct *t)
{
	if (!stp_target_pid)
		return false;
	for (; t && t->pid > 0; t = rcu_dereference(t->real_parent)) {
		if (t->tgid == stp_target_pid)
			return true;
	}
	return false;
}

/* target_set_pid(pid). */
static __maybe_unused int64_t stp_target_set_has(int64_t pid)
{
	struct task_struct *t;
	bool in;

	if (pid <= 0 || pid > PID_MAX_LIMIT)
		return 0;
	rcu_read_lock();
	t = pid_task(find_vpid((pid_t)pid), PIDTYPE_TGID);
	in = t && stp_in_target_set(t);
	rcu_read_unlock();
	return in;
}

/* target_set_report(): each process of the set with its parent. */
static __maybe_unused void stp_target_set_report(struct stp_context *c)
{
	struct task_struct *p;

	stp_print_str(c, "target set:\n");
	rcu_read_lock();
	for_each_process(p) {
		if (stp_in_target_set(p))
			stp_print_fmt(c, "%d begat %d\n", rcu_dereference(p->real_parent)->tgid, p->tgid);
	}
	rcu_read_unlock();
}

/*
 * The struct file of a task's executable (mm->exe_file), as an address:
 * 0 for a task without user memory (a kernel thread). False on a fault.
 */
static __maybe_unused bool stp_task_exe_file(struct stp_context *c, int64_t task, int64_t *out)
{
	unsigned long mm = 0, file = 0;

	*out = 0;
	if (!STP_TASK_GET(c, task, mm, &mm))
		return false;
	if (mm && !STP_STRUCT_GET(c, struct mm_struct, mm, exe_file, &file))
		return false;
	*out = (int64_t)file;
	return true;
}

/*
 * The struct path of a task's working directory (fs->pwd), as an address:
 * 0 for a task without an fs_struct (one that is exiting). False on a fault.
 */
static __maybe_unused bool stp_task_cwd_path(struct stp_context *c, int64_t task, int64_t *out)
{
	unsigned long fs = 0;

	*out = 0;
	if (!STP_TASK_GET(c, task, fs, &fs))
		return false;
	if (fs)
		*out = (int64_t)(fs + offsetof(struct fs_struct, pwd));
	return true;
}

/*
 * The struct file open as descriptor `fd` of a task, as an address; a
 * descriptor the task has not open is SystemTap's "cannot find file in
 * task" error. False on a fault or that error.
 */
static __maybe_unused bool stp_task_fd_file(struct stp_context *c, int64_t task, int64_t fd, int64_t *out)
{
	unsigned long fdt, fds = 0, file = 0;
	unsigned int max_fds;
	bool ok;

	*out = 0;
	rcu_read_lock();
	ok = stp_task_fdtable(c, task, &fdt, &max_fds);
	if (ok && fdt && fd >= 0 && fd < max_fds)
		ok = STP_STRUCT_GET(c, struct fdtable, fdt, fd, &fds) &&
		     stp_kget(c, &file, fds + fd * sizeof(file), sizeof(file));
	rcu_read_unlock();
	if (ok && !file) {
		stp_error_fmt(c, "cannot find file in task");
		return false;
	}
	*out = (int64_t)file;
	return ok;
}
