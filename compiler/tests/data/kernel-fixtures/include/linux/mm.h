#ifndef STP_FIXTURE_MM_H
#define STP_FIXTURE_MM_H
#include <linux/stp_fixture.h>
#include <linux/rwsem.h>
#include <linux/sched.h>

struct mm_struct {
#if STP_FIXTURE_AT_LEAST(5, 8)
	struct rw_semaphore mmap_lock;
#else
	struct rw_semaphore mmap_sem;
#endif
};

struct vm_area_struct {
	unsigned long vm_start, vm_end;
};

#if STP_FIXTURE_AT_LEAST(5, 8)
static inline void mmap_read_lock(struct mm_struct *mm) { down_read(&mm->mmap_lock); }
static inline int mmap_read_trylock(struct mm_struct *mm) { return down_read_trylock(&mm->mmap_lock); }
static inline void mmap_read_unlock(struct mm_struct *mm) { up_read(&mm->mmap_lock); }
#endif

#if STP_FIXTURE_AT_LEAST(6, 5)
long get_user_pages_remote(struct mm_struct *mm, unsigned long start, unsigned long nr_pages,
			   unsigned int gup_flags, struct page **pages, int *locked);
#elif STP_FIXTURE_AT_LEAST(5, 9)
long get_user_pages_remote(struct mm_struct *mm, unsigned long start, unsigned long nr_pages,
			   unsigned int gup_flags, struct page **pages, struct vm_area_struct **vmas,
			   int *locked);
#else
long get_user_pages_remote(struct task_struct *tsk, struct mm_struct *mm, unsigned long start,
			   unsigned long nr_pages, unsigned int gup_flags, struct page **pages,
			   struct vm_area_struct **vmas, int *locked);
#endif

struct vm_area_struct *find_vma(struct mm_struct *mm, unsigned long addr);
#if STP_FIXTURE_AT_LEAST(5, 14)
static inline struct vm_area_struct *vma_lookup(struct mm_struct *mm, unsigned long addr)
{
	struct vm_area_struct *vma = find_vma(mm, addr);

	return vma && addr >= vma->vm_start ? vma : NULL;
}
#endif
#endif
