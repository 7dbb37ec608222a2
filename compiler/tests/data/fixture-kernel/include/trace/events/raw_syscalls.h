/* Every syscall's entry and exit, in the fixture kernel. */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM raw_syscalls

TRACE_EVENT(sys_enter,
	TP_PROTO(struct pt_regs *regs, long id),
	TP_ARGS(regs, id),
	TP_STRUCT__entry(__field(long, id)),
	TP_fast_assign(__entry->id = id;),
	TP_printk("NR %ld", __entry->id)
);

TRACE_EVENT(sys_exit,
	TP_PROTO(struct pt_regs *regs, long ret),
	TP_ARGS(regs, ret),
	TP_STRUCT__entry(__field(long, ret)),
	TP_fast_assign(__entry->ret = ret;),
	TP_printk("ret %ld", __entry->ret)
);
