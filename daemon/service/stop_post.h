/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * `lazybootd stop-post NAME`: the unit's ExecStopPost=, run each time
 * lazybootd@NAME.service's main process has ended (a stop, a restart, a
 * crash, the watchdog's abort).  The unit has KillMode=process, so what
 * else ran in it is still there; this decides its fate before systemd
 * can release the unit's fd store (docs/pager.md, "Keepers"):
 *
 *   restore unfinished, uffds in the fd store, no stop job queued (a
 *   crash, or `systemctl restart`): SIGSTOP them all: the next lazybootd
 *   takes the uffds back and lets them go on; if none comes (restart
 *   limit, Restart= off, a stop in between) they stay stopped, never run
 *   without their uffds, and the next start kills them;
 *   restore unfinished, kept by lazyboot.ko or a holder, no stop job:
 *   left alone (that keeper kills them at its deadline unless a
 *   successor takes over);
 *   a stop job, or the restore finished or failed: ended (SIGKILL if
 *   pages were still missing; else SIGTERM, and SIGKILL after 5 s).
 */
#ifndef LAZYBOOT_STOP_POST_H
#define LAZYBOOT_STOP_POST_H

/* argv[0] is "stop-post"; returns the process's exit status. */
int lzbd_stop_post_main(int argc, char **argv);

#endif
