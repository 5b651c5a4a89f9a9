/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Peers that must be refused by the pager's local sockets, for the host
 * tests: a child that runs as root but is not the criu the pager started,
 * and a child of uid/gid 65534 that keeps CAP_DAC_OVERRIDE alone, so it
 * can reach a 0600 socket in a 0700 directory of root's: what refuses it
 * is then the SO_PEERCRED check, not the file modes.
 */
#ifndef LAZYBOOT_FOREIGN_PEER_H
#define LAZYBOOT_FOREIGN_PEER_H

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

/* Drop to uid/gid 65534 keeping CAP_DAC_OVERRIDE; 0 or -1. */
static inline int become_nobody(void)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[2] = { { 0 } };

	if (prctl(PR_SET_KEEPCAPS, 1) || setgroups(0, NULL) ||
	    setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
		return -1;
	d[0].effective = d[0].permitted = 1u << CAP_DAC_OVERRIDE;
	return syscall(SYS_capset, &h, d) ? -1 : 0;
}

/*
 * Connect to PATH (a stream socket) and wait up to 10 s for the other end
 * to hang up: 0 when it refused us (connection refused or reset, or
 * closed at once), 1 when it kept the connection open, 2 when PATH could
 * not be reached at all for another reason.
 */
static inline int refused_at(const char *path, int type)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 10 };
	char c;
	ssize_t n;
	int fd = socket(AF_UNIX, type, 0);

	if (fd < 0 || strlen(path) >= sizeof(addr.sun_path))
		return 2;
	memcpy(addr.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)))
		return errno == ECONNREFUSED || errno == ENOENT ? 0 : 2;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n = recv(fd, &c, 1, 0);
	close(fd);
	if (n == 0 || (n < 0 && errno == ECONNRESET))
		return 0;
	return 1;
}

/* The permission bits of PATH, or -1. */
static inline int mode_of(const char *path)
{
	struct stat st;

	return stat(path, &st) ? -1 : (int)(st.st_mode & 07777);
}

#endif
