/* SPDX-License-Identifier: GPL-2.0-only */
/* STP_HAVE_TASK_WORK_NOTIFY_MODE: task_work_add() takes an enum task_work_notify_mode, not a bool (5.11). */
#include <linux/task_work.h>

int stp_probe(struct task_struct *t, struct callback_head *work);
int stp_probe(struct task_struct *t, struct callback_head *work)
{
	enum task_work_notify_mode mode = TWA_RESUME;

	return task_work_add(t, work, mode);
}
