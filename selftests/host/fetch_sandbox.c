// SPDX-License-Identifier: GPL-2.0
/*
 * The sandboxed fetcher (fetch_sandbox.c, fetch_remote.c, fetch_child.c):
 * the child a restore's fetcher starts has no capability, an unprivileged
 * uid, no_new_privs, seccomp in filter mode and none of its parent's fds
 * (a userfaultfd opened before stands for the pager's: it has stdio,
 * its socket and its own epoll and timer fds only); it still fetches
 * by host name (resolver, threads), and a fault is served while the only
 * background slot is held, a promoted request starting at once.  A
 * child sandboxed the same way (lzb_sandbox_spawn, with this test's own
 * main standing for a compromised fetcher) cannot open the memory of a
 * root process standing for a restored task, and ptrace,
 * process_vm_readv and execve kill it with SIGSYS; when the fetcher's
 * child dies, its requests fail naming the signal.  The spare TFTP
 * sockets the stream's child makes before it drops its capabilities are
 * the fetch user's, with the buffer forced past net.core.rmem_max.
 */
#include <fcntl.h>
#include <dirent.h>
#include <linux/userfaultfd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "kselftest_harness.h"
#include "fetch_helpers.h"
#include "fetch/fetch_sandbox.h"
#include "fetch/tftp_socket.h"
#include "util/lzb_error.h"

/* The value of FIELD in /proc/PID/status, or "" (static buffer). */
static const char *status_field(pid_t pid, const char *field)
{
	static char val[256];
	char path[64], line[512];
	size_t fl = strlen(field);
	FILE *f;

	val[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return val;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, fl) && line[fl] == ':') {
			char *v = line + fl + 1;

			v += strspn(v, " \t");
			v[strcspn(v, "\n")] = '\0';
			snprintf(val, sizeof(val), "%s", v);
			break;
		}
	fclose(f);
	return val;
}

TEST(fetcher_child_has_no_privilege_and_no_parent_fd)
{
	static const char *const caps[] = { "CapInh", "CapPrm", "CapEff",
					     "CapBnd", "CapAmb" };
	long uffd = syscall(SYS_userfaultfd, O_CLOEXEC);
	struct lzb_fetcher_opts o = { .sandbox = true };
	struct lzb_fetcher *f;
	unsigned int uid[4], gid[4];
	char path[64], link[64];
	struct dirent *de;
	int nfds = 0;
	pid_t pid;
	DIR *d;

	ASSERT_LE(0, uffd);	/* stands for the pager's userfaultfds */
	f = lzb_fetcher_new(&o);
	ASSERT_NE(NULL, f);
	pid = lzb_fetcher_sandbox_pid(f);
	ASSERT_LT(0, pid);
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		EXPECT_STREQ("0000000000000000", status_field(pid, caps[i])) {
			TH_LOG("%s", caps[i]);
		}
	}
	ASSERT_EQ(4, sscanf(status_field(pid, "Uid"), "%u %u %u %u", &uid[0],
			    &uid[1], &uid[2], &uid[3]));
	ASSERT_EQ(4, sscanf(status_field(pid, "Gid"), "%u %u %u %u", &gid[0],
			    &gid[1], &gid[2], &gid[3]));
	for (int i = 0; i < 4; i++) {
		EXPECT_NE(0, uid[i]);
		EXPECT_NE(0, gid[i]);
	}
	EXPECT_STREQ("", status_field(pid, "Groups"));
	EXPECT_STREQ("1", status_field(pid, "NoNewPrivs"));
	EXPECT_STREQ("2", status_field(pid, "Seccomp"));	/* filter */
	EXPECT_STREQ("lzb-fetcher", status_field(pid, "Name"));
	/* fds: stdin, stdout, stderr and its socket, nothing else */
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	ASSERT_NE(NULL, d);
	while ((de = readdir(d))) {
		char fdpath[400];
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		nfds++;
		snprintf(fdpath, sizeof(fdpath), "%s/%s", path, de->d_name);
		n = readlink(fdpath, link, sizeof(link) - 1);
		ASSERT_LT(0, n);
		link[n] = '\0';
		EXPECT_EQ(NULL, strstr(link, "userfaultfd")) {
			TH_LOG("fd %s is %s", de->d_name, link);
		}
		if (!strcmp(de->d_name, "3")) {
			EXPECT_EQ(0, strncmp(link, "socket:", 7));
		} else if (atoi(de->d_name) > 3) {
			/* only what it made itself: its fetcher's */
			EXPECT_TRUE(!strcmp(link, "anon_inode:[eventpoll]") ||
				    !strcmp(link, "anon_inode:[timerfd]")) {
				TH_LOG("fd %s is %s", de->d_name, link);
			}
		}
	}
	closedir(d);
	EXPECT_EQ(6, nfds);	/* 0-2, socket, epoll, timerfd */
	lzb_fetcher_free(f);
	EXPECT_EQ(-1, kill(pid, 0));	/* reaped */
	close((int)uffd);
}

