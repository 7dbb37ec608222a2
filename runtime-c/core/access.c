/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What tapset functions need from the kernel: fault-safe copies of memory
 * a script names by address, task fields, calendar time. A bad address is
 * a script error (stp_error_fmt), never an oops.
 */

/* v narrowed to size bytes, as a value of that size and signedness. */
static inline int64_t stp_narrow(uint64_t v, int size, bool is_signed)
{
	switch (size) {
	case 1:
		return is_signed ? (int64_t)(s8)v : (int64_t)(u8)v;
	case 2:
		return is_signed ? (int64_t)(s16)v : (int64_t)(u16)v;
	case 4:
		return is_signed ? (int64_t)(s32)v : (int64_t)(u32)v;
	default:
		return (int64_t)v;
	}
}

/*
 * Copies the NUL-terminated string at addr (kernel, or the current
 * process's memory when user) into dst, truncated to cap - 1 bytes.
 * Returns its length, or < 0 on a fault.
 */
static __maybe_unused long stp_copy_string(char *dst, int64_t addr, size_t cap, int user)
{
	size_t i;
	long rc;

	if (cap == 0)
		return 0;
	/*
	 * The strncpy_from_*_nofault helpers are not exported to modules;
	 * copy_from_{kernel,user}_nofault are, so copy a byte at a time.
	 */
	for (i = 0; i + 1 < cap; i++) {
		const void *src = (const void *)(uintptr_t)(addr + i);

		if (user)
			rc = copy_from_user_nofault(&dst[i], (const void __user *)src, 1);
		else
			rc = copy_from_kernel_nofault(&dst[i], src, 1);
		if (rc) {
			dst[0] = '\0';
			return -EFAULT;
		}
		if (dst[i] == '\0')
			return i;
	}
	dst[i] = '\0';
	return i;
}

/* The comm of a task known to be valid (current). */
static __maybe_unused void stp_task_comm(char *dst, struct task_struct *task)
{
	char comm[TASK_COMM_LEN];

	memcpy(comm, task->comm, sizeof(comm));
	comm[TASK_COMM_LEN - 1] = '\0';
	stp_strlcpy(dst, comm, MAXSTRINGLEN);
}

/* An int field at offset off of the task_struct at task, read fault-safely. */
static __maybe_unused int64_t stp_task_field_int(struct stp_context *c, int64_t task, size_t off)
{
	int v;

	if (copy_from_kernel_nofault(&v, (const void *)(uintptr_t)(task + off), sizeof(v))) {
		stp_error_fmt(c, "kernel read fault at 0x%llx [man error::fault]", (unsigned long long)task);
		return 0;
	}
	return v;
}

/* ctime(): "Thu Jan  1 00:00:00 1970" for seconds since the epoch, UTC. */
static __maybe_unused void stp_ctime(char *dst, size_t cap, int64_t secs)
{
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;

	time64_to_tm(secs, 0, &tm);
	scnprintf(dst, cap, "%s %s %2d %02d:%02d:%02d %lld", days[tm.tm_wday], months[tm.tm_mon],
		  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long long)tm.tm_year + 1900);
}

/*
 * Target expressions: reads size (1, 2, 4 or 8) bytes of kernel memory at
 * addr into *out, sign- or zero-extended. A bad address fails the handler
 * with SystemTap's "read fault" text; returns false then.
 */
union stp_unit {
	u8 b;
	u16 h;
	u32 w;
	u64 q;
};

/* The size-byte (1, 2, 4; anything else: 8) member of v, zero-extended. */
static inline u64 stp_unit_value(const union stp_unit *v, int size)
{
	return size == 1 ? v->b : size == 2 ? v->h : size == 4 ? v->w : v->q;
}

/* Fails the handler with SystemTap's text for a read of addr that faulted. */
static __maybe_unused void stp_read_fault(struct stp_context *c, uint64_t addr, const char *stmt)
{
	scnprintf(c->error_buf, sizeof(c->error_buf), "read fault [man error::fault] at 0x%llx",
		  (unsigned long long)addr);
	STP_ERROR(c, c->error_buf, stmt);
}

/* The end of a target read of size bytes at addr into v: SystemTap's fault
 * text when the copy failed (failed != 0), else the value, extended. */
static __maybe_unused bool stp_read_done(struct stp_context *c, long failed, uint64_t addr,
					 const union stp_unit *v, int size, bool is_signed,
					 int64_t *out, const char *stmt)
{
	if (failed) {
		stp_read_fault(c, addr, stmt);
		return false;
	}
	*out = stp_narrow(stp_unit_value(v, size), size, is_signed);
	return true;
}

static __maybe_unused bool stp_kread(struct stp_context *c, uint64_t addr, int size, bool is_signed,
				     int64_t *out, const char *stmt)
{
	union stp_unit v;
	long failed = stp_copy_from_kernel_nofault(&v, (const void *)(uintptr_t)addr, size);

	return stp_read_done(c, failed, addr, &v, size, is_signed, out, stmt);
}

