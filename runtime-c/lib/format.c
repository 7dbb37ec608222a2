// SPDX-License-Identifier: GPL-2.0-only
/*
 * format.c - SystemTap printf conversions written from the documented
 * behaviour (stap(1), the language reference and observed output; see
 * README.md), into a bounded buffer.
 *
 * Every padding run is written with one bounded memset and counted
 * arithmetically, so a huge width or precision costs O(buffer), never
 * O(width).
 */
#include "format.h"
#include "str.h"

#define STP_F_LEFT 0x01
#define STP_F_PLUS 0x02
#define STP_F_SPACE 0x04
#define STP_F_SPECIAL 0x08
#define STP_F_ZEROPAD 0x10

/* Widths/precisions beyond this are clamped (keeps all counts in range). */
#define STP_FMT_MAX_FIELD 0x7fffffffLL

/* Bytes of memory read per chunk for %m/%M. */
#define STP_FMT_MEM_CHUNK 32

struct stp_fmt_spec {
	unsigned int flags;
	int64_t width;		/* -1: none */
	int64_t prec;		/* -1: none */
};

static int64_t stp_fmt_clamp(int64_t v)
{
	return v > STP_FMT_MAX_FIELD ? STP_FMT_MAX_FIELD : v;
}

/* Integer conversion with kernel number() layout. */
static void stp_fmt_number(struct stp_out *o, uint64_t mag, int neg, unsigned int base, int upper,
			   int is_signed, const struct stp_fmt_spec *sp)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	unsigned int flags = sp->flags;
	int ndig = 0;
	char sign = 0;
	const char *prefix = "";
	int64_t zeros, body, pad;

	do {
		tmp[ndig++] = digits[mag % base];
		mag /= base;
	} while (mag);

	if (is_signed) {
		if (neg)
			sign = '-';
		else if (flags & STP_F_PLUS)
			sign = '+';
		else if (flags & STP_F_SPACE)
			sign = ' ';
	}
	if (flags & STP_F_SPECIAL) {
		if (base == 16)
			prefix = upper ? "0X" : "0x";
		else if (base == 8 && !(ndig == 1 && tmp[0] == '0'))
			prefix = "0";
	}
	if (flags & STP_F_LEFT)
		flags &= ~STP_F_ZEROPAD;

	zeros = sp->prec > ndig ? sp->prec - ndig : 0;
	body = (sign ? 1 : 0) + (int64_t)strlen(prefix) + zeros + ndig;
	pad = sp->width > body ? sp->width - body : 0;

	if (!(flags & (STP_F_LEFT | STP_F_ZEROPAD)))
		stp_out_fill(o, ' ', (uint64_t)pad);
	if (sign)
		stp_out_putc(o, sign);
	stp_out_write(o, prefix, strlen(prefix));
	if (flags & STP_F_ZEROPAD)
		stp_out_fill(o, '0', (uint64_t)pad);
	stp_out_fill(o, '0', (uint64_t)zeros);
	while (ndig)
		stp_out_putc(o, tmp[--ndig]);
	if (flags & STP_F_LEFT)
		stp_out_fill(o, ' ', (uint64_t)pad);
}

/*
 * %p: "0x" and the digits the value needs by default; with a width, the digits
 * are zero-padded to width-2 (at most 16 unless '-') and the field is then
 * space-padded on the left; '-' zero-pads the digits to the full width.
 */
static void stp_fmt_pointer(struct stp_out *o, uint64_t v, const struct stp_fmt_spec *sp)
{
	char tmp[16];
	int ndig = 0;
	int64_t digits, pad = 0;

	do {
		tmp[ndig++] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);

	if (sp->prec >= 0) {
		digits = sp->prec;
		if (sp->width > 2 + (digits > ndig ? digits : ndig))
			pad = sp->width - 2 - (digits > ndig ? digits : ndig);
	} else if (sp->width < 0) {
		/* No width: the digits the value needs, as SystemTap 5.1 prints
		 * (`0x0`, `0x1234`; docs/oracle/FINDINGS.md, section 5). */
		digits = 0;
	} else if (sp->flags & STP_F_LEFT) {
		digits = sp->width - 2;
	} else {
		digits = sp->width - 2 < 16 ? sp->width - 2 : 16;
		if (sp->width > 2 + (digits > ndig ? digits : ndig))
			pad = sp->width - 2 - (digits > ndig ? digits : ndig);
	}
	if (!(sp->flags & STP_F_LEFT))
		stp_out_fill(o, ' ', (uint64_t)pad);
	stp_out_write(o, "0x", 2);
	if (digits > ndig)
		stp_out_fill(o, '0', (uint64_t)(digits - ndig));
	while (ndig)
		stp_out_putc(o, tmp[--ndig]);
	if (sp->flags & STP_F_LEFT)
		stp_out_fill(o, ' ', (uint64_t)pad);
}

