/*
 * A dynamically linked program for the guests' C library (Debian's
 * libc6 from vm-images/userland.lock, with its SDT markers): each call
 * into libc.so.6 goes through this program's procedure linkage table,
 * so scripts probe .plt stubs, libc's functions by soname and libc's own
 * markers (mallopt fires memory_mallopt and
 * memory_mallopt_mmap_threshold). Deterministic: no time, no addresses;
 * it writes nothing (stdout goes to /dev/null before puts), so a
 * script's output is the module's alone.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	const char *word = argc > 1 ? argv[1] : "none";
	char *block;

	if (!freopen("/dev/null", "w", stdout))
		return 1;
	mallopt(M_MMAP_THRESHOLD, 65536);
	/* Above the threshold: a chunk of its own, mapped and unmapped. */
	block = malloc(1 << 20);
	if (!block)
		return 1;
	memset(block, 'x', 1 << 20);
	free(block);
	puts(word);
	return 0;
}
