/* SPDX-License-Identifier: GPL-2.0-only */
/* STP_HAVE_TASK_THREAD_INFO_CPU: a task's CPU moved from task_struct into its thread_info (5.16). */
#include <linux/sched.h>

unsigned int stp_probe(struct task_struct *t);
unsigned int stp_probe(struct task_struct *t)
{
	return READ_ONCE(t->thread_info.cpu);
}
