// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_format.c - the printf engine against SystemTap's documented and
 * observed output.
 *
 * Sources of the expectations (behaviour, not code):
 *  - int1.*, ptr.*: SystemTap testsuite systemtap.printf/int1.exp and
 *    ptr.exp (real output of the same calls);
 *  - memory1.*: testsuite systemtap.printf/memory1.stp (each %m/%M form is
 *    defined there in terms of %s of the same bytes);
 *  - man.*: examples in stap(1) "PRINTING";
 *  - langref.*: the binary-write examples of the Language Reference 9.2;
 *  - guess.*: our reading of kernel-style printf where no document shows
 *    SystemTap's output (listed in runtime-c/lib/README.md).
 */
#include "../lib/format.h"
#include "check.h"

#define N(x) { .n = (int64_t)(x) }
#define S(x) { .s = (x) }
#define IJKMN N(1), N(10), N(9000000000000LL), N(-1), N(-1024)

struct fcase {
	const char *name;
	const char *fmt;
	int nargs;
	union stp_arg a[8];
	const char *want;	/* NULL: expect the error status `rc` */
	int wantlen;		/* -1: strlen(want) */
	int rc;
};

static const struct fcase cases[] = {
	/* systemtap.printf/int1.exp */
	{ "int1.d", "%d,%d,%d,%d,%d", 5, { IJKMN }, "1,10,9000000000000,-1,-1024", -1, 0 },
	{ "int1.2d", "%2d,%2d,%2d,%2d,%2d", 5, { IJKMN }, " 1,10,9000000000000,-1,-1024", -1, 0 },
	{ "int1.16d", "%16d,%16d,%16d,%16d,%16d", 5, { IJKMN },
	  "               1,              10,   9000000000000,              -1,           -1024", -1, 0 },
	{ "int1.016d", "%016d,%016d,%016d,%016d,%016d", 5, { IJKMN },
	  "0000000000000001,0000000000000010,0009000000000000,-000000000000001,-000000000001024", -1, 0 },
	{ "int1.u", "%u,%u,%u,%u,%u", 5, { IJKMN },
	  "1,10,9000000000000,18446744073709551615,18446744073709550592", -1, 0 },
	{ "int1.2u", "%2u,%2u,%2u,%2u,%2u", 5, { IJKMN },
	  " 1,10,9000000000000,18446744073709551615,18446744073709550592", -1, 0 },
	{ "int1.16u", "%16u,%16u,%16u,%16u,%16u", 5, { IJKMN },
	  "               1,              10,   9000000000000,18446744073709551615,18446744073709550592", -1, 0 },
	{ "int1.016u", "%016u,%016u,%016u,%016u,%016u", 5, { IJKMN },
	  "0000000000000001,0000000000000010,0009000000000000,18446744073709551615,18446744073709550592", -1, 0 },
	{ "int1.x", "%x,%x,%x,%x,%x", 5, { IJKMN }, "1,a,82f79cd9000,ffffffffffffffff,fffffffffffffc00", -1, 0 },
	{ "int1.2x", "%2x,%2x,%2x,%2x,%2x", 5, { IJKMN },
	  " 1, a,82f79cd9000,ffffffffffffffff,fffffffffffffc00", -1, 0 },
	{ "int1.16x", "%16x,%16x,%16x,%16x,%16x", 5, { IJKMN },
	  "               1,               a,     82f79cd9000,ffffffffffffffff,fffffffffffffc00", -1, 0 },
	{ "int1.016x", "%016x,%016x,%016x,%016x,%016x", 5, { IJKMN },
	  "0000000000000001,000000000000000a,0000082f79cd9000,ffffffffffffffff,fffffffffffffc00", -1, 0 },
	{ "int1.16X", "%16X,%16X,%16X,%16X,%16X", 5, { IJKMN },
	  "               1,               A,     82F79CD9000,FFFFFFFFFFFFFFFF,FFFFFFFFFFFFFC00", -1, 0 },
	{ "int1.016X", "%016X,%016X,%016X,%016X,%016X", 5, { IJKMN },
	  "0000000000000001,000000000000000A,0000082F79CD9000,FFFFFFFFFFFFFFFF,FFFFFFFFFFFFFC00", -1, 0 },
	{ "int1.#x", "%#x,%#x,%#x,%#x,%#x", 5, { IJKMN },
	  "0x1,0xa,0x82f79cd9000,0xffffffffffffffff,0xfffffffffffffc00", -1, 0 },
	{ "int1.o", "%o,%o,%o,%o,%o", 5, { IJKMN },
	  "1,12,202757163310000,1777777777777777777777,1777777777777777776000", -1, 0 },
	{ "int1.2o", "%2o,%2o,%2o,%2o,%2o", 5, { IJKMN },
	  " 1,12,202757163310000,1777777777777777777777,1777777777777777776000", -1, 0 },
	{ "int1.16o", "%16o,%16o,%16o,%16o,%16o", 5, { IJKMN },
	  "               1,              12, 202757163310000,1777777777777777777777,1777777777777777776000", -1, 0 },
	{ "int1.016o", "%016o,%016o,%016o,%016o,%016o", 5, { IJKMN },
	  "0000000000000001,0000000000000012,0202757163310000,1777777777777777777777,1777777777777777776000", -1, 0 },
	{ "int1.#o", "%#o,%#o,%#o,%#o,%#o", 5, { IJKMN },
	  "01,012,0202757163310000,01777777777777777777777,01777777777777777776000", -1, 0 },

	/* %p without a width: SystemTap 5.1 prints the digits the value needs
	 * (docs/oracle/FINDINGS.md, section 5: [0x0] [0x1234]); with a width,
	 * systemtap.printf/ptr.exp (64-bit) */
	{ "ptr.p.0", "%p", 1, { N(0) }, "0x0", -1, 0 },
	{ "ptr.p.1", "%p", 1, { N(1) }, "0x1", -1, 0 },
	{ "ptr.p.2", "%p", 1, { N(0x12345678) }, "0x12345678", -1, 0 },
	{ "ptr.p.3", "%p", 1, { N(0x12345678abcdef00LL) }, "0x12345678abcdef00", -1, 0 },
	{ "ptr.20p.0", "%20pX", 1, { N(0) }, "  0x0000000000000000X", -1, 0 },
	{ "ptr.20p.1", "%20pX", 1, { N(1) }, "  0x0000000000000001X", -1, 0 },
	{ "ptr.20p.2", "%20pX", 1, { N(0x12345678) }, "  0x0000000012345678X", -1, 0 },
	{ "ptr.20p.3", "%20pX", 1, { N(0x12345678abcdef00LL) }, "  0x12345678abcdef00X", -1, 0 },
	{ "ptr.-20p.0", "%-20pX", 1, { N(0) }, "0x000000000000000000X", -1, 0 },
	{ "ptr.-20p.1", "%-20pX", 1, { N(1) }, "0x000000000000000001X", -1, 0 },
	{ "ptr.-20p.2", "%-20pX", 1, { N(0x12345678) }, "0x000000000012345678X", -1, 0 },
	{ "ptr.-20p.3", "%-20pX", 1, { N(0x12345678abcdef00LL) }, "0x0012345678abcdef00X", -1, 0 },
	{ "ptr.8p.0", "%8p", 1, { N(0) }, "0x000000", -1, 0 },
	{ "ptr.8p.1", "%8p", 1, { N(1) }, "0x000001", -1, 0 },
	{ "ptr.8p.2", "%8p", 1, { N(0x12345678) }, "0x12345678", -1, 0 },
	{ "ptr.8p.3", "%8p", 1, { N(0x12345678abcdef00LL) }, "0x12345678abcdef00", -1, 0 },
	{ "ptr.-8p.0", "%-8pX", 1, { N(0) }, "0x000000X", -1, 0 },
	{ "ptr.-8p.1", "%-8pX", 1, { N(1) }, "0x000001X", -1, 0 },
	{ "ptr.-8p.2", "%-8pX", 1, { N(0x12345678) }, "0x12345678X", -1, 0 },
	{ "ptr.-8p.3", "%-8pX", 1, { N(0x12345678abcdef00LL) }, "0x12345678abcdef00X", -1, 0 },

	/* stap(1) PRINTING examples */
	{ "man.alt", "%#o %#x %#X\n", 3, { N(1), N(2), N(3) }, "01 0x2 0X3\n", -1, 0 },
	{ "man.char", "%#c %#c %#c\n", 3, { N(0), N(9), N(42) }, "\\000 \\t *\n", -1, 0 },
	/* stap(1) shows %p of 0x1234abcd as "0x1234abcd", as SystemTap 5.1 prints. */
	{ "man.mixed", "%c is %s; %x or %X or %p; %d or %u\n", 7,
	  { N(97), S("alice"), N(0x1234abcd), N(0x1234abcd), N(0x1234abcd), N(-1), N(-1) },
	  "a is alice; 1234abcd or 1234ABCD or 0x1234abcd; -1 or 18446744073709551615\n", -1, 0 },

	/* Language Reference 9.2, binary write examples (little endian) */
	{ "langref.b1", "%3d: %1b%1b%1b\n", 4, { N(97), N(97), N(97 - 32), N(97 - 64) }, " 97: aA!\n", -1, 0 },
	{ "langref.b8", "%b%b", 2, { N(0xc0dedbad), N(0x12345678) },
	  "\xad\xdb\xde\xc0\0\0\0\0\x78\x56\x34\x12\0\0\0\0", 16, 0 },
	{ "langref.hello", "%1b%1b%1blo %1b%1brld\n", 5, { N(72), N(101), N(108), N(87), N(111) },
	  "Hello World\n", -1, 0 },
	{ "b.2", "%2b", 1, { N(0x4142) }, "BA", -1, 0 },
	{ "b.4", "%4b", 1, { N(0x44434241) }, "ABCD", -1, 0 },
	{ "b.8", "%8b", 1, { N(0x4847464544434241LL) }, "ABCDEFGH", -1, 0 },
	{ "b.bad-width", "%3b", 1, { N(1) }, NULL, 0, STP_E_FORMAT },

	/* flags, width, precision (C semantics where C and the kernel agree) */
	{ "flag.plus", "%+d %+d", 2, { N(5), N(-5) }, "+5 -5", -1, 0 },
	{ "flag.space", "% d|% d", 2, { N(5), N(-5) }, " 5|-5", -1, 0 },
	{ "flag.plus-unsigned", "%+u %+x", 2, { N(5), N(255) }, "5 ff", -1, 0 },
	{ "flag.left", "%-5d|%-5x|", 2, { N(42), N(42) }, "42   |2a   |", -1, 0 },
	{ "flag.zero-neg", "%05d", 1, { N(-42) }, "-0042", -1, 0 },
	{ "flag.zero-left", "%-05d|", 1, { N(42) }, "42   |", -1, 0 },
	{ "flag.zero-plus", "%+06d", 1, { N(42) }, "+00042", -1, 0 },
	{ "flag.alt-zero", "%#08x", 1, { N(255) }, "0x0000ff", -1, 0 },
	{ "flag.alt-X", "%#X", 1, { N(255) }, "0XFF", -1, 0 },
	{ "prec.d", "%.3d|%8.3d|", 2, { N(5), N(5) }, "005|     005|", -1, 0 },
	{ "prec.neg", "%.3d", 1, { N(-5) }, "-005", -1, 0 },
	{ "star.width", "%*d|", 2, { N(6), N(42) }, "    42|", -1, 0 },
	{ "star.neg-width", "%*d|", 2, { N(-6), N(42) }, "42    |", -1, 0 },
	{ "star.prec", "%.*d", 2, { N(4), N(7) }, "0007", -1, 0 },
	{ "star.both", "%*.*d|", 3, { N(6), N(3), N(7) }, "   007|", -1, 0 },
	{ "len.ignored", "%ld %lld %hhd %zu %jd %li", 6, { N(1), N(2), N(300), N(4), N(5), N(-6) },
	  "1 2 300 4 5 -6", -1, 0 },
	{ "i.same-as-d", "%i", 1, { N(-9) }, "-9", -1, 0 },
	{ "int64.min.d", "%d", 1, { N(STP_INT64_MIN) }, "-9223372036854775808", -1, 0 },
	{ "int64.min.u", "%u", 1, { N(STP_INT64_MIN) }, "9223372036854775808", -1, 0 },
	{ "int64.min.x", "%x", 1, { N(STP_INT64_MIN) }, "8000000000000000", -1, 0 },
	{ "int64.max.d", "%d", 1, { N(STP_INT64_MAX) }, "9223372036854775807", -1, 0 },
	{ "int64.min.o", "%o", 1, { N(STP_INT64_MIN) }, "1000000000000000000000", -1, 0 },
	{ "percent", "100%% sure", 0, { N(0) }, "100% sure", -1, 0 },

	/* %s and %c */
	{ "s.plain", "<%s>", 1, { S("Foobar!") }, "<Foobar!>", -1, 0 },
	{ "s.width", "%10s|%-10s|", 2, { S("hello"), S("hello") }, "     hello|hello     |", -1, 0 },
	{ "s.prec", "%.3s|%10.3s|", 2, { S("hello"), S("hello") }, "hel|       hel|", -1, 0 },
	{ "s.star-left", "%*s|", 2, { N(-8), S("ab") }, "ab      |", -1, 0 },
	{ "s.neg-prec", "%.*s", 2, { N(-1), S("abc") }, "abc", -1, 0 },
	{ "s.empty", "[%s]", 1, { S("") }, "[]", -1, 0 },
	{ "s.null", "[%s]", 1, { S(NULL) }, "[]", -1, 0 },
	{ "c.plain", "%c%c%c%c", 4, { N(115), N(116), N(97), N(112) }, "stap", -1, 0 },
	{ "c.width", "%3c|%-3c|", 2, { N(65), N(65) }, "  A|A  |", -1, 0 },
	{ "c.low-byte", "%c", 1, { N(0x141) }, "A", -1, 0 },
	{ "c.nul", "%c", 1, { N(0) }, "\0", 1, 0 },
	{ "c.alt-newline", "%#c", 1, { N(10) }, "\\n", -1, 0 },
	{ "c.alt-high", "%#c", 1, { N(200) }, "\\310", -1, 0 },

	/* run-time errors instead of guesses */
	{ "err.trailing-percent", "abc%", 0, { N(0) }, NULL, 0, STP_E_FORMAT },
	{ "err.unknown", "%w", 1, { N(0) }, NULL, 0, STP_E_FORMAT },
	{ "err.no-conversion", "%5", 1, { N(0) }, NULL, 0, STP_E_FORMAT },
	{ "err.float", "%f", 1, { N(0) }, NULL, 0, STP_E_FORMAT },
	{ "err.missing-arg", "%d %d", 1, { N(1) }, NULL, 0, STP_E_ARGS },
	{ "err.missing-star", "%*d", 1, { N(1) }, NULL, 0, STP_E_ARGS },
	{ "err.missing-prec", "%.*s", 1, { N(1) }, NULL, 0, STP_E_ARGS },

	/* guesses: kernel number() rules; see README "guessed" */
	{ "guess.zero-and-prec", "%08.3d", 1, { N(5) }, "00000005", -1, 0 },
	{ "guess.prec0-zero", "%.0d", 1, { N(0) }, "0", -1, 0 },
	{ "guess.alt-x-zero", "%#x", 1, { N(0) }, "0x0", -1, 0 },
	{ "guess.alt-o-zero", "%#o", 1, { N(0) }, "0", -1, 0 },
	{ "guess.percent-width", "%5%", 0, { N(0) }, "%", -1, 0 },
	{ "guess.s-zero-flag", "%010s", 1, { S("hello") }, "     hello", -1, 0 },
	{ "guess.c-alt-backslash", "%#c", 1, { N('\\') }, "\\\\", -1, 0 },
	{ "guess.p-neg", "%p", 1, { N(-1) }, "0xffffffffffffffff", -1, 0 },
	{ "guess.p-prec", "%.8p|%12.8p|%-12.8p|", 3, { N(0x1234), N(0x1234), N(0x1234) },
	  "0x00001234|  0x00001234|0x00001234  |", -1, 0 },
};

