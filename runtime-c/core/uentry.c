/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Values a .return probe of a user-space function saves at the function's
 * entry ($param, @entry(...) in process("P").function("f").return): a
 * uretprobe has no per-instance data as a kretprobe has, so the entry
 * handler takes a slot of a fixed table for the task, runs the probe's
 * entry part into it, and the return handler runs the probe with the
 * task's most recent slot of that point (returns come back in reverse
 * order of entries, recursion included), then frees it.
 *
 * Nothing allocates: with every slot taken (or a probe saving more than a
 * slot holds) the entry is not saved and the return reads zeros and empty
 * strings, as a kretprobe whose entry handler did not run does. A task
 * that leaves a function without returning (longjmp, exit) keeps its slot
 * until the session ends.
 */

#define STP_UENTRY_SLOTS 128
#define STP_UENTRY_BYTES 1024

struct stp_uentry_slot {
	const void *owner;	   /* the point (struct stp_uprobe) */
	struct task_struct *task;  /* NULL: free; compared only, never used */
	u64 seq;
	u64 data[STP_UENTRY_BYTES / 8];
};

static struct stp_uentry_slot stp_uentry_slots[STP_UENTRY_SLOTS];
static const u64 stp_uentry_none[STP_UENTRY_BYTES / 8];
static DEFINE_SPINLOCK(stp_uentry_lock);
static u64 stp_uentry_seq;

/* Function entry: saves the entry part of `entry`'s probe for the task. */
static void stp_uentry_save(const void *owner, const struct stp_probe *entry, size_t size,
			    struct pt_regs *regs)
{
	struct stp_uentry_slot *s = NULL;
	unsigned long flags;
	int i;

	if (size > STP_UENTRY_BYTES)
		return;
	spin_lock_irqsave(&stp_uentry_lock, flags);
	for (i = 0; i < STP_UENTRY_SLOTS; i++) {
		if (!stp_uentry_slots[i].task) {
			s = &stp_uentry_slots[i];
			s->task = current;
			s->owner = owner;
			s->seq = ++stp_uentry_seq;
			break;
		}
	}
	spin_unlock_irqrestore(&stp_uentry_lock, flags);
	if (!s)
		return;
	memset(s->data, 0, size);
	stp_probe_run_data(entry, STP_PT_UPROBE, STP_RUNNING, regs, s->data, 0);
}

/* Function return: runs `probe` with the task's latest saved entry. */
static void stp_uentry_return(const void *owner, const struct stp_probe *probe,
			      struct pt_regs *regs)
{
	struct stp_uentry_slot *s = NULL;
	unsigned long flags;
	int i;

	spin_lock_irqsave(&stp_uentry_lock, flags);
	for (i = 0; i < STP_UENTRY_SLOTS; i++) {
		struct stp_uentry_slot *t = &stp_uentry_slots[i];

		if (t->task == current && t->owner == owner && (!s || t->seq > s->seq))
			s = t;
	}
	spin_unlock_irqrestore(&stp_uentry_lock, flags);
	stp_probe_run_data(probe, STP_PT_URETPROBE, STP_RUNNING, regs,
			   s ? (void *)s->data : (void *)stp_uentry_none, 0);
	if (s) {
		spin_lock_irqsave(&stp_uentry_lock, flags);
		s->task = NULL;
		spin_unlock_irqrestore(&stp_uentry_lock, flags);
	}
}
