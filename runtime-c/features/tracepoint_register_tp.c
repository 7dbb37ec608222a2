/* SPDX-License-Identifier: GPL-2.0-only */
/* STP_HAVE_TRACEPOINT_REGISTER_TP: tracepoints register by struct tracepoint *, found with for_each_kernel_tracepoint(), not by name (3.15). */
#include <linux/tracepoint.h>

void stp_probe_each(struct tracepoint *tp, void *priv);
void stp_probe_each(struct tracepoint *tp, void *priv)
{
	(void)tp;
	(void)priv;
}

int stp_probe(struct tracepoint *tp, void *fn);
int stp_probe(struct tracepoint *tp, void *fn)
{
	for_each_kernel_tracepoint(stp_probe_each, NULL);
	return tracepoint_probe_register(tp, fn, NULL);
}
