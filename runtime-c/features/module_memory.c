/* SPDX-License-Identifier: GPL-2.0-only */
/* STP_HAVE_MODULE_MEMORY: a module's text and data sizes moved from core_layout into mem[] (6.4). */
#include <linux/module.h>

unsigned int stp_probe(struct module *m);
unsigned int stp_probe(struct module *m)
{
	return m->mem[MOD_TEXT].size + m->mem[MOD_DATA].size;
}
