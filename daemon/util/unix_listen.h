/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A non-blocking listening unix socket at DIR/NAME, for the pager's sockets. */
#ifndef LAZYBOOT_UNIX_LISTEN_H
#define LAZYBOOT_UNIX_LISTEN_H

#include <stddef.h>

/*
 * Replace whatever is at DIR/NAME with a listening stream socket
 * (SOCK_CLOEXEC | SOCK_NONBLOCK, backlog 1); its path goes to PATH if not
 * NULL.  The fd, or -errno (-ENAMETOOLONG when the path does not fit).
 */
int lzb_unix_listen(const char *dir, const char *name, char *path,
		    size_t pathlen);

#endif
