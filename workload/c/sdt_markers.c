/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SDT markers for the guests' process("...").mark(...) tests, through
 * <sys/sdt.h>. Built at -O0 so that arguments are in memory (amd64
 * "-4@-20(%rbp)", arm64 "-4@[sp, 12]"); stapkit_sdt_registers is built
 * at -O2, so its arguments are registers and constants. The guarded
 * marker is in sdt_guarded.c, whose markers all have semaphores.
 */
#include <sys/sdt.h>

void stapkit_sdt_guarded(long n);

__attribute__((optimize("O2"), noinline)) void stapkit_sdt_registers(long n, const char *text)
{
	/* n and n * 3 stay in registers; 42 is a constant. */
	STAP_PROBE4(stapkit, registers, n, n * 3, 42, text);
	__asm__ volatile("" ::: "memory");
}

void stapkit_workload_sdt(long n, const char *text)
{
	signed char c = (signed char)-n;
	unsigned short us = (unsigned short)(60000 + n);
	short s = (short)(-300 * n);
	int i = (int)(-70000 * n);
	unsigned int u = 4000000000u + (unsigned int)n;
	long long ll = -5000000000LL * n;

	STAP_PROBE(stapkit, none);
	STAP_PROBE7(stapkit, sizes, c, us, s, i, u, ll, text);
	stapkit_sdt_registers(n, text);
	stapkit_sdt_guarded(n);
}
