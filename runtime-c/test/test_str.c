// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_str.c - string tapset functions and their truncation rules.
 *
 * Expectations named after a testsuite file (substr, tokenize, strtol,
 * str_replace, text_str) are SystemTap's recorded output of the same calls
 * (the .exp files of testsuite/systemtap.string); doc.* follow the tapset reference
 * (function::strpos(3stap), function::stringat(3stap), ...); guess.* are
 * ours (see README.md).
 */
#include "../lib/str.h"
#include "check.h"

#define MAXSTRINGLEN 128

static char buf[MAXSTRINGLEN];

static const char *substr(const char *s, int64_t start, int64_t len)
{
	stp_substr(buf, sizeof(buf), s, start, len);
	return buf;
}

static void testsuite_substr(void)
{
	const char *s = "Hello World!";

	check_str("substr.0,0", substr(s, 0, 0), "");
	check_str("substr.-1,10", substr(s, -1, 10), "");
	check_str("substr.10,0", substr(s, 10, 0), "");
	check_str("substr.0,1", substr(s, 0, 1), "H");
	check_str("substr.1,1", substr(s, 1, 1), "e");
	check_str("substr.2,1", substr(s, 2, 1), "l");
	check_str("substr.2,5", substr(s, 2, 5), "llo W");
	check_str("substr.6,1", substr(s, 6, 1), "W");
	check_str("substr.11,1", substr(s, 11, 1), "!");
	check_str("substr.11,100", substr(s, 11, 100), "!");
	check_str("substr.12,1", substr(s, 12, 1), "");
	check_str("substr.0,10", substr(s, 0, 10), "Hello Worl");
	check_str("substr.0,100", substr(s, 0, 100), "Hello World!");
	check_str("substr.0,100000", substr(s, 0, 100000), "Hello World!");
	check_str("substr.huge-start", substr(s, STP_INT64_MAX, 1), "");
	check_str("substr.negative-length", substr(s, 1, -3), "");
	check_str("substr.int64-length", substr(s, 3, STP_INT64_MAX), "lo World!");
	strcpy(buf, "in place");
	stp_substr(buf, sizeof(buf), buf, 3, 5);
	check_str("substr.aliased", buf, "place");
	stp_substr(buf, 4, "abcdef", 1, 10);
	check_str("substr.cap", buf, "bcd");
}

/* tok = tokenize(str, delim); while (tok != "") { println(tok); tok = tokenize("", delim2) } */
static void tokenize_all(char *out, const char *str, const char *delim, const char *delim2)
{
	static char state_buf[MAXSTRINGLEN];
	static struct stp_tokenize_state st;
	static int init;
	char tok[MAXSTRINGLEN];

	if (!init) {
		stp_tokenize_init(&st, state_buf, sizeof(state_buf));
		init = 1;
	}
	stp_tokenize(tok, sizeof(tok), str, delim, &st);
	while (tok[0]) {
		strcat(out, tok);
		strcat(out, "\n");
		stp_tokenize(tok, sizeof(tok), "", delim2, &st);
	}
	strcat(out, "-\n");
}

static void testsuite_tokenize(void)
{
	static char out[2048];

	tokenize_all(out, "one|two|three|four|five|six|seven|eight|nine|ten", "|", "|");
	tokenize_all(out, "one|two|three|four|five|six|seven|eight|nine|ten", ",", "|");
	tokenize_all(out, "a,b,c,d,e,f,g", ",", ",");
	tokenize_all(out, "1,,2,3, ,4", ",", ",");
	tokenize_all(out, "", ",", ",");
	tokenize_all(out, "this is a string with no delimiters", ",", ",");
	tokenize_all(out, "this is a string, which has two delimiters", ", ", ", ");
	check_str("tokenize", out,
		  "one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\nten\n-\n"
		  "one|two|three|four|five|six|seven|eight|nine|ten\n-\n"
		  "a\nb\nc\nd\ne\nf\ng\n-\n"
		  "1\n2\n3\n \n4\n-\n"
		  "-\n"
		  "this is a string with no delimiters\n-\n"
		  "this\nis\na\nstring\nwhich\nhas\ntwo\ndelimiters\n-\n");
}

