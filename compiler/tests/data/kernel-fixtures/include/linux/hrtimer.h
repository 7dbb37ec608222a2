#ifndef STP_FIXTURE_HRTIMER_H
#define STP_FIXTURE_HRTIMER_H
#include <linux/stp_fixture.h>

#define CLOCK_MONOTONIC 1
enum hrtimer_mode { HRTIMER_MODE_ABS, HRTIMER_MODE_REL };
enum hrtimer_restart { HRTIMER_NORESTART, HRTIMER_RESTART };
struct hrtimer {
	enum hrtimer_restart (*function)(struct hrtimer *);
};
#if STP_FIXTURE_AT_LEAST(6, 13)
void hrtimer_setup(struct hrtimer *timer, enum hrtimer_restart (*function)(struct hrtimer *),
		   int clock_id, enum hrtimer_mode mode);
#endif
#if !STP_FIXTURE_AT_LEAST(6, 15)
void hrtimer_init(struct hrtimer *timer, int which_clock, enum hrtimer_mode mode);
#endif
#endif
