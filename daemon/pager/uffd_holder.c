// SPDX-License-Identifier: LGPL-2.1-or-later
#include "pager/uffd_holder.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/task_limit.h"
#include "util/unix_listen.h"

enum holder_op {
	OP_KEEP = 1,	/* pager -> holder, with the uffd and a pidfd */
	OP_TAKE,	/* pager -> holder */
	OP_TASK,	/* holder -> pager, with the uffd and a pidfd */
	OP_END,		/* holder -> pager: count, or -errno */
	OP_DONE,	/* pager -> holder */
	OP_SEAL,	/* pager -> holder: no take-over from now on */
};

struct holder_msg {
	uint32_t op;
	int32_t img_pid;
	int32_t pid;
	int32_t val;
};

struct held {
	int img_pid, pid, uffd, pidfd;
};

struct holder {
	struct held t[LZB_TASK_LIMIT];
	int n;
	int listener;
	int owner;	/* the pager in charge, -1 when orphaned */
	int guest;	/* a connection that has not taken over yet */
	uint32_t deadline_ms;
	uint64_t orphaned_at;
	bool sealed;	/* the journal failed: no pager may take over */
};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	va_list ap;

	printf("lazyboot holder %d: ", (int)getpid());
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* A message with no fd, or with FD and (if >= 0) PIDFD. */
static int send_msg2(int conn, const struct holder_msg *m, int fd, int pidfd)
{
	char control[CMSG_SPACE(2 * sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = (void *)m, .iov_len = sizeof(*m) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		int fds[2] = { fd, pidfd };
		size_t nfd = pidfd >= 0 ? 2 : 1;
		struct cmsghdr *cmsg;

		msg.msg_control = control;
		msg.msg_controllen = CMSG_SPACE(nfd * sizeof(int));
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(nfd * sizeof(int));
		memcpy(CMSG_DATA(cmsg), fds, nfd * sizeof(int));
	}
	if (sendmsg(conn, &msg, MSG_NOSIGNAL) != sizeof(*m))
		return errno ? -errno : -EIO;
	return 0;
}

static int send_msg(int conn, const struct holder_msg *m, int fd)
{
	return send_msg2(conn, m, fd, -1);
}

/*
 * Returns the message size (0: hang-up) or -errno; *fd gets the first fd
 * passed, *pidfd the second (-1 if none).
 */
static int recv_msg2(int conn, struct holder_msg *m, int *fd, int *pidfd)
{
	char control[CMSG_SPACE(2 * sizeof(int))];
	struct iovec iov = { .iov_base = m, .iov_len = sizeof(*m) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control, .msg_controllen = sizeof(control),
	};
	struct cmsghdr *cmsg;
	ssize_t n;

	*fd = *pidfd = -1;
	n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return -errno;
	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
		int fds[2] = { -1, -1 };
		size_t len;

		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		len = cmsg->cmsg_len - CMSG_LEN(0);
		if (len > sizeof(fds))
			len = sizeof(fds);
		memcpy(fds, CMSG_DATA(cmsg), len);
		if (*fd < 0) {
			*fd = fds[0];
			*pidfd = len >= 2 * sizeof(int) ? fds[1] : -1;
		}
	}
	if ((n && n != sizeof(*m)) || (msg.msg_flags & MSG_CTRUNC)) {
		if (*fd >= 0)
			close(*fd);
		if (*pidfd >= 0)
			close(*pidfd);
		*fd = *pidfd = -1;
		return -EPROTO;
	}
	return (int)n;
}

/* ---- the holder process --------------------------------------------- */

static void orphan(struct holder *h, const char *why)
{
	close(h->owner);
	h->owner = -1;
	h->orphaned_at = lzb_now_ms();
	say("%s: no pager in charge; the tasks die in %u ms unless one takes "
	    "over", why, h->deadline_ms);
}

static void give_back(struct holder *h, int conn)
{
	struct holder_msg m = { .op = OP_END, .val = -EBUSY };
	int i;

	if (h->owner >= 0 || h->sealed) {
		/* Sealed: the journal is incomplete, a successor would
		 * install stale image bytes; the deadline decides. */
		if (h->sealed)
			m.val = -ESTALE;
		send_msg(conn, &m, -1);
		return;
	}
	for (i = 0; i < h->n; i++) {
		struct holder_msg t = {
			.op = OP_TASK, .img_pid = h->t[i].img_pid,
			.pid = h->t[i].pid,
		};

		if (send_msg2(conn, &t, h->t[i].uffd, h->t[i].pidfd))
			return;
	}
	m.val = h->n;
	if (send_msg(conn, &m, -1) == 0) {
		h->owner = conn;
		h->guest = -1;
		say("a pager took over %d tasks", h->n);
	}
}

