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
#endif
