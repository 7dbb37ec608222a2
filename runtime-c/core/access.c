/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What tapset functions need from the kernel: fault-safe copies of memory
 * a script names by address, task fields, calendar time. A bad address is
 * a script error (stp_error_fmt), never an oops.
 */

/*
 * Copies the NUL-terminated string at addr (kernel, or the current
 * process's memory when user) into dst, truncated to cap - 1 bytes.
 * Returns its length, or < 0 on a fault.
 */
static __maybe_unused long stp_copy_string(char *dst, int64_t addr, size_t cap, int user)
{
	size_t i;
	long rc;

	if (cap == 0)
		return 0;
	/*
	 * The strncpy_from_*_nofault helpers are not exported to modules;
	 * copy_from_{kernel,user}_nofault are, so copy a byte at a time.
	 */
	for (i = 0; i + 1 < cap; i++) {
		const void *src = (const void *)(uintptr_t)(addr + i);

		if (user)
			rc = copy_from_user_nofault(&dst[i], (const void __user *)src, 1);
		else
			rc = copy_from_kernel_nofault(&dst[i], src, 1);
		if (rc) {
			dst[0] = '\0';
			return -EFAULT;
		}
		if (dst[i] == '\0')
			return i;
	}
	dst[i] = '\0';
	return i;
}

/* The comm of a task known to be valid (current). */
static __maybe_unused void stp_task_comm(char *dst, struct task_struct *task)
{
	char comm[TASK_COMM_LEN];

	memcpy(comm, task->comm, sizeof(comm));
	comm[TASK_COMM_LEN - 1] = '\0';
	stp_strlcpy(dst, comm, MAXSTRINGLEN);
}

/* An int field at offset off of the task_struct at task, read fault-safely. */
static __maybe_unused int64_t stp_task_field_int(struct stp_context *c, int64_t task, size_t off)
{
	int v;

	if (copy_from_kernel_nofault(&v, (const void *)(uintptr_t)(task + off), sizeof(v))) {
		stp_error_fmt(c, "kernel read fault at 0x%llx [man error::fault]", (unsigned long long)task);
		return 0;
	}
	return v;
}

/* ctime(): "Thu Jan  1 00:00:00 1970" for seconds since the epoch, UTC. */
static __maybe_unused void stp_ctime(char *dst, size_t cap, int64_t secs)
{
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;

	time64_to_tm(secs, 0, &tm);
	scnprintf(dst, cap, "%s %s %2d %02d:%02d:%02d %lld", days[tm.tm_wday], months[tm.tm_mon],
		  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long long)tm.tm_year + 1900);
}
