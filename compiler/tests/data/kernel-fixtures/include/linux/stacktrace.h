#ifndef STP_FIXTURE_STACKTRACE_H
#define STP_FIXTURE_STACKTRACE_H
#include <linux/stp_fixture.h>

#if STP_FIXTURE_AT_LEAST(5, 2)
unsigned int stack_trace_save(unsigned long *store, unsigned int size, unsigned int skipnr);
#else
struct stack_trace {
	unsigned int nr_entries, max_entries;
	unsigned long *entries;
	unsigned int skip;
};
void save_stack_trace(struct stack_trace *trace);
#endif
#endif
