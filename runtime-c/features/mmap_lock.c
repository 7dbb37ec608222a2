/* SPDX-License-Identifier: GPL-2.0-only */
/* STP_HAVE_MMAP_LOCK: mm_struct's mmap_sem became mmap_lock, taken with mmap_read_lock() (5.8). */
#include <linux/mm.h>

void stp_probe(struct mm_struct *mm);
void stp_probe(struct mm_struct *mm)
{
	struct rw_semaphore *sem = &mm->mmap_lock;

	(void)sem;
	mmap_read_lock(mm);
	mmap_read_unlock(mm);
}
