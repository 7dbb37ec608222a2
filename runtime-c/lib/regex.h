/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * regex.h - running the regular-expression automata of `=~` and `!~`.
 *
 * The translator compiles every pattern (a POSIX extended regular
 * expression) into DFA transition tables; the generated module holds them
 * as static const data and this file walks them: no allocation, no
 * recursion, every loop bounded by the subject's capacity.
 *
 * An automaton (struct stp_regex) is a table next[state * nclasses +
 * class] over byte classes (classes[byte]); state 0 is dead (no match
 * possible any more), state 1 is the start state.  Per state, flags say
 * whether a match ends here (STP_RE_ACCEPT) or would end here if this were
 * the end of the subject, `$` being satisfied (STP_RE_ACCEPT_AT_END).
 *
 * Each pattern has two automata: a search automaton (unanchored, accepting
 * states absorbing) answering "does it match anywhere?", and an anchored one
 * for the extent of the leftmost-longest match.
 */
#ifndef STP_REGEX_H
#define STP_REGEX_H

#include "common.h"

#define STP_RE_ACCEPT 1
#define STP_RE_ACCEPT_AT_END 2

/* One DFA, as emitted by the translator. */
struct stp_regex {
	const uint8_t *classes;	/* 256 entries: byte -> class */
	const uint16_t *next;	/* nstates * nclasses entries */
	const uint8_t *flags;	/* nstates entries: STP_RE_* */
	uint16_t nclasses;
	uint16_t nstates;
	uint16_t restart;	/* anchored: start state after the first byte (no '^') */
};

/*
 * `s =~ pattern` with the pattern's search automaton: 1 if it matches
 * anywhere in s (at most cap bytes are read, cap normally MAXSTRINGLEN),
 * 0 if not; STP_E_INVAL if the table is malformed.
 */
STP_API int stp_regex_search(const struct stp_regex *re, const char *s, size_t cap);

/*
 * The leftmost-longest match of the pattern's anchored automaton in s:
 * returns 1 and sets *start and *end (byte offsets, end exclusive), 0 if
 * there is no match, STP_E_INVAL if the table is malformed.  Quadratic in
 * the subject length at worst (bounded by cap).
 */
STP_API int stp_regex_find(const struct stp_regex *anchored, const char *s, size_t cap,
			   size_t *start, size_t *end);

/*
 * Subexpressions (matched(n)).  The translator also emits the pattern's
 * Thompson NFA as a program (struct stp_regex_prog); once the automata
 * have found the leftmost-longest extent [start, end) of a match,
 * stp_regex_groups() runs the program as a Pike VM over exactly that
 * extent: threads in priority order (a SPLIT tries its first operand
 * first, so repetition is greedy and earlier alternatives win), at most
 * one thread per instruction, so time is O(extent * instructions) and
 * memory the fixed struct stp_regex_scratch.  No recursion: epsilon moves
 * are followed with an explicit stack bounded by 2 * STP_RE_MAX_INSNS.
 */
#define STP_RE_MAX_INSNS 128
#define STP_RE_MAX_GROUPS 10			/* the whole match and 9 groups */
#define STP_RE_MAX_SLOTS (2 * STP_RE_MAX_GROUPS)

enum stp_regex_op {
	STP_RE_OP_BYTES = 0,	/* a byte of sets[a], then b */
	STP_RE_OP_SPLIT = 1,	/* a, else b */
	STP_RE_OP_BOL = 2,	/* '^': at offset 0, then a */
	STP_RE_OP_EOL = 3,	/* '$': at the end of the subject, then a */
	STP_RE_OP_SAVE = 4,	/* slot a = position, then b */
	STP_RE_OP_MATCH = 5,
};

/* A pattern's NFA, as emitted by the translator. */
struct stp_regex_prog {
	const uint8_t *ops;
	const uint16_t *a;
	const uint16_t *b;
	const uint8_t (*sets)[32];	/* bit (c % 8) of byte c / 8: byte c is in the set */
	uint16_t ninsns;		/* at most STP_RE_MAX_INSNS */
	uint16_t nsets;
	uint16_t start;
	uint16_t ngroups;		/* parenthesised groups + 1 (the whole match) */
};

struct stp_regex_threads {
	uint16_t n;
	uint16_t pc[STP_RE_MAX_INSNS];
	int16_t slots[STP_RE_MAX_INSNS][STP_RE_MAX_SLOTS];
};

/* Working memory of stp_regex_groups(); one per context, never on the stack. */
struct stp_regex_scratch {
	struct stp_regex_threads lists[2];
	uint16_t mark[STP_RE_MAX_INSNS];
	struct {
		uint16_t pc;
		int16_t slot;		/* >= 0: restore slots[slot] to old */
		int16_t old;
	} stack[2 * STP_RE_MAX_INSNS + 2];
	int16_t slots[STP_RE_MAX_SLOTS];
};

/*
 * The groups of the match of prog that spans exactly [start, end) of s
 * (len bytes): slots[2k], slots[2k+1] are group k's offsets, -1 when
 * group k took no part; group 0 is [start, end).  Returns 1, 0 if no path
 * of the program spans [start, end) (then only group 0 is set), or
 * STP_E_INVAL if the program is malformed or larger than the scratch.
 */
STP_API int stp_regex_groups(const struct stp_regex_prog *prog, const char *s, size_t len,
			     size_t start, size_t end, struct stp_regex_scratch *scratch,
			     int16_t *slots);

#endif /* STP_REGEX_H */