/*
 * opts.tftp_spare_sockets: the child holds that many UDP sockets per
 * family, made while it still had CAP_NET_ADMIN, so their receive buffer
 * is the window's although rmem_max is less; each owned by the child's
 * uid (the fs uid they were made with), not root's, so a firewall rule
 * on the fetch user's uid sees them as the child's.  A window of 128
 * blocks of 65464 needs more than Debian's rmem_max, and than this
 * machine's unless it was raised past 8 MiB.
 */
TEST(tftp_spares_are_the_fetch_users_and_hold_the_window)
{
	struct lzb_fetcher_opts o = { .sandbox = true,
				      .tftp_spare_sockets = 1,
				      .tftp_blksize = 65464,
				      .tftp_windowsize = 128 };
	int want = 2 * lzb_tftp_rcvbuf_for(65464, 128);
	struct lzb_fetcher *f;
	unsigned int uid, spares = 0;
	char path[64], link[64];
	struct dirent *de;
	int pidfd;
	pid_t pid;
	DIR *d;

	if (geteuid())
		SKIP(return, "not root: no capability to make them with");
	f = lzb_fetcher_new(&o);
	ASSERT_NE(NULL, f);
	pid = lzb_fetcher_sandbox_pid(f);
	ASSERT_LT(0, pid);
	ASSERT_EQ(1, sscanf(status_field(pid, "Uid"), "%u", &uid));
	ASSERT_NE(0, uid);
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	ASSERT_LE(0, pidfd);
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	ASSERT_NE(NULL, d);
	while ((de = readdir(d))) {
		char fdpath[400];
		struct stat st;
		int fd, type = 0, rcvbuf = 0;
		socklen_t len = sizeof(int);
		ssize_t n;

		if (de->d_name[0] == '.' || atoi(de->d_name) <= 3)
			continue;
		snprintf(fdpath, sizeof(fdpath), "%s/%s", path, de->d_name);
		n = readlink(fdpath, link, sizeof(link) - 1);
		ASSERT_LT(0, n);
		link[n] = '\0';
		if (strncmp(link, "socket:", 7))
			continue;
		/* the socket itself, to ask it what it is */
		fd = (int)syscall(SYS_pidfd_getfd, pidfd, atoi(de->d_name), 0);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len));
		EXPECT_EQ(SOCK_DGRAM, type);
		len = sizeof(int);
		ASSERT_EQ(0, getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
					&len));
		EXPECT_EQ(want, rcvbuf);
		ASSERT_EQ(0, fstat(fd, &st));
		EXPECT_EQ(uid, st.st_uid) {
			TH_LOG("fd %s is owned by uid %u", de->d_name,
			       (unsigned int)st.st_uid);
		}
		close(fd);
		spares++;
	}
	closedir(d);
	close(pidfd);
	/* one per family: IPv4, and IPv6 where the kernel has it */
	EXPECT_LE(1, spares);
	EXPECT_GE(2, spares);
	lzb_fetcher_free(f);
}

/* A one-shot HTTP server on 127.0.0.1: PORT out, then one answer. */
struct tiny_http {
	int lfd;
	unsigned int port;
	pthread_t th;
};

static void *tiny_http_serve(void *arg)
{
	static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
				     "Connection: close\r\n\r\nhello";
	struct tiny_http *t = arg;
	char req[2048];
	int c = accept(t->lfd, NULL, NULL);

	if (c < 0)
		return NULL;
	if (recv(c, req, sizeof(req), 0) > 0)
		send(c, answer, sizeof(answer) - 1, MSG_NOSIGNAL);
	close(c);
	return NULL;
}

static int tiny_http_start(struct tiny_http *t)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);

	t->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (t->lfd < 0 || bind(t->lfd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(t->lfd, 4) ||
	    getsockname(t->lfd, (struct sockaddr *)&a, &al))
		return -1;
	t->port = ntohs(a.sin_port);
	return pthread_create(&t->th, NULL, tiny_http_serve, t) ? -1 : 0;
}

