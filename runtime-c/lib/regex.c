// SPDX-License-Identifier: GPL-2.0-only
/*
 * regex.c - walking the translator's regular-expression automata.
 * See regex.h for the table layout.
 */
#include "regex.h"

/* The state after state st reads byte c; nstates (invalid) if malformed. */
static inline unsigned stp_regex_step(const struct stp_regex *re, unsigned st, unsigned char c)
{
	unsigned cls = re->classes[c];

	if (cls >= re->nclasses)
		return re->nstates;
	return re->next[st * re->nclasses + cls];
}

STP_API int stp_regex_search(const struct stp_regex *re, const char *s, size_t cap)
{
	unsigned st = 1;
	size_t i;

	if (re->nstates < 2)
		return STP_E_INVAL;
	for (i = 0; i < cap && s[i]; i++) {
		if (re->flags[st] & STP_RE_ACCEPT)
			return 1;
		if (st == 0)
			return 0;
		st = stp_regex_step(re, st, (unsigned char)s[i]);
		if (st >= re->nstates)
			return STP_E_INVAL;
	}
	return (re->flags[st] & (STP_RE_ACCEPT | STP_RE_ACCEPT_AT_END)) != 0;
}

STP_API int stp_regex_find(const struct stp_regex *anchored, const char *s, size_t cap,
			   size_t *start, size_t *end)
{
	size_t len = 0, from, i;
	unsigned st;
	int found;

	if (anchored->nstates < 2)
		return STP_E_INVAL;
	while (len < cap && s[len])
		len++;
	for (from = 0; from <= len; from++) {
		st = 1;
		found = 0;
		for (i = from;; i++) {
			uint8_t f = anchored->flags[st];

			if ((f & STP_RE_ACCEPT) || (i == len && (f & STP_RE_ACCEPT_AT_END))) {
				found = 1;
				*end = i;
			}
			if (i == len || st == 0)
				break;
			st = stp_regex_step(anchored, st, (unsigned char)s[i]);
			if (st >= anchored->nstates)
				return STP_E_INVAL;
		}
		if (found) {
			*start = from;
			return 1;
		}
	}
	return 0;
}
