/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * softfp.h - IEEE-754 binary64 arithmetic on integer representations, for
 * the floating-point tapset (fp_add, fp_to_string, ...). The kernel may not
 * use the FPU in a probe, so every operation works on the 64-bit pattern
 * of a double with integer instructions only. Results are rounded to
 * nearest, ties to even, as IEEE-754's default; an invalid operation
 * (0/0, inf-inf, sqrt(-1)) gives the default quiet NaN 0x7ff8000000000000,
 * and a NaN operand is passed on quietened.
 */
#ifndef STP_SOFTFP_H
#define STP_SOFTFP_H

#include "port.h"

/* Rounding directions of stp_fp_to_i64 (SoftFloat's numbering). */
enum stp_fp_round {
	STP_FP_NEAR_EVEN = 0,
	STP_FP_MIN_MAG = 1,
	STP_FP_MIN = 2,
	STP_FP_MAX = 3,
	STP_FP_NEAR_MAX_MAG = 4,
};

STP_API uint64_t stp_fp_add(uint64_t a, uint64_t b);
STP_API uint64_t stp_fp_sub(uint64_t a, uint64_t b);
STP_API uint64_t stp_fp_mul(uint64_t a, uint64_t b);
STP_API uint64_t stp_fp_div(uint64_t a, uint64_t b);
/* The IEEE remainder: a - n*b with n the integer nearest a/b (ties even). */
STP_API uint64_t stp_fp_rem(uint64_t a, uint64_t b);
STP_API uint64_t stp_fp_sqrt(uint64_t a);
/* Comparisons: 0 or 1; anything compared with a NaN is 0. */
STP_API int stp_fp_eq(uint64_t a, uint64_t b);
STP_API int stp_fp_lt(uint64_t a, uint64_t b);
STP_API int stp_fp_le(uint64_t a, uint64_t b);
/* The double nearest v. */
STP_API uint64_t stp_fp_from_i64(int64_t v);
/* The binary32 pattern f (low 32 bits) as a double, exactly. */
STP_API uint64_t stp_fp_from_f32(uint64_t f);
/*
 * a rounded to an integer in direction mode (any other mode truncates);
 * out of range it saturates to INT64_MIN or INT64_MAX, and a NaN is 0.
 */
STP_API int64_t stp_fp_to_i64(uint64_t a, int mode);
/*
 * The decimal number s ("-12.5e3": sign, digits with one '.', 'e' or
 * 'E' and a signed exponent, any part possibly empty) as a double, into
 * *out: its digits accumulated as a double, then divided by a power of
 * ten computed by repeated multiplication (or by ten's repeated division
 * for a positive power), as SystemTap does, so not always the nearest
 * double. Returns 0, or -1 for anything else or a NaN result.
 */
STP_API int stp_fp_from_string(const char *s, uint64_t *out);
/*
 * a as decimal text with precision (at least 1) digits after the point,
 * into dst (cap bytes, NUL-terminated, truncated to fit); returns the
 * length. Byte for byte SystemTap's fp_to_string, whose quirks it keeps:
 * values outside [2^-11, 2^53) come out scaled by a power of 2^64, the
 * last digit is rounded up without carrying ("0.910" for 0.999 to two
 * places), and an infinity or NaN shows its significand.
 */
STP_API size_t stp_fp_to_string(char *dst, size_t cap, uint64_t a, int64_t precision);

#endif /* STP_SOFTFP_H */
