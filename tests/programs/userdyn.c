/*
 * A dynamically linked program for the guests' C library (Debian's
 * libc6 from vm-images/userland.lock, with its SDT markers): each call
 * into libc.so.6 goes through this program's procedure linkage table,
 * so scripts probe .plt stubs, libc's functions by soname and libc's own
 * markers (mallopt fires memory_mallopt and
 * memory_mallopt_mmap_threshold), and libc's own PLT (getline grows its
 * buffer with realloc, which libc calls through its PLT). Deterministic: no time, no addresses;
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
	char *block, *line = NULL;
	size_t size = 0;
	FILE *in;

	if (!freopen("/dev/null", "w", stdout))
		return 1;
	mallopt(M_MMAP_THRESHOLD, 65536);
	/* Above the threshold: a chunk of its own, mapped and unmapped. */
	block = malloc(1 << 20);
	if (!block)
		return 1;
	memset(block, 'x', 1 << 20);
	/* A line longer than getline's first buffer. */
	block[299] = '\n';
	in = fmemopen(block, 300, "r");
	if (!in || getline(&line, &size, in) != 300)
		return 1;
	fclose(in);
	free(line);
	free(block);
	puts(word);
	return 0;
}
