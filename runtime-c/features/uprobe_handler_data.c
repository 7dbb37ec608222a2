/* SPDX-License-Identifier: GPL-2.0-only */
/* STP_HAVE_UPROBE_HANDLER_DATA: uprobe_consumer handlers take a trailing __u64 *data (session uprobes, 6.13). */
#include <linux/uprobes.h>

int stp_probe_handler(struct uprobe_consumer *self, struct pt_regs *regs, __u64 *data);
int stp_probe_handler(struct uprobe_consumer *self, struct pt_regs *regs, __u64 *data)
{
	(void)self;
	(void)regs;
	(void)data;
	return 0;
}

int stp_probe_ret(struct uprobe_consumer *self, unsigned long func, struct pt_regs *regs, __u64 *data);
int stp_probe_ret(struct uprobe_consumer *self, unsigned long func, struct pt_regs *regs, __u64 *data)
{
	(void)self;
	(void)func;
	(void)regs;
	(void)data;
	return 0;
}

void stp_probe(struct uprobe_consumer *uc);
void stp_probe(struct uprobe_consumer *uc)
{
	uc->handler = stp_probe_handler;
	uc->ret_handler = stp_probe_ret;
}
