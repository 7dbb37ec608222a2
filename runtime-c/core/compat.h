/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Kernel API differences, hidden behind one spelling each (stp_*). The
 * STP_HAVE_* macros come from stp_features.h, which stapkit writes per
 * target tree by compiling the probes in runtime-c/features/ against it
 * (compiler/src/kernel/features.rs): nothing here tests a version number.
 *
 * Every shim compiles on both sides of its change; compiler/tests/data/
 * kernel-fixtures/compat_check.c uses each one and is built against fixture
 * trees of 5.4, 6.1 and 7.2 shape and against every real kernel tree.
 */
#ifndef STP_CORE_COMPAT_H
#define STP_CORE_COMPAT_H

#include <linux/module.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/proc_fs.h>
#include <linux/timer.h>
#include <linux/hrtimer.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/random.h>
#include <linux/stacktrace.h>
#include <linux/task_work.h>
#include <linux/tracepoint.h>
#include <linux/kprobes.h>
#include <linux/kallsyms.h>
#include <linux/err.h>
#include <linux/uprobes.h>
#include <linux/fdtable.h>

/* mmap_sem became mmap_lock, with mmap_read_lock() (5.8). */
#ifdef STP_HAVE_MMAP_LOCK
#define stp_mmap_read_lock(mm) mmap_read_lock(mm)
#define stp_mmap_read_trylock(mm) mmap_read_trylock(mm)
#define stp_mmap_read_unlock(mm) mmap_read_unlock(mm)
#else
#define stp_mmap_read_lock(mm) down_read(&(mm)->mmap_sem)
#define stp_mmap_read_trylock(mm) down_read_trylock(&(mm)->mmap_sem)
#define stp_mmap_read_unlock(mm) up_read(&(mm)->mmap_sem)
#endif

/*
 * get_user_pages_remote() in its newest shape: (mm, start, nr_pages,
 * gup_flags, pages, locked). It lost the task in 5.9 and vmas in 6.5.
 * Undefined (so a use names it) when the tree has none of the known shapes.
 */
#if defined(STP_HAVE_GUP_REMOTE_NOVMAS)
#define stp_get_user_pages_remote(mm, start, nr, flags, pages, locked) \
	get_user_pages_remote((mm), (start), (nr), (flags), (pages), (locked))
#elif defined(STP_HAVE_GUP_REMOTE_VMAS)
#define stp_get_user_pages_remote(mm, start, nr, flags, pages, locked) \
	get_user_pages_remote((mm), (start), (nr), (flags), (pages), NULL, (locked))
#elif defined(STP_HAVE_GUP_REMOTE_TASK)
#define stp_get_user_pages_remote(mm, start, nr, flags, pages, locked) \
	get_user_pages_remote(NULL, (mm), (start), (nr), (flags), (pages), NULL, (locked))
#endif

/*
 * /proc files: struct proc_ops replaced file_operations (5.6).
 * STP_PROC_OPS(name, open, read, write, release) defines `name` for proc_create().
 */
#ifdef STP_HAVE_PROC_OPS
#define STP_PROC_OPS(name, open_fn, read_fn, write_fn, release_fn) \
	static const struct proc_ops name = {                         \
		.proc_open = (open_fn),                               \
		.proc_read = (read_fn),                               \
		.proc_write = (write_fn),                             \
		.proc_lseek = noop_llseek,                            \
		.proc_release = (release_fn),                         \
	}
#else
#define STP_PROC_OPS(name, open_fn, read_fn, write_fn, release_fn) \
	static const struct file_operations name = {                  \
		.owner = THIS_MODULE,                                 \
		.open = (open_fn),                                    \
		.read = (read_fn),                                    \
		.write = (write_fn),                                  \
		.llseek = noop_llseek,                                \
		.release = (release_fn),                              \
	}
#endif

/* PDE_DATA() was renamed pde_data() (5.17). */
#ifdef STP_HAVE_PDE_DATA
#define stp_pde_data(inode) pde_data(inode)
#else
#define stp_pde_data(inode) PDE_DATA(inode)
#endif

