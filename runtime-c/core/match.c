// SPDX-License-Identifier: GPL-2.0-only
/*
 * match.c - what the last =~ matched, for the regex tapset's matched(n),
 * matched_str() and ngroups().  Compiled only into modules that call them
 * (the translator defines STP_NEED_REGEX_GROUPS); each =~ of such a module
 * records its outcome here, per context (per CPU).  As in SystemTap, a
 * handler starts with whatever the last =~ on its CPU left (none at first):
 * `probe begin { "a" =~ "(a)" } probe end { ngroups() }` gives 2 when both
 * ran on one CPU.
 */
#ifdef STP_NEED_REGEX_GROUPS

/*
 * Records the outcome of `s =~ pattern` (matched: the search automaton's
 * answer): on a match, a copy of s and the offsets of every group, found
 * with the anchored automaton and the pattern's program.  Sets a script
 * error and returns < 0 only for malformed tables.
 */
static int stp_match_record(struct stp_context *c, int matched, const struct stp_regex *anchored,
			    const struct stp_regex_prog *prog, const char *s, const char *stmt)
{
	struct stp_last_match *m = &c->last_match;
	size_t start = 0, end = 0, len;
	int r;

	if (!matched) {
		m->state = STP_MATCH_FAILED;
		m->ngroups = 1;
		return 0;
	}
	stp_strlcpy(m->subject, s, MAXSTRINGLEN);
	len = strlen(m->subject);
	r = stp_regex_find(anchored, m->subject, len, &start, &end);
	if (r == 1)
		r = stp_regex_groups(prog, m->subject, len, start, end, &c->regex_scratch, m->slots);
	if (r < 0) {
		m->state = STP_MATCH_NONE;
		STP_ERROR(c, "internal error: malformed regular expression table", stmt);
		return r;
	}
	m->ngroups = prog->ngroups;
	m->state = STP_MATCH_OK;
	return 0;
}

/*
 * matched(n) into out (size bytes): "" for a group that took no part.
 * As SystemTap: n is checked against the groups of the last match first
 * (a failed match, or none yet on this CPU, has only group 0), then
 * whether it matched.
 */
static void stp_match_group(struct stp_context *c, char *out, size_t size, int64_t n)
{
	const struct stp_last_match *m = &c->last_match;
	int ngroups = m->state == STP_MATCH_OK ? m->ngroups : 1;
	int16_t from, to;

	out[0] = '\0';
	if (n < 0 || n >= ngroups) {
		stp_error_fmt(c, "Attempted to get nonexistent subexpression %lld", (long long)n);
		return;
	}
	if (m->state != STP_MATCH_OK) {
		stp_error_fmt(c, "Attempted to get subexpression %lld from failed match", (long long)n);
		return;
	}
	from = m->slots[2 * n];
	to = m->slots[2 * n + 1];
	if (from < 0 || to < from)
		return;
	stp_strlcpy(out, m->subject + from, min_t(size_t, size, (size_t)(to - from) + 1));
}

/* ngroups(). */
static int64_t stp_match_ngroups(struct stp_context *c)
{
	if (c->last_match.state != STP_MATCH_OK) {
		stp_error_fmt(c, "Attempted to get subexpression count from failed match");
		return 0;
	}
	return c->last_match.ngroups;
}

#endif /* STP_NEED_REGEX_GROUPS */
