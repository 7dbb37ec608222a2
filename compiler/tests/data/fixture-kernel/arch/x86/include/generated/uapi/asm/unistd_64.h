#ifndef _ASM_UNISTD_64_H
#define _ASM_UNISTD_64_H
#define __NR_read 0
#define __NR_write 1
#define __NR_close 3
#define __NR_execve 59
#define __NR_kill 62
#define __NR_fsync 74
#define __NR_fdatasync 75
#define __NR_exit_group 231
#define __NR_openat 257
#endif
