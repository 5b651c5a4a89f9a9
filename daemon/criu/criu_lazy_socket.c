// SPDX-License-Identifier: LGPL-2.1-or-later
#include "criu/criu_lazy_socket.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/unix_listen.h"

/* How long a started message may take to arrive in full. */
#define MESSAGE_TIMEOUT_MS 10000

struct lzb_lazy_socket {
	int listen_fd;
	int conn_fd;
	bool finished;
	pid_t criu;	/* who may connect and send: it or its descendants */
};

int lzb_lazy_socket_listen(const char *dir, struct lzb_lazy_socket **out)
{
	struct lzb_lazy_socket *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->conn_fd = -1;
	s->listen_fd = lzb_unix_listen(dir, LZB_LAZY_SOCKET_NAME,
				       SOCK_STREAM | SOCK_NONBLOCK, NULL, 0);
	if (s->listen_fd < 0) {
		int err = s->listen_fd;

		free(s);
		return err;
	}
	/*
	 * Credentials with every message, from the first: the accepted
	 * socket inherits SO_PASSCRED, and a message sent before the
	 * accept gets them from the kernel anyway.
	 */
	if (setsockopt(s->listen_fd, SOL_SOCKET, SO_PASSCRED, &(int){ 1 },
		       sizeof(int))) {
		int err = -errno;

		lzb_lazy_socket_close(s);
		return err;
	}
	*out = s;
	return 0;
}

void lzb_lazy_socket_allow(struct lzb_lazy_socket *s, pid_t criu)
{
	s->criu = criu;
}

void lzb_lazy_socket_close(struct lzb_lazy_socket *s)
{
	if (!s)
		return;
	if (s->conn_fd >= 0)
		close(s->conn_fd);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	free(s);
}

int lzb_lazy_socket_fd(const struct lzb_lazy_socket *s)
{
	return s->conn_fd >= 0 ? s->conn_fd : s->listen_fd;
}

bool lzb_lazy_socket_finished(const struct lzb_lazy_socket *s)
{
	return s->finished;
}

static int wait_readable(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int n = poll(&pfd, 1, MESSAGE_TIMEOUT_MS);

	if (n < 0)
		return -errno;
	return n == 0 ? -ETIMEDOUT : 0;
}

/* Read exactly len bytes of a message that has started to arrive. */
static int read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = recv(fd, (char *)buf + got, len - got, 0);

		if (n > 0) {
			got += n;
			continue;
		}
		if (n == 0)
			return got ? -EPROTO : -EPIPE;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		n = wait_readable(fd);
		if (n)
			return n;
	}
	return 0;
}

/*
 * The one data byte carrying the task's userfaultfd.  The task sends it
 * itself (CRIU's setup_uffd() runs in each restored task), so the
 * credentials the kernel attaches (SO_PASSCRED) name its pid in our pid
 * namespace: *real_pid.  A message without them, or from a task that
 * is not criu's descendant, is refused (-EPROTO, -EACCES).
 */
static int read_fd(int fd, int *real_pid, uid_t *uid)
{
	char byte, control[CMSG_SPACE(sizeof(int)) +
			   CMSG_SPACE(sizeof(struct ucred))];
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control, .msg_controllen = sizeof(control),
	};
	struct cmsghdr *cmsg;
	ssize_t n;
	int uffd, err;

	for (;;) {
		n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
		if (n >= 0 || (errno != EAGAIN && errno != EINTR))
			break;
		err = wait_readable(fd);
		if (err)
			return err;
	}
	if (n < 0)
		return -errno;
	if (n == 0)
		return -EPIPE;
	uffd = -1;
	*real_pid = 0;
	*uid = (uid_t)-1;
	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET)
			continue;
		if (cmsg->cmsg_type == SCM_RIGHTS &&
		    cmsg->cmsg_len == CMSG_LEN(sizeof(int)) && uffd < 0) {
			memcpy(&uffd, CMSG_DATA(cmsg), sizeof(uffd));
		} else if (cmsg->cmsg_type == SCM_CREDENTIALS &&
			   cmsg->cmsg_len == CMSG_LEN(sizeof(struct ucred))) {
			struct ucred cred;

			memcpy(&cred, CMSG_DATA(cmsg), sizeof(cred));
			*real_pid = cred.pid;
			*uid = cred.uid;
		}
	}
	if (uffd < 0 || (msg.msg_flags & MSG_CTRUNC)) {
		if (uffd >= 0)
			close(uffd);
		return -EPROTO;
	}
	return uffd;
}

static int read_message(struct lzb_lazy_socket *s,
			const struct lzb_lazy_socket_ops *ops, void *ctx)
{
	int32_t value;
	int err, uffd, pidfd, real_pid = 0;
	uid_t uid;

	err = read_full(s->conn_fd, &value, sizeof(value));
	if (err == -EPIPE && s->finished) {
		close(s->conn_fd);
		s->conn_fd = -1;
		return 0;
	}
	if (err)
		return err;
	if (s->finished)
		return -EPROTO;
	if (value == LZB_RESTORE_FINISHED) {
		s->finished = true;
		return ops->finished ? ops->finished(ctx) : 0;
	}
	if (value == 0 || value == INT32_MIN)
		return -EPROTO;
	if (value < 0)
		return ops->zombie ? ops->zombie(ctx, -value) : 0;
	uffd = read_fd(s->conn_fd, &real_pid, &uid);
	if (uffd < 0)
		return uffd;
	/* No credentials, or a sender we cannot see: never the image pid. */
	if (real_pid <= 0 || uid != geteuid()) {
		close(uffd);
		return real_pid <= 0 ? -EPROTO : -EACCES;
	}
	pidfd = lzb_pidfd_of_descendant(real_pid, s->criu);
	if (pidfd < 0) {
		close(uffd);
		return pidfd == -ESRCH ? -ESRCH : -EACCES;
	}
	/* The callee owns both from here, error or not. */
	return ops->task(ctx, value, real_pid, pidfd, uffd);
}

int lzb_lazy_socket_process(struct lzb_lazy_socket *s,
			    const struct lzb_lazy_socket_ops *ops, void *ctx)
{
	int err;

	if (s->conn_fd < 0) {
		if (s->finished)
			return 0;
		s->conn_fd = accept4(s->listen_fd, NULL, NULL,
				     SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (s->conn_fd < 0)
			return errno == EAGAIN ? 0 : -errno;
		/*
		 * Only our criu (it connects before forking any task): any
		 * other peer is hung up on, and criu may still come.
		 */
		if (s->criu <= 0 ||
		    lzb_peer_check(s->conn_fd, s->criu, NULL)) {
			close(s->conn_fd);
			s->conn_fd = -1;
			return 0;
		}
		/* CRIU connects once per restore. */
		close(s->listen_fd);
		s->listen_fd = -1;
	}
	/*
	 * Read every message already queued (or the hang-up), and return
	 * as soon as nothing is: a caller whose poll result is stale (the
	 * pager reads this socket from its plugin check too) never waits.
	 */
	while (recv(s->conn_fd, &(char){ 0 }, 1, MSG_PEEK | MSG_DONTWAIT) >= 0 ||
	       (errno != EAGAIN && errno != EINTR)) {
		err = read_message(s, ops, ctx);
		if (err || s->conn_fd < 0)
			return err;
	}
	return 0;
}
