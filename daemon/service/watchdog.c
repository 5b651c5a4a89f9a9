// SPDX-License-Identifier: LGPL-2.1-or-later
#include "service/watchdog.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "service/sd_notify.h"
#include "util/log.h"

static uint64_t interval_us;	/* between pings: WATCHDOG_USEC / 2; 0 off */
static uint64_t next_us;	/* when the next ping is due */

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* A positive decimal number, or 0. */
static unsigned long long number(const char *s)
{
	unsigned long long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return 0;
	errno = 0;
	v = strtoull(s, &end, 10);
	return errno || *end ? 0 : v;
}

bool lzbd_watchdog_init(void)
{
	unsigned long long usec = number(getenv("WATCHDOG_USEC"));
	const char *pid = getenv("WATCHDOG_PID");
	static bool done;

	/* Once: the variables are gone after (a second restore in one
	 * lazybootd keeps the first's setting). */
	if (done)
		return interval_us != 0;
	done = true;
	interval_us = 0;
	if (usec && (!pid || number(pid) == (unsigned long long)getpid()))
		interval_us = usec / 2 ? usec / 2 : 1;
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	next_us = 0;	/* the first ping at once */
	if (interval_us)
		lzb_log(LZB_LOG_INFO, "lazybootd: watchdog: WATCHDOG=1 every "
			"%llu ms", (unsigned long long)interval_us / 1000);
	return interval_us != 0;
}

void lzbd_watchdog_ping(void)
{
	uint64_t now;

	if (!interval_us)
		return;
	now = now_us();
	if (now < next_us)
		return;
	lzb_sd_notify("WATCHDOG=1");
	next_us = now + interval_us;
}

int lzbd_watchdog_wait_ms(void)
{
	uint64_t now;

	if (!interval_us)
		return -1;
	now = now_us();
	if (now >= next_us)
		return 1;
	return (int)((next_us - now + 999) / 1000);
}
