/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The monotonic clock the restore and profile runs measure with, and their
 * progress lines on stdout: "[  1.234] text", seconds since the run began.
 */
#ifndef LAZYBOOT_PROGRESS_LOG_H
#define LAZYBOOT_PROGRESS_LOG_H

#include <stdbool.h>
#include <stdint.h>

/* CLOCK_MONOTONIC in microseconds. */
uint64_t lzb_clock_us(void);

/*
 * Print one progress line stamped with the seconds since T0_US (from
 * lzb_clock_us()), then flush, so a reader of a pipe or journal sees it at
 * once.  Nothing is printed when QUIET.
 */
void lzb_progress(bool quiet, uint64_t t0_us, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
