// SPDX-License-Identifier: GPL-2.0-only
/*
 * softfp.c - IEEE-754 binary64 arithmetic with integer instructions.
 *
 * A finite nonzero operand is unpacked to a sign, an exponent e and a
 * significand m with its leading one at bit 62, so that its value is
 * m * 2^(e - 62); the spare bit 63 takes an addition's carry and bits
 * 0..9 below the 53 kept ones are guard bits, with anything shifted out
 * below them "jammed" into bit 0 (sticky). pack() rounds once, to nearest
 * with ties to even. Division and square root are computed bit by bit
 * (64 steps), so no 128-bit division helper is needed in the kernel.
 * An invalid operation gives the default NaN 0x7ff8000000000000, and a
 * NaN operand is passed on quietened (the first one, if both are), as
 * SystemTap's floating-point tapset does.
 */
#include "softfp.h"

#define F64_SIGN 0x8000000000000000ULL
#define F64_EXP 0x7ff0000000000000ULL
#define F64_FRAC 0x000fffffffffffffULL
#define F64_QUIET 0x0008000000000000ULL
#define F64_DEFAULT_NAN 0x7ff8000000000000ULL
#define LEAD (1ULL << 62)

struct unpacked {
	int sign;
	int exp;
	uint64_t sig;
};

static int is_nan(uint64_t a)
{
	return (a & F64_EXP) == F64_EXP && (a & F64_FRAC) != 0;
}

static int is_inf(uint64_t a)
{
	return (a & ~F64_SIGN) == F64_EXP;
}

static int is_zero(uint64_t a)
{
	return (a & ~F64_SIGN) == 0;
}

/* The NaN an operation on a or b passes on: a's if it is one, quietened. */
static uint64_t nan_of(uint64_t a, uint64_t b)
{
	return (is_nan(a) ? a : b) | F64_QUIET;
}

/* v shifted right by n, with any bit shifted out ORed into bit 0. */
static uint64_t shr_jam(uint64_t v, unsigned n)
{
	if (n == 0)
		return v;
	if (n >= 64)
		return v != 0;
	return (v >> n) | ((v & ((1ULL << n) - 1)) != 0);
}

/* A finite nonzero a, normalized. */
static struct unpacked unpack(uint64_t a)
{
	struct unpacked u;
	int e = (int)((a & F64_EXP) >> 52);

	u.sign = (a & F64_SIGN) != 0;
	if (e == 0) {
		u.sig = (a & F64_FRAC) << 10;
		u.exp = -1022;
		while (!(u.sig & LEAD)) {
			u.sig <<= 1;
			u.exp--;
		}
	} else {
		u.sig = ((a & F64_FRAC) | (1ULL << 52)) << 10;
		u.exp = e - 1023;
	}
	return u;
}

/* Rounds sign * sig * 2^(exp - 62) (sig < 2^63, nonzero) to a double. */
static uint64_t pack(int sign, int exp, uint64_t sig)
{
	uint64_t s = sign ? F64_SIGN : 0;
	uint64_t mant, rem, bits;
	int biased;

	while (!(sig & LEAD)) {
		sig <<= 1;
		exp--;
	}
	biased = exp + 1023;
	if (biased <= 0) {
		sig = shr_jam(sig, (unsigned)(1 - biased) > 64 ? 64 : (unsigned)(1 - biased));
		biased = 1;
	}
	rem = sig & 0x3ff;
	mant = sig >> 10;
	if (rem > 0x200 || (rem == 0x200 && (mant & 1)))
		mant++;
	if (biased >= 2047)
		return s | F64_EXP;
	/* mant holds the implicit one at bit 52 (absent for a subnormal); a
	 * carry out of the fraction moves into the exponent, as it should. */
	bits = ((uint64_t)(biased - 1) << 52) + mant;
	if (bits >= F64_EXP)
		return s | F64_EXP;
	return s | bits;
}

/* |a| + |b| or |a| - |b| (by sub), with a's sign, for finite nonzero a, b. */
static uint64_t add_magnitudes(struct unpacked x, struct unpacked y, int sub)
{
	struct unpacked t;
	uint64_t m;
	int swapped = 0;

	if (x.exp < y.exp || (x.exp == y.exp && x.sig < y.sig)) {
		t = x;
		x = y;
		y = t;
		swapped = 1;
	}
	y.sig = shr_jam(y.sig, (unsigned)(x.exp - y.exp) > 64 ? 64 : (unsigned)(x.exp - y.exp));
	if (!sub) {
		m = x.sig + y.sig;
		if (m & (1ULL << 63)) {
			m = shr_jam(m, 1);
			x.exp++;
		}
		return pack(x.sign, x.exp, m);
	}
	m = x.sig - y.sig;
	if (m == 0)
		return 0; /* x - x is +0 when rounding to nearest */
	return pack(swapped ? !x.sign : x.sign, x.exp, m);
}

