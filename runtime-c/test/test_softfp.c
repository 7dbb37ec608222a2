// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_softfp.c - the integer IEEE-754 arithmetic against the host's FPU.
 *
 * Every operation is run on special values (zeros, subnormals, the
 * largest and smallest normals, infinities, NaNs) crossed with each other
 * and on a million pseudo-random pairs drawn from patterns that stress
 * rounding (random bits, near-equal magnitudes, subnormal results), and
 * compared bit for bit with the host's double arithmetic (x86-64 SSE2 and
 * arm64 both round to nearest even). NaN results only need to be NaNs.
 * One line per operation goes to stdout: its name and how many cases
 * agreed; a disagreement prints the operands and fails the test.
 */
#include <math.h>
#include <stdint.h>

#include "../lib/softfp.h"
#include "check.h"

static uint64_t bits(double d)
{
	uint64_t b;

	memcpy(&b, &d, sizeof(b));
	return b;
}

static double dbl(uint64_t b)
{
	double d;

	memcpy(&d, &b, sizeof(d));
	return d;
}

static int same(uint64_t got, uint64_t want)
{
	if (isnan(dbl(want)))
		return isnan(dbl(got));
	return got == want;
}

static uint64_t state = 0x9e3779b97f4a7c15ULL;

static uint64_t next(void)
{
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return state;
}

static const uint64_t specials[] = {
	0x0000000000000000ULL, 0x8000000000000000ULL, 0x0000000000000001ULL,
	0x8000000000000001ULL, 0x000fffffffffffffULL, 0x0010000000000000ULL,
	0x7fefffffffffffffULL, 0xffefffffffffffffULL, 0x7ff0000000000000ULL,
	0xfff0000000000000ULL, 0x7ff8000000000000ULL, 0x3ff0000000000000ULL,
	0xbff0000000000000ULL, 0x4000000000000000ULL, 0x3fe0000000000000ULL,
	0x3ff0000000000001ULL, 0x433fffffffffffffULL, 0x4340000000000000ULL,
	0x43e0000000000000ULL, 0xc3e0000000000000ULL, 0x3fb999999999999aULL,
	0x4008000000000000ULL, 0x0008000000000000ULL, 0x3ca0000000000000ULL,
};
#define NSPECIALS (sizeof(specials) / sizeof(specials[0]))

/* A random operand: plain random bits, or a value of a chosen magnitude. */
static uint64_t operand(uint64_t near)
{
	switch (next() % 6) {
	case 0:
		return next();
	case 1:
		return specials[next() % NSPECIALS];
	case 2: /* close to the other operand: cancellation, ties */
		return near + (next() % 5) - 2;
	case 3: /* small exponents: subnormal results */
		return (next() & 0x800fffffffffffffULL) | ((next() % 64) << 52);
	case 4: /* an integer */
		return bits((double)(int64_t)(next() >> (next() % 64)));
	default: /* moderate exponent */
		return (next() & 0x800fffffffffffffULL) | ((0x3c0 + next() % 0x80) << 52);
	}
}

enum op { ADD, SUB, MUL, DIV, REM, SQRT, EQ, LT, LE, NOPS };
static const char *const op_names[NOPS] = { "add", "sub", "mul", "div", "rem",
					      "sqrt", "eq", "lt", "le" };

static uint64_t soft(enum op op, uint64_t a, uint64_t b)
{
	switch (op) {
	case ADD: return stp_fp_add(a, b);
	case SUB: return stp_fp_sub(a, b);
	case MUL: return stp_fp_mul(a, b);
	case DIV: return stp_fp_div(a, b);
	case REM: return stp_fp_rem(a, b);
	case SQRT: return stp_fp_sqrt(a);
	case EQ: return (uint64_t)stp_fp_eq(a, b);
	case LT: return (uint64_t)stp_fp_lt(a, b);
	default: return (uint64_t)stp_fp_le(a, b);
	}
}

static uint64_t hard(enum op op, uint64_t a, uint64_t b)
{
	double x = dbl(a), y = dbl(b);

	switch (op) {
	case ADD: return bits(x + y);
	case SUB: return bits(x - y);
	case MUL: return bits(x * y);
	case DIV: return bits(x / y);
	case REM: return bits(remainder(x, y));
	case SQRT: return bits(sqrt(x));
	case EQ: return (uint64_t)(x == y);
	case LT: return (uint64_t)(x < y);
	default: return (uint64_t)(x <= y);
	}
}

static int agree[NOPS], total[NOPS];

static void one(enum op op, uint64_t a, uint64_t b)
{
	uint64_t got = soft(op, a, b), want = hard(op, a, b);

	/* IEEE-754 gives a zero remainder the dividend's sign; glibc's
	 * remainder() does not always (with a subnormal divisor). */
	if (op == REM && (want & ~0x8000000000000000ULL) == 0)
		want = a & 0x8000000000000000ULL;
	total[op]++;
	if (same(got, want)) {
		agree[op]++;
		return;
	}
	if (total[op] - agree[op] <= 5)
		printf("FAIL %s(%016llx, %016llx) = %016llx, want %016llx\n", op_names[op],
		       (unsigned long long)a, (unsigned long long)b, (unsigned long long)got,
		       (unsigned long long)want);
}

