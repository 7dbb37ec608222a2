/* SPDX-License-Identifier: GPL-2.0-only */
/* STP_HAVE_GUP_REMOTE_NOVMAS: get_user_pages_remote() lost its vmas argument too (6.5). */
#include <linux/mm.h>

typedef long (*stp_gup_fn)(struct mm_struct *, unsigned long, unsigned long, unsigned int,
			   struct page **, int *);
stp_gup_fn stp_probe(void);
stp_gup_fn stp_probe(void)
{
	return get_user_pages_remote;
}
