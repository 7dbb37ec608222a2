/* SPDX-License-Identifier: GPL-2.0-only */
/* STP_HAVE_HRTIMER_SETUP: hrtimer_setup() replaced hrtimer_init() plus setting .function (6.13; hrtimer_init went in 6.15). */
#include <linux/hrtimer.h>

void stp_probe(struct hrtimer *t, enum hrtimer_restart (*fn)(struct hrtimer *));
void stp_probe(struct hrtimer *t, enum hrtimer_restart (*fn)(struct hrtimer *))
{
	hrtimer_setup(t, fn, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
}
