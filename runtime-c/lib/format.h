/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * format.h - the printf engine behind printf/sprintf (and print of values).
 *
 * Conversions (SystemTap's set):  %d %i %u %o %x %X %c %s %p %b %m %M %%
 * Flags: '-' '+' ' ' '#' '0'; width and precision as digits or '*' (taken
 * from the next argument, as a long; a negative '*' width means '-', a
 * negative '*' precision means "none"); length modifiers h hh l ll L q j z t
 * are accepted and ignored.  Integer conversions follow the Linux kernel's
 * number() rules (precision is a minimum digit count and does not cancel
 * '0'; %#x prints "0x0" for zero).  Full rules: runtime-c/lib/README.md.
 *
 * The Rust side validates formats at compile time; at run time anything
 * malformed returns STP_E_FORMAT instead of guessing.
 */
#ifndef STP_FORMAT_H
#define STP_FORMAT_H

#include "common.h"

/* Services the core supplies to the engine. */
struct stp_format_env {
	/*
	 * Fault-safe read of len bytes at addr into dst, from user memory if
	 * user != 0 (%#m/%#M) else kernel memory; returns 0, or < 0 on a fault.
	 */
	int (*read_mem)(void *ctx, void *dst, uint64_t addr, size_t len, int user);
	void *ctx;
};

/*
 * Formats fmt with args[0..nargs-1] into buf (size bytes, always
 * NUL-terminated when size > 0).  Returns the full length the output needed
 * (which may exceed size-1: the output was truncated; saturates at
 * 0x7fffffff), or a negative enum stp_status (buf then holds the partial
 * output).  %b and %m may emit NUL bytes: use the returned length, not
 * strlen.  env may be NULL if fmt has no %m/%M.
 */
STP_API int stp_format(char *buf, size_t size, const char *fmt, const union stp_arg *args,
		       int nargs, const struct stp_format_env *env);

#endif /* STP_FORMAT_H */