/* A fake address space: kernel text at 0x1000, user text at 0x2000. */
static const char kmem[] = "/tmp/testfile1";
static const char umem[] = "USER-MEMORY";

static int fake_read(void *ctx, void *dst, uint64_t addr, size_t len, int user)
{
	const char *base = user ? umem : kmem;
	uint64_t start = user ? 0x2000 : 0x1000;
	uint64_t size = user ? sizeof(umem) : sizeof(kmem);

	(*(int *)ctx)++;
	if (addr < start || addr - start > size || len > size - (addr - start))
		return -14;
	memcpy(dst, base + (addr - start), len);
	return 0;
}

static int reads;
static const struct stp_format_env env = { fake_read, &reads };

struct mcase {
	const char *name;
	const char *fmt;
	int nargs;
	union stp_arg a[3];
	const char *want;
	int rc;
};

#define K N(0x1000)
/* systemtap.printf/memory1.stp, with filename = "/tmp/testfile1" (14 bytes) */
static const struct mcase mem_cases[] = {
	{ "memory1.default", "%m", 1, { K }, "/", 0 },
	{ "memory1.prec", "%.5m", 1, { K }, "/tmp/", 0 },
	{ "memory1.star-prec", "%.*m", 2, { N(5), K }, "/tmp/", 0 },
	{ "memory1.star-prec-all", "%.*m", 2, { N(14), K }, "/tmp/testfile1", 0 },
	{ "memory1.width", "%5m", 1, { K }, "    /", 0 },
	{ "memory1.star-width", "%*m", 2, { N(5), K }, "    /", 0 },
	{ "memory1.width-lt-prec", "%4.5m", 1, { K }, "/tmp/", 0 },
	{ "memory1.width-gt-prec", "%15.5m", 1, { K }, "          /tmp/", 0 },
	{ "memory1.star-width-lt", "%*.5m", 2, { N(4), K }, "/tmp/", 0 },
	{ "memory1.star-width-gt", "%*.5m", 2, { N(15), K }, "          /tmp/", 0 },
	{ "memory1.width-star-prec", "%4.*m", 2, { N(14), K }, "/tmp/testfile1", 0 },
	{ "memory1.width15-star-prec", "%15.*m", 2, { N(14), K }, " /tmp/testfile1", 0 },
	{ "memory1.stars-lt", "%*.*m", 3, { N(4), N(14), K }, "/tmp/testfile1", 0 },
	{ "memory1.stars-gt", "%*.*m", 3, { N(15), N(14), K }, " /tmp/testfile1", 0 },
	{ "memory1.hex", "%*.*M", 3, { N(14), N(6), K }, "  2f746d702f74", 0 },
	{ "M.default", "%M", 1, { K }, "2f", 0 },
	{ "M.left", "%-6.2M|", 1, { K }, "2f74  |", 0 },
	{ "m.left", "%-6.2m|", 1, { K }, "/t    |", 0 },
	{ "m.user", "%#.4m %#.2M", 2, { N(0x2000), N(0x2000) }, "USER 5553", 0 },
	{ "m.zero-bytes", "[%.0m]", 1, { N(0) }, "[]", 0 },
	{ "m.fault", "%.4m", 1, { N(0x9999) }, NULL, STP_E_MEMREAD },
	{ "m.fault-partial", "%.20m", 1, { K }, NULL, STP_E_MEMREAD },
};