/* task_struct's state became __state (5.14). */
#ifdef STP_HAVE_TASK___STATE
#define stp_task_state(t) ((long)READ_ONCE((t)->__state))
#else
#define stp_task_state(t) ((long)READ_ONCE((t)->state))
#endif

/* Where a task's CPU is: in its thread_info since 5.16, in task_struct before. */
#ifdef STP_HAVE_TASK_THREAD_INFO_CPU
#define STP_TASK_CPU_OFFSET offsetof(struct task_struct, thread_info.cpu)
#else
#define STP_TASK_CPU_OFFSET offsetof(struct task_struct, cpu)
#endif

/* from_timer() became timer_container_of() (6.16); del_timer() timer_delete() (6.2). */
#ifdef STP_HAVE_TIMER_CONTAINER_OF
#define stp_timer_container_of(var, t, field) timer_container_of(var, t, field)
#else
#define stp_timer_container_of(var, t, field) from_timer(var, t, field)
#endif
#ifdef STP_HAVE_TIMER_DELETE
#define stp_timer_delete(t) timer_delete(t)
#define stp_timer_delete_sync(t) timer_delete_sync(t)
#else
#define stp_timer_delete(t) del_timer(t)
#define stp_timer_delete_sync(t) del_timer_sync(t)
#endif

/* hrtimer_setup() replaced hrtimer_init() + .function (6.13). */
#ifdef STP_HAVE_HRTIMER_SETUP
#define stp_hrtimer_setup(t, fn, mode) hrtimer_setup((t), (fn), CLOCK_MONOTONIC, (mode))
#else
#define stp_hrtimer_setup(t, fn, mode)                       \
	do {                                                 \
		hrtimer_init((t), CLOCK_MONOTONIC, (mode));  \
		(t)->function = (fn);                        \
	} while (0)
#endif

/*
 * strlcpy() went in 6.8 (STP_HAVE_STRLCPY says whether the tree still has
 * it). The runtime never calls it (lib/str.c has its own stp_strlcpy()),
 * but users' embedded C does (SystemTap's language reference shows it,
 * published examples such as psig.stp and ttyspy.stp call it): where the
 * kernel lost it, this is the kernel's strlcpy() as it was (the whole of
 * src copied when it fits, else size - 1 bytes and a NUL; returns
 * strlen(src)).
 */
#ifndef STP_HAVE_STRLCPY
static inline size_t stp_compat_strlcpy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);

	if (size) {
		size_t n = len >= size ? size - 1 : len;

		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}
#define strlcpy(dst, src, size) stp_compat_strlcpy((dst), (src), (size))
#endif

/*
 * fcheck_files() (a file of a files_struct by descriptor, under
 * rcu_read_lock()) became files_lookup_fd_rcu() in 5.11, and the lookup
 * under either lock is files_lookup_fd_raw() since; users' embedded C
 * (pfiles.stp) still calls the old name.
 */
#ifndef STP_HAVE_FCHECK_FILES
#define fcheck_files(files, fd) files_lookup_fd_raw((files), (fd))
#endif

/* probe_kernel_read()/probe_user_read() became copy_from_{kernel,user}_nofault() (5.8). */
#ifdef STP_HAVE_COPY_FROM_KERNEL_NOFAULT
#define stp_copy_from_kernel_nofault(dst, src, n) copy_from_kernel_nofault((dst), (src), (n))
#else
#define stp_copy_from_kernel_nofault(dst, src, n) probe_kernel_read((dst), (src), (n))
#endif
/*
 * Stores a `type` at dst from src, or jumps to label on a fault:
 * __put_kernel_nofault() came with copy_from_kernel_nofault() (5.8), when
 * probe_kernel_write() went; copy_to_kernel_nofault() is not exported.
 */
#ifdef STP_HAVE_COPY_FROM_KERNEL_NOFAULT
#define stp_put_kernel_nofault(dst, src, type, label) __put_kernel_nofault((dst), (src), type, label)
#else
#define stp_put_kernel_nofault(dst, src, type, label)                  \
	do {                                                           \
		if (probe_kernel_write((dst), (src), sizeof(type)))     \
			goto label;                                    \
	} while (0)
