// SPDX-License-Identifier: GPL-2.0
/*
 * Host selftest of the decision `lazybootd run NAME` makes at start
 * (daemon/pager/restore_resume.c): resume the restore in its workdir only
 * when an earlier pager died before every page was in and a task on its
 * record still runs; a new restore in every other case (no earlier
 * restore, one that ended, a pager still running, a record marked
 * unresumable, tasks all gone).  The workdirs are made by the writers the
 * pager itself uses (status, record); "a task still running" is this
 * test, "gone" a child it reaped.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "pager/restore_resume.h"
#include "pager/restore_status.h"

FIXTURE(workdir)
{
	char dir[64];
	pid_t gone;		/* a pid that exited (reaped) */
};

FIXTURE_SETUP(workdir)
{
	strcpy(self->dir, "/tmp/lzb-resume-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	self->gone = fork();
	ASSERT_LE(0, self->gone);
	if (!self->gone)
		_exit(0);
	ASSERT_EQ(self->gone, waitpid(self->gone, NULL, 0));
}

FIXTURE_TEARDOWN(workdir)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	if (system(cmd))
		TH_LOG("cannot remove %s", self->dir);
}

/* WORKDIR/status in STATE, written by pager PID. */
static int put_status(const char *dir, const char *state, int pid)
{
	struct lzb_restore_status st = { .pager_pid = pid };
	struct lzb_err err;

	snprintf(st.state, sizeof(st.state), "%s", state);
	st.pager_start = lzb_proc_start_time(pid);
	return lzb_status_write(dir, &st, &err);
}

/* WORKDIR/pager.record with one task, TASK (0: none). */
static int put_record(const char *dir, int task)
{
	const char *mirrors[] = { "file:///srv/image" };
	const struct lzb_record_settings rs = {
		.mirrors = mirrors, .nr_mirrors = 1, .allow_unsigned = true,
		.max_background = 4, .deadline_ms = 30000, .keeper = "holder",
	};
	struct lzb_err err;
	int rfd, jfd, ret;

	if (lzb_record_create(dir, &rs, &err) ||
	    lzb_record_open(dir, &rfd, &jfd, &err))
		return -1;
	ret = task ? lzb_record_add_task(rfd, 1, task, 0,
					 lzb_proc_start_time(task)) : 0;
	close(rfd);
	close(jfd);
	return ret;
}

TEST_F(workdir, pager_died_task_lives_resumes)
{
	const char *why;

	ASSERT_EQ(0, put_status(self->dir, "streaming", self->gone));
	ASSERT_EQ(0, put_record(self->dir, getpid()));
	EXPECT_TRUE(lzb_resume_wanted(self->dir, &why));
	EXPECT_STREQ("its pager died with pages still missing", why);
	/* "ready": the probe passed, pages still streaming. */
	ASSERT_EQ(0, put_status(self->dir, "ready", self->gone));
	EXPECT_TRUE(lzb_resume_wanted(self->dir, &why));
}

TEST_F(workdir, no_earlier_restore_is_new)
{
	const char *why;

	EXPECT_FALSE(lzb_resume_wanted(self->dir, &why));
	EXPECT_STREQ("no status of an earlier restore", why);
}

TEST_F(workdir, ended_restore_is_new)
{
	static const char *const ends[] = { "resident", "done", "failed",
					    "coldstart" };
	const char *why;

	ASSERT_EQ(0, put_record(self->dir, getpid()));
	for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
		ASSERT_EQ(0, put_status(self->dir, ends[i], self->gone));
		EXPECT_FALSE(lzb_resume_wanted(self->dir, &why)) TH_LOG("%s",
									ends[i]);
		EXPECT_STREQ("the earlier restore ended", why);
	}
}

TEST_F(workdir, running_pager_is_left_alone)
{
	const char *why;

	ASSERT_EQ(0, put_status(self->dir, "streaming", getpid()));
	ASSERT_EQ(0, put_record(self->dir, getpid()));
	EXPECT_FALSE(lzb_resume_wanted(self->dir, &why));
	EXPECT_STREQ("the earlier restore's pager is still running", why);
}

TEST_F(workdir, tasks_gone_is_new)
{
	const char *why;

	ASSERT_EQ(0, put_status(self->dir, "streaming", self->gone));
	ASSERT_EQ(0, put_record(self->dir, self->gone));
	EXPECT_FALSE(lzb_resume_wanted(self->dir, &why));
	EXPECT_STREQ("none of the earlier restore's tasks is left", why);
	/* Died before a task was handed over. */
	ASSERT_EQ(0, put_record(self->dir, 0));
	EXPECT_FALSE(lzb_resume_wanted(self->dir, &why));
}

TEST_F(workdir, unresumable_record_is_new)
{
	const char *why;

	ASSERT_EQ(0, put_status(self->dir, "streaming", self->gone));
	ASSERT_EQ(0, put_record(self->dir, getpid()));
	ASSERT_EQ(0, lzb_record_unresumable(self->dir));
	EXPECT_FALSE(lzb_resume_wanted(self->dir, &why));
	EXPECT_STREQ("the earlier restore left no record to resume from", why);
}

TEST_F(workdir, resume_opts_come_from_the_record)
{
	struct lzb_restore_opts o = { .workdir = self->dir,
				      .ready_cmd = "true" };
	struct lzb_record rec;
	struct lzb_err err;

	ASSERT_EQ(0, put_record(self->dir, getpid()));
	ASSERT_EQ(0, lzb_resume_opts(&o, &rec, &err)) TH_LOG("%s", err.msg);
	EXPECT_TRUE(o.resume);
	ASSERT_EQ(1, o.nr_mirrors);
	EXPECT_STREQ("file:///srv/image", o.mirrors[0]);
	EXPECT_TRUE(o.allow_unsigned);
	EXPECT_EQ(30000, o.deadline_ms);
	EXPECT_STREQ("true", o.ready_cmd);
	lzb_record_free(&rec);
	ASSERT_EQ(0, lzb_record_unresumable(self->dir));
	EXPECT_EQ(-1, lzb_resume_opts(&o, &rec, &err));
	EXPECT_NE(NULL, strstr(err.msg, "cannot be resumed"));
}

TEST_HARNESS_MAIN
