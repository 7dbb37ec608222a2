#ifndef STP_FIXTURE_PROC_FS_H
#define STP_FIXTURE_PROC_FS_H
#include <linux/fs.h>

struct proc_dir_entry;
#if STP_FIXTURE_AT_LEAST(5, 6)
struct proc_ops {
	unsigned int proc_flags;
	int (*proc_open)(struct inode *, struct file *);
	ssize_t (*proc_read)(struct file *, char __user *, size_t, loff_t *);
	ssize_t (*proc_write)(struct file *, const char __user *, size_t, loff_t *);
	loff_t (*proc_lseek)(struct file *, loff_t, int);
	int (*proc_release)(struct inode *, struct file *);
};
struct proc_dir_entry *proc_create(const char *name, umode_t mode, struct proc_dir_entry *parent,
				   const struct proc_ops *proc_ops);
#else
struct proc_dir_entry *proc_create(const char *name, umode_t mode, struct proc_dir_entry *parent,
				   const struct file_operations *proc_fops);
#endif
#if STP_FIXTURE_AT_LEAST(5, 17)
void *pde_data(const struct inode *inode);
#else
void *PDE_DATA(const struct inode *inode);
#endif
#endif
