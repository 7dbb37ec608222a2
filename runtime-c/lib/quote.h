/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * quote.h - quoting of raw memory and of Unicode text, as the
 * conversions tapsets show them: kernel_buffer_quoted() escapes a buffer
 * of known length, NULs included; the *_quoted_utf16/utf32 functions
 * escape decoded text, characters beyond ASCII as \uXXXX or \UXXXXXXXX.
 * Both quote the way string_quoted() does: "text" when it all fits within
 * the limit, else as much as fits and "... after the closing quote.
 */
#ifndef STP_QUOTE_H
#define STP_QUOTE_H

#include "common.h"

/*
 * Quotes len bytes of src into dst (cap bytes), the result at most limit
 * characters (limit <= 0 or beyond cap - 1: cap - 1). Returns its length.
 */
STP_API size_t stp_quote_buffer(char *dst, size_t cap, const char *src, size_t len, int64_t limit);

/* Quotes UTF-8 text (NUL-terminated) into dst, as stp_quote_buffer() limits it. */
STP_API size_t stp_quote_utf8(char *dst, size_t cap, const char *utf8, int64_t limit);

/*
 * Appends code point cp to dst (cap bytes, *len used) in UTF-8; false
 * (and nothing appended) when it does not fit.
 */
STP_API int stp_utf8_append(char *dst, size_t cap, size_t *len, uint32_t cp);

#endif /* STP_QUOTE_H */
