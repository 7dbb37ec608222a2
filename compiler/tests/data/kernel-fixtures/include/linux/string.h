#ifndef STP_FIXTURE_STRING_H
#define STP_FIXTURE_STRING_H
#include <linux/stp_fixture.h>

ssize_t strscpy(char *dst, const char *src, size_t count);
size_t strlen(const char *s);
void *memcpy(void *dst, const void *src, size_t n);
#if !STP_FIXTURE_AT_LEAST(6, 8)
size_t strlcpy(char *dst, const char *src, size_t size);
#endif
#endif
