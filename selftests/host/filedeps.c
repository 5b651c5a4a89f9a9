// SPDX-License-Identifier: GPL-2.0
/*
 * Host selftest: the file-dependency list the CRIU plugin checks (write,
 * parse, escape, detect changes), the process-tree walk, CRIU log
 * explanations, and that every example app set parses.
 */
#include <fcntl.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "capture/appset.h"
#include "capture/capture.h"
#include "capture/filedeps.h"

static void write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fwrite(data, 1, len, f);
		fclose(f);
	}
}

static int roundtrip(const char *path, struct lzb_filedep *out)
{
	struct lzb_filedep d;
	char *buf = NULL;
	size_t len = 0;
	FILE *m;
	int ret;

	ret = lzb_filedep_make(path, "map", &d);
	if (ret)
		return ret;
	m = open_memstream(&buf, &len);
	lzb_filedep_write(m, &d);
	fclose(m);
	ret = lzb_filedep_parse(buf, out);
	free(buf);
	return ret;
}

TEST(write_parse_check)
{
	char dir[] = "/tmp/lzb-filedeps-XXXXXX", path[128], msg[1024];
	struct lzb_filedep d;

	ASSERT_NE(NULL, mkdtemp(dir));
	/* A name with a space, a newline and a percent sign. */
	snprintf(path, sizeof(path), "%s/a b\n%%c", dir);
	write_file(path, "0123456789", 10);
	ASSERT_EQ(0, roundtrip(path, &d));
	EXPECT_STREQ(path, d.path);
	EXPECT_STREQ("map", d.kind);
	EXPECT_EQ(10, d.size);
	EXPECT_EQ(0, lzb_filedep_check(&d, msg, sizeof(msg)));

	/* Same size, new content, new mtime: the hash tells.  (A pause so
	 * the mtime moves on: time passing is the point, not an event.) */
	usleep(20000);
	write_file(path, "0123456780", 10);
	EXPECT_EQ(1, lzb_filedep_check(&d, msg, sizeof(msg)));
	EXPECT_NE(NULL, strstr(msg, "different content")) TH_LOG("%s", msg);
	EXPECT_NE(NULL, strstr(msg, path));

	/* Same content again with a new mtime: accepted after hashing. */
	write_file(path, "0123456789", 10);
	EXPECT_EQ(0, lzb_filedep_check(&d, msg, sizeof(msg))) TH_LOG("%s", msg);

	write_file(path, "01234", 5);
	EXPECT_EQ(1, lzb_filedep_check(&d, msg, sizeof(msg)));
	EXPECT_NE(NULL, strstr(msg, "changed size: 10 bytes at capture, 5 now"))
		TH_LOG("%s", msg);

	unlink(path);
	EXPECT_EQ(1, lzb_filedep_check(&d, msg, sizeof(msg)));
	EXPECT_NE(NULL, strstr(msg, "No such file")) TH_LOG("%s", msg);
	rmdir(dir);
}

TEST(parse_rejects_malformed)
{
	static const char *const bad[] = {
		"map 1 2.0 00 /x",
		"map x 2.0 0000000000000000000000000000000000000000000000000000000000000000 /x",
		"map 1 2.0 zz00000000000000000000000000000000000000000000000000000000000000 /x",
		"map 1 2.0 0000000000000000000000000000000000000000000000000000000000000000 rel",
		"map 1 2.0 0000000000000000000000000000000000000000000000000000000000000000 /a%2",
		"map 1 2.0 0000000000000000000000000000000000000000000000000000000000000000 /a%00b",
		"map 1",
	};
	struct lzb_filedep d;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		EXPECT_EQ(-EINVAL, lzb_filedep_parse(bad[i], &d))
			TH_LOG("case %zu", i);
	EXPECT_EQ(1, lzb_filedep_parse("# comment", &d));
	EXPECT_EQ(1, lzb_filedep_parse("\n", &d));
	EXPECT_EQ(0, lzb_filedep_parse("open 1 2.5 00000000000000000000000000"
				       "00000000000000000000000000000000000000 "
				       "/a%20b", &d));
	EXPECT_STREQ("/a b", d.path);
	EXPECT_EQ(5, d.mtime_nsec);
}

