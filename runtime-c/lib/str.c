// SPDX-License-Identifier: GPL-2.0-only
/*
 * str.c - SystemTap's string tapset functions on bounded buffers.
 *
 * All loops are bounded by the input lengths; nothing allocates.
 */
#include "str.h"

STP_API size_t stp_strlcpy(char *dst, const char *src, size_t cap)
{
	size_t n;

	if (cap == 0)
		return 0;
	n = strlen(src);
	if (n > cap - 1)
		n = cap - 1;
	memmove(dst, src, n);
	dst[n] = '\0';
	return n;
}

STP_API size_t stp_strlcat(char *dst, const char *src, size_t cap)
{
	size_t dlen, slen;

	if (cap == 0)
		return 0;
	dlen = strlen(dst);
	if (dlen > cap - 1)
		dlen = cap - 1;
	slen = strlen(src);
	if (slen > cap - 1 - dlen)
		slen = cap - 1 - dlen;
	memmove(dst + dlen, src, slen);
	dst[dlen + slen] = '\0';
	return dlen + slen;
}

STP_API int64_t stp_strlen(const char *s)
{
	return (int64_t)strlen(s);
}

STP_API int stp_strcmp(const char *a, const char *b)
{
	const unsigned char *x = (const unsigned char *)a;
	const unsigned char *y = (const unsigned char *)b;

	while (*x && *x == *y) {
		x++;
		y++;
	}
	return (int)*x - (int)*y;
}

STP_API size_t stp_substr(char *dst, size_t cap, const char *s, int64_t start, int64_t length)
{
	uint64_t slen = strlen(s);
	uint64_t n;

	if (cap == 0)
		return 0;
	if (start < 0 || length <= 0 || (uint64_t)start >= slen) {
		dst[0] = '\0';
		return 0;
	}
	n = slen - (uint64_t)start;
	if ((uint64_t)length < n)
		n = (uint64_t)length;
	if (n > cap - 1)
		n = cap - 1;
	memmove(dst, s + start, (size_t)n);
	dst[n] = '\0';
	return (size_t)n;
}

/* Index of the first occurrence of needle in hay, or -1. */
static int64_t stp_str_find(const char *hay, const char *needle)
{
	size_t hlen = strlen(hay);
	size_t nlen = strlen(needle);
	size_t i;

	if (nlen == 0)
		return 0;
	if (nlen > hlen)
		return -1;
	for (i = 0; i + nlen <= hlen; i++)
		if (hay[i] == needle[0] && memcmp(hay + i, needle, nlen) == 0)
			return (int64_t)i;
	return -1;
}

STP_API int64_t stp_isinstr(const char *s1, const char *s2)
{
	return stp_str_find(s1, s2) >= 0;
}

STP_API int64_t stp_strpos(const char *s1, const char *s2)
{
	return stp_str_find(s1, s2);
}

STP_API int stp_stringat(const char *s, int64_t pos, int64_t *out)
{
	if (pos < 0 || (uint64_t)pos >= (uint64_t)strlen(s)) {
		*out = 0;
		return STP_E_RANGE;
	}
	*out = (unsigned char)s[pos];
	return STP_OK;
}

static int stp_digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 10;
	return 99;
}