static void tokenize_state(void)
{
	char state_buf[8], input[32], tok[32];
	struct stp_tokenize_state st;

	stp_tokenize_init(&st, state_buf, sizeof(state_buf));
	stp_tokenize(tok, sizeof(tok), "", ",", &st);
	check_str("tokenize.fresh-state", tok, "");
	strcpy(input, "ab,cd,ef,gh");
	stp_tokenize(tok, sizeof(tok), input, ",", &st);
	input[0] = 'X';	/* the state holds its own copy */
	check_str("tokenize.first", tok, "ab");
	stp_tokenize(tok, sizeof(tok), "", ",", &st);
	check_str("tokenize.copy-is-private", tok, "cd");
	stp_tokenize(tok, sizeof(tok), "", ",", &st);
	check_str("tokenize.state-truncated-to-cap", tok, "e");
	stp_tokenize(tok, sizeof(tok), "", ",", &st);
	check_str("tokenize.exhausted", tok, "");
	stp_tokenize(tok, sizeof(tok), "", ",", &st);
	check_str("tokenize.stays-exhausted", tok, "");
	stp_tokenize(tok, sizeof(tok), "x y", "", &st);
	check_str("tokenize.empty-delim", tok, "x y");
	stp_tokenize(tok, 3, "abcdef", ",", &st);
	check_str("tokenize.dst-cap", tok, "ab");
}

static void testsuite_strtol(void)
{
	int64_t v;

#define STRTOL(name, s, base, want)                  \
	do {                                         \
		stp_strtol(s, base, &v);             \
		check_int(name, v, want);            \
	} while (0)
	STRTOL("strtol.1", "1", 10, 1);
	STRTOL("strtol.-1", "-1", 10, -1);
	STRTOL("strtol.123456789", "123456789", 10, 123456789);
	STRTOL("strtol.-123456789", "-123456789", 10, -123456789);
	STRTOL("strtol.abcdef", "abcdef", 10, 0);
	STRTOL("strtol.1a2b", "1a2b3c4d5e6f7g8h9", 10, 1);
	STRTOL("strtol.leading-space", " 1 2 3 4", 10, 0);
	STRTOL("strtol.empty", "", 10, 0);
	STRTOL("strtol.1000", "1000", 10, 1000);
	STRTOL("strtol.1000/16", "1000", 16, 4096);
	STRTOL("strtol.1000/8", "1000", 8, 512);
	STRTOL("strtol.1000/2", "1000", 2, 8);
	STRTOL("guess.strtol.0x-prefix", "0x1f", 16, 31);
	STRTOL("guess.strtol.base0-hex", "0x1f", 0, 31);
	STRTOL("guess.strtol.base0-octal", "017", 0, 15);
	STRTOL("guess.strtol.base0-dec", "17", 0, 17);
	STRTOL("guess.strtol.base36", "zz", 36, 1295);
	STRTOL("guess.strtol.min", "-9223372036854775808", 10, STP_INT64_MIN);
	STRTOL("guess.strtol.wraps", "18446744073709551617", 10, 1);
	check_int("guess.strtol.bad-base", stp_strtol("1", 1, &v), STP_E_INVAL);
	check_int("guess.strtol.bad-base37", stp_strtol("1", 37, &v), STP_E_INVAL);
#undef STRTOL
}

