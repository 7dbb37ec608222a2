/*
 * A shared library that test scripts probe through its DWARF (stapkit's
 * own test input): built with -g as libuserlib.so.1 (its soname), then
 * stripped with its debug information in a separate file at its
 * build-id path, the way distributions ship libraries. The guests carry
 * it at /usr/lib/libuserlib.so.1, where their dynamic loader looks;
 * tests/programs/userlibmain.c calls it. Deterministic: no time, no
 * addresses.
 */

struct userlib_range {
	int lo;
	int hi;
	const char *label;
};

/* Calls so far: a global of the library, for @var. */
int userlib_calls;

/* A struct read through $r->lo and $r->label; a loop read at one line. */
__attribute__((noinline)) long userlib_sum(const struct userlib_range *r, int stride)
{
	long sum = 0;
	int v;

	userlib_calls++;
	for (v = r->lo; v < r->hi; v += stride)
		sum += v;
	return sum;
}
