/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * User-space stacks and symbols (STP_NEED_USTACK): ubacktrace(),
 * usymname() and the rest of SystemTap's ucontext tapsets.
 *
 * The translator puts into the module, for each program and library it
 * was told of (the probed programs, `-d PATH`, `--ldd`), its functions by
 * file offset and its call-frame information reduced to a sorted table of
 * rows (compiler/src/debuginfo/cfi.rs): where the canonical frame address
 * (CFA) is, and where the return address and frame pointer were saved;
 * when the script names source lines (usymfileline() and the like), also
 * its DWARF line table as rows of file offset, line and file.
 * The generated code defines stp_umodules[] and stp_n_umodules (which the
 * runtime object, compiled apart from the script, only declares).
 *
 * An address is placed by the mapping that holds it in the current task
 * (a trylock of its mmap lock, never a sleep): the mapped file's inode
 * names the module, the mapping's file offset the place in it. The walk
 * starts from the task's user registers (the uprobe's, or those saved at
 * kernel entry), follows at most MAXBACKTRACE frames and reads the stack
 * with copy_from_user_nofault() only: a bad stack ends the walk, never
 * the kernel.
 */

#ifdef STP_NEED_USTACK

/* How an unwind row finds the CFA and the caller's registers. */
#define STP_UCFA_UNKNOWN 0
#define STP_UCFA_SP 1
#define STP_UCFA_FP 2
#define STP_USAVED_UNKNOWN 0
#define STP_USAVED_AT_CFA 1
#define STP_USAVED_SAME 2
#define STP_USAVED_UNDEFINED 3

/* The rules from file offset `start` until the next row. */
struct stp_urow {
	u32 start;
	s32 cfa_off;
	s32 ra_off;
	s32 fp_off;
	u8 cfa;
	u8 ra;
	u8 fp;
};

/* A function: its file offset, size and name (an offset into names). */
struct stp_usym {
	u32 offset;
	u32 size;
	u32 name;
};

/*
 * From file offset `offset` until the next row, source line `line` of
 * file `file` (an index into the module's files); STP_ULINE_NONE: no line.
 */
#define STP_ULINE_NONE 0xffffffffu
struct stp_uline {
	u32 offset;
	u32 line;
	u32 file;
};

struct stp_umodule {
	const char *path;
	const struct stp_usym *syms;
	unsigned int nsyms;
	const char *names;
	const struct stp_urow *rows;
	unsigned int nrows;
	const struct stp_uline *lines;  /* NULL: no line table (no DWARF, or not asked for) */
	unsigned int nlines;
	const char *const *files;
	struct inode *inode;    /* held from session start to end; NULL: not found */
};

/* Defined by the generated module: stp_n_umodules entries and an end. */
extern struct stp_umodule stp_umodules[];
extern const unsigned int stp_n_umodules;

/* Finds each module's file when the session starts (process context). */
static void stp_ustack_init(void)
{
	unsigned int i;

	for (i = 0; i < stp_n_umodules; i++) {
		struct path found;

		stp_umodules[i].inode = NULL;
		if (kern_path(stp_umodules[i].path, LOOKUP_FOLLOW, &found))
			continue;
		stp_umodules[i].inode = igrab(d_inode(found.dentry));
		path_put(&found);
	}
}

static void stp_ustack_exit(void)
{
	unsigned int i;

	for (i = 0; i < stp_n_umodules; i++) {
		if (stp_umodules[i].inode)
			iput(stp_umodules[i].inode);
		stp_umodules[i].inode = NULL;
	}
}

/* staprun's target process (-c/-x), defined in core/session.c. */
static long stp_target_pid;

/* Where addr is in the current task: its mapping's file. */
struct stp_uplace {
	const struct stp_umodule *mod;  /* NULL: a file the module was not told of */
	unsigned long offset;           /* addr's offset in the file */
	unsigned long base, size;       /* the file's mappings, from its offset 0 */
	const char *path;               /* the file's path (want_path), or NULL */
	char path_buf[256];
};

