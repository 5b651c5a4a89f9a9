/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Tell systemd how a Type=notify service is doing (READY=1, STATUS=...),
 * by the documented datagram protocol on $NOTIFY_SOCKET (sd_notify(3)):
 * Debian 12's libsystemd-dev is not among the build's libraries and the
 * protocol is one datagram.  Without $NOTIFY_SOCKET nothing is sent.
 * The same datagram with fds attached (FDSTORE=1) is
 * lzb_sd_notify_fds() in util/sd_fds.h, which this one calls.
 */
#ifndef LAZYBOOT_SD_NOTIFY_H
#define LAZYBOOT_SD_NOTIFY_H

/* Send STATE ("KEY=VALUE" lines); 0 if sent or not under systemd. */
int lzb_sd_notify(const char *state);

#endif
