// SPDX-License-Identifier: GPL-2.0
/*
 * Host selftest of the pager record and journal (daemon/pager/
 * restore_record.c) on a full file system: a small tmpfs mounted as the
 * workdir.  A journal line that cannot be written is reported (-ENOSPC),
 * not dropped in silence; the record is then moved aside, so a later
 * `--resume` refuses, naming why, instead of replaying a journal with
 * events missing (which would install stale image bytes over memory the
 * app dropped); and a new restore in that workdir starts clean.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "engine/lazy_ranges.h"
#include "engine/uffd_engine.h"
#include "pager/restore_record.h"
#include "pager/restore_status.h"

FIXTURE(full_fs)
{
	char dir[64];
	bool mounted;
};

FIXTURE_SETUP(full_fs)
{
	strcpy(self->dir, "/tmp/lzb-record-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	if (mount("lzb-record", self->dir, "tmpfs", 0, "size=64k,mode=0700"))
		SKIP(return, "cannot mount a tmpfs (needs root): %s",
		     strerror(errno));
	self->mounted = true;
}

FIXTURE_TEARDOWN(full_fs)
{
	if (self->mounted)
		umount2(self->dir, MNT_DETACH);
	rmdir(self->dir);
}

/* Write zeros to DIR/filler until the file system is full. */
static void fill(const char *dir)
{
	static const char block[4096];
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/filler", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	while (fd >= 0 && write(fd, block, sizeof(block)) > 0)
		;
	if (fd >= 0)
		close(fd);
}

TEST_F(full_fs, failed_journal_write_makes_it_unresumable)
{
	const char *mirrors[] = { "file:///srv/image" };
	const struct lzb_record_settings rs = {
		.mirrors = mirrors, .nr_mirrors = 1, .allow_unsigned = true,
		.max_background = 4, .deadline_ms = 30000, .keeper = "holder",
	};
	struct uffd_msg remove = {
		.event = UFFD_EVENT_REMOVE,
		.arg.remove = { .start = 0x7e1000000000ULL,
				.end = 0x7e1000010000ULL },
	};
	struct lzb_err err = { { 0 } };
	struct lzb_record rec;
	int rfd, jfd, i, ret = 0;
	char path[128];

	ASSERT_EQ(0, lzb_record_create(self->dir, &rs, &err)) TH_LOG("%s", err.msg);
	ASSERT_EQ(0, lzb_record_open(self->dir, &rfd, &jfd, &err));
	EXPECT_EQ(0, lzb_record_add_task(rfd, 1, getpid(), 0,
					 lzb_proc_start_time(getpid())));
	EXPECT_EQ(0, lzb_journal_add(jfd, 1, &remove));
	/* a resume now would work: the record and journal are whole */
	ASSERT_EQ(0, lzb_record_load(self->dir, &rec, &err)) TH_LOG("%s", err.msg);
	EXPECT_EQ(1, rec.nr_tasks);
	EXPECT_EQ(lzb_proc_start_time(getpid()), rec.tasks[0].start);
	lzb_record_free(&rec);

	fill(self->dir);
	/* tmpfs may take a line or two into a page already allocated */
	for (i = 0; i < 1000 && !ret; i++)
		ret = lzb_journal_add(jfd, 1, &remove);
	EXPECT_EQ(-ENOSPC, ret);
	EXPECT_EQ(0, lzb_record_unresumable(self->dir));
	EXPECT_EQ(-1, lzb_record_load(self->dir, &rec, &err));
	EXPECT_NE(NULL, strstr(err.msg, "cannot be resumed")) TH_LOG("%s", err.msg);
	close(rfd);
	close(jfd);

	/* A new restore in the same workdir starts resumable again. */
	snprintf(path, sizeof(path), "%s/filler", self->dir);
	ASSERT_EQ(0, unlink(path));
	ASSERT_EQ(0, lzb_record_create(self->dir, &rs, &err)) TH_LOG("%s", err.msg);
	EXPECT_EQ(0, lzb_record_load(self->dir, &rec, &err)) TH_LOG("%s", err.msg);
	lzb_record_free(&rec);
}

/* A record that cannot even be started says so; the restore does not run. */
TEST_F(full_fs, record_on_a_full_fs_is_an_error)
{
	const char *mirrors[] = { "file:///srv/image" };
	const struct lzb_record_settings rs = {
		.mirrors = mirrors, .nr_mirrors = 1, .keeper = "holder",
	};
	struct lzb_err err = { { 0 } };

	fill(self->dir);
	EXPECT_EQ(-1, lzb_record_create(self->dir, &rs, &err));
	EXPECT_NE(NULL, strstr(err.msg, "pager.record")) TH_LOG("%s", err.msg);
}

/*
 * The journal is made in place: a name planted there that is not a plain
 * file of ours alone is refused, and what it points at is left as it was.
 */