static void run_cases(void)
{
	static char buf[512];
	char name[128];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct fcase *c = &cases[i];

		rc = stp_format(buf, sizeof(buf), c->fmt, c->a, c->nargs, NULL);
		snprintf(name, sizeof(name), "%s", c->name);
		if (c->want)
			check_bytes(name, buf, rc < 0 ? 0 : (size_t)rc, c->want,
				    c->wantlen < 0 ? strlen(c->want) : (size_t)c->wantlen);
		else
			check_int(name, rc, c->rc);
	}
	for (i = 0; i < sizeof(mem_cases) / sizeof(mem_cases[0]); i++) {
		const struct mcase *c = &mem_cases[i];

		rc = stp_format(buf, sizeof(buf), c->fmt, c->a, c->nargs, &env);
		if (c->want)
			check_bytes(c->name, buf, rc < 0 ? 0 : (size_t)rc, c->want, strlen(c->want));
		else
			check_int(c->name, rc, c->rc);
	}
}

static void truncation(void)
{
	static char buf[64];
	union stp_arg a[2];
	int rc;

	a[0].s = "hello world";
	rc = stp_format(buf, 6, "%s", a, 1, NULL);
	check_int("trunc.len", rc, 11);
	check_str("trunc.buf", buf, "hello");

	memset(buf, 'x', sizeof(buf));
	rc = stp_format(buf, 1, "%s", a, 1, NULL);
	check_int("trunc.size1.len", rc, 11);
	check_str("trunc.size1.buf", buf, "");

	rc = stp_format(NULL, 0, "%s", a, 1, NULL);
	check_int("trunc.size0.len", rc, 11);

	a[0].n = 7;
	rc = stp_format(buf, 16, "%1000000000d", a, 1, NULL);
	check_int("trunc.huge-width.len", rc, 1000000000);
	check_str("trunc.huge-width.buf", buf, "               ");

	a[0].n = (int64_t)1 << 40;
	a[1].n = 7;
	rc = stp_format(buf, 16, "%.*d", a, 2, NULL);
	check_int("trunc.huge-prec.len-saturates", rc, 0x7fffffff);
	check_str("trunc.huge-prec.buf", buf, "000000000000000");

	a[0].n = STP_INT64_MIN;
	a[1].n = 1;
	rc = stp_format(buf, 8, "%*d", a, 2, NULL);
	check_int("trunc.int64min-width.len", rc, 0x7fffffff);
	check_str("trunc.int64min-width.buf", buf, "1      ");

	a[0].n = 0x41;
	rc = stp_format(buf, 3, "%4b", a, 1, NULL);
	check_int("trunc.binary.len", rc, 4);
	check_bytes("trunc.binary.buf", buf, 3, "A\0\0", 3);

	/* %M reads only what fits, but reports the full length */
	a[0].n = 6;
	a[1].n = 0x1000;
	reads = 0;
	rc = stp_format(buf, 6, "%.*M", a, 2, &env);
	check_int("trunc.M.len", rc, 12);
	check_str("trunc.M.buf", buf, "2f746");
	check_int("trunc.M.reads", reads, 1);

	rc = stp_format(buf, sizeof(buf), "%m", a, 1, NULL);
	check_int("err.m-without-reader", rc, STP_E_MEMREAD);

	rc = stp_format(buf, sizeof(buf), "ab%wcd", a, 1, NULL);
	check_int("err.partial-output.rc", rc, STP_E_FORMAT);
	check_str("err.partial-output.buf", buf, "ab");

	rc = stp_format(buf, sizeof(buf), NULL, a, 1, NULL);
	check_int("err.null-format", rc, STP_E_FORMAT);
}

