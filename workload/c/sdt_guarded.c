/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A marker guarded by its semaphore, as dtrace -G makes them: the
 * program runs the marker's code only while the semaphore is non-zero,
 * which the kernel makes it while a probe is registered on the marker.
 */
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>

__extension__ unsigned short stapkit_guarded_semaphore __attribute__((unused))
	__attribute__((section(".probes")));

void stapkit_sdt_guarded(long n);

void stapkit_sdt_guarded(long n)
{
	if (__builtin_expect(stapkit_guarded_semaphore, 0))
		STAP_PROBE2(stapkit, guarded, n, stapkit_guarded_semaphore);
}
