// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target: the pager's end of CRIU's lazy-pages socket
 * (daemon/criu/criu_lazy_socket.c).  Only criu and its tasks may connect,
 * but what they send is still parsed defensively: a confused or
 * compromised restore must not make the pager leak an fd, read past a
 * message or call a task in twice.  The fuzz input is a sequence of
 * sends on a real connection from this process (allowed as "criu"), each
 * picked by one byte:
 *
 *   b % 4 == 0   the next 4 bytes, as they are (an int, or part of one)
 *   b % 4 == 1   one data byte carrying an fd (SCM_RIGHTS), as a task does
 *   b % 4 == 2   one data byte without an fd
 *   b % 4 == 3   a well-formed int picked by b >> 2: the restore-finished
 *                marker, a pid, a zombie's negated pid, 0 or INT32_MIN
 *
 * then the connection is shut, and the socket processed until it stops.
 * The sending side does not block: what does not fit in the socket's
 * buffer ends the sends there.
 * No fd may be left open, and nothing may come after the marker.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "criu/criu_lazy_socket.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

struct seen {
	bool finished;
	unsigned int tasks;
};

static int on_task(void *ctx, int img_pid, int real_pid, int pidfd, int uffd)
{
	struct seen *s = ctx;

	if (s->finished || img_pid <= 0 || real_pid != getpid() || pidfd < 0 ||
	    uffd < 0)
		abort();
	s->tasks++;
	close(pidfd);
	close(uffd);
	return 0;
}

static int on_zombie(void *ctx, int img_pid)
{
	struct seen *s = ctx;

	if (s->finished || img_pid <= 0)
		abort();
	return 0;
}

static int on_finished(void *ctx)
{
	struct seen *s = ctx;

	if (s->finished)
		abort();
	s->finished = true;
	return 0;
}

static const struct lzb_lazy_socket_ops ops = {
	.task = on_task, .zombie = on_zombie, .finished = on_finished,
};

static bool send_byte(int fd, bool with_fd)
{
	char byte = 0, control[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	int efd = -1;

	if (with_fd) {
		struct cmsghdr *c;

		efd = eventfd(0, EFD_CLOEXEC);
		if (efd < 0)
			abort();
		msg.msg_control = control;
		msg.msg_controllen = sizeof(control);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &efd, sizeof(int));
	}
	ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);

	if (efd >= 0)
		close(efd);
	return n == 1;
}

static void send_all(int fd, const uint8_t *data, size_t size)
{
	static const int32_t picks[] = {
		LZB_RESTORE_FINISHED, 1, 2, -3, 0, INT32_MIN, 4242, -1,
	};

	bool sent = true;

	for (size_t i = 0; i < size && sent;) {
		uint8_t b = data[i++];
		size_t n;

		switch (b % 4) {
		case 0:
			n = size - i < 4 ? size - i : 4;
			sent = send(fd, data + i, n, MSG_NOSIGNAL) == (ssize_t)n;
			i += n;
			break;
		case 1:
		case 2:
			sent = send_byte(fd, b % 4 == 1);
			break;
		default:
			sent = send(fd, &picks[(b >> 2) % 8], 4, MSG_NOSIGNAL) == 4;
			break;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct lzb_lazy_socket *s;
	struct seen seen = { 0 };
	int cfd, probe, err = 0;

	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/lzb-fuzz-lazy-XXXXXX");
		if (!mkdtemp(dir))
			abort();
	}
	if (size > 4096)
		return 0;
	probe = dup(0);
	close(probe);
	if (lzb_lazy_socket_listen(dir, &s))
		abort();
	lzb_lazy_socket_allow(s, getpid());
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", dir,
		 LZB_LAZY_SOCKET_NAME);
	cfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (cfd < 0 || connect(cfd, (struct sockaddr *)&sa, sizeof(sa)))
		abort();
	if (lzb_lazy_socket_process(s, &ops, &seen))	/* the accept */
		abort();
	send_all(cfd, data, size);
	shutdown(cfd, SHUT_WR);
	for (int i = 0; i < 10000 && !err; i++) {
		err = lzb_lazy_socket_process(s, &ops, &seen);
		if (lzb_lazy_socket_finished(s) && !err &&
		    lzb_lazy_socket_fd(s) < 0)
			break;
		if (err == 0 && lzb_lazy_socket_fd(s) < 0)
			break;
	}
	if (seen.finished != lzb_lazy_socket_finished(s))
		abort();
	lzb_lazy_socket_close(s);
	close(cfd);
	/* every fd the socket received was closed again */
	cfd = dup(0);
	close(cfd);
	if (cfd != probe)
		abort();
	return 0;
}
