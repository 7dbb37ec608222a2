/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * str.h - SystemTap's string operations on fixed-size buffers.
 * (Named str.h, not string.h, so it can never shadow <string.h>.)
 *
 * Script strings live in buffers of MAXSTRINGLEN bytes including the NUL;
 * every function that produces a string takes the destination and its
 * capacity `cap` (bytes including the NUL, normally MAXSTRINGLEN) and
 * silently truncates, as SystemTap does.  `cap` may be 0 (nothing written).
 * Inputs must be NUL-terminated.  Unless noted, dst may not overlap inputs.
 */
#ifndef STP_STR_H
#define STP_STR_H

#include "common.h"

/* Copies src into dst, truncating to cap-1 bytes; overlap allowed; returns length. */
STP_API size_t stp_strlcpy(char *dst, const char *src, size_t cap);

/* Appends src to dst (the "." and ".=" operators), truncating; overlap allowed; returns length. */
STP_API size_t stp_strlcat(char *dst, const char *src, size_t cap);

/* strlen(): number of bytes before the NUL. */
STP_API int64_t stp_strlen(const char *s);

/* Byte-wise comparison as unsigned chars (script < <= == != >= >): <0, 0, >0. */
STP_API int stp_strcmp(const char *a, const char *b);

/* substr(s, start, length): "" if start < 0, start >= strlen or length <= 0; overlap allowed. */
STP_API size_t stp_substr(char *dst, size_t cap, const char *s, int64_t start, int64_t length);

/* isinstr(s1, s2): 1 if s2 occurs in s1 (an empty s2 always does), else 0. */
STP_API int64_t stp_isinstr(const char *s1, const char *s2);

/* strpos(s1, s2): index of the first occurrence of s2 in s1, or -1. */
STP_API int64_t stp_strpos(const char *s1, const char *s2);

/* stringat(s, pos): *out = byte at pos (0..255); STP_E_RANGE if pos < 0 or pos >= strlen. */
STP_API int stp_stringat(const char *s, int64_t pos, int64_t *out);

/* strtol(s, base): kernel simple_strtoll rules (see README); STP_E_INVAL unless base is 0 or 2..36. */
STP_API int stp_strtol(const char *s, int64_t base, int64_t *out);

/* isdigit(s): 1 if the first byte is '0'..'9', else 0. */
STP_API int64_t stp_isdigit(const char *s);

/* str_replace(src, search, repl): every non-overlapping search replaced, left to right; returns length. */
STP_API size_t stp_str_replace(char *dst, size_t cap, const char *src, const char *search,
			       const char *repl);

/* Per-context state of tokenize(): a private copy of the input and a cursor. */
struct stp_tokenize_state {
	char *buf;
	size_t cap;
	size_t pos;
};

/* Binds tokenize state to caller storage of cap bytes (normally MAXSTRINGLEN). */
STP_API void stp_tokenize_init(struct stp_tokenize_state *st, char *storage, size_t cap);

/* tokenize(input, delim): next non-empty token; a non-empty input restarts; "" when exhausted. */
STP_API size_t stp_tokenize(char *dst, size_t cap, const char *input, const char *delim,
			    struct stp_tokenize_state *st);

/* Escape of one byte as text_str() writes it (1-4 bytes, not NUL-terminated); returns its length. */
STP_API size_t stp_escape_char(unsigned char c, char out[4]);

/* text_strn(s, len, quoted): escaped copy of at most len bytes (len 0: cap-1); see README. */
STP_API size_t stp_text_strn(char *dst, size_t cap, const char *s, int64_t len, int quoted);

/* text_str(s): text_strn(s, 0, 0). */
STP_API size_t stp_text_str(char *dst, size_t cap, const char *s);

/* string_quoted(s): text_strn(s, 0, 1). */
STP_API size_t stp_string_quoted(char *dst, size_t cap, const char *s);

/* Decimal text of a long, as print()/sprint()/"." write it; returns length. */
STP_API size_t stp_long_to_str(char *dst, size_t cap, int64_t v);

#endif /* STP_STR_H */
