// SPDX-License-Identifier: GPL-2.0
/*
 * Host selftest of systemd's fd store as a uffd keeper, the parts that
 * trust what the environment hands lazybootd: LISTEN_PID/LISTEN_FDS/
 * LISTEN_FDNAMES parsing (daemon/util/sd_fds.c), and matching the fds
 * systemd gave back to the tasks on record (daemon/pager/uffd_fdstore.c).
 * A hostile or confused environment (another pid's variables, counts and
 * names that do not add up, names of another restore or an unknown pid,
 * two fds for one task, fds that are not userfaultfds) must never make
 * lazybootd install pages through the wrong fd; and FDSTORE=1 sends each
 * uffd non-blocking, under the name a successor looks for.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "pager/restore.h"
#include "pager/restore_args.h"
#include "pager/restore_record.h"
#include "pager/uffd_fdstore.h"
#include "util/sd_fds.h"

#define ID "0123456789abcdef"

static struct lzb_listen_fd fds[8];

TEST(listen_vars_of_another_pid_are_not_ours)
{
	struct lzb_err err;

	EXPECT_EQ(0, lzb_listen_parse("4321", "1", "x", 1234, fds, 8, &err));
	EXPECT_EQ(0, lzb_listen_parse(NULL, "1", "x", 1234, fds, 8, &err));
	EXPECT_EQ(0, lzb_listen_parse("01234", "1", "x", 1234, fds, 8, &err));
}

TEST(listen_vars_that_add_up)
{
	struct lzb_err err;

	ASSERT_EQ(3, lzb_listen_parse("1234", "3", "a:lzb-uffd." ID ".7:c",
				      1234, fds, 8, &err));
	EXPECT_EQ(3, fds[0].fd);
	EXPECT_STREQ("a", fds[0].name);
	EXPECT_EQ(4, fds[1].fd);
	EXPECT_STREQ("lzb-uffd." ID ".7", fds[1].name);
	EXPECT_EQ(5, fds[2].fd);
	EXPECT_STREQ("c", fds[2].name);
	EXPECT_EQ(0, lzb_listen_parse("1234", "0", NULL, 1234, fds, 8, &err));
}

TEST(listen_vars_that_do_not_add_up)
{
	char long_name[300];
	struct lzb_err err;

	EXPECT_EQ(-1, lzb_listen_parse("1234", "x", "a", 1234, fds, 8, &err));
	EXPECT_EQ(-1, lzb_listen_parse("1234", "-1", "a", 1234, fds, 8, &err));
	EXPECT_EQ(-1, lzb_listen_parse("1234", NULL, "a", 1234, fds, 8, &err));
	/* more fds than lazybootd takes */
	EXPECT_EQ(-1, lzb_listen_parse("1234", "9", "a:b:c:d:e:f:g:h:i", 1234,
				       fds, 8, &err));
	EXPECT_NE(NULL, strstr(err.msg, "LISTEN_FDS=9"));
	/* names missing, too few, too many */
	EXPECT_EQ(-1, lzb_listen_parse("1234", "2", NULL, 1234, fds, 8, &err));
	EXPECT_EQ(-1, lzb_listen_parse("1234", "2", "a", 1234, fds, 8, &err));
	EXPECT_EQ(-1, lzb_listen_parse("1234", "2", "a:b:c", 1234, fds, 8,
				       &err));
	EXPECT_EQ(-1, lzb_listen_parse("1234", "0", "a", 1234, fds, 8, &err));
	/* names that are not fd names: empty, control characters, too long */
	EXPECT_EQ(-1, lzb_listen_parse("1234", "2", "a:", 1234, fds, 8, &err));
	EXPECT_EQ(-1, lzb_listen_parse("1234", "1", "a\nb", 1234, fds, 8,
				       &err));
	memset(long_name, 'n', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	EXPECT_EQ(-1, lzb_listen_parse("1234", "1", long_name, 1234, fds, 8,
				       &err));
}

/* fds 100..199 are "userfaultfds" here, others not */
static bool fake_uffd(int fd)
{
	return fd >= 100 && fd < 200;
}

static void record_of(struct lzb_record *rec)
{
	memset(rec, 0, sizeof(*rec));
	strcpy(rec->id, ID);
	strcpy(rec->keeper, "fdstore");
	rec->nr_tasks = 3;
	rec->tasks[0].pid = 100;
	rec->tasks[1].pid = 200;
	rec->tasks[2].pid = 300;
}