static void keep(struct holder *h, const struct holder_msg *m, int fd,
		 int pidfd)
{
	struct held *t;

	if (fd < 0 || pidfd < 0) {
		say("task %d came without %s: not held", m->pid,
		    fd < 0 ? "its uffd" : "a pidfd");
		if (fd >= 0)
			close(fd);
		if (pidfd >= 0)
			close(pidfd);
		return;
	}
	if (h->n == LZB_TASK_LIMIT) {
		say("too many tasks: task %d is not held", m->pid);
		close(fd);
		close(pidfd);
		return;
	}
	t = &h->t[h->n++];
	t->img_pid = m->img_pid;
	t->pid = m->pid;
	t->uffd = fd;
	/* The pager's pidfd, taken at hand-over: never pid_open by pid. */
	t->pidfd = pidfd;
	say("holding the uffd of task %d (image pid %d)", m->pid, m->img_pid);
}

/* Kill the tasks and wait for them to be gone before letting go. */
static void kill_tasks(struct holder *h)
{
	uint64_t until = lzb_now_ms() + 10000;
	int i, alive;

	for (i = 0; i < h->n; i++) {
		if (h->t[i].pidfd >= 0)
			lzb_pidfd_kill(h->t[i].pidfd, SIGKILL);
	}
	say("deadline passed with no pager: killed %d tasks", h->n);
	do {
		alive = 0;
		for (i = 0; i < h->n; i++) {
			struct pollfd p = { .fd = h->t[i].pidfd,
					    .events = POLLIN };

			if (p.fd >= 0 && poll(&p, 1, 0) == 0)
				alive++;
		}
		if (alive)
			usleep(10000);
	} while (alive && lzb_now_ms() < until);
}

/* Serve the connection conn (owner or guest); false when it hung up. */
static bool serve_conn(struct holder *h, int conn, bool *done)
{
	struct holder_msg m;
	int fd, pidfd, n = recv_msg2(conn, &m, &fd, &pidfd);

	if (n == -EAGAIN || n == -EINTR)
		return true;
	if (n <= 0)
		return false;
	switch (m.op) {
	case OP_KEEP:
		if (conn == h->owner) {
			keep(h, &m, fd, pidfd);
			return true;
		}
		break;
	case OP_SEAL:
		if (conn == h->owner && !h->sealed) {
			h->sealed = true;
			say("sealed: the pager's journal is incomplete; no "
			    "pager may take over, the tasks die at the "
			    "deadline if this one does not finish");
		}
		break;
	case OP_TAKE:
		give_back(h, conn);
		break;
	case OP_DONE:
		if (conn == h->owner)
			*done = true;
		break;
	}
	if (fd >= 0)
		close(fd);
	if (pidfd >= 0)
		close(pidfd);
	return true;
}

static volatile sig_atomic_t terminate;

static void on_term(int sig)
{
	terminate = sig;
}

static int holder_main(struct holder *h)
{
	struct sigaction sa = { .sa_handler = on_term };
	bool done = false;

	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	/* Told to go: with no pager in charge, that is the deadline now. */
	sigaction(SIGTERM, &sa, NULL);
	say("started, deadline %u ms", h->deadline_ms);
	while (!done) {
		struct pollfd p[3] = {
			{ .fd = h->listener, .events = POLLIN },
			{ .fd = h->owner, .events = POLLIN },
			{ .fd = h->guest, .events = POLLIN },
		};
		int timeout = -1;

		if (terminate && h->owner >= 0) {
			say("terminated while a pager holds the uffds too");
			break;
		}
		if (h->owner < 0) {
			uint64_t end = h->orphaned_at + h->deadline_ms;

			if (lzb_now_ms() >= end || terminate) {
				kill_tasks(h);
				break;
			}
			timeout = (int)(end - lzb_now_ms());
		}
		if (poll(p, 3, timeout) < 0 && errno != EINTR)
			break;
		if (p[0].revents & POLLIN) {
			int c = accept4(h->listener, NULL, NULL, SOCK_CLOEXEC);

			/* Only root (our uid) gets to ask for the uffds. */
			if (c >= 0 && lzb_peer_check(c, 0, NULL)) {
				say("refused a connection from a process "
				    "that does not run as uid %u",
				    (unsigned int)geteuid());
				close(c);
				c = -1;
			}
			if (c >= 0) {
				if (h->guest >= 0)
					close(h->guest);
				h->guest = c;
			}
		}
		if (p[1].revents && !serve_conn(h, h->owner, &done))
			orphan(h, "the pager is gone");
		if (h->guest >= 0 && p[2].fd == h->guest && p[2].revents &&
		    !serve_conn(h, h->guest, &done)) {
			close(h->guest);
			h->guest = -1;
		}
	}
	if (done)
		say("every page resident: releasing %d uffds", h->n);
	return 0;
}

