/*
 * A small C program that test scripts probe through its DWARF (stapkit's
 * own test input): built with -g, then stripped with its debug
 * information in a separate file at its build-id path, the way
 * distributions ship programs. Deterministic: no time, no addresses.
 */
#include <string.h>

struct point {
	int x;
	long y;
	const char *name;
};

/* The struct is read through $p->x, $p->y and $p->name. */
__attribute__((noinline)) int user_scale(struct point *p, int factor)
{
	int scaled = p->x * factor;

	scaled += (int)p->y;
	return scaled;
}

/* A loop with a local read at one line, and labels to probe. */
__attribute__((noinline)) long user_total(int n, unsigned char step)
{
	long acc = 0;
	int i;

	for (i = 0; i < n; i++)
		add: acc += i * step;
done:	return acc;
}

int main(int argc, char **argv)
{
	struct point pt = { 3, 40, "origin" };
	int factor = argc > 1 ? (int)strlen(argv[1]) : 2;
	int r = user_scale(&pt, factor);
	long t = user_total(4, 5);

	/* No output: the probes' lines are the test's whole stdout. */
	return r + t == 79 ? 0 : 1;
}

/* A global read as $user_base (a PIE build moves it with the program). */
long user_base = 40;