/* Deterministic pseudo-random generator for the robustness run. */
static uint64_t rng_state = 0x2545f4914f6cdd1dULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/*
 * Random formats from a hostile alphabet with random (long) arguments and
 * buffer sizes: every call must return a length or a known status, write
 * no more than size bytes and leave a NUL inside the buffer.
 */
static void robustness(void)
{
	static const char alphabet[] = "%%%%-+ #0*.123456789lhdiuoxXcpbmMsq\\n";
	static char fmt[24];
	static char buf[48];
	union stp_arg a[6];
	size_t len, size, i;
	int n, rc, bad = 0, errors = 0, oks = 0;

	for (n = 0; n < 200000; n++) {
		len = rng() % (sizeof(fmt) - 1);
		for (i = 0; i < len; i++)
			fmt[i] = alphabet[rng() % (sizeof(alphabet) - 1)];
		fmt[len] = '\0';
		for (i = 0; i < 6; i++)
			a[i].n = (int64_t)rng() >> (rng() % 64);
		size = rng() % (sizeof(buf) + 1);
		memset(buf, 'Z', sizeof(buf));
		/* only longs are passed, so %s is excluded by construction */
		if (strchr(fmt, 's'))
			continue;
		rc = stp_format(size ? buf : NULL, size, fmt, a, (int)(rng() % 7), &env);
		if (rc >= 0)
			oks++;
		else if (rc == STP_E_FORMAT || rc == STP_E_ARGS || rc == STP_E_MEMREAD)
			errors++;
		else
			bad++;
		if (size && !memchr(buf, '\0', size))
			bad++;
		if (size < sizeof(buf) && buf[size] != 'Z')
			bad++;
	}
	check_int("robustness.bad-results", bad, 0);
	check_int("robustness.some-formatted", oks > 1000, 1);
	check_int("robustness.some-rejected", errors > 1000, 1);
}

int main(void)
{
	run_cases();
	truncation();
	robustness();
	return check_summary("test_format");
}
