/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Per-CPU probe contexts: what a running handler has to hand (its locals,
 * the error state, its print buffer) and the rules every handler runs by
 * (MAXACTION, reentrancy, error and skip accounting).
 */
#ifndef STP_CORE_CONTEXT_H
#define STP_CORE_CONTEXT_H

/* The low-level kind of probe a handler runs for (probe_type()). */
enum stp_probe_type {
	STP_PT_BEGIN,
	STP_PT_END,
	STP_PT_ERROR,
	STP_PT_KPROBE,
	STP_PT_KRETPROBE,
	STP_PT_UPROBE,
	STP_PT_URETPROBE,
	STP_PT_TIMER,
	STP_PT_PROFILE,
	STP_PT_TRACEPOINT,
	STP_PT_PROCESS,
	STP_PT_NETFILTER,
	STP_PT_PROCFS,
	STP_PT_HWBKPT,
	STP_PT_PERF,
};

/* One probe as the generated code describes it. */
struct stp_probe {
	const char *pp;       /* probe point, as pp() returns it */
	void (*handler)(struct stp_context *c);
	const char *func;     /* the probed function, as probefunc() returns it */
#ifdef STP_NEED_PN
	const char *pn;       /* the point as the script wrote it, as pn() returns it */
#endif
};

#ifdef STP_NEED_REGEX_GROUPS
/* The last =~ on this CPU, for matched(n) and ngroups(). */
struct stp_last_match {
	int state;                      /* STP_MATCH_NONE, _FAILED or _OK */
	int ngroups;                    /* groups + 1 (the whole match) */
	int16_t slots[STP_RE_MAX_SLOTS];
	char subject[MAXSTRINGLEN];
};
#define STP_MATCH_NONE 0
#define STP_MATCH_FAILED 1
#define STP_MATCH_OK 2
#endif

struct stp_context {
	atomic_t busy;                  /* non-zero while a handler runs here */
	const struct stp_probe *probe;  /* the running probe */
	enum stp_probe_type type;       /* what kind of probe runs it */
	unsigned long probe_addr;       /* a .return probe's function, else 0 */
	const char *last_error;         /* set by a failing statement */
	const char *last_stmt;          /* "operator '/' at FILE:L:C" of it */
	long actionremain;              /* statements left (MAXACTION) */
	int nesting;                    /* function call depth */
	bool aborted;                   /* abort() ran: unwind past any catch */
	struct pt_regs *regs;           /* registers at the probe, if any */
	void *entry_data;               /* values saved at function entry, if any */
	unsigned long *tp_args;         /* a tracepoint's arguments, if any */
	/* (or a family's text: STP_PROBE_TEXT) */
	u64 overload_start;             /* start of the current overload interval (ns) */
	u64 overload_used;              /* handler time spent in it (ns) */
	size_t print_len;               /* bytes in print_buf */
	char print_buf[STP_PRINT_BUFSIZE + 1]; /* + the formatter's NUL */
	char error_buf[MAXSTRINGLEN];   /* formatted error messages */
	char scratch[MAXSTRINGLEN];     /* a string being read, before quoting */
	struct stp_tokenize_state tokenize;  /* tokenize()'s position */
	char tokenize_buf[MAXSTRINGLEN];
	char *frames;                   /* (MAXNESTING + 1) locals frames */
#ifdef STP_NEED_KSTACK
	int kstack_n;                   /* frames in kstack, -1 until walked */
	unsigned long kstack[MAXBACKTRACE];     /* the stack at the probe */
	char sym_buf[KSYM_SYMBOL_LEN];  /* an address named by kallsyms */
	char sym_line[KSYM_SYMBOL_LEN + 48];    /* one line of a printed stack */
#endif
#ifdef STP_NEED_USTACK
	int ustack_n;                   /* frames in ustack, -1 until walked */
	unsigned long ustack[MAXBACKTRACE];     /* the user stack at the probe */
	char usym_line[384];            /* one line of a printed user stack */
#endif
#ifdef STP_NEED_SYSTEM
	size_t system_len;              /* bytes in system_buf */
	char system_buf[STP_SYSTEM_BUFSIZE];    /* system() commands, NUL-separated */
#endif
#ifdef STP_NEED_REGEX_GROUPS
	struct stp_last_match last_match;       /* what the last =~ matched (matched()) */
	struct stp_regex_scratch regex_scratch; /* stp_regex_groups()'s memory */
#endif
};

/*
 * The text a family hands its handler in place of arguments (procfs's
 * $value): a buffer and its size in bytes, in the first two slots.
 */
#define STP_PROBE_TEXT(c) ((char *)(c)->tp_args[0])
#define STP_PROBE_TEXT_SIZE(c) ((size_t)(c)->tp_args[1])

/* Fails the running handler with `msg` at `stmt`; the handler unwinds. */
#define STP_ERROR(c, msg, stmt) \
	do { (c)->last_error = (msg); (c)->last_stmt = (stmt); } while (0)

/* Counts one statement; true when MAXACTION is exhausted (error set). */
static inline bool stp_action(struct stp_context *c, long n, const char *stmt)
{
	c->actionremain -= n;
	if (unlikely(c->actionremain <= 0)) {
		STP_ERROR(c, "MAXACTION exceeded", stmt);
		return true;
	}
	return false;
}

#endif /* STP_CORE_CONTEXT_H */
