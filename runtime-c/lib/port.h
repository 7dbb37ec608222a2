/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * port.h - the only place the data library touches its environment.
 *
 * The library is compiled into Linux kernel modules (__KERNEL__ defined) and
 * into user-space unit tests (everything else).  This header maps the few
 * things the library needs - fixed-width integers, memcpy/memset/strlen, and
 * a zeroing allocator used only at module init/exit - onto either world.
 * Nothing else in runtime-c/lib includes a system header.
 */
#ifndef STP_PORT_H
#define STP_PORT_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/string.h>
#include <linux/vmalloc.h>

/* Zeroed allocation; init/exit only, never on the probe path. */
static inline void *stp_alloc_zeroed(size_t size)
{
	return vzalloc(size);
}

/* Releases memory from stp_alloc_zeroed(); NULL is fine. */
static inline void stp_free(void *p)
{
	vfree(p);
}
#else
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Zeroed allocation; init/exit only, never on the probe path. */
static inline void *stp_alloc_zeroed(size_t size)
{
	return calloc(1, size ? size : 1);
}

/* Releases memory from stp_alloc_zeroed(); NULL is fine. */
static inline void stp_free(void *p)
{
	free(p);
}
#endif

/*
 * Every exported function is declared and defined with STP_API.  It is empty
 * by default (external linkage, one object per .c file); a build that
 * #includes the .c files into a single translation unit may define it as
 * "static __maybe_unused" first.
 */
#ifndef STP_API
#define STP_API
#endif

#define STP_INT64_MAX ((int64_t)0x7fffffffffffffffULL)
#define STP_INT64_MIN (-STP_INT64_MAX - 1)

/*
 * Script arithmetic wraps like the kernel's (-fno-strict-overflow) on every
 * compiler; these keep user-space sanitizer builds free of signed-overflow
 * undefined behaviour.
 */
static inline int64_t stp_add64(int64_t a, int64_t b)
{
	return (int64_t)((uint64_t)a + (uint64_t)b);
}

static inline int64_t stp_sub64(int64_t a, int64_t b)
{
	return (int64_t)((uint64_t)a - (uint64_t)b);
}

static inline int64_t stp_mul64(int64_t a, int64_t b)
{
	return (int64_t)((uint64_t)a * (uint64_t)b);
}

static inline int64_t stp_shl64(int64_t a, unsigned int n)
{
	return n >= 64 ? 0 : (int64_t)((uint64_t)a << n);
}

/* a / b truncating toward zero; b != 0; INT64_MIN / -1 gives INT64_MIN. */
static inline int64_t stp_div64(int64_t a, int64_t b)
{
	if (b == -1)
		return stp_sub64(0, a);
	return a / b;
}

/* |v| as an unsigned value, exact for INT64_MIN. */
static inline uint64_t stp_uabs64(int64_t v)
{
	return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
}

#endif /* STP_PORT_H */
