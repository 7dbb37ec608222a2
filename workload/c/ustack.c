/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * stapkit-ustack: a C program built with -O2 -fomit-frame-pointer whose
 * stack the user-stack tests walk (tests/scripts/ustack.stp): main calls
 * stapkit_ustack_outer, which calls stapkit_ustack_middle (a frame of its
 * own on the stack, so only its call-frame information finds the caller),
 * which calls stapkit_ustack_inner. Without frame pointers a walker must
 * use .eh_frame.
 *
 *   stapkit-ustack [N]    runs the chain N times (default 1)
 */
#include <stdlib.h>

/* Keeps the compiler from folding a value away. */
#define KEEP(x) __asm__ volatile("" : "+r"(x))

__attribute__((noinline)) int stapkit_ustack_inner(int x)
{
	KEEP(x);
	return x * 3 + 1;
}

__attribute__((noinline)) int stapkit_ustack_middle(int x)
{
	volatile int scratch[16];
	int i, r;

	for (i = 0; i < 16; i++)
		scratch[i] = x + i;
	r = stapkit_ustack_inner(scratch[x & 15]);
	KEEP(r);
	return r + scratch[3];
}

__attribute__((noinline)) int stapkit_ustack_outer(int x)
{
	int r = stapkit_ustack_middle(x + 1);

	KEEP(r);
	return r - 1;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1, i, sum = 0;

	for (i = 0; i < n; i++)
		sum += stapkit_ustack_outer(i);
	return sum == -1;
}
