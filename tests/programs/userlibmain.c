/*
 * A dynamically linked program that calls tests/programs/userlib.c's
 * shared library (libuserlib.so.1, found by the guest's dynamic loader
 * in /usr/lib), so that scripts probe a library's functions and
 * statements through the library's own debug file. Deterministic: no
 * time, no addresses; it writes nothing.
 */

struct userlib_range {
	int lo;
	int hi;
	const char *label;
};

long userlib_sum(const struct userlib_range *r, int stride);

int main(int argc, char **argv)
{
	/*
	 * The labels live on the stack, which is mapped in: a string in a
	 * page of .rodata not yet touched faults in the probe's user_string().
	 */
	char odd_label[] = "odd", even_label[] = "even";
	struct userlib_range odd = { 1, 8, odd_label };
	struct userlib_range even = { 2, 8, even_label };
	int stride = argc > 1 ? 2 : 3;
	long total = userlib_sum(&odd, stride) + userlib_sum(&even, stride);

	(void)argv;
	/* 1+3+5+7 and 2+4+6 with "abc" as the argument. */
	return total == 28 ? 0 : 1;
}
