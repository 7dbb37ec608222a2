#ifndef STP_FIXTURE_TASK_WORK_H
#define STP_FIXTURE_TASK_WORK_H
#include <linux/stp_fixture.h>

struct callback_head {
	struct callback_head *next;
	void (*func)(struct callback_head *head);
};
typedef void (*task_work_func_t)(struct callback_head *);

#if STP_FIXTURE_AT_LEAST(5, 11)
enum task_work_notify_mode { TWA_NONE, TWA_RESUME, TWA_SIGNAL };
int task_work_add(struct task_struct *task, struct callback_head *twork, enum task_work_notify_mode mode);
#else
int task_work_add(struct task_struct *task, struct callback_head *twork, bool notify);
#endif
#if STP_FIXTURE_AT_LEAST(6, 11)
struct callback_head *task_work_cancel_func(struct task_struct *, task_work_func_t);
bool task_work_cancel(struct task_struct *task, struct callback_head *cb);
#else
struct callback_head *task_work_cancel(struct task_struct *, task_work_func_t);
#endif
#endif
