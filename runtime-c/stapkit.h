/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * stapkit runtime: the one header every generated module includes, once.
 * Generated code is one translation unit: configuration, this runtime,
 * then the script's globals, functions, probes and its stp_module_desc.
 */
#ifndef STAPKIT_H
#define STAPKIT_H

#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/init.h>
#include <linux/types.h>
#include <linux/string.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/spinlock.h>
#include <linux/mutex.h>
#include <linux/wait.h>
#include <linux/sched.h>
#include <linux/debugfs.h>
#include <linux/uaccess.h>
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/random.h>
#include <linux/delay.h>
#include <linux/cpumask.h>
#include <linux/smp.h>
#include <linux/fs.h>
#include <linux/poll.h>
#include <asm/irq_regs.h>
#include <asm/syscall.h>
#include <linux/compat.h>
#include <linux/cred.h>
#include <linux/uidgid.h>
#include <linux/time.h>
#include <linux/timekeeping.h>
#include <linux/jiffies.h>
#include <linux/timex.h>
#include <linux/rcupdate.h>
#include <linux/kprobes.h>
#include <linux/namei.h>
#include <linux/uprobes.h>
#include <linux/binfmts.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/task_work.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/user_namespace.h>
#include <linux/fdtable.h>
#include <linux/fs_struct.h>
#include <linux/mm.h>
#include <linux/sched/loadavg.h>
#include <linux/kallsyms.h>
#include <linux/version.h>
#include <linux/netfilter.h>
#include <linux/proc_fs.h>
#include <linux/netdevice.h>
#include <net/net_namespace.h>

#include "stp_features.h"
#include "core/config.h"
#include "core/compat.h"

/* The data library, compiled into this one translation unit. */
#define STP_API static __maybe_unused
#include "lib/port.h"
#include "lib/common.h"
#include "lib/str.h"
#include "lib/format.h"
#include "lib/stat.h"
#include "lib/map.h"
#include "lib/regex.h"
#include "lib/quote.h"
#include "lib/softfp.h"
#include "lib/common.c"
#include "lib/str.c"
#include "lib/format.c"
#include "lib/stat.c"
#include "lib/map.c"
#include "lib/regex.c"
#include "lib/quote.c"
#include "lib/softfp.c"

struct stp_context;
/* Defined in core/task.c, which session.c's start and end call. */
static void stp_task_init(void);
static void stp_task_exit(void);

#include "core/transport.h"
#include "core/context.h"
#include "core/params.h"

#include "core/transport.c"
#include "core/context.c"
#include "core/print.c"
#include "core/data.c"
#include "core/match.c"
#include "core/access.c"
#include "core/guru.c"
#include "core/uaccess.c"
#include "core/kstack.c"
#include "core/ustack.c"
#include "core/session.c"
#include "core/task.c"
#include "core/probe_info.c"

/* The probe families: each defines its table entry (`struct stp_kprobe`,
 * ...) and its `struct stp_family` operations, which the generated module
 * descriptor lists for the families the script uses. */
#include "core/timer.c"
#include "core/kprobe.c"
#include "core/uentry.c"
#include "core/uprobe.c"
#include "core/regs.c"
#include "core/tracepoint.c"
#include "core/process.c"
#include "core/netfilter.c"
#include "core/procfs.c"
#include "core/hwbkpt.c"
#include "core/perf.c"

#endif /* STAPKIT_H */
