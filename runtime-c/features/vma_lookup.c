/* SPDX-License-Identifier: GPL-2.0-only */
/* STP_HAVE_VMA_LOOKUP: vma_lookup() finds the VMA containing an address, unlike find_vma() (5.14). */
#include <linux/mm.h>

struct vm_area_struct *stp_probe(struct mm_struct *mm, unsigned long addr);
struct vm_area_struct *stp_probe(struct mm_struct *mm, unsigned long addr)
{
	return vma_lookup(mm, addr);
}
