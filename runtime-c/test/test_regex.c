// SPDX-License-Identifier: GPL-2.0-only
/*
 * test_regex.c - the regex automaton walker on tables from the translator.
 *
 * compiler/tests/runtime_lib.rs compiles each pattern below with
 * stapkit::sema::regex and writes the C tables codegen would emit to
 * regex_tables.h (test_regexes[], in the order of `patterns` there), so
 * this checks the translator and the walker together.  The expectations
 * are POSIX ERE semantics (regex(7)) written out by hand; extents are
 * leftmost-longest (our assumption for matched(0), see regex.h).
 */
#include "../lib/regex.h"
#include "check.h"

#include "regex_tables.h"

#define MAXSTRINGLEN 128

static const struct test_regex *lookup(const char *pattern)
{
	size_t i;

	for (i = 0; i < sizeof(test_regexes) / sizeof(test_regexes[0]); i++)
		if (!strcmp(test_regexes[i].pattern, pattern))
			return &test_regexes[i];
	printf("no tables for pattern %s\n", pattern);
	exit(2);
}

/* s with bytes outside printable ASCII as \xNN, for test names. */
static const char *printable(char *buf, size_t size, const char *s)
{
	size_t n = 0;

	for (; *s && n + 5 < size; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c < 0x7f)
			buf[n++] = (char)c;
		else
			n += (size_t)snprintf(buf + n, size - n, "\\x%02x", c);
	}
	buf[n] = '\0';
	return buf;
}

static void search(const char *pattern, const char *subject, int want)
{
	const struct test_regex *re = lookup(pattern);
	char name[256], p[64], s[64];

	snprintf(name, sizeof(name), "search /%s/ in \"%s\"", printable(p, sizeof(p), pattern),
		 printable(s, sizeof(s), subject));
	check_int(name, stp_regex_search(re->search, subject, MAXSTRINGLEN), want);
}

/* want_start < 0: no match expected. */
static void find(const char *pattern, const char *subject, long want_start, long want_end)
{
	const struct test_regex *re = lookup(pattern);
	size_t start = 0, end = 0;
	char name[256];
	int r = stp_regex_find(re->anchored, subject, MAXSTRINGLEN, &start, &end);

	snprintf(name, sizeof(name), "find /%s/ in \"%s\"", pattern, subject);
	if (want_start < 0) {
		check_int(name, r, 0);
		return;
	}
	check_int(name, r == 1 ? (long)start * 1000 + (long)end : -1, want_start * 1000 + want_end);
}

/*
 * The groups of the leftmost-longest match of pattern in subject, as
 * "0=[...] 1=[...]" ("-" for a group that took no part), "nomatch", or
 * "error N".
 */
static void groups(const char *pattern, const char *subject, const char *want)
{
	static struct stp_regex_scratch scratch;
	const struct test_regex *re = lookup(pattern);
	int16_t slots[STP_RE_MAX_SLOTS];
	size_t start = 0, end = 0, len = strlen(subject);
	static char name[256], got[512];
	int r, k, n = 0;

	snprintf(name, sizeof(name), "groups /%s/ in \"%s\"", pattern, subject);
	if (!re->prog) {
		check_str(name, "no program", want);
		return;
	}
	r = stp_regex_find(re->anchored, subject, MAXSTRINGLEN, &start, &end);
	if (r != 1) {
		check_str(name, "nomatch", want);
		return;
	}
	r = stp_regex_groups(re->prog, subject, len, start, end, &scratch, slots);
	if (r < 0) {
		snprintf(got, sizeof(got), "error %d", r);
		check_str(name, got, want);
		return;
	}
	got[0] = '\0';
	for (k = 0; k < re->prog->ngroups; k++) {
		if (slots[2 * k] < 0 || slots[2 * k + 1] < 0)
			n += snprintf(got + n, sizeof(got) - (size_t)n, "%s%d=-", k ? " " : "", k);
		else
			n += snprintf(got + n, sizeof(got) - (size_t)n, "%s%d=[%.*s]", k ? " " : "", k,
				      slots[2 * k + 1] - slots[2 * k], subject + slots[2 * k]);
	}
	if (r == 0)
		snprintf(got + n, sizeof(got) - (size_t)n, " (no path)");
	check_str(name, got, want);
}

