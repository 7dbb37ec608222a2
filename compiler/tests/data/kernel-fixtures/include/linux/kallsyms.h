#ifndef STP_FIXTURE_KALLSYMS_H
#define STP_FIXTURE_KALLSYMS_H
#include <linux/stp_fixture.h>

/* Declared in every version; exported only before 5.7 (see Module.symvers). */
unsigned long kallsyms_lookup_name(const char *name);
#endif