/*
 * Places addr; false when the task has no file mapped there (or its mmap
 * lock is taken: the probe may have hit while it is held). With
 * want_path, also the file's path and the extent of its mappings, as
 * SystemTap knows them: for the files it carries, and for any file of
 * the target process (-c, -x), whose mappings it follows.
 */
static bool stp_uplace(unsigned long addr, struct stp_uplace *at, bool want_path)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;
	bool found = false;
	unsigned int i;

	memset(at, 0, sizeof(*at));
	if (!mm || (current->flags & PF_KTHREAD) || !stp_mmap_read_trylock(mm))
		return false;
	vma = stp_vma_lookup(mm, addr);
	if (vma && vma->vm_file) {
		struct file *file = vma->vm_file;
		struct inode *inode = file_inode(file);

		found = true;
		at->offset = addr - vma->vm_start + (vma->vm_pgoff << PAGE_SHIFT);
		for (i = 0; i < stp_n_umodules; i++) {
			if (stp_umodules[i].inode == inode) {
				at->mod = &stp_umodules[i];
				break;
			}
		}
		if (want_path && (at->mod || current->tgid == stp_target_pid)) {
			struct vm_area_struct *next = vma;
			char *p;

			at->base = vma->vm_start - (vma->vm_pgoff << PAGE_SHIFT);
			/* The file's later mappings, a few at most. */
			for (i = 0; i < 16 && next && next->vm_file && file_inode(next->vm_file) == inode; i++) {
				at->size = next->vm_end - at->base;
				next = find_vma(mm, next->vm_end);
			}
			if (at->mod) {
				at->path = at->mod->path;
			} else {
				p = d_path(&file->f_path, at->path_buf, sizeof(at->path_buf));
				at->path = IS_ERR(p) ? NULL : p;
			}
		}
	}
	stp_mmap_read_unlock(mm);
	return found;
}

