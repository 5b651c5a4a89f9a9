/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * File descriptors to and from systemd, without libsystemd: the fds a
 * service was started with (LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES: its
 * fd store handed back, sd_listen_fds_with_names(3)), and notify messages
 * that carry fds (FDSTORE=1, sd_pid_notify_with_fds(3)).
 */
#ifndef LAZYBOOT_SD_FDS_H
#define LAZYBOOT_SD_FDS_H

#include <stdbool.h>
#include <sys/types.h>

#include "util/lzb_error.h"

#define LZB_LISTEN_FDS_START 3
#define LZB_FDNAME_MAX 255

struct lzb_listen_fd {
	int fd;
	char name[LZB_FDNAME_MAX + 1];
};

/* A name systemd accepts in FDNAME=: 1..255 printable ASCII, no ':'. */
bool lzb_fdname_valid(const char *name);

/*
 * Read the three variables as given (NULL: unset) for process SELF: the
 * number of fds, each with its name, in OUT (room for MAX); 0 when they
 * are not for SELF (LISTEN_PID unset or another pid: those fds are not
 * ours to touch).  -1 with ERR when they are ours but do not add up: a
 * count that is not a number or more than MAX, names missing, too many,
 * or not valid fd names.
 */
int lzb_listen_parse(const char *listen_pid, const char *listen_fds,
		     const char *listen_fdnames, pid_t self,
		     struct lzb_listen_fd *out, unsigned int max,
		     struct lzb_err *err);

/*
 * lzb_listen_parse() on this process's environment, which is then
 * cleared of the three (children do not see them).  The fds get
 * FD_CLOEXEC.  On -1, the fds LISTEN_FDS counts (if any, up to MAX) are
 * closed: what they are cannot be known.
 */
int lzb_listen_take(struct lzb_listen_fd *out, unsigned int max,
		    struct lzb_err *err);

/*
 * Send STATE to $NOTIFY_SOCKET with FDS (N of them) attached: 0, 1 when
 * there is no NOTIFY_SOCKET (not sent), or -errno.
 */
int lzb_sd_notify_fds(const char *state, const int *fds, unsigned int n);

#endif
