/* Tracepoints of the ext4 module (not built into the fixture image). */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM ext4

TRACE_EVENT(ext4_sync_file_enter,
	TP_PROTO(struct file *file, int datasync),
	TP_ARGS(file, datasync),
	TP_STRUCT__entry(__field(int, datasync)),
	TP_fast_assign(__entry->datasync = datasync;),
	TP_printk("datasync %d", __entry->datasync)
);

TRACE_EVENT(ext4_sync_file_exit,
	TP_PROTO(struct inode *inode, int ret),
	TP_ARGS(inode, ret),
	TP_STRUCT__entry(__field(int, ret)),
	TP_fast_assign(__entry->ret = ret;),
	TP_printk("ret %d", __entry->ret)
);

TRACE_EVENT(ext4_ext_map_blocks_enter,
	TP_PROTO(struct inode *inode, ext4_lblk_t lblk, unsigned int len,
		 unsigned int flags),
	TP_ARGS(inode, lblk, len, flags),
	TP_STRUCT__entry(__field(ext4_lblk_t, lblk)),
	TP_fast_assign(__entry->lblk = lblk;),
	TP_printk("lblk %u", __entry->lblk)
);
