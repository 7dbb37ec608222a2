/* SPDX-License-Identifier: GPL-2.0-only */
/* The ring and the debugfs channel; see transport.h. */

#define STP_BOUNCE_SIZE (64 * 1024)
#define STP_POLL_MS 10

static struct {
	arch_spinlock_t lock;	/* see stp_transport_lock */
	char *ring;
	u64 head; /* bytes ever written */
	u64 tail; /* bytes ever read */
	atomic64_t dropped;
	atomic64_t dropped_bytes;
	wait_queue_head_t readers;
	struct mutex read_mutex;
	struct mutex control_mutex;
	char *bounce;
	struct dentry *dir;
	bool exit_reported;
	bool done_reported;
	atomic_t attached;	/* the channel is open (one reader at a time) */
	u32 flight;		/* overwrite the oldest records when full */
	u32 protocol;		/* STP_PROTOCOL, for MODULE/protocol */
	bool started;		/* `start` came (under control_mutex) */
	u32 *taking;		/* per CPU: taking or holding `lock` (see below) */
	struct timer_list poll_timer;	/* wakes a poller (see stp_channel_poll) */
} stp_transport;

/*
 * Takes the ring's lock with interrupts off, unless this CPU is already
 * taking or holding it: then the caller interrupted that CPU's own
 * critical section (an NMI, or a kprobe's int3 on a function the locked
 * code calls, with the reader or another handler inside) and spinning
 * would wait for itself forever. Such a caller only tries the lock once
 * and, when it is held, gets false: its record is dropped and counted
 * like one that did not fit. A hit that interrupted nothing of the
 * transport's, NMI or not, takes the lock as usual, so kprobes entered
 * through int3 (in_nmi() is true there on x86) never lose output to this.
 * The lock is an arch spinlock, outside lockdep: lockdep sees one lock
 * taken both in NMI context (an int3 kprobe) and with only interrupts off
 * (a timer, the reader) and reports an inconsistent lock state, which the
 * per-CPU `taking` count above makes impossible (found on a lockdep kernel
 * by stress_unload). Interrupts are off while it is held.
 */
static __maybe_unused bool stp_transport_lock(unsigned long *flags)
{
	u32 *taking;

	local_irq_save(*flags);
	taking = &stp_transport.taking[smp_processor_id()];
	/* A nested (NMI) caller restores the count before it returns. */
	if (READ_ONCE(*taking)) {
		if (!arch_spin_trylock(&stp_transport.lock)) {
			local_irq_restore(*flags);
			return false;
		}
		WRITE_ONCE(*taking, *taking + 1);
		return true;
	}
	WRITE_ONCE(*taking, 1);
	barrier();
	arch_spin_lock(&stp_transport.lock);
	return true;
}

static __maybe_unused void stp_transport_unlock(unsigned long flags)
{
	u32 *taking = &stp_transport.taking[smp_processor_id()];

	arch_spin_unlock(&stp_transport.lock);
	barrier();
	WRITE_ONCE(*taking, *taking - 1);
	local_irq_restore(flags);
}

static __maybe_unused void stp_ring_copy_in(u64 pos, const void *src, u32 len)
{
	u64 at = pos % STP_TRANSPORT_BUFSIZE;
	u32 first = min_t(u64, len, STP_TRANSPORT_BUFSIZE - at);

	memcpy(stp_transport.ring + at, src, first);
	if (first < len)
		memcpy(stp_transport.ring, (const char *)src + first, len - first);
}

static __maybe_unused void stp_ring_copy_out(u64 pos, void *dst, u32 len)
{
	u64 at = pos % STP_TRANSPORT_BUFSIZE;
	u32 first = min_t(u64, len, STP_TRANSPORT_BUFSIZE - at);

	memcpy(dst, stp_transport.ring + at, first);
	if (first < len)
		memcpy((char *)dst + first, stp_transport.ring, len - first);
}