static void testsuite_str_replace(void)
{
	static const char *s1 = "hello system tap";
	static const char *s2 = "Here I am, on the road again. there I am, up on the stage, "
				"Here I go, playing star again. There I go, turn the page.- Bob Seger";

	/* str_replace.exp ran with -DMAXSTRINGLEN=128 */
	stp_str_replace(buf, 128, s1, "system", "pointer");
	check_str("str_replace.1", buf, "hello pointer tap");
	stp_str_replace(buf, 128, s1, "hello", "pointer");
	check_str("str_replace.2", buf, "pointer system tap");
	stp_str_replace(buf, 128, s1, "tap", "pointer");
	check_str("str_replace.3", buf, "hello system pointer");
	stp_str_replace(buf, 128, s2, "road", "bored");
	check_str("str_replace.truncated", buf,
		  "Here I am, on the bored again. there I am, up on the stage, Here I go, playing "
		  "star again. There I go, turn the page.- Bob Sege");
	stp_str_replace(buf, 128, s2, "Here", "here");
	check_str("str_replace.all", buf,
		  "here I am, on the road again. there I am, up on the stage, here I go, playing "
		  "star again. There I go, turn the page.- Bob Seger");
	stp_str_replace(buf, 128, s2, "Bob Seger", "Metallica");
	check_str("str_replace.end", buf,
		  "Here I am, on the road again. there I am, up on the stage, Here I go, playing "
		  "star again. There I go, turn the page.- Metallica");
	stp_str_replace(buf, 128, s1, "system", "");
	check_str("str_replace.empty-repl", buf, "hello  tap");
	stp_str_replace(buf, 128, s1, "", "pointer");
	check_str("str_replace.empty-search", buf, "hello system tap");
	stp_str_replace(buf, 128, "", "", "pointer");
	check_str("str_replace.empty-all", buf, "");
	stp_str_replace(buf, 128, "aaaa", "aa", "b");
	check_str("str_replace.non-overlapping", buf, "bb");
	stp_str_replace(buf, 8, "abcabcabc", "b", "XYZ");
	check_str("str_replace.cap", buf, "aXYZcaX");
}

static void text_str(const char *name, const char *s, int64_t len, int quoted, const char *want)
{
	stp_text_strn(buf, sizeof(buf), s, len, quoted);
	check_str(name, buf, want);
}

static void testsuite_text_str(void)
{
	const char *a = "1234567890", *b = "12345678901234567890";
	const char *c = "123456789012345678901234567890";
	const char *a2 = "\n\nXYZZY\031", *b2 = "\077\231\a\n\n\r\n";
	const char *c2 = "\n\nXYZZY\031\077\231\a\n\n\r\n";

	stp_text_str(buf, sizeof(buf), c);
	check_str("text_str.plain", buf, c);
	text_str("text_strn.0,0.a", a, 0, 0, a);
	text_str("text_strn.10,0.b", b, 10, 0, "1234567890");
	text_str("text_strn.10,0.c", c, 10, 0, "1234567890");
	text_str("text_strn.0,1.a", a, 0, 1, "\"1234567890\"");
	text_str("text_strn.0,1.c", c, 0, 1, "\"123456789012345678901234567890\"");
	text_str("text_strn.10,1.a", a, 10, 1, "\"12345\"...");
	text_str("text_strn.10,1.b", b, 10, 1, "\"12345\"...");
	text_str("text_strn.12,1.a", a, 12, 1, "\"1234567890\"");
	text_str("text_strn.12,1.b", b, 12, 1, "\"1234567\"...");
	text_str("text_strn.12,1.c", c, 12, 1, "\"1234567\"...");

	stp_text_str(buf, sizeof(buf), a2);
	check_str("text_str.a", buf, "\\n\\nXYZZY\\031");
	stp_text_str(buf, sizeof(buf), b2);
	check_str("text_str.b", buf, "?\\231\\a\\n\\n\\r\\n");
	stp_text_str(buf, sizeof(buf), c2);
	check_str("text_str.c", buf, "\\n\\nXYZZY\\031?\\231\\a\\n\\n\\r\\n");
	text_str("text_strn.10.a", a2, 10, 0, "\\n\\nXYZZY");
	text_str("text_strn.10.b", b2, 10, 0, "?\\231\\a\\n");
	text_str("text_strn.10.c", c2, 10, 0, "\\n\\nXYZZY");
	text_str("text_strn.12.a", a2, 12, 0, "\\n\\nXYZZY");
	text_str("text_strn.12.b", b2, 12, 0, "?\\231\\a\\n\\n");
	text_str("text_strn.12.c", c2, 12, 0, "\\n\\nXYZZY");
	text_str("text_strn.quoted.a", a2, 0, 1, "\"\\n\\nXYZZY\\031\"");
	text_str("text_strn.quoted.b", b2, 0, 1, "\"?\\231\\a\\n\\n\\r\\n\"");
	text_str("text_strn.quoted.c", c2, 0, 1, "\"\\n\\nXYZZY\\031?\\231\\a\\n\\n\\r\\n\"");
	text_str("text_strn.10,1.a2", a2, 10, 1, "\"\\n\\nX\"...");
	text_str("text_strn.10,1.b2", b2, 10, 1, "\"?\\231\"...");
	text_str("text_strn.10,1.c2", c2, 10, 1, "\"\\n\\nX\"...");
	text_str("text_strn.15,1.a2", a2, 15, 1, "\"\\n\\nXYZZY\\031\"");
	text_str("text_strn.15,1.b2", b2, 15, 1, "\"?\\231\\a\\n\"...");
	text_str("text_strn.15,1.c2", c2, 15, 1, "\"\\n\\nXYZZY\"...");

	stp_string_quoted(buf, sizeof(buf), "tab\there");
	check_str("string_quoted", buf, "\"tab\\there\"");
	stp_string_quoted(buf, sizeof(buf), "say \"hi\" \\o/ it's");
	check_str("guess.string_quoted.quotes", buf, "\"say \\\"hi\\\" \\\\o/ it\\'s\"");
	stp_text_strn(buf, 8, "abcdefghij", 0, 0);
	check_str("text_strn.len0-is-cap", buf, "abcdefg");
	stp_text_strn(buf, 8, "abcdefghij", 0, 1);
	check_str("text_strn.quoted-cap", buf, "\"ab\"...");
	stp_text_strn(buf, sizeof(buf), "abcdefghij", 3, 1);
	check_str("guess.text_strn.quoted-len<5", buf, "\"\"...");
	stp_text_strn(buf, sizeof(buf), "\177\200\377", 0, 0);
	check_str("text_str.high-bytes", buf, "\\177\\200\\377");
}

