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

struct kretprobe {
	struct kprobe kp;
};
struct kretprobe_instance {
#if STP_FIXTURE_AT_LEAST(5, 11)
	struct kretprobe *rph;
#else
	struct kretprobe *rp;
#endif
	kprobe_opcode_t *ret_addr;
};
#if STP_FIXTURE_AT_LEAST(5, 11)
static inline struct kretprobe *get_kretprobe(struct kretprobe_instance *ri)
{
	return ri->rph;
}
#endif
#if STP_FIXTURE_AT_LEAST(5, 19)
static inline unsigned long get_kretprobe_retaddr(struct kretprobe_instance *ri)
{
	return (unsigned long)ri->ret_addr;
}
#endif
#endif