/* The size (header included) of the record starting at `pos`; lock held. */
static __maybe_unused u64 stp_ring_record_at(u64 pos)
{
	struct stp_record_header h;

	stp_ring_copy_out(pos, &h, sizeof(h));
	return sizeof(h) + le32_to_cpu(h.len);
}

static __maybe_unused int stp_transport_write(u32 type, const char *data, u32 len)
{
	struct stp_record_header h = { .type = cpu_to_le32(type), .len = cpu_to_le32(len) };
	unsigned long flags;
	u64 used;

	if (!stp_transport_lock(&flags)) {
		atomic64_inc(&stp_transport.dropped);
		atomic64_add(len, &stp_transport.dropped_bytes);
		return -EDEADLK;
	}
	used = stp_transport.head - stp_transport.tail;
	/* The flight recorder makes room by forgetting the oldest records. */
	while (stp_transport.flight && used > 0 && sizeof(h) + len <= STP_TRANSPORT_BUFSIZE &&
	       used + sizeof(h) + len > STP_TRANSPORT_BUFSIZE) {
		stp_transport.tail += stp_ring_record_at(stp_transport.tail);
		used = stp_transport.head - stp_transport.tail;
	}
	if (used + sizeof(h) + len > STP_TRANSPORT_BUFSIZE) {
		stp_transport_unlock(flags);
		atomic64_inc(&stp_transport.dropped);
		atomic64_add(len, &stp_transport.dropped_bytes);
		return -ENOSPC;
	}
	stp_ring_copy_in(stp_transport.head, &h, sizeof(h));
	stp_ring_copy_in(stp_transport.head + sizeof(h), data, len);
	stp_transport.head += sizeof(h) + len;
	stp_transport_unlock(flags);
	return 0;
}

/*
 * Moves the whole records that fit in `max` bytes from the ring into the
 * bounce buffer (whole, so that the flight recorder can drop the oldest
 * record at the tail at any time). Records are far smaller than the
 * bounce buffer (a context's print buffer at most).
 */
static __maybe_unused size_t stp_ring_take(size_t max)
{
	unsigned long flags;
	u64 avail, at, rec;
	size_t n = 0, first;

	/* Process context: this CPU cannot be inside the lock already. */
	if (!stp_transport_lock(&flags))
		return 0;
	avail = stp_transport.head - stp_transport.tail;
	while (n + sizeof(struct stp_record_header) <= avail) {
		rec = stp_ring_record_at(stp_transport.tail + n);
		if (n + rec > max)
			break;
		n += rec;
	}
	at = stp_transport.tail % STP_TRANSPORT_BUFSIZE;
	first = min_t(u64, n, STP_TRANSPORT_BUFSIZE - at);
	memcpy(stp_transport.bounce, stp_transport.ring + at, first);
	if (first < n)
		memcpy(stp_transport.bounce + first, stp_transport.ring, n - first);
	stp_transport.tail += n;
	stp_transport_unlock(flags);
	return n;
}

static __maybe_unused bool stp_ring_empty(void)
{
	return READ_ONCE(stp_transport.head) == READ_ONCE(stp_transport.tail);
}

/* Session hooks the channel calls; defined in session.c. */
static __maybe_unused bool stp_session_exit_requested(void);
static __maybe_unused bool stp_session_done(void);
static __maybe_unused void stp_session_summary(struct stp_summary *s);
static __maybe_unused int stp_session_start(void);
static __maybe_unused int stp_session_stop(void);

static __maybe_unused size_t stp_synth_record(u32 type, const void *payload, u32 len)
{
	struct stp_record_header h = { .type = cpu_to_le32(type), .len = cpu_to_le32(len) };

	memcpy(stp_transport.bounce, &h, sizeof(h));
	memcpy(stp_transport.bounce + sizeof(h), payload, len);
	return sizeof(h) + len;
}

