/* SPDX-License-Identifier: GPL-2.0-only */
/* STP_HAVE_TIMER_SETUP: timer_setup() with a struct timer_list * callback replaced setup_timer() (4.15). */
#include <linux/timer.h>

void stp_probe(struct timer_list *t, void (*fn)(struct timer_list *));
void stp_probe(struct timer_list *t, void (*fn)(struct timer_list *))
{
	timer_setup(t, fn, 0);
}