static struct lzb_listen_fd named(int fd, const char *name)
{
	struct lzb_listen_fd f = { .fd = fd };

	snprintf(f.name, sizeof(f.name), "%s", name);
	return f;
}

TEST(each_task_gets_the_uffd_named_for_it)
{
	struct lzb_listen_fd in[] = {
		named(150, "lzb-uffd." ID ".300"),
		named(101, "lzb-uffd." ID ".100"),
		named(120, "lzb-uffd." ID ".200"),
	};
	struct lzb_record rec;
	int task_fd[3];

	record_of(&rec);
	ASSERT_EQ(3, lzb_fdstore_match(&rec, in, 3, fake_uffd, task_fd));
	EXPECT_EQ(1, task_fd[0]);
	EXPECT_EQ(2, task_fd[1]);
	EXPECT_EQ(0, task_fd[2]);
}

TEST(wrong_names_and_fds_are_never_matched)
{
	struct lzb_listen_fd in[] = {
		named(101, "lzb-uffd.fedcba9876543210.100"),	/* old restore */
		named(102, "lzb-uffd." ID ".999"),	/* not on record */
		named(103, "lzb-uffd." ID ".100x"),	/* junk after pid */
		named(104, "lzb-uffd." ID ".0100"),	/* not a pid */
		named(105, "lzb-uffd." ID),		/* no pid */
		named(106, "lzb-uffd." ID "0.100"),	/* longer id */
		named(107, "other-app"),
		named(7, "lzb-uffd." ID ".200"),	/* not a uffd */
		named(130, "lzb-uffd." ID ".300"),	/* twice for 300 */
		named(131, "lzb-uffd." ID ".300"),
		named(-1, "lzb-uffd." ID ".100"),	/* taken already */
	};
	struct lzb_record rec;
	int task_fd[3];

	record_of(&rec);
	EXPECT_EQ(0, lzb_fdstore_match(&rec, in, 11, fake_uffd, task_fd));
	EXPECT_EQ(-1, task_fd[0]);
	EXPECT_EQ(-1, task_fd[1]);
	EXPECT_EQ(-1, task_fd[2]);
}

TEST(a_record_without_id_matches_nothing)
{
	struct lzb_listen_fd in[] = { named(101, "lzb-uffd..100") };
	struct lzb_record rec;
	int task_fd[3];

	record_of(&rec);
	rec.id[0] = '\0';
	EXPECT_EQ(0, lzb_fdstore_match(&rec, in, 1, fake_uffd, task_fd));
	EXPECT_EQ(-1, task_fd[0]);
}

static int new_uffd(void)
{
	return (int)syscall(SYS_userfaultfd, O_CLOEXEC);
}

/* Given back at start: a real uffd is taken, an eventfd under a uffd's
 * name and every other fd is closed, not kept. */
TEST(take_uses_real_uffds_only_and_closes_the_rest)
{
	int uffd = new_uffd(), ev = eventfd(0, EFD_CLOEXEC), stale = new_uffd();
	struct lzb_listen_fd in[3];
	struct lzb_record rec;
	int task_uffd[3];

	if (uffd < 0)
		SKIP(return, "no userfaultfd here: %s", strerror(errno));
	ASSERT_LE(0, ev);
	ASSERT_LE(0, stale);
	unsetenv("NOTIFY_SOCKET");
	in[0] = named(uffd, "lzb-uffd." ID ".100");
	in[1] = named(ev, "lzb-uffd." ID ".200");
	in[2] = named(stale, "lzb-uffd.fedcba9876543210.300");
	lzb_fdstore_offer(false, in, 3);
	EXPECT_EQ(3u, lzb_fdstore_offered());
	record_of(&rec);
	ASSERT_EQ(1u, lzb_fdstore_take(&rec, task_uffd));
	EXPECT_EQ(uffd, task_uffd[0]);
	EXPECT_EQ(-1, task_uffd[1]);
	EXPECT_EQ(-1, task_uffd[2]);
	EXPECT_EQ(-1, fcntl(ev, F_GETFD));
	EXPECT_EQ(-1, fcntl(stale, F_GETFD));
	EXPECT_EQ(0u, lzb_fdstore_offered());
	close(uffd);
}

/* FDSTORE=1 with the uffd attached, named for the task, not polled by
 * systemd and non-blocking (systemd drops a stored fd that polls
 * EPOLLERR, as a blocking uffd does); FDSTOREREMOVE=1 under the same
 * name. */
