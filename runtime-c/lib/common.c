// SPDX-License-Identifier: GPL-2.0-only
/*
 * common.c - names for enum stp_status.
 */
#include "common.h"

STP_API const char *stp_status_name(int status)
{
	switch (status) {
	case STP_OK:
		return "ok";
	case STP_E_FORMAT:
		return "bad format";
	case STP_E_ARGS:
		return "missing format argument";
	case STP_E_MEMREAD:
		return "memory read failed";
	case STP_E_OVERFLOW:
		return "array overflow";
	case STP_E_EMPTY:
		return "empty aggregate";
	case STP_E_HIST:
		return "no such histogram";
	case STP_E_RANGE:
		return "index out of bounds";
	case STP_E_INVAL:
		return "invalid argument";
	case STP_E_NOMEM:
		return "out of memory";
	default:
		return "unknown status";
	}
}