/* The row in force at file offset off, or NULL. */
static const struct stp_urow *stp_urow_at(const struct stp_umodule *m, unsigned long off)
{
	unsigned int lo = 0, hi = m->nrows;

	if (off > U32_MAX)
		return NULL;
	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (m->rows[mid].start <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? &m->rows[lo - 1] : NULL;
}

/* The function containing file offset off, or NULL. */
static const struct stp_usym *stp_usym_at(const struct stp_umodule *m, unsigned long off)
{
	unsigned int lo = 0, hi = m->nsyms;
	const struct stp_usym *s;

	if (off > U32_MAX)
		return NULL;
	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (m->syms[mid].offset <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	s = &m->syms[lo - 1];
	/* Its end too: the return address after a call that never returns. */
	if (s->size && off - s->offset > s->size)
		return NULL;
	return s;
}

/* The source file and line of file offset off; false when not known. */
static bool stp_uline_at(const struct stp_umodule *m, unsigned long off, const char **file,
			 unsigned int *line)
{
	unsigned int lo = 0, hi = m->nlines;
	const struct stp_uline *l;

	if (!m->lines || off > U32_MAX)
		return false;
	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (m->lines[mid].offset <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return false;
	l = &m->lines[lo - 1];
	if (l->file == STP_ULINE_NONE)
		return false;
	*file = m->files[l->file];
	*line = l->line;
	return true;
}

/* A return address without arm64's pointer-authentication code. */
static inline unsigned long stp_uaddr_strip(unsigned long addr)
{
#ifdef CONFIG_ARM64
	return addr & GENMASK_ULL(VA_BITS - 1, 0);
#else
	return addr;
#endif
}

/* One frame's registers, as far as the walk follows them. */
struct stp_uregs {
	unsigned long pc, sp, fp, lr;
	bool fp_known;
};

/* The user registers of the current task, when it has any. */
static struct pt_regs *stp_user_regs(struct stp_context *c)
{
	if (c->regs && user_mode(c->regs))
		return c->regs;
	if (!current->mm || (current->flags & PF_KTHREAD))
		return NULL;
	return task_pt_regs(current);
}

/*
 * A uretprobe replaces the return address of the function it watches
 * with its trampoline's until the function returns; the task's list of
 * pending returns keeps the original, and the stack pointer the
 * function was entered with: where the return address is on x86-64,
 * the CFA itself on arm64. ra unchanged when no return is pending there.
 */
static unsigned long stp_uretprobe_orig(unsigned long cfa, unsigned long ra)
{
#ifdef CONFIG_UPROBES
	struct uprobe_task *utask = current->utask;
	struct return_instance *ri;
	unsigned long entry_sp = cfa;
	int depth = 0;

#ifdef CONFIG_X86_64
	entry_sp -= sizeof(long);
#endif
	if (!utask)
		return ra;
	for (ri = utask->return_instances; ri && depth < 64; ri = ri->next, depth++)
		if (ri->stack == entry_sp)
			return ri->orig_ret_vaddr;
#endif
	return ra;
}

/* One word of the current task's stack during a walk. */
static bool stp_ustack_read_word(unsigned long addr, unsigned long *val)
{
	return copy_from_user_nofault(val, (const void __user *)addr, sizeof(*val)) == 0;
}

/*
 * Says once per session that the walk reached code whose unwind data the
 * module lacks, and which -d option would add it.
 */
static void stp_umissing_warning(unsigned long pc)
{
	static atomic_t warned = ATOMIC_INIT(0);
	struct stp_uplace at;

	if (atomic_xchg(&warned, 1))
		return;
	stp_uplace(pc, &at, true);
	stp_stderr("WARNING: Missing unwind data for a module, rerun with 'stap -d %s'\n",
		   at.path ? at.path : "(unknown; retry with -DDEBUG_UNWIND)");
}

/*
 * Steps from frame r to its caller; false at the end of the stack or
 * where the table has no rule. `top`: r is where the probe hit (its pc
 * is not a return address).
 */
static bool stp_ustep(struct stp_uregs *r, bool top)
{
	struct stp_uplace at;
	const struct stp_urow *row;
	unsigned long cfa, ra, fp = r->fp;

	if (!stp_uplace(top ? r->pc : r->pc - 1, &at, false) || !at.mod) {
		stp_umissing_warning(r->pc);
		return false;
	}
	row = stp_urow_at(at.mod, at.offset);
	if (!row)
		return false;
	switch (row->cfa) {
	case STP_UCFA_SP:
		cfa = r->sp + row->cfa_off;
		break;
	case STP_UCFA_FP:
		if (!r->fp_known)
			return false;
		cfa = r->fp + row->cfa_off;
		break;
	default:
		return false;
	}
	switch (row->ra) {
	case STP_USAVED_AT_CFA:
		if (!stp_ustack_read_word(cfa + row->ra_off, &ra))
			return false;
		break;
	case STP_USAVED_SAME:
		/*
		 * Still in the link register: only where the probe hit, at a
		 * function's first instructions. Further down the register is
		 * long overwritten; there "no rule" is the outermost frame's
		 * "undefined" (arm64's _start), which gimli does not tell
		 * apart from it.
		 */
		if (!top)
			return false;
		ra = r->lr;
		break;
	default:
		return false;
	}
	switch (row->fp) {
	case STP_USAVED_AT_CFA:
		if (!stp_ustack_read_word(cfa + row->fp_off, &fp))
			return false;
		r->fp_known = true;
		break;
	case STP_USAVED_SAME:
		break;
	default:
		r->fp_known = false;
		break;
	}
	ra = stp_uaddr_strip(stp_uretprobe_orig(cfa, ra));
	if (!ra || cfa < r->sp)
		return false;
	r->pc = ra;
	r->lr = ra;
	r->sp = cfa;
	r->fp = fp;
	return true;
}

/*
 * The user stack from registers r: the pc first, then each caller's
 * return address, at most max.
 */
static unsigned int stp_ustack_from(struct stp_uregs *r, unsigned long *out, unsigned int max)
{
	unsigned int n = 0;

	if (!r->pc || !max)
		return 0;
	out[n++] = r->pc;
	while (n < max && stp_ustep(r, n == 1))
		out[n++] = r->pc;
	return n;
}

/* The registers the walk of the current task starts from. */
static bool stp_uregs_of(struct stp_context *c, struct stp_uregs *r)
{
	struct pt_regs *regs = stp_user_regs(c);

	memset(r, 0, sizeof(*r));
	if (!regs)
		return false;
	r->pc = instruction_pointer(regs);
	r->sp = user_stack_pointer(regs);
#ifdef CONFIG_ARM64
	r->fp = regs->regs[29];
	r->lr = stp_uaddr_strip(regs->regs[30]);
#else
	r->fp = regs->bp;
#endif
	r->fp_known = true;
	return true;
}

/* The current task's user stack, walked once per handler. */
static unsigned int stp_ustack(struct stp_context *c, const unsigned long **out)
{
	if (c->ustack_n < 0) {
		struct stp_uregs r;

		c->ustack_n = stp_uregs_of(c, &r) ? stp_ustack_from(&r, c->ustack, MAXBACKTRACE) : 0;
	}
	*out = c->ustack;
	return c->ustack_n;
}

/* How stp_usym_append() writes an address, in SystemTap's formats. */
enum stp_usym_style {
	STP_USYM_NAME,          /* usymname(): "main", or "0x..." */
	STP_USYM_DATA,          /* usymdata(): "main+0x4/0x20 [/bin/p]" */
	STP_USYM_STACK,         /* print_ustack(): " 0x401136 : main+0x4/0x20 [/bin/p]\n" */
	STP_USYM_BRIEF,         /* print_ubacktrace_brief(): "main+0x4\n" */
	STP_USYM_SBACKTRACE,    /* sprint_ubacktrace(): "main+0x4 [p]\n" */
	STP_USYM_FILELINE,      /* print_ubacktrace_fileline(): STACK's with " at FILE:LINE" */
};

/*
 * Appends addr, named in `style`, to dst (cap bytes, NUL-terminated), as
 * SystemTap writes it: "name+0xoff/0xsize [path]" where the function is
 * known, "0xADDR [path+0xoff/0xsize]" where only the file is (its offset
 * from where the file is mapped and the extent of its mappings), "0xADDR"
 * otherwise.
 */
static void stp_usym_append(char *dst, size_t cap, unsigned long addr, enum stp_usym_style style)
{
	struct stp_uplace at;
	const struct stp_usym *sym = NULL;
	size_t len = strnlen(dst, cap);
	bool stack = style == STP_USYM_STACK || style == STP_USYM_FILELINE;
	bool sized = style == STP_USYM_DATA || stack;
	const char *file;
	unsigned int line;

	if (len + 1 >= cap)
		return;
	dst += len;
	cap -= len;
	len = 0;
	if (stp_uplace(addr, &at, style != STP_USYM_NAME) && at.mod)
		sym = stp_usym_at(at.mod, at.offset);
	if (style == STP_USYM_NAME) {
		if (sym)
			scnprintf(dst, cap, "%s", at.mod->names + sym->name);
		else
			scnprintf(dst, cap, "0x%lx", addr);
		return;
	}
	if (sym) {
		if (stack)
			len = scnprintf(dst, cap, " 0x%lx : ", addr);
		len += scnprintf(dst + len, cap - len, "%s+%#lx", at.mod->names + sym->name,
				 at.offset - sym->offset);
		if (sized)
			len += scnprintf(dst + len, cap - len, "/%#x", sym->size);
		if (style == STP_USYM_FILELINE && stp_uline_at(at.mod, at.offset, &file, &line))
			len += scnprintf(dst + len, cap - len, " at %s:%u", file, line);
		/* sprint_ubacktrace() names the file without its directory
		 * (SystemTap 5.1, docs/oracle/outputs/.../ustack_strings.out). */
		if (style == STP_USYM_SBACKTRACE)
			len += scnprintf(dst + len, cap - len, " [%s]", kbasename(at.path));
		else if (style != STP_USYM_BRIEF)
			len += scnprintf(dst + len, cap - len, " [%s]", at.path);
	} else {
		len = scnprintf(dst, cap, stack ? " 0x%lx" : "0x%lx", addr);
		if (at.path && style != STP_USYM_BRIEF) {
			len += scnprintf(dst + len, cap - len, " [%s+%#lx", at.path, addr - at.base);
			if (sized)
				len += scnprintf(dst + len, cap - len, "/%#lx", at.size);
			len += scnprintf(dst + len, cap - len, "]");
		}
	}
	if (style != STP_USYM_DATA)
		len += scnprintf(dst + len, cap - len, "\n");
}

/* Which part of an address's source place stp_usym_source() writes. */
enum stp_usrc_part {
	STP_USRC_FILE,          /* usymfile(): "/usr/src/p/main.c" */
	STP_USRC_LINE,          /* usymline(): "12" */
	STP_USRC_FILELINE,      /* usymfileline(): "/usr/src/p/main.c:12" */
};

/*
 * Writes the source file, line or both of addr in the current task, from
 * the line table of its module; addr in hex when the module has none or
 * the address has no line.
 */
static __maybe_unused void stp_usym_source(char *dst, size_t cap, unsigned long addr,
					   enum stp_usrc_part part)
{
	struct stp_uplace at;
	const char *file;
	unsigned int line;

	if (!stp_uplace(addr, &at, false) || !at.mod ||
	    !stp_uline_at(at.mod, at.offset, &file, &line)) {
		scnprintf(dst, cap, "0x%lx", addr);
		return;
	}
	switch (part) {
	case STP_USRC_FILE:
		scnprintf(dst, cap, "%s", file);
		break;
	case STP_USRC_LINE:
		scnprintf(dst, cap, "%u", line);
		break;
	default:
		scnprintf(dst, cap, "%s:%u", file, line);
		break;
	}
}

/* Writes, or prints, one line per address (stp_hex_list's callback). */
struct stp_usym_lines {
	struct stp_context *c;
	char *dst;              /* NULL: print */
	size_t cap;
	enum stp_usym_style style;
};

static void stp_usym_line(unsigned long addr, void *data)
{
	struct stp_usym_lines *l = data;

	if (l->dst) {
		stp_usym_append(l->dst, l->cap, addr, l->style);
		return;
	}
	l->c->usym_line[0] = '\0';
	stp_usym_append(l->c->usym_line, sizeof(l->c->usym_line), addr, l->style);
	stp_print_str(l->c, l->c->usym_line);
}

/* print_ubacktrace() and friends: the current user stack, one line per frame. */
static __maybe_unused void stp_ubacktrace_lines(struct stp_context *c, char *dst, size_t cap,
						enum stp_usym_style style)
{
	const unsigned long *frames;
	unsigned int n = stp_ustack(c, &frames), i;
	struct stp_usym_lines lines = { .c = c, .dst = dst, .cap = cap, .style = style };

	if (dst)
		dst[0] = '\0';
	for (i = 0; i < n; i++)
		stp_usym_line(frames[i], &lines);
}

/* umodname(): the file mapped at addr; false when none is. */
static __maybe_unused bool stp_umodname(unsigned long addr, char *dst, size_t cap)
{
	struct stp_uplace at;

	if (!stp_uplace(addr, &at, true) || !at.path)
		return false;
	scnprintf(dst, cap, "%s", at.path);
	return true;
}

#else /* !STP_NEED_USTACK */
static inline void stp_ustack_init(void)
{
}

static inline void stp_ustack_exit(void)
{
}
#endif /* STP_NEED_USTACK */
