/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The channel to staprun: a byte ring of records drained through one
 * debugfs file, /sys/kernel/debug/stapkit/MODULE/channel.
 *
 * A record is a little-endian u32 type, a u32 length and the payload. The
 * ring is written from any context (probe handlers run with interrupts
 * off) under a raw spinlock, only tried, never spun on, by a hit that
 * interrupted its own CPU inside it (an NMI), and never sleeps or wakes
 * anyone: the reader polls with a short timeout, and poll() on the
 * channel is woken by a timer with the same period while it waits. A
 * record that does not fit is dropped and counted; the count reaches
 * staprun in the DONE record, which, like EXIT, is synthesised from
 * session state when the ring is empty and so cannot itself be lost. Mirrors staprun/src/protocol.rs.
 *
 * Protocol 2 (STP_PROTOCOL, also in .modinfo as stapkit_protocol=2 and in
 * debugfs as MODULE/protocol) adds: one reader at a time (a second open is
 * -EBUSY), so staprun can detach (close) and attach again (-L, -A) while
 * the probes run; reads hand out whole records only; and the `flight`
 * command (before `start`) makes a full ring drop its oldest records
 * instead of the newest (the flight recorder, staprun -F), which
 * MODULE/flight then reads 1. A module without the .modinfo field speaks
 * protocol 1: the same records and start/stop, nothing else.
 */
#ifndef STP_CORE_TRANSPORT_H
#define STP_CORE_TRANSPORT_H

#define STP_RECORD_STDOUT 1
#define STP_RECORD_STDERR 2
#define STP_RECORD_EXIT 3
#define STP_RECORD_DONE 4
#define STP_RECORD_SYSTEM 5	/* system(cmd): the command, for staprun to run */

/* Protocol 3 adds STP_RECORD_SYSTEM: only a module that calls system()
 * says 3, so a staprun that predates the record refuses that module
 * (naming the protocol) instead of silently skipping its commands, and
 * every other module still loads with it. */
#ifdef STP_NEED_SYSTEM
#define STP_PROTOCOL 3
#else
#define STP_PROTOCOL 2
#endif
MODULE_INFO(stapkit_protocol, __stringify(STP_PROTOCOL));

struct stp_record_header {
	u32 type;
	u32 len;
};

/* DONE payload. */
struct stp_summary {
	u32 errors;
	u32 skipped;
	u64 dropped;          /* records that did not fit ("transport failures") */
	u32 error_exit;
	u32 buffer_mb;        /* the transport buffer, MiB (stap -s) */
	u64 dropped_bytes;    /* payload bytes of the dropped records */
};

/* Queues one record; returns 0, or -ENOSPC when it does not fit or -EDEADLK
 * when it came from inside this CPU's own use of the ring (an NMI, see
 * stp_transport_lock), both counted as dropped. */
static int stp_transport_write(u32 type, const char *data, u32 len);

#endif /* STP_CORE_TRANSPORT_H */
