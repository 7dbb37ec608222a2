/* Scheduler tracepoints of the fixture kernel. */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM sched

TRACE_EVENT(sched_switch,
	TP_PROTO(bool preempt, struct task_struct *prev, struct task_struct *next,
		 unsigned int prev_state),
	TP_ARGS(preempt, prev, next, prev_state),
	TP_STRUCT__entry(__field(pid_t, prev_pid)),
	TP_fast_assign(__entry->prev_pid = prev->pid;),
	TP_printk("prev_pid=%d", __entry->prev_pid)
);

TRACE_EVENT(sched_process_fork,
	TP_PROTO(struct task_struct *parent, struct task_struct *child),
	TP_ARGS(parent, child),
	TP_STRUCT__entry(__field(pid_t, child_pid)),
	TP_fast_assign(__entry->child_pid = child->pid;),
	TP_printk("child_pid=%d", __entry->child_pid)
);

DECLARE_EVENT_CLASS(sched_wakeup_template,
	TP_PROTO(struct task_struct *p),
	TP_ARGS(p),
	TP_STRUCT__entry(__field(pid_t, pid)),
	TP_fast_assign(__entry->pid = p->pid;),
	TP_printk("pid=%d", __entry->pid)
);

DEFINE_EVENT(sched_wakeup_template, sched_wakeup,
	     TP_PROTO(struct task_struct *p),
	     TP_ARGS(p));