/* The address of WORKDIR/holder.socket; 0 or -ENAMETOOLONG. */
static int holder_addr(const char *workdir, struct sockaddr_un *addr)
{
	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	if (snprintf(addr->sun_path, sizeof(addr->sun_path), "%s/%s", workdir,
		     LZB_HOLDER_SOCKET_NAME) >= (int)sizeof(addr->sun_path))
		return -ENAMETOOLONG;
	return 0;
}

int lzb_holder_start(const char *workdir, uint32_t deadline_ms, pid_t *holder,
		     int *conn)
{
	struct holder h = { .owner = -1, .guest = -1,
			    .deadline_ms = deadline_ms };
	char log[4200];
	int sv[2], err;
	pid_t pid;

	h.listener = lzb_unix_listen(workdir, LZB_HOLDER_SOCKET_NAME,
				     SOCK_SEQPACKET, NULL, 0);
	if (h.listener < 0)
		return h.listener;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		err = -errno;
		close(h.listener);
		return err;
	}
	snprintf(log, sizeof(log), "%s/%s", workdir, LZB_HOLDER_LOG_NAME);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		setsid();
		close(sv[0]);
		if (null >= 0)
			dup2(null, STDIN_FILENO);
		if (!freopen(log, "a", stdout) ||
		    dup2(STDOUT_FILENO, STDERR_FILENO) < 0)
			_exit(1);
		h.owner = sv[1];
		_exit(holder_main(&h));
	}
	err = pid < 0 ? -errno : 0;
	close(sv[1]);
	close(h.listener);
	if (err) {
		close(sv[0]);
		return err;
	}
	*holder = pid;
	*conn = sv[0];
	return 0;
}

int lzb_holder_connect(const char *workdir, int *conn)
{
	struct sockaddr_un addr;
	int s = holder_addr(workdir, &addr);

	if (s < 0)
		return s;
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	if (connect(s, (struct sockaddr *)&addr, sizeof(addr))) {
		int err = -errno;

		close(s);
		return err;
	}
	*conn = s;
	return 0;
}

int lzb_holder_keep(int conn, int img_pid, int pid, int pidfd, int uffd)
{
	struct holder_msg m = { .op = OP_KEEP, .img_pid = img_pid, .pid = pid };

	if (pidfd < 0)
		return -EINVAL;
	return send_msg2(conn, &m, uffd, pidfd);
}

int lzb_holder_seal(int conn)
{
	struct holder_msg m = { .op = OP_SEAL };

	return send_msg(conn, &m, -1);
}

int lzb_holder_take(int conn, struct lzb_held_task *tasks, int max)
{
	struct holder_msg m = { .op = OP_TAKE };
	int n = 0, fd, pidfd, ret = send_msg(conn, &m, -1);

	while (!ret) {
		ret = recv_msg2(conn, &m, &fd, &pidfd);
		if (ret == 0)
			ret = -ECONNRESET;
		if (ret < 0)
			break;
		ret = 0;
		if (m.op == OP_END && fd < 0 && m.val >= 0)
			return n;
		if (m.op == OP_END && fd < 0) {
			ret = m.val;
			break;
		}
		if (m.op != OP_TASK || fd < 0 || pidfd < 0 || n == max) {
			if (fd >= 0)
				close(fd);
			if (pidfd >= 0)
				close(pidfd);
			ret = -EPROTO;
			break;
		}
		tasks[n].img_pid = m.img_pid;
		tasks[n].pid = m.pid;
		tasks[n].uffd = fd;
		tasks[n].pidfd = pidfd;
		n++;
	}
	while (n--) {
		close(tasks[n].uffd);
		close(tasks[n].pidfd);
	}
	return ret;
}

int lzb_holder_done(int conn)
{
	struct holder_msg m = { .op = OP_DONE };

	return send_msg(conn, &m, -1);
}
