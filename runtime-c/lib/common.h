/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * common.h - status codes, the script value union and the bounded output
 * writer shared by the printf engine, histogram printing and string
 * functions.
 *
 * Architecture invariant: the library never decides how an error is
 * reported.  Every failure is a negative enum stp_status; the core turns it
 * into SystemTap's "ERROR: ..." text (see README.md for the mapping).
 */
#ifndef STP_COMMON_H
#define STP_COMMON_H

#include "port.h"

/* Results of library calls: 0 is success, failures are negative. */
enum stp_status {
	STP_OK = 0,
	STP_E_FORMAT = -1,	/* malformed format string or conversion */
	STP_E_ARGS = -2,	/* format needs more arguments than given */
	STP_E_MEMREAD = -3,	/* %m/%M memory read failed (or no reader) */
	STP_E_OVERFLOW = -4,	/* map full: "Array overflow, check size limit (N)" */
	STP_E_EMPTY = -5,	/* aggregate of an empty statistic: "empty aggregate" */
	STP_E_HIST = -6,	/* histogram operation on a stat without that histogram */
	STP_E_RANGE = -7,	/* index out of bounds (stringat, histogram bucket) */
	STP_E_INVAL = -8,	/* invalid parameter (strtol base, map/stat descriptor) */
	STP_E_NOMEM = -9	/* allocation failed (init only) */
};

/* Short English name of a status, e.g. for logs and tests. */
STP_API const char *stp_status_name(int status);

/* One script value: a long or a NUL-terminated string (never NULL in use). */
union stp_arg {
	int64_t n;
	const char *s;
};

/* Type tags of map keys and values. */
enum stp_type {
	STP_TYPE_LONG = 1,
	STP_TYPE_STRING = 2,
	STP_TYPE_STAT = 3
};

/*
 * Bounded writer: appends to buf[0..size-1], always leaving room for a NUL,
 * and counts every byte it was asked to write so callers can report the
 * length they would have needed (snprintf convention).
 */
struct stp_out {
	char *buf;
	size_t size;
	uint64_t len;
};

static inline void stp_out_init(struct stp_out *o, char *buf, size_t size)
{
	o->buf = buf;
	o->size = size;
	o->len = 0;
}

/* Bytes still writable (excluding the NUL slot). */
static inline size_t stp_out_room(const struct stp_out *o)
{
	if (o->size == 0 || o->len >= (uint64_t)(o->size - 1))
		return 0;
	return (size_t)((uint64_t)(o->size - 1) - o->len);
}

static inline void stp_out_putc(struct stp_out *o, char c)
{
	if (stp_out_room(o))
		o->buf[o->len] = c;
	o->len++;
}

static inline void stp_out_fill(struct stp_out *o, char c, uint64_t n)
{
	size_t room = stp_out_room(o);

	if (room)
		memset(o->buf + o->len, c, n < room ? (size_t)n : room);
	o->len += n;
}

static inline void stp_out_write(struct stp_out *o, const char *s, size_t n)
{
	size_t room = stp_out_room(o);

	if (room)
		memcpy(o->buf + o->len, s, n < room ? n : room);
	o->len += n;
}

/* NUL-terminates and returns the full length, saturated at 0x7fffffff. */
static inline int stp_out_finish(struct stp_out *o)
{
	if (o->size) {
		if (o->len < (uint64_t)o->size)
			o->buf[o->len] = '\0';
		else
			o->buf[o->size - 1] = '\0';
	}
	return o->len > 0x7fffffffULL ? 0x7fffffff : (int)o->len;
}

#endif /* STP_COMMON_H */
