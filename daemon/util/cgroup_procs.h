/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The other processes in this process's cgroup (v2): under a systemd
 * service they are what is left of the unit when its main process died
 * (KillMode=process), i.e. the restored tasks.
 */
#ifndef LAZYBOOT_CGROUP_PROCS_H
#define LAZYBOOT_CGROUP_PROCS_H

#include <stddef.h>

/*
 * This process's cgroup path ("/system.slice/x.service") in BUF: 0, or
 * -errno (-ENOENT: no cgroup v2 line, or the root cgroup).
 */
int lzb_cgroup_self(char *buf, size_t len);

/*
 * Send SIG to every process of this process's cgroup but itself, each
 * through a pidfd taken while it was still in the cgroup (a pid reused
 * meanwhile is never signalled).  The number signalled, or -errno.
 */
int lzb_cgroup_signal_others(int sig);

/* How many other processes the cgroup has (or -errno). */
int lzb_cgroup_count_others(void);

#endif
