/* Base types and macros of the fixture kernel (see ../../fixture.mk). */
#ifndef STP_FIXTURE_H
#define STP_FIXTURE_H

#define KERNEL_VERSION(a, b, c) (((a) << 16) + ((b) << 8) + (c))
#define STP_FIXTURE_AT_LEAST(a, b) (STP_FIXTURE_VERSION >= (a) * 10000 + (b) * 100)

typedef unsigned long size_t;
typedef long ssize_t;
typedef long long loff_t;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef unsigned short umode_t;
typedef _Bool bool;
#define true 1
#define false 0
#define NULL ((void *)0)
#define __user
#define __maybe_unused __attribute__((unused))
#define __init
#define __exit
#define READ_ONCE(x) (*(const volatile __typeof__(x) *)&(x))
#define offsetof(t, m) __builtin_offsetof(t, m)
#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))
#define EINVAL 22
#define ENOENT 2
#define EFAULT 14

struct module;
extern struct module __this_module;
#define THIS_MODULE (&__this_module)

struct task_struct;
struct inode;
struct file;
struct page;

size_t strlen(const char *s);
void *memcpy(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
int printk(const char *fmt, ...);

#endif
