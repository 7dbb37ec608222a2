#ifndef STP_FIXTURE_FDTABLE_H
#define STP_FIXTURE_FDTABLE_H
#include <linux/stp_fixture.h>

struct file;
struct files_struct;
/* fcheck_files() became files_lookup_fd_rcu() in 5.11; files_lookup_fd_raw() is the lookup since. */
#if STP_FIXTURE_AT_LEAST(5, 11)
struct file *files_lookup_fd_raw(struct files_struct *files, unsigned int fd);
#else
struct file *fcheck_files(struct files_struct *files, unsigned int fd);
#endif
#endif
