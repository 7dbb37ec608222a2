/* The fixture kernel's syscall prototypes. */
#ifndef _LINUX_SYSCALLS_H
#define _LINUX_SYSCALLS_H

asmlinkage long sys_read(unsigned int fd, char __user *buf, size_t count);
asmlinkage long sys_write(unsigned int fd, const char __user *buf, size_t count);
asmlinkage long sys_close(unsigned int fd);
asmlinkage long sys_execve(const char __user *filename,
		const char __user *const __user *argv,
		const char __user *const __user *envp);
asmlinkage long sys_kill(pid_t pid, int sig);
asmlinkage long sys_fsync(unsigned int fd);
asmlinkage long sys_fdatasync(unsigned int fd);
asmlinkage long sys_exit_group(int error_code);
asmlinkage long sys_openat(int dfd, const char __user *filename, int flags,
			   umode_t mode);

#endif