static __maybe_unused ssize_t stp_channel_read(struct file *file, char __user *buf, size_t count, loff_t *ppos)
{
	size_t n = 0;
	long rc;

	if (mutex_lock_interruptible(&stp_transport.read_mutex))
		return -ERESTARTSYS;
	for (;;) {
		n = stp_ring_take(min_t(size_t, count, STP_BOUNCE_SIZE));
		if (n)
			break;
		if (stp_session_exit_requested() && !stp_transport.exit_reported &&
		    count >= sizeof(struct stp_record_header)) {
			stp_transport.exit_reported = true;
			n = stp_synth_record(STP_RECORD_EXIT, NULL, 0);
			break;
		}
		if (stp_session_done() && !stp_transport.done_reported &&
		    count >= sizeof(struct stp_record_header) + sizeof(struct stp_summary)) {
			struct stp_summary s;

			stp_session_summary(&s);
			s.dropped = atomic64_read(&stp_transport.dropped);
			s.dropped_bytes = atomic64_read(&stp_transport.dropped_bytes);
			s.buffer_mb = DIV_ROUND_UP(STP_TRANSPORT_BUFSIZE, 1 << 20);
			stp_transport.done_reported = true;
			n = stp_synth_record(STP_RECORD_DONE, &s, sizeof(s));
			break;
		}
		if (stp_transport.done_reported)
			break;
		rc = wait_event_interruptible_timeout(stp_transport.readers, !stp_ring_empty(),
						      msecs_to_jiffies(STP_POLL_MS));
		if (rc < 0) {
			mutex_unlock(&stp_transport.read_mutex);
			return rc;
		}
	}
	if (n && copy_to_user(buf, stp_transport.bounce, n))
		n = 0, rc = -EFAULT;
	else
		rc = n;
	mutex_unlock(&stp_transport.read_mutex);
	return rc;
}

static __maybe_unused ssize_t stp_channel_write(struct file *file, const char __user *buf, size_t count, loff_t *ppos)
{
	char cmd[16];
	size_t len = min(count, sizeof(cmd) - 1);
	int rc;

	if (copy_from_user(cmd, buf, len))
		return -EFAULT;
	cmd[len] = '\0';
	if (len && cmd[len - 1] == '\n')
		cmd[len - 1] = '\0';
	mutex_lock(&stp_transport.control_mutex);
	if (!strcmp(cmd, "start")) {
		rc = stp_session_start();
		stp_transport.started = stp_transport.started || rc == 0;
	} else if (!strcmp(cmd, "stop")) {
		rc = stp_session_stop();
	} else if (!strcmp(cmd, "flight")) {
		rc = stp_transport.started ? -EBUSY : 0;
		if (!rc)
			WRITE_ONCE(stp_transport.flight, 1);
	} else {
		rc = -EINVAL;
	}
	mutex_unlock(&stp_transport.control_mutex);
	return rc ? rc : count;
}

/* One reader at a time; a new one hears EXIT and DONE again. */
static __maybe_unused int stp_channel_open(struct inode *inode, struct file *file)
{
	if (atomic_cmpxchg(&stp_transport.attached, 0, 1) != 0)
		return -EBUSY;
	mutex_lock(&stp_transport.read_mutex);
	stp_transport.exit_reported = false;
	stp_transport.done_reported = false;
	mutex_unlock(&stp_transport.read_mutex);
	return nonseekable_open(inode, file);
}

static __maybe_unused int stp_channel_release(struct inode *inode, struct file *file)
{
	atomic_set(&stp_transport.attached, 0);
	return 0;
}

/* Whether a read would return at once: records, EXIT, DONE or end of file. */
static __maybe_unused bool stp_channel_ready(void)
{
	return !stp_ring_empty() ||
	       (stp_session_exit_requested() && !READ_ONCE(stp_transport.exit_reported)) ||
	       stp_session_done();
}

static __maybe_unused void stp_channel_poll_tick(struct timer_list *t)
{
	wake_up_interruptible(&stp_transport.readers);
}

/*
 * poll(): readable when a read would not block, so staprun can wait in
 * ppoll() with its stop signals unblocked only there and never lose one.
 * Probes wake nobody (they may run in any context), so a poller that
 * finds nothing is woken again after STP_POLL_MS by a timer, the period a
 * blocked read polls with; the timer is armed only while someone polls.
 * It never reports EPOLLOUT, which is how staprun tells this from a
 * module without poll (whose channel the VFS calls always ready).
 */
