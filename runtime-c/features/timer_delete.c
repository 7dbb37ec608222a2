/* SPDX-License-Identifier: GPL-2.0-only */
/* STP_HAVE_TIMER_DELETE: del_timer{,_sync}() became timer_delete{,_sync}() (6.2; the old names went in 6.15). */
#include <linux/timer.h>

int stp_probe(struct timer_list *t);
int stp_probe(struct timer_list *t)
{
	return timer_delete(t) + timer_delete_sync(t);
}
