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
	/* SystemTap's recorded results (docs/oracle/outputs/.../tapset_values.out) */
	check_int("to_i64.nan", stp_fp_to_i64(0x7ff8000000000000ULL, 0), 0);
	check_int("to_i64.snan", stp_fp_to_i64(0x7ff0000000000001ULL, 0), 0);
	check_int("to_i64.inf", stp_fp_to_i64(0x7ff0000000000000ULL, 0), INT64_MAX);
	check_int("to_i64.-inf", stp_fp_to_i64(0xfff0000000000000ULL, 0), INT64_MIN);
	check_int("to_i64.2^63", stp_fp_to_i64(0x43e0000000000000ULL, 0), INT64_MAX);
	check_int("to_i64.-2^63", stp_fp_to_i64(0xc3e0000000000000ULL, 0), INT64_MIN);
	check_int("to_i64.mode6.2.5", stp_fp_to_i64(0x4004000000000000ULL, 6), 2);
	check_int("to_i64.mode7.-2.5", stp_fp_to_i64(0xc004000000000000ULL, 7), -2);
}

/* string_to_fp: SystemTap's recorded results (tests/oracle/tapset_values.stp). */
static const struct {
	const char *in;
	const char *want; /* hex, or NULL for "invalid format" */
} strings[] = {
	{ "0", "0" }, { "1", "3ff0000000000000" }, { "-1", "bff0000000000000" },
	{ "0.1", "3fb999999999999a" }, { "3.14159", "400921f9f01b866e" },
	{ "1.5e-3", "3f589374bc6a7efa" },
	{ "123456789012345678901234567890", "45f8ee90ff6c373d" },
	{ "abc", NULL }, { "  7", NULL }, { "7x", NULL }, { ".5", "3fe0000000000000" },
	{ "5.", "4014000000000000" }, { "+3", "4008000000000000" }, { "1e400", "7ff0000000000000" },
	{ "2.2250738585072014e-308", "0" }, { "nan", NULL }, { "inf", NULL },
	{ "-0.0", "8000000000000000" }, { "0.999999999999999999", "3ff0000000000001" },
	{ "0.1234567890123456789", "3fbf9add3746f661" },
	{ "1.23456789012345678e-7", "3e8091f1667f0597" },
	{ "12345678901234567.89", "4345ee2a2eb5a5c5" },
	{ "3.3333333333333333333", "400aaaaaaaaaaaa9" }, { "1e300", "7e37e43c8800758d" },
	{ "5e-324", "0" }, { "1E3", "408f400000000000" }, { "1e+3", "408f400000000000" },
	{ "1.e2", "4059000000000000" }, { "-.5", "bfe0000000000000" }, { "0x10", NULL },
	{ "1e", "3ff0000000000000" }, { "e5", "0" }, { "--1", NULL }, { "1.2.3", NULL },
	{ "7 ", NULL }, { "00012", "4028000000000000" }, { "1e-400", "0" }, { "", "0" },
	{ "1e10", "4202a05f1ffffffe" }, { "1e15", "430c6bf52633ffff" },
	{ "1e22", "4480f0cf064dd592" }, { "1e25", "45208b2a2c280290" },
	{ "1e100", "54b249ad2594c379" }, { "1e308", "7fe1ccf385ebc896" },
	{ "1e-10", "3ddb7cdfd9d7bdbb" }, { "1e-50", "358dee7a4ad4b81e" },
	{ "1e-300", "1a56e1fc2f8f358" }, { "1.5e10", "420bf08eaffffffe" },
	{ "0e400", NULL }, { "0e-400", "0" }, { "1e99999", "7ff0000000000000" },
	{ "123e-2", "3ff3ae147ae147ae" }, { "1e-5e2", NULL },
};

static void from_string(void)
{
	size_t i;
	uint64_t v;
	char got[32];
	int rc;

	for (i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
		rc = stp_fp_from_string(strings[i].in, &v);
		if (rc < 0)
			snprintf(got, sizeof(got), "invalid");
		else
			snprintf(got, sizeof(got), "%llx", (unsigned long long)v);
		check_str(strings[i].in, got, strings[i].want ? strings[i].want : "invalid");
	}
}