TEST_F(full_fs, planted_journal_is_refused)
{
	const char *mirrors[] = { "file:///srv/image" };
	const struct lzb_record_settings rs = {
		.mirrors = mirrors, .nr_mirrors = 1, .keeper = "holder",
	};
	struct lzb_err err = { { 0 } };
	char other[128], journal[128], buf[16];
	int fd;

	snprintf(other, sizeof(other), "%s/precious", self->dir);
	snprintf(journal, sizeof(journal), "%s/pager.journal", self->dir);
	fd = open(other, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ(5, write(fd, "keep\n", 5));
	close(fd);

	ASSERT_EQ(0, link(other, journal));
	EXPECT_EQ(-1, lzb_record_create(self->dir, &rs, &err));
	EXPECT_NE(NULL, strstr(err.msg, "hard link")) TH_LOG("%s", err.msg);
	fd = open(other, O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(5, read(fd, buf, sizeof(buf)));
	close(fd);
	ASSERT_EQ(0, unlink(journal));

	ASSERT_EQ(0, symlink(other, journal));
	EXPECT_EQ(-1, lzb_record_create(self->dir, &rs, &err));
	EXPECT_NE(NULL, strstr(err.msg, "pager.journal")) TH_LOG("%s", err.msg);
	ASSERT_EQ(0, unlink(journal));

	/* a FIFO: refused, not blocked on */
	ASSERT_EQ(0, mkfifo(journal, 0600));
	EXPECT_EQ(-1, lzb_record_create(self->dir, &rs, &err));
	EXPECT_NE(NULL, strstr(err.msg, "pager.journal")) TH_LOG("%s", err.msg);
	ASSERT_EQ(0, unlink(journal));

	/* an old journal of a past restore is emptied */
	fd = open(journal, O_WRONLY | O_CREAT | O_EXCL, 0644);
	ASSERT_LE(0, fd);
	ASSERT_EQ(5, write(fd, "old\n\n", 5));
	close(fd);
	ASSERT_EQ(0, lzb_record_create(self->dir, &rs, &err)) TH_LOG("%s", err.msg);
	fd = open(journal, O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, read(fd, buf, sizeof(buf)));
	close(fd);
}

static int no_source(void *ctx, struct lzb_engine *engine, int img_pid,
		     uint64_t img_addr, uint64_t len, bool urgent)
{
	(void)ctx, (void)engine, (void)img_pid, (void)img_addr, (void)len;
	(void)urgent;
	return 0;
}

/*
 * Found by the restore_record fuzzer: a damaged journal line whose end
 * lies before its start ("unmap 1 0x7f0000080000 0x7f0000001000") was
 * replayed and split the task's lazy range into two that overlap: more
 * lazy bytes than the task had.  Such a line (and a remap that wraps past
 * the top of the address space) is refused, naming the line, and the
 * replay stops there.
 */
TEST(damaged_journal_line_is_refused)
{
	static const char *const lines[] = {
		"unmap 1 0x7f0000080000 0x7f0000001000\n",
		"remove 1 0x7f0000080000 0x7f0000001000\n",
		"remap 1 0x7f0000000000 0x10000 0xffffffffffff0000\n",
		"remap 1 0x10000 0x7f0000000000 0xffffffffffff0000\n",
	};
	struct lzb_engine_config config = {
		.source = { .request = no_source },
		.max_background = 1, .stream_bytes = 65536,
	};
	char dir[] = "/tmp/lzb-journal-XXXXXX", path[64];

	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/%s", dir, LZB_JOURNAL_NAME);
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		struct lzb_engine_stats before, after;
		struct lzb_err err = { { 0 } };
		struct lzb_ranges lazy;
		struct lzb_engine *e;
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		ASSERT_LE(0, fd);
		ASSERT_EQ((ssize_t)strlen(lines[i]),
			  write(fd, lines[i], strlen(lines[i])));
		close(fd);
		lzb_ranges_init(&lazy);
		ASSERT_EQ(0, lzb_ranges_add(&lazy, 0x7f0000000000ULL,
					    0x7f0000100000ULL,
					    0x7f0000000000ULL));
		ASSERT_EQ(0, lzb_engine_new(&config, &e));
		ASSERT_EQ(0, lzb_engine_add_task(e, 1, &lazy));
		lzb_ranges_free(&lazy);
		lzb_engine_get_stats(e, &before);
		EXPECT_EQ(-1, lzb_journal_replay(dir, e, &err)) TH_LOG("line %zu replayed", i);
		EXPECT_NE(NULL, strstr(err.msg, ":1: cannot use")) TH_LOG("%s", err.msg);
		lzb_engine_get_stats(e, &after);
		EXPECT_EQ(before.bytes_lazy, after.bytes_lazy);
		lzb_engine_free(e);
	}
	unlink(path);
	rmdir(dir);
}

TEST_HARNESS_MAIN
