// SPDX-License-Identifier: GPL-2.0
/*
 * Host selftest of the holder process (daemon/pager/uffd_holder.c), the keeper of
 * the restored tasks' userfaultfds when lazyboot.ko is absent: a "task"
 * (a forked child with a registered uffd) is kept; when the pager's
 * connection goes, a successor takes the uffd back before the deadline
 * (the task lives on), or nobody does (the holder SIGKILLs the task).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "foreign_peer.h"
#include "pager/uffd_holder.h"
#include "util/unix_listen.h"

/* A task with a uffd: the child waits to be killed; *uffd is the parent's
 * copy (what CRIU hands the pager). */
static pid_t start_task(int *uffd)
{
	struct uffdio_api api = { .api = UFFD_API };
	pid_t pid;

	*uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (*uffd < 0 || ioctl(*uffd, UFFDIO_API, &api))
		return -1;
	pid = fork();
	if (pid == 0) {
		pause();
		_exit(0);
	}
	return pid;
}

/* 1 when pid ended by SIGKILL within ms, 0 when still alive after it. */
static int killed_within(pid_t pid, int ms)
{
	int status;

	for (int i = 0; i < ms / 10; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
		usleep(10000);
	}
	return 0;
}

FIXTURE(holder)
{
	char dir[64];
	int uffd, conn, pidfd;
	pid_t task, holder;
};

