/* SPDX-License-Identifier: GPL-2.0-only */
/* STP_HAVE_COPY_FROM_KERNEL_NOFAULT: probe_kernel_read() was renamed copy_from_kernel_nofault() (5.8). */
#include <linux/uaccess.h>

long stp_probe(void *dst, const void *src, size_t size);
long stp_probe(void *dst, const void *src, size_t size)
{
	return copy_from_kernel_nofault(dst, src, size);
}