/* Name resolution (files, maybe threads) and HTTP pass the filter. */
TEST(fetcher_child_fetches_by_host_name)
{
	struct lzb_fetcher_opts o = { .sandbox = true, .no_retries = true };
	struct lzb_fetcher *f = lzb_fetcher_new(&o);
	struct tiny_http srv;
	struct sync_result res;
	char url[64], buf[16] = { 0 };
	struct lzb_fetch_spec spec = {
		.url = url, .buf = buf, .buf_size = sizeof(buf),
		.expected_size = 5, .deadline_ms = 20000,
	};

	ASSERT_NE(NULL, f);
	ASSERT_EQ(0, tiny_http_start(&srv));
	snprintf(url, sizeof(url), "http://localhost:%u/x", srv.port);
	EXPECT_EQ(0, fetch_sync(f, &spec, &res)) {
		TH_LOG("%s", res.msg);
	}
	EXPECT_STREQ("hello", buf);
	EXPECT_LT(0, lzb_fetcher_sandbox_pid(f));	/* alive still */
	pthread_join(srv.th, NULL);
	close(srv.lfd);
	lzb_fetcher_free(f);
}

/*
 * Priorities cross the boundary: with one background slot held by a
 * transfer the server does not answer yet, a fault request is served at
 * once, and a queued background request starts when promoted; the
 * server sees which requests reached it.
 */
struct held_http {
	int lfd;
	unsigned int port;
	pthread_t th;
	int release[2];		/* a byte: answer the held requests */
	char seen[8][32];	/* request paths, in arrival order */
	int n_seen;
	pthread_mutex_t lock;
};

static void answer_head(int c)
{
	static const char head[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
				   "\r\n";

	send(c, head, sizeof(head) - 1, MSG_NOSIGNAL);
}

static void answer_body(int c)
{
	send(c, "ok", 2, MSG_NOSIGNAL);
}

static void *held_http_serve(void *arg)
{
	struct held_http *h = arg;
	int held[8], n_held = 0, conns[8], n_conns = 0;

	for (;;) {
		struct pollfd p[10];
		int n = 0;

		p[n++] = (struct pollfd){ .fd = h->lfd, .events = POLLIN };
		p[n++] = (struct pollfd){ .fd = h->release[0],
					  .events = POLLIN };
		for (int i = 0; i < n_conns; i++)
			p[n++] = (struct pollfd){ .fd = conns[i],
						  .events = POLLIN };
		if (poll(p, n, 30000) <= 0)
			break;
		if (p[0].revents && n_conns < 8)
			conns[n_conns++] = accept(h->lfd, NULL, NULL);
		if (p[1].revents) {
			char b;

			if (read(h->release[0], &b, 1) != 1 || b == 'q')
				break;
			for (int i = 0; i < n_held; i++)
				answer_body(held[i]);
			n_held = 0;
		}
		for (int i = 2; i < n; i++) {
			char req[2048], path[32] = "";
			ssize_t r;

			if (!p[i].revents)
				continue;
			r = recv(p[i].fd, req, sizeof(req) - 1, 0);
			if (r <= 0)
				continue;
			req[r] = '\0';
			sscanf(req, "GET %31s", path);
			pthread_mutex_lock(&h->lock);
			if (h->n_seen < 8)
				snprintf(h->seen[h->n_seen++], 32, "%s", path);
			pthread_mutex_unlock(&h->lock);
			/* the head at once (libcurl then knows it is
			 * HTTP/1.1 and opens another connection rather
			 * than wait to multiplex), a slow body later */
			answer_head(p[i].fd);
			if (!strncmp(path, "/slow", 5) && n_held < 8)
				held[n_held++] = p[i].fd;
			else
				answer_body(p[i].fd);
		}
	}
	for (int i = 0; i < n_conns; i++)
		close(conns[i]);
	return NULL;
}

static bool was_seen(struct held_http *h, const char *path)
{
	bool yes = false;

	pthread_mutex_lock(&h->lock);
	for (int i = 0; i < h->n_seen; i++)
		yes |= !strcmp(h->seen[i], path);
	pthread_mutex_unlock(&h->lock);
	return yes;
}

struct done_flag {
	bool done;
	int err;
};

static void flag_done(struct lzb_fetch *req, int err, const char *msg,
		      uint64_t len, void *arg)
{
	struct done_flag *d = arg;

	(void)req;
	(void)msg;
	(void)len;
	d->done = true;
	d->err = err;
}

/* Run F until COND or 20 s; waits on the fetcher's fd, no fixed sleep. */
#define RUN_UNTIL(f, cond) do {						\
	for (int _i = 0; _i < 200 && !(cond); _i++) {			\
		struct pollfd _p = { .fd = lzb_fetcher_fd(f),		\
				     .events = POLLIN };		\
		poll(&_p, 1, 100);					\
		lzb_fetcher_process(f);					\
	}								\
} while (0)

