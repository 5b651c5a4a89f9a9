// SPDX-License-Identifier: GPL-2.0
/*
 * The safe write (util/file_util.h) against someone who can write the
 * target's directory: a symlink or a file planted at the name the old
 * helper used for its temporary file (PATH.tmp.PID) is neither followed
 * nor reused; a symlink at PATH is replaced, not followed; the mode is the
 * one asked for whatever the umask; a failed write leaves no temporary
 * file; the streaming form shows the old file until it commits; a fresh
 * directory is emptied and a symlink in its place refused.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/file_util.h"
#include "kselftest_harness.h"

FIXTURE(dir)
{
	char dir[64];
	char target[128], victim[128], old_tmp[192];
};

FIXTURE_SETUP(dir)
{
	snprintf(self->dir, sizeof(self->dir), "/tmp/lzb-safe-write-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->target, sizeof(self->target), "%s/key", self->dir);
	snprintf(self->victim, sizeof(self->victim), "%s/victim", self->dir);
	/* the name lzb_write_file used to open with O_CREAT | O_TRUNC */
	snprintf(self->old_tmp, sizeof(self->old_tmp), "%s.tmp.%ld",
		 self->target, (long)getpid());
}

FIXTURE_TEARDOWN(dir)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", self->dir);
	if (system(cmd))
		fprintf(stderr, "# could not remove %s\n", self->dir);
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f))
		abort();
}

