/* SPDX-License-Identifier: GPL-2.0-only */
/* STP_HAVE_GET_RANDOM_U32: get_random_u32() (4.11) is the random number API; prandom_u32() went in 6.2. */
#include <linux/random.h>

u32 stp_probe(void);
u32 stp_probe(void)
{
	return get_random_u32();
}
