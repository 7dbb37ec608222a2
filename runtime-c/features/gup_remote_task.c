/* SPDX-License-Identifier: GPL-2.0-only */
/* STP_HAVE_GUP_REMOTE_TASK: get_user_pages_remote() took the task first, and vmas (4.10 to 5.8). */
#include <linux/mm.h>

typedef long (*stp_gup_fn)(struct task_struct *, struct mm_struct *, unsigned long, unsigned long,
			   unsigned int, struct page **, struct vm_area_struct **, int *);
stp_gup_fn stp_probe(void);
stp_gup_fn stp_probe(void)
{
	return get_user_pages_remote;
}