/* Pads a field of `len` bytes to the width: before (right-aligned) or after. */
static void stp_fmt_pad(struct stp_out *o, const struct stp_fmt_spec *sp, uint64_t len, int after)
{
	if (sp->width > 0 && (uint64_t)sp->width > len && !(sp->flags & STP_F_LEFT) == !after)
		stp_out_fill(o, ' ', (uint64_t)sp->width - len);
}

static void stp_fmt_char(struct stp_out *o, int64_t v, const struct stp_fmt_spec *sp)
{
	char e[4];
	size_t n;

	if (sp->flags & STP_F_SPECIAL) {
		n = stp_escape_char((unsigned char)v, e);
	} else {
		e[0] = (char)(unsigned char)v;
		n = 1;
	}
	stp_fmt_pad(o, sp, n, 0);
	stp_out_write(o, e, n);
	stp_fmt_pad(o, sp, n, 1);
}

static void stp_fmt_string(struct stp_out *o, const char *s, const struct stp_fmt_spec *sp)
{
	uint64_t n = 0;

	if (s == NULL)
		s = "";
	while (s[n] && (sp->prec < 0 || n < (uint64_t)sp->prec))
		n++;
	stp_fmt_pad(o, sp, n, 0);
	stp_out_write(o, s, (size_t)n);
	stp_fmt_pad(o, sp, n, 1);
}

/* %b: the low `width` bytes of the value in native byte order. */
static int stp_fmt_binary(struct stp_out *o, int64_t v, const struct stp_fmt_spec *sp)
{
	uint8_t b1;
	uint16_t b2;
	uint32_t b4;
	uint64_t b8;

	switch (sp->width < 0 ? 8 : sp->width) {
	case 1:
		b1 = (uint8_t)v;
		stp_out_write(o, (const char *)&b1, 1);
		return STP_OK;
	case 2:
		b2 = (uint16_t)v;
		stp_out_write(o, (const char *)&b2, 2);
		return STP_OK;
	case 4:
		b4 = (uint32_t)v;
		stp_out_write(o, (const char *)&b4, 4);
		return STP_OK;
	case 8:
		b8 = (uint64_t)v;
		stp_out_write(o, (const char *)&b8, 8);
		return STP_OK;
	default:
		return STP_E_FORMAT;
	}
}

/* %m (raw) and %M (hex): precision bytes (default 1) read through env. */
static int stp_fmt_memory(struct stp_out *o, uint64_t addr, int hex, const struct stp_fmt_spec *sp,
			  const struct stp_format_env *env)
{
	static const char hexdig[] = "0123456789abcdef";
	char chunk[STP_FMT_MEM_CHUNK];
	uint64_t nbytes = sp->prec < 0 ? 1 : (uint64_t)sp->prec;
	uint64_t outlen = hex ? 2 * nbytes : nbytes;
	uint64_t done = 0, want, fit;
	size_t n, i;
	int user = (sp->flags & STP_F_SPECIAL) != 0;

	if (nbytes && (env == NULL || env->read_mem == NULL))
		return STP_E_MEMREAD;
	stp_fmt_pad(o, sp, outlen, 0);
	/* Read only what can still land in the buffer; count the rest. */
	fit = stp_out_room(o);
	if (hex)
		fit = (fit + 1) / 2;
	want = nbytes < fit ? nbytes : fit;
	while (done < want) {
		n = want - done < STP_FMT_MEM_CHUNK ? (size_t)(want - done) : STP_FMT_MEM_CHUNK;
		if (env->read_mem(env->ctx, chunk, addr + done, n, user) < 0)
			return STP_E_MEMREAD;
		if (!hex) {
			stp_out_write(o, chunk, n);
		} else {
			for (i = 0; i < n; i++) {
				stp_out_putc(o, hexdig[(unsigned char)chunk[i] >> 4]);
				stp_out_putc(o, hexdig[(unsigned char)chunk[i] & 15]);
			}
		}
		done += n;
	}
	o->len += hex ? 2 * (nbytes - done) : nbytes - done;
	stp_fmt_pad(o, sp, outlen, 1);
	return STP_OK;
}

