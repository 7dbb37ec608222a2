// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_quote.c - quoting of buffers and of Unicode text.
 *
 * oracle.* are SystemTap 5.1's output of the same calls on Debian's 6.1
 * kernel (kernel_buffer_quoted, kernel_string_quoted_utf16/32 in
 * docs/oracle/outputs/trixie-debian-6.1-amd64/tapset_context.out).
 */
#include "../lib/quote.h"
#include "check.h"

static char buf[128];

static void buffer(const char *name, const char *src, size_t len, int64_t limit, const char *want)
{
	stp_quote_buffer(buf, sizeof(buf), src, len, limit);
	check_str(name, buf, want);
}

static void utf8(const char *name, const char *src, int64_t limit, const char *want)
{
	stp_quote_utf8(buf, sizeof(buf), src, limit);
	check_str(name, buf, want);
}

int main(void)
{
	static const char hello[20] = "hello\n\aworld";
	size_t len = 0;
	char small[4];

	buffer("oracle.buffer-8", hello, 8, 0, "\"hello\\n\\aw\"");
	buffer("oracle.buffer-20-10", hello, 20, 10, "\"hello\"...");
	buffer("oracle.buffer-20-4", hello, 20, 4, "\"\"...");
	buffer("oracle.buffer-nuls", hello, 14, 40, "\"hello\\n\\aworld\\0\\0\"");
	buffer("buffer.empty", hello, 0, 0, "\"\"");
	/* 127 characters at most in 128 bytes: 122 of the 130 and the quotes and dots. */
	buffer("buffer.cap", "0123456789012345678901234567890123456789012345678901234567890123456789"
	       "012345678901234567890123456789012345678901234567890123456789", 130, 0,
	       "\"0123456789012345678901234567890123456789012345678901234567890123456789"
	       "0123456789012345678901234567890123456789012345678901\"...");
	utf8("oracle.utf16", "h\xc3\xa9\xf0\x9f\x98\x80\n", 0, "\"h\\u00E9\\U0001F600\\n\"");
	utf8("oracle.utf32", "h\xf0\x9f\x98\x80\x7f", 0, "\"h\\U0001F600\\177\"");
	utf8("utf8.cut-whole-escapes", "\xc3\xa9\xc3\xa9", 12, "\"\\u00E9\"...");
	check_int("append.one", stp_utf8_append(small, sizeof(small), &len, 0xe9), 1);
	check_int("append.two-bytes", (int)len, 2);
	check_int("append.full", stp_utf8_append(small, sizeof(small), &len, 0x1f600), 0);
	check_int("append.kept", (int)len, 2);
	return check_summary("test_quote");
}
