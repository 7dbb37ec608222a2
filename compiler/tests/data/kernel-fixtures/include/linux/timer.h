#ifndef STP_FIXTURE_TIMER_H
#define STP_FIXTURE_TIMER_H
#include <linux/stp_fixture.h>

struct timer_list {
	unsigned long expires;
	void (*function)(struct timer_list *);
	u32 flags;
};
void timer_setup(struct timer_list *timer, void (*callback)(struct timer_list *), unsigned int flags);
#if STP_FIXTURE_AT_LEAST(6, 16)
#define timer_container_of(var, callback_timer, timer_fieldname) \
	container_of(callback_timer, __typeof__(*var), timer_fieldname)
#else
#define from_timer(var, callback_timer, timer_fieldname) \
	container_of(callback_timer, __typeof__(*var), timer_fieldname)
#endif
#if STP_FIXTURE_AT_LEAST(6, 2)
int timer_delete(struct timer_list *timer);
int timer_delete_sync(struct timer_list *timer);
#endif
#if !STP_FIXTURE_AT_LEAST(6, 15)
int del_timer(struct timer_list *timer);
int del_timer_sync(struct timer_list *timer);
#endif
#endif