/* Parses a run of decimal digits, clamped; advances *pp. */
static int64_t stp_fmt_digits(const char **pp)
{
	const char *p = *pp;
	int64_t v = 0;

	while (*p >= '0' && *p <= '9') {
		if (v < STP_FMT_MAX_FIELD)
			v = v * 10 + (*p - '0');
		p++;
	}
	*pp = p;
	return stp_fmt_clamp(v);
}

STP_API int stp_format(char *buf, size_t size, const char *fmt, const union stp_arg *args,
		       int nargs, const struct stp_format_env *env)
{
	struct stp_out o;
	struct stp_fmt_spec sp;
	const char *p = fmt;
	int argi = 0;
	int64_t v;
	int rc = STP_OK;

	stp_out_init(&o, buf, size);
	if (fmt == NULL || (nargs > 0 && args == NULL)) {
		rc = STP_E_FORMAT;
		goto out;
	}
	while (*p) {
		if (*p != '%') {
			stp_out_putc(&o, *p++);
			continue;
		}
		p++;
		sp.flags = 0;
		sp.width = -1;
		sp.prec = -1;
		for (;; p++) {
			if (*p == '-')
				sp.flags |= STP_F_LEFT;
			else if (*p == '+')
				sp.flags |= STP_F_PLUS;
			else if (*p == ' ')
				sp.flags |= STP_F_SPACE;
			else if (*p == '#')
				sp.flags |= STP_F_SPECIAL;
			else if (*p == '0')
				sp.flags |= STP_F_ZEROPAD;
			else
				break;
		}
		if (*p == '*') {
			p++;
			if (argi >= nargs) {
				rc = STP_E_ARGS;
				goto out;
			}
			v = args[argi++].n;
			if (v < 0) {
				sp.flags |= STP_F_LEFT;
				v = v == STP_INT64_MIN ? STP_INT64_MAX : -v;
			}
			sp.width = stp_fmt_clamp(v);
		} else if (*p >= '0' && *p <= '9') {
			sp.width = stp_fmt_digits(&p);
		}
		if (*p == '.') {
			p++;
			if (*p == '*') {
				p++;
				if (argi >= nargs) {
					rc = STP_E_ARGS;
					goto out;
				}
				v = args[argi++].n;
				sp.prec = v < 0 ? -1 : stp_fmt_clamp(v);
			} else {
				sp.prec = stp_fmt_digits(&p);
			}
		}
		while (*p == 'h' || *p == 'l' || *p == 'L' || *p == 'q' || *p == 'j' ||
		       *p == 'z' || *p == 't')
			p++;
		if (*p == '%') {
			stp_out_putc(&o, '%');
			p++;
			continue;
		}
		if (*p == '\0' || !strchr("diuoxXcspbmM", *p)) {
			rc = STP_E_FORMAT;
			goto out;
		}
		if (argi >= nargs) {
			rc = STP_E_ARGS;
			goto out;
		}
		v = args[argi].n;
		switch (*p) {
		case 'd':
		case 'i':
			stp_fmt_number(&o, stp_uabs64(v), v < 0, 10, 0, 1, &sp);
			break;
		case 'u':
			stp_fmt_number(&o, (uint64_t)v, 0, 10, 0, 0, &sp);
			break;
		case 'o':
			stp_fmt_number(&o, (uint64_t)v, 0, 8, 0, 0, &sp);
			break;
		case 'x':
			stp_fmt_number(&o, (uint64_t)v, 0, 16, 0, 0, &sp);
			break;
		case 'X':
			stp_fmt_number(&o, (uint64_t)v, 0, 16, 1, 0, &sp);
			break;
		case 'p':
			stp_fmt_pointer(&o, (uint64_t)v, &sp);
			break;
		case 'c':
			stp_fmt_char(&o, v, &sp);
			break;
		case 's':
			stp_fmt_string(&o, args[argi].s, &sp);
			break;
		case 'b':
			rc = stp_fmt_binary(&o, v, &sp);
			break;
		case 'm':
		case 'M':
			rc = stp_fmt_memory(&o, (uint64_t)v, *p == 'M', &sp, env);
			break;
		}
		if (rc != STP_OK)
			goto out;
		argi++;
		p++;
	}
out:
	v = stp_out_finish(&o);
	return rc != STP_OK ? rc : (int)v;
}
