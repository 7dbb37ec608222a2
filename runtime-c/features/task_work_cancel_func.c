/* SPDX-License-Identifier: GPL-2.0-only */
/* STP_HAVE_TASK_WORK_CANCEL_FUNC: task_work_cancel(task, func) became task_work_cancel_func(); task_work_cancel() now takes the callback_head (6.11, and 6.1.y/5.10.y stable). */
#include <linux/task_work.h>

struct callback_head *stp_probe(struct task_struct *t, task_work_func_t fn);
struct callback_head *stp_probe(struct task_struct *t, task_work_func_t fn)
{
	return task_work_cancel_func(t, fn);
}
