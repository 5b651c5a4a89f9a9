// SPDX-License-Identifier: LGPL-2.1-or-later
/* A listening unix socket at DIR/NAME (unix_listen.h). */
#include "util/unix_listen.h"

#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int lzb_unix_listen(const char *dir, const char *name, char *path,
		    size_t pathlen)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int n, fd, err;

	n = snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(addr.sun_path) ||
	    (path && (size_t)n >= pathlen))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(addr.sun_path);
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) || listen(fd, 1)) {
		err = -errno;
		close(fd);
		return err;
	}
	if (path)
		snprintf(path, pathlen, "%s", addr.sun_path);
	return fd;
}
