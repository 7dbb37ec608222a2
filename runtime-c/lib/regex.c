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
		st = from ? anchored->restart : 1;
		if (st >= anchored->nstates)
			return STP_E_INVAL;
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

/*
 * Adds the thread at pc (position pos, capture slots sc->slots) to list l
 * with everything reachable from it without consuming a byte, in priority
 * order; instructions already reached in this step (mark == gen) are
 * skipped, their earlier thread having priority.
 */
static int stp_regex_add(const struct stp_regex_prog *prog, struct stp_regex_scratch *sc,
			 struct stp_regex_threads *l, uint16_t pc0, size_t pos, size_t len,
			 uint16_t gen, int nslots)
{
	unsigned sp = 0;

	sc->stack[sp].pc = pc0;
	sc->stack[sp].slot = -1;
	sp++;
	while (sp > 0) {
		uint16_t pc, a;

		sp--;
		if (sc->stack[sp].slot >= 0) {
			sc->slots[sc->stack[sp].slot] = sc->stack[sp].old;
			continue;
		}
		pc = sc->stack[sp].pc;
		if (pc >= prog->ninsns)
			return STP_E_INVAL;
		if (sc->mark[pc] == gen)
			continue;
		sc->mark[pc] = gen;
		a = prog->a[pc];
		/* Each instruction is visited once per step and pushes at most two entries. */
		switch (prog->ops[pc]) {
		case STP_RE_OP_SPLIT:
			sc->stack[sp].pc = prog->b[pc];
			sc->stack[sp].slot = -1;
			sc->stack[sp + 1].pc = a;
			sc->stack[sp + 1].slot = -1;
			sp += 2;
			break;
		case STP_RE_OP_BOL:
		case STP_RE_OP_EOL:
			if ((prog->ops[pc] == STP_RE_OP_BOL) ? pos == 0 : pos == len) {
				sc->stack[sp].pc = a;
				sc->stack[sp].slot = -1;
				sp++;
			}
			break;
		case STP_RE_OP_SAVE:
			if (a >= nslots) {
				sc->stack[sp].pc = prog->b[pc];
				sc->stack[sp].slot = -1;
				sp++;
				break;
			}
			sc->stack[sp].slot = (int16_t)a;
			sc->stack[sp].old = sc->slots[a];
			sc->stack[sp + 1].pc = prog->b[pc];
			sc->stack[sp + 1].slot = -1;
			sp += 2;
			sc->slots[a] = (int16_t)pos;
			break;
		case STP_RE_OP_BYTES:
		case STP_RE_OP_MATCH:
			if (prog->ops[pc] == STP_RE_OP_BYTES && a >= prog->nsets)
				return STP_E_INVAL;
			l->pc[l->n] = pc;
			memcpy(l->slots[l->n], sc->slots, sizeof(int16_t) * (size_t)nslots);
			l->n++;
			break;
		default:
			return STP_E_INVAL;
		}
	}
	return 0;
}

STP_API int stp_regex_groups(const struct stp_regex_prog *prog, const char *s, size_t len,
			     size_t start, size_t end, struct stp_regex_scratch *scratch,
			     int16_t *slots)
{
	struct stp_regex_threads *cur = &scratch->lists[0], *nxt = &scratch->lists[1], *tmp;
	int nslots = 2 * (int)prog->ngroups, k, r;
	uint16_t gen = 1, i;
	size_t pos;

	if (prog->ninsns > STP_RE_MAX_INSNS || prog->ngroups < 1 ||
	    prog->ngroups > STP_RE_MAX_GROUPS || start > end || end > len || len > 0x7fff)
		return STP_E_INVAL;
	for (k = 0; k < nslots; k++)
		slots[k] = -1;
	slots[0] = (int16_t)start;
	slots[1] = (int16_t)end;
	memset(scratch->mark, 0, sizeof(scratch->mark));
	for (k = 0; k < nslots; k++)
		scratch->slots[k] = -1;
	cur->n = 0;
	r = stp_regex_add(prog, scratch, cur, prog->start, start, len, gen, nslots);
	if (r < 0)
		return r;
	for (pos = start;; pos++) {
		nxt->n = 0;
		gen++;
		for (i = 0; i < cur->n; i++) {
			uint16_t pc = cur->pc[i];

			if (prog->ops[pc] == STP_RE_OP_MATCH) {
				if (pos != end)
					continue;
				/* The first thread to finish at end has the highest priority. */
				for (k = 2; k < nslots; k++)
					slots[k] = cur->slots[i][k];
				return 1;
			}
			if (pos == end || !(prog->sets[prog->a[pc]][(unsigned char)s[pos] >> 3] &
					    (1U << ((unsigned char)s[pos] & 7))))
				continue;
			memcpy(scratch->slots, cur->slots[i], sizeof(int16_t) * (size_t)nslots);
			r = stp_regex_add(prog, scratch, nxt, prog->b[pc], pos + 1, len, gen, nslots);
			if (r < 0)
				return r;
		}
		if (pos == end || nxt->n == 0)
			return 0;
		tmp = cur;
		cur = nxt;
		nxt = tmp;
	}
}