STP_API int stp_strtol(const char *s, int64_t base, int64_t *out)
{
	uint64_t v = 0;
	int neg = 0;
	int d;

	*out = 0;
	if (base != 0 && (base < 2 || base > 36))
		return STP_E_INVAL;
	if (*s == '-') {
		neg = 1;
		s++;
	}
	if (base == 0) {
		if (s[0] == '0') {
			if ((s[1] == 'x' || s[1] == 'X') && stp_digit_value(s[2]) < 16)
				base = 16;
			else
				base = 8;
		} else {
			base = 10;
		}
	}
	if (base == 16 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	for (; *s; s++) {
		d = stp_digit_value(*s);
		if (d >= base)
			break;
		v = v * (uint64_t)base + (uint64_t)d;
	}
	*out = neg ? (int64_t)((uint64_t)0 - v) : (int64_t)v;
	return STP_OK;
}

STP_API int64_t stp_isdigit(const char *s)
{
	return s[0] >= '0' && s[0] <= '9';
}

STP_API size_t stp_str_replace(char *dst, size_t cap, const char *src, const char *search,
			       const char *repl)
{
	struct stp_out o;
	size_t slen = strlen(search);
	size_t rlen = strlen(repl);

	stp_out_init(&o, dst, cap);
	if (slen == 0) {
		stp_out_write(&o, src, strlen(src));
	} else {
		while (*src && stp_out_room(&o)) {
			if (*src == *search && strncmp(src, search, slen) == 0) {
				stp_out_write(&o, repl, rlen);
				src += slen;
			} else {
				stp_out_putc(&o, *src++);
			}
		}
	}
	stp_out_finish(&o);
	return o.len < cap ? (size_t)o.len : (cap ? cap - 1 : 0);
}

STP_API void stp_tokenize_init(struct stp_tokenize_state *st, char *storage, size_t cap)
{
	st->buf = storage;
	st->cap = cap;
	st->pos = 0;
	if (cap)
		storage[0] = '\0';
}

STP_API size_t stp_tokenize(char *dst, size_t cap, const char *input, const char *delim,
			    struct stp_tokenize_state *st)
{
	size_t start, end;
	size_t n;

	if (input[0] != '\0' && st->cap) {
		stp_strlcpy(st->buf, input, st->cap);
		st->pos = 0;
	}
	if (st->cap == 0 || st->buf == NULL) {
		if (cap)
			dst[0] = '\0';
		return 0;
	}
	start = st->pos;
	while (st->buf[start] && strchr(delim, st->buf[start]))
		start++;
	end = start;
	while (st->buf[end] && !strchr(delim, st->buf[end]))
		end++;
	st->pos = st->buf[end] ? end + 1 : end;
	if (cap == 0)
		return 0;
	n = end - start;
	if (n > cap - 1)
		n = cap - 1;
	memmove(dst, st->buf + start, n);
	dst[n] = '\0';
	return n;
}

STP_API size_t stp_escape_char(unsigned char c, char out[4])
{
	char e = 0;

	switch (c) {
	case '\a':
		e = 'a';
		break;
	case '\b':
		e = 'b';
		break;
	case '\f':
		e = 'f';
		break;
	case '\n':
		e = 'n';
		break;
	case '\r':
		e = 'r';
		break;
	case '\t':
		e = 't';
		break;
	case '\v':
		e = 'v';
		break;
	case '"':
	case '\'':
	case '\\':
		e = (char)c;
		break;
	default:
		break;
	}
	if (e) {
		out[0] = '\\';
		out[1] = e;
		return 2;
	}
	if (c >= 0x20 && c < 0x7f) {
		out[0] = (char)c;
		return 1;
	}
	out[0] = '\\';
	out[1] = (char)('0' + ((c >> 6) & 7));
	out[2] = (char)('0' + ((c >> 3) & 7));
	out[3] = (char)('0' + (c & 7));
	return 4;
}

/* Appends escaped bytes of s, whole escapes only, while the total stays <= limit. */
static const char *stp_escape_into(struct stp_out *o, const char *s, uint64_t limit)
{
	char e[4];
	size_t n;

	while (*s) {
		n = stp_escape_char((unsigned char)*s, e);
		if (o->len + n > limit)
			break;
		stp_out_write(o, e, n);
		s++;
	}
	return s;
}

STP_API size_t stp_text_strn(char *dst, size_t cap, const char *s, int64_t len, int quoted)
{
	struct stp_out o;
	uint64_t limit;
	uint64_t total = 0;
	const char *p;
	char e[4];

	stp_out_init(&o, dst, cap);
	if (cap == 0)
		return 0;
	limit = (len <= 0 || (uint64_t)len > cap - 1) ? cap - 1 : (uint64_t)len;
	if (!quoted) {
		stp_escape_into(&o, s, limit);
	} else {
		/* Does the whole escaped text fit between the quotes? */
		for (p = s; *p && total + 2 <= limit; p++)
			total += stp_escape_char((unsigned char)*p, e);
		if (*p == '\0' && total + 2 <= limit) {
			stp_out_putc(&o, '"');
			stp_escape_into(&o, s, limit);
			stp_out_putc(&o, '"');
		} else {
			stp_out_putc(&o, '"');
			stp_escape_into(&o, s, limit >= 5 ? limit - 4 : 1);
			stp_out_write(&o, "\"...", 4);
		}
	}
	stp_out_finish(&o);
	return o.len < cap ? (size_t)o.len : cap - 1;
}

STP_API size_t stp_text_str(char *dst, size_t cap, const char *s)
{
	return stp_text_strn(dst, cap, s, 0, 0);
}

STP_API size_t stp_string_quoted(char *dst, size_t cap, const char *s)
{
	return stp_text_strn(dst, cap, s, 0, 1);
}

STP_API size_t stp_long_to_str(char *dst, size_t cap, int64_t v)
{
	char tmp[24];
	uint64_t u = stp_uabs64(v);
	size_t i = 0;
	struct stp_out o;

	do {
		tmp[i++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	stp_out_init(&o, dst, cap);
	if (v < 0)
		stp_out_putc(&o, '-');
	while (i)
		stp_out_putc(&o, tmp[--i]);
	stp_out_finish(&o);
	return o.len < cap ? (size_t)o.len : (cap ? cap - 1 : 0);
}
