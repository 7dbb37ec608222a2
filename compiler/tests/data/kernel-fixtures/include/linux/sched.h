#ifndef STP_FIXTURE_SCHED_H
#define STP_FIXTURE_SCHED_H
#include <linux/stp_fixture.h>

struct task_struct {
#if STP_FIXTURE_AT_LEAST(5, 14)
	unsigned int __state;
#else
	volatile long state;
#endif
	int pid;
};
#endif
