/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Target expressions of user-space programs (uprobes with the program's
 * DWARF): $param, $local and $p->field read the probed task's memory, a
 * frame slot or an object a pointer leads to. Handlers run in the task,
 * so its address space is the current one; a read that faults fails the
 * handler with the same text as a kernel read.
 */

/* size (1, 2, 4 or 8) bytes of the current task's memory at addr. */
static __maybe_unused bool stp_uread(struct stp_context *c, uint64_t addr, int size, bool is_signed,
				     int64_t *out, const char *stmt)
{
	union stp_unit v;
	long failed = !current->mm ||
		      stp_copy_from_user_nofault(&v, (const void __user *)(uintptr_t)addr, size);

	return stp_read_done(c, failed, addr, &v, size, is_signed, out, stmt);
}

/* A bitfield of `width` bits at bit `shift` of the size-byte unit at addr. */
static __maybe_unused bool stp_uread_bits(struct stp_context *c, uint64_t addr, int size, int shift,
					  int width, bool is_signed, int64_t *out, const char *stmt)
{
	int64_t unit;

	if (!stp_uread(c, addr, size, false, &unit, stmt))
		return false;
	*out = stp_bits_of(unit, shift, width, is_signed);
	return true;
}
