/* Signal tracepoints of the fixture kernel. */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM signal

TRACE_EVENT(signal_generate,
	TP_PROTO(int sig, struct kernel_siginfo *info, struct task_struct *task,
		 int group, int result),
	TP_ARGS(sig, info, task, group, result),
	TP_STRUCT__entry(__field(int, sig)),
	TP_fast_assign(__entry->sig = sig;),
	TP_printk("sig=%d", __entry->sig)
);

TRACE_EVENT(signal_deliver,
	TP_PROTO(int sig, struct kernel_siginfo *info, struct k_sigaction *ka),
	TP_ARGS(sig, info, ka),
	TP_STRUCT__entry(__field(int, sig)),
	TP_fast_assign(__entry->sig = sig;),
	TP_printk("sig=%d", __entry->sig)
);
