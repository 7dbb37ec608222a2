/* SPDX-License-Identifier: GPL-2.0-only */
/* STP_HAVE_COPY_FROM_USER_NOFAULT: probe_user_read() was renamed copy_from_user_nofault() (5.8). */
#include <linux/uaccess.h>

long stp_probe(void *dst, const void __user *src, size_t size);
long stp_probe(void *dst, const void __user *src, size_t size)
{
	return copy_from_user_nofault(dst, src, size);
}
