// SPDX-License-Identifier: LGPL-2.1-or-later
/* Timestamped progress lines (progress_log.h). */
#include <stdarg.h>
#include <stdio.h>

#include "util/clock.h"
#include "util/log.h"
#include "util/progress_log.h"

void lzb_progress(bool quiet, uint64_t t0_us, const char *fmt, ...)
{
	va_list ap;

	if (quiet || !lzb_log_enabled(LZB_LOG_INFO))
		return;
	printf("%s[%7.3f] ", lzb_log_prefix(fileno(stdout), LZB_LOG_INFO),
	       (double)(lzb_now_us() - t0_us) / 1e6);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}
