/* SPDX-License-Identifier: GPL-2.0-only */
/* STP_HAVE_MODULE_IMPORT_NS_STRING: MODULE_IMPORT_NS() takes a string literal, not a bare identifier (6.13). */
#include <linux/module.h>

/*
 * Both forms accept a string literal (the old one stringifies it again), so
 * look at what the macro hands to MODULE_INFO(): the literal itself, or its
 * quoted spelling.
 */
#undef MODULE_INFO
#define MODULE_INFO(tag, info)                      \
	static const char stp_probe_ns[] = info;    \
	_Static_assert(sizeof(stp_probe_ns) == sizeof("STP_PROBE_NS"), "MODULE_IMPORT_NS() stringifies its argument")

MODULE_IMPORT_NS("STP_PROBE_NS");

const char *stp_probe(void);
const char *stp_probe(void)
{
	return stp_probe_ns;
}
