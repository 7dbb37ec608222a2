/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Uses every shim of runtime-c/core/compat.h once, so that building this
 * file proves the shims compile against a tree with its stp_features.h:
 * the fixture trees here (5.4, 6.1 and 7.2 shapes) and the real kernels.
 */
#include "stp_features.h"
#include "core/compat.h"

struct stp_check_timer {
	int pad;
	struct timer_list timer;
};

int stp_check_mm(struct mm_struct *mm, struct page **pages);
int stp_check_mm(struct mm_struct *mm, struct page **pages)
{
	int locked = 1;
	long n = 0;

	stp_mmap_read_lock(mm);
	if (stp_vma_lookup(mm, 4096))
		n++;
#ifdef stp_get_user_pages_remote
	n += stp_get_user_pages_remote(mm, 4096, 1, 0, pages, &locked);
#endif
	if (locked)
		stp_mmap_read_unlock(mm);
	if (stp_mmap_read_trylock(mm))
		stp_mmap_read_unlock(mm);
	return (int)n;
}

static int stp_check_open(struct inode *inode, struct file *file)
{
	return stp_pde_data(inode) ? 0 : -ENOENT;
}

STP_PROC_OPS(stp_check_proc_ops, stp_check_open, NULL, NULL, NULL);

struct proc_dir_entry *stp_check_proc(void);
struct proc_dir_entry *stp_check_proc(void)
{
	return proc_create("stp_check", 0444, NULL, &stp_check_proc_ops);
}

long stp_check_task(struct task_struct *t);
long stp_check_task(struct task_struct *t)
{
	static struct module m;

	return stp_task_state(t) + (long)STP_TASK_CPU_OFFSET + stp_module_text_size(&m) +
	       stp_module_data_size(&m);
}

static void stp_check_timer_fn(struct timer_list *t)
{
	struct stp_check_timer *c = stp_timer_container_of(c, t, timer);

	c->pad++;
}

static enum hrtimer_restart stp_check_hrtimer_fn(struct hrtimer *hr)
{
	(void)hr;
	return HRTIMER_NORESTART;
}

int stp_check_timers(struct stp_check_timer *c, struct hrtimer *hr);
int stp_check_timers(struct stp_check_timer *c, struct hrtimer *hr)
{
	timer_setup(&c->timer, stp_check_timer_fn, 0);
	stp_hrtimer_setup(hr, stp_check_hrtimer_fn, HRTIMER_MODE_REL);
	return stp_timer_delete(&c->timer) + stp_timer_delete_sync(&c->timer);
}

long stp_check_memory(char *dst, const char *src, const void __user *usrc, unsigned long *entries);
long stp_check_memory(char *dst, const char *src, const void __user *usrc, unsigned long *entries)
{
	long n = stp_copy_from_kernel_nofault(dst, src, 1);
	n += stp_copy_from_user_nofault(dst, usrc, 1);
	n += stp_access_ok(usrc, 1);
	n += stp_random_u32() & 1;
	n += stp_stack_trace_save(entries, 4, 0);
	return n;
}

int stp_check_kernel_write(void *dst, const u64 *src);
int stp_check_kernel_write(void *dst, const u64 *src)
{
	stp_put_kernel_nofault(dst, src, u64, fault);
	return 0;
fault:
	return 1;
}

#ifdef stp_tracepoint_register
static void stp_check_each_tracepoint(struct tracepoint *tp, void *priv)
{
	(void)tp;
	(void)priv;
}

int stp_check_tracepoint(struct tracepoint *tp, void *fn);
int stp_check_tracepoint(struct tracepoint *tp, void *fn)
{
	stp_for_each_kernel_tracepoint(stp_check_each_tracepoint, NULL);
	return stp_tracepoint_register(tp, fn, NULL) + stp_tracepoint_unregister(tp, fn, NULL);
}
#endif

static void stp_check_work_fn(struct callback_head *work)
{
	(void)work;
}

int stp_check_task_work(struct task_struct *t, struct callback_head *work);
int stp_check_task_work(struct task_struct *t, struct callback_head *work)
{
	stp_task_work_cancel_func_t cancel;
	int rc = stp_kallsyms_init();

	if (rc)
		return rc;
	cancel = (stp_task_work_cancel_func_t)stp_kallsyms_lookup_name(STP_TASK_WORK_CANCEL_FUNC_SYMBOL);
	rc = stp_task_work_add(t, work);
	if (cancel)
		cancel(t, stp_check_work_fn);
	return rc;
}

struct kretprobe *stp_check_kretprobe(struct kretprobe_instance *ri);
struct kretprobe *stp_check_kretprobe(struct kretprobe_instance *ri)
{
	return stp_kretprobe_ret_addr(ri) ? stp_kretprobe_of(ri) : NULL;
}

static STP_UPROBE_HANDLER(stp_check_uprobe_hit, self, regs)
{
	(void)self;
	(void)regs;
	return 0;
}

static STP_URETPROBE_HANDLER(stp_check_uretprobe_hit, self, func, regs)
{
	(void)self;
	(void)func;
	(void)regs;
	return 0;
}

int stp_check_uprobe(struct inode *inode, struct uprobe_consumer *uc);
int stp_check_uprobe(struct inode *inode, struct uprobe_consumer *uc)
{
	struct uprobe *uprobe = NULL;
	int rc;

	uc->handler = stp_check_uprobe_hit;
	uc->ret_handler = stp_check_uretprobe_hit;
	rc = stp_uprobe_register(inode, 4096, 8192, uc, &uprobe);
	if (rc == 0) {
		stp_uprobe_unregister_nosync(inode, 4096, uc, uprobe);
		stp_uprobe_unregister_sync();
	}
	return rc;
}

/* The names users' embedded C calls, where the kernel renamed or dropped them. */
struct file *stp_check_guru_names(struct files_struct *files, char *dst, size_t size);
struct file *stp_check_guru_names(struct files_struct *files, char *dst, size_t size)
{
	if (strlcpy(dst, "pfiles", size) >= size)
		return NULL;
	return fcheck_files(files, 0);
}

STP_MODULE_IMPORT_NS(STP_CHECK_NS);
