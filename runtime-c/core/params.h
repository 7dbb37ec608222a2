/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Script globals as module parameters: `staprun MODULE name=value` (and
 * `stap -G name=value`) sets a long or string scalar global before the
 * module's init runs, as SystemTap's modules do (stap(1) -G, staprun(8)
 * MODULE-OPTIONS). The parameters have no sysfs file (permission 0).
 *
 * Numbers are read as simple_strtoll() reads them, which is what
 * SystemTap 5.1's modules were observed to accept (docs/oracle/FINDINGS.md,
 * "Module options"): a 0x or 0 prefix picks the base, text after the
 * number is ignored, a value past the 64-bit range wraps, and a value
 * with no digit at all (`abc`, empty) is refused with -EINVAL, which
 * fails the load ("Invalid parameters"). Strings are the kernel's own
 * copystring parameters: longer than MAXSTRINGLEN-1 fails with -ENOSPC.
 */
#ifndef STP_PARAMS_H
#define STP_PARAMS_H

#include <linux/moduleparam.h>

static int __maybe_unused stp_param_set_int64(const char *val,
					      const struct kernel_param *kp)
{
	char *end;
	long long v;

	if (!val)
		return -EINVAL;
	v = simple_strtoll(val, &end, 0);
	if (end == val)
		return -EINVAL;
	*(int64_t *)kp->arg = v;
	return 0;
}

static int __maybe_unused stp_param_get_int64(char *buf,
					      const struct kernel_param *kp)
{
	return scnprintf(buf, PAGE_SIZE, "%lld\n", (long long)*(int64_t *)kp->arg);
}

static const struct kernel_param_ops __maybe_unused stp_param_ops_int64 = {
	.set = stp_param_set_int64,
	.get = stp_param_get_int64,
};

/* A long scalar global NAME held in VAR (an int64_t). */
#define STP_GLOBAL_PARAM_LONG(name, var) \
	module_param_cb(name, &stp_param_ops_int64, &(var), 0)
/* A string scalar global NAME held in VAR (char[MAXSTRINGLEN]). */
#define STP_GLOBAL_PARAM_STRING(name, var) \
	module_param_string(name, var, MAXSTRINGLEN, 0)

#endif /* STP_PARAMS_H */
