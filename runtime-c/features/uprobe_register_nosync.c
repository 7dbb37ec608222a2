/* SPDX-License-Identifier: GPL-2.0-only */
/* STP_HAVE_UPROBE_REGISTER_NOSYNC: uprobe_register() returns the struct uprobe *, released with uprobe_unregister_nosync() + uprobe_unregister_sync() (6.12). */
#include <linux/err.h>
#include <linux/uprobes.h>

struct uprobe *stp_probe(struct inode *inode, struct uprobe_consumer *uc);
struct uprobe *stp_probe(struct inode *inode, struct uprobe_consumer *uc)
{
	struct uprobe *u = uprobe_register(inode, 0, 0, uc);

	if (!IS_ERR(u)) {
		uprobe_unregister_nosync(u, uc);
		uprobe_unregister_sync();
	}
	return u;
}