static uint64_t add_or_sub(uint64_t a, uint64_t b, int negate_b)
{
	struct unpacked x, y;

	if (is_nan(a) || is_nan(b))
		return nan_of(a, b);
	if (negate_b)
		b ^= F64_SIGN;
	if (is_inf(a)) {
		if (is_inf(b) && ((a ^ b) & F64_SIGN))
			return F64_DEFAULT_NAN;
		return a;
	}
	if (is_inf(b))
		return b;
	if (is_zero(a))
		return is_zero(b) ? (a & b & F64_SIGN) : b;
	if (is_zero(b))
		return a;
	x = unpack(a);
	y = unpack(b);
	/* Subtracting magnitudes: the larger one's sign wins, which
	 * add_magnitudes tracks through its swap. */
	if (x.sign == y.sign)
		return add_magnitudes(x, y, 0);
	y.sign = x.sign;
	return add_magnitudes(x, y, 1);
}

STP_API uint64_t stp_fp_add(uint64_t a, uint64_t b)
{
	return add_or_sub(a, b, 0);
}

STP_API uint64_t stp_fp_sub(uint64_t a, uint64_t b)
{
	return add_or_sub(a, b, 1);
}

STP_API uint64_t stp_fp_mul(uint64_t a, uint64_t b)
{
	uint64_t sign = (a ^ b) & F64_SIGN;
	struct unpacked x, y;
	unsigned __int128 p;
	uint64_t m;
	int exp;

	if (is_nan(a) || is_nan(b))
		return nan_of(a, b);
	if (is_inf(a) || is_inf(b)) {
		if (is_zero(a) || is_zero(b))
			return F64_DEFAULT_NAN;
		return sign | F64_EXP;
	}
	if (is_zero(a) || is_zero(b))
		return sign;
	x = unpack(a);
	y = unpack(b);
	p = (unsigned __int128)x.sig * y.sig; /* 2^124 <= p < 2^126 */
	m = (uint64_t)(p >> 62) | (((uint64_t)p & (LEAD - 1)) != 0);
	exp = x.exp + y.exp;
	if (m & (1ULL << 63)) {
		m = shr_jam(m, 1);
		exp++;
	}
	return pack(sign != 0, exp, m);
}

STP_API uint64_t stp_fp_div(uint64_t a, uint64_t b)
{
	uint64_t sign = (a ^ b) & F64_SIGN;
	struct unpacked x, y;
	uint64_t q = 0, r;
	int i, exp;

	if (is_nan(a) || is_nan(b))
		return nan_of(a, b);
	if (is_inf(a))
		return is_inf(b) ? F64_DEFAULT_NAN : (sign | F64_EXP);
	if (is_inf(b))
		return sign;
	if (is_zero(b))
		return is_zero(a) ? F64_DEFAULT_NAN : (sign | F64_EXP);
	if (is_zero(a))
		return sign;
	x = unpack(a);
	y = unpack(b);
	/* q = floor(x.sig / y.sig * 2^63), one bit a step. */
	r = x.sig;
	for (i = 0; i < 64; i++) {
		q <<= 1;
		if (r >= y.sig) {
			r -= y.sig;
			q |= 1;
		}
		r <<= 1;
	}
	exp = x.exp - y.exp;
	if (q & (1ULL << 63))
		q = shr_jam(q, 1) | (r != 0);
	else
		exp--, q |= (r != 0);
	return pack(sign != 0, exp, q);
}

STP_API uint64_t stp_fp_rem(uint64_t a, uint64_t b)
{
	struct unpacked x, y;
	uint64_t r;
	int diff, i, odd, negate = 0;

	if (is_nan(a) || is_nan(b))
		return nan_of(a, b);
	if (is_inf(a) || is_zero(b))
		return F64_DEFAULT_NAN;
	if (is_inf(b) || is_zero(a))
		return a;
	x = unpack(a);
	y = unpack(b);
	diff = x.exp - y.exp;
	if (diff < -1)
		return a;
	if (diff == -1) {
		/* |a| is in [|b|/4, |b|): n is 1 when |a| > |b|/2. */
		if (x.sig <= y.sig)
			return a;
		return pack(!x.sign, x.exp, 2 * y.sig - x.sig);
	}
	/* r = x.sig * 2^diff mod y.sig, keeping the quotient's parity. */
	odd = x.sig >= y.sig;
	r = odd ? x.sig - y.sig : x.sig;
	for (i = 0; i < diff; i++) {
		r <<= 1;
		odd = r >= y.sig;
		if (odd)
			r -= y.sig;
	}
	if (r == 0)
		return x.sign ? F64_SIGN : 0;
	if (2 * r > y.sig || (2 * r == y.sig && odd)) {
		r = y.sig - r;
		negate = 1;
	}
	return pack(negate ? !x.sign : x.sign, y.exp, r);
}

