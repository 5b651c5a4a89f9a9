// SPDX-License-Identifier: GPL-2.0
/*
 * VM selftest: lazyboot.ko holds a restored task's userfaultfd across the
 * death of its pager.
 *
 * Each case plays a lazy restore in miniature.  The "app" (a child) maps an
 * anonymous page, registers it with a new uffd, hands the uffd over and
 * closes its own copy, then touches the page and reports what it read: the
 * pattern (exit 0), a zero page (exit 1) or anything else (exit 2).  A
 * forked "pager" hands the uffd to the module (SESSION_NEW), reads the
 * app's fault and is SIGKILLed without answering it.  Then, by variant:
 *
 * - reattach: a new pager attaches, gets the uffd back, copies the page;
 *   the app must see the pattern, and the session ends with the app's mm.
 * - deadline: nobody attaches; the app is SIGKILLed at the deadline and
 *   the KILLED event is multicast.
 * - reattach_wake: the new pager does not know what the dead one read: it
 *   wakes the registered range (UFFDIO_WAKE), serves the fault that comes
 *   again on the attached fd, and the app sees the pattern.
 * - unload_refused: rmmod fails while the session lives and the fault is
 *   blocked; after reattach and exit, the module unloads (and is reloaded).
 * - close_then_unload: the new pager closes the session while the fault is
 *   still blocked (and timed by the stall probe), the module unloads, then
 *   the pager serves the fault: unloading with a probed call in flight.
 * - no_module_hold: the control case without SESSION_NEW: the pager's death
 *   releases the uffd and the app reads a zero page, which is the hazard
 *   the module exists for.
 *
 * The attack cases (docs/security.md) orphan a victim's session, let a
 * forked attacker try every session request, then check that the session
 * is intact and that its owner can still serve the app's page.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include <linux/lazyboot.h>

#include "pager/module_session.h"

enum mode {
	REATTACH, REATTACH_WAKE, DEADLINE, UNLOAD_REFUSED, CLOSE_THEN_UNLOAD,
	NO_MODULE_HOLD,
};

static long page_size;

static uint8_t pattern_byte(size_t i)
{
	return (uint8_t)(i * 7 + 13);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int send_fd(int sock, int fd)
{
	char data = 'F';
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);

	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char data;
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *cmsg;
	int fd;

	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	cmsg = CMSG_FIRSTHDR(&msg);
	if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
	return fd;
}

/*
 * The app: register @page with a new uffd, hand it over, then touch it.
 * With @linger, it reports what it read on @sock and waits for a byte
 * before exiting (so that its session outlives the fault).
 */
static void run_app(int sock, uint8_t *page, bool linger)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)page, .len = page_size },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	char go, result;
	long i;
	int uffd;

	uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api) ||
	    ioctl(uffd, UFFDIO_REGISTER, &reg) || send_fd(sock, uffd))
		_exit(3);
	/* Only the pager (and the module) may hold the uffd now. */
	close(uffd);
	if (read(sock, &go, 1) != 1)
		_exit(4);
	for (i = 0; i < page_size; i++)
		if (page[i] != pattern_byte(i))
			break;
	result = i == page_size ? 0 : page[i] == 0 && page[page_size - 1] == 0 ?
		 1 : 2;
	if (linger && (write(sock, &result, 1) != 1 || read(sock, &go, 1) != 1))
		_exit(5);
	_exit(result);
}

/*
 * The first pager: hand the uffd to the module (unless @hold is false),
 * report the session id and the faulting address on @out, then wait to be
 * killed.
 */
static void run_pager(int out, int uffd, pid_t app, uint32_t deadline_ms,
		      bool hold)
{
	struct pollfd pfd = { .fd = uffd, .events = POLLIN };
	struct lzb_module *m = NULL;
	struct uffd_msg msg;
	uint32_t id = 0;
	uint64_t addr;

	if (hold && (lzb_module_open(&m) ||
		     lzb_session_new(m, app, uffd, deadline_ms, &id)))
		_exit(3);
	if (write(out, &id, sizeof(id)) != sizeof(id))
		_exit(4);
	if (poll(&pfd, 1, 20000) != 1 ||
	    read(uffd, &msg, sizeof(msg)) != sizeof(msg) ||
	    msg.event != UFFD_EVENT_PAGEFAULT)
		_exit(5);
	addr = msg.arg.pagefault.address;
	if (write(out, &addr, sizeof(addr)) != sizeof(addr))
		_exit(6);
	for (;;)
		pause();
}

/* Wait for event @cmd about session @id, skipping others. */
static int wait_event(struct lzb_module *events, uint8_t cmd, uint32_t id,
		      int timeout_ms, struct lzb_session_event *ev)
{
	int64_t end = now_ms() + timeout_ms;
	int err;

	do {
		err = lzb_session_event_recv(events, ev, end - now_ms());
		if (err)
			return err;
	} while (ev->cmd != cmd || ev->id != id);
	return 0;
}

