// SPDX-License-Identifier: LGPL-2.1-or-later
#include "util/sd_fds.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

bool lzb_fdname_valid(const char *name)
{
	size_t n = strlen(name);

	if (!n || n > LZB_FDNAME_MAX)
		return false;
	for (const char *c = name; *c; c++)
		if (*c < ' ' || *c > '~' || *c == ':')
			return false;
	return true;
}

/* A decimal number without sign, spaces or leading zeros; -1 if not. */
static long long decimal(const char *s)
{
	long long v = 0;

	if (!s || !*s || (s[0] == '0' && s[1]))
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (1LL << 40))
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

int lzb_listen_parse(const char *listen_pid, const char *listen_fds,
		     const char *listen_fdnames, pid_t self,
		     struct lzb_listen_fd *out, unsigned int max,
		     struct lzb_err *err)
{
	long long pid = decimal(listen_pid), n = decimal(listen_fds);
	const char *name = listen_fdnames;

	if (!listen_pid || pid != (long long)self)
		return 0;
	if (n < 0)
		return lzb_errf(err, "LISTEN_FDS=%.40s: not a number of fds",
				listen_fds ? listen_fds : "(unset)");
	if (n > (long long)max)
		return lzb_errf(err, "LISTEN_FDS=%lld: more than the %u fds "
				"lazybootd can take", n, max);
	if (n && !listen_fdnames)
		return lzb_errf(err, "LISTEN_FDS=%lld but no LISTEN_FDNAMES: "
				"the fds cannot be told apart", n);
	for (long long i = 0; i < n; i++) {
		size_t len = strcspn(name, ":");

		if (len > LZB_FDNAME_MAX)
			return lzb_errf(err, "LISTEN_FDNAMES: name %lld is longer "
					"than %d characters", i + 1,
					LZB_FDNAME_MAX);
		memcpy(out[i].name, name, len);
		out[i].name[len] = '\0';
		out[i].fd = LZB_LISTEN_FDS_START + (int)i;
		if (!lzb_fdname_valid(out[i].name))
			return lzb_errf(err, "LISTEN_FDNAMES: name %lld (\"%.60s\") "
					"is not a valid fd name", i + 1,
					out[i].name);
		name += len;
		if (i + 1 < n) {
			if (*name != ':')
				return lzb_errf(err, "LISTEN_FDNAMES has %lld "
						"names for LISTEN_FDS=%lld",
						i + 1, n);
			name++;
		}
	}
	if (n && *name)
		return lzb_errf(err, "LISTEN_FDNAMES has more names than "
				"LISTEN_FDS=%lld", n);
	if (!n && listen_fdnames && *listen_fdnames)
		return lzb_errf(err, "LISTEN_FDNAMES names fds, but "
				"LISTEN_FDS=0");
	return (int)n;
}

int lzb_listen_take(struct lzb_listen_fd *out, unsigned int max,
		    struct lzb_err *err)
{
	const char *pid = getenv("LISTEN_PID");
	int n = lzb_listen_parse(pid, getenv("LISTEN_FDS"),
				 getenv("LISTEN_FDNAMES"), getpid(), out, max,
				 err);

	if (n < 0 && pid && decimal(pid) == (long long)getpid()) {
		long long count = decimal(getenv("LISTEN_FDS"));

		for (long long i = 0; i < count && i < max; i++)
			close(LZB_LISTEN_FDS_START + (int)i);
	}
	for (int i = 0; i < n; i++)
		fcntl(out[i].fd, F_SETFD, FD_CLOEXEC);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return n;
}

int lzb_sd_notify_fds(const char *state, const int *fds, unsigned int n)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char control[CMSG_SPACE(sizeof(int) * 16)] = { 0 };
	struct iovec iov = { .iov_base = (void *)state,
			     .iov_len = strlen(state) };
	struct msghdr mh = { .msg_name = &sa, .msg_iov = &iov,
			     .msg_iovlen = 1 };
	struct cmsghdr *cm;
	size_t len;
	int fd, ret = 0;

	if (!path || !*path)
		return 1;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof(sa.sun_path) ||
	    n > 16)
		return -EINVAL;
	memcpy(sa.sun_path, path, len);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	mh.msg_namelen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
				     len);
	if (n) {
		mh.msg_control = control;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * n);
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (sendmsg(fd, &mh, MSG_NOSIGNAL) < 0)
		ret = -errno;
	close(fd);
	return ret;
}
