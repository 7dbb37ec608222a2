/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The per-context print buffer: a handler's output is collected here and
 * handed to the transport as one record when the handler ends (or earlier,
 * when the buffer fills), so output from one probe hit is never interleaved
 * with another CPU's.
 */

static void stp_print_flush(struct stp_context *c)
{
	if (c->print_len) {
		stp_transport_write(STP_RECORD_STDOUT, c->print_buf, c->print_len);
		c->print_len = 0;
	}
}

/* Appends `len` bytes of output. */
static void stp_print_bytes(struct stp_context *c, const char *s, size_t len)
{
	while (len) {
		size_t room = STP_PRINT_BUFSIZE - c->print_len;
		size_t n = min(room, len);

		if (!room) {
			stp_print_flush(c);
			continue;
		}
		memcpy(c->print_buf + c->print_len, s, n);
		c->print_len += n;
		s += n;
		len -= n;
	}
}

/* Appends a NUL-terminated string. */
static void stp_print_str(struct stp_context *c, const char *s)
{
	stp_print_bytes(c, s, strnlen(s, MAXSTRINGLEN));
}

/* Appends a number in decimal, as print() shows a long. */
static void stp_print_long(struct stp_context *c, int64_t n)
{
	char buf[24];
	int len = scnprintf(buf, sizeof(buf), "%lld", (long long)n);

	stp_print_bytes(c, buf, len);
}

/* Appends one character. */
static void stp_print_char(struct stp_context *c, char ch)
{
	stp_print_bytes(c, &ch, 1);
}
