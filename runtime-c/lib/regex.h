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

#endif /* STP_REGEX_H */
