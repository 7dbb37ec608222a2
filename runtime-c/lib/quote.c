/* SPDX-License-Identifier: GPL-2.0-only */
/* quote.c - see quote.h. */
#include "quote.h"
#include "str.h"

/* One unit of input and its escape. */
struct stp_quote_src {
	const unsigned char *p, *end;
	int utf8;               /* decode UTF-8 and escape code points */
};

/*
 * The escape of the next unit of q into out (at most 11 bytes); its
 * length, 0 at the end. Buffers escape NUL as \0; UTF-8 text escapes a
 * code point past ASCII as \uXXXX (or \UXXXXXXXX beyond the BMP).
 */
static size_t stp_quote_next(struct stp_quote_src *q, char out[12], const unsigned char **next)
{
	static const char hex[] = "0123456789ABCDEF";
	uint32_t cp;
	size_t n, i, digits;
	unsigned char c;

	if (q->p >= q->end)
		return 0;
	c = *q->p;
	*next = q->p + 1;
	if (!q->utf8 || c < 0x80) {
		if (c == 0) {
			out[0] = '\\';
			out[1] = '0';
			return 2;
		}
		return stp_escape_char(c, out);
	}
	/* A lead byte and its continuation bytes (the decoder wrote them). */
	n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
	cp = c & (0x7f >> n);
	for (i = 1; i < n && q->p + i < q->end; i++)
		cp = (cp << 6) | (q->p[i] & 0x3f);
	*next = q->p + i;
	digits = cp > 0xffff ? 8 : 4;
	out[0] = '\\';
	out[1] = digits == 8 ? 'U' : 'u';
	for (i = 0; i < digits; i++)
		out[2 + i] = hex[(cp >> (4 * (digits - 1 - i))) & 0xf];
	return 2 + digits;
}

static size_t stp_quote(char *dst, size_t cap, struct stp_quote_src q, int64_t limit_in)
{
	struct stp_out o;
	struct stp_quote_src scan = q;
	const unsigned char *next = NULL;
	uint64_t limit, total = 0, budget;
	char e[12];
	size_t n;

	if (cap == 0)
		return 0;
	stp_out_init(&o, dst, cap);
	limit = (limit_in <= 0 || (uint64_t)limit_in > cap - 1) ? cap - 1 : (uint64_t)limit_in;
	/* Does the whole escaped text fit between the quotes? */
	while ((n = stp_quote_next(&scan, e, &next)) && total + n + 2 <= limit) {
		total += n;
		scan.p = next;
	}
	budget = scan.p >= scan.end ? limit - 1 : (limit >= 5 ? limit - 4 : 1);
	stp_out_putc(&o, '"');
	while ((n = stp_quote_next(&q, e, &next)) && o.len + n <= budget) {
		stp_out_write(&o, e, n);
		q.p = next;
	}
	if (scan.p >= scan.end)
		stp_out_putc(&o, '"');
	else
		stp_out_write(&o, "\"...", 4);
	stp_out_finish(&o);
	return o.len < cap ? (size_t)o.len : cap - 1;
}

STP_API size_t stp_quote_buffer(char *dst, size_t cap, const char *src, size_t len, int64_t limit)
{
	struct stp_quote_src q = { (const unsigned char *)src, (const unsigned char *)src + len, 0 };

	return stp_quote(dst, cap, q, limit);
}

STP_API size_t stp_quote_utf8(char *dst, size_t cap, const char *utf8, int64_t limit)
{
	struct stp_quote_src q = { (const unsigned char *)utf8, (const unsigned char *)utf8 + strlen(utf8), 1 };

	return stp_quote(dst, cap, q, limit);
}

STP_API int stp_utf8_append(char *dst, size_t cap, size_t *len, uint32_t cp)
{
	unsigned char b[4];
	size_t n, i;

	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | (cp >> 6));
		b[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | (cp >> 12));
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | (cp >> 18));
		b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	if (*len + n + 1 > cap)
		return 0;
	for (i = 0; i < n; i++)
		dst[(*len)++] = (char)b[i];
	dst[*len] = '\0';
	return 1;
}
