#ifndef STP_FIXTURE_UACCESS_H
#define STP_FIXTURE_UACCESS_H
#include <linux/stp_fixture.h>

int stp_fixture_range_ok(const void __user *addr, unsigned long size);
#if STP_FIXTURE_AT_LEAST(5, 0)
#define access_ok(addr, size) stp_fixture_range_ok(addr, size)
#else
#define VERIFY_READ 0
#define VERIFY_WRITE 1
#define access_ok(type, addr, size) ((void)(type), stp_fixture_range_ok(addr, size))
#endif
void pagefault_disable(void);
void pagefault_enable(void);
#if STP_FIXTURE_AT_LEAST(5, 8)
long copy_from_kernel_nofault(void *dst, const void *src, size_t size);
long copy_from_user_nofault(void *dst, const void __user *src, size_t size);
int stp_fixture_put_nofault(void *dst, const void *src, size_t size);
#define __put_kernel_nofault(dst, src, type, label)                          \
	do {                                                                 \
		if (stp_fixture_put_nofault((dst), (src), sizeof(type)))      \
			goto label;                                          \
	} while (0)
#else
long probe_kernel_read(void *dst, const void *src, size_t size);
long probe_user_read(void *dst, const void __user *src, size_t size);
long probe_kernel_write(void *dst, const void *src, size_t size);
#endif
#endif
