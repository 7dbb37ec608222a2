#ifndef STP_FIXTURE_DEBUGFS_H
#define STP_FIXTURE_DEBUGFS_H
#include <linux/stp_fixture.h>

struct dentry;
struct dentry *debugfs_lookup(const char *name, struct dentry *parent);
#endif