static char *get(const char *path)
{
	static char buf[256];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return "(missing)";
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Entries of DIR whose name starts with ".lzb-" (temporary files). */
static int temporaries(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	while (d && (de = readdir(d)))
		n += !strncmp(de->d_name, ".lzb-", 5);
	if (d)
		closedir(d);
	return n;
}

TEST_F(dir, symlink_at_the_old_temporary_name_is_not_followed)
{
	struct lzb_err err;
	struct stat st;

	put(self->victim, "the attacker's file\n");
	ASSERT_EQ(0, symlink(self->victim, self->old_tmp));
	ASSERT_EQ(0, lzb_write_file(self->target, "secret\n", 7, 0600, &err))
		TH_LOG("%s", err.msg);
	EXPECT_STREQ("the attacker's file\n", get(self->victim));
	ASSERT_EQ(0, lstat(self->target, &st));
	EXPECT_TRUE(S_ISREG(st.st_mode));
	EXPECT_STREQ("secret\n", get(self->target));
}

TEST_F(dir, file_at_the_old_temporary_name_is_not_reused)
{
	struct lzb_err err;
	struct stat planted, written;

	/* planted by someone else, with a link it keeps to read it later */
	put(self->old_tmp, "");
	ASSERT_EQ(0, chmod(self->old_tmp, 0666));
	ASSERT_EQ(0, link(self->old_tmp, self->victim));
	ASSERT_EQ(0, lzb_write_file(self->target, "secret\n", 7, 0600, &err))
		TH_LOG("%s", err.msg);
	EXPECT_STREQ("", get(self->victim));
	ASSERT_EQ(0, stat(self->victim, &planted));
	ASSERT_EQ(0, stat(self->target, &written));
	EXPECT_NE(planted.st_ino, written.st_ino);
	EXPECT_EQ(0600, written.st_mode & 07777);
}

TEST_F(dir, symlink_at_the_target_is_replaced_not_followed)
{
	struct lzb_err err;
	struct stat st;

	put(self->victim, "the attacker's file\n");
	ASSERT_EQ(0, symlink(self->victim, self->target));
	ASSERT_EQ(0, lzb_write_file_nosync(self->target, "secret\n", 7, 0600,
					   &err))
		TH_LOG("%s", err.msg);
	EXPECT_STREQ("the attacker's file\n", get(self->victim));
	ASSERT_EQ(0, lstat(self->target, &st));
	EXPECT_TRUE(S_ISREG(st.st_mode));
}

TEST_F(dir, mode_is_the_one_asked_for_whatever_the_umask)
{
	mode_t old = umask(0077);
	struct lzb_err err;
	struct stat st;
	int r = lzb_write_file(self->target, "pub\n", 4, 0644, &err);

	umask(old);
	ASSERT_EQ(0, r) TH_LOG("%s", err.msg);
	ASSERT_EQ(0, stat(self->target, &st));
	EXPECT_EQ(0644, st.st_mode & 07777);
	old = umask(0);
	r = lzb_write_file(self->target, "sec\n", 4, 0600, &err);
	umask(old);
	ASSERT_EQ(0, r) TH_LOG("%s", err.msg);
	ASSERT_EQ(0, stat(self->target, &st));
	EXPECT_EQ(0600, st.st_mode & 07777);
}

TEST_F(dir, failed_write_leaves_no_temporary_file)
{
	char sub[192], inner[256];
	struct lzb_err err;

	/* rename(2) cannot put a file over a non-empty directory */
	snprintf(sub, sizeof(sub), "%s/busy", self->dir);
	snprintf(inner, sizeof(inner), "%s/x", sub);
	ASSERT_EQ(0, mkdir(sub, 0700));
	put(inner, "x");
	EXPECT_EQ(-1, lzb_write_file(sub, "data", 4, 0600, &err));
	EXPECT_NE(NULL, strstr(err.msg, sub)) TH_LOG("%s", err.msg);
	EXPECT_EQ(0, temporaries(self->dir));
}

TEST_F(dir, stream_shows_the_old_file_until_commit)
{
	struct lzb_out_file f;
	struct lzb_err err;

	put(self->target, "old\n");
	ASSERT_EQ(0, lzb_out_open(&f, self->target, 0640, &err))
		TH_LOG("%s", err.msg);
	ASSERT_EQ(0, lzb_out_write(&f, "new", 3, &err));
	EXPECT_STREQ("old\n", get(self->target));
	EXPECT_EQ(1, temporaries(self->dir));
	ASSERT_EQ(0, lzb_out_write(&f, "\n", 1, &err));
	ASSERT_EQ(0, lzb_out_commit(&f, true, &err)) TH_LOG("%s", err.msg);
	EXPECT_STREQ("new\n", get(self->target));
	EXPECT_EQ(0, temporaries(self->dir));

	ASSERT_EQ(0, lzb_out_open(&f, self->target, 0640, &err));
	ASSERT_EQ(0, lzb_out_write(&f, "dropped", 7, &err));
	lzb_out_abort(&f);
	EXPECT_STREQ("new\n", get(self->target));
	EXPECT_EQ(0, temporaries(self->dir));
}

TEST_F(dir, fresh_dir_is_emptied_and_a_symlink_refused)
{
	char sub[192], inner[256], link_path[192];
	struct lzb_err err;
	struct stat st;

	snprintf(sub, sizeof(sub), "%s/images", self->dir);
	snprintf(inner, sizeof(inner), "%s/stale.img", sub);
	ASSERT_EQ(0, lzb_fresh_dir(sub, &err)) TH_LOG("%s", err.msg);
	ASSERT_EQ(0, stat(sub, &st));
	EXPECT_EQ(0700, st.st_mode & 07777);
	put(inner, "stale");
	ASSERT_EQ(0, chmod(sub, 0755));
	ASSERT_EQ(0, lzb_fresh_dir(sub, &err)) TH_LOG("%s", err.msg);
	EXPECT_EQ(-1, access(inner, F_OK));
	ASSERT_EQ(0, stat(sub, &st));
	EXPECT_EQ(0700, st.st_mode & 07777);

	snprintf(link_path, sizeof(link_path), "%s/images-link", self->dir);
	ASSERT_EQ(0, symlink(sub, link_path));
	put(inner, "kept");
	EXPECT_EQ(-1, lzb_fresh_dir(link_path, &err));
	EXPECT_NE(NULL, strstr(err.msg, link_path)) TH_LOG("%s", err.msg);
	EXPECT_STREQ("kept", get(inner));
}

TEST_HARNESS_MAIN