static __maybe_unused __poll_t stp_channel_poll(struct file *file, poll_table *wait)
{
	poll_wait(file, &stp_transport.readers, wait);
	if (stp_channel_ready())
		return EPOLLIN | EPOLLRDNORM;
	mod_timer(&stp_transport.poll_timer, jiffies + msecs_to_jiffies(STP_POLL_MS));
	return 0;
}

static const struct file_operations stp_channel_fops = {
	.owner = THIS_MODULE,
	.open = stp_channel_open,
	.release = stp_channel_release,
	.read = stp_channel_read,
	.write = stp_channel_write,
	.poll = stp_channel_poll,
};

/*
 * The channel's directory is named for the module as loaded
 * (THIS_MODULE->name), which staprun -R may have changed from the name
 * it was built with.
 */
static __maybe_unused int stp_transport_init(const char *built_name)
{
	const char *name = THIS_MODULE->name[0] ? THIS_MODULE->name : built_name;
	struct dentry *top, *file;

	stp_transport.lock = (arch_spinlock_t)__ARCH_SPIN_LOCK_UNLOCKED;
	init_waitqueue_head(&stp_transport.readers);
	timer_setup(&stp_transport.poll_timer, stp_channel_poll_tick, 0);
	mutex_init(&stp_transport.read_mutex);
	mutex_init(&stp_transport.control_mutex);
	atomic64_set(&stp_transport.dropped, 0);
	atomic64_set(&stp_transport.dropped_bytes, 0);
	atomic_set(&stp_transport.attached, 0);
	stp_transport.protocol = STP_PROTOCOL;
	stp_transport.ring = vzalloc(STP_TRANSPORT_BUFSIZE);
	stp_transport.bounce = vzalloc(STP_BOUNCE_SIZE);
	stp_transport.taking = kcalloc(nr_cpu_ids, sizeof(*stp_transport.taking), GFP_KERNEL);
	if (!stp_transport.ring || !stp_transport.bounce || !stp_transport.taking)
		goto nomem;
	top = debugfs_lookup("stapkit", NULL);
	if (!top)
		top = debugfs_create_dir("stapkit", NULL);
	else
		dput(top); /* debugfs_lookup took a reference; the dir stays */
	if (IS_ERR_OR_NULL(top)) {
		pr_err("stapkit: cannot create /sys/kernel/debug/stapkit (is debugfs enabled and not locked down?)\n");
		goto fail;
	}
	stp_transport.dir = debugfs_create_dir(name, top);
	if (IS_ERR_OR_NULL(stp_transport.dir))
		goto fail;
	file = debugfs_create_file("channel", 0600, stp_transport.dir, NULL, &stp_channel_fops);
	if (IS_ERR_OR_NULL(file))
		goto fail;
	debugfs_create_u32("protocol", 0444, stp_transport.dir, &stp_transport.protocol);
	debugfs_create_u32("flight", 0444, stp_transport.dir, &stp_transport.flight);
	return 0;
fail:
	if (!IS_ERR_OR_NULL(stp_transport.dir))
		debugfs_remove_recursive(stp_transport.dir);
	stp_transport.dir = NULL;
	vfree(stp_transport.ring);
	vfree(stp_transport.bounce);
	kfree(stp_transport.taking);
	return -ENODEV;
nomem:
	vfree(stp_transport.ring);
	vfree(stp_transport.bounce);
	kfree(stp_transport.taking);
	return -ENOMEM;
}

static __maybe_unused void stp_transport_exit(void)
{
	/* No poll can start once the files are gone: then stop the timer. */
	debugfs_remove_recursive(stp_transport.dir);
	stp_timer_delete_sync(&stp_transport.poll_timer);
	vfree(stp_transport.ring);
	vfree(stp_transport.bounce);
	kfree(stp_transport.taking);
}