TEST(fault_preempts_background_across_the_sandbox)
{
	struct lzb_fetcher_opts o = { .sandbox = true, .no_retries = true,
				      .max_background = 1, .stall_ms = 60000 };
	struct lzb_fetcher *f = lzb_fetcher_new(&o);
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_ANY) };
	socklen_t al = sizeof(a);
	struct held_http h = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct done_flag d[3] = { { 0 } };
	char buf[3][8], url[3][64];
	static const char *const paths[3] = { "/slow1", "/slow2", "/fast" };
	struct lzb_fetch *req[3];

	ASSERT_NE(NULL, f);
	h.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_EQ(0, bind(h.lfd, (struct sockaddr *)&a, sizeof(a)));
	ASSERT_EQ(0, listen(h.lfd, 8));
	ASSERT_EQ(0, getsockname(h.lfd, (struct sockaddr *)&a, &al));
	ASSERT_EQ(0, pipe(h.release));
	ASSERT_EQ(0, pthread_create(&h.th, NULL, held_http_serve, &h));
	for (int i = 0; i < 3; i++) {
		struct lzb_fetch_spec spec = {
			.url = url[i], .buf = buf[i], .buf_size = 8,
			.expected_size = 2, .deadline_ms = 30000,
			.prio = i == 2 ? LZB_PRIO_FAULT : LZB_PRIO_BACKGROUND,
			.done = flag_done, .done_arg = &d[i],
		};

		/* a host each: libcurl's wait to multiplex on a busy
		 * HTTP/1.1 connection to the same host is not ours */
		snprintf(url[i], sizeof(url[i]), "http://127.0.0.%d:%u%s",
			 i + 1, ntohs(a.sin_port), paths[i]);
		req[i] = lzb_fetch_submit(f, &spec);
		ASSERT_NE(NULL, req[i]);
	}
	/* the fault is served while slow1 holds the only background slot */
	RUN_UNTIL(f, d[2].done);
	EXPECT_TRUE(d[2].done);
	EXPECT_EQ(0, d[2].err);
	EXPECT_TRUE(was_seen(&h, "/slow1"));
	EXPECT_FALSE(d[0].done);
	EXPECT_FALSE(was_seen(&h, "/slow2"));	/* queued, in the parent */
	/* promoted: it starts without waiting for slow1 */
	lzb_fetch_promote(req[1]);
	RUN_UNTIL(f, was_seen(&h, "/slow2"));
	EXPECT_TRUE(was_seen(&h, "/slow2"));
	EXPECT_FALSE(d[0].done);
	ASSERT_EQ(1, write(h.release[1], "r", 1));
	RUN_UNTIL(f, d[0].done && d[1].done);
	EXPECT_EQ(0, d[0].err);
	EXPECT_EQ(0, d[1].err);
	EXPECT_EQ(0, memcmp(buf[0], "ok", 2));
	EXPECT_EQ(0, memcmp(buf[1], "ok", 2));
	ASSERT_EQ(1, write(h.release[1], "q", 1));
	pthread_join(h.th, NULL);
	close(h.lfd);
	lzb_fetcher_free(f);
}

/*
 * A dead child: the next request fails naming the signal, at once, even
 * when it asked to be retried until its deadline (a chunk's): the child
 * is not started again, so no later round could succeed.
 */
TEST(fetcher_child_killed_is_named)
{
	struct lzb_fetcher_opts o = { .sandbox = true, .backoff_ms = 50 };
	struct lzb_fetcher *f = lzb_fetcher_new(&o);
	struct sync_result res;
	char buf[16];
	struct lzb_fetch_spec spec = {
		.url = "http://127.0.0.1:9/x", .buf = buf,
		.buf_size = sizeof(buf), .deadline_ms = 20000,
		.retry_until_deadline = true,
	};
	uint64_t t0;
	pid_t pid;

	ASSERT_NE(NULL, f);
	pid = lzb_fetcher_sandbox_pid(f);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, kill(pid, SIGSYS));
	/* EOF on its socket is how the parent learns it: wait on that */
	for (int i = 0; i < 600 && lzb_fetcher_sandbox_pid(f); i++) {
		struct pollfd p = { .fd = lzb_fetcher_fd(f), .events = POLLIN };

		poll(&p, 1, 100);
		ASSERT_EQ(0, lzb_fetcher_process(f));
	}
	ASSERT_EQ(0, lzb_fetcher_sandbox_pid(f));
	t0 = now_ns();
	EXPECT_EQ(-ECHILD, fetch_sync(f, &spec, &res));
	EXPECT_GT(5000000000ULL, now_ns() - t0);	/* not the deadline */
	EXPECT_NE(NULL, strstr(res.msg, "killed by signal 31 (SIGSYS")) {
		TH_LOG("%s", res.msg);
	}
	lzb_fetcher_free(f);
}

