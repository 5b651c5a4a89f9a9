/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What lazybootd asks systemd about its own unit, through systemctl (no
 * libsystemd): the unit's name (from the cgroup it runs in), how many fds
 * its fd store holds, and the job queued for it.
 */
#ifndef LAZYBOOT_UNIT_QUERY_H
#define LAZYBOOT_UNIT_QUERY_H

#include <stddef.h>

/* The service this process runs in ("lazybootd@x.service"): 0 or -errno. */
int lzbd_unit_name(char *buf, size_t len);

/* Its FileDescriptorStoreMax=, or -errno. */
long lzbd_unit_fdstore_max(const char *unit);

/*
 * The type of the job queued for UNIT ("stop", "restart", "start", ...)
 * in BUF, "" when there is none: 0, or -errno (systemd did not answer).
 */
int lzbd_unit_job(const char *unit, char *buf, size_t len);

#endif
