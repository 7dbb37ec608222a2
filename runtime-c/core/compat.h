/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Kernel API differences, hidden behind one spelling each. The STP_HAVE_*
 * macros come from stp_features.h, written per target tree by compiling
 * feature probes against it.
 */
#ifndef STP_CORE_COMPAT_H
#define STP_CORE_COMPAT_H

/* hrtimer_setup() replaced hrtimer_init() + .function (6.13). */
#ifdef STP_HAVE_HRTIMER_SETUP
#define stp_hrtimer_setup(t, fn, mode) hrtimer_setup((t), (fn), CLOCK_MONOTONIC, (mode))
#else
#define stp_hrtimer_setup(t, fn, mode)                       \
	do {                                                 \
		hrtimer_init((t), CLOCK_MONOTONIC, (mode));  \
		(t)->function = (fn);                        \
	} while (0)
#endif

/*
 * The kretprobe an instance belongs to: get_kretprobe() since 5.11 (when
 * kretprobe instances moved to rethook), ri->rp before.
 * FIXME: select with a feature probe (STP_HAVE_GET_KRETPROBE) once the
 * feature-probe framework lands, instead of the version number.
 */
#if defined(STP_HAVE_GET_KRETPROBE) || LINUX_VERSION_CODE >= KERNEL_VERSION(5, 11, 0)
#define stp_kretprobe_of(ri) get_kretprobe(ri)
#else
#define stp_kretprobe_of(ri) ((ri)->rp)
#endif

#endif /* STP_CORE_COMPAT_H */
