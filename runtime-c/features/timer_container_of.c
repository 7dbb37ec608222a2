/* SPDX-License-Identifier: GPL-2.0-only */
/* STP_HAVE_TIMER_CONTAINER_OF: from_timer() was renamed timer_container_of() (6.16). */
#include <linux/timer.h>

struct stp_probe_holder {
	int pad;
	struct timer_list timer;
};
struct stp_probe_holder *stp_probe(struct timer_list *t);
struct stp_probe_holder *stp_probe(struct timer_list *t)
{
	struct stp_probe_holder *h = timer_container_of(h, t, timer);

	return h;
}
