/* SPDX-License-Identifier: GPL-2.0-only */
/* STP_HAVE_PROC_OPS: /proc files are created with a struct proc_ops, not file_operations (5.6). */
#include <linux/proc_fs.h>

struct proc_dir_entry *stp_probe(const struct proc_ops *ops);
struct proc_dir_entry *stp_probe(const struct proc_ops *ops)
{
	return proc_create("stp_probe", 0444, NULL, ops);
}