/* fp_to_string: SystemTap's recorded results, of string_to_fp(in) or of a pattern. */
static const struct {
	const char *in;
	uint64_t bits;
	int precision;
	const char *want;
} texts[] = {
	{ "0", 0, 3, "0.000" },
	{ "1", 0, 3, "1.000" },
	{ "-1", 0, 3, "-1.000" },
	{ "2", 0, 3, "2.000" },
	{ "1000000", 0, 3, "1000000.000" },
	{ "-123456789", 0, 3, "-123456789.000" },
	{ "4503599627370496", 0, 3, "4503599627370496.000" },
	{ "9223372036854775807", 0, 3, "0.500" },
	{ "0.125", 0, 2, "0.13" },
	{ "0.375", 0, 2, "0.38" },
	{ "-0.125", 0, 2, "-0.13" },
	{ "0.25", 0, 1, "0.3" },
	{ "0.75", 0, 1, "0.8" },
	{ "0.999", 0, 2, "0.910" },
	{ "-0.0", 0, 2, "-0.00" },
	{ "1e-20", 0, 25, "0.1844674407370955060425644" },
	{ "1e-300", 0, 5, "179769313.48623" },
	{ "5e-324", 0, 3, "0.000" },
	{ "0.1", 0, 25, "0.1000000000000000055511151" },
	{ "0.1", 0, 40, "0.1000000000000000055511151231257827021182" },
	{ "0.1", 0, 60, "0.100000000000000005551115123125782702118158340454101562500000" },
	{ "123.456", 0, 20, "123.45600000000000306954" },
	{ "1e15", 0, 3, "999999999999999.875" },
	{ "1e18", 0, 2, "0.05" },
	{ "9.2e18", 0, 1, "0.5" },
	{ "1e30", 0, 2, "54210108624.28" },
	{ "1e40", 0, 2, "29.39" },
	{ "1e100", 0, 2, "4681.68" },
	{ "1e300", 0, 2, "102613420032.46" },
	{ "-1e20", 0, 2, "-5.42" },
	{ "0.3", 0, 0, "0.3" },
	{ "2.5", 0, 0, "2.5" },
	{ "0.05", 0, 1, "0.1" },
	{ "0.15", 0, 1, "0.1" },
	{ "0.25", 0, 1, "0.3" },
	{ "0.35", 0, 1, "0.3" },
	{ "1.005", 0, 2, "1.00" },
	{ "7e-10", 0, 12, "12912720851.596685409546" },
	{ "1e-6", 0, 20, "18446744073709.55078125000000000000" },
	{ "3e-5", 0, 22, "553402322211286.5625000000000000000000" },
	{ "0.5", 0, 0, "0.5" },
	{ "1.5", 0, 0, "1.5" },
	{ "0.95", 0, 1, "0.9" },
	{ "9.5", 0, 0, "9.5" },
	{ "0.0625", 0, 3, "0.063" },
	{ "1e-7", 0, 7, "1844674407370.9550781" },
	{ "1e-7", 0, 6, "1844674407370.955078" },
	{ "1e15", 0, 3, "999999999999999.875" }, { "4503599627370496", 0, 3, "4503599627370496.000" },
	{ "-123456789", 0, 3, "-123456789.000" }, { "9223372036854775807", 0, 3, "0.500" },
	{ NULL, 0x43d0000000000000ULL, 3, "0.250" },
	{ NULL, 0x43d8000000000000ULL, 3, "0.375" },
	{ NULL, 0x43c0000000000000ULL, 3, "0.125" },
	{ NULL, 0x43e8000000000000ULL, 3, "0.750" },
	{ NULL, 0x4400000000000000ULL, 3, "2.000" },
	{ NULL, 0x45e0000000000000ULL, 3, "2147483648.000" },
	{ NULL, 0x45f0000000000000ULL, 3, "4294967296.000" },
	{ NULL, 0x49f0000000000000ULL, 3, "4294967296.000" },
	{ NULL, 0x4410000000000000ULL, 3, "4.000" },
	{ NULL, 0x1ULL, 3, "0.000" },
	{ NULL, 0xfffffffffffffULL, 3, "1.9910" },
	{ NULL, 0x3cb0000000000000ULL, 3, "4096.000" },
	{ NULL, 0x47d0000000000000ULL, 2, "0.25" }, { NULL, 0x4c70000000000000ULL, 2, "256.00" },
	{ NULL, 0xc3f0000000000000ULL, 2, "-1.00" }, { NULL, 0x7ff8000000000000ULL, 2, "1.50" },
	{ NULL, 0x7ff0000000000000ULL, 2, "1.00" }, { NULL, 0xfff0000000000000ULL, 2, "-1.00" },
	{ NULL, 0x3fd5555555555555ULL, 20, "0.33333333333333331483" },
	{ NULL, 0x3fd5555555555555ULL, -1, "0.3" },
};

static void to_string(void)
{
	size_t i;
	uint64_t v;
	char got[128], name[64];

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		v = texts[i].bits;
		if (texts[i].in && stp_fp_from_string(texts[i].in, &v) < 0)
			v = 0;
		stp_fp_to_string(got, sizeof(got), v, texts[i].precision);
		snprintf(name, sizeof(name), "to_string(%s, %d)", texts[i].in ? texts[i].in : "bits",
			 texts[i].precision);
		check_str(name, got, texts[i].want);
	}
	stp_fp_to_string(got, 8, 0x3fd5555555555555ULL, 20);
	check_str("to_string.truncated", got, "0.33333");
}

int main(void)
{
	arithmetic();
	conversions();
	from_string();
	to_string();
	return check_failures ? 1 : 0;
}
