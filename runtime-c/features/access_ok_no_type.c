/* SPDX-License-Identifier: GPL-2.0-only */
/* STP_HAVE_ACCESS_OK_NO_TYPE: access_ok() lost its VERIFY_READ/VERIFY_WRITE argument (5.0). */
#include <linux/uaccess.h>

int stp_probe(const void __user *p, unsigned long n);
int stp_probe(const void __user *p, unsigned long n)
{
	return access_ok(p, n);
}
