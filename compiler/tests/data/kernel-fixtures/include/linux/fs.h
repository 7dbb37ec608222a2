#ifndef STP_FIXTURE_FS_H
#define STP_FIXTURE_FS_H
#include <linux/stp_fixture.h>

struct file_operations {
	struct module *owner;
	loff_t (*llseek)(struct file *, loff_t, int);
	ssize_t (*read)(struct file *, char __user *, size_t, loff_t *);
	ssize_t (*write)(struct file *, const char __user *, size_t, loff_t *);
	int (*open)(struct inode *, struct file *);
	int (*release)(struct inode *, struct file *);
};
int nonseekable_open(struct inode *inode, struct file *filp);
loff_t noop_llseek(struct file *file, loff_t offset, int whence);
#endif
