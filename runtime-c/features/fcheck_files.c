/* SPDX-License-Identifier: GPL-2.0-only */
/* STP_HAVE_FCHECK_FILES: fcheck_files() still exists (files_lookup_fd_rcu() in 5.11, files_lookup_fd_raw() the lookup since). */
#include <linux/fdtable.h>

struct file *stp_probe(struct files_struct *files, unsigned int fd);
struct file *stp_probe(struct files_struct *files, unsigned int fd)
{
	return fcheck_files(files, fd);
}