/*
 * Copies size (1, 2, 4 or 8) bytes to kernel memory; false on a fault.
 * copy_to_kernel_nofault() (5.8, renamed from probe_kernel_write() in the
 * same change as the read side) is not exported to modules, so from 5.8
 * on this does what it does with the exported-by-header primitive.
 */
static bool stp_copy_to_kernel(void *dst, const void *src, int size)
{
	/*
	 * No kernel object lives below the top of user space, and a store
	 * there (NULL) is an oops rather than a fault the primitive recovers
	 * from, as SystemTap 5.1's set_kernel_long(0, 1) shows on 6.1.
	 */
	if ((unsigned long)dst < TASK_SIZE_MAX)
		return false;
	pagefault_disable();
	switch (size) {
	case 1:
		stp_put_kernel_nofault(dst, src, u8, fault);
		break;
	case 2:
		stp_put_kernel_nofault(dst, src, u16, fault);
		break;
	case 4:
		stp_put_kernel_nofault(dst, src, u32, fault);
		break;
	default:
		stp_put_kernel_nofault(dst, src, u64, fault);
	}
	pagefault_enable();
	return true;
fault:
	pagefault_enable();
	return false;
}

/*
 * Guru mode: stores the low `size` bytes of value at kernel address addr;
 * a bad address is a script error, as for reads.
 */
static __maybe_unused bool stp_kwrite(struct stp_context *c, uint64_t addr, int size, int64_t value,
				      const char *stmt)
{
	union {
		u8 b;
		u16 h;
		u32 w;
		u64 q;
	} v;

	switch (size) {
	case 1:
		v.b = (u8)value;
		break;
	case 2:
		v.h = (u16)value;
		break;
	case 4:
		v.w = (u32)value;
		break;
	default:
		v.q = (u64)value;
		size = 8;
	}
	if (!stp_copy_to_kernel((void *)(uintptr_t)addr, &v, size)) {
		scnprintf(c->error_buf, sizeof(c->error_buf),
			  "write fault [man error::fault] at 0x%016llx (addr)", (unsigned long long)addr);
		STP_ERROR(c, c->error_buf, stmt);
		return false;
	}
	return true;
}

/* Guru mode: replaces the bitfield of `width` bits at bit `shift` of the size-byte unit at addr. */
static __maybe_unused bool stp_kwrite_bits(struct stp_context *c, uint64_t addr, int size, int shift,
					   int width, int64_t value, const char *stmt)
{
	int64_t unit;
	uint64_t mask = (width >= 64 ? ~0ULL : ((1ULL << width) - 1)) << shift;

	if (!stp_kread(c, addr, size, false, &unit, stmt))
		return false;
	unit = (int64_t)(((uint64_t)unit & ~mask) | (((uint64_t)value << shift) & mask));
	return stp_kwrite(c, addr, size, unit, stmt);
}

/* The bitfield of `width` bits at bit `shift` of unit, sign-extended if asked. */
static __maybe_unused int64_t stp_bits_of(int64_t unit, int shift, int width, bool is_signed)
{
	uint64_t bits = ((uint64_t)unit >> shift) & (width >= 64 ? ~0ULL : ((1ULL << width) - 1));

	if (is_signed && width < 64 && (bits >> (width - 1)) & 1)
		bits |= ~0ULL << width;
	return (int64_t)bits;
}

/* A bitfield of `width` bits at bit `shift` of the size-byte unit at addr. */
static __maybe_unused bool stp_kread_bits(struct stp_context *c, uint64_t addr, int size, int shift,
					  int width, bool is_signed, int64_t *out, const char *stmt)
{
	int64_t unit;

	if (!stp_kread(c, addr, size, false, &unit, stmt))
		return false;
	*out = stp_bits_of(unit, shift, width, is_signed);
	return true;
}

/*
 * A UTF-16 (width 2) or UTF-32 (width 4) string at addr, NUL-terminated,
 * decoded into UTF-8 in dst (cap bytes; longer text is cut at a whole
 * character). Returns 0; -EFAULT when it cannot be read; -EILSEQ for a
 * unit that is no character, *bad being its value and *bad_at its address.
 */
