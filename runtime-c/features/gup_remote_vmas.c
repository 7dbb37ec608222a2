/* SPDX-License-Identifier: GPL-2.0-only */
/* STP_HAVE_GUP_REMOTE_VMAS: get_user_pages_remote() lost its task argument but kept vmas (5.9 to 6.4). */
#include <linux/mm.h>

typedef long (*stp_gup_fn)(struct mm_struct *, unsigned long, unsigned long, unsigned int,
			   struct page **, struct vm_area_struct **, int *);
stp_gup_fn stp_probe(void);
stp_gup_fn stp_probe(void)
{
	return get_user_pages_remote;
}
