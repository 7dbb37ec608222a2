/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What users' embedded C (guru mode, and tapsets of their own) expects of
 * the runtime besides CONTEXT, STAP_ARG_*, STAP_RETVALUE and STAP_ERROR:
 * guarded kernel memory access, as SystemTap's language reference tells
 * embedded C to use for "any pointers that could potentially be invalid".
 *
 *   kread(ptr)                  *ptr, read without the risk of an oops
 *   kwrite(ptr, value)          *ptr = value, likewise
 *   kderef(size, addr)          the size-byte (1, 2, 4, 8) value at addr
 *   store_kderef(size, addr, v) stores it
 *   kderef_buffer(dst, addr, n) copies n bytes to dst (NULL: only checks
 *                               that they can be read)
 *   kderef_string(dst, addr, n) copies a string of at most n - 1 bytes
 *
 * A fault sets the script's error (the text target-variable reads give,
 * "read fault [man error::fault] at 0x..." or "write fault ... (addr)")
 * and jumps to the label that CATCH_DEREF_FAULT() places, once, near the
 * end of the function; the function then ends as after STAP_ERROR, and
 * the error is reported at its call. DEREF_FAULT(addr) and
 * STORE_DEREF_FAULT(addr) raise the same errors from the user's own
 * checks. The macros need CONTEXT, which embedded functions define.
 */

/*
 * SystemTap's configuration macros that users' embedded C tests (pfiles.stp:
 * struct file's f_path, <linux/uidgid.h>), true on every kernel stapkit
 * builds for.
 */
#define STAPCONF_DPATH_PATH 1
#define STAPCONF_LINUX_UIDGID_H 1

/* Sets the script's error for a fault reading (or writing) addr. */
static __maybe_unused void stp_deref_fault(struct stp_context *c, bool write, uint64_t addr)
{
	if (!write) {
		stp_read_fault(c, addr, NULL);
		return;
	}
	scnprintf(c->error_buf, sizeof(c->error_buf),
		  "write fault [man error::fault] at 0x%016llx (addr)", (unsigned long long)addr);
	STP_ERROR(c, c->error_buf, NULL);
}

/* Copies n bytes of kernel memory at addr to dst, or only reads them when
 * dst is NULL; false on a fault. */
static __maybe_unused bool stp_kderef_buffer(void *dst, uint64_t addr, size_t n)
{
	u8 scratch[64];

	if (dst)
		return !stp_copy_from_kernel_nofault(dst, (const void *)(uintptr_t)addr, n);
	while (n) {
		size_t step = min(n, sizeof(scratch));

		if (stp_copy_from_kernel_nofault(scratch, (const void *)(uintptr_t)addr, step))
			return false;
		addr += step;
		n -= step;
	}
	return true;
}

/* The size-byte unsigned value at addr in *out; false on a fault. */
static __maybe_unused bool stp_kderef_sized(uint64_t *out, int size, uint64_t addr)
{
	union stp_unit v;

	if (size != 1 && size != 2 && size != 4)
		size = 8;
	if (stp_copy_from_kernel_nofault(&v, (const void *)(uintptr_t)addr, size))
		return false;
	*out = stp_unit_value(&v, size);
	return true;
}

#define CATCH_DEREF_FAULT() \
	if (0) {            \
	deref_fault:;       \
	}

#define DEREF_FAULT(addr)                                                          \
	do {                                                                       \
		stp_deref_fault(CONTEXT, false, (uint64_t)(uintptr_t)(addr));      \
		goto deref_fault;                                                  \
	} while (0)

#define STORE_DEREF_FAULT(addr)                                                    \
	do {                                                                       \
		stp_deref_fault(CONTEXT, true, (uint64_t)(uintptr_t)(addr));       \
		goto deref_fault;                                                  \
	} while (0)

#define kread(ptr)                                                                         \
	({                                                                                 \
		union {                                                                    \
			__typeof__(*(ptr)) v;                                              \
			u8 bytes[sizeof(*(ptr))];                                          \
		} _stp_kread;                                                              \
		if (!stp_kderef_buffer(_stp_kread.bytes, (uint64_t)(uintptr_t)(ptr),       \
				       sizeof(*(ptr))))                                    \
			DEREF_FAULT(ptr);                                                  \
		_stp_kread.v;                                                              \
	})

#define kwrite(ptr, value)                                                               \
	do {                                                                             \
		__typeof__(*(ptr)) _stp_kwrite = (value);                                \
		BUILD_BUG_ON(sizeof(_stp_kwrite) != 1 && sizeof(_stp_kwrite) != 2 &&    \
			     sizeof(_stp_kwrite) != 4 && sizeof(_stp_kwrite) != 8);      \
		if (!stp_copy_to_kernel((void *)(ptr), &_stp_kwrite, sizeof(_stp_kwrite))) \
			STORE_DEREF_FAULT(ptr);                                          \
	} while (0)

#define kderef(size, addr)                                                         \
	({                                                                         \
		uint64_t _stp_kderef = 0;                                          \
		if (!stp_kderef_sized(&_stp_kderef, (size), (uint64_t)(uintptr_t)(addr))) \
			DEREF_FAULT(addr);                                         \
		_stp_kderef;                                                       \
	})

#define store_kderef(size, addr, value)                                                \
	do {                                                                           \
		union stp_unit _stp_store;                                             \
		int _stp_size = (size);                                                \
		if (_stp_size == 1)                                                    \
			_stp_store.b = (u8)(value);                                    \
		else if (_stp_size == 2)                                               \
			_stp_store.h = (u16)(value);                                   \
		else if (_stp_size == 4)                                               \
			_stp_store.w = (u32)(value);                                   \
		else                                                                   \
			_stp_size = 8, _stp_store.q = (u64)(value);                    \
		if (!stp_copy_to_kernel((void *)(uintptr_t)(addr), &_stp_store, _stp_size)) \
			STORE_DEREF_FAULT(addr);                                       \
	} while (0)

#define kderef_buffer(dst, addr, n)                                                \
	do {                                                                       \
		if (!stp_kderef_buffer((dst), (uint64_t)(uintptr_t)(addr), (n)))    \
			DEREF_FAULT(addr);                                         \
	} while (0)

#define kderef_string(dst, addr, n)                                                \
	do {                                                                       \
		if (stp_copy_string((dst), (int64_t)(uintptr_t)(addr), (n), 0) < 0) \
			DEREF_FAULT(addr);                                         \
	} while (0)