STP_API uint64_t stp_fp_sqrt(uint64_t a)
{
	struct unpacked x;
	unsigned __int128 n, rem = 0, root = 0;
	int i, e;

	if (is_nan(a))
		return a | F64_QUIET;
	if (is_zero(a))
		return a;
	if (a & F64_SIGN)
		return F64_DEFAULT_NAN;
	if (is_inf(a))
		return a;
	x = unpack(a);
	/* value = sig * 2^(exp - 62); scale sig up so the power is even. */
	e = x.exp - 62;
	if (e & 1) {
		n = (unsigned __int128)x.sig << 63;
		e -= 63;
	} else {
		n = (unsigned __int128)x.sig << 62;
		e -= 62;
	}
	/* Integer square root of n (< 2^126), two bits a step. */
	for (i = 126; i >= 0; i -= 2) {
		rem = (rem << 2) | ((n >> i) & 3);
		root <<= 1;
		if (rem >= 2 * root + 1) {
			rem -= 2 * root + 1;
			root += 1;
		}
	}
	/* sqrt(value) = root * 2^(e/2), root < 2^63. */
	return pack(0, e / 2 + 62, (uint64_t)root | (rem != 0));
}

STP_API int stp_fp_eq(uint64_t a, uint64_t b)
{
	if (is_nan(a) || is_nan(b))
		return 0;
	return a == b || (is_zero(a) && is_zero(b));
}

STP_API int stp_fp_lt(uint64_t a, uint64_t b)
{
	int sa = (a & F64_SIGN) != 0, sb = (b & F64_SIGN) != 0;

	if (is_nan(a) || is_nan(b))
		return 0;
	if (sa != sb)
		return sa && !(is_zero(a) && is_zero(b));
	return a != b && ((a < b) != sa);
}

STP_API int stp_fp_le(uint64_t a, uint64_t b)
{
	int sa = (a & F64_SIGN) != 0, sb = (b & F64_SIGN) != 0;

	if (is_nan(a) || is_nan(b))
		return 0;
	if (sa != sb)
		return sa || (is_zero(a) && is_zero(b));
	return a == b || ((a < b) != sa);
}

STP_API uint64_t stp_fp_from_i64(int64_t v)
{
	uint64_t mag;
	int sign = v < 0;

	if (v == 0)
		return 0;
	mag = sign ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	if (mag & (1ULL << 63))
		return pack(sign, 63, shr_jam(mag, 1));
	return pack(sign, 62, mag);
}

STP_API uint64_t stp_fp_from_f32(uint64_t f)
{
	uint64_t sign = (f & 0x80000000ULL) << 32;
	uint64_t frac = f & 0x7fffffULL;
	int e = (int)((f >> 23) & 0xff);

	if (e == 0xff) {
		if (frac == 0)
			return sign | F64_EXP;
		return sign | F64_EXP | F64_QUIET | (frac << 29);
	}
	if (e == 0) {
		if (frac == 0)
			return sign;
		/* Subnormal: frac * 2^-149. */
		return pack(sign != 0, -149 + 62, frac);
	}
	return sign | ((uint64_t)(e - 127 + 1023) << 52) | (frac << 29);
}

STP_API int64_t stp_fp_to_i64(uint64_t a, int mode)
{
	struct unpacked x;
	uint64_t ipart, frac, half, mag;
	int shift, up;

	if (is_nan(a))
		return 0;
	if (is_zero(a))
		return 0;
	if (is_inf(a))
		return (a & F64_SIGN) ? STP_INT64_MIN : STP_INT64_MAX;
	x = unpack(a);
	if (x.exp >= 63)
		return x.sign ? STP_INT64_MIN : STP_INT64_MAX; /* -2^63 exactly is STP_INT64_MIN too */
	if (x.exp < 0) {
		/* The fraction as a 64-bit fixed-point number (bit 63 is one
		 * half): sig * 2^(exp + 2), anything lower jammed into bit 0. */
		ipart = 0;
		if (x.exp == -1)
			frac = x.sig << 1;
		else
			frac = shr_jam(x.sig, (unsigned)(-x.exp - 2) > 64 ? 64 : (unsigned)(-x.exp - 2));
	} else {
		shift = 62 - x.exp;
		ipart = x.sig >> shift;
		frac = shift == 0 ? 0 : x.sig << (64 - shift);
	}
	half = 1ULL << 63;
	switch (mode) {
	case STP_FP_NEAR_EVEN:
		up = frac > half || (frac == half && (ipart & 1));
		break;
	case STP_FP_NEAR_MAX_MAG:
		up = frac >= half;
		break;
	case STP_FP_MIN:
		up = x.sign && frac != 0;
		break;
	case STP_FP_MAX:
		up = !x.sign && frac != 0;
		break;
	default: /* STP_FP_MIN_MAG, and every other mode: truncate */
		up = 0;
		break;
	}
	mag = ipart + (uint64_t)up;
	if (x.sign)
		return mag > (1ULL << 63) ? STP_INT64_MIN : (int64_t)((uint64_t)0 - mag);
	return mag >= (1ULL << 63) ? STP_INT64_MAX : (int64_t)mag;
}