static void arithmetic(void)
{
	size_t i, j;
	int op, n;
	uint64_t a, b;

	for (op = 0; op < NOPS; op++) {
		for (i = 0; i < NSPECIALS; i++)
			for (j = 0; j < NSPECIALS; j++)
				one((enum op)op, specials[i], specials[j]);
		for (n = 0; n < 200000; n++) {
			a = operand(0x3ff0000000000000ULL);
			b = operand(a);
			one((enum op)op, a, b);
		}
		check_result(agree[op] == total[op], op_names[op]);
		printf(": %d of %d agree with the FPU\n", agree[op], total[op]);
	}
}

static void conversions(void)
{
	int n, ok = 1, count = 0;
	int64_t v;
	uint32_t f;
	float fl;
	uint64_t got, want;

	for (n = 0; n < 200000; n++) {
		v = (int64_t)(next() >> (next() % 64));
		if (n & 1)
			v = -v;
		if (n == 0)
			v = INT64_MIN;
		count++;
		if (stp_fp_from_i64(v) != bits((double)v)) {
			ok = 0;
			printf("FAIL from_i64(%lld)\n", (long long)v);
		}
	}
	check_result(ok, "from_i64");
	printf(": %d conversions\n", count);

	ok = 1;
	count = 0;
	for (n = 0; n < 200000; n++) {
		f = (uint32_t)next();
		if (n < 4)
			f = n == 0 ? 0x7f800000u : n == 1 ? 0x00000001u : n == 2 ? 0x80000000u : 0x7fc00000u;
		memcpy(&fl, &f, sizeof(fl));
		want = bits((double)fl);
		got = stp_fp_from_f32(f);
		count++;
		if (!same(got, want)) {
			ok = 0;
			printf("FAIL from_f32(%08x) = %016llx\n", f, (unsigned long long)got);
		}
	}
	check_result(ok, "from_f32");
	printf(": %d conversions\n", count);

	ok = 1;
	count = 0;
	for (n = 0; n < 200000; n++) {
		uint64_t a = operand(0x4330000000000000ULL);
		double d = dbl(a);
		int64_t w[7];
		int mode;

		if (isnan(d) || d >= 9223372036854775808.0 || d < -9223372036854775808.0)
			continue;
		w[STP_FP_NEAR_EVEN] = (int64_t)nearbyint(d);
		w[STP_FP_MIN_MAG] = (int64_t)trunc(d);
		w[STP_FP_MIN] = (int64_t)floor(d);
		w[STP_FP_MAX] = (int64_t)ceil(d);
		w[STP_FP_NEAR_MAX_MAG] = (int64_t)round(d);
		for (mode = 0; mode <= 4; mode++) {
			int64_t g = stp_fp_to_i64(a, mode);

			/* ceil/round of a value just under 2^63 leaves the range */
			if ((mode == STP_FP_MAX || mode == STP_FP_NEAR_MAX_MAG ||
			     mode == STP_FP_NEAR_EVEN) && d > 9.2e18)
				continue;
			count++;
			if (g != w[mode]) {
				ok = 0;
				printf("FAIL to_i64(%016llx, %d) = %lld, want %lld\n",
				       (unsigned long long)a, mode, (long long)g, (long long)w[mode]);
			}
		}
	}
	check_result(ok, "to_i64");
	printf(": %d conversions\n", count);
	check_int("to_i64.nan", stp_fp_to_i64(0x7ff8000000000000ULL, 0), INT64_MIN);
	check_int("to_i64.inf", stp_fp_to_i64(0x7ff0000000000000ULL, 0), INT64_MIN);
	check_int("to_i64.2^63", stp_fp_to_i64(0x43e0000000000000ULL, 0), INT64_MIN);
	check_int("to_i64.-2^63", stp_fp_to_i64(0xc3e0000000000000ULL, 0), INT64_MIN);
	check_int("to_i64.odd.2.5", stp_fp_to_i64(0x4004000000000000ULL, STP_FP_ODD), 3);
	check_int("to_i64.odd.4.5", stp_fp_to_i64(0x4012000000000000ULL, STP_FP_ODD), 5);
	check_int("to_i64.odd.4", stp_fp_to_i64(0x4010000000000000ULL, STP_FP_ODD), 4);
	check_int("to_i64.odd.-0.5", stp_fp_to_i64(0xbfe0000000000000ULL, STP_FP_ODD), -1);
}

int main(void)
{
	arithmetic();
	conversions();
	return check_failures ? 1 : 0;
}
