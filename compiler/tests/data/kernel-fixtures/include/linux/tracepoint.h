#ifndef STP_FIXTURE_TRACEPOINT_H
#define STP_FIXTURE_TRACEPOINT_H
#include <linux/stp_fixture.h>

struct tracepoint {
	const char *name;
};
int tracepoint_probe_register(struct tracepoint *tp, void *probe, void *data);
int tracepoint_probe_unregister(struct tracepoint *tp, void *probe, void *data);
void for_each_kernel_tracepoint(void (*fct)(struct tracepoint *tp, void *priv), void *priv);
#endif