#endif
#ifdef STP_HAVE_COPY_FROM_USER_NOFAULT
#define stp_copy_from_user_nofault(dst, src, n) copy_from_user_nofault((dst), (src), (n))
#else
#define stp_copy_from_user_nofault(dst, src, n) probe_user_read((dst), (src), (n))
#endif

/* access_ok() lost its type argument (5.0). */
#ifdef STP_HAVE_ACCESS_OK_NO_TYPE
#define stp_access_ok(p, n) access_ok((p), (n))
#else
#define stp_access_ok(p, n) access_ok(VERIFY_READ, (p), (n))
#endif

/* get_random_u32() is the API; prandom_u32() went in 6.2. */
#ifdef STP_HAVE_GET_RANDOM_U32
#define stp_random_u32() get_random_u32()
#else
#define stp_random_u32() prandom_u32()
#endif

/* stack_trace_save() replaced save_stack_trace() (5.2). */
#ifdef STP_HAVE_STACK_TRACE_SAVE
#define stp_stack_trace_save(entries, n, skip) stack_trace_save((entries), (n), (skip))
#else
static inline unsigned int stp_stack_trace_save(unsigned long *entries, unsigned int n, unsigned int skip)
{
	struct stack_trace trace = { .entries = entries, .max_entries = n, .skip = skip };

	save_stack_trace(&trace);
	return trace.nr_entries;
}
#endif

/* vma_lookup() (5.14): the VMA containing addr, or NULL. */
#ifdef STP_HAVE_VMA_LOOKUP
#define stp_vma_lookup(mm, addr) vma_lookup((mm), (addr))
#else
static inline struct vm_area_struct *stp_vma_lookup(struct mm_struct *mm, unsigned long addr)
{
	struct vm_area_struct *vma = find_vma(mm, addr);

	return vma && addr >= vma->vm_start ? vma : NULL;
}
#endif

/* MODULE_IMPORT_NS() takes a string literal (6.13). */
#ifdef STP_HAVE_MODULE_IMPORT_NS_STRING
#define STP_MODULE_IMPORT_NS(ns) MODULE_IMPORT_NS(#ns)
#else
#define STP_MODULE_IMPORT_NS(ns) MODULE_IMPORT_NS(ns)
#endif

/*
 * Tracepoints register by struct tracepoint * (3.15), found with
 * for_each_kernel_tracepoint(); before, there is nothing to find and
 * registering fails. STP_TRACEPOINT_MODULES: a module's tracepoints are
 * announced through a tracepoint module notifier.
 */
#ifdef STP_HAVE_TRACEPOINT_REGISTER_TP
#define stp_tracepoint_register(tp, fn, data) tracepoint_probe_register((tp), (fn), (data))
#define stp_tracepoint_unregister(tp, fn, data) tracepoint_probe_unregister((tp), (fn), (data))
#define stp_for_each_kernel_tracepoint(fn, priv) for_each_kernel_tracepoint((fn), (priv))
#ifdef CONFIG_MODULES
#define STP_TRACEPOINT_MODULES 1
#endif
#else
#define stp_tracepoint_register(tp, fn, data) ((void)(tp), (void)(fn), (void)(data), -ENOSYS)
#define stp_tracepoint_unregister(tp, fn, data) ((void)(tp), (void)(fn), (void)(data), 0)
#define stp_for_each_kernel_tracepoint(fn, priv) ((void)(fn), (void)(priv))
#endif

/* task_work_add() takes a notify mode instead of a bool (5.11). */
#ifdef STP_HAVE_TASK_WORK_NOTIFY_MODE
#define stp_task_work_add(task, work) task_work_add((task), (work), TWA_RESUME)
#else
#define stp_task_work_add(task, work) task_work_add((task), (work), true)
#endif

/*
 * Cancelling task work by callback: task_work_cancel(task, func) became
 * task_work_cancel_func() and task_work_cancel() now takes the
 * callback_head (6.11, backported to 6.1.y and 5.10.y). Neither is
 * exported: resolve STP_TASK_WORK_CANCEL_FUNC_SYMBOL with
 * stp_kallsyms_lookup_name() and call it as a stp_task_work_cancel_func_t.
 */