/* ---- what a compromised fetcher would try ---- */

enum attempt { OPEN_MEM, PTRACE, VM_READV, EXECVE };

struct attempt_arg {
	enum attempt what;
	pid_t victim;
};

/* The child's main: report open's errno first, then try the rest. */
static int attempt_main(int sock, void *arg)
{
	struct attempt_arg *a = arg;
	char path[64], byte;
	struct iovec local = { &byte, 1 }, remote = { (void *)0x400000, 1 };
	int e = 0;

	switch (a->what) {
	case OPEN_MEM:
		snprintf(path, sizeof(path), "/proc/%d/mem", (int)a->victim);
		if (open(path, O_RDONLY) < 0)
			e = errno;
		send(sock, &e, sizeof(e), 0);
		return 0;
	case PTRACE:
		syscall(SYS_ptrace, PTRACE_ATTACH, a->victim, 0, 0);
		break;
	case VM_READV:
		syscall(SYS_process_vm_readv, a->victim, &local, 1, &remote, 1,
			0);
		break;
	case EXECVE: {
		char *argv[] = { "/bin/true", NULL };

		syscall(SYS_execve, "/bin/true", argv, NULL);
		break;
	}
	}
	e = -1;		/* still alive: the filter let it through */
	send(sock, &e, sizeof(e), 0);
	return 0;
}

/* A root process standing for a restored task. */
static pid_t start_victim(void)
{
	pid_t pid = fork();

	if (!pid) {
		for (;;)
			pause();
	}
	return pid;
}

/* Spawn a sandboxed child doing WHAT; its exit status into *STATUS. */
static int attempt(enum attempt what, pid_t victim, int *reply, int *status)
{
	struct attempt_arg a = { .what = what, .victim = victim };
	struct lzb_sandbox_child c = { .main = attempt_main, .arg = &a };
	struct lzb_err err;
	pid_t pid;
	int sock;

	*reply = -2;
	if (lzb_sandbox_spawn(&c, &pid, &sock, &err))
		return -1;
	if (recv(sock, reply, sizeof(*reply), 0) != sizeof(*reply))
		*reply = -2;	/* nothing: it died first */
	close(sock);
	return waitpid(pid, status, 0) == pid ? 0 : -1;
}

TEST(compromised_fetcher_cannot_read_a_root_task)
{
	pid_t victim = start_victim();
	int reply, status;

	ASSERT_LT(0, victim);
	ASSERT_EQ(0, attempt(OPEN_MEM, victim, &reply, &status));
	EXPECT_TRUE(reply == EACCES || reply == EPERM) {
		TH_LOG("open /proc/%d/mem: %s", victim, strerror(reply));
	}
	EXPECT_TRUE(WIFEXITED(status));

	ASSERT_EQ(0, attempt(PTRACE, victim, &reply, &status));
	EXPECT_EQ(-2, reply);
	ASSERT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(SIGSYS, WTERMSIG(status));
	EXPECT_STREQ("0", status_field(victim, "TracerPid"));

	ASSERT_EQ(0, attempt(VM_READV, victim, &reply, &status));
	EXPECT_EQ(-2, reply);
	ASSERT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(SIGSYS, WTERMSIG(status));

	ASSERT_EQ(0, attempt(EXECVE, victim, &reply, &status));
	EXPECT_EQ(-2, reply);
	ASSERT_TRUE(WIFSIGNALED(status));
	EXPECT_EQ(SIGSYS, WTERMSIG(status));

	kill(victim, SIGKILL);
	waitpid(victim, NULL, 0);
}

/* A user that is not there is an error, not a silent nobody. */
TEST(unknown_fetch_user_is_refused)
{
	struct lzb_sandbox_child c = { .user = "no-such-user-lazyboot",
				       .main = attempt_main };
	struct lzb_err err;
	pid_t pid;
	int sock;

	ASSERT_EQ(-1, lzb_sandbox_spawn(&c, &pid, &sock, &err));
	EXPECT_NE(NULL, strstr(err.msg, "no-such-user-lazyboot"));
	c.user = "root";
	ASSERT_EQ(-1, lzb_sandbox_spawn(&c, &pid, &sock, &err));
	EXPECT_NE(NULL, strstr(err.msg, "unprivileged"));
}

TEST_HARNESS_MAIN
