#ifndef STP_FIXTURE_KPROBES_H
#define STP_FIXTURE_KPROBES_H
#include <linux/stp_fixture.h>

typedef unsigned char kprobe_opcode_t;
struct kprobe {
	kprobe_opcode_t *addr;
	const char *symbol_name;
};
int register_kprobe(struct kprobe *p);
void unregister_kprobe(struct kprobe *p);
#endif