typedef struct callback_head *(*stp_task_work_cancel_func_t)(struct task_struct *, task_work_func_t);
#ifdef STP_HAVE_TASK_WORK_CANCEL_FUNC
#define STP_TASK_WORK_CANCEL_FUNC_SYMBOL "task_work_cancel_func"
#else
#define STP_TASK_WORK_CANCEL_FUNC_SYMBOL "task_work_cancel"
#endif

/* The kretprobe an instance belongs to: get_kretprobe() since 5.11, ri->rp before. */
#ifdef STP_HAVE_GET_KRETPROBE
#define stp_kretprobe_of(ri) get_kretprobe(ri)
#else
#define stp_kretprobe_of(ri) ((ri)->rp)
#endif

/* Where a kretprobe instance returns to: get_kretprobe_retaddr() since 5.19, ri->ret_addr before. */
#ifdef STP_HAVE_GET_KRETPROBE_RETADDR
#define stp_kretprobe_ret_addr(ri) get_kretprobe_retaddr(ri)
#else
#define stp_kretprobe_ret_addr(ri) ((unsigned long)(ri)->ret_addr)
#endif

/*
 * kallsyms_lookup_name() was unexported in 5.7. Without the export,
 * stp_kallsyms_init() finds it once through a kprobe on it. On kernels with
 * indirect branch tracking a kprobe's address is past the function's ENDBR
 * (and an unused function may have had its ENDBR sealed): the call goes to
 * the ENDBR, and a sealed function is refused (-ENOENT) rather than called.
 */
#ifdef CONFIG_X86_KERNEL_IBT
/*
 * Where to call a function found at addr through a pointer. A CPU that
 * enforces indirect branch tracking wants an ENDBR: the function's at
 * addr, or at addr - 4 when addr is past it (a kprobe's address); 0 when
 * neither, e.g. the ENDBR of a function never called indirectly was
 * sealed at boot. Other CPUs take addr as it is.
 */
static inline unsigned long stp_ibt_entry(unsigned long addr)
{
	static const unsigned char endbr64[4] = { 0xf3, 0x0f, 0x1e, 0xfa };
	unsigned char at[4], before[4];

	if (!cpu_feature_enabled(X86_FEATURE_IBT))
		return addr;
	if (stp_copy_from_kernel_nofault(at, (void *)addr, 4))
		return 0;
	if (!memcmp(at, endbr64, 4))
		return addr;
	if (!stp_copy_from_kernel_nofault(before, (void *)(addr - 4), 4) &&
	    !memcmp(before, endbr64, 4))
		return addr - 4;
	return 0;
}
#else
static inline unsigned long stp_ibt_entry(unsigned long addr)
{
	return addr;
}
#endif

#ifdef STP_HAVE_EXPORT_KALLSYMS_LOOKUP_NAME
static inline int stp_kallsyms_init(void)
{
	return 0;
}
#define stp_kallsyms_lookup_name(name) kallsyms_lookup_name(name)
#else
static unsigned long (*stp_kallsyms_lookup_name_fn)(const char *name) __maybe_unused;

static inline int stp_kallsyms_init(void)
{
	struct kprobe kp = { .symbol_name = "kallsyms_lookup_name" };
	unsigned long addr;
	int rc;

	if (stp_kallsyms_lookup_name_fn)
		return 0;
	rc = register_kprobe(&kp);
	if (rc < 0)
		return rc;
	addr = stp_ibt_entry((unsigned long)kp.addr);
	unregister_kprobe(&kp);
	if (!addr)
		return -ENOENT;
	stp_kallsyms_lookup_name_fn = (unsigned long (*)(const char *))addr;
	return 0;
}

static inline unsigned long stp_kallsyms_lookup_name(const char *name)
{
	return stp_kallsyms_lookup_name_fn ? stp_kallsyms_lookup_name_fn(name) : 0;
}
#endif

/*
 * The address of an unexported kernel function that may be called
 * through a pointer, or 0 (not found, or not callable under IBT).
 * Process context: the first call may register a kprobe.
 */
static inline __maybe_unused unsigned long stp_kallsyms_callable(const char *name)
{
	unsigned long addr;

	if (stp_kallsyms_init())
		return 0;
	addr = stp_kallsyms_lookup_name(name);
	return addr ? stp_ibt_entry(addr) : 0;
}

