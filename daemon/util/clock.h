/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The one monotonic clock of the userspace (CLOCK_MONOTONIC): timers,
 * deadlines, latencies and the times a report prints are all read here.
 */
#ifndef LAZYBOOT_CLOCK_H
#define LAZYBOOT_CLOCK_H

#include <stdint.h>

uint64_t lzb_now_ns(void);

static inline uint64_t lzb_now_us(void)
{
	return lzb_now_ns() / 1000;
}

static inline uint64_t lzb_now_ms(void)
{
	return lzb_now_ns() / 1000000;
}

#endif
