/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * check.h - tiny assertion and printing helpers for the user-space unit
 * tests of runtime-c/lib.
 *
 * Every check prints one line ("ok" or "FAIL") so the whole stdout can be
 * snapshotted; main() returns non-zero if any check failed, so a wrong
 * result fails the Rust harness even before the snapshot comparison.
 */
#ifndef STP_TEST_CHECK_H
#define STP_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK_UNUSED __attribute__((unused))

static int check_failures;
static int check_count;

/* Prints n bytes with C escapes for anything unprintable. */
static CHECK_UNUSED void show_bytes(const char *s, size_t n)
{
	size_t i;
	unsigned char c;

	putchar('"');
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '\n')
			fputs("\\n", stdout);
		else if (c == '\t')
			fputs("\\t", stdout);
		else if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static CHECK_UNUSED void show_str(const char *s)
{
	show_bytes(s, strlen(s));
}

static CHECK_UNUSED void check_result(int ok, const char *name)
{
	check_count++;
	if (!ok)
		check_failures++;
	printf("%s %s", ok ? "ok  " : "FAIL", name);
}

/* Compares n bytes; prints the value (and the expectation on failure). */
static CHECK_UNUSED void check_bytes(const char *name, const char *got, size_t gotlen, const char *want,
			size_t wantlen)
{
	int ok = gotlen == wantlen && memcmp(got, want, gotlen) == 0;

	check_result(ok, name);
	fputs(" => ", stdout);
	show_bytes(got, gotlen);
	if (!ok) {
		fputs(" EXPECTED ", stdout);
		show_bytes(want, wantlen);
	}
	putchar('\n');
}

static CHECK_UNUSED void check_str(const char *name, const char *got, const char *want)
{
	check_bytes(name, got, strlen(got), want, strlen(want));
}

static CHECK_UNUSED void check_int(const char *name, long long got, long long want)
{
	int ok = got == want;

	check_result(ok, name);
	printf(" => %lld", got);
	if (!ok)
		printf(" EXPECTED %lld", want);
	putchar('\n');
}

/*
 * Multi-line texts (histograms): on success print the text itself so the
 * snapshot shows it; on failure print both, line by line.
 */
static CHECK_UNUSED void check_text(const char *name, const char *got, const char *want)
{
	int ok = strcmp(got, want) == 0;

	check_result(ok, name);
	putchar('\n');
	if (ok) {
		fputs(got, stdout);
		return;
	}
	fputs("---- got:\n", stdout);
	fputs(got, stdout);
	fputs("---- expected:\n", stdout);
	fputs(want, stdout);
	fputs("----\n", stdout);
}

/* Reads dir/name into a static-lifetime malloc'd buffer (tests only). */
static CHECK_UNUSED char *read_data(const char *dir, const char *name)
{
	static char path[4096];
	FILE *f;
	long n;
	char *buf;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	if (!f) {
		printf("FAIL cannot open %s\n", path);
		exit(2);
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		printf("FAIL cannot read %s\n", path);
		exit(2);
	}
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* check_text() against the file name in the data directory given on the command line. */
static const char *check_datadir = ".";

static CHECK_UNUSED void check_file(const char *name, const char *got, const char *file)
{
	char *want = read_data(check_datadir, file);

	check_text(name, got, want);
	free(want);
}

static CHECK_UNUSED int check_summary(const char *prog)
{
	printf("%s: %d checks, %d failed\n", prog, check_count, check_failures);
	return check_failures ? 1 : 0;
}

#endif /* STP_TEST_CHECK_H */
