#ifndef STP_FIXTURE_UPROBES_H
#define STP_FIXTURE_UPROBES_H
#include <linux/stp_fixture.h>
#include <linux/err.h>

typedef unsigned long long __u64;
struct uprobe;
struct pt_regs;
struct mm_struct;

#if STP_FIXTURE_AT_LEAST(6, 13)
/* Session uprobes: handlers take a data pointer. */
struct uprobe_consumer {
	int (*handler)(struct uprobe_consumer *self, struct pt_regs *regs, __u64 *data);
	int (*ret_handler)(struct uprobe_consumer *self, unsigned long func, struct pt_regs *regs, __u64 *data);
	bool (*filter)(struct uprobe_consumer *self, struct mm_struct *mm);
};
#else
struct uprobe_consumer {
	int (*handler)(struct uprobe_consumer *self, struct pt_regs *regs);
	int (*ret_handler)(struct uprobe_consumer *self, unsigned long func, struct pt_regs *regs);
	struct uprobe_consumer *next;
};
#endif

#if STP_FIXTURE_AT_LEAST(6, 12)
struct uprobe *uprobe_register(struct inode *inode, loff_t offset, loff_t ref_ctr_offset, struct uprobe_consumer *uc);
void uprobe_unregister_nosync(struct uprobe *uprobe, struct uprobe_consumer *uc);
void uprobe_unregister_sync(void);
#else
int uprobe_register(struct inode *inode, loff_t offset, struct uprobe_consumer *uc);
/* 4.20 (SDT semaphores as reference counters) until 6.12 folded it in. */
int uprobe_register_refctr(struct inode *inode, loff_t offset, loff_t ref_ctr_offset, struct uprobe_consumer *uc);
void uprobe_unregister(struct inode *inode, loff_t offset, struct uprobe_consumer *uc);
#endif
#endif
