/* SPDX-License-Identifier: GPL-2.0-only */
/* STP_HAVE_STACK_TRACE_SAVE: stack_trace_save() replaced save_stack_trace() and struct stack_trace (5.2). */
#include <linux/stacktrace.h>

unsigned int stp_probe(unsigned long *entries, unsigned int n);
unsigned int stp_probe(unsigned long *entries, unsigned int n)
{
	return stack_trace_save(entries, n, 0);
}