static __maybe_unused int stp_copy_utf(char *dst, size_t cap, int64_t addr, int width, int user,
				       uint32_t *bad, uint64_t *bad_at)
{
	size_t len = 0, i;

	dst[0] = '\0';
	for (i = 0; i < MAXSTRINGLEN; i++) {
		uint64_t at = addr + i * width;
		uint32_t unit = 0, cp;
		long rc;

		if (user)
			rc = stp_copy_from_user_nofault(&unit, (const void __user *)(uintptr_t)at, width);
		else
			rc = stp_copy_from_kernel_nofault(&unit, (const void *)(uintptr_t)at, width);
		if (rc) {
			dst[0] = '\0';
			return -EFAULT;
		}
		if (width == 2)
			unit &= 0xffff;
		if (unit == 0)
			return 0;
		cp = unit;
		if (width == 2 && unit >= 0xd800 && unit <= 0xdbff) {
			uint32_t low = 0;

			if (user)
				rc = stp_copy_from_user_nofault(&low, (const void __user *)(uintptr_t)(at + 2), 2);
			else
				rc = stp_copy_from_kernel_nofault(&low, (const void *)(uintptr_t)(at + 2), 2);
			if (rc) {
				dst[0] = '\0';
				return -EFAULT;
			}
			if (low < 0xdc00 || low > 0xdfff) {
				*bad = unit;
				*bad_at = at;
				return -EILSEQ;
			}
			cp = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
			i++;
		} else if ((unit >= 0xd800 && unit <= 0xdfff) || unit > 0x10ffff) {
			*bad = unit;
			*bad_at = at;
			return -EILSEQ;
		}
		if (!stp_utf8_append(dst, cap, &len, cp))
			return 0;
	}
	return 0;
}

/*
 * inlen bytes at addr (kernel, or user memory when user) quoted into dst
 * (MAXSTRINGLEN), at most outlen characters (0: MAXSTRINGLEN). Returns 0,
 * or -EFAULT when they cannot be read.
 */
static __maybe_unused int stp_buffer_quoted(struct stp_context *c, char *dst, int64_t addr, int64_t inlen,
					    int64_t outlen, int user)
{
	size_t len = inlen < 0 ? 0 : min_t(int64_t, inlen, MAXSTRINGLEN);
	long rc;

	if (user)
		rc = stp_copy_from_user_nofault(c->scratch, (const void __user *)(uintptr_t)addr, len);
	else
		rc = stp_copy_from_kernel_nofault(c->scratch, (const void *)(uintptr_t)addr, len);
	if (rc)
		return -EFAULT;
	stp_quote_buffer(dst, MAXSTRINGLEN, c->scratch, len, outlen);
	return 0;
}

/*
 * The *_string_utf16/utf32 functions: the string at addr decoded into dst
 * (MAXSTRINGLEN). With err_msg, a failure gives err_msg; without, it is
 * the script error SystemTap reports.
 */
static __maybe_unused void stp_utf_string(struct stp_context *c, char *dst, int64_t addr, int width, int user,
					  const char *err_msg)
{
	uint32_t bad = 0;
	uint64_t bad_at = 0;
	int rc = stp_copy_utf(dst, MAXSTRINGLEN, addr, width, user, &bad, &bad_at);

	if (!rc)
		return;
	if (err_msg) {
		stp_strlcpy(dst, err_msg, MAXSTRINGLEN);
	} else if (rc == -EFAULT) {
		dst[0] = '\0';
		stp_error_fmt(c, "%s string copy fault at 0x%llx [man error::fault]", user ? "user" : "kernel",
			      (unsigned long long)addr);
	} else {
		dst[0] = '\0';
		stp_error_fmt(c, "invalid UTF-%d character U+%04X at 0x%llx", width * 8, bad,
			      (unsigned long long)bad_at);
	}
}

/*
 * The *_string_quoted_utf16/utf32 functions: the decoded string quoted,
 * or the address in hex when it cannot be read. where: 0 kernel, 1 user,
 * 2 kernel then user, where a user fault is an error.
 */
static __maybe_unused void stp_utf_quoted(struct stp_context *c, char *dst, int64_t addr, int width, int where)
{
	uint32_t bad = 0;
	uint64_t bad_at = 0;
	int rc = stp_copy_utf(c->scratch, MAXSTRINGLEN, addr, width, where == 1, &bad, &bad_at);

	if (rc == -EFAULT && where == 2)
		rc = stp_copy_utf(c->scratch, MAXSTRINGLEN, addr, width, 1, &bad, &bad_at);
	if (!rc) {
		stp_quote_utf8(dst, MAXSTRINGLEN, c->scratch, 0);
	} else if (where == 2 && rc == -EFAULT) {
		dst[0] = '\0';
		stp_error_fmt(c, "user string copy fault at 0x%llx [man error::fault]", (unsigned long long)addr);
	} else {
		scnprintf(dst, MAXSTRINGLEN, "0x%llx", (unsigned long long)addr);
	}
}

/*
 * Stores len bytes of s and a NUL at addr (kernel, or user memory when
 * user). Returns 0 or -EFAULT.
 */
static __maybe_unused int stp_put_string(int64_t addr, const char *s, size_t len, int user)
{
	size_t i;

	for (i = 0; i <= len; i++) {
		char ch = i < len ? s[i] : '\0';
		bool ok;

		if (user)
			ok = !copy_to_user_nofault((void __user *)(uintptr_t)(addr + i), &ch, 1);
		else
			ok = stp_copy_to_kernel((void *)(uintptr_t)(addr + i), &ch, 1);
		if (!ok)
			return -EFAULT;
	}
	return 0;
}
