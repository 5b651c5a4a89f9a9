/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The invariant a lazy restore rests on, checked on a restored task before
 * it runs: every page of its lazy memory lies in a VMA registered with
 * userfaultfd for missing pages, and none is present yet.  A page that is
 * present before the pager installs the image's bytes (written by the
 * restorer, filled by a huge page over a neighbouring eager write, read
 * in as the shared zero page, swapped out) never faults, so the task
 * would run on it instead of on the image; an unregistered lazy range
 * would read as zeros.
 *
 * The task is read through /proc/PID/smaps (VmFlags "um") and
 * /proc/PID/pagemap; a present page is named through /proc/kpageflags
 * (huge page, zero page) where the caller may read it.  Needs the right
 * to read the task's memory map (ptrace-read: the restoring root).
 */
#ifndef LAZYBOOT_LAZY_CHECK_H
#define LAZYBOOT_LAZY_CHECK_H

#include "engine/lazy_ranges.h"
#include "util/lzb_error.h"

/*
 * Check LAZY (current addresses) against task PID.  0 when it holds;
 * else -1 with ERR naming the first range or page that breaks it.
 */
int lzb_lazy_check(const struct lzb_ranges *lazy, int pid,
		   struct lzb_err *err);

#endif
