#ifndef STP_FIXTURE_RANDOM_H
#define STP_FIXTURE_RANDOM_H
#include <linux/stp_fixture.h>

#if STP_FIXTURE_AT_LEAST(4, 11)
u32 get_random_u32(void);
#endif
#if !STP_FIXTURE_AT_LEAST(6, 2)
u32 prandom_u32(void);
#endif
#endif
