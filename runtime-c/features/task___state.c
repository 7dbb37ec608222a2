/* SPDX-License-Identifier: GPL-2.0-only */
/* STP_HAVE_TASK___STATE: task_struct's volatile long state became unsigned int __state (5.14). */
#include <linux/sched.h>

unsigned int stp_probe(struct task_struct *t);
unsigned int stp_probe(struct task_struct *t)
{
	return READ_ONCE(t->__state);
}
