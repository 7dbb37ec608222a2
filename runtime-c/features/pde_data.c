/* SPDX-License-Identifier: GPL-2.0-only */
/* STP_HAVE_PDE_DATA: PDE_DATA() was renamed pde_data() (5.17). */
#include <linux/proc_fs.h>

void *stp_probe(const struct inode *inode);
void *stp_probe(const struct inode *inode)
{
	return pde_data(inode);
}