TEST(tree_pids_and_filedeps_of_a_live_tree)
{
	char path[] = "/tmp/lzb-tree-XXXXXX", buf[4096];
	struct lzb_err err = { "" };
	pid_t pids[16], child, root;
	int pfd[2], n, fd;
	FILE *f;
	size_t len;

	ASSERT_EQ(0, pipe(pfd));
	root = fork();
	ASSERT_LE(0, root);
	if (root == 0) {
		child = fork();
		if (child == 0) {
			/* Holds /etc/hostname open, then says its pid. */
			fd = open("/etc/hostname", O_RDONLY);
			(void)fd;
			child = getpid();
			if (write(pfd[1], &child, sizeof(child)) < 0)
				_exit(1);
			pause();
		}
		pause();
	}
	/* Once the grandchild has the file open: the tree is complete. */
	ASSERT_EQ(sizeof(child), read(pfd[0], &child, sizeof(child)));
	n = lzb_tree_pids(root, pids, 16);
	ASSERT_EQ(2, n);
	EXPECT_EQ(root, pids[0]);
	EXPECT_EQ(child, pids[1]);
	EXPECT_EQ(-E2BIG, lzb_tree_pids(root, pids, 1));
	EXPECT_EQ(0, lzb_tree_needs(pids, n, NULL));

	fd = mkstemp(path);
	ASSERT_LE(0, fd);
	close(fd);
	EXPECT_LT(1, lzb_write_filedeps(pids, n, path, &err))
		TH_LOG("%s", err.msg);
	f = fopen(path, "r");
	ASSERT_NE(NULL, f);
	len = fread(buf, 1, sizeof(buf) - 1, f);
	buf[len] = '\0';
	fclose(f);
	EXPECT_EQ(0, strncmp(buf, LZB_FILEDEPS_HEADER "\n",
			     strlen(LZB_FILEDEPS_HEADER) + 1));
	EXPECT_NE(NULL, strstr(buf, " /etc/hostname\n")) TH_LOG("%s", buf);
	EXPECT_NE(NULL, strstr(buf, "\nopen ")) TH_LOG("%s", buf);
	EXPECT_NE(NULL, strstr(buf, "\nmap ")) TH_LOG("%s", buf);
	unlink(path);
	kill(child, SIGKILL);
	kill(root, SIGKILL);
	waitpid(root, NULL, 0);
}

static const char *namer(pid_t pid, void *arg)
{
	(void)arg;
	return pid == 4242 ? "service web" : NULL;
}

TEST(criu_explain)
{
	char log[] = "/tmp/lzb-criulog-XXXXXX", *out = NULL;
	static const char text[] =
		"(00.001) Dumping task (pid: 4242)\n"
		"(00.002) Error (criu/sk-unix.c:1234): unix: Can't dump half of "
		"stream unix connection.\n"
		"(00.003) 4243: Error (criu/tty.c:12): tty: Can't dump\n"
		"(00.004) Error (criu/cr-dump.c:2098): Dumping FAILED.\n"
		"(00.004) Info: nothing\n";
	size_t len = 0;
	FILE *m;
	int fd;

	fd = mkstemp(log);
	ASSERT_LE(0, fd);
	ASSERT_EQ(sizeof(text) - 1, write(fd, text, sizeof(text) - 1));
	close(fd);
	m = open_memstream(&out, &len);
	EXPECT_EQ(2, lzb_criu_explain(log, m, namer, NULL));
	fclose(m);
	EXPECT_NE(NULL, strstr(out, "criu: unix: Can't dump half of stream"))
		TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "while dumping pid 4242 (?, service web)"))
		TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "--ext-unix-sk")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "while dumping pid 4243")) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "--shell-job")) TH_LOG("%s", out);
	free(out);
	unlink(log);
}

TEST(examples_parse)
{
	glob_t g;
	size_t i;

	if (glob("examples/*/appset.ini", 0, NULL, &g))
		SKIP(return, "no examples/ in the current directory");
	EXPECT_LE(3, g.gl_pathc);
	for (i = 0; i < g.gl_pathc; i++) {
		struct lzb_appset a;
		struct lzb_err err;

		EXPECT_EQ(0, lzb_appset_load(g.gl_pathv[i], &a, &err))
			TH_LOG("%s", err.msg);
		lzb_appset_free(&a);
	}
	globfree(&g);
}

TEST_HARNESS_MAIN