/*
 * Uprobes: since 6.12 uprobe_register() returns the struct uprobe * that
 * unregistering takes, with uprobe_unregister_nosync() per consumer and
 * then one uprobe_unregister_sync() for all; before, it returned an errno
 * and uprobe_unregister() took the inode and offset again and waited.
 * ref_ctr_offset (an SDT semaphore's offset in the file, 0: none) went
 * to uprobe_register_refctr() (4.20) until 6.12 folded it into
 * uprobe_register().
 */
#ifdef STP_HAVE_UPROBE_REGISTER_NOSYNC
static inline int stp_uprobe_register(struct inode *inode, loff_t offset, loff_t ref_ctr_offset,
				      struct uprobe_consumer *uc, struct uprobe **uprobe)
{
	struct uprobe *u = uprobe_register(inode, offset, ref_ctr_offset, uc);

	*uprobe = NULL;
	if (IS_ERR(u))
		return PTR_ERR(u);
	*uprobe = u;
	return 0;
}

static inline void stp_uprobe_unregister_nosync(struct inode *inode, loff_t offset,
						struct uprobe_consumer *uc, struct uprobe *uprobe)
{
	(void)inode;
	(void)offset;
	uprobe_unregister_nosync(uprobe, uc);
}
#define stp_uprobe_unregister_sync() uprobe_unregister_sync()
#else
static inline int stp_uprobe_register(struct inode *inode, loff_t offset, loff_t ref_ctr_offset,
				      struct uprobe_consumer *uc, struct uprobe **uprobe)
{
	*uprobe = NULL;
	return uprobe_register_refctr(inode, offset, ref_ctr_offset, uc);
}

static inline void stp_uprobe_unregister_nosync(struct inode *inode, loff_t offset,
						struct uprobe_consumer *uc, struct uprobe *uprobe)
{
	(void)uprobe;
	uprobe_unregister(inode, offset, uc);
}
#define stp_uprobe_unregister_sync() do { } while (0)
#endif

/* uprobe_consumer handlers gained a trailing __u64 *data (6.13). Use:
 * static STP_UPROBE_HANDLER(name, self, regs) { ... } */
#ifdef STP_HAVE_UPROBE_HANDLER_DATA
#define STP_UPROBE_HANDLER(name, self, regs) \
	int name(struct uprobe_consumer *self, struct pt_regs *regs, __u64 *stp_uprobe_data)
#define STP_URETPROBE_HANDLER(name, self, func, regs) \
	int name(struct uprobe_consumer *self, unsigned long func, struct pt_regs *regs, \
		 __u64 *stp_uprobe_data)
#else
#define STP_UPROBE_HANDLER(name, self, regs) \
	int name(struct uprobe_consumer *self, struct pt_regs *regs)
#define STP_URETPROBE_HANDLER(name, self, func, regs) \
	int name(struct uprobe_consumer *self, unsigned long func, struct pt_regs *regs)
#endif

/*
 * The bytes of a module's code and of the rest of it (data, read-only
 * data) once loaded: mem[] since 6.4, core_layout before.
 */
#ifdef STP_HAVE_MODULE_MEMORY
#define stp_module_text_size(m) ((m)->mem[MOD_TEXT].size)
#define stp_module_data_size(m) \
	((m)->mem[MOD_DATA].size + (m)->mem[MOD_RODATA].size + (m)->mem[MOD_RO_AFTER_INIT].size)
#else
#define stp_module_text_size(m) ((m)->core_layout.text_size)
#define stp_module_data_size(m) ((m)->core_layout.size - (m)->core_layout.text_size)
#endif

/* A return address without its pointer-authentication code (arm64). */
#ifdef CONFIG_ARM64
#ifdef ptrauth_strip_kernel_insn_pac
#define stp_ptrauth_strip(lr) ptrauth_strip_kernel_insn_pac(lr)
#else
#define stp_ptrauth_strip(lr) ptrauth_strip_insn_pac(lr)
#endif
#endif

#endif /* STP_CORE_COMPAT_H */