TEST(keep_and_forget_send_what_systemd_expects)
{
	char path[] = "/tmp/lzb-fdstore-XXXXXX", sock[64], buf[256];
	char control[CMSG_SPACE(sizeof(int))];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) - 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = control,
			     .msg_controllen = sizeof(control) };
	struct cmsghdr *cm;
	int uffd = new_uffd(), srv, got;
	ssize_t n;

	if (uffd < 0)
		SKIP(return, "no userfaultfd here: %s", strerror(errno));
	ASSERT_NE(NULL, mkdtemp(path));
	snprintf(sock, sizeof(sock), "%s/notify", path);
	strcpy(sa.sun_path, sock);
	srv = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ASSERT_EQ(0, bind(srv, (struct sockaddr *)&sa, sizeof(sa)));
	setenv("NOTIFY_SOCKET", sock, 1);
	ASSERT_EQ(0, lzb_fdstore_keep(ID, 4242, uffd));
	n = recvmsg(srv, &mh, 0);
	ASSERT_LT(0, n);
	buf[n] = '\0';
	EXPECT_STREQ("FDSTORE=1\nFDPOLL=0\nFDNAME=lzb-uffd." ID ".4242", buf);
	cm = CMSG_FIRSTHDR(&mh);
	ASSERT_NE(NULL, cm);
	ASSERT_EQ(SCM_RIGHTS, cm->cmsg_type);
	memcpy(&got, CMSG_DATA(cm), sizeof(got));
	EXPECT_TRUE(lzb_is_uffd(got));
	EXPECT_TRUE(fcntl(got, F_GETFL) & O_NONBLOCK);
	close(got);
	lzb_fdstore_forget(ID, 4242);
	mh.msg_controllen = sizeof(control);
	n = recv(srv, buf, sizeof(buf) - 1, 0);
	ASSERT_LT(0, n);
	buf[n] = '\0';
	EXPECT_STREQ("FDSTOREREMOVE=1\nFDNAME=lzb-uffd." ID ".4242", buf);
	unsetenv("NOTIFY_SOCKET");
	close(srv);
	close(uffd);
	unlink(sock);
	rmdir(path);
}

/* The record keeps its id, so a successor matches the right restore. */
TEST(record_id_round_trips)
{
	char dir[] = "/tmp/lzb-fdstore-rec-XXXXXX", id[LZB_RECORD_ID_LEN + 1];
	const char *mirrors[] = { "file:///img" };
	struct lzb_record_settings s = { .mirrors = mirrors, .nr_mirrors = 1,
					 .keeper = "fdstore", .id = id };
	struct lzb_record rec;
	struct lzb_err err;
	char other[LZB_RECORD_ID_LEN + 1];

	ASSERT_NE(NULL, mkdtemp(dir));
	ASSERT_EQ(0, lzb_record_new_id(id));
	ASSERT_EQ(0, lzb_record_new_id(other));
	EXPECT_EQ(LZB_RECORD_ID_LEN, strlen(id));
	EXPECT_STRNE(id, other);
	ASSERT_EQ(0, lzb_record_create(dir, &s, &err));
	ASSERT_EQ(0, lzb_record_load(dir, &rec, &err));
	EXPECT_STREQ(id, rec.id);
	EXPECT_STREQ("fdstore", rec.keeper);
	lzb_record_free(&rec);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		EXPECT_EQ(0, system(cmd));
	}
}

/* lazybootd run restores anew in the same process after a resume it had
 * to abandon: the options are parsed a second time, all of them. */
TEST(restore_options_parsed_again)
{
	char *a1[] = { "restore", "--workdir", "/x/one", "file:///img",
		       "--allow-unsigned", NULL };
	char *a2[] = { "restore", "--workdir", "/x/two", "file:///img",
		       "--allow-unsigned", NULL };
	struct lzb_restore_opts o1 = { 0 }, o2 = { 0 };

	ASSERT_EQ(0, lzb_restore_parse_args(5, a1, "t", "u", &o1));
	ASSERT_EQ(0, lzb_restore_parse_args(5, a2, "t", "u", &o2));
	ASSERT_NE(NULL, o2.workdir);
	EXPECT_STREQ("/x/two", o2.workdir);
	EXPECT_EQ(1u, o2.nr_mirrors);
}

TEST_HARNESS_MAIN