STP_API int stp_fp_from_string(const char *s, uint64_t *out)
{
	const uint64_t ten = 0x4024000000000000ULL, one = 0x3ff0000000000000ULL;
	uint64_t x = 0, p = one;
	int64_t exp = 0, k, n;
	int neg = 0, exp_neg = 0, seen_dot = 0, frac_digits = 0;

	if (*s == '+' || *s == '-')
		neg = *s++ == '-';
	for (; *s && *s != 'e' && *s != 'E'; s++) {
		if (*s == '.') {
			if (seen_dot)
				return -1;
			seen_dot = 1;
			continue;
		}
		if (*s < '0' || *s > '9')
			return -1;
		x = stp_fp_add(stp_fp_mul(x, ten), stp_fp_from_i64(*s - '0'));
		if (seen_dot)
			frac_digits++;
	}
	if (*s) {
		s++;
		if (*s == '+' || *s == '-')
			exp_neg = *s++ == '-';
		for (; *s; s++) {
			if (*s < '0' || *s > '9')
				return -1;
			if (exp < 100000)
				exp = exp * 10 + (*s - '0');
		}
	}
	k = (exp_neg ? -exp : exp) - frac_digits;
	/* Scaled by division, as SystemTap does: by 10^-k for a negative k,
	 * by (1/10/10...) for a positive one. Past about 330 steps the
	 * divisor is infinite or zero and stays so. */
	if (k < 0) {
		for (n = 0; n < -k && !is_inf(p); n++)
			p = stp_fp_mul(p, ten);
	} else {
		for (n = 0; n < k && !is_zero(p); n++)
			p = stp_fp_div(p, ten);
	}
	x = stp_fp_div(x, p);
	if (is_nan(x))
		return -1;
	*out = neg ? x ^ F64_SIGN : x;
	return 0;
}

STP_API size_t stp_fp_to_string(char *dst, size_t cap, uint64_t a, int64_t precision)
{
	uint64_t frac52 = a & F64_FRAC, mant, ipart, f;
	int field = (int)((a & F64_EXP) >> 52), e;
	unsigned shift;
	unsigned __int128 t;
	char digits[24];
	size_t len = 0;
	int64_t i;
	int n = 0, d;

	if (cap == 0)
		return 0;
	if (field == 0) {
		mant = frac52; /* no implicit one for a subnormal (or zero) */
		e = -1023;
	} else {
		mant = frac52 | (1ULL << 52);
		e = field - 1023;
	}
	/* SystemTap splits the value with 64-bit shifts whose counts wrap at
	 * 64, so outside [2^-11, 2^53) the value printed is off by a power
	 * of 2^64; stapkit prints what SystemTap prints. */
	shift = (unsigned)(52 - e) & 63;
	ipart = mant >> shift;
	f = mant << ((64 - shift) & 63);
	if (precision < 1)
		precision = 1;
	if (a & F64_SIGN)
		dst[len++] = '-';
	/* The integer part, at most 53 bits. */
	do {
		digits[n++] = (char)('0' + ipart % 10);
		ipart /= 10;
	} while (ipart && n < (int)sizeof(digits));
	while (n > 0 && len + 1 < cap)
		dst[len++] = digits[--n];
	if (len + 1 < cap)
		dst[len++] = '.';
	/* The fraction's digits, exactly; then the last one is rounded up
	 * when the next is 5 or more, without carrying (SystemTap prints
	 * 0.999 to two places as "0.910"). */
	for (i = 0; i < precision && len + 1 < cap; i++) {
		t = (unsigned __int128)f * 10;
		d = (int)(t >> 64);
		f = (uint64_t)t;
		if (i + 1 == precision && (int)(((unsigned __int128)f * 10) >> 64) >= 5)
			d++;
		if (d == 10) {
			dst[len++] = '1';
			if (len + 1 >= cap)
				break;
			d = 0;
		}
		dst[len++] = (char)('0' + d);
	}
	dst[len] = '\0';
	return len;
}
