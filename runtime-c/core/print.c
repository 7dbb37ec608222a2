/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The per-context print buffer: a handler's output is collected here and
 * handed to the transport as one record when the handler ends (or earlier,
 * when the buffer fills), so output from one probe hit is never interleaved
 * with another CPU's.
 */

static __maybe_unused void stp_print_flush(struct stp_context *c)
{
	if (c->print_len) {
		stp_transport_write(STP_RECORD_STDOUT, c->print_buf, c->print_len);
		c->print_len = 0;
	}
}

#ifdef STP_NEED_SYSTEM
/*
 * system(cmd): the command waits in the context until the handler has
 * ended and its output is queued, then goes to staprun as a SYSTEM record
 * (staprun runs it with /bin/sh), so it runs after the probe completes
 * and after the output the probe printed. A command that does not fit
 * is not run, with a warning.
 */
static __maybe_unused void stp_system(struct stp_context *c, const char *cmd)
{
	size_t len = strlen(cmd) + 1;

	if (len > STP_SYSTEM_BUFSIZE - c->system_len) {
		stp_stderr("WARNING: system() command not run, over %d bytes of commands in one probe: %s\n",
			   STP_SYSTEM_BUFSIZE, cmd);
		return;
	}
	memcpy(c->system_buf + c->system_len, cmd, len);
	c->system_len += len;
}

/* Hands the handler's system() commands to staprun, in order. */
static __maybe_unused void stp_system_flush(struct stp_context *c)
{
	size_t at = 0;

	while (at < c->system_len) {
		size_t len = strlen(c->system_buf + at);

		stp_transport_write(STP_RECORD_SYSTEM, c->system_buf + at, len);
		at += len + 1;
	}
	c->system_len = 0;
}
#endif

/* Appends `len` bytes of output. */
static __maybe_unused void stp_print_bytes(struct stp_context *c, const char *s, size_t len)
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
static __maybe_unused void stp_print_str(struct stp_context *c, const char *s)
{
	stp_print_bytes(c, s, strnlen(s, MAXSTRINGLEN));
}

/* Appends a number in decimal, as print() shows a long. */
static __maybe_unused void stp_print_long(struct stp_context *c, int64_t n)
{
	char buf[24];
	int len = scnprintf(buf, sizeof(buf), "%lld", (long long)n);

	stp_print_bytes(c, buf, len);
}

/* Appends one character. */
static __maybe_unused void stp_print_char(struct stp_context *c, char ch)
{
	stp_print_bytes(c, &ch, 1);
}

/* Fault-safe memory reads for %m and %M. */
static __maybe_unused int stp_read_mem(void *ctx, void *dst, uint64_t addr, size_t len, int user)
{
	if (user)
		return copy_from_user_nofault(dst, (const void __user *)(uintptr_t)addr, len) ? -EFAULT : 0;
	return copy_from_kernel_nofault(dst, (const void *)(uintptr_t)addr, len) ? -EFAULT : 0;
}

static const struct stp_format_env stp_format_env = { .read_mem = stp_read_mem };

/* Fails the handler for a library status (compile-time-checked formats only fail on bad memory). */
static __maybe_unused void stp_format_failed(struct stp_context *c, int status)
{
	STP_ERROR(c, status == STP_E_MEMREAD ? "read fault in %m/%M" : "printf failed", NULL);
}

/*
 * printf: formats straight into the print buffer, flushing first if needed.
 * The buffer has a byte beyond STP_PRINT_BUFSIZE for the formatter's NUL,
 * so all STP_PRINT_BUFSIZE bytes can hold output.
 */
static __maybe_unused void stp_printf(struct stp_context *c, const char *fmt, const union stp_arg *args, int nargs)
{
	size_t room = STP_PRINT_BUFSIZE - c->print_len;
	int n = stp_format(c->print_buf + c->print_len, room + 1, fmt, args, nargs, &stp_format_env);

	if (n < 0) {
		stp_format_failed(c, n);
		return;
	}
	if ((size_t)n > room && c->print_len) {
		stp_print_flush(c);
		room = STP_PRINT_BUFSIZE;
		n = stp_format(c->print_buf, room + 1, fmt, args, nargs, &stp_format_env);
		if (n < 0) {
			stp_format_failed(c, n);
			return;
		}
	}
	/* Output longer than the whole buffer is truncated to it, as SystemTap's is. */
	c->print_len += min_t(size_t, n, room);
}

/* sprintf into a MAXSTRINGLEN-style buffer (truncating, as SystemTap does). */
static __maybe_unused void stp_sprintf(struct stp_context *c, char *dst, size_t size, const char *fmt,
			const union stp_arg *args, int nargs)
{
	int n = stp_format(dst, size, fmt, args, nargs, &stp_format_env);

	if (n < 0)
		stp_format_failed(c, n);
}

/* Appends a long in decimal to a string buffer (sprint of a number). */
static __maybe_unused void stp_strlcat_long(char *dst, int64_t v, size_t cap)
{
	char num[24];

	stp_long_to_str(num, sizeof(num), v);
	stp_strlcat(dst, num, cap);
}

/* a % b without the INT64_MIN % -1 trap (division by 0 is checked before). */
static __maybe_unused inline int64_t stp_mod64(int64_t a, int64_t b)
{
	return b == -1 ? 0 : a % b;
}

/* Prints a C-formatted line into the handler's output. */
static __maybe_unused __printf(2, 3) void stp_print_fmt(struct stp_context *c, const char *fmt, ...)
{
	char buf[160];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vscnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	stp_print_bytes(c, buf, n);
}
