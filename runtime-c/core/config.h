/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Limits every module is built with. Each can be overridden with
 * `stap -D NAME=VALUE`; the defaults are SystemTap's documented ones.
 */
#ifndef STP_CORE_CONFIG_H
#define STP_CORE_CONFIG_H

/* Longest string, including its NUL. */
#ifndef MAXSTRINGLEN
#define MAXSTRINGLEN 512
#endif
/* Statements one probe handler may execute. */
#ifndef MAXACTION
#define MAXACTION 1000
#endif
/* Depth of nested function calls. */
#ifndef MAXNESTING
#define MAXNESTING 10
#endif
/* Default capacity of a global array without a declared size. */
#ifndef MAXMAPENTRIES
#define MAXMAPENTRIES 2048
#endif
/* Errors tolerated before the script is stopped (0: the first one stops it). */
#ifndef MAXERRORS
#define MAXERRORS 0
#endif
/* Skipped probe hits tolerated before the script is stopped. */
#ifndef MAXSKIPPED
#define MAXSKIPPED 100
#endif
/* Attempts to take a global's lock before the probe hit is skipped. */
#ifndef MAXTRYLOCK
#define MAXTRYLOCK MAXACTION
#endif
/* Microseconds between those attempts. */
#ifndef TRYLOCKDELAY
#define TRYLOCKDELAY 10
#endif
/* Frames a kernel backtrace keeps (backtrace(), print_backtrace()). */
#ifndef MAXBACKTRACE
#define MAXBACKTRACE 20
#endif
/* Empty histogram rows kept around each non-empty run before eliding. */
#ifndef HIST_ELISION
#define HIST_ELISION 2
#endif
/*
 * Overload protection: if probe handlers on one CPU use more than
 * STP_OVERLOAD_THRESHOLD of every STP_OVERLOAD_INTERVAL (ns), the script
 * is stopped ("probe overhead exceeded threshold"). -DSTP_NO_OVERLOAD
 * turns the check off.
 */
#ifndef STP_OVERLOAD_INTERVAL
#define STP_OVERLOAD_INTERVAL 1000000000LL
#endif
#ifndef STP_OVERLOAD_THRESHOLD
#define STP_OVERLOAD_THRESHOLD 500000000LL
#endif
/* Bytes a probe handler may print before its output is flushed early. */
#ifndef STP_PRINT_BUFSIZE
#define STP_PRINT_BUFSIZE 8192
#endif
/* Bytes of system() commands one handler may queue (NUL-separated). */
#ifndef STP_SYSTEM_BUFSIZE
#define STP_SYSTEM_BUFSIZE 2048
#endif
/* Bytes of output the transport holds for staprun (stap -s MB sets it;
 * SystemTap's default is 16 MiB). */
#ifndef STP_TRANSPORT_BUFSIZE
#define STP_TRANSPORT_BUFSIZE (16 << 20)
#endif

#endif /* STP_CORE_CONFIG_H */
