#ifndef STP_FIXTURE_MODULE_H
#define STP_FIXTURE_MODULE_H
#include <linux/stp_fixture.h>

#define __MODULE_INFO(tag, name, info) \
	static const char name[] __attribute__((used, section(".modinfo"), aligned(1))) = #tag "=" info
#define __STP_CAT2(a, b) a##b
#define __STP_CAT(a, b) __STP_CAT2(a, b)
#define MODULE_INFO(tag, info) __MODULE_INFO(tag, __STP_CAT(__stp_modinfo_, __LINE__), info)
#define MODULE_LICENSE(l) MODULE_INFO(license, l)
#define MODULE_DESCRIPTION(d) MODULE_INFO(description, d)
#define __stringify_1(x) #x
#define __stringify(x) __stringify_1(x)
#if STP_FIXTURE_AT_LEAST(6, 13)
#define MODULE_IMPORT_NS(ns) MODULE_INFO(import_ns, ns)
#else
#define MODULE_IMPORT_NS(ns) MODULE_INFO(import_ns, __stringify(ns))
#endif

#if STP_FIXTURE_AT_LEAST(6, 4)
enum mod_mem_type { MOD_TEXT, MOD_DATA, MOD_RODATA, MOD_RO_AFTER_INIT, MOD_MEM_NUM_TYPES };
struct module_memory {
	void *base;
	unsigned int size;
};
#else
struct module_layout {
	void *base;
	unsigned int size;
	unsigned int text_size;
	unsigned int ro_size;
	unsigned int ro_after_init_size;
};
#endif

struct module {
	char name[56];
#if STP_FIXTURE_AT_LEAST(6, 4)
	struct module_memory mem[MOD_MEM_NUM_TYPES];
#else
	struct module_layout core_layout;
#endif
};
#endif
