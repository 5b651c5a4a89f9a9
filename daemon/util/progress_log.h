/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The progress lines of the restore and profile runs on stdout:
 * "[  1.234] text", seconds since the run began (util/clock.h), with
 * the info priority's "<6>" before it when stdout is the journal and
 * left out when the log level (util/log.h) is below info.
 */
#ifndef LAZYBOOT_PROGRESS_LOG_H
#define LAZYBOOT_PROGRESS_LOG_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Print one progress line stamped with the seconds since T0_US (from
 * lzb_now_us()), then flush, so a reader of a pipe or journal sees it at
 * once.  Nothing is printed when QUIET.
 */
void lzb_progress(bool quiet, uint64_t t0_us, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
