#ifndef STP_FIXTURE_SCHED_H
#define STP_FIXTURE_SCHED_H
#include <linux/stp_fixture.h>

struct thread_info {
	unsigned long flags;
#if STP_FIXTURE_AT_LEAST(5, 16)
	unsigned int cpu;
#endif
};

struct task_struct {
	struct thread_info thread_info;
#if STP_FIXTURE_AT_LEAST(5, 14)
	unsigned int __state;
#else
	volatile long state;
#endif
	int pid;
#if !STP_FIXTURE_AT_LEAST(5, 16)
	unsigned int cpu;
#endif
};
#endif
