/* SPDX-License-Identifier: GPL-2.0-only */
/* STP_HAVE_GET_KRETPROBE: a kretprobe_instance's kretprobe comes from get_kretprobe(), not ri->rp (5.11). */
#include <linux/kprobes.h>

struct kretprobe *stp_probe(struct kretprobe_instance *ri);
struct kretprobe *stp_probe(struct kretprobe_instance *ri)
{
	return get_kretprobe(ri);
}