static void doc_misc(void)
{
	int64_t v;

	check_int("doc.strlen", stp_strlen("hello"), 5);
	check_int("doc.strlen-empty", stp_strlen(""), 0);
	check_int("doc.isinstr.yes", stp_isinstr("hello world", "o w"), 1);
	check_int("doc.isinstr.no", stp_isinstr("hello", "hello!"), 0);
	check_int("doc.isinstr.empty", stp_isinstr("hello", ""), 1);
	check_int("doc.strpos.prefix", stp_strpos("hello", "he"), 0);
	check_int("doc.strpos.first", stp_strpos("abcabc", "bc"), 1);
	check_int("doc.strpos.none", stp_strpos("abc", "x"), -1);
	check_int("doc.strpos.longer", stp_strpos("ab", "abc"), -1);
	check_int("doc.stringat.0", (stp_stringat("ok", 0, &v), v), 'o');
	check_int("doc.stringat.1", (stp_stringat("ok", 1, &v), v), 'k');
	check_int("doc.stringat.end", stp_stringat("ok", 2, &v), STP_E_RANGE);
	check_int("doc.stringat.negative", stp_stringat("ok", -1, &v), STP_E_RANGE);
	check_int("doc.stringat.high-byte-unsigned", (stp_stringat("\377", 0, &v), v), 255);
	check_int("doc.isdigit.yes", stp_isdigit("7up"), 1);
	check_int("doc.isdigit.no", stp_isdigit("up7"), 0);
	check_int("doc.isdigit.empty", stp_isdigit(""), 0);
}