FIXTURE_SETUP(holder)
{
	strcpy(self->dir, "/tmp/lzb-holder-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	self->task = start_task(&self->uffd);
	/* taken at hand-over, as the pager does */
	self->pidfd = self->task > 0 ? lzb_pidfd_open(self->task) : -1;
	self->conn = -1;
	self->holder = 0;
}

FIXTURE_TEARDOWN(holder)
{
	char path[128];

	if (self->pidfd >= 0)
		close(self->pidfd);
	if (self->task > 0) {
		kill(self->task, SIGKILL);
		waitpid(self->task, NULL, 0);
	}
	if (self->holder > 0)
		waitpid(self->holder, NULL, 0);
	snprintf(path, sizeof(path), "rm -rf %s", self->dir);
	if (system(path))
		TH_LOG("cannot remove %s", self->dir);
}

TEST_F(holder, deadline_kills_the_task)
{
	if (self->task < 0)
		SKIP(return, "userfaultfd unavailable (needs root)");
	ASSERT_EQ(0, lzb_holder_start(self->dir, 300, &self->holder,
				      &self->conn));
	ASSERT_EQ(0, lzb_holder_keep(self->conn, 1234, self->task,
				     self->pidfd, self->uffd));
	close(self->uffd);
	close(self->conn);	/* the pager dies */
	EXPECT_EQ(1, killed_within(self->task, 5000));
	self->task = 0;
	/* The holder exits once the task is gone. */
	EXPECT_EQ(self->holder, waitpid(self->holder, NULL, 0));
	self->holder = 0;
}

TEST_F(holder, successor_takes_over)
{
	struct lzb_held_task held[4];
	struct uffdio_api api = { .api = UFFD_API };
	int conn, n;

	if (self->task < 0)
		SKIP(return, "userfaultfd unavailable (needs root)");
	ASSERT_EQ(0, lzb_holder_start(self->dir, 500, &self->holder,
				      &self->conn));
	ASSERT_EQ(0, lzb_holder_keep(self->conn, 1234, self->task,
				     self->pidfd, self->uffd));
	/* While the first pager is alive, nobody else takes over. */
	ASSERT_EQ(0, lzb_holder_connect(self->dir, &conn));
	EXPECT_EQ(-EBUSY, lzb_holder_take(conn, held, 4));
	close(conn);
	close(self->uffd);
	close(self->conn);	/* the pager dies */
	/* Until the holder has seen it die (at most 5 s): busy till then. */
	for (int i = 0; i < 500; i++) {
		ASSERT_EQ(0, lzb_holder_connect(self->dir, &conn));
		n = lzb_holder_take(conn, held, 4);
		if (n != -EBUSY)
			break;
		close(conn);
		usleep(10000);
	}
	ASSERT_EQ(1, n);
	EXPECT_EQ(1234, held[0].img_pid);
	EXPECT_EQ(self->task, held[0].pid);
	/* The same uffd (its API handshake was done): a second one fails. */
	EXPECT_NE(0, ioctl(held[0].uffd, UFFDIO_API, &api));
	/* and a pidfd of the task, the one taken at hand-over */
	EXPECT_EQ(0, lzb_pidfd_kill(held[0].pidfd, 0));
	close(held[0].pidfd);
	/* Past the deadline the task lives: a pager is in charge. */
	EXPECT_EQ(0, killed_within(self->task, 1000));
	close(held[0].uffd);
	EXPECT_EQ(0, lzb_holder_done(conn));
	EXPECT_EQ(self->holder, waitpid(self->holder, NULL, 0));
	self->holder = 0;
	close(conn);
}

/*
 * The holder's socket is 0600 though the umask is 000, and a process that
 * does not run as root is hung up on even when it can reach the socket
 * (CAP_DAC_OVERRIDE): it never gets to ask for the uffds of an orphaned
 * restore.  The task dies at the deadline as if nobody came.
 */
TEST_F(holder, non_root_peer_is_refused)
{
	char path[128];
	mode_t old;
	int status;
	pid_t peer;

	if (self->task < 0)
		SKIP(return, "userfaultfd unavailable (needs root)");
	old = umask(0);
	ASSERT_EQ(0, lzb_holder_start(self->dir, 3000, &self->holder,
				      &self->conn));
	umask(old);
	snprintf(path, sizeof(path), "%s/%s", self->dir,
		 LZB_HOLDER_SOCKET_NAME);
	EXPECT_EQ(0600, mode_of(path));
	ASSERT_EQ(0, lzb_holder_keep(self->conn, 1234, self->task,
				     self->pidfd, self->uffd));
	close(self->uffd);
	close(self->conn);	/* the pager dies */
	peer = fork();
	ASSERT_LE(0, peer);
	if (peer == 0) {
		struct lzb_held_task held[4];
		int c, n = -EBUSY;

		if (become_nobody())
			_exit(3);
		/* busy until the holder has seen the pager go */
		for (int i = 0; i < 500 && n == -EBUSY; i++) {
			if (lzb_holder_connect(self->dir, &c))
				_exit(0);	/* cannot even connect */
			n = lzb_holder_take(c, held, 4);
			close(c);
			if (n == -EBUSY)
				usleep(10000);
		}
		_exit(n >= 0 ? 1 : 0);
	}
	ASSERT_EQ(peer, waitpid(peer, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("1: it got the uffds");
	EXPECT_EQ(1, killed_within(self->task, 10000));
	self->task = 0;
	EXPECT_EQ(self->holder, waitpid(self->holder, NULL, 0));
	self->holder = 0;
}

/*
 * A pager whose journal failed seals the holder: no successor may take
 * over (it would install stale image bytes), and the task dies at the
 * deadline once the pager is gone.
 */
TEST_F(holder, sealed_holder_refuses_a_successor)
{
	struct lzb_held_task held[4];
	int conn, n = 0;

	if (self->task < 0)
		SKIP(return, "userfaultfd unavailable (needs root)");
	ASSERT_EQ(0, lzb_holder_start(self->dir, 2000, &self->holder,
				      &self->conn));
	ASSERT_EQ(0, lzb_holder_keep(self->conn, 1234, self->task,
				     self->pidfd, self->uffd));
	ASSERT_EQ(0, lzb_holder_seal(self->conn));
	close(self->uffd);
	close(self->conn);	/* the pager dies */
	for (int i = 0; i < 500; i++) {
		ASSERT_EQ(0, lzb_holder_connect(self->dir, &conn));
		n = lzb_holder_take(conn, held, 4);
		close(conn);
		if (n != -EBUSY)
			break;
		usleep(10000);
	}
	EXPECT_EQ(-ESTALE, n);
	EXPECT_EQ(1, killed_within(self->task, 10000));
	self->task = 0;
	EXPECT_EQ(self->holder, waitpid(self->holder, NULL, 0));
	self->holder = 0;
}

TEST_HARNESS_MAIN
