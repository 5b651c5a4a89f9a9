// SPDX-License-Identifier: LGPL-2.1-or-later
/* Monotonic clock and timestamped progress lines (progress_log.h). */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "util/progress_log.h"

uint64_t lzb_clock_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

void lzb_progress(bool quiet, uint64_t t0_us, const char *fmt, ...)
{
	va_list ap;

	if (quiet)
		return;
	printf("[%7.3f] ", (double)(lzb_clock_us() - t0_us) / 1e6);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}