int main(void)
{
	static char longs[MAXSTRINGLEN * 2];
	struct stp_regex broken;

	search("abc", "xxabcxx", 1);
	search("abc", "abxc", 0);
	search("", "", 1);
	search("", "anything", 1);
	search("^ab", "abc", 1);
	search("^ab", "cab", 0);
	search("bc$", "abc", 1);
	search("bc$", "abcd", 0);
	search("^$", "", 1);
	search("^$", "x", 0);
	search("(^|/)etc", "/etc", 1);
	search("(^|/)etc", "xetc", 0);
	search("^a{2,3}$", "aaa", 1);
	search("^a{2,3}$", "aaaa", 0);
	search("^(cat|dog)s?$", "dogs", 1);
	search("^(cat|dog)s?$", "cow", 0);
	search("^[[:alpha:]_][[:alnum:]_]*$", "sys_open2", 1);
	search("^[[:alpha:]_][[:alnum:]_]*$", "2fast", 0);
	search("^[^/]+$", "a/b", 0);
	search("^[]a-]+$", "]-a", 1);
	search("\\.so(\\.[0-9]+)*$", "libc.so.6", 1);
	search("\\.so(\\.[0-9]+)*$", "libc.so.6x", 0);
	search("\xe9", "caf\xc3\xa9", 0);
	search("[\x80-\xff]", "caf\xc3\xa9", 1);

	find("b+", "abbbc", 1, 4);
	find("a|ab", "xab", 1, 3);
	find("x*", "abc", 0, 0);
	find("c$", "cbc", 2, 3);
	find("^$", "", 0, 0);
	find("z", "abc", -1, -1);
	find("[0-9]+", "pid 4242 ok", 4, 8);

	/* '^' holds only at the subject's start, also for the extent. */
	find("^ab|a", "xab", 1, 2);
	find("^ab|a", "abx", 0, 2);

	/* Subexpressions: greedy repetition, earlier alternatives first, the last iteration. */
	groups("str(ing)", "an example string", "0=[string] 1=[ing]");
	groups("a|(b)", "a", "0=[a] 1=-");
	groups("a|(b)", "xb", "0=[b] 1=[b]");
	groups("(a*)(a)", "xaaay", "0=[aaa] 1=[aa] 2=[a]");
	groups("(ab)+", "abab", "0=[abab] 1=[ab]");
	groups("^([a-z]+)=(.*)$", "foo=bar=baz", "0=[foo=bar=baz] 1=[foo] 2=[bar=baz]");
	groups("^([a-z]+)=(.*)$", "foo=", "0=[foo=] 1=[foo] 2=[]");
	groups("(q)?z", "zzz", "0=[z] 1=-");
	groups("(a|ab)(c|bcd)(d*)", "abcd", "0=[abcd] 1=[a] 2=[bcd] 3=[]");
	groups("((a)|b)+", "ab", "0=[ab] 1=[b] 2=[a]");
	groups("x(y)", "abc", "nomatch");
	groups("abc", "xabcx", "0=[abc]");
	groups("a{200}", "a", "no program");

	/* The subject is read up to cap bytes only (SystemTap's MAXSTRINGLEN). */
	memset(longs, 'a', sizeof(longs) - 1);
	longs[sizeof(longs) - 2] = 'z';
	check_int("cap.unterminated-read-stops", stp_regex_search(lookup("z")->search, longs, MAXSTRINGLEN), 0);
	check_int("cap.end-is-cap", stp_regex_search(lookup("a$")->search, longs, MAXSTRINGLEN), 1);

	/* A malformed table is an error, not an out-of-bounds read. */
	broken = *lookup("abc")->search;
	broken.nstates = 1;
	check_int("malformed.nstates", stp_regex_search(&broken, "abc", MAXSTRINGLEN), STP_E_INVAL);
	broken = *lookup("abc")->search;
	broken.nclasses = 1;
	check_int("malformed.class", stp_regex_search(&broken, "abc", MAXSTRINGLEN), STP_E_INVAL);
	return check_summary("test_regex");
}