static void concat_and_longs(void)
{
	char small[8];

	strcpy(buf, "foo");
	stp_strlcat(buf, "bar", sizeof(buf));
	check_str("concat", buf, "foobar");
	stp_strlcat(buf, buf, sizeof(buf));
	check_str("concat.self", buf, "foobarfoobar");
	strcpy(small, "abc");
	check_int("concat.truncated.len", (long long)stp_strlcat(small, "defghij", sizeof(small)), 7);
	check_str("concat.truncated", small, "abcdefg");
	check_int("strlcpy.truncated.len", (long long)stp_strlcpy(small, "0123456789", sizeof(small)), 7);
	check_str("strlcpy.truncated", small, "0123456");
	stp_long_to_str(buf, sizeof(buf), STP_INT64_MIN);
	check_str("long.min", buf, "-9223372036854775808");
	stp_long_to_str(buf, sizeof(buf), STP_INT64_MAX);
	check_str("long.max", buf, "9223372036854775807");
	stp_long_to_str(buf, sizeof(buf), 0);
	check_str("long.zero", buf, "0");
	stp_long_to_str(small, 4, -12345);
	check_str("long.truncated", small, "-12");
	check_int("strcmp.unsigned", stp_strcmp("\200", "a") > 0, 1);
	check_int("strcmp.prefix", stp_strcmp("ab", "abc") < 0, 1);
	check_int("strcmp.equal", stp_strcmp("abc", "abc"), 0);
	check_int("cap0.substr", (long long)stp_substr(NULL, 0, "abc", 0, 2), 0);
	check_int("cap0.text_str", (long long)stp_text_str(NULL, 0, "abc"), 0);
	check_int("cap0.long", (long long)stp_long_to_str(NULL, 0, 5), 0);
}

/*
 * Random strings (all byte values) and capacities through every producer:
 * results must stay inside the buffer, NUL-terminated, and agree with the
 * returned length.
 */
static void robustness(void)
{
	static char in1[40], in2[6], in3[6], out[40], state[16];
	struct stp_tokenize_state st;
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	size_t i, cap, n;
	int round, bad = 0;
	int64_t v;

	stp_tokenize_init(&st, state, sizeof(state));
	for (round = 0; round < 100000; round++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		for (i = 0; i < sizeof(in1) - 1; i++)
			in1[i] = (char)("ab,\\\"\n\001\377%"[(x >> (i % 60)) % 10]);
		in1[(x >> 3) % sizeof(in1)] = '\0';
		in1[sizeof(in1) - 1] = '\0';
		memcpy(in2, in1 + (x >> 9) % 8, sizeof(in2) - 1);
		in2[(x >> 12) % sizeof(in2)] = '\0';
		in2[sizeof(in2) - 1] = '\0';
		memcpy(in3, in1 + (x >> 15) % 8, sizeof(in3) - 1);
		in3[(x >> 18) % sizeof(in3)] = '\0';
		in3[sizeof(in3) - 1] = '\0';
		cap = (x >> 21) % (sizeof(out) + 1);
		memset(out, 'Z', sizeof(out));
		switch ((x >> 27) % 6) {
		case 0:
			n = stp_text_strn(cap ? out : NULL, cap, in1, (int64_t)((x >> 30) % 50) - 5,
					  (int)((x >> 40) & 1));
			break;
		case 1:
			n = stp_str_replace(cap ? out : NULL, cap, in1, in2, in3);
			break;
		case 2:
			n = stp_substr(cap ? out : NULL, cap, in1, (int64_t)((x >> 30) % 50) - 5,
				       (int64_t)((x >> 36) % 50) - 5);
			break;
		case 3:
			n = stp_tokenize(cap ? out : NULL, cap, (x >> 30) & 1 ? in1 : "", in2, &st);
			break;
		case 4:
			n = stp_long_to_str(cap ? out : NULL, cap, (int64_t)x);
			break;
		default:
			stp_strtol(in1, (int64_t)((x >> 30) % 40), &v);
			n = stp_strpos(in1, in2) >= 0 ? 0 : 0;
			cap = 0;
			break;
		}
		if (cap && (n >= cap || out[n] != '\0' || strlen(out) != n))
			bad++;
		if (cap < sizeof(out) && out[cap] != 'Z')
			bad++;
	}
	check_int("robustness.bad-results", bad, 0);
}

int main(void)
{
	testsuite_substr();
	testsuite_tokenize();
	tokenize_state();
	testsuite_strtol();
	testsuite_str_replace();
	testsuite_text_str();
	doc_misc();
	concat_and_longs();
	robustness();
	return check_summary("test_str");
}