static int copy_page(int uffd, uint64_t addr)
{
	uint8_t *src = malloc(page_size);
	struct uffdio_copy copy = {
		.dst = addr & ~(uint64_t)(page_size - 1),
		.src = (uintptr_t)src,
		.len = page_size,
	};
	long i;
	int ret;

	if (!src)
		return -ENOMEM;
	for (i = 0; i < page_size; i++)
		src[i] = pattern_byte(i);
	ret = ioctl(uffd, UFFDIO_COPY, &copy) ? -errno : 0;
	free(src);
	return ret;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int delete_module_nonblock(void)
{
	return syscall(__NR_delete_module, "lazyboot", O_NONBLOCK) ? -errno : 0;
}

static int load_module(void)
{
	const char *path = getenv("LAZYBOOT_KO");
	int fd = open(path ? path : "lazyboot.ko", O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	ret = syscall(__NR_finit_module, fd, "", 0) ? -errno : 0;
	close(fd);
	return ret;
}

FIXTURE(session)
{
	uint8_t *page;
	struct lzb_module *m;
	struct lzb_module *events;
	pid_t app, pager;
	int app_sock;
	int pager_pipe;
};

FIXTURE_VARIANT(session)
{
	enum mode mode;
	uint32_t deadline_ms;
};

FIXTURE_VARIANT_ADD(session, reattach) {
	.mode = REATTACH,
	.deadline_ms = 20000,
};

FIXTURE_VARIANT_ADD(session, reattach_wake) {
	.mode = REATTACH_WAKE,
	.deadline_ms = 20000,
};

FIXTURE_VARIANT_ADD(session, close_then_unload) {
	.mode = CLOSE_THEN_UNLOAD,
	.deadline_ms = 20000,
};

FIXTURE_VARIANT_ADD(session, deadline) {
	.mode = DEADLINE,
	.deadline_ms = 1500,
};

FIXTURE_VARIANT_ADD(session, unload_refused) {
	.mode = UNLOAD_REFUSED,
	.deadline_ms = 20000,
};

FIXTURE_VARIANT_ADD(session, no_module_hold) {
	.mode = NO_MODULE_HOLD,
};

FIXTURE_SETUP(session)
{
	page_size = sysconf(_SC_PAGESIZE);
	self->app = self->pager = -1;
	self->page = mmap(NULL, page_size, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->page);
	/* run-suite loads the module: its absence is a failure. */
	ASSERT_EQ(0, lzb_module_open(&self->m));
	ASSERT_EQ(0, lzb_module_open_events(&self->events));
}

FIXTURE_TEARDOWN(session)
{
	if (self->pager > 0) {
		kill(self->pager, SIGKILL);
		waitpid(self->pager, NULL, 0);
	}
	if (self->app > 0) {
		kill(self->app, SIGKILL);
		waitpid(self->app, NULL, 0);
	}
	lzb_module_close(self->events);
	lzb_module_close(self->m);
}

TEST_F_TIMEOUT(session, pager_dies, 90)
{
	bool hold = variant->mode != NO_MODULE_HOLD;
	struct lzb_session_event ev;
	struct lzb_session_info info;
	int sv[2], out[2], uffd, fd, status;
	uint32_t id;
	uint64_t addr;
	int64_t killed_at;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	self->app = fork();
	ASSERT_LE(0, self->app);
	if (self->app == 0) {
		close(sv[0]);
		run_app(sv[1], self->page, false);
	}
	close(sv[1]);
	self->app_sock = sv[0];
	uffd = recv_fd(self->app_sock);
	ASSERT_LE(0, uffd);

	ASSERT_EQ(0, pipe2(out, O_CLOEXEC));
	self->pager = fork();
	ASSERT_LE(0, self->pager);
	if (self->pager == 0) {
		close(out[0]);
		run_pager(out[1], uffd, self->app, variant->deadline_ms, hold);
	}
	/* From here on only the pager holds the uffd. */
	close(uffd);
	close(out[1]);
	self->pager_pipe = out[0];
	ASSERT_EQ(sizeof(id), read(self->pager_pipe, &id, sizeof(id)));
	if (hold) {
		ASSERT_NE(0, id);
		ASSERT_EQ(0, lzb_session_get(self->m, id, &info));
		EXPECT_EQ(LAZYBOOT_SESSION_STATE_ATTACHED, info.state);
		EXPECT_EQ(self->app, info.pid);
		/* A live pager owns it: nobody else may take it over. */
		EXPECT_EQ(-EBUSY, lzb_session_attach(self->m, id));
		/* One session per task. */
	}

	/* Let the app fault, and wait until the pager has read the fault. */
	ASSERT_EQ(1, write(self->app_sock, "g", 1));
	ASSERT_EQ(sizeof(addr), read(self->pager_pipe, &addr, sizeof(addr)));
	EXPECT_EQ((uintptr_t)self->page, addr & ~(uint64_t)(page_size - 1));

	ASSERT_EQ(0, kill(self->pager, SIGKILL));
	ASSERT_EQ(self->pager, waitpid(self->pager, &status, 0));
	self->pager = -1;
	killed_at = now_ms();

	if (!hold) {
		/* The uffd went with the pager: the hazard, a zero page. */
		ASSERT_EQ(self->app, waitpid(self->app, &status, 0));
		self->app = -1;
		ASSERT_TRUE(WIFEXITED(status));
		EXPECT_EQ(1, WEXITSTATUS(status));
		return;
	}

	ASSERT_EQ(0, wait_event(self->events, LAZYBOOT_CMD_SESSION_ORPHANED,
				id, 10000, &ev));
	EXPECT_EQ(self->app, ev.pid);
	EXPECT_EQ(variant->deadline_ms, ev.deadline_ms);
	ASSERT_EQ(0, lzb_session_get(self->m, id, &info));
	EXPECT_EQ(LAZYBOOT_SESSION_STATE_ORPHANED, info.state);
	EXPECT_EQ(0, info.owner);
	EXPECT_GE(variant->deadline_ms, info.remaining_ms);

	if (variant->mode == DEADLINE) {
		ASSERT_EQ(0, wait_event(self->events,
					LAZYBOOT_CMD_SESSION_KILLED, id,
					variant->deadline_ms + 10000, &ev));
		EXPECT_LE(variant->deadline_ms - 100, now_ms() - killed_at);
		ASSERT_EQ(self->app, waitpid(self->app, &status, 0));
		self->app = -1;
		ASSERT_TRUE(WIFSIGNALED(status));
		EXPECT_EQ(SIGKILL, WTERMSIG(status));
		/* Killed too late to attach. */
		ASSERT_EQ(0, wait_event(self->events,
					LAZYBOOT_CMD_SESSION_CLOSED, id, 10000,
					&ev));
		EXPECT_EQ(LAZYBOOT_SESSION_END_EXIT, ev.end);
		EXPECT_EQ(-ENOENT, lzb_session_get(self->m, id, &info));
		return;
	}

	if (variant->mode == UNLOAD_REFUSED) {
		/* The fault is blocked and the session orphaned. */
		EXPECT_EQ(-EWOULDBLOCK, delete_module_nonblock());
		EXPECT_EQ(0, access("/sys/module/lazyboot", F_OK));
		EXPECT_EQ(0, lzb_session_get(self->m, id, &info));
	}

	/* A restarted pager adopts the session and serves the fault. */
	fd = lzb_session_attach(self->m, id);
	ASSERT_LE(0, fd);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	ASSERT_EQ(0, lzb_session_get(self->m, id, &info));
	EXPECT_EQ(LAZYBOOT_SESSION_STATE_ATTACHED, info.state);
	EXPECT_NE(0, info.owner);

	if (variant->mode == REATTACH_WAKE) {
		struct uffdio_range range = {
			.start = (uintptr_t)self->page, .len = page_size,
		};
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		struct uffd_msg msg;

		ASSERT_EQ(0, ioctl(fd, UFFDIO_WAKE, &range));
		ASSERT_EQ(1, poll(&pfd, 1, 10000));
		ASSERT_EQ(sizeof(msg), read(fd, &msg, sizeof(msg)));
		ASSERT_EQ(UFFD_EVENT_PAGEFAULT, msg.event);
		addr = msg.arg.pagefault.address;
	}
	if (variant->mode == CLOSE_THEN_UNLOAD) {
		EXPECT_EQ(0, lzb_session_close(self->m, id));
		ASSERT_EQ(0, wait_event(self->events,
					LAZYBOOT_CMD_SESSION_CLOSED, id, 10000,
					&ev));
		EXPECT_EQ(LAZYBOOT_SESSION_END_CLOSE, ev.end);
		lzb_module_close(self->events);
		lzb_module_close(self->m);
		self->events = self->m = NULL;
		EXPECT_EQ(0, delete_module_nonblock());
	}
	ASSERT_EQ(0, copy_page(fd, addr));
	close(fd);

	ASSERT_EQ(self->app, waitpid(self->app, &status, 0));
	self->app = -1;
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("the app read %s",
		WEXITSTATUS(status) == 1 ? "a zero page" : "wrong data");

	if (variant->mode == CLOSE_THEN_UNLOAD) {
		ASSERT_EQ(0, load_module());
		EXPECT_EQ(0, lzb_module_open(&self->m));
		EXPECT_EQ(0, lzb_module_open_events(&self->events));
		return;
	}

	/* Its mm is gone: so is the session. */
	ASSERT_EQ(0, wait_event(self->events, LAZYBOOT_CMD_SESSION_CLOSED, id,
				10000, &ev));
	EXPECT_EQ(LAZYBOOT_SESSION_END_EXIT, ev.end);
	EXPECT_EQ(-ENOENT, lzb_session_get(self->m, id, &info));

	if (variant->mode == UNLOAD_REFUSED) {
		lzb_module_close(self->events);
		lzb_module_close(self->m);
		self->events = self->m = NULL;
		EXPECT_EQ(0, delete_module_nonblock());
		ASSERT_EQ(0, load_module());
		EXPECT_EQ(0, lzb_module_open(&self->m));
		EXPECT_EQ(0, lzb_module_open_events(&self->events));
	}
}

/* Requests that name no usable session or task are refused. */
TEST(bad_requests)
{
	struct lzb_module *m;
	uint32_t id, id2;
	pid_t other;
	int uffd;

	ASSERT_EQ(0, lzb_module_open(&m));
	EXPECT_EQ(-ENOENT, lzb_session_attach(m, 0x7ffffff0));
	EXPECT_EQ(-ENOENT, lzb_session_close(m, 0x7ffffff0));
	/* Not a uffd: the write end of a pipe, an ordinary file. */
	EXPECT_EQ(-EINVAL, lzb_session_new(m, getpid(), 1, 1000, &id));
	EXPECT_EQ(-EBADF, lzb_session_new(m, getpid(), 9999, 1000, &id));
	uffd = syscall(__NR_userfaultfd, O_CLOEXEC);
	ASSERT_LE(0, uffd);
	/* No such process, or not a thread group id. */
	EXPECT_EQ(-ESRCH, lzb_session_new(m, 0x3ffffff0, uffd, 1000, &id));
	/* Two sessions for one task are refused; closing ends it. */
	ASSERT_EQ(0, lzb_session_new(m, getpid(), uffd, 1000, &id));
	EXPECT_EQ(-EEXIST, lzb_session_new(m, getpid(), uffd, 1000, &id));
	/* One uffd serves one mm: not a second task's session too. */
	other = fork();
	ASSERT_LE(0, other);
	if (other == 0) {
		pause();
		_exit(0);
	}
	EXPECT_EQ(-EEXIST, lzb_session_new(m, other, uffd, 1000, &id2));
	kill(other, SIGKILL);
	waitpid(other, NULL, 0);
	EXPECT_EQ(0, lzb_session_close(m, id));
	EXPECT_EQ(-ENOENT, lzb_session_close(m, id));
	close(uffd);
	lzb_module_close(m);
}

static int count_session(const struct lzb_session_info *info, void *arg)
{
	uint32_t *want = arg;

	if (info->id == want[0] && info->pid == want[1])
		want[2]++;
	return 0;
}

/* The dump lists sessions; many sessions fill more than one message. */
TEST(dump)
{
	struct lzb_session_info info;
	struct lzb_module *m;
	uint32_t want[3], ids[64];
	pid_t children[64];
	int i, uffd, n, uffds[64];

	ASSERT_EQ(0, lzb_module_open(&m));
	uffd = syscall(__NR_userfaultfd, O_CLOEXEC);
	ASSERT_LE(0, uffd);
	ASSERT_EQ(0, lzb_session_new(m, getpid(), uffd, 1000, &ids[0]));
	want[0] = ids[0];
	want[1] = getpid();
	want[2] = 0;
	n = lzb_session_list(m, count_session, want);
	EXPECT_LE(1, n);
	EXPECT_EQ(1, want[2]);
	EXPECT_EQ(0, lzb_session_close(m, ids[0]));

	/*
	 * Sessions of many children, so the dump spans several skbs; one uffd
	 * each, since a uffd has one session at most.
	 */
	for (i = 0; i < 64; i++) {
		children[i] = fork();
		ASSERT_LE(0, children[i]);
		if (children[i] == 0) {
			pause();
			_exit(0);
		}
		uffds[i] = syscall(__NR_userfaultfd, O_CLOEXEC);
		ASSERT_LE(0, uffds[i]);
		ASSERT_EQ(0, lzb_session_new(m, children[i], uffds[i], 60000,
					     &ids[i]));
	}
	ASSERT_EQ(0, lzb_session_get(m, ids[63], &info));
	EXPECT_EQ(children[63], info.pid);
	want[0] = ids[63];
	want[1] = children[63];
	want[2] = 0;
	n = lzb_session_list(m, count_session, want);
	EXPECT_LE(64, n);
	EXPECT_EQ(1, want[2]);
	for (i = 0; i < 64; i++) {
		EXPECT_EQ(0, lzb_session_close(m, ids[i]));
		kill(children[i], SIGKILL);
		waitpid(children[i], NULL, 0);
		close(uffds[i]);
	}
	close(uffd);
	lzb_module_close(m);
}

/*
 * The kernel's stall statistics agree with what the pager saw: the fault
 * blocked at least from the pager's read of it to its UFFDIO_COPY, and at
 * most from "go" to the app's answer.
 */
TEST(stall_stats)
{
	struct pollfd pfd = { .events = POLLIN };
	struct lzb_session_info info;
	struct lzb_module *m;
	int64_t go_ns, read_ns, copy_ns, done_ns;
	uint64_t sum = 0;
	struct uffd_msg msg;
	int sv[2], uffd, status, i, top = -1;
	uint8_t *page;
	uint32_t id;
	char result;
	pid_t app;

	page_size = sysconf(_SC_PAGESIZE);
	page = mmap(NULL, page_size, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, page);
	ASSERT_EQ(0, lzb_module_open(&m));
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	app = fork();
	ASSERT_LE(0, app);
	if (app == 0) {
		close(sv[0]);
		run_app(sv[1], page, true);
	}
	close(sv[1]);
	uffd = recv_fd(sv[0]);
	ASSERT_LE(0, uffd);
	ASSERT_EQ(0, lzb_session_new(m, app, uffd, 20000, &id));
	ASSERT_EQ(0, lzb_session_get(m, id, &info));
	if (!info.has_stalls) {
		kill(app, SIGKILL);
		waitpid(app, NULL, 0);
		SKIP(return, "the module has no stall statistics");
	}
	EXPECT_EQ(0, info.stall_count);

	go_ns = now_ns();
	ASSERT_EQ(1, write(sv[0], "g", 1));
	pfd.fd = uffd;
	ASSERT_EQ(1, poll(&pfd, 1, 20000));
	ASSERT_EQ(sizeof(msg), read(uffd, &msg, sizeof(msg)));
	read_ns = now_ns();
	usleep(200 * 1000);
	copy_ns = now_ns();
	ASSERT_EQ(0, copy_page(uffd, msg.arg.pagefault.address));
	ASSERT_EQ(1, read(sv[0], &result, 1));
	done_ns = now_ns();
	EXPECT_EQ(0, result);

	ASSERT_EQ(0, lzb_session_get(m, id, &info));
	ASSERT_TRUE(info.has_stalls);
	EXPECT_LE(1, info.stall_count);
	EXPECT_LE(copy_ns - read_ns, info.stall_max_ns);
	EXPECT_GE(done_ns - go_ns, info.stall_max_ns);
	EXPECT_LE(info.stall_max_ns, info.stall_total_ns);
	for (i = 0; i < LAZYBOOT_STALL_HIST_BUCKETS; i++) {
		sum += info.stall_hist[i];
		if (info.stall_hist[i])
			top = i;
	}
	EXPECT_EQ(info.stall_count, sum);
	/* The longest stall sits in the highest non-empty bucket. */
	EXPECT_EQ(63 - __builtin_clzll(info.stall_max_ns / 1000), top);
	TH_LOG("stalls %llu, max %llu us; pager saw the fault for %lld us",
	       (unsigned long long)info.stall_count,
	       (unsigned long long)info.stall_max_ns / 1000,
	       (long long)(copy_ns - read_ns) / 1000);

	ASSERT_EQ(1, write(sv[0], "x", 1));
	ASSERT_EQ(app, waitpid(app, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(uffd);
	lzb_module_close(m);
}

static uint64_t boottime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/*
 * Milestones are stamped with the kernel's CLOCK_BOOTTIME, multicast with
 * the sender's own timestamp, and the first stamp of each is kept.
 */
TEST(milestones)
{
	struct lzb_module *m, *events;
	struct lzb_session_event ev;
	struct lzb_session_info info;
	uint64_t before, after, kts, kts2;
	uint32_t id;
	int uffd, i;

	ASSERT_EQ(0, lzb_module_open(&m));
	ASSERT_EQ(0, lzb_module_open_events(&events));

	/* A boot milestone: no session. */
	before = boottime_ns();
	ASSERT_EQ(0, lzb_milestone(m, 0, LAZYBOOT_MILESTONE_RESTORE_STARTED,
				   12345, &kts));
	after = boottime_ns();
	EXPECT_LE(before, kts);
	EXPECT_GE(after, kts);
	ASSERT_EQ(0, wait_event(events, LAZYBOOT_CMD_MILESTONE, 0, 10000,
				&ev));
	EXPECT_EQ(LAZYBOOT_MILESTONE_RESTORE_STARTED, ev.milestone);
	EXPECT_EQ(kts, ev.kernel_ts_ns);
	EXPECT_EQ(12345, ev.user_ts_ns);

	/* A session's: the first report of each milestone is kept. */
	uffd = syscall(__NR_userfaultfd, O_CLOEXEC);
	ASSERT_LE(0, uffd);
	ASSERT_EQ(0, lzb_session_new(m, getpid(), uffd, 5000, &id));
	ASSERT_EQ(0, lzb_milestone(m, id, LAZYBOOT_MILESTONE_FIRST_FAULT, 0,
				   &kts));
	ASSERT_EQ(0, wait_event(events, LAZYBOOT_CMD_MILESTONE, id, 10000,
				&ev));
	EXPECT_EQ(LAZYBOOT_MILESTONE_FIRST_FAULT, ev.milestone);
	EXPECT_EQ(kts, ev.kernel_ts_ns);
	EXPECT_EQ(0, ev.user_ts_ns);
	ASSERT_EQ(0, lzb_milestone(m, id, LAZYBOOT_MILESTONE_FIRST_FAULT, 0,
				   &kts2));
	EXPECT_LT(kts, kts2);
	ASSERT_EQ(0, lzb_session_get(m, id, &info));
	for (i = 0; i < LAZYBOOT_MILESTONE_COUNT; i++)
		EXPECT_EQ(i == LAZYBOOT_MILESTONE_FIRST_FAULT ? kts : 0,
			  info.milestone_times[i]);
	EXPECT_EQ(0, lzb_session_close(m, id));
	EXPECT_EQ(-ENOENT, lzb_milestone(m, id, LAZYBOOT_MILESTONE_DONE, 0,
					 NULL));
	close(uffd);
	lzb_module_close(events);
	lzb_module_close(m);
}

/* `lazyboot sessions` lists a live session with its state. */
TEST(cli_lists_sessions)
{
	const char *build = getenv("BUILD");
	char cmd[256], line[256], want[64];
	struct lzb_module *m;
	int uffd, found = 0;
	uint32_t id;
	FILE *out;

	ASSERT_EQ(0, lzb_module_open(&m));
	uffd = syscall(__NR_userfaultfd, O_CLOEXEC);
	ASSERT_LE(0, uffd);
	ASSERT_EQ(0, lzb_session_new(m, getpid(), uffd, 5000, &id));
	snprintf(cmd, sizeof(cmd), "%s/lazyboot sessions",
		 build ? build : "build");
	snprintf(want, sizeof(want), "%u", id);
	out = popen(cmd, "r");
	ASSERT_NE(NULL, out);
	while (fgets(line, sizeof(line), out)) {
		char f_id[16], f_pid[16], f_state[16];

		if (sscanf(line, "%15s %15s %15s", f_id, f_pid, f_state) == 3 &&
		    !strcmp(f_id, want)) {
			EXPECT_EQ(getpid(), atoi(f_pid));
			EXPECT_STREQ("attached", f_state);
			found = 1;
		}
	}
	EXPECT_EQ(0, pclose(out));
	EXPECT_TRUE(found);
	EXPECT_EQ(0, lzb_session_close(m, id));
	close(uffd);
	lzb_module_close(m);
}

/* Without CAP_NET_ADMIN: no session requests, no events. */
TEST(unprivileged)
{
	int status;
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct lzb_module *m = NULL;
		struct lzb_session_info info;
		uint32_t id;

		if (setgid(65534) || setuid(65534))
			_exit(10);
		if (lzb_module_open(&m))
			_exit(11);
		if (lzb_session_new(m, getpid(), 0, 1000, &id) != -EPERM)
			_exit(12);
		if (lzb_session_attach(m, 1) != -EPERM)
			_exit(13);
		if (lzb_session_get(m, 1, &info) != -EPERM)
			_exit(14);
		if (lzb_session_close(m, 1) != -EPERM)
			_exit(15);
		if (lzb_session_list(m, count_session, NULL) != -EPERM)
			_exit(16);
		if (lzb_milestone(m, 0, LAZYBOOT_MILESTONE_READY, 0, NULL) !=
		    -EPERM)
			_exit(18);
		lzb_module_close(m);
		if (lzb_module_open_events(&m) != -EPERM)
			_exit(17);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/* ---- attacks: each must fail and leave the victim's session intact ---- */

enum attacker { NET_ADMIN_ONLY, OTHER_NETNS, OTHER_UID };

/* What the attacker tries, in this order. */
enum attack_op {
	OP_NEW, OP_GET, OP_DUMP, OP_ATTACH, OP_MILESTONE, OP_CLOSE, OP_EVENTS,
	OP_COUNT,
};

static const char *const attack_op_names[OP_COUNT] = {
	[OP_NEW] = "SESSION_NEW on a root task",
	[OP_GET] = "SESSION_GET of the victim",
	[OP_DUMP] = "SESSION_GET dump (times the victim was listed)",
	[OP_ATTACH] = "SESSION_ATTACH to the orphaned victim",
	[OP_MILESTONE] = "MILESTONE on the victim",
	[OP_CLOSE] = "SESSION_CLOSE of the victim",
	[OP_EVENTS] = "joining the events group",
};

#define NOT_TRIED 1

/* Effective and permitted capabilities: exactly @caps (all below 32). */
static int set_caps(uint32_t caps)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2] = {
		{ .effective = caps, .permitted = caps },
	};

	return syscall(__NR_capset, &hdr, data);
}

/* Turn the calling process (root) into @who. */
static int become(enum attacker who)
{
	switch (who) {
	case NET_ADMIN_ONLY:
		/* Root's uid, CAP_NET_ADMIN and nothing else. */
		return set_caps(1u << CAP_NET_ADMIN);
	case OTHER_NETNS:
		/* Root with every capability, in a network namespace of its own. */
		return unshare(CLONE_NEWNET);
	case OTHER_UID:
		/*
		 * uid 65534 that kept CAP_NET_ADMIN and CAP_SYS_ADMIN (but not
		 * CAP_SYS_PTRACE) across setresuid: it may not ptrace root's
		 * tasks.
		 */
		if (setgroups(0, NULL) || prctl(PR_SET_KEEPCAPS, 1) ||
		    setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534))
			return -1;
		return set_caps(1u << CAP_NET_ADMIN | 1u << CAP_SYS_ADMIN);
	}
	return -1;
}

static int count_id(const struct lzb_session_info *info, void *arg)
{
	uint32_t *want = arg;

	if (info->id == want[0])
		want[1]++;
	return 0;
}

/*
 * The attacker: try every request on session @victim (and a NEW on
 * @bystander, a root task), write what each returned on @out.
 */
static void run_attacker(int out, enum attacker who, uint32_t victim,
			 pid_t bystander)
{
	struct lzb_module *m, *events;
	struct lzb_session_info info;
	uint32_t want[2] = { victim, 0 };
	int res[OP_COUNT], uffd, fd;
	uint32_t id;

	/* Its own uffd, made while it may (vm.unprivileged_userfaultfd). */
	uffd = syscall(__NR_userfaultfd, O_CLOEXEC);
	if (uffd < 0 || become(who))
		_exit(3);
	if (lzb_module_open(&m))
		_exit(4);
	/* Root in another netns may ptrace anything: NEW is not its test. */
	res[OP_NEW] = NOT_TRIED;
	if (who != OTHER_NETNS) {
		res[OP_NEW] = lzb_session_new(m, bystander, uffd, 60000, &id);
		if (!res[OP_NEW])
			lzb_session_close(m, id);
	}
	res[OP_GET] = lzb_session_get(m, victim, &info);
	res[OP_DUMP] = lzb_session_list(m, count_id, want);
	if (res[OP_DUMP] >= 0)
		res[OP_DUMP] = want[1];
	fd = lzb_session_attach(m, victim);
	res[OP_ATTACH] = fd < 0 ? fd : 0;
	res[OP_MILESTONE] = lzb_milestone(m, victim, LAZYBOOT_MILESTONE_DONE,
					  0, NULL);
	res[OP_CLOSE] = lzb_session_close(m, victim);
	res[OP_EVENTS] = lzb_module_open_events(&events);
	if (write(out, res, sizeof(res)) != sizeof(res))
		_exit(5);
	_exit(0);
}

FIXTURE(attack)
{
	uint8_t *page;
	struct lzb_module *m;
	struct lzb_module *events;
	pid_t app, bystander, attacker;
};

FIXTURE_VARIANT(attack)
{
	enum attacker who;
	int want[OP_COUNT];
};

/* No CAP_SYS_ADMIN: every session request and the events are refused. */
FIXTURE_VARIANT_ADD(attack, net_admin_only) {
	.who = NET_ADMIN_ONLY,
	.want = {
		[OP_NEW] = -EPERM, [OP_GET] = -EPERM, [OP_DUMP] = -EPERM,
		[OP_ATTACH] = -EPERM, [OP_MILESTONE] = -EPERM,
		[OP_CLOSE] = -EPERM,
		/* GENL_MCAST_CAP_SYS_ADMIN: no listener without it. */
		[OP_EVENTS] = -EPERM,
	},
};

/* Another netns: the victim's session does not exist there. */
FIXTURE_VARIANT_ADD(attack, other_netns) {
	.who = OTHER_NETNS,
	.want = {
		[OP_NEW] = NOT_TRIED, [OP_GET] = -ENOENT, [OP_DUMP] = 0,
		[OP_ATTACH] = -ENOENT, [OP_MILESTONE] = -ENOENT,
		[OP_CLOSE] = -ENOENT,
		/* Its own netns's group, where the victim's events never go. */
		[OP_EVENTS] = 0,
	},
};

/*
 * Another uid with CAP_SYS_ADMIN but no right to ptrace root's tasks: it
 * may look (GET, dump, milestones, events) but not take or end.
 */
FIXTURE_VARIANT_ADD(attack, other_uid) {
	.who = OTHER_UID,
	.want = {
		[OP_NEW] = -EPERM, [OP_GET] = 0, [OP_DUMP] = 1,
		[OP_ATTACH] = -EPERM, [OP_MILESTONE] = 0, [OP_CLOSE] = -EPERM,
		[OP_EVENTS] = 0,
	},
};

FIXTURE_SETUP(attack)
{
	page_size = sysconf(_SC_PAGESIZE);
	self->app = self->bystander = self->attacker = -1;
	self->page = mmap(NULL, page_size, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->page);
	ASSERT_EQ(0, lzb_module_open(&self->m));
	ASSERT_EQ(0, lzb_module_open_events(&self->events));
}

FIXTURE_TEARDOWN(attack)
{
	pid_t *pids[] = { &self->attacker, &self->bystander, &self->app };
	unsigned int i;

	for (i = 0; i < sizeof(pids) / sizeof(pids[0]); i++) {
		if (*pids[i] > 0) {
			kill(*pids[i], SIGKILL);
			waitpid(*pids[i], NULL, 0);
		}
	}
	lzb_module_close(self->events);
	lzb_module_close(self->m);
}

TEST_F_TIMEOUT(attack, victim_intact, 90)
{
	struct pollfd pfd = { .events = POLLIN };
	struct lzb_session_event ev;
	struct lzb_session_info info;
	struct lzb_module *owner;
	int sv[2], out[2], uffd, fd, status, i;
	int res[OP_COUNT];
	struct uffd_msg msg;
	uint32_t id;

	/* The victim: an app whose page only the module's uffd can serve. */
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	self->app = fork();
	ASSERT_LE(0, self->app);
	if (self->app == 0) {
		close(sv[0]);
		run_app(sv[1], self->page, false);
	}
	close(sv[1]);
	uffd = recv_fd(sv[0]);
	ASSERT_LE(0, uffd);
	ASSERT_EQ(0, lzb_module_open(&owner));
	ASSERT_EQ(0, lzb_session_new(owner, self->app, uffd, 60000, &id));
	close(uffd);
	/* Its pager is gone: orphaned, the state an attacker would pick. */
	lzb_module_close(owner);
	ASSERT_EQ(0, wait_event(self->events, LAZYBOOT_CMD_SESSION_ORPHANED,
				id, 10000, &ev));

	self->bystander = fork();
	ASSERT_LE(0, self->bystander);
	if (self->bystander == 0) {
		for (;;)
			pause();
	}

	ASSERT_EQ(0, pipe2(out, O_CLOEXEC));
	self->attacker = fork();
	ASSERT_LE(0, self->attacker);
	if (self->attacker == 0) {
		close(out[0]);
		run_attacker(out[1], variant->who, id, self->bystander);
	}
	close(out[1]);
	ASSERT_EQ(sizeof(res), read(out[0], res, sizeof(res)));
	close(out[0]);
	ASSERT_EQ(self->attacker, waitpid(self->attacker, &status, 0));
	self->attacker = -1;
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	for (i = 0; i < OP_COUNT; i++) {
		EXPECT_EQ(variant->want[i], res[i])
			TH_LOG("%s: got %d (%s), want %d", attack_op_names[i],
			       res[i], res[i] < 0 ? strerror(-res[i]) : "-",
			       variant->want[i]);
	}

	/* The victim's session is intact: still orphaned, same task. */
	ASSERT_EQ(0, lzb_session_get(self->m, id, &info));
	EXPECT_EQ(LAZYBOOT_SESSION_STATE_ORPHANED, info.state);
	EXPECT_EQ(self->app, info.pid);

	/* Its owner adopts it and serves the page; the app checks each byte. */
	fd = lzb_session_attach(self->m, id);
	ASSERT_LE(0, fd);
	ASSERT_EQ(1, write(sv[0], "g", 1));
	pfd.fd = fd;
	ASSERT_EQ(1, poll(&pfd, 1, 20000));
	ASSERT_EQ(sizeof(msg), read(fd, &msg, sizeof(msg)));
	ASSERT_EQ(UFFD_EVENT_PAGEFAULT, msg.event);
	ASSERT_EQ(0, copy_page(fd, msg.arg.pagefault.address));
	close(fd);
	ASSERT_EQ(self->app, waitpid(self->app, &status, 0));
	self->app = -1;
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("the app read %s",
		WEXITSTATUS(status) == 1 ? "a zero page" : "wrong data");
	ASSERT_EQ(0, wait_event(self->events, LAZYBOOT_CMD_SESSION_CLOSED, id,
				10000, &ev));
	EXPECT_EQ(LAZYBOOT_SESSION_END_EXIT, ev.end);
	close(sv[0]);
}

TEST_HARNESS_MAIN
