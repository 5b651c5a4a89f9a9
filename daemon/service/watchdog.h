/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * systemd's service watchdog (WatchdogSec=): while lazybootd works it
 * sends WATCHDOG=1 on $NOTIFY_SOCKET at half the interval systemd gives
 * in $WATCHDOG_USEC, from the loops that do the work (the pager's serve
 * loop, the waits on the restored root or the cold-started app), so a
 * loop that hangs stops the pings and systemd notices (sd_watchdog_
 * enabled(3), sd_notify(3); spoken directly, as sd_notify.h explains).
 */
#ifndef LAZYBOOT_SERVICE_WATCHDOG_H
#define LAZYBOOT_SERVICE_WATCHDOG_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Read $WATCHDOG_USEC and $WATCHDOG_PID as sd_watchdog_enabled(3) does:
 * on when WATCHDOG_USEC is a positive number and WATCHDOG_PID is unset or
 * this process.  Both are then taken out of the environment, so the
 * processes lazybootd starts (CRIU, the probe, a cold start) do not take
 * systemd's watchdog for theirs.  Returns whether it is on.
 */
bool lzbd_watchdog_init(void);

/* Send WATCHDOG=1 if half the interval passed since the last one. */
void lzbd_watchdog_ping(void);

/*
 * The longest a waiting loop may sleep before its next ping is due, in
 * ms (at least 1); -1 when the watchdog is off (sleep as long as needed).
 */
int lzbd_watchdog_wait_ms(void);

#endif
