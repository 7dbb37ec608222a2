/* SPDX-License-Identifier: GPL-2.0-only */
/* STP_HAVE_STRLCPY: strlcpy() still exists (removed for strscpy() in 6.8). */
#include <linux/string.h>

size_t stp_probe(char *dst, const char *src, size_t size);
size_t stp_probe(char *dst, const char *src, size_t size)
{
	return strlcpy(dst, src, size);
}
