/* SPDX-License-Identifier: GPL-2.0-only */
/* STP_HAVE_GET_KRETPROBE_RETADDR: a kretprobe_instance's return address comes from get_kretprobe_retaddr(), not ri->ret_addr (5.19, with rethook). */
#include <linux/kprobes.h>

unsigned long stp_probe(struct kretprobe_instance *ri);
unsigned long stp_probe(struct kretprobe_instance *ri)
{
	return get_kretprobe_retaddr(ri);
}
